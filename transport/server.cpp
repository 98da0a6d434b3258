// Server: listeners, the I/O threads, the liveness timers and signal
// handling.
#include "transport/server.hpp"

#include <algorithm>
#include <csignal>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/all.hpp>

#include "actors/log.hpp"
#include "transport/admin_http.hpp"
#include "transport/ask.hpp"
#include "pusher/error_code.hpp"
#include "transport/http_client.hpp"
#include "transport/http_session.hpp"
#include "transport/rest_api.hpp"
#include "transport/server_context.hpp"
#include "transport/tls_context.hpp"
#include "transport/ws/fanout.hpp"
#include "transport/ws/session.hpp"

#include <spdlog/spdlog.h>

namespace starling::transport {

server_context::server_context(net::io_context& ioc,
                               std::vector<io_worker*> workers,
                               caf::actor_system& sys,
                               std::shared_ptr<app_directory> apps,
                               admin_actor admin, config::settings settings)
  : ioc(ioc),
    workers(std::move(workers)),
    sys(sys),
    apps(std::move(apps)),
    admin(std::move(admin)),
    settings(std::move(settings)),
    started(std::chrono::steady_clock::now()) {
  rest = std::make_unique<rest_api>(*this);
  admin_routes = std::make_unique<admin_http>(*this);
}

server_context::~server_context() {
  // nop
}

namespace {

/// Accepts connections on one port (on the control thread) and deals them
/// out to the I/O threads in turn; each starts an HTTP session there, in
/// TLS when the listener has a context.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(std::shared_ptr<server_context> ctx, http_role role)
    : ctx_(std::move(ctx)), acceptor_(ctx_->ioc), retry_(ctx_->ioc), role_(role) {
    // nop
  }

  /// Serves TLS from `settings`. Returns an empty string, or what is wrong
  /// with the files. `name` ("server.tls") prefixes messages.
  std::string use_tls(const config::tls_settings& settings, std::string name) {
    tls_settings_ = settings;
    tls_name_ = std::move(name);
    std::string error;
    tls_ = tls_context::load(settings, error);
    if (!tls_)
      return tls_name_ + ": " + error;
    component_logger("transport")->info("{}: serving {}", tls_name_,
                                        tls_->summary());
    return {};
  }

  /// SIGHUP: re-reads the certificate and key. New handshakes use them;
  /// open connections keep theirs. A bad file keeps the old ones.
  void reload_tls() {
    if (!tls_)
      return;
    auto log = component_logger("transport");
    std::string error;
    auto next = tls_context::load(tls_settings_, error);
    if (!next) {
      log->error("{}: reload failed, keeping the previous certificate: {}",
                 tls_name_, error);
      return;
    }
    tls_ = std::move(next);
    log->info("{}: reloaded, now serving {}", tls_name_, tls_->summary());
  }

  std::string open(const std::string& host, uint16_t port) {
    beast::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (ec)
      return "invalid listen address '" + host + "': " + ec.message();
    tcp::endpoint ep{address, port};
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return "cannot listen on " + host + ":" + std::to_string(port) + ": "
             + ec.message();
    return {};
  }

  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void run() {
    do_accept();
  }

  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  }

private:
  void do_accept() {
    // The socket belongs to the next thread's context from the start.
    auto& workers = ctx_->workers;
    auto* worker = workers[next_worker_++ % workers.size()];
    acceptor_.async_accept(worker->ioc,
                           beast::bind_front_handler(&listener::on_accept,
                                                     shared_from_this(),
                                                     worker));
  }

  void on_accept(io_worker* worker, beast::error_code ec, tcp_socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec) {
      // Out of file descriptors and the like: back off instead of spinning.
      component_logger("transport")->warn("accept failed: {}", ec.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e)
          self->do_accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // The session holds the TLS context it started with: a SIGHUP reload
    // swaps tls_ on this thread meanwhile.
    net::post(worker->ioc, [ctx = ctx_, worker, role = role_, tls = tls_,
                            s = std::move(socket)]() mutable {
      start_http_session(ctx, *worker, std::move(s), role, tls.get());
    });
    do_accept();
  }

  std::shared_ptr<server_context> ctx_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  http_role role_;
  std::shared_ptr<tls_context> tls_; // nullptr: plain.
  config::tls_settings tls_settings_;
  std::string tls_name_;
  std::size_t next_worker_ = 0; // Round-robin over the I/O threads.
};

/// Returns how many I/O threads `settings` asks for (0: one per core).
std::size_t io_thread_count(const config::settings& settings) {
  if (settings.server.io_threads > 0)
    return settings.server.io_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

struct server::impl {
  // workers[0] runs on the thread that calls run(): it also takes signals,
  // the listeners and the HTTP client; the others have their own threads.
  std::vector<std::unique_ptr<io_worker>> workers;
  net::io_context& ioc;
  config::settings settings;
  std::shared_ptr<server_context> ctx;
  std::shared_ptr<listener> public_listener;
  std::shared_ptr<listener> tls_listener; // nullptr without server.tls.
  std::shared_ptr<listener> admin_listener;
  std::vector<std::unique_ptr<net::steady_timer>> sweep_timers; // Per worker.
  std::vector<std::thread> threads; // workers[1..].
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  // Its own set, so a SIGHUP never counts as the first or second stop.
  net::signal_set reload_signals{ioc, SIGHUP};
  std::function<void()> reload;
  std::function<void()> stopping_hook;
  bool stopping = false;

  explicit impl(config::settings s)
    : workers(make_workers(io_thread_count(s))),
      ioc(workers.front()->ioc),
      settings(std::move(s)) {
    for (auto& w : workers)
      sweep_timers.push_back(std::make_unique<net::steady_timer>(w->ioc));
  }

  static std::vector<std::unique_ptr<io_worker>> make_workers(std::size_t n) {
    std::vector<std::unique_ptr<io_worker>> out;
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(std::make_unique<io_worker>(static_cast<uint16_t>(i)));
    return out;
  }

  std::vector<io_worker*> worker_ptrs() const {
    std::vector<io_worker*> out;
    for (auto& w : workers)
      out.push_back(w.get());
    return out;
  }

  // Each thread sweeps its own sessions once a second.
  void schedule_sweep(std::size_t i) {
    sweep_timers[i]->expires_after(std::chrono::seconds(1));
    sweep_timers[i]->async_wait([this, i](beast::error_code ec) {
      if (ec)
        return;
      if (i == 0)
        ctx->new_connections.prune();
      sweep_websocket_sessions(*ctx, *workers[i]);
      schedule_sweep(i);
    });
  }

  // Runs `f(worker)` on every I/O thread.
  template <class F>
  void on_each_worker(F f) {
    for (auto& w : workers)
      net::post(w->ioc, [f, w = w.get()] { f(*w); });
  }

  void start_threads() {
    for (std::size_t i = 1; i < workers.size(); ++i)
      threads.emplace_back([w = workers[i].get()] {
        auto guard = net::make_work_guard(w->ioc);
        w->ioc.run();
      });
  }

  void stop_threads() {
    for (auto& w : workers)
      w->ioc.stop();
    for (auto& t : threads)
      t.join();
    threads.clear();
  }
};

server::server(config::settings settings)
  : impl_(std::make_unique<impl>(std::move(settings))) {
  // nop
}

server::~server() {
  // Queued handlers of one context may hold the last reference to a
  // session of another: destroy every context's handlers (and so those
  // sessions) while all contexts still exist.
  for (auto& w : impl_->workers)
    w->ioc.shutdown();
}

std::string server::listen(caf::actor_system& sys,
                           std::shared_ptr<app_directory> apps,
                           admin_actor admin) {
  impl_->ctx = std::make_shared<server_context>(impl_->ioc,
                                                impl_->worker_ptrs(), sys,
                                                std::move(apps),
                                                std::move(admin),
                                                impl_->settings);
  impl_->ctx->gateway = spawn_gateway(sys);
  impl_->public_listener = std::make_shared<listener>(impl_->ctx,
                                                      http_role::public_api);
  impl_->admin_listener = std::make_shared<listener>(impl_->ctx,
                                                     http_role::admin);
  auto& s = impl_->ctx->settings;
  if (auto err = impl_->public_listener->open(s.server.host, s.server.port);
      !err.empty())
    return err;
  if (s.server.tls.enabled || s.admin.tls.enabled)
    // OpenSSL writes to sockets with write(2): a peer gone mid-write must
    // not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
  if (s.server.tls.enabled) {
    impl_->tls_listener = std::make_shared<listener>(impl_->ctx,
                                                     http_role::public_api);
    if (auto err = impl_->tls_listener->use_tls(s.server.tls, "server.tls");
        !err.empty())
      return err;
    if (auto err = impl_->tls_listener->open(s.server.host, s.server.tls_port);
        !err.empty())
      return err;
  }
  if (s.admin.tls.enabled)
    if (auto err = impl_->admin_listener->use_tls(s.admin.tls, "admin.tls");
        !err.empty())
      return err;
  return impl_->admin_listener->open(s.admin.host, s.admin.port);
}

http_poster_ptr server::make_http_poster() {
  return transport::make_http_poster(impl_->ioc);
}

void server::stop_actors() {
  if (impl_->ctx && impl_->ctx->gateway)
    caf::anon_send_exit(impl_->ctx->gateway, caf::exit_reason::user_shutdown);
}

fanout_sink_ptr server::make_fanout_sink() {
  return transport::make_fanout_sink(impl_->worker_ptrs());
}

uint16_t server::port() const {
  return impl_->public_listener->port();
}

uint16_t server::tls_port() const {
  return impl_->tls_listener ? impl_->tls_listener->port() : 0;
}

uint16_t server::admin_port() const {
  return impl_->admin_listener->port();
}

void server::on_reload(std::function<void()> handler) {
  impl_->reload = std::move(handler);
}

void server::on_stopping(std::function<void()> handler) {
  impl_->stopping_hook = std::move(handler);
}

void server::run(const std::function<void(std::function<void()>)>& on_drained) {
  auto& d = *impl_;
  auto log = component_logger("transport");
  d.public_listener->run();
  if (d.tls_listener)
    d.tls_listener->run();
  d.admin_listener->run();
  for (std::size_t i = 0; i < d.workers.size(); ++i)
    net::post(d.workers[i]->ioc, [&d, i] { d.schedule_sweep(i); });
  d.ctx->ready = true;
  net::steady_timer drain_timer{d.ioc};
  std::function<void(beast::error_code)> drain_step;
  std::function<void(beast::error_code, int)> on_signal;
  auto finish = [&] {
    // Stopping the contexts ends every thread; timers stay unrun.
    d.admin_listener->stop();
    d.ioc.stop();
  };
  on_signal = [&](beast::error_code ec, int sig) {
    if (ec)
      return;
    if (d.stopping) {
      log->warn("second signal: stopping now");
      d.ioc.stop();
      return;
    }
    d.stopping = true;
    d.signals.async_wait(on_signal);
    if (d.stopping_hook)
      d.stopping_hook();
    d.ctx->ready = false;
    d.public_listener->stop();
    if (d.tls_listener)
      d.tls_listener->stop();
    auto grace = std::chrono::seconds(d.ctx->settings.server.shutdown_grace_s);
    auto start = std::chrono::steady_clock::now();
    auto total = d.ctx->session_count();
    log->info("signal {}: draining {} connections over {} s", sig, total,
              grace.count());
    // Clients reconnect (4200: at once) in batches, so a node's clients do
    // not stampede the remaining nodes in the same millisecond. Each I/O
    // thread closes its share of a batch.
    auto step = std::chrono::milliseconds(50);
    auto steps = std::max<std::size_t>(1, grace / step);
    auto batch = std::max<std::size_t>(1, (total + steps - 1) / steps);
    auto share = std::max<std::size_t>(1, (batch + d.workers.size() - 1)
                                            / d.workers.size());
    auto code = pusher::to_int(pusher::pusher_error::reconnect_now);
    drain_step = [&, start, grace, share, code, step](beast::error_code) {
      auto now = std::chrono::steady_clock::now();
      d.on_each_worker([&d, share, code](io_worker& w) {
        close_websocket_sessions(w, code, "Server is closing", share);
        sweep_websocket_sessions(*d.ctx, w);
      });
      if (d.ctx->session_count() > 0
          && now - start < grace + std::chrono::seconds(3)) {
        drain_timer.expires_after(step);
        drain_timer.async_wait(drain_step);
        return;
      }
      // Sockets are closed: flush webhooks and the like, then stop.
      drain_timer.expires_after(std::chrono::seconds(5));
      drain_timer.async_wait([&](beast::error_code e) {
        if (!e)
          finish();
      });
      on_drained([&] { net::post(d.ioc, finish); });
    };
    drain_step({});
  };
  d.signals.async_wait(on_signal);
  std::function<void(beast::error_code, int)> on_reload_signal
    = [&](beast::error_code ec, int) {
        if (ec)
          return;
        if (d.tls_listener)
          d.tls_listener->reload_tls();
        d.admin_listener->reload_tls();
        if (d.reload)
          d.reload();
        else
          log->info("SIGHUP: nothing to reload");
        d.reload_signals.async_wait(on_reload_signal);
      };
  d.reload_signals.async_wait(on_reload_signal);
  d.start_threads();
  d.ioc.run();
  // Actors may still post to sessions (the system ends after this): the
  // contexts stay, their threads stop. A second signal stops the loops with
  // fan-out flushes still queued: the queues hold sessions and every
  // session holds the context, a cycle that would outlive the server.
  d.stop_threads();
  for (auto& w : d.workers) {
    w->dirty.sessions.clear();
    w->dirty.flush_posted = false;
  }
}

} // namespace starling::transport
