// HTTP session (after boostorg/beast advanced_server's http_session): one
// request at a time, bounded headers and body, read timeouts, keep-alive.
#include "transport/http_session.hpp"

#include <array>
#include <deque>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/error.hpp>

#include "transport/admin_http.hpp"
#include "transport/cors.hpp"
#include "transport/http_reply.hpp"
#include "transport/rest_api.hpp"
#include "transport/server_context.hpp"
#include "transport/tls_context.hpp"
#include "transport/tls_stream.hpp"
#include "transport/ws/session.hpp"

namespace starling::transport {

namespace {

constexpr uint32_t max_header_bytes = 16 * 1024;

// Bounds of the lingering close after a refused request.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 64 * 1024 * 1024;

// Lingering sessions read into one shared buffer (I/O thread only); what
// they read is dropped.
thread_local std::array<char, 16384> drain_buffer;

// What differs between a plain and a TLS connection: how the upgrade hands
// the socket over and how the connection ends.
void upgrade(const std::shared_ptr<server_context>& ctx, io_worker& worker,
             tcp_stream& stream, http::request<http::string_body> req) {
  start_websocket_session(ctx, worker, stream.release_socket(),
                          std::move(req));
}

void upgrade(const std::shared_ptr<server_context>& ctx, io_worker& worker,
             tls_stream& stream, http::request<http::string_body> req) {
  auto [socket, tls] = stream.release();
  start_websocket_session(ctx, worker, std::move(socket), std::move(req),
                          std::move(tls));
}

void end(tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp_socket::shutdown_send, ignored);
  stream.close();
}

void end(tls_stream& stream) {
  stream.close();
}

// Stream: tcp_stream or tls_stream, instantiated once each here.
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(std::shared_ptr<server_context> ctx, io_worker& worker,
               Stream stream, http_role role)
    : ctx_(std::move(ctx)),
      worker_(worker),
      stream_(std::move(stream)),
      role_(role) {
    // nop
  }

  using std::enable_shared_from_this<http_session<Stream>>::shared_from_this;

  void run() {
    do_read();
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(ctx_->settings.server.max_http_body_bytes);
    // Covers slow headers and slow bodies alike.
    stream_.expires_after(std::chrono::seconds(ctx_->settings.server.http_timeout_s));
    http::async_read(stream_, buf_, *parser_,
                     beast::bind_front_handler(&http_session::on_read,
                                               shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    // A failed TLS handshake (plain HTTP on the TLS port, an untrusted
    // client certificate) has no channel left to answer on.
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted
        || ec == beast::error::timeout || ec == net::error::connection_reset
        || ec.category() == net::error::get_ssl_category())
      return do_shutdown();
    if (ec == http::error::body_limit)
      return fail_request(json_error(413, "Request body too large"));
    if (ec == http::error::header_limit)
      return fail_request(json_error(431, "Request headers too large"));
    if (ec)
      return fail_request(json_error(400, "Malformed HTTP request: " + ec.message()));
    auto& req = parser_->get();
    if (websocket::is_upgrade(req)) {
      if (role_ != http_role::public_api)
        return fail_request(json_error(404, "No WebSocket endpoint here"));
      stream_.expires_never();
      upgrade(ctx_, worker_, stream_, parser_->release());
      return;
    }
    ++ctx_->metrics.http_requests;
    started_ = std::chrono::steady_clock::now();
    route_ = classify_http_route(role_ == http_role::admin,
                                 std::string(req.target()),
                                 ctx_->settings.server.path_prefix);
    if (!route_.app.empty() && !ctx_->apps->by_id(route_.app))
      route_.app.clear(); // Only configured apps become label values.
    cors_origin_.clear();
    if (role_ == http_role::public_api
        && !ctx_->settings.server.cors_origins.empty()) {
      auto origin = req[http::field::origin];
      cors_origin_ = cors_allow_origin(ctx_->settings.server.cors_origins,
                                       {origin.data(), origin.size()});
      if (req.method() == http::verb::options)
        return preflight(req);
    }
    http_request_view view;
    view.method = std::string(req.method_string());
    view.target = std::string(req.target());
    view.body = std::move(req.body());
    if (auto auth = req.find(http::field::authorization); auth != req.end())
      view.authorization = std::string(auth->value());
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    stream_.expires_never();
    auto self = shared_from_this();
    reply_fn done = [self](http_reply reply) {
      // Handlers may answer from an actor thread: back to the I/O thread.
      net::post(self->worker_.ioc, [self, reply = std::move(reply)]() mutable {
        self->write(std::move(reply));
      });
    };
    if (role_ == http_role::admin)
      ctx_->admin_routes->handle(view, done);
    else
      ctx_->rest->handle(view, done);
  }

  // A browser asks before a cross-origin POST: 204 with the CORS headers
  // for an allowed origin, 403 otherwise.
  void preflight(const http::request<http::string_body>& req) {
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    if (cors_origin_.empty())
      return write(json_error(403, "Origin not allowed"));
    http_reply reply;
    reply.status = 204;
    auto asked = req[http::field::access_control_request_headers];
    reply.headers = cors_preflight_headers(cors_origin_,
                                           {asked.data(), asked.size()});
    cors_origin_.clear(); // Already in the headers.
    write(std::move(reply));
  }

  void fail_request(http_reply reply) {
    // The stream is in an unknown state after a parse error: answer, close.
    keep_alive_ = false;
    refused_ = true;
    version_ = 11;
    write(std::move(reply));
  }

  void write(http_reply reply) {
    if (reply.events)
      return start_events(std::move(reply));
    if (reply.status >= 400)
      ++ctx_->metrics.http_errors;
    ctx_->http.record(route_, reply.status,
                      std::chrono::steady_clock::now() - started_);
    route_ = {{}, "unparsed"};
    started_ = std::chrono::steady_clock::now();
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(reply.status), version_);
    res->set(http::field::server, "starling");
    res->set(http::field::content_type, reply.content_type);
    for (auto& [name, value] : reply.headers)
      res->set(name, value);
    if (!cors_origin_.empty()) {
      res->set(http::field::access_control_allow_origin, cors_origin_);
      res->set(http::field::vary, "Origin");
    }
    res->keep_alive(keep_alive_);
    if (keep_alive_)
      // Idle keep-alive sockets close after http_timeout_s; saying so lets
      // client pools retire them first.
      res->set("Keep-Alive", "timeout=" + std::to_string(
                                ctx_->settings.server.http_timeout_s));
    res->body() = std::move(reply.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(ctx_->settings.server.http_timeout_s));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec,
                                                       std::size_t) {
                        self->on_write(ec, res->need_eof());
                      });
  }

  // Server-sent events: the header, then each chunk the source sends, one
  // write at a time, until the client goes (the next write fails) or is too
  // slow to take them.
  void start_events(http_reply reply) {
    ctx_->http.record(route_, 200, std::chrono::steady_clock::now() - started_);
    stream_.expires_never();
    events_ = std::move(reply.events);
    send_event("HTTP/1.1 200 OK\r\nServer: starling\r\n"
               "Content-Type: text/event-stream\r\nCache-Control: no-store\r\n"
               "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n");
    // A read stays pending while the stream lasts: it keeps the session
    // alive and ends it as soon as the client goes. The source holds the
    // session only weakly: a strong hold both ways was a cycle that kept
    // both when the node stopped with a stream open.
    watch_close();
    std::weak_ptr<http_session> weak = this->shared_from_this();
    events_->start([weak](std::string chunk) {
      auto self = weak.lock();
      return self && self->send_event(std::move(chunk));
    });
  }

  // An event-stream client sends nothing: its bytes are dropped, its EOF
  // or reset ends the stream.
  void watch_close() {
    stream_.async_read_some(
      net::buffer(drain_buffer),
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (!ec)
          return self->watch_close();
        if (self->events_closed_)
          return;
        // A write under way still uses the queue: it fails next and
        // clears it.
        self->events_closed_ = true;
        self->do_shutdown();
      });
  }

  bool send_event(std::string chunk) {
    if (events_closed_)
      return false;
    if (event_queue_.size() >= max_queued_events) {
      events_closed_ = true;
      do_shutdown();
      return false;
    }
    event_queue_.push_back(std::move(chunk));
    if (event_queue_.size() == 1)
      write_event();
    return true;
  }

  void write_event() {
    net::async_write(stream_, net::buffer(event_queue_.front()),
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec) {
                         self->events_closed_ = true;
                         self->event_queue_.clear();
                         return self->do_shutdown();
                       }
                       self->event_queue_.pop_front();
                       if (!self->event_queue_.empty())
                         self->write_event();
                     });
  }

  void on_write(beast::error_code ec, bool close) {
    if (ec)
      return do_shutdown();
    if (close)
      return refused_ ? linger() : do_shutdown();
    do_read();
  }

  // Lingering close: a client may still be sending the request we refused
  // (a body over the limit). Closing with unread input makes the kernel
  // send a reset, and the client may never read our answer; so end our
  // side, then read and drop its bytes until it closes, for a bounded time
  // and amount.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp_socket::shutdown_send, ignored);
    stream_.expires_after(linger_time);
    drain();
  }

  void drain() {
    if (drained_ >= linger_bytes)
      return do_shutdown();
    stream_.async_read_some(
      net::buffer(drain_buffer),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->drained_ += n;
        if (ec)
          return self->do_shutdown(); // EOF, reset or the linger timeout.
        self->drain();
      });
  }

  void do_shutdown() {
    end(stream_);
  }

  std::shared_ptr<server_context> ctx_;
  io_worker& worker_;
  Stream stream_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http_role role_;
  std::string cors_origin_; // Access-Control-Allow-Origin of this request.
  std::size_t drained_ = 0; // Bytes dropped while lingering.
  bool refused_ = false;    // Answered a request it could not read.
  http_route route_{{}, "unparsed"}; // What the request is counted as.
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool keep_alive_ = true;
  unsigned version_ = 11;
  // Event streams: chunks waiting (the front is being written).
  static constexpr std::size_t max_queued_events = 16;
  std::shared_ptr<event_source> events_;
  std::deque<std::string> event_queue_;
  bool events_closed_ = false;
};

} // namespace

void start_http_session(const std::shared_ptr<server_context>& ctx,
                        io_worker& worker, tcp_socket socket, http_role role,
                        const tls_context* tls) {
  if (tls == nullptr) {
    std::make_shared<http_session<tcp_stream>>(
      ctx, worker, tcp_stream{std::move(socket)}, role)
      ->run();
    return;
  }
  std::make_shared<http_session<tls_stream>>(
    ctx, worker, tls_stream{std::move(socket), tls->native()}, role)
    ->run();
}

} // namespace starling::transport
