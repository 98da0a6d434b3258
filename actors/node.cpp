// Node actor: app registry and app supervisor.
#include "actors/node.hpp"

#include <caf/all.hpp>

#include "actors/app.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "actors/webhook.hpp"
#include "transport/codec/error_code.hpp"
#include "transport/codec/frame.hpp"
#include "transport/codec/signature.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = caf::stateful_actor<node_state>*;
using codec::pusher_error;

void refuse(const session_link_ptr& link, pusher_error code,
            const std::string& message) {
  auto c = codec::to_int(code);
  link->close(c, message, make_frame(codec::encode_error(c, message)));
}

void start_app(self_ptr self, app_slot& slot) {
  slot.actor = self->spawn<caf::linked>(app_behavior, slot.ctx);
}

// Pusher protocol §1.1: accept a missing protocol or 5..7 as v7; versions
// 1-4 are gone (4007). A value that is not a number is unsupported too.
bool check_protocol(const session_link_ptr& link, const std::string& query) {
  auto params = codec::parse_query(query);
  auto protocol = codec::find_param(params, "protocol");
  if (protocol == nullptr)
    return true;
  if (protocol->empty()) {
    refuse(link, pusher_error::no_protocol, "No protocol version supplied");
    return false;
  }
  int version = 0;
  for (char c : *protocol) {
    if (c < '0' || c > '9' || version > 1000) {
      refuse(link, pusher_error::unsupported_protocol,
             "Unsupported protocol version " + *protocol);
      return false;
    }
    version = version * 10 + (c - '0');
  }
  if (version < 5 || version > 7) {
    refuse(link, pusher_error::unsupported_protocol,
           "Unsupported protocol version " + *protocol + " (supported: 5-7)");
    return false;
  }
  if (auto v = codec::find_param(params, "version"); v != nullptr) {
    for (char c : *v) {
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'
            || c == '+')) {
        refuse(link, pusher_error::invalid_version,
               "Invalid version string format");
        return false;
      }
    }
  }
  return true;
}

app_slot* find_app(self_ptr self, const std::string& app_id) {
  auto& st = self->state;
  auto i = st.by_id.find(app_id);
  if (i == st.by_id.end() || st.apps[i->second].failed)
    return nullptr;
  return &st.apps[i->second];
}

} // namespace

caf::behavior node_behavior(caf::stateful_actor<node_state>* self,
                            node_init init) {
  auto& st = self->state;
  auto counter = std::make_shared<std::atomic<uint64_t>>(0);
  st.poster = init.poster;
  for (auto& app : init.apps) {
    auto ctx = std::make_shared<app_context>();
    if (!app.webhooks.empty() && init.poster) {
      // Linked: it stops with the node. It is not restarted; a crash is
      // logged and the app runs on without webhooks.
      ctx->webhooks = self->spawn<caf::linked>(webhook_behavior, app,
                                               init.poster, webhook_timing{});
      st.webhooks.push_back(webhook_slot{app, ctx->webhooks});
    }
    ctx->app = app;
    ctx->node_id = init.node_id;
    ctx->activity_timeout_s = init.activity_timeout_s;
    ctx->socket_prefix = init.socket_prefix;
    ctx->socket_counter = counter;
    st.by_key.emplace(app.key, st.apps.size());
    st.by_id.emplace(app.id, st.apps.size());
    st.apps.push_back(app_slot{std::move(ctx), {}, {}, false});
  }
  for (auto& slot : st.apps)
    start_app(self, slot);
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    for (auto& slot : st.apps) {
      if (slot.actor.address() != em.source)
        continue;
      auto log = component_logger("node");
      if (slot.budget.try_restart(self->clock().now())) {
        log->error("app crashed, restarting app={} reason={}", slot.ctx->app.id,
                   to_string(em.reason));
        start_app(self, slot);
      } else {
        // Escalation stops here: the node keeps serving the other apps.
        log->critical("app over its restart limit, marked failed app={}",
                      slot.ctx->app.id);
        slot.actor = nullptr;
        slot.failed = true;
      }
      return;
    }
    for (auto& hook : st.webhooks) {
      if (hook.actor.address() == em.source) {
        component_logger("node")->error("webhook actor ended app={} reason={}",
                                         hook.app.id, to_string(em.reason));
        return;
      }
    }
    // Not an app: the process is shutting the node down.
    self->quit(em.reason);
  });
  return {
    [self](ws_opened& ev) {
      auto& st = self->state;
      if (!check_protocol(ev.link, ev.query))
        return;
      auto i = st.by_key.find(ev.app_key);
      if (i == st.by_key.end())
        return refuse(ev.link, pusher_error::app_not_found,
                      "Application does not exist");
      auto& slot = st.apps[i->second];
      if (slot.failed)
        return refuse(ev.link, pusher_error::over_capacity,
                      "Application is unavailable; retry later");
      self->send(slot.actor, std::move(ev));
    },
    [self](publish_request& req) {
      auto& st = self->state;
      auto i = st.by_id.find(req.app_id);
      if (i == st.by_id.end() || st.apps[i->second].failed)
        return;
      self->send(st.apps[i->second].actor, std::move(req));
    },
    [self](channels_request& req) -> caf::result<caf::message> {
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, std::move(req));
    },
    [self](terminate_request& req) -> caf::result<caf::message> {
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, std::move(req));
    },
    [self](channel_request& req) -> caf::result<caf::message> {
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, std::move(req));
    },
    [self](stats_atom, const std::string& app_id) -> caf::result<caf::message> {
      auto& st = self->state;
      auto i = st.by_id.find(app_id);
      if (i == st.by_id.end() || st.apps[i->second].failed)
        return caf::make_error(errc::unknown_app);
      return self->delegate(st.apps[i->second].actor, stats_atom::value);
    },
  };
}

} // namespace starling
