// Topology event stream (see admin_events.hpp).
#include "transport/admin_events.hpp"

#include <chrono>
#include <functional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "transport/ask.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

namespace {

constexpr auto tick = std::chrono::milliseconds(1000);
constexpr int keep_alive_ticks = 5;

// Each event is `event: <name>` and one `data:` line (JSON has no line
// feeds).
std::string sse(const char* name, const std::string& data) {
  return std::string{"event: "} + name + "\ndata: " + data + "\n\n";
}

class topology_events : public event_source,
                        public std::enable_shared_from_this<topology_events> {
public:
  topology_events(server_context& ctx, topology_request req, bool cluster)
    : ctx_(ctx), req_(std::move(req)), cluster_(cluster), timer_(ctx.ioc) {
    // nop
  }

  void start(std::function<bool(std::string)> send) override {
    send_ = std::move(send);
    ask_now();
  }

private:
  // Asks the admin actor through the gateway; the answer comes back to the
  // I/O thread.
  void ask_now() {
    std::weak_ptr<topology_events> weak = shared_from_this();
    auto& ioc = ctx_.ioc;
    auto job = [weak, &ioc, admin = ctx_.admin, req = req_,
                cluster = cluster_](caf::event_based_actor* self) {
      self->request(admin, std::chrono::seconds(5), req, cluster)
        .then(
          [weak, &ioc](std::string& body) {
            net::post(ioc, [weak, body = std::move(body)] {
              if (auto me = weak.lock())
                me->answered(sse("topology", body));
            });
          },
          [weak, &ioc](caf::error&) {
            net::post(ioc, [weak] {
              if (auto me = weak.lock())
                me->answered(sse("failure", "{\"error\":\"node did not answer\"}"));
            });
          });
    };
    caf::anon_send(ctx_.gateway, gateway_job{std::move(job)});
  }

  void answered(std::string event) {
    bool alive = true;
    if (event != last_) {
      alive = send_(event);
      last_ = std::move(event);
      quiet_ = 0;
    } else if (++quiet_ >= keep_alive_ticks) {
      alive = send_(": keep-alive\n\n");
      quiet_ = 0;
    }
    if (!alive) {
      send_ = nullptr; // Lets the session go; no next tick, this source ends.
      return;
    }
    timer_.expires_after(tick);
    timer_.async_wait([me = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec)
        me->ask_now();
    });
  }

  server_context& ctx_;
  topology_request req_;
  bool cluster_;
  net::steady_timer timer_;
  std::function<bool(std::string)> send_;
  std::string last_; // The last event sent.
  int quiet_ = 0;    // Ticks since something was sent.
};

} // namespace

std::shared_ptr<event_source>
make_topology_events(server_context& ctx, topology_request req, bool cluster) {
  return std::make_shared<topology_events>(ctx, std::move(req), cluster);
}

} // namespace starling::transport
