// Composition root as a library function (run_node.hpp): load the config
// once, make the loggers, start the actor system, the node and the
// transport; on SIGINT/SIGTERM drain and stop. main.cpp and custom binaries
// (examples/) only differ in the logic registry they pass.
#include "run_node.hpp"

#include <string_view>

#include <csignal>
#include <cstdio>
#include <random>
#include <string>

#include <caf/all.hpp>
#include <boost/version.hpp>
#include <caf/config.hpp>
#include <nats/nats.h>
#include <openssl/crypto.h>
#include <spdlog/version.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <caf/io/all.hpp>
#ifdef __SANITIZE_ADDRESS__
#include <caf/io/basp_broker.hpp>
#include <sanitizer/lsan_interface.h>
#endif

#include "actors/admin.hpp"
#include "actors/app_directory.hpp"
#include "actors/logic.hpp"
#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "bridge/local_bridge.hpp"
#include "bridge/nats_bridge.hpp"
#include "config/load.hpp"
#include "config/environment.hpp"
#include "config/reload.hpp"
#include "transport/admin_top.hpp"
#include "transport/sd_notify.hpp"
#include "transport/server.hpp"

namespace {

#ifndef STARLING_VERSION
#  define STARLING_VERSION "unknown"
#endif

// --version: the project version from CMake plus the libraries' own
// versions, so a bug report says what the binary was built and runs with.
std::string version_text() {
  auto dotted = [](int v, int major_div, int minor_div, int minor_mod) {
    return std::to_string(v / major_div) + "."
           + std::to_string(v / minor_div % minor_mod) + "."
           + std::to_string(v % minor_div);
  };
  return std::string{"starling "} + STARLING_VERSION + "\n"
         + "CAF " + dotted(CAF_VERSION, 10000, 100, 100) + ", nats.c "
         + nats_GetVersion() + ", Boost "
         + dotted(BOOST_VERSION, 100000, 100, 1000) + ", "
         + OpenSSL_version(OPENSSL_VERSION) + ", spdlog "
         + std::to_string(SPDLOG_VER_MAJOR) + "."
         + std::to_string(SPDLOG_VER_MINOR) + "."
         + std::to_string(SPDLOG_VER_PATCH) + "\n";
}


void make_loggers(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  for (auto name : {"main", "node", "app", "connection", "channel", "owner",
                    "transport", "bridge", "logic", "webhooks", "admin"})
    spdlog::stderr_color_mt(name)->set_level(spdlog::get_level());
}

std::string random_node_id(std::mt19937_64& rng) {
  static const char* hex = "0123456789abcdef";
  std::string id = "node-";
  for (int i = 0; i < 8; ++i)
    id += hex[rng() % 16];
  return id;
}

} // namespace

namespace starling {

int run_node(int argc, char** argv, const logic_registry& logic) {
  // `starling top ...`: the terminal view of a running cluster, no node.
  if (argc > 1 && std::string_view{argv[1]} == "top")
    return transport::run_top(argc - 1, argv + 1);
  // Until the server's handler is in place a SIGHUP (reload) must not end
  // the process, which is its default action.
  std::signal(SIGHUP, SIG_IGN);
  // Validation names the registered logic actors, so a typo in
  // apps[].logic[].actor is a config error, not a silent no-op.
  auto outcome = config::load(argc, argv, config::starling_environment(),
                              logic.names());
  using kind = config::load_outcome::kind;
  if (outcome.what == kind::help || outcome.what == kind::version) {
    auto text = outcome.what == kind::help ? outcome.help_text
                                           : version_text();
    std::fputs(text.c_str(), stdout);
    return exit_ok;
  }
  if (outcome.what == kind::error) {
    std::fprintf(stderr, "starling: config error: %s: %s\n",
                 outcome.error.field.c_str(), outcome.error.problem.c_str());
    return exit_bad_config;
  }
  for (const auto& warning : outcome.warnings)
    std::fprintf(stderr, "starling: warning: %s\n", warning.c_str());
  if (outcome.what == kind::check_config) {
    std::fputs(config::effective_json(outcome.value).c_str(), stdout);
    return exit_ok;
  }
  auto settings = std::move(outcome.value);
  make_loggers(settings.logging.level);
  auto log = spdlog::get("main");
  if (settings.default_app)
    log->warn("no app configured: serving the default app id=app-id "
              "key=app-key secret=app-secret (not for production)");
  std::random_device seed;
  std::mt19937_64 rng{(static_cast<uint64_t>(seed()) << 32) ^ seed()};
  // Destroyed last: nats.c is torn down once the actor system (and with it
  // the NATS bridge's client) is gone.
  bridge::nats_library nats_library;
  // The server (and its I/O context) must outlive the actor system and
  // node_init, whose HTTP poster keeps idle webhook sockets on that context.
  transport::server server{settings};
  node_init init;
  init.apps = settings.apps;
  init.logic = std::make_shared<const logic_registry>(logic);
  init.node_id = settings.cluster.node_id.empty() ? random_node_id(rng)
                                                  : settings.cluster.node_id;
  init.activity_timeout_s = settings.server.activity_timeout_s;
  init.poster = server.make_http_poster();
  init.fanout = server.make_fanout_sink();
  auto apps = std::make_shared<app_directory>();
  init.apps_out = apps;
  bool clustered = settings.cluster.bridge == "nats";
  init.shared_bus = clustered;
  // The only place that knows which bridge runs.
  init.make_bridge = [&settings, clustered](caf::local_actor* node,
                                            const cluster_member& me)
    -> cluster_actor {
    using namespace std::chrono;
    // Detached: nats.c connects block, and must not stall the scheduler
    // that serves local clients while NATS is away.
    if (clustered)
      return node->spawn<caf::linked + caf::detached>(
        bridge::nats_bridge_behavior, settings.nats, me,
        caf::timespan{milliseconds(settings.cluster.heartbeat_ms)},
        caf::timespan{milliseconds(settings.cluster.node_timeout_ms)});
    return node->spawn<caf::linked>(bridge::local_bridge_behavior, me);
  };
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", static_cast<size_t>(settings.worker_threads));
  if (clustered) {
    // Owner calls cross nodes over CAF remote actors; heartbeats detect a
    // hung peer (stack notes: off by default).
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.heartbeat-interval",
            caf::timespan{std::chrono::milliseconds(settings.cluster.heartbeat_ms)});
    cfg.set("middleman.connection-timeout",
            caf::timespan{std::chrono::milliseconds(settings.cluster.node_timeout_ms)});
  }
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  // An idle CAF worker spins briefly, then by default polls 500 more times
  // with a 50 us sleep between polls before it waits on its condition
  // variable. Paced traffic (an event every few ms) keeps it in that
  // polling for good: thousands of wakeups a second per worker, 2.3 us of
  // server CPU per delivery at 1,000 subscribers x 50 publishes/s (9.9 ->
  // 7.7 us; floor: 7.2 us per write()). Latency, burst fan-out and HTTP
  // publishes measured the same without it (tests/bench/README.md).
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  auto node = sys.spawn(node_behavior, init);
  // The node registers and starts its apps when it first runs, on a
  // scheduler thread: listening before that would refuse the first clients
  // with 4001 (unknown app), which pusher-js takes as final. Any answer of
  // the node means it ran.
  {
    caf::scoped_actor waiter{sys};
    waiter->request(node, std::chrono::seconds(10), stats_atom::value)
      .receive([](node_stats&) {},
               [&](caf::error& err) {
                 log->warn("node did not answer at start: {}",
                           sys.render(err));
               });
  }
  auto admin = sys.spawn(admin_behavior, node, apps);
  auto stop = [&] {
    server.stop_actors();
    caf::anon_send_exit(admin, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  };
  if (auto err = server.listen(sys, apps, admin); !err.empty()) {
    log->critical("{}", err);
    stop();
    return exit_failure;
  }
  cluster_member me;
  me.node_id = init.node_id;
  // Peers dial the advertised host; the bind address may be 0.0.0.0.
  me.middleman_host = settings.cluster.middleman_advertise_host.empty()
                        ? settings.cluster.middleman_host
                        : settings.cluster.middleman_advertise_host;
  me.start_epoch = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  if (clustered) {
    auto port = sys.middleman().publish(node, settings.cluster.middleman_port,
                                        settings.cluster.middleman_host.c_str(),
                                        true);
    if (!port) {
      log->critical("cannot publish the node actor on {}:{}: {}",
                    settings.cluster.middleman_host,
                    settings.cluster.middleman_port, sys.render(port.error()));
      stop();
      return exit_failure;
    }
    me.middleman_port = *port;
#ifdef __SANITIZE_ADDRESS__
    // CAF 0.17.6's BASP broker can end the process in a reference cycle
    // with its proxies and the messages they hold (seen after peers crashed
    // or left: the broker, actors basp::instance::handle spawned, and what
    // queued messages reference, all "indirect" leaks at exit). Whatever
    // only it keeps at exit is not a leak of ours; a leak that grows while
    // the node runs shows in the RSS bounds of the soak and limit tests.
    __lsan_ignore_object(caf::actor_cast<caf::abstract_actor*>(
      sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"))));
#endif
  }
  caf::anon_send(node, join_cluster{me});
  std::printf("STARLING_READY port=%u admin_port=%u tls_port=%u\n",
              static_cast<unsigned>(server.port()),
              static_cast<unsigned>(server.admin_port()),
              static_cast<unsigned>(server.tls_port()));
  std::fflush(stdout);
  log->info("listening node={} ws=ws://{}:{}/app/<key> admin={}://{}:{}",
            init.node_id, settings.server.host, server.port(),
            settings.admin.tls.enabled ? "https" : "http",
            settings.admin.host, server.admin_port());
  if (server.tls_port() != 0)
    log->info("listening wss=wss://{}:{}/app/<key>", settings.server.host,
              server.tls_port());
  // Type=notify units start their dependents only now.
  auto notify = [&log](const std::string& state) {
    if (auto problem = transport::sd_notify(state); !problem.empty())
      log->warn("cannot notify the service manager: {}", problem);
  };
  notify("READY=1\nSTATUS=serving node " + init.node_id + " on port "
         + std::to_string(server.port()));
  config::reloader reload{argc, argv, logic.names(), settings};
  server.on_reload([&] {
    notify("RELOADING=1");
    auto summary = reload();
    notify("READY=1\nSTATUS=" + summary);
  });
  server.on_stopping([&] { notify("STOPPING=1\nSTATUS=draining"); });
  server.run([&](std::function<void()> done) {
    // Sockets are closed: let webhook actors send what they hold.
    sys.spawn([node, done](caf::event_based_actor* self) {
      self->request(node, std::chrono::seconds(4), drain_atom::value)
        .then([self, done](caf::ok_atom) { done(); self->quit(); },
              [self, done](caf::error&) { done(); self->quit(); });
    });
  });
  stop();
  log->info("stopped");
  return exit_ok;
}

} // namespace starling
