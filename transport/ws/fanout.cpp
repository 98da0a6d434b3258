// The transport's fan-out sink (fanout.hpp).
#include "transport/ws/fanout.hpp"

#include <boost/asio/post.hpp>

#include "transport/ws/session.hpp"

namespace starling::transport {

namespace {

class ws_fanout_sink final : public fanout_sink {
public:
  explicit ws_fanout_sink(net::io_context& ioc) : ioc_(ioc) {
    // nop
  }

  void deliver(const frame_ptr& frame, const subscriber_list& to,
               const session_link* exclude) override {
    // Every session_link an actor holds comes from this transport
    // (start_websocket_session makes them all), hence the static cast.
    net::post(ioc_, [frame, to, exclude] {
      for (auto& target : *to)
        if (target.get() != exclude)
          static_cast<websocket_session*>(target.get())
            ->enqueue_deferred(frame);
    });
  }

private:
  net::io_context& ioc_;
};

} // namespace

fanout_sink_ptr make_fanout_sink(net::io_context& ioc) {
  return std::make_shared<ws_fanout_sink>(ioc);
}

} // namespace starling::transport
