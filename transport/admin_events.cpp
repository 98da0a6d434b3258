// Topology event stream (see admin_events.hpp).
#include "transport/admin_events.hpp"

#include <chrono>
#include <functional>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "transport/ask.hpp"
#include "transport/server_context.hpp"
#include "transport/topology_delta.hpp"

namespace starling::transport {

namespace {

using json = nlohmann::json;

constexpr auto tick = std::chrono::milliseconds(1000);
constexpr int keep_alive_ticks = 5;

// Each event is `event: <name>`, its version as `id:` (none for failures)
// and one `data:` line (JSON has no line feeds).
std::string sse(const char* name, uint64_t id, const std::string& data) {
  std::string out = std::string{"event: "} + name + "\n";
  if (id != 0)
    out += "id: " + std::to_string(id) + "\n";
  return out + "data: " + data + "\n\n";
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
  // Asks the admin actor through the gateway. The answer is turned into an
  // event there (parsing and diffing stay off the I/O thread; one request
  // at a time, so view_ has one user at a time) and the event goes back to
  // the I/O thread.
  void ask_now() {
    std::weak_ptr<topology_events> weak = shared_from_this();
    auto& ioc = ctx_.ioc;
    auto job = [weak, &ioc, admin = ctx_.admin, req = req_,
                cluster = cluster_](caf::event_based_actor* self) {
      self->request(admin, std::chrono::seconds(5), req, cluster)
        .then(
          [weak, &ioc](std::string& body) {
            auto me = weak.lock();
            if (!me)
              return;
            auto event = me->next_event(body);
            net::post(ioc, [weak, event = std::move(event)]() mutable {
              if (auto me = weak.lock())
                me->answered(std::move(event));
            });
          },
          [weak, &ioc](caf::error&) {
            net::post(ioc, [weak] {
              if (auto me = weak.lock())
                me->failed();
            });
          });
    };
    caf::anon_send(ctx_.gateway, gateway_job{std::move(job)});
  }

  // The event that brings the client from the last view sent to `body`: a
  // snapshot first (or when the patch would not be smaller), then deltas;
  // nothing when the view did not change.
  std::optional<std::string> next_event(const std::string& body) {
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded())
      return std::nullopt;
    auto view = keyed_view(parsed);
    if (version_ == 0) {
      view_ = std::move(view);
      return snapshot();
    }
    auto patch = merge_patch(view_, view);
    if (patch.empty())
      return std::nullopt;
    view_ = std::move(view);
    auto text = patch.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() >= view_size_)
      return snapshot();
    ++version_;
    return sse("delta", version_,
               "{\"version\":" + std::to_string(version_) + ",\"base\":"
                 + std::to_string(version_ - 1) + ",\"patch\":" + text + "}");
  }

  std::string snapshot() {
    ++version_;
    auto text = view_.dump(-1, ' ', false, json::error_handler_t::replace);
    view_size_ = text.size();
    return sse("snapshot", version_,
               "{\"version\":" + std::to_string(version_)
                 + ",\"topology\":" + text + "}");
  }

  void answered(std::optional<std::string> event) {
    failing_ = false;
    send_or_keep_alive(std::move(event));
  }

  void failed() {
    std::optional<std::string> event;
    if (!failing_)
      event = sse("failure", 0, "{\"error\":\"node did not answer\"}");
    failing_ = true;
    send_or_keep_alive(std::move(event));
  }

  void send_or_keep_alive(std::optional<std::string> event) {
    bool alive = true;
    if (event) {
      alive = send_(std::move(*event));
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
  json view_;                 // The keyed view the client has (version_).
  uint64_t version_ = 0;      // Of the last event sent; 0: none yet.
  std::size_t view_size_ = 0; // Bytes of the last snapshot's view.
  bool failing_ = false;      // The last answer was a failure (sent once).
  int quiet_ = 0;             // Ticks since something was sent.
};

} // namespace

std::shared_ptr<event_source>
make_topology_events(server_context& ctx, topology_request req, bool cluster) {
  return std::make_shared<topology_events>(ctx, std::move(req), cluster);
}

} // namespace starling::transport
