// Out-of-line parts of the interfaces actors see of the transport.
#include "actors/session_link.hpp"

#include <algorithm>
#include <chrono>

#include "actors/fanout_sink.hpp"
#include "actors/http_poster.hpp"
#include "pusher/frame.hpp"

namespace starling {

session_link::~session_link() {
  // nop
}

void session_link::close_with_error(uint16_t code, const std::string& message) {
  close(code, message, make_frame(pusher::encode_error(code, message)));
}

fanout_sink::~fanout_sink() {
  // nop
}

void order_by_shard(std::vector<session_link_ptr>& links) {
  std::stable_sort(links.begin(), links.end(),
                   [](const session_link_ptr& a, const session_link_ptr& b) {
                     return a->shard() < b->shard();
                   });
}

uint64_t system_now_ns() {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
}

void direct_fanout_sink::deliver(const frame_ptr& frame,
                                 const subscriber_list& to,
                                 const session_link* exclude,
                                 publish_stamp stamp) {
  for (auto& target : *to)
    if (target.get() != exclude)
      target->send(frame);
  stamp.record();
}

http_poster::~http_poster() {
  // nop
}

} // namespace starling
