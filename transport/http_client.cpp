// HTTP client for webhooks (after boostorg/beast's http client_async and
// client_async_ssl examples): resolve, connect, TLS handshake for https,
// write, read, with a pool of idle keep-alive connections per endpoint.
#include "transport/http_client.hpp"

#include <map>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::transport {

namespace {

namespace ssl = net::ssl;
using secure_stream = beast::ssl_stream<beast::tcp_stream>;

constexpr auto request_timeout = std::chrono::seconds(10);
constexpr std::size_t max_idle_per_host = 4;

struct target {
  bool https = false;
  std::string host;        // To resolve and for SNI: no brackets.
  std::string port;
  std::string path = "/";
  std::string host_header; // As in the URL: IPv6 in brackets.
};

// http[s]://host[:port]/path, host a name, IPv4 or [IPv6] (RFC 3986 §3.2.2).
bool parse_url(const std::string& url, target& out) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.https = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return false;
  }
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string::npos)
    out.path = rest.substr(slash);
  out.port = out.https ? "443" : "80";
  std::string port_part;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos)
      return false;
    out.host = authority.substr(1, close - 1);
    port_part = authority.substr(close + 1);
  } else {
    auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos)
      port_part = authority.substr(colon);
  }
  if (!port_part.empty()) {
    if (port_part.front() != ':' || port_part.size() == 1)
      return false;
    out.port = port_part.substr(1);
  }
  bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = (v6 ? "[" + out.host + "]" : out.host) + ":" + out.port;
  return !out.host.empty();
}

// One connection, plain or TLS; the pool keeps idle ones.
struct connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<secure_stream> secure;

  beast::tcp_stream& tcp() {
    return plain ? *plain : beast::get_lowest_layer(*secure);
  }

  template <class F>
  void visit(F&& f) {
    if (plain)
      f(*plain);
    else
      f(*secure);
  }
};

class pool;

// One request: take or open a connection, write, read, hand it back.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<pool> owner, target where, std::string key,
           ssl::context* tls, http::request<http::string_body> req,
           std::function<void(int)> done)
    : pool_(std::move(owner)),
      where_(std::move(where)),
      key_(std::move(key)),
      tls_(tls),
      req_(std::move(req)),
      done_(std::move(done)),
      resolver_(pool_io()) {
    // nop
  }

  void run(std::unique_ptr<connection> reused);

private:
  net::io_context& pool_io();

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return fail("resolve", ec);
    conn_->tcp().expires_after(request_timeout);
    conn_->tcp().async_connect(results,
                               beast::bind_front_handler(&exchange::on_connect,
                                                         shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec)
      return fail("connect", ec);
    if (!conn_->secure)
      return write();
    conn_->tcp().expires_after(request_timeout);
    conn_->secure->async_handshake(ssl::stream_base::client,
                                   beast::bind_front_handler(&exchange::on_handshake,
                                                             shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail("TLS handshake", ec);
    write();
  }

  void write() {
    conn_->tcp().expires_after(request_timeout);
    conn_->visit([this](auto& stream) {
      http::async_write(stream, req_,
                        beast::bind_front_handler(&exchange::on_write,
                                                  shared_from_this()));
    });
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return retry_or_finish();
    conn_->visit([this](auto& stream) {
      http::async_read(stream, buf_, res_,
                       beast::bind_front_handler(&exchange::on_read,
                                                 shared_from_this()));
    });
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

  // A new connection failed: the webhook actor only sees status 0, so say
  // why here (a certificate that does not verify, a refused port).
  void fail(const char* step, beast::error_code ec) {
    component_logger("webhooks")
      ->warn("webhook {} failed url={}://{}{}: {}", step,
             where_.https ? "https" : "http", where_.host_header, where_.path,
             ec.message());
    finish(0);
  }

  void open();

  void finish(int status);

  std::shared_ptr<pool> pool_;
  target where_;
  std::string key_;
  ssl::context* tls_;
  http::request<http::string_body> req_;
  std::function<void(int)> done_;
  tcp::resolver resolver_;
  std::unique_ptr<connection> conn_;
  beast::flat_buffer buf_;
  http::response<http::string_body> res_;
  bool reused_ = false;
  bool keep_ = false;
};

// Idle keep-alive connections by endpoint, and the TLS client contexts by
// their options. I/O thread only, except post().
class pool : public http_poster, public std::enable_shared_from_this<pool> {
public:
  explicit pool(net::io_context& ioc) : ioc_(ioc) {
    // nop
  }

  void post(const std::string& url, http_headers headers, std::string body,
            std::function<void(int)> done) override {
    post(url, std::move(headers), std::move(body), tls_options{},
         std::move(done));
  }

  void post(const std::string& url, http_headers headers, std::string body,
            const tls_options& tls, std::function<void(int)> done) override {
    target where;
    if (!parse_url(url, where)) {
      done(0);
      return;
    }
    http::request<http::string_body> req{http::verb::post, where.path, 11};
    req.set(http::field::host, where.host_header);
    req.set(http::field::user_agent, "starling-webhooks");
    for (auto& [name, value] : headers)
      req.set(name, value);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    net::post(ioc_, [self = shared_from_this(), where = std::move(where),
                     req = std::move(req), done = std::move(done),
                     tls]() mutable {
      ssl::context* ctx = nullptr;
      if (where.https && !(ctx = self->client_context(tls))) {
        done(0);
        return;
      }
      // Connections made with other TLS options are not interchangeable.
      auto key = (where.https ? "https://" : "http://") + where.host_header
                 + (where.https ? "|" + tls.ca_file + "|"
                                    + (tls.skip_verify ? "1" : "0")
                                : "");
      auto conn = self->take(key);
      std::make_shared<exchange>(self, std::move(where), key, ctx,
                                 std::move(req), std::move(done))
        ->run(std::move(conn));
    });
  }

  std::unique_ptr<connection> take(const std::string& key) {
    auto& idle = idle_[key];
    if (idle.empty())
      return nullptr;
    auto conn = std::move(idle.back());
    idle.pop_back();
    return conn;
  }

  void give_back(const std::string& key, std::unique_ptr<connection> conn) {
    auto& idle = idle_[key];
    if (idle.size() < max_idle_per_host)
      idle.push_back(std::move(conn));
  }

  net::io_context& io() {
    return ioc_;
  }

private:
  // One context per distinct option set, made on first use. nullptr (and
  // logged) when the CA file does not load.
  ssl::context* client_context(const tls_options& tls) {
    auto key = tls.ca_file + (tls.skip_verify ? "|1" : "|0");
    if (auto i = contexts_.find(key); i != contexts_.end())
      return i->second.get();
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    beast::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                       | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                       | ssl::context::no_tlsv1_1,
                     ec);
    if (!tls.skip_verify) {
      ctx->set_verify_mode(ssl::verify_peer, ec);
      if (!ec) {
        if (tls.ca_file.empty())
          ctx->set_default_verify_paths(ec);
        else
          ctx->load_verify_file(tls.ca_file, ec);
      }
    } else {
      ctx->set_verify_mode(ssl::verify_none, ec);
    }
    if (ec) {
      component_logger("webhooks")->error("webhook CA certificates \"{}\" do "
                                          "not load: {}",
                                          tls.ca_file, ec.message());
      return nullptr;
    }
    return (contexts_[key] = std::move(ctx)).get();
  }

  net::io_context& ioc_;
  std::map<std::string, std::vector<std::unique_ptr<connection>>> idle_;
  std::map<std::string, std::unique_ptr<ssl::context>> contexts_;
};

net::io_context& exchange::pool_io() {
  return pool_->io();
}

void exchange::run(std::unique_ptr<connection> reused) {
  if (reused) {
    reused_ = true;
    conn_ = std::move(reused);
    write();
    return;
  }
  open();
}

void exchange::open() {
  conn_ = std::make_unique<connection>();
  if (tls_ == nullptr) {
    conn_->plain = std::make_unique<beast::tcp_stream>(pool_io());
  } else {
    conn_->secure = std::make_unique<secure_stream>(pool_io(), *tls_);
    auto* ssl = conn_->secure->native_handle();
    // SNI names a host, never an address (RFC 6066 §3).
    beast::error_code ignored;
    net::ip::make_address(where_.host, ignored);
    if (ignored)
      SSL_set_tlsext_host_name(ssl, where_.host.c_str());
    if (SSL_CTX_get_verify_mode(tls_->native_handle()) != SSL_VERIFY_NONE)
      conn_->secure->set_verify_callback(ssl::host_name_verification(where_.host));
  }
  resolver_.async_resolve(where_.host, where_.port,
                          beast::bind_front_handler(&exchange::on_resolve,
                                                    shared_from_this()));
}

void exchange::finish(int status) {
  if (conn_ && keep_ && status > 0) {
    conn_->tcp().expires_never();
    pool_->give_back(key_, std::move(conn_));
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
