// The gateway actor (ask.hpp).
#include "transport/ask.hpp"

namespace starling::transport {

caf::actor spawn_gateway(caf::actor_system& sys) {
  return sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {
      [self](gateway_job& job) { job.run(self); },
    };
  });
}

http_reply unavailable(const std::string& message) {
  auto reply = json_error(503, message);
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

} // namespace starling::transport
