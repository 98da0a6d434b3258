// The transport's fan-out sink (fanout.hpp).
#include "transport/ws/fanout.hpp"

#include <boost/asio/post.hpp>

#include "transport/server_context.hpp"
#include "transport/ws/session.hpp"

namespace starling::transport {

namespace {

// Queues `frame` on the sessions of `to` that run on `worker` (its thread).
void enqueue_on(const io_worker& worker, const frame_ptr& frame,
                const subscriber_list& to, const session_link* exclude,
                bool all_here) {
  // Every session_link an actor holds comes from this transport
  // (start_websocket_session makes them all), hence the static cast.
  for (auto& target : *to) {
    if (target.get() == exclude)
      continue;
    auto* s = static_cast<websocket_session*>(target.get());
    if (all_here || s->shard() == worker.index)
      s->enqueue_deferred(frame);
  }
}

class ws_fanout_sink final : public fanout_sink {
public:
  explicit ws_fanout_sink(std::vector<io_worker*> workers)
    : workers_(std::move(workers)) {
    // nop
  }

  void deliver(const frame_ptr& frame, const subscriber_list& to,
               const session_link* exclude) override {
    if (workers_.size() == 1) {
      auto* w = workers_.front();
      net::post(w->ioc, [w, frame, to, exclude] {
        enqueue_on(*w, frame, to, exclude, true);
      });
      return;
    }
    // One hand-off per thread that holds sessions: each writes its own
    // sockets, in parallel, without locks.
    for (auto* w : workers_)
      if (w->sessions.size.load(std::memory_order_relaxed) > 0)
        net::post(w->ioc, [w, frame, to, exclude] {
          enqueue_on(*w, frame, to, exclude, false);
        });
  }

private:
  std::vector<io_worker*> workers_;
};

} // namespace

fanout_sink_ptr make_fanout_sink(std::vector<io_worker*> workers) {
  return std::make_shared<ws_fanout_sink>(std::move(workers));
}

} // namespace starling::transport
