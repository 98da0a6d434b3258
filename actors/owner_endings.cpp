// How the owner directory learns that its owners end, and ends them
// (owner_directory_detail.hpp): owners are not linked to it. An owner says
// owner_ended; one that cannot is found on its failure down; a failing
// directory ends them all; fault injection crashes one.
#include "actors/owner_directory_detail.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/unlinked_child.hpp"

namespace starling::directory_detail {

// An owner or forwarder ended (`source`): idle or crashed. Channels that
// still need it find a fresh one through us.
void on_owner_ended(self_ptr self, const std::string& name,
                    const caf::actor_addr& source, bool crashed,
                    const std::string& why, uint64_t seq) {
  auto& st = self->state;
  if (auto o = st.owners.find(name);
      o != st.owners.end() && o->second.address() == source) {
    st.owners.erase(o);
    logic_owner_ended(self, name, crashed);
  }
  if (auto f = st.forwarders.find(name);
      f != st.forwarders.end() && f->second.address() == source)
    st.forwarders.erase(f);
  if (!crashed)
    return;
  component_logger("app")->warn("child ended app={} channel={} reason={}",
                                st.ctx->app.id, name, why);
  // A crashed owner whose channel has subscribers here is rebuilt at once:
  // the replacement holds events until the channel told it everything.
  if (auto ch = st.local_channels.find(name); ch != st.local_channels.end()
                                              && st.owners.count(name) == 0) {
    if (ch->second.address() == source) {
      // It was hosted by the channel, which crashed with it: the channel's
      // replacement asks for the rebuilt owner (and hosts it).
      st.orphans[name] = seq;
      st.local_channels.erase(ch);
      return;
    }
    st.orphans[name] = 0;
    owner_for(self, name);
    self->send(ch->second, resolve_atom::value);
  }
}

// An owner or forwarder of ours that failed without saying owner_ended (an
// exit from elsewhere): found by a search, on failures only (no address
// map per owner).
void on_local_owner_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (!dm.reason)
    return;
  for (auto* owners : {&st.owners, &st.forwarders})
    for (auto& [name, owner] : *owners)
      if (owner.address() == dm.source) {
        auto channel = name; // on_owner_ended erases the entry
        on_owner_ended(self, channel, dm.source, true, to_string(dm.reason));
        return;
      }
}

void end_owners_on_failure(self_ptr self) {
  // As a link would end them (with its reason), however the directory fails.
  self->attach_functor([children = self->state.children](
                         const caf::error& reason) {
    if (!reason || reason == caf::exit_reason::normal)
      return;
    for (auto& kv : children->owners)
      end_unlinked_child(kv.second, reason);
    for (auto& kv : children->forwarders)
      end_unlinked_child(kv.second, reason);
  });
}

caf::result<caf::ok_atom> on_crash(self_ptr self, crash_request& req) {
  auto& st = self->state;
  if (req.kind == "owner") {
    auto i = st.owners.find(req.name);
    if (i == st.owners.end())
      return caf::make_error(errc::not_available,
                             "no such actor: owner " + req.name);
    self->send(i->second, crash_atom::value);
    return caf::ok_atom::value;
  }
  // Logic beside the owner of a channel: "<actor>/<channel>".
  auto slash = req.name.find('/');
  auto channel = req.name.substr(slash + 1);
  auto i = st.owners.find(channel);
  if (slash == std::string::npos || i == st.owners.end())
    return caf::make_error(errc::not_available,
                           "no owner of " + channel + " on this node");
  crash_request fwd{req.app_id, req.kind, req.name.substr(0, slash)};
  return self->delegate(i->second, std::move(fwd));
}

} // namespace starling::directory_detail
