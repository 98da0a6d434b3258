// The NATS bridge actor: membership by announce, heartbeat and goodbye on
// one subject; channel events on one subject per channel; nats.c callbacks
// turned into messages for the bridge or straight for the local channel.
#include "bridge/nats_bridge.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <variant>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "bridge/bridge_fault.hpp"
#include "bridge/envelope.hpp"
#include "bridge/nats_delivery.hpp"
#include "bridge/shard_ring.hpp"
#include "bridge/subjects.hpp"

#include <caf/io/middleman.hpp>

namespace starling::bridge {

nats_bridge_state::nats_bridge_state() = default;

nats_bridge_state::~nats_bridge_state() = default;

namespace {

// How long a goodbye may take to leave before the connection closes.
constexpr int goodbye_flush_ms = 1000;

using self_ptr = nats_bridge_actor::stateful_pointer<nats_bridge_state>;

// -- membership ---------------------------------------------------------------

cluster_view current_view(const nats_bridge_state& st) {
  cluster_view view;
  view.epoch = st.view.epoch();
  for (auto& m : st.view.members())
    view.members.push_back(cluster_member{m.node_id, m.host, m.port, m.epoch});
  return view;
}

// Returns the published node actor of `m`, connecting on first use
// (blocking: this actor is detached), or an invalid handle.
node_actor remote_node(self_ptr self, const member& m) {
  auto& st = self->state;
  if (auto i = st.remote_nodes.find(m.node_id); i != st.remote_nodes.end())
    return i->second;
  auto node = self->system().middleman().remote_actor<node_actor>(m.host,
                                                                  m.port);
  if (!node) {
    component_logger("bridge")->warn("cannot reach node={} {}:{}: {}",
                                     m.node_id, m.host, m.port,
                                     self->system().render(node.error()));
    return {};
  }
  st.remote_nodes.emplace(m.node_id, *node);
  return *node;
}

// Connects to a node that joined and monitors it: its death (kill -9, a
// lost host) ends the connection at once, long before its heartbeats stop
// counting.
void watch_node(self_ptr self, const member& m) {
  if (m.node_id == self->state.local.node_id)
    return;
  // A join is a new incarnation: never watch its predecessor's actor.
  self->state.remote_nodes.erase(m.node_id);
  if (auto node = remote_node(self, m))
    self->monitor(node);
}

void broadcast_view(self_ptr self, const char* reason);
void log_change(const membership_change& change, uint64_t view_epoch,
                const char* reason);

// A monitored node actor ended: its node died or shut down. It leaves the
// view now (a node that is in fact alive announces itself again).
bool node_connection_lost(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (auto i = st.remote_nodes.begin(); i != st.remote_nodes.end(); ++i) {
    if (i->second.address() != msg.source)
      continue;
    auto node_id = i->first;
    st.remote_nodes.erase(i);
    auto* m = st.view.find(node_id);
    if (!m)
      return true;
    if (membership_clock::now() - st.stalled_at < st.node_timeout) {
      // We were stalled (paused, swapped) and the peer closed the link to
      // us: it is alive. Connect again; its heartbeats decide.
      auto peer = *m;
      component_logger("bridge")->info(
        "connection to node={} closed while this node was stalled: "
        "reconnecting",
        node_id);
      watch_node(self, peer);
      return true;
    }
    auto change = st.view.goodbye(node_id, m->epoch);
    if (!change.empty()) {
      log_change(change, st.view.epoch(), "connection_lost");
      broadcast_view(self, "connection_lost");
    }
    return true;
  }
  return false;
}

void broadcast_view(self_ptr self, const char* reason) {
  auto view = current_view(self->state);
  view.reason = reason;
  // Forget connections to nodes that left (a restarted node publishes anew).
  auto& remotes = self->state.remote_nodes;
  for (auto i = remotes.begin(); i != remotes.end();) {
    auto live = std::any_of(view.members.begin(), view.members.end(),
                            [&](const cluster_member& m) {
                              return m.node_id == i->first;
                            });
    i = live ? std::next(i) : remotes.erase(i);
  }
  for (auto& listener : self->state.listeners)
    self->send(listener, view);
}

void log_change(const membership_change& change, uint64_t view_epoch,
                const char* reason) {
  auto log = component_logger("bridge");
  for (auto& m : change.left)
    log->info("node left node={} epoch={} view_epoch={} reason={}", m.node_id,
              m.epoch, view_epoch, reason);
  for (auto& m : change.joined)
    log->info("node joined node={} host={} port={} epoch={} view_epoch={} "
              "reason={}",
              m.node_id, m.host, m.port, m.epoch, view_epoch, reason);
}

/// Tells the cluster that this node is alive and refreshes it in its own
/// view (no_echo: our announces never come back to refresh it).
void announce(self_ptr self) {
  auto& st = self->state;
  auto& local = st.local;
  auto change = st.view.announce(local.node_id, local.middleman_host,
                                 local.middleman_port, local.start_epoch,
                                 membership_clock::now());
  if (!change.empty()) {
    log_change(change, st.view.epoch(), "joined");
    broadcast_view(self, "joined");
  }
  announce_envelope hello{local.node_id, local.middleman_host,
                          local.middleman_port, local.start_epoch};
  auto error = st.client->publish(members_subject(st.settings.subject_prefix),
                                  encode(envelope{std::move(hello)}));
  if (!error.empty())
    component_logger("bridge")->debug("announce not sent node={} error={}",
                                      local.node_id, error);
}

/// Sends the goodbye once and waits (bounded) until it left.
void say_goodbye(self_ptr self) {
  auto& st = self->state;
  if (st.said_goodbye || !st.client)
    return;
  st.said_goodbye = true;
  goodbye_envelope bye{st.local.node_id, st.local.start_epoch};
  auto error = st.client->publish(members_subject(st.settings.subject_prefix),
                                  encode(envelope{std::move(bye)}));
  if (error.empty())
    error = st.client->flush(goodbye_flush_ms);
  if (!error.empty())
    component_logger("bridge")->warn(
      "goodbye not confirmed node={} error={} (others drop us by timeout)",
      st.local.node_id, error);
}

void expire_silent_nodes(self_ptr self) {
  auto& st = self->state;
  auto now = membership_clock::now();
  auto stalled = st.last_tick != membership_clock::time_point{}
                 && now - st.last_tick > 2 * st.heartbeat;
  st.last_tick = now;
  // Silence we could not have heard proves nothing: while NATS is down,
  // or after this process was stalled (paused, swapped), nobody expires.
  if (!st.nats_connected)
    return;
  if (stalled) {
    component_logger("bridge")->warn(
      "heartbeat late, this node was stalled node={}: peers refreshed",
      st.local.node_id);
    st.view.refresh_all(now);
    st.stalled_at = now;
    return;
  }
  auto removed = st.view.expire(now, st.node_timeout);
  if (removed.empty())
    return;
  membership_change change;
  change.left = std::move(removed);
  log_change(change, st.view.epoch(), "timeout");
  broadcast_view(self, "timeout");
}

// -- channels -----------------------------------------------------------------

caf::result<caf::ok_atom> subscribe(self_ptr self, std::string app_id,
                                    std::string channel,
                                    const channel_actor& local_channel) {
  auto& st = self->state;
  auto key = std::make_pair(app_id, channel);
  auto i = st.channels.find(key);
  if (i == st.channels.end()) {
    auto route = std::make_shared<detail::channel_route>();
    route->app_id = std::move(app_id);
    route->channel = std::move(channel);
    route->target = local_channel.address();
    auto delivery = st.delivery;
    std::string error;
    auto sub = st.client->subscribe(
      event_subject(st.settings.subject_prefix, route->app_id, route->channel),
      [delivery, route](std::string_view, std::string_view data) {
        detail::on_event_message(*delivery, *route, data);
      },
      error);
    if (!sub) {
      component_logger("bridge")->warn("subscribe failed app={} channel={} "
                                       "error={}",
                                       key.first, key.second, error);
      return caf::make_error(caf::sec::runtime_error,
                             "NATS subscribe failed: " + error);
    }
    auto generation = ++st.flush_requested;
    i = st.channels
          .emplace(std::move(key),
                   nats_channel_subscription{std::move(route), std::move(sub),
                                             generation})
          .first;
    st.flusher->request(generation);
  } else {
    // The channel restarted, or said it twice: the last handle wins.
    std::lock_guard<std::mutex> guard{i->second.route->mtx};
    i->second.route->target = local_channel.address();
  }
  if (i->second.generation <= st.flush_done)
    return caf::ok_atom::value;
  auto rp = self->make_response_promise<caf::ok_atom>();
  st.awaiting_flush.emplace_back(i->second.generation, rp);
  return rp;
}

void unsubscribe(self_ptr self, const std::string& app_id,
                 const std::string& channel) {
  auto& st = self->state;
  auto i = st.channels.find({app_id, channel});
  if (i == st.channels.end())
    return;
  {
    std::lock_guard<std::mutex> guard{i->second.route->mtx};
    i->second.route->target = caf::actor_addr{};
  }
  // Destroying the subscription sends UNSUB; a message already on its way
  // finds no target.
  st.channels.erase(i);
}

void confirm_subscribes(self_ptr self, uint64_t generation) {
  auto& st = self->state;
  st.flush_done = std::max(st.flush_done, generation);
  auto& waiting = st.awaiting_flush;
  auto confirmed = std::stable_partition(
    waiting.begin(), waiting.end(),
    [&](const auto& entry) { return entry.first > st.flush_done; });
  for (auto j = confirmed; j != waiting.end(); ++j)
    j->second.deliver(caf::ok_atom::value);
  waiting.erase(confirmed, waiting.end());
}

void publish(self_ptr self, fan_out_event& fo) {
  auto& st = self->state;
  auto& ev = fo.event;
  auto subject = event_subject(st.settings.subject_prefix, fo.app_id,
                               fo.channel);
  event_envelope env;
  env.origin_node = st.local.node_id;
  env.app_id = std::move(fo.app_id);
  env.channel = std::move(fo.channel);
  env.seq = ev.seq;
  env.kind = static_cast<uint8_t>(ev.kind);
  env.event = std::move(ev.event);
  env.data = std::move(ev.data);
  env.user_id = std::move(ev.user_id);
  env.count = ev.count;
  env.exclude_socket_id = std::move(ev.exclude);
  env.published_ns = ev.published_ns;
  // Buffered by nats.c while reconnecting; refused only when closed or the
  // buffer is full. Either way the event is lost for other nodes only.
  auto error = st.client->publish(subject, encode(envelope{std::move(env)}));
  if (error.empty()) {
    ++st.published;
  } else {
    if (st.publish_failures++ == 0)
      component_logger("bridge")->warn("publish failed subject={} error={} "
                                       "(further failures only counted)",
                                       subject, error);
  }
}

bridge_stats current_stats(const nats_bridge_state& st) {
  bridge_stats stats;
  stats.subscriptions = st.channels.size();
  stats.published = st.published;
  stats.publish_failures = st.publish_failures;
  stats.delivered = st.delivery->delivered.load();
  stats.echoes = st.delivery->echoes.load();
  stats.bad_payloads = st.delivery->bad_payloads.load();
  stats.disconnects = st.disconnects;
  stats.reconnects = st.reconnects;
  return stats;
}


// Connects and subscribes to the membership subject. Returns what went
// wrong, or an empty string.
std::string connect(self_ptr self) {
  auto& st = self->state;
  nats_client_options options;
  // Our own events and announces never come back (style.md, cluster bridge).
  options.no_echo = true;
  auto weak = self->address();
  // Called on a nats.c thread: only anon_send from here.
  options.on_disconnected = [weak] { detail::tell(weak, nats_down_atom::value); };
  options.on_reconnected = [weak] { detail::tell(weak, nats_up_atom::value); };
  std::string error;
  st.client = nats_client::connect(st.settings, std::move(options), error);
  if (!st.client)
    return error;
  auto delivery = st.delivery;
  st.members_subscription = st.client->subscribe(
    members_subject(st.settings.subject_prefix),
    [delivery](std::string_view, std::string_view data) {
      detail::on_members_message(*delivery, data);
    },
    error);
  if (!st.members_subscription)
    return error.empty() ? std::string{"cannot subscribe"} : error;
  st.flusher = std::make_unique<detail::nats_flusher>(*st.client, weak);
  return {};
}

void install_handlers(self_ptr self) {
  self->set_down_handler([self](caf::down_msg& msg) {
    if (node_connection_lost(self, msg))
      return;
    auto& ls = self->state.listeners;
    ls.erase(std::remove_if(ls.begin(), ls.end(),
                            [&](const node_actor& listener) {
                              return listener.address() == msg.source;
                            }),
             ls.end());
  });
  // A crash is silent like a kill, no goodbye: the state's destructor
  // closes the connection, and peers replace this node when its restarted
  // bridge announces the next start epoch (or drop it after the timeout).
  self->set_exception_handler([self](std::exception_ptr& ep) {
    return bridge_exception(self->state.local.node_id, ep);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Like CAF's default handler: a linked actor ending normally is no
    // reason to stop. exit_reason::kill never gets here: no goodbye.
    if (!msg.reason)
      return;
    say_goodbye(self);
    self->quit(std::move(msg.reason));
  });
}

// The node actor of the node the ring names for `channel` (over the live
// members, without this node when `without_self`), or an invalid handle
// for this node or none.
caf::result<node_actor> ring_node(self_ptr self, const std::string& app_id,
                                  const std::string& channel,
                                  bool without_self) {
  auto& st = self->state;
  auto members = st.view.members();
  std::vector<std::string> ids;
  for (auto& m : members)
    if (!without_self || m.node_id != st.local.node_id)
      ids.push_back(m.node_id);
  auto owner = owner_of(ids, app_id, channel);
  if (!owner || *owner == st.local.node_id)
    return node_actor{};
  for (auto& m : members)
    if (m.node_id == *owner) {
      if (auto node = remote_node(self, m))
        return node;
      return caf::make_error(caf::sec::runtime_error,
                             "cannot reach node " + *owner);
    }
  return caf::make_error(caf::sec::runtime_error, "owner node left");
}

} // namespace

nats_bridge_actor::behavior_type
nats_bridge_behavior(nats_bridge_actor::stateful_pointer<nats_bridge_state> self,
                     config::nats_settings settings, cluster_member local,
                     caf::timespan heartbeat, caf::timespan node_timeout) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.local = std::move(local);
  st.heartbeat = heartbeat;
  st.node_timeout = node_timeout;
  st.delivery = std::make_shared<detail::nats_delivery>();
  st.delivery->node_id = st.local.node_id;
  st.delivery->bridge = self->address();
  auto log = component_logger("bridge");
  if (auto error = connect(self); !error.empty()) {
    log->error("cannot join the cluster over NATS node={} error={}",
               st.local.node_id, error);
    self->quit(caf::make_error(caf::sec::runtime_error,
                               "cannot join the cluster over NATS: " + error));
    // Ending at once: no handler ever runs.
    using behavior = nats_bridge_actor::behavior_type;
    return behavior{behavior::unsafe_init{}, caf::behavior{}};
  }
  log->info("bridge up node={} prefix={}", st.local.node_id,
            st.settings.subject_prefix);
  // The first announce puts this node in its own view (epoch 1).
  announce(self);
  self->delayed_send(self, st.heartbeat, caf::tick_atom::value);
  install_handlers(self);
  return {
    [=](caf::subscribe_atom, std::string& app_id, std::string& channel,
        const channel_actor& local_channel) {
      return subscribe(self, std::move(app_id), std::move(channel),
                       local_channel);
    },
    [=](caf::unsubscribe_atom, const std::string& app_id,
        const std::string& channel) {
      unsubscribe(self, app_id, channel);
      return caf::ok_atom::value;
    },
    [=](fan_out_event& fo) { publish(self, fo); },
    [=](caf::join_atom, const node_actor& listener) {
      auto& ls = self->state.listeners;
      if (listener && std::find(ls.begin(), ls.end(), listener) == ls.end()) {
        ls.push_back(listener);
        self->monitor(listener);
      }
      if (listener)
        self->send(listener, current_view(self->state));
      return caf::ok_atom::value;
    },
    [=](caf::get_atom) { return current_view(self->state); },
    [=](peers_atom) {
      auto& st = self->state;
      std::vector<node_actor> peers;
      for (auto& m : st.view.members()) {
        if (m.node_id == st.local.node_id)
          continue;
        if (auto node = remote_node(self, m))
          peers.push_back(std::move(node));
      }
      return peers;
    },
    [=](const owner_node_request& req) {
      auto& st = self->state;
      return ring_node(self, req.app_id, req.channel, st.leaving);
    },
    [=](const standby_node_request& req) {
      return ring_node(self, req.app_id, req.channel, true);
    },
    [=](stats_atom) { return current_stats(self->state); },
    [=](caf::tick_atom) {
      announce(self);
      expire_silent_nodes(self);
      self->delayed_send(self, self->state.heartbeat, caf::tick_atom::value);
    },
    [=](announce_atom, const std::string& node_id, const std::string& host,
        uint16_t port, uint64_t epoch) {
      auto& st = self->state;
      if (node_id == st.local.node_id) {
        // Not an echo (no_echo): a second process with our node id.
        component_logger("bridge")->warn(
          "another process announces this node's id node={} host={} port={} "
          "epoch={}: node ids must be unique",
          node_id, host, port, epoch);
        return;
      }
      auto change = st.view.announce(node_id, host, port, epoch,
                                     membership_clock::now());
      if (change.empty())
        return;
      const char* reason = change.left.empty() ? "joined" : "restarted";
      log_change(change, st.view.epoch(), reason);
      // A newcomer's death is seen at once through its connection.
      for (auto& m : change.joined)
        watch_node(self, m);
      broadcast_view(self, reason);
      // A newcomer learns of us now instead of at our next heartbeat.
      if (!change.joined.empty())
        announce(self);
    },
    [=](goodbye_atom, const std::string& node_id, uint64_t epoch) {
      auto& st = self->state;
      if (node_id == st.local.node_id)
        return;
      auto change = st.view.goodbye(node_id, epoch);
      if (change.empty())
        return;
      log_change(change, st.view.epoch(), "goodbye");
      broadcast_view(self, "goodbye");
    },
    [=](flushed_atom, uint64_t generation) {
      confirm_subscribes(self, generation);
    },
    [=](nats_down_atom) {
      ++self->state.disconnects;
      self->state.nats_connected = false;
      // Local delivery goes on; other nodes drop us after the node timeout
      // unless we are back before it.
      component_logger("bridge")->warn("NATS connection lost node={}",
                                       self->state.local.node_id);
    },
    [=](nats_up_atom) {
      ++self->state.reconnects;
      component_logger("bridge")->info("NATS connection back node={}",
                                       self->state.local.node_id);
      // nats.c already sent our SUBs again; tell the others at once.
      auto& st = self->state;
      st.nats_connected = true;
      st.view.refresh_all(membership_clock::now());
      announce(self);
      // The same view again: every channel checks its owner and asks for
      // what the bus lost meanwhile.
      broadcast_view(self, "bus_back");
    },
    [=](caf::leave_atom) {
      // This node hands its channels over before its goodbye: from now on
      // the ring it computes leaves it out.
      self->state.leaving = true;
      return caf::ok_atom::value;
    },
    [=](caf::close_atom) {
      say_goodbye(self);
      self->quit();
      return caf::ok_atom::value;
    },
    [=](crash_atom) -> caf::result<void> {
      // Fault injection (admin /faults/crash, kind=bridge): the node
      // restarts the bridge.
      throw std::runtime_error("injected fault in bridge of node "
                               + self->state.local.node_id);
    },
  };
}

} // namespace starling::bridge
