// starling top (see admin_top.hpp).
#include "transport/admin_top.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "transport/net.hpp"

namespace starling::transport {

namespace {

using json = nlohmann::json;

namespace ssl = net::ssl;

struct options {
  std::string host = "127.0.0.1";
  std::string port = "9601";
  bool https = false;  // An admin port with admin.tls.
  std::string ca_file; // Trust this CA (or self-signed certificate).
  bool insecure = false; // No certificate check at all.
  std::string token;
  double interval_s = 2.0;
  bool once = false;
};

const char* usage =
  "usage: starling top --admin http[s]://HOST:PORT [--token T] "
  "[--ca FILE | --insecure] [--interval SECONDS] [--once]\n"
  "The token may also come from STARLING_ADMIN_TOKEN. With https the node's\n"
  "certificate is checked against the system CAs, or --ca FILE (a CA or the\n"
  "self-signed certificate itself); --insecure skips the check.\n";

// "http[s]://host[:port][/...]" into `o`; false when it is neither.
bool parse_admin_url(const std::string& url, options& o) {
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    o.https = true;
    o.port = "443";
  } else {
    return false;
  }
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  o.host = rest.substr(0, colon);
  if (colon != std::string::npos)
    o.port = rest.substr(colon + 1);
  return !o.host.empty() && !o.port.empty();
}

std::optional<options> parse_args(int argc, char** argv) {
  options o;
  if (auto env = std::getenv("STARLING_ADMIN_TOKEN"))
    o.token = env;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc)
        return std::nullopt;
      return std::string{argv[++i]};
    };
    if (a == "--once") {
      o.once = true;
    } else if (a == "--admin") {
      auto v = next();
      if (!v || !parse_admin_url(*v, o))
        return std::nullopt;
    } else if (a == "--ca") {
      auto v = next();
      if (!v)
        return std::nullopt;
      o.ca_file = *v;
    } else if (a == "--insecure") {
      o.insecure = true;
    } else if (a == "--token") {
      auto v = next();
      if (!v)
        return std::nullopt;
      o.token = *v;
    } else if (a == "--interval") {
      auto v = next();
      if (!v || std::atof(v->c_str()) <= 0)
        return std::nullopt;
      o.interval_s = std::atof(v->c_str());
    } else {
      return std::nullopt;
    }
  }
  return o;
}

// One GET; returns the status and body, or an error text.
struct answer {
  int status = 0;
  std::string body;
  std::string error;
};

// Writes `target`'s request on `stream` and reads the answer into `out`.
template <class Stream>
void exchange(Stream& stream, const options& o, const std::string& target,
              answer& out) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, o.host);
  if (!o.token.empty())
    req.set(http::field::authorization, "Bearer " + o.token);
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
}

// The client TLS context: the system CAs, or --ca, or no check.
ssl::context client_tls(const options& o) {
  ssl::context ctx{ssl::context::tls_client};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                  | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                  | ssl::context::no_tlsv1_1);
  if (o.insecure) {
    ctx.set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx.set_verify_mode(ssl::verify_peer);
  if (o.ca_file.empty())
    ctx.set_default_verify_paths();
  else
    ctx.load_verify_file(o.ca_file);
  return ctx;
}

answer get(const options& o, const std::string& target) {
  answer out;
  try {
    net::io_context ioc;
    tcp::resolver resolver{ioc};
    auto where = resolver.resolve(o.host, o.port);
    if (!o.https) {
      beast::tcp_stream stream{ioc};
      stream.expires_after(std::chrono::seconds(5));
      stream.connect(where);
      exchange(stream, o, target, out);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return out;
    }
    auto ctx = client_tls(o);
    beast::ssl_stream<beast::tcp_stream> stream{ioc, ctx};
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(stream).connect(where);
    if (!o.insecure)
      stream.set_verify_callback(ssl::host_name_verification(o.host));
    // SNI takes names only, not addresses.
    beast::error_code ec;
    net::ip::make_address(o.host, ec);
    if (ec)
      SSL_set_tlsext_host_name(stream.native_handle(), o.host.c_str());
    stream.handshake(ssl::stream_base::client);
    exchange(stream, o, target, out);
    stream.shutdown(ec); // The node may just close: not an error here.
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

// Sums of the unlabelled-or-app-labelled counters top shows as rates.
std::map<std::string, double> counters(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    auto name = line.substr(0, line.find_first_of("{ "));
    auto value = std::atof(line.substr(line.rfind(' ') + 1).c_str());
    out[name] += value;
  }
  return out;
}

std::string pad(std::string s, std::size_t n) {
  if (s.size() > n)
    s = s.substr(0, n - 1) + "~";
  s.resize(n, ' ');
  return s;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), v == static_cast<long long>(v) ? "%.0f" : "%.1f", v);
  return buf;
}

std::string frame(const json& t, const std::map<std::string, double>& rates,
                  const std::string& asked) {
  std::ostringstream o;
  auto nodes = t.value("nodes", json::array());
  std::size_t up = 0;
  for (auto& n : nodes)
    up += n.value("reachable", false) ? 1 : 0;
  o << "Starling cluster  epoch " << t.value("epoch", 0) << "  nodes " << up
    << "/" << nodes.size() << " reachable  (asked " << asked << ")\n\n";
  o << pad("NODE", 16) << pad("STATE", 14) << pad("APPS", 6) << pad("CONNS", 8)
    << pad("CHANNELS", 10) << pad("OWNERS", 8) << "UPTIME\n";
  std::map<std::string, std::vector<double>> apps; // conns, channels, owners
  for (auto& n : nodes) {
    auto id = n.value("id", std::string{});
    if (!n.value("reachable", false)) {
      o << pad(id, 16) << (n.value("left", false) ? "left (" + n.value("reason", std::string{}) + ")" : std::string{"unreachable"}) << "\n";
      continue;
    }
    auto& tp = n["topology"];
    double conns = 0, chans = 0, owners = 0;
    for (auto& a : tp["apps"]) {
      auto& s = apps[a.value("id", std::string{})];
      s.resize(3);
      double c = a.value("connections", 0), ch = a.value("channel_count", 0),
             ow = a.value("owner_count", 0);
      s[0] += c, s[1] += ch, s[2] += ow;
      conns += c, chans += ch, owners += ow;
    }
    o << pad(id, 16) << pad("up", 14) << pad(num(tp["apps"].size()), 6)
      << pad(num(conns), 8) << pad(num(chans), 10) << pad(num(owners), 8)
      << tp.value("uptime_s", 0) << " s\n";
  }
  o << "\n" << pad("APP", 20) << pad("CONNS", 8) << pad("CHANNELS", 10) << "OWNERS\n";
  for (auto& [id, s] : apps)
    o << pad(id, 20) << pad(num(s[0]), 8) << pad(num(s[1]), 10) << num(s[2]) << "\n";
  auto channels = t.value("channels", json::array());
  std::vector<json> busy(channels.begin(), channels.end());
  std::sort(busy.begin(), busy.end(), [](const json& x, const json& y) {
    return x.value("subscribers", 0) > y.value("subscribers", 0);
  });
  o << "\nBUSIEST CHANNELS\n" << pad("CHANNEL", 28) << pad("APP", 14)
    << pad("OWNER", 14) << pad("SUBSCRIBERS", 13) << "PRESENCE\n";
  std::size_t shown = 0;
  for (auto& c : busy) {
    auto name = c.value("name", std::string{});
    if (name.empty() || name[0] == '#' || ++shown > 10)
      continue;
    o << pad(name, 28) << pad(c.value("app", std::string{}), 14)
      << pad(c["owner"].is_string() ? c["owner"].get<std::string>() : "?", 14)
      << pad(num(c.value("subscribers", 0)), 13) << c.value("presence_members", 0)
      << "\n";
  }
  o << "\nRATES of " << asked << " (per second)\n";
  const std::pair<const char*, const char*> shown_rates[] = {
    {"messages in", "starling_messages_in_total"},
    {"messages out", "starling_messages_out_total"},
    {"publishes", "starling_app_publishes_total"},
    {"new connections", "starling_connections_total"},
    {"http requests", "starling_http_requests_total"}};
  for (auto& [label, name] : shown_rates) {
    auto i = rates.find(name);
    o << "  " << pad(label, 18) << (i == rates.end() ? std::string{"-"} : num(i->second)) << "\n";
  }
  return o.str();
}

} // namespace

int run_top(int argc, char** argv) {
  auto o = parse_args(argc, argv);
  if (!o) {
    std::fputs(usage, stderr);
    return 2;
  }
  auto asked = o->host + ":" + o->port;
  std::map<std::string, double> before;
  auto t0 = std::chrono::steady_clock::now();
  bool first = true;
  for (;;) {
    auto m = get(*o, "/metrics");
    auto t = get(*o, "/topology?scope=cluster&limit=50");
    auto now = std::chrono::steady_clock::now();
    std::string out;
    if (!t.error.empty() || !m.error.empty()) {
      out = "node " + asked + " unreachable: " + (t.error.empty() ? m.error : t.error) + "\n";
    } else if (t.status == 401 || m.status == 401) {
      out = "401: admin token required or refused (--token)\n";
    } else if (t.status != 200) {
      out = "node answered " + std::to_string(t.status) + ": " + t.body + "\n";
    } else {
      auto now_counters = counters(m.body);
      std::map<std::string, double> rates;
      double dt = std::chrono::duration<double>(now - t0).count();
      if (!first && dt > 0)
        for (auto& [k, v] : now_counters)
          if (auto i = before.find(k); i != before.end())
            rates[k] = std::max(0.0, (v - i->second) / dt);
      before = std::move(now_counters);
      auto topo = json::parse(t.body, nullptr, false);
      out = topo.is_discarded() ? "bad JSON from the node\n" : frame(topo, rates, asked);
    }
    bool failed = out.rfind("Starling", 0) != 0;
    if (o->once) {
      std::fputs(out.c_str(), failed ? stderr : stdout);
      return failed ? 1 : 0;
    }
    std::fputs("\x1b[H\x1b[2J", stdout); // Home, clear: redraw in place.
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    first = false;
    t0 = now;
    std::this_thread::sleep_for(std::chrono::duration<double>(o->interval_s));
  }
}

} // namespace starling::transport
