// The transport's fan-out sink (fanout.hpp).
#include "transport/ws/fanout.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "transport/server_context.hpp"
#include "transport/ws/session.hpp"

namespace starling::transport {

namespace {

// Queues `frame` on sessions [first, last) of `to`, which all run on the
// calling I/O thread.
void enqueue_range(const frame_ptr& frame, const subscriber_list& to,
                   std::size_t first, std::size_t last,
                   const session_link* exclude) {
  auto& links = *to;
  for (auto i = first; i < last; ++i) {
    auto* target = links[i].get();
    if (target == exclude)
      continue;
    // Every session_link an actor holds comes from this transport
    // (start_websocket_session makes them all), hence the static cast.
    static_cast<websocket_session*>(target)->enqueue_deferred(frame);
  }
}

class ws_fanout_sink final : public fanout_sink {
public:
  explicit ws_fanout_sink(std::vector<io_worker*> workers)
    : workers_(std::move(workers)) {
    // nop
  }

  void deliver(const frame_ptr& frame, const subscriber_list& to,
               const session_link* exclude, publish_stamp stamp) override {
    // The list is ordered by shard: each I/O thread holding subscribers
    // gets one hand-off with its own range (found with a few binary-search
    // probes here, no work per recipient) and writes its own sockets, in
    // parallel with the others, without locks.
    auto& links = *to;
    std::size_t first = 0;
    while (first < links.size()) {
      auto shard = links[first]->shard();
      auto last = static_cast<std::size_t>(
        std::partition_point(links.begin() + first, links.end(),
                             [shard](const session_link_ptr& l) {
                               return l->shard() == shard;
                             })
        - links.begin());
      auto* w = workers_[shard];
      net::post(w->ioc, [frame, to, first, last, exclude, stamp, w] {
        enqueue_range(frame, to, first, last, exclude);
        if (stamp.histogram != nullptr)
          websocket_session::note_published(*w, stamp);
      });
      first = last;
    }
  }

private:
  std::vector<io_worker*> workers_;
};

} // namespace

fanout_sink_ptr make_fanout_sink(std::vector<io_worker*> workers) {
  return std::make_shared<ws_fanout_sink>(std::move(workers));
}

} // namespace starling::transport
