// The `starling` binary: the node with no custom app logic registered (a
// config that binds a logic actor is refused with a clear error). Binaries
// with logic call run_node with their own registry (examples/main.cpp).
#include "actors/logic.hpp"
#include "run_node.hpp"

int main(int argc, char** argv) {
  return starling::run_node(argc, argv, starling::logic_registry{});
}
