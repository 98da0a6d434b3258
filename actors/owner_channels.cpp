// GET /channels for the owner directory (owner_directory_detail.hpp): the
// occupied channels of this node's owners and, in a cluster, the other
// nodes' (each owner lives on exactly one node), gathered in one answer.
#include "actors/owner_directory_detail.hpp"

#include <memory>
#include <set>

#include <caf/all.hpp>

#include "actors/fan_in.hpp"

namespace starling::directory_detail {

namespace {

// A peer's list crosses at most one node.
constexpr auto call_timeout = std::chrono::seconds(5);

} // namespace

caf::typed_response_promise<std::vector<channel_report>>
on_channels(self_ptr self, const channels_request& req) {
  auto& st = self->state;
  using reports = std::vector<channel_report>;
  // Fan in over this node's owners and, in a cluster, the other nodes
  // (each owner lives on exactly one node).
  auto seen = std::make_shared<std::set<std::string>>();
  auto rp = self->make_response_promise<reports>();
  auto gather = fan_in<reports>::make(rp);
  auto add = [seen, gather](channel_report& r) {
    if (r.occupied && seen->insert(r.name).second)
      gather->value().push_back(std::move(r));
  };
  for (auto& [name, owner] : st.owners) {
    // '#' channels (server-to-user, internal) are not listed.
    if (name.compare(0, req.prefix.size(), req.prefix) != 0
        || (name[0] == '#' && req.prefix.empty()))
      continue;
    gather->expect();
    self->request(owner, call_timeout, caf::get_atom::value)
      .then(
        [add, gather](channel_report& r) {
          add(r);
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  if (clustered(self) && !req.local_only) {
    gather->expect();
    channels_request peer_req{req.app_id, req.prefix, true};
    self->request(st.bridge, call_timeout, peers_atom::value)
      .then(
        [self, gather, add, peer_req](std::vector<node_actor>& peers) {
          for (auto& peer : peers) {
            gather->expect();
            self->request(peer, call_timeout, peer_req)
              .then(
                [add, gather](reports& rs) {
                  for (auto& r : rs)
                    add(r);
                  gather->done();
                },
                [gather](caf::error&) { gather->done(); });
          }
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  gather->seal();
  return rp;
}

} // namespace starling::directory_detail
