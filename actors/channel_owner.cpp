// Channel owner actor: orders every event of its channel and emits the
// cluster-wide facts (member events, subscription counts, webhooks) exactly
// once. The state diagram is in the header.
#include "actors/channel_owner.hpp"

#include <algorithm>
#include <tuple>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/owner_ops.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using namespace owner_ops;
using behavior = owner_actor::behavior_type;
using actor_behavior = channel_actor::behavior_type;

// The owner whose handler runs (flyweight_actor.hpp).
self_ptr me() {
  return running<channel_state, channel_actor>();
}

// The actor's behavior with the owner in state `owner`: the owner's
// handlers first, then the channel's (channel.hpp). The channel's own
// calls to its owner are messages to itself. Owner messages reach the
// owner even where the channel handles the same type (client_event).
actor_behavior with_channel(const behavior& owner) {
  auto& mine = const_cast<behavior&>(owner).unbox();
  auto& theirs
    = const_cast<actor_behavior&>(channel_detail::channel_handlers()).unbox();
  return actor_behavior{
    actor_behavior::unsafe_init{},
    caf::behavior{mine.as_behavior_impl()->or_else(theirs.as_behavior_impl())}};
}

// How long an owner keeps delivering to a node whose channel moved to
// another owner (events ordered here by callers with an older view).
constexpr auto moved_node_grace = std::chrono::seconds(2);

// How long a handed-off owner keeps forwarding after its last message.
constexpr auto forwarder_idle = std::chrono::seconds(30);

actor_behavior owning();
actor_behavior forwarding(self_ptr self, owner_actor successor);

// -- states --------------------------------------------------------------------------

void send_handoff(self_ptr self, caf::typed_response_promise<caf::ok_atom> rp,
                  hand_off& h);

// The ring moved the channel to `target`'s node: hand over, then forward.
// await: nothing else is handled until the successor answered, so no event
// is ordered here after the state left.
caf::typed_response_promise<caf::ok_atom> on_hand_off(self_ptr self,
                                                      hand_off& h) {
  auto rp = self->make_response_promise<caf::ok_atom>();
  if (own(self).hooks) {
    // Fresh logic snapshots first (awaited too: no hook in between).
    own(self).hooks->refresh_snapshots(
      [self, rp, h]() mutable { send_handoff(self, rp, h); });
    return rp;
  }
  send_handoff(self, rp, h);
  return rp;
}

void send_handoff(self_ptr self, caf::typed_response_promise<caf::ok_atom> rp,
                  hand_off& h) {
  auto channel = self->state.channel;
  self->request(h.target, std::chrono::seconds(5), make_handoff(self))
    .await(
      [self, rp](owner_ref& successor) mutable {
        rp.deliver(caf::ok_atom::value);
        if (successor.owner.address() == self->address())
          return; // Redirected back here: we stay the owner.
        self->send(self->state.directory,
                   owner_handed_off{self->state.channel, successor.owner});
        own(self).handed_off = true;
        self->become(forwarding(self, std::move(successor.owner)));
      },
      [rp, channel](caf::error& err) mutable {
        // Keep owning; the next view change tries again, and the edges
        // rebuild the successor if it comes to that.
        component_logger("owner")->warn("handoff failed channel={} error={}",
                                        channel, to_string(err));
        rp.deliver(std::move(err));
      });
}

// Returns the answers of held publishes, made on first use. They were not
// numbered: if this owner ends before it numbers them, their publishers
// learn it and try the next owner.
std::vector<caf::typed_response_promise<publish_ack>>& unacked(self_ptr self) {
  auto& x = own(self).more();
  if (!x.unacked) {
    x.unacked = std::make_shared<
      std::vector<caf::typed_response_promise<publish_ack>>>();
    self->attach_functor([list = x.unacked](const caf::error&) {
      for (auto& rp : *list)
        if (rp.pending())
          rp.deliver(caf::make_error(caf::sec::request_receiver_down));
    });
  }
  return *x.unacked;
}

// Whether `pe` goes through the channel's publish hooks first: an HTTP API
// publish to a channel some binding filters. Otherwise it costs nothing.
bool asks_logic(self_ptr self, const publish_event& pe) {
  auto& st = own(self);
  return pe.ask_logic && st.hooks && st.hooks->asks(hook_publish);
}

// Runs `event` through the publish hooks and answers `rp` once decided (in
// arrival order with the other events): numbered, or the refusal (the
// directory makes it 403 / 503, or hands it to a successor).
void filter_published(self_ptr self, channel_event event, uint64_t give_up_ms,
                      caf::typed_response_promise<publish_ack> rp) {
  auto& list = unacked(self);
  // Answered promises go; the rest are failed if the owner ends first.
  list.erase(std::remove_if(list.begin(), list.end(),
                            [](auto& x) { return !x.pending(); }),
             list.end());
  list.push_back(rp);
  api_event ev{event.event, event.data, event.exclude};
  own(self).hooks->filter_publish(
    std::move(ev), [self, event = std::move(event), give_up_ms,
                    rp](api_event decided, caf::error refusal) mutable {
      if (refusal) {
        rp.deliver(std::move(refusal));
        return;
      }
      // The publisher stopped waiting while the logic decided.
      if (publish_expired(give_up_ms)) {
        rp.deliver(caf::make_error(caf::sec::request_timeout));
        return;
      }
      publish_event pe;
      pe.event = std::move(event);
      pe.event.event = std::move(decided.event);
      pe.event.data = std::move(decided.data);
      rp.deliver(on_publish(self, pe));
      self->send(as_owner(self), idle_atom::value);
    });
}

// Ends the wait for a handoff: what was held goes out in arrival order.
void stop_settling(self_ptr self) {
  auto& st = own(self);
  std::vector<held_event> held;
  if (st.extras) {
    held = std::move(st.extras->held);
    st.extras->held.clear();
    if (st.extras->unacked)
      st.extras->unacked->clear();
  }
  self->become(owning());
  for (auto& h : held) {
    if (!h.client && h.ask_logic && st.hooks) {
      filter_published(self, std::move(h.publish), h.give_up_ms, h.ack);
    } else if (!h.client) {
      if (publish_expired(h.give_up_ms)) {
        h.ack.deliver(caf::make_error(caf::sec::request_timeout));
        continue;
      }
      auto seq = fan_out(self, std::move(h.publish));
      if (h.ack.pending())
        h.ack.deliver(publish_ack{seq});
    } else if (st.hooks) {
      st.hooks->filter_client_event(std::move(h.event), std::move(h.via));
    } else {
      relay_client_event(self, std::move(h.event));
    }
  }
  quit_if_idle(self);
}

// What settling and owning handle alike. A settling owner never ends by
// itself (`may_quit` false): its predecessor's state is on its way.
auto shared_handlers(bool may_quit) {
  auto idle = [may_quit](self_ptr self) {
    if (may_quit)
      quit_if_idle(self);
  };
  return std::make_tuple(
    [idle](owner_leave& leave) {
      auto self = me();
      on_leave(self, leave);
      idle(self);
    },
    [idle](node_forget& nf) {
      auto self = me();
      forget_node_if(self, nf.node, nf.generation);
      idle(self);
    },
    [idle](idle_atom) {
      auto self = me();
      own(self).idle_check_pending = false;
      idle(self);
    },
    [](bridge_changed& bc) {
      auto self = me();
      own(self).bridge = std::move(bc.bridge);
      // The view changed: the channel's standby may be another node.
      keep_occupancy(self);
    },
    [](logic_handles& lh) {
      auto self = me();
      if (own(self).hooks)
        own(self).hooks->set_app_bound(std::move(lh.handles));
    },
    [](logic_restart& lr) {
      auto self = me();
      if (own(self).hooks)
        own(self).hooks->restart(lr.index);
    },
    [](logic_wait_atom) {
      auto self = me();
      if (own(self).hooks)
        own(self).hooks->wake();
    },
    [idle](expire_atom) {
      auto self = me();
      on_expire(self);
      idle(self);
    },
    [idle](departed_atom) {
      auto self = me();
      on_departed(self);
      idle(self);
    },
    [idle](lost_owner_copy& lost) {
      auto self = me();
      on_lost_owner_copy(self, lost);
      idle(self);
    },
    [](recount_atom) {
      auto self = me();
      own(self).recount_pending = false;
      send_subscription_count(self);
    },
    [](replay_request& rr) { return own(me()).replay.since(rr.after); },
    [](caf::get_atom) { return report(me()); },
    [](users_atom) {
      auto self = me();
      std::vector<std::string> ids;
      for (auto& m : own(self).view().roster.members())
        ids.push_back(m.user_id);
      return ids;
    },
    [](stats_atom) {
      auto self = me();
      auto& st = own(self);
      owner_stats out;
      out.subscribers = st.subscribers;
      out.members = st.view().roster.size();
      out.seq = st.seq;
      out.cached = st.cache && st.cache->held
                   && st.cache->expires > self->clock().now();
      out.hosted = channel_detail::channel_active(self->state);
      for (auto& [node, interest] : st.nodes)
        if (interest.subscribers > 0)
          out.interest.emplace(node, interest.subscribers);
      return out;
    },
    [](crash_request& req) -> caf::result<caf::ok_atom> {
      auto self = me();
      if (!own(self).hooks)
        return caf::make_error(errc::not_available,
                               "no logic beside " + self->state.channel);
      if (auto err = own(self).hooks->crash(req.name))
        return err;
      return caf::ok_atom::value;
    },
    [](crash_atom) {
      throw std::runtime_error("injected fault in owner "
                               + me()->state.channel);
    });
}

// Shared by every settling owner (flyweight_actor.hpp): built once.
actor_behavior settling() {
  static const behavior handlers = std::apply(
    [](auto... shared) -> behavior {
      return {
        shared...,
        [](owner_join& join) { return on_join(me(), join); },
        [](publish_event& pe) {
          auto self = me();
          // The predecessor's state (which nodes listen) is on its way:
          // numbering and sending now would reach only part of them. The
          // publisher hears back once it is numbered.
          auto& st = own(self);
          held_event h;
          // The cache takes a filtered event once its verdict is in.
          h.ask_logic = asks_logic(self, pe);
          if (!h.ask_logic)
            cache_published(self, pe.event);
          pe.event.kind = event_kind::message;
          h.publish = std::move(pe.event);
          h.give_up_ms = pe.give_up_ms;
          h.ack = self->make_response_promise<publish_ack>();
          auto rp = h.ack;
          st.more().held.push_back(std::move(h));
          unacked(self).push_back(rp);
          return rp;
        },
        [](client_event& ce) {
          auto self = me();
          held_event h;
          h.client = true;
          h.event = std::move(ce);
          h.via = via_of(self);
          own(self).more().held.push_back(std::move(h));
        },
        [](node_moved& nm) {
          auto self = me();
          stop_settling(self);
          self->send(as_owner(self), nm);
        },
        [](hand_off& h) {
          auto self = me();
          // Held events are ours to order: send them before the state
          // leaves.
          stop_settling(self);
          return on_hand_off(self, h);
        },
        [](owner_handoff& h) {
          auto self = me();
          auto ref = on_handoff(self, h);
          stop_settling(self);
          return ref;
        },
        [](settle_atom) { stop_settling(me()); },
        [](owner_sync& sync) {
          auto self = me();
          auto reply = on_sync(self, sync);
          // Rebuilt after a crash on a single node: once this node's
          // channel told everything, nobody else is to wait for.
          auto& x = own(self).extras;
          if (x && x->await_any) {
            auto& awaited = x->await_syncs;
            awaited.erase(std::remove(awaited.begin(), awaited.end(),
                                      sync.node),
                          awaited.end());
            if (awaited.empty())
              stop_settling(self);
          }
          return reply;
        },
      };
    },
    shared_handlers(false));
  static const actor_behavior hosted = with_channel(handlers);
  return hosted;
}

// Shared by every owning owner (flyweight_actor.hpp): built once.
actor_behavior owning() {
  static const behavior handlers = std::apply(
    [](auto... shared) -> behavior {
      return {
        shared...,
        [](owner_join& join) { return on_join(me(), join); },
        [](publish_event& pe) -> caf::result<publish_ack> {
          auto self = me();
          // Its publisher gave up and asked a successor: numbering it here
          // would deliver it twice.
          if (publish_expired(pe.give_up_ms))
            return caf::make_error(caf::sec::request_timeout);
          if (asks_logic(self, pe)) {
            auto rp = self->make_response_promise<publish_ack>();
            filter_published(self, std::move(pe.event), pe.give_up_ms, rp);
            return rp;
          }
          auto ack = on_publish(self, pe);
          quit_if_idle(self);
          return ack;
        },
        [](client_event& ce) { on_client_event(me(), ce); },
        [](node_moved& nm) {
          auto self = me();
          // Callers with an older view may still send events here for a
          // moment: keep delivering to the node (its channel drops what its
          // new owner already overtook) and forget it silently a little
          // later, unless it came back.
          auto& st = own(self);
          auto i = st.nodes.find(nm.node);
          if (i == st.nodes.end())
            return;
          self->delayed_send(as_owner(self), moved_node_grace,
                             node_forget{nm.node, i->second.generation});
        },
        [](hand_off& h) { return on_hand_off(me(), h); },
        [](owner_handoff& h) { return on_handoff(me(), h); },
        [](settle_atom) {
          // nop: a settle timer that outlived its wait.
        },
        [](owner_sync& sync) {
          auto self = me();
          auto reply = on_sync(self, sync);
          quit_if_idle(self);
          return reply;
        },
      };
    },
    shared_handlers(true));
  static const actor_behavior hosted = with_channel(handlers);
  return hosted;
}

// Notes a forwarded call: the forwarder ends a while after the last one.
void forwarded(self_ptr self) {
  own(self).more().forwarded_at = self->clock().now();
}

template <class T>
auto forward(self_ptr self, owner_actor to) {
  return [self, to](T& x) {
    forwarded(self);
    return self->delegate(to, std::move(x));
  };
}

// A forwarder's idle check: it ends `forwarder_idle` after its last call.
void forwarder_tick(self_ptr self) {
  auto& st = own(self);
  st.idle_check_pending = false;
  auto since = self->clock().now() - st.view().forwarded_at;
  if (since >= forwarder_idle) {
    end_owner(self);
    return;
  }
  st.idle_check_pending = true;
  self->delayed_send(as_owner(self), forwarder_idle - since, idle_atom::value);
}

// After a handoff: everything goes to the successor (callers with an older
// view do not notice the move); our own timers and bookkeeping fall silent.
actor_behavior forwarding(self_ptr self, owner_actor successor) {
  // Channel-bound logic moves too: the successor runs its own instances.
  if (own(self).hooks)
    own(self).hooks->stop();
  // A forwarder publishes nothing itself; holding the bridge would keep a
  // crashed (detached) bridge and its thread alive until we quit.
  own(self).bridge = nullptr;
  // Its down ends the forwarder (on_owner_down).
  own(self).more().successor = successor.address();
  self->monitor(successor);
  forwarded(self);
  own(self).idle_check_pending = true;
  self->delayed_send(as_owner(self), forwarder_idle, idle_atom::value);
  auto to = successor;
  return with_channel(behavior{
    forward<owner_join>(self, to),
    [self, to](owner_leave& x) {
      forwarded(self);
      self->send(to, std::move(x));
    },
    forward<owner_sync>(self, to),
    forward<publish_event>(self, to),
    forward<replay_request>(self, to),
    [self, to](client_event& x) {
      forwarded(self);
      self->send(to, std::move(x));
    },
    [](node_moved&) {},
    [](node_forget&) {},
    [](hand_off&) { return caf::ok_atom::value; },
    forward<owner_handoff>(self, to),
    [](bridge_changed&) {},
    [](logic_handles&) {},
    [](logic_restart&) {},
    [](logic_wait_atom) {},
    [](settle_atom) {},
    [self](idle_atom) { forwarder_tick(self); },
    [](expire_atom) {},
    [](departed_atom) {},
    [self, to](lost_owner_copy& x) { self->send(to, std::move(x)); },
    [](recount_atom) {},
    [self, to](caf::get_atom x) { return self->delegate(to, x); },
    [self, to](users_atom x) { return self->delegate(to, x); },
    [self, to](stats_atom x) { return self->delegate(to, x); },
    forward<crash_request>(self, to),
    [self](crash_atom) {
      throw std::runtime_error("injected fault in forwarder "
                               + self->state.channel);
    },
  });
}

} // namespace

const owner_extras& owner_state::view() const {
  static const owner_extras none;
  return extras ? *extras : none;
}

std::vector<std::string>
owner_state::remove_members_of(const std::string& node) {
  return extras ? extras->roster.remove_node(node)
                : std::vector<std::string>{};
}

channel_actor::behavior_type host_owner_part(owner_flyweight self,
                                             owner_start start) {
  auto& host = self->state;
  host.owner_part = std::make_unique<owner_state>();
  host.retired_owner = nullptr;
  auto& st = *host.owner_part;
  if (host.channel.empty()) {
    // An owner in an actor of its own: no channel part set these.
    host.traits = pusher::classify_channel(start.channel);
    host.channel = std::move(start.channel);
    host.ctx = std::move(start.ctx);
    host.directory = std::move(start.directory);
  }
  // Only presence channels: other roster kinds (watchlists) are internal.
  if (host.channel.rfind("presence-", 0) == 0)
    st.more().roster.count_members_in(&host.ctx->counters->presence_members);
  st.bridge = std::move(start.bridge);
  st.seq = start.seq_base;
  st.born = self->clock().now();
  if (host.ctx->logic) {
    logic_handle base;
    base.app_id = host.ctx->app.id;
    base.channel = host.channel;
    base.node_id = host.ctx->node_id;
    base.app = std::move(start.app);
    st.hooks = owner_hooks::make(self, host.channel, host.ctx->logic,
                                 std::move(base), [self](client_event ce) {
                                   relay_client_event(self, std::move(ce));
                                 });
    if (st.hooks)
      st.hooks->set_app_bound(std::move(start.app_bound_logic));
  }
  if (!start.await_syncs.empty()) {
    st.more().await_syncs = std::move(start.await_syncs);
    st.more().await_any = true;
  }
  if (start.settle > caf::timespan::zero()) {
    // Spawned just after a view change: the channel's previous owner may be
    // handing its state over. Hold events until it arrives.
    self->delayed_send(as_owner(self), start.settle, settle_atom::value);
    return settling();
  }
  return owning();
}

channel_actor::behavior_type
channel_owner_behavior(owner_flyweight self, owner_start start) {
  channel_detail::install_handlers(self);
  return host_owner_part(self, std::move(start));
}

} // namespace starling
