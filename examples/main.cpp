// `starling_examples`: the Starling node with the example logic actors
// registered. A binary of your own looks the same: fill a logic_registry,
// call run_node (run_node.hpp), bind the names in apps[].logic.
#include "logic_examples.hpp"
#include "run_node.hpp"

int main(int argc, char** argv) {
  starling::logic_registry registry;
  starling::examples::register_examples(registry);
  return starling::run_node(argc, argv, registry);
}
