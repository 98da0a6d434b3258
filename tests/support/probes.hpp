// Shared fakes for the actor suites: dynamically typed stateful actors that
// stand in for a connection, a channel, an owner, an app, an owner
// directory, a node, a bridge and a webhook actor. Each records what it gets
// and answers only what the suites need; a test turns one into a typed handle
// with caf::actor_cast<some_actor>(probe) (unchecked). Messages a test sends
// to a probe from `self` are commands (e.g. a channel_join sent to a fake
// connection makes it join its target).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/http_poster.hpp"
#include "actors/messages.hpp"

namespace starling::test {

// -- connection ---------------------------------------------------------------

/// What a fake connection saw.
struct fake_connection_state {
  static inline const char* name = "fake_connection";
  caf::actor target;                   ///< Where joins go (app or channel).
  std::vector<channel_joined> joined;  ///< Join answers.
  std::vector<caf::error> errors;      ///< Join failures.
  std::vector<watch_event> watch_events; ///< From watchlist channels.
  std::vector<channel_crashed> crashes; ///< Crash words of joined channels.
  std::size_t terminates = 0;          ///< terminate_atom received.
};

/// Stands in for a connection. Commands: `channel_join` (join through the
/// target), `unsubscribe_atom` and `client_event` (to the last joined
/// channel).
inline caf::behavior
fake_connection(caf::stateful_actor<fake_connection_state>* self,
                caf::actor target) {
  self->state.target = std::move(target);
  return {
    [self](channel_join& join) {
      self->request(self->state.target, caf::infinite, std::move(join))
        .then(
          [self](channel_joined& joined) {
            self->state.joined.push_back(std::move(joined));
          },
          [self](caf::error& err) {
            self->state.errors.push_back(std::move(err));
          });
    },
    [self](caf::unsubscribe_atom x) {
      if (!self->state.joined.empty())
        self->send(self->state.joined.back().channel, x);
    },
    [self](client_event& ev) {
      if (!self->state.joined.empty())
        self->send(self->state.joined.back().channel, std::move(ev));
    },
    [self](watch_event& ev) {
      self->state.watch_events.push_back(std::move(ev));
    },
    [self](terminate_atom) { ++self->state.terminates; },
    [self](channel_crashed& c) { self->state.crashes.push_back(std::move(c)); },
  };
}

// -- channel ------------------------------------------------------------------

/// What a fake channel saw.
struct fake_channel_state {
  static inline const char* name = "fake_channel";
  caf::actor owner;                    ///< Where owner calls go, if any.
  std::vector<owner_joined> joined;    ///< Answers to owner_join.
  std::vector<owner_synced> synced;    ///< Answers to owner_sync.
  std::vector<caf::error> errors;      ///< Failed owner calls.
  std::vector<channel_event> events;   ///< Delivered events, in order.
  std::vector<client_event> client_events; ///< Client events received.
  std::vector<logic_answer> answers;   ///< logic_answer received.
  std::size_t unsubscribes = 0;        ///< unsubscribe_atom received.
  std::size_t resolves = 0;            ///< resolve_atom received.
};

/// Stands in for a node's local channel. Commands: `owner_join`,
/// `owner_sync` (requests to the owner), `owner_leave`, `node_moved`
/// (sent to the owner). Client events are recorded and, with an owner,
/// passed on to it.
inline caf::behavior fake_channel(caf::stateful_actor<fake_channel_state>* self,
                                  caf::actor owner) {
  self->state.owner = std::move(owner);
  return {
    [self](owner_join& join) {
      self->request(self->state.owner, caf::infinite, std::move(join))
        .then(
          [self](owner_joined& reply) {
            self->state.joined.push_back(std::move(reply));
          },
          [self](caf::error& err) {
            self->state.errors.push_back(std::move(err));
          });
    },
    [self](owner_sync& sync) {
      self->request(self->state.owner, caf::infinite, std::move(sync))
        .then(
          [self](owner_synced& reply) {
            self->state.synced.push_back(std::move(reply));
          },
          [self](caf::error& err) {
            self->state.errors.push_back(std::move(err));
          });
    },
    [self](owner_leave& leave) {
      self->send(self->state.owner, std::move(leave));
    },
    [self](node_moved& moved) {
      self->send(self->state.owner, std::move(moved));
    },
    [self](client_event& ev) {
      self->state.client_events.push_back(ev);
      if (self->state.owner)
        self->send(self->state.owner, std::move(ev));
    },
    [self](channel_event& ev) { self->state.events.push_back(std::move(ev)); },
    [self](logic_answer& a) { self->state.answers.push_back(std::move(a)); },
    [self](caf::unsubscribe_atom) { ++self->state.unsubscribes; },
    [self](resolve_atom) { ++self->state.resolves; },
  };
}

// -- owner --------------------------------------------------------------------

/// What a fake owner saw and how it answers.
struct fake_owner_state {
  static inline const char* name = "fake_owner";
  owner_joined reply;                  ///< Answer to every owner_join.
  bool hold = false;                   ///< Hold joins until `ok_atom`.
  std::deque<caf::response_promise> held; ///< Held joins.
  std::vector<owner_join> joins;
  std::vector<owner_leave> leaves;
  std::vector<owner_sync> syncs;
  std::vector<client_event> client_events;
  std::vector<node_moved> moved;
  std::vector<publish_event> published;
  replay_events replay;             ///< Answer to every replay_request.
  std::vector<uint64_t> replay_asks; ///< `after` of each replay_request.
  uint32_t replay_silent = 0; ///< Replays left unanswered (the asker times out).
  std::vector<caf::response_promise> unanswered; ///< Those replays.
};

/// Stands in for a channel owner. Command: `ok_atom` answers the oldest held
/// join with `reply`.
inline caf::behavior fake_owner(caf::stateful_actor<fake_owner_state>* self) {
  return {
    [self](owner_join& join) -> caf::result<owner_joined> {
      auto& st = self->state;
      st.joins.push_back(std::move(join));
      if (st.hold) {
        st.held.push_back(self->make_response_promise());
        return caf::delegated<owner_joined>{};
      }
      return st.reply;
    },
    [self](owner_leave& leave) {
      self->state.leaves.push_back(std::move(leave));
    },
    [self](owner_sync& sync) {
      self->state.syncs.push_back(std::move(sync));
      return owner_synced{self->state.reply.owner_node, self->state.reply.seq};
    },
    [self](client_event& ev) {
      self->state.client_events.push_back(std::move(ev));
    },
    [self](node_moved& moved) {
      self->state.moved.push_back(std::move(moved));
    },
    [self](publish_event& pe) {
      self->state.published.push_back(std::move(pe));
      return publish_ack{0};
    },
    [self](replay_request& rr) -> caf::result<replay_events> {
      auto& st = self->state;
      st.replay_asks.push_back(rr.after);
      if (st.replay_silent > 0) {
        --st.replay_silent;
        st.unanswered.push_back(self->make_response_promise());
        return caf::delegated<replay_events>{};
      }
      return st.replay;
    },
    [self](caf::ok_atom) {
      auto& st = self->state;
      if (st.held.empty())
        return;
      st.held.front().deliver(st.reply);
      st.held.pop_front();
    },
  };
}

// -- app ----------------------------------------------------------------------

/// How a fake app answers a channel_join.
enum class join_answer { ok, refuse, fail, hold };

/// What a fake app saw and how it answers.
struct fake_app_state {
  static inline const char* name = "fake_app";
  join_answer answer = join_answer::ok; ///< Answer to every channel_join.
  caf::actor channel;                   ///< Channel of the answers.
  std::map<std::string, caf::actor> channels; ///< Per-name channels.
  std::map<std::string, uint64_t> members;    ///< Per-name roster sizes.
  std::vector<channel_join> joins;
  std::deque<std::pair<std::string, caf::response_promise>> held;
  std::vector<user_signed_in> sign_ins;
  std::vector<channel_idle> idle;
  std::vector<channel_crashed> crashed;
  std::vector<publish_request> published;
};

/// Returns the answer of a fake app to a join of `name`.
inline channel_joined fake_app_answer(const fake_app_state& st,
                                      const std::string& name) {
  auto i = st.channels.find(name);
  auto ch = i != st.channels.end() ? i->second : st.channel;
  auto m = st.members.find(name);
  return channel_joined{caf::actor_cast<channel_actor>(ch),
                        m != st.members.end() ? m->second : 0};
}

/// Stands in for an app. Command: `ok_atom` answers the oldest held join.
inline caf::behavior fake_app(caf::stateful_actor<fake_app_state>* self,
                              caf::actor channel) {
  self->state.channel = std::move(channel);
  return {
    [self](channel_join& join) -> caf::result<channel_joined> {
      auto& st = self->state;
      st.joins.push_back(join);
      switch (st.answer) {
        case join_answer::ok:
          return fake_app_answer(st, join.channel);
        case join_answer::refuse:
          return caf::make_error(errc::subscription_refused);
        case join_answer::fail:
          return caf::make_error(caf::sec::request_receiver_down);
        case join_answer::hold:
          break;
      }
      st.held.emplace_back(join.channel, self->make_response_promise());
      return caf::delegated<channel_joined>{};
    },
    [self](caf::ok_atom) {
      auto& st = self->state;
      if (st.held.empty())
        return;
      st.held.front().second.deliver(
        fake_app_answer(st, st.held.front().first));
      st.held.pop_front();
    },
    [self](user_signed_in& msg) {
      self->state.sign_ins.push_back(std::move(msg));
      return caf::ok_atom::value;
    },
    [self](channel_idle& idle) { self->state.idle.push_back(std::move(idle)); },
    [self](channel_crashed& c) { self->state.crashed.push_back(std::move(c)); },
    [self](publish_request& req) {
      self->state.published.push_back(std::move(req));
      return caf::ok_atom::value;
    },
  };
}

// -- owner directory ----------------------------------------------------------

/// What a fake owner directory saw and how it answers.
struct fake_directory_state {
  static inline const char* name = "fake_directory";
  caf::actor owner;                 ///< Answer to resolve_owner; null: error.
  bool hold = false;                ///< Hold lookups until `ok_atom`.
  std::deque<caf::response_promise> held;
  std::vector<resolve_owner> resolves;
  std::vector<std::string> gone;    ///< channel_gone names.
  std::vector<owner_handed_off> handed_off;
  std::vector<publish_request> published;
  std::vector<occupancy_kept> occupancy; ///< Owners' occupancy reports.
};

/// Stands in for an app's owner directory. Command: `ok_atom` answers the
/// oldest held lookup with the current `owner`.
inline caf::behavior
fake_directory(caf::stateful_actor<fake_directory_state>* self,
               caf::actor owner) {
  self->state.owner = std::move(owner);
  return {
    [self](resolve_owner& req) -> caf::result<owner_actor> {
      auto& st = self->state;
      st.resolves.push_back(std::move(req));
      if (st.hold) {
        st.held.push_back(self->make_response_promise());
        return caf::delegated<owner_actor>{};
      }
      if (!st.owner)
        return caf::make_error(caf::sec::runtime_error, "no owner");
      return caf::actor_cast<owner_actor>(st.owner);
    },
    [self](caf::ok_atom) {
      auto& st = self->state;
      if (st.held.empty())
        return;
      st.held.front().deliver(caf::actor_cast<owner_actor>(st.owner));
      st.held.pop_front();
    },
    [self](channel_gone& g) { self->state.gone.push_back(g.channel); },
    [self](owner_handed_off& h) {
      self->state.handed_off.push_back(std::move(h));
    },
    [self](publish_request& req) {
      self->state.published.push_back(std::move(req));
      return caf::ok_atom::value;
    },
    [self](occupancy_kept& k) {
      self->state.occupancy.push_back(std::move(k));
    },
  };
}

// -- node ---------------------------------------------------------------------

/// What a fake node saw.
struct fake_node_state {
  static inline const char* name = "fake_node";
  caf::actor target;                ///< Where peer calls are delegated.
  std::vector<cluster_view> views;  ///< Views from a bridge.
  std::vector<terminate_request> terminates;
  std::vector<channels_request> channel_queries;
  node_stats stats;                 ///< Answer to stats_atom.
};

/// Stands in for a (peer) node: `owner_handoff`, `local_owner_request` and
/// `channels_request` go to `target` (an owner directory, app or owner);
/// views, terminate requests and stats are recorded or answered here.
inline caf::behavior fake_node(caf::stateful_actor<fake_node_state>* self,
                               caf::actor target) {
  self->state.target = std::move(target);
  return {
    [self](owner_handoff& h) {
      return self->delegate(self->state.target, std::move(h));
    },
    [self](local_owner_request& req) {
      return self->delegate(self->state.target, std::move(req));
    },
    [self](channels_request& req) -> caf::result<caf::message> {
      self->state.channel_queries.push_back(req);
      if (!self->state.target)
        return caf::make_message(std::vector<channel_report>{});
      return self->delegate(self->state.target, std::move(req));
    },
    [self](terminate_request& req) {
      self->state.terminates.push_back(std::move(req));
      return caf::ok_atom::value;
    },
    [self](cluster_view& view) {
      self->state.views.push_back(std::move(view));
    },
    [self](stats_atom) { return self->state.stats; },
  };
}

// -- bridge -------------------------------------------------------------------

/// What a fake bridge saw and how it answers.
struct fake_bridge_state {
  static inline const char* name = "fake_bridge";
  cluster_view view;                ///< Answer to get_atom and join_atom.
  caf::actor owner_node;            ///< Default owner node; null: this node.
  std::map<std::string, caf::actor> owner_nodes; ///< Per-channel owner nodes.
  std::vector<caf::actor> peers;    ///< Answer to peers_atom.
  std::vector<std::string> calls;   ///< "subscribe:<ch>", "owner:<ch>", ...
  std::vector<std::pair<std::string, std::string>> subscriptions;
  std::vector<fan_out_event> fan_outs;
  std::vector<caf::actor> listeners;
  bool left = false;                ///< leave_atom received.
  /// Outlives the bridge: "leave" and "close" as they arrive (tests read it
  /// after the bridge ended, when the state is gone).
  std::shared_ptr<std::vector<std::string>> journal
    = std::make_shared<std::vector<std::string>>();
};

/// Stands in for a cluster bridge of node `me`: the view is `[me]` at epoch
/// 1 unless a test sets another; `crash_atom` throws, as the real ones do.
inline caf::behavior fake_bridge(caf::stateful_actor<fake_bridge_state>* self,
                                 cluster_member me) {
  self->state.view = cluster_view{{std::move(me)}, 1, "start"};
  self->set_exception_handler([](std::exception_ptr&) -> caf::error {
    return caf::make_error(caf::sec::runtime_error, "fake bridge crashed");
  });
  return {
    [self](caf::subscribe_atom, std::string& app, std::string& channel,
           const channel_actor&) {
      self->state.calls.push_back("subscribe:" + channel);
      self->state.subscriptions.emplace_back(std::move(app),
                                             std::move(channel));
      return caf::ok_atom::value;
    },
    [self](caf::unsubscribe_atom, std::string&, std::string& channel) {
      self->state.calls.push_back("unsubscribe:" + channel);
      auto& subs = self->state.subscriptions;
      for (auto i = subs.begin(); i != subs.end();)
        i = i->second == channel ? subs.erase(i) : std::next(i);
      return caf::ok_atom::value;
    },
    [self](fan_out_event& ev) {
      self->state.fan_outs.push_back(std::move(ev));
    },
    [self](caf::join_atom, const node_actor& listener) {
      self->state.listeners.push_back(caf::actor_cast<caf::actor>(listener));
      self->send(listener, self->state.view);
      return caf::ok_atom::value;
    },
    [self](caf::get_atom) { return self->state.view; },
    [self](caf::leave_atom) {
      self->state.left = true;
      self->state.journal->push_back("leave");
      return caf::ok_atom::value;
    },
    [self](owner_node_request& req) {
      auto& st = self->state;
      st.calls.push_back("owner:" + req.channel);
      auto i = st.owner_nodes.find(req.channel);
      auto node = i != st.owner_nodes.end() ? i->second : st.owner_node;
      return caf::actor_cast<node_actor>(node);
    },
    [self](peers_atom) {
      std::vector<node_actor> result;
      for (auto& p : self->state.peers)
        result.push_back(caf::actor_cast<node_actor>(p));
      return result;
    },
    [self](stats_atom) {
      bridge_stats stats;
      stats.subscriptions = self->state.subscriptions.size();
      return stats;
    },
    [self](caf::close_atom) {
      self->state.journal->push_back("close");
      self->quit();
      return caf::ok_atom::value;
    },
    [](crash_atom) {
      throw std::runtime_error("injected fault in fake bridge");
    },
  };
}

// -- webhooks -----------------------------------------------------------------

/// What a fake webhook actor saw.
struct fake_webhooks_state {
  static inline const char* name = "fake_webhooks";
  std::vector<webhook_event> events;
};

/// Stands in for an app's webhook actor: records the events owners report.
inline caf::behavior
fake_webhooks(caf::stateful_actor<fake_webhooks_state>* self) {
  return {
    [self](webhook_event& ev) { self->state.events.push_back(std::move(ev)); },
    [](drain_atom) { return caf::ok_atom::value; },
    [](stats_atom) { return webhook_stats{}; },
  };
}

// -- HTTP ---------------------------------------------------------------------

/// An http_poster that records requests and never answers (webhook actors
/// under test keep them in flight).
class fake_http_poster : public http_poster {
public:
  /// One post() call.
  struct request {
    std::string url;
    std::string body;
  };

  void post(const std::string& url, http_headers, std::string body,
            std::function<void(int)>) override {
    requests.push_back(request{url, std::move(body)});
  }

  std::vector<request> requests; ///< Every post so far.
};

} // namespace starling::test
