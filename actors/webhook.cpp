// Webhook actor: grace-period cancellation, batching, signing, retries.
#include "actors/webhook.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/log.hpp"
#include "pusher/frame.hpp"
#include "pusher/signature.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = webhook_actor::stateful_pointer<webhook_state>;
using clock_type = std::chrono::steady_clock;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string hold_key(const webhook_event& ev, bool member) {
  return (member ? "m:" : "c:") + ev.channel + '\n' + ev.user_id;
}

using json = nlohmann::ordered_json;

// Pusher protocol §7.2: one JSON object per event.
json event_json(const webhook_event& ev) {
  json out{{"name", ev.name}, {"channel", ev.channel}};
  if (!ev.user_id.empty())
    out["user_id"] = ev.user_id;
  if (ev.name == "client_event") {
    out["event"] = ev.event;
    out["data"] = ev.data;
    out["socket_id"] = ev.socket_id;
  }
  if (ev.subscription_count >= 0)
    out["subscription_count"] = ev.subscription_count;
  return out;
}

// The body of one request: when the first event happened, and the events.
std::string body_json(int64_t time_ms, json events) {
  return json{{"time_ms", time_ms}, {"events", std::move(events)}}.dump();
}

bool wanted(const config::webhook_settings& hook, const webhook_event& ev) {
  auto& types = hook.event_types;
  return types.empty()
         || std::find(types.begin(), types.end(), ev.name) != types.end();
}

void schedule_tick(self_ptr self, const webhook_timing& timing) {
  if (self->state.tick_pending)
    return;
  self->state.tick_pending = true;
  self->delayed_send(self, timing.tick, flush_atom::value);
}

void post(self_ptr self, uint64_t id, webhook_request& req) {
  auto& st = self->state;
  ++req.attempts;
  const auto& hook = st.app.webhooks.at(req.hook);
  // Configured headers first: the signature headers cannot be overridden.
  http_headers headers{hook.headers.begin(), hook.headers.end()};
  headers.insert(headers.end(), {
    {"Content-Type", "application/json"},
    {"X-Pusher-Key", st.app.key},
    {"X-Pusher-Signature", pusher::hmac_sha256_hex(st.app.secret, req.body)}});
  tls_options tls{hook.tls_ca_file, hook.tls_skip_verify};
  auto me = webhook_actor{self};
  auto started = clock_type::now();
  st.poster->post(req.url, std::move(headers), req.body, tls,
                  [me, id, started, counters = st.counters](int status) {
    if (counters)
      counters->webhook_latency.record_since(started);
    // Called on an I/O thread: only anon_send from here.
    caf::anon_send(me, posted_atom::value, id, status);
  });
}

// Posts `req` now if fewer than max_in_flight are open, else queues it.
void dispatch(self_ptr self, uint64_t id, webhook_request req,
              const webhook_timing& timing) {
  auto& st = self->state;
  if (st.in_flight.size() >= timing.max_in_flight) {
    if (st.waiting.size() >= timing.max_queue) {
      ++st.dropped;
      return;
    }
    st.waiting.emplace_back(id, std::move(req));
    return;
  }
  auto& r = st.in_flight[id] = std::move(req);
  post(self, id, r);
}

void start_waiting(self_ptr self, const webhook_timing& timing) {
  auto& st = self->state;
  while (!st.waiting.empty() && st.in_flight.size() < timing.max_in_flight) {
    auto [id, req] = std::move(st.waiting.front());
    st.waiting.pop_front();
    dispatch(self, id, std::move(req), timing);
  }
}

void send_request(self_ptr self, std::size_t hook, std::string body,
                  const webhook_timing& timing) {
  webhook_request req;
  req.url = self->state.app.webhooks[hook].url;
  req.hook = hook;
  req.body = std::move(body);
  req.first_try = clock_type::now();
  dispatch(self, ++self->state.next_request, std::move(req), timing);
}

void send_ready(self_ptr self, const webhook_timing& timing) {
  auto& st = self->state;
  if (st.ready.empty())
    return;
  for (std::size_t h = 0; h < st.app.webhooks.size(); ++h) {
    auto& hook = st.app.webhooks[h];
    if (st.app.webhook_batching) {
      auto events = json::array();
      int64_t time_ms = 0;
      for (auto& p : st.ready) {
        if (!wanted(hook, p.event))
          continue;
        if (time_ms == 0)
          time_ms = p.time_ms;
        events.push_back(event_json(p.event));
      }
      if (!events.empty())
        send_request(self, h, body_json(time_ms, std::move(events)),
                     timing);
    } else {
      for (auto& p : st.ready)
        if (wanted(hook, p.event))
          send_request(self, h,
                       body_json(p.time_ms, json::array({event_json(p.event)})),
                       timing);
    }
  }
  st.ready.clear();
}

} // namespace

webhook_actor::behavior_type
webhook_behavior(webhook_actor::stateful_pointer<webhook_state> self,
                 config::app_settings app, http_poster_ptr poster,
                 webhook_timing timing, std::shared_ptr<app_counters> counters) {
  self->state.app = std::move(app);
  self->state.poster = std::move(poster);
  self->state.counters = std::move(counters);
  return {
    [self, timing](webhook_event& ev) {
      auto& st = self->state;
      auto queued = st.ready.size() + st.held.size() + st.waiting.size()
                    + st.retrying.size();
      if (queued >= timing.max_queue) {
        ++st.dropped;
        return;
      }
      pending_webhook p{std::move(ev), unix_ms()};
      auto& name = p.event.name;
      // Pusher protocol §7.3: vacated and member_removed wait; a return
      // within the grace period cancels both the leave and the re-join.
      if (name == "channel_vacated" || name == "member_removed") {
        auto key = hold_key(p.event, name == "member_removed");
        auto due = clock_type::now() + timing.grace;
        st.held[key] = std::make_pair(std::move(p), due);
        schedule_tick(self, timing);
        return;
      }
      if (name == "channel_occupied" || name == "member_added") {
        auto i = st.held.find(hold_key(p.event, name == "member_added"));
        if (i != st.held.end()) {
          st.held.erase(i);
          return;
        }
      }
      st.ready.push_back(std::move(p));
      if (st.app.webhook_batching)
        schedule_tick(self, timing);
      else
        send_ready(self, timing);
    },
    [self, timing](flush_atom) {
      auto& st = self->state;
      st.tick_pending = false;
      auto now = clock_type::now();
      for (auto i = st.held.begin(); i != st.held.end();) {
        if (i->second.second <= now) {
          st.ready.push_back(std::move(i->second.first));
          i = st.held.erase(i);
        } else {
          ++i;
        }
      }
      send_ready(self, timing);
      for (auto i = st.retrying.begin(); i != st.retrying.end();) {
        if (i->second.next_try <= now) {
          auto id = i->first;
          auto req = std::move(i->second);
          i = st.retrying.erase(i);
          dispatch(self, id, std::move(req), timing);
        } else {
          ++i;
        }
      }
      if (!st.held.empty() || !st.retrying.empty())
        schedule_tick(self, timing);
    },
    [self, timing](posted_atom, uint64_t id, int status) {
      auto& st = self->state;
      auto i = st.in_flight.find(id);
      if (i == st.in_flight.end())
        return;
      auto req = std::move(i->second);
      st.in_flight.erase(i);
      start_waiting(self, timing);
      if (!st.drains.empty()) {
        // Draining for shutdown: no retries, report when all answered.
        if (st.in_flight.empty() && st.waiting.empty()) {
          for (auto& rp : st.drains)
            rp.deliver(caf::ok_atom::value);
          st.drains.clear();
        }
        return;
      }
      if (status >= 200 && status < 300) {
        ++st.sent;
        return;
      }
      auto now = clock_type::now();
      if (now - req.first_try >= timing.retry_window) {
        ++st.dropped;
        component_logger("webhooks")->warn("webhook given up url={} attempts={}",
                                      req.url, req.attempts);
        return;
      }
      // Exponential back-off from 1 s, at most 60 s between attempts.
      auto backoff = std::min<int64_t>(60, int64_t{1} << std::min(req.attempts - 1, 6));
      req.next_try = now + std::chrono::seconds(backoff);
      st.retrying.emplace(id, std::move(req));
      schedule_tick(self, timing);
    },
    [self, timing](drain_atom) -> caf::result<caf::ok_atom> {
      // Shutdown: nothing is held back any more; retries go out once now.
      auto& st = self->state;
      for (auto& [key, held] : st.held)
        st.ready.push_back(std::move(held.first));
      st.held.clear();
      send_ready(self, timing);
      for (auto& [id, req] : st.retrying)
        dispatch(self, id, std::move(req), timing);
      st.retrying.clear();
      if (st.in_flight.empty() && st.waiting.empty())
        return caf::ok_atom::value;
      auto rp = self->make_response_promise<caf::ok_atom>();
      st.drains.push_back(rp);
      return rp;
    },
    [self](stats_atom) {
      auto& st = self->state;
      return webhook_stats{st.sent, st.dropped,
                           static_cast<uint64_t>(st.ready.size()
                                                 + st.held.size()
                                                 + st.retrying.size()
                                                 + st.in_flight.size()
                                                 + st.waiting.size())};
    },
    [self](crash_atom) {
      throw std::runtime_error("injected fault in webhooks of app "
                               + self->state.app.id);
    },
  };
}

} // namespace starling
