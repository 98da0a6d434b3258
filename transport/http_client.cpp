// HTTP client for webhooks (after boostorg/beast's http client_async
// example): resolve, connect, write, read, with a pool of idle
// keep-alive connections per host:port.
#include "transport/http_client.hpp"

#include <map>
#include <vector>

#include <boost/asio/post.hpp>

namespace starling::transport {

namespace {

constexpr auto request_timeout = std::chrono::seconds(10);
constexpr std::size_t max_idle_per_host = 4;

struct target {
  std::string host;
  std::string port = "80";
  std::string path = "/";
};

bool parse_url(const std::string& url, target& out) {
  static const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return false;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string::npos)
    out.path = rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
  }
  return !out.host.empty();
}

class pool;

// One request: take or open a connection, write, read, hand it back.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<pool> owner, target where,
           http::request<http::string_body> req, std::function<void(int)> done)
    : pool_(std::move(owner)),
      where_(std::move(where)),
      req_(std::move(req)),
      done_(std::move(done)),
      resolver_(pool_io()) {
    // nop
  }

  void run(std::unique_ptr<beast::tcp_stream> reused);

private:
  net::io_context& pool_io();

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return finish(0);
    stream_->expires_after(request_timeout);
    stream_->async_connect(results,
                           beast::bind_front_handler(&exchange::on_connect,
                                                     shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec)
      return finish(0);
    write();
  }

  void write() {
    stream_->expires_after(request_timeout);
    http::async_write(*stream_, req_,
                      beast::bind_front_handler(&exchange::on_write,
                                                shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return retry_or_finish();
    http::async_read(*stream_, buf_, res_,
                     beast::bind_front_handler(&exchange::on_read,
                                               shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return retry_or_finish();
    keep_ = res_.keep_alive();
    finish(static_cast<int>(res_.result_int()));
  }

  // A pooled connection the server already closed: one fresh attempt.
  void retry_or_finish() {
    if (!reused_)
      return finish(0);
    reused_ = false;
    res_ = {};
    buf_.consume(buf_.size());
    open();
  }

  void open() {
    stream_ = std::make_unique<beast::tcp_stream>(pool_io());
    resolver_.async_resolve(where_.host, where_.port,
                            beast::bind_front_handler(&exchange::on_resolve,
                                                      shared_from_this()));
  }

  void finish(int status);

  std::shared_ptr<pool> pool_;
  target where_;
  http::request<http::string_body> req_;
  std::function<void(int)> done_;
  tcp::resolver resolver_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buf_;
  http::response<http::string_body> res_;
  bool reused_ = false;
  bool keep_ = false;
};

// Idle keep-alive connections by host:port. I/O thread only.
class pool : public http_poster, public std::enable_shared_from_this<pool> {
public:
  explicit pool(net::io_context& ioc) : ioc_(ioc) {
    // nop
  }

  void post(const std::string& url, http_headers headers, std::string body,
            std::function<void(int)> done) override {
    target where;
    if (!parse_url(url, where)) {
      done(0);
      return;
    }
    http::request<http::string_body> req{http::verb::post, where.path, 11};
    req.set(http::field::host, where.host + ":" + where.port);
    req.set(http::field::user_agent, "starling-webhooks");
    for (auto& [name, value] : headers)
      req.set(name, value);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    net::post(ioc_, [self = shared_from_this(), where = std::move(where),
                     req = std::move(req), done = std::move(done)]() mutable {
      auto key = where.host + ":" + where.port;
      auto conn = self->take(key);
      std::make_shared<exchange>(self, std::move(where), std::move(req),
                                 std::move(done))
        ->run(std::move(conn));
    });
  }

  std::unique_ptr<beast::tcp_stream> take(const std::string& key) {
    auto& idle = idle_[key];
    if (idle.empty())
      return nullptr;
    auto conn = std::move(idle.back());
    idle.pop_back();
    return conn;
  }

  void give_back(const std::string& key, std::unique_ptr<beast::tcp_stream> conn) {
    auto& idle = idle_[key];
    if (idle.size() < max_idle_per_host)
      idle.push_back(std::move(conn));
  }

  net::io_context& io() {
    return ioc_;
  }

private:
  net::io_context& ioc_;
  std::map<std::string, std::vector<std::unique_ptr<beast::tcp_stream>>> idle_;
};

net::io_context& exchange::pool_io() {
  return pool_->io();
}

void exchange::run(std::unique_ptr<beast::tcp_stream> reused) {
  if (reused) {
    reused_ = true;
    stream_ = std::move(reused);
    write();
    return;
  }
  open();
}

void exchange::finish(int status) {
  if (stream_ && keep_ && status > 0) {
    stream_->expires_never();
    pool_->give_back(where_.host + ":" + where_.port, std::move(stream_));
  }
  auto done = std::move(done_);
  if (done)
    done(status);
}

} // namespace

http_poster_ptr make_http_poster(net::io_context& ioc) {
  return std::make_shared<pool>(ioc);
}

} // namespace starling::transport
