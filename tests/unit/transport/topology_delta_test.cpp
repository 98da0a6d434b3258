// Unit tests for transport/topology_delta: keyed views and merge patches
// (what /topology/events sends after its first snapshot).
#define CAF_SUITE transport_topology_delta
#include <caf/test/unit_test.hpp>

#include "transport/topology_delta.hpp"

using namespace starling::transport;
using json = nlohmann::json;

namespace {

// RFC 7386 application, as the page does it.
json patched(json target, const json& patch) {
  target.merge_patch(patch);
  return target;
}

json view(std::initializer_list<std::pair<const char*, int>> channels,
          int uptime) {
  auto list = json::array();
  for (auto& [name, subs] : channels)
    list.push_back(json{{"kind", "channel"}, {"name", name},
                        {"subscribers", subs}});
  return json{{"kind", "node"}, {"id", "n-a"}, {"uptime_s", uptime},
              {"owner", nullptr},
              {"apps", json::array({json{{"id", "app-1"},
                                         {"channels", {"a", "b"}},
                                         {"channel_list", list}}})}};
}

} // namespace

CAF_TEST(lists of entries become objects keyed by identity in order) {
  auto k = keyed_view(view({{"b", 1}, {"a", 2}}, 1));
  CAF_CHECK(!k.contains("owner")); // Nulls are left out.
  auto& app = k["apps"]["=app-1"];
  CAF_CHECK_EQUAL(k["apps"]["@"], json::array({"=app-1"}));
  CAF_CHECK_EQUAL(app["channel_list"]["@"], json::array({"=b", "=a"}));
  CAF_CHECK_EQUAL(app["channel_list"]["=a"]["subscribers"], 2);
  CAF_CHECK_EQUAL(app["channels"], json::array({"a", "b"})); // Names stay.
  // Two entries alike: the list stays a list.
  auto same = keyed_view(json{{"l", {json{{"name", "x"}}, json{{"name", "x"}}}}});
  CAF_CHECK(same["l"].is_array());
}

CAF_TEST(a patch carries only what changed and rebuilds the next view) {
  auto a = keyed_view(view({{"a", 1}, {"b", 1}, {"c", 1}}, 1));
  auto b = keyed_view(view({{"a", 1}, {"b", 3}, {"d", 1}}, 2));
  auto p = merge_patch(a, b);
  CAF_CHECK_EQUAL(p["uptime_s"], 2);
  auto& cl = p["apps"]["=app-1"]["channel_list"];
  CAF_CHECK(!cl.contains("=a"));                 // Unchanged: absent.
  CAF_CHECK_EQUAL(cl["=b"], json::object({{"subscribers", 3}})); // Changed: only it.
  CAF_CHECK(cl["=c"].is_null());                 // Removed.
  CAF_CHECK_EQUAL(cl["=d"]["name"], "d");        // Added, whole.
  CAF_CHECK_EQUAL(patched(a, p), b);
  CAF_CHECK(merge_patch(b, b).empty());
}
