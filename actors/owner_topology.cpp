// The owner directory's part of /topology (owner_directory_detail.hpp):
// one page of the owners living on this node with their counts, how many
// remote owners, forwarders and local channels the directory knows, and
// the logic snapshots it keeps beyond owners (with digests, not contents).
#include "actors/owner_directory_detail.hpp"

#include <cstdint>
#include <cstdio>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/fan_in.hpp"
#include "actors/topology_page.hpp"

namespace starling::directory_detail {

namespace {

using json = nlohmann::json;

constexpr auto query_timeout = std::chrono::seconds(3);

struct answer {
  caf::typed_response_promise<std::string> rp;
  void deliver(json out) {
    rp.deliver(out.dump(-1, ' ', false, json::error_handler_t::replace));
  }
};

// FNV-1a, 64 bits, as hex: tells which version of a snapshot a node keeps
// (an operator compares the owner's node with the standby) without
// showing the app's state.
std::string digest(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

// The logic snapshots kept beyond owners: totals, and one page of channels.
json logic_states_json(self_ptr self, const topology_request& req) {
  auto& store = self->state.logic_states;
  std::vector<std::string> names;
  names.reserve(store.size());
  for (auto& [name, e] : store.entries())
    names.push_back(name);
  auto page = page_of(std::move(names), req);
  auto list = json::array();
  for (auto& name : page.names) {
    auto e = store.find(name);
    auto states = json::array();
    for (auto& s : e->states)
      states.push_back(json{{"actor", s.actor}, {"channels", s.channels},
                            {"bytes", s.state.size()},
                            {"digest", digest(s.state)}});
    list.push_back(json{{"channel", name}, {"from", e->from},
                        {"states", std::move(states)}});
  }
  return json{{"channels", store.size()},
              {"snapshots", store.snapshots()},
              {"bytes", store.bytes()},
              {"list", std::move(list)},
              {"more", page.more}};
}

} // namespace

caf::typed_response_promise<std::string>
on_topology(self_ptr self, const topology_request& req) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::string>();
  std::vector<std::string> names;
  names.reserve(st.owners.size());
  for (auto& [name, owner] : st.owners)
    names.push_back(name);
  auto page = page_of(std::move(names), req);
  auto list = json::array();
  for (auto& name : page.names)
    list.push_back(json{{"kind", "owner"}, {"channel", name},
                        {"node", st.ctx->node_id}});
  json out{{"owners", page.names},
           {"owner_count", page.total},
           {"owners_more", page.more},
           {"owner_list", list},
           {"directory", json{{"kind", "owner_directory"},
                              {"state", "running"},
                              {"remote_owners", st.remote_owners.size()},
                              {"forwarders", st.forwarders.size()},
                              {"parked_publishes", st.parked.size()},
                              {"epoch", st.view.epoch},
                              {"logic_states",
                               logic_states_json(self, req)}}}};
  auto gather = fan_in<json, answer>::make(answer{rp}, std::move(out));
  for (std::size_t i = 0; i < page.names.size(); ++i) {
    auto& owner = st.owners[page.names[i]];
    gather->expect();
    self->request(owner, query_timeout, stats_atom::value)
      .then(
        [gather, i](owner_stats& os) {
          auto& o = gather->value()["owner_list"][i];
          o["subscribers"] = os.subscribers;
          o["presence_members"] = os.members;
          o["seq"] = os.seq;
          o["cached"] = os.cached;
          o["hosted"] = os.hosted;
          o["interest"] = os.interest;
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  gather->seal();
  return rp;
}

} // namespace starling::directory_detail
