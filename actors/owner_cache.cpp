// A cache channel's last event on its owner (owner_ops.hpp): held for
// apps[].limits.cache_ttl_s after each publish, handed to later subscribers
// and to a successor, and dropped when it expires.
#include "actors/owner_ops.hpp"

#include <caf/all.hpp>

namespace starling::owner_ops {

cached_event& cache_of(owner_state& st) {
  if (!st.cache)
    st.cache = std::make_unique<cached_event>();
  return *st.cache;
}

bool cache_live(self_ptr self) {
  auto& c = own(self).cache;
  if (!c)
    return false;
  if (c->held && self->clock().now() >= c->expires) {
    c->held = false;
    c->event.clear();
    c->data.clear();
  }
  return c->held;
}

void hold_cache(self_ptr self, std::string event, std::string data,
                caf::timespan ttl) {
  auto& c = cache_of(own(self));
  c.miss_reported = false;
  c.held = true;
  c.event = std::move(event);
  c.data = std::move(data);
  c.expires = self->clock().now() + ttl;
  // One pending tick at a time, however often the channel publishes.
  if (!c.expire_pending) {
    c.expire_pending = true;
    self->delayed_send(as_owner(self), ttl, expire_atom::value);
  }
}

void cache_published(self_ptr self, const channel_event& ev) {
  auto& st = own(self);
  if (self->state.traits.keeps_last_event())
    hold_cache(self, ev.event, ev.data,
               std::chrono::seconds(self->state.ctx->app.limits.cache_ttl_s));
}

void on_expire(self_ptr self) {
  if (!own(self).cache)
    return;
  auto& c = *own(self).cache;
  c.expire_pending = false;
  if (cache_live(self)) {
    c.expire_pending = true;
    self->delayed_send(as_owner(self), c.expires - self->clock().now(),
                       expire_atom::value);
  }
}

} // namespace starling::owner_ops
