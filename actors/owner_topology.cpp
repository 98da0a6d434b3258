// The owner directory's part of /topology (owner_directory_detail.hpp):
// one page of the owners living on this node with their counts, and how
// many remote owners, forwarders and local channels the directory knows.
#include "actors/owner_directory_detail.hpp"

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
                              {"epoch", st.view.epoch}}}};
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
          o["interest"] = os.interest;
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  gather->seal();
  return rp;
}

} // namespace starling::directory_detail
