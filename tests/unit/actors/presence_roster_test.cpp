// Unit tests for actors/presence_roster: first-join/last-leave semantics and
// per-node connection counting, without any actor.
#define CAF_SUITE actors_presence_roster
#include <caf/test/unit_test.hpp>

#include "actors/presence_roster.hpp"

#include <algorithm>
#include <string>
#include <vector>

using starling::presence_roster;

namespace {

std::vector<std::string> ids(const presence_roster& roster) {
  std::vector<std::string> result;
  for (auto& m : roster.members())
    result.push_back(m.user_id);
  return result;
}

using strings = std::vector<std::string>;

} // namespace

CAF_TEST(an empty roster has no members) {
  presence_roster roster;
  CAF_CHECK_EQUAL(roster.size(), 0u);
  CAF_CHECK(!roster.contains("u1"));
  CAF_CHECK(roster.members().empty());
}

CAF_TEST(the first connection of a user is a first join) {
  presence_roster roster;
  CAF_CHECK(roster.add("u1", R"({"name":"Ann"})", "n1"));
  CAF_CHECK(roster.contains("u1"));
  CAF_CHECK_EQUAL(roster.size(), 1u);
}

CAF_TEST(two connections of one user count once) {
  presence_roster roster;
  CAF_CHECK(roster.add("u1", "", "n1"));
  CAF_CHECK(!roster.add("u1", "", "n1"));
  CAF_CHECK_EQUAL(roster.size(), 1u);
  CAF_CHECK_EQUAL(ids(roster), strings({"u1"}));
}

CAF_TEST(only the last connection of a user is a last leave) {
  presence_roster roster;
  roster.add("u1", "", "n1");
  roster.add("u1", "", "n1");
  CAF_CHECK(!roster.remove("u1", "n1"));
  CAF_CHECK(roster.contains("u1"));
  CAF_CHECK(roster.remove("u1", "n1"));
  CAF_CHECK(!roster.contains("u1"));
  CAF_CHECK_EQUAL(roster.size(), 0u);
}

CAF_TEST(connections are counted per node) {
  presence_roster roster;
  CAF_CHECK(roster.add("u1", "", "n1"));
  CAF_CHECK(!roster.add("u1", "", "n2"));
  // Leaving n1 entirely keeps the user: it is still connected on n2.
  CAF_CHECK(!roster.remove("u1", "n1"));
  CAF_CHECK(roster.contains("u1"));
  // A leave reported by a node the user is not on changes nothing.
  CAF_CHECK(!roster.remove("u1", "n1"));
  CAF_CHECK(roster.contains("u1"));
  CAF_CHECK(roster.remove("u1", "n2"));
  CAF_CHECK(!roster.contains("u1"));
}

CAF_TEST(removing an unknown user is not a last leave) {
  presence_roster roster;
  CAF_CHECK(!roster.remove("nobody", "n1"));
  roster.add("u1", "", "n1");
  CAF_CHECK(!roster.remove("nobody", "n1"));
  CAF_CHECK_EQUAL(roster.size(), 1u);
}

CAF_TEST(remove_node returns exactly the users that are gone) {
  presence_roster roster;
  roster.add("only-n1", "", "n1");
  roster.add("twice-n1", "", "n1");
  roster.add("twice-n1", "", "n1");
  roster.add("both", "", "n1");
  roster.add("both", "", "n2");
  roster.add("only-n2", "", "n2");
  auto gone = roster.remove_node("n1");
  std::sort(gone.begin(), gone.end());
  CAF_CHECK_EQUAL(gone, strings({"only-n1", "twice-n1"}));
  CAF_CHECK_EQUAL(ids(roster), strings({"both", "only-n2"}));
  // "both" is now only on n2: one leave there is its last.
  CAF_CHECK(roster.remove("both", "n2"));
  CAF_CHECK(roster.remove_node("n1").empty());
  CAF_CHECK_EQUAL(roster.remove_node("n2"), strings({"only-n2"}));
  CAF_CHECK_EQUAL(roster.size(), 0u);
}

CAF_TEST(the user_info of the first connection is kept) {
  presence_roster roster;
  roster.add("u1", R"({"name":"first"})", "n1");
  roster.add("u1", R"({"name":"second"})", "n2");
  auto members = roster.members();
  CAF_REQUIRE_EQUAL(members.size(), 1u);
  CAF_CHECK_EQUAL(members[0].user_info, R"({"name":"first"})");
  // Once the user fully left, a new first connection brings new info.
  roster.remove("u1", "n1");
  roster.remove("u1", "n2");
  roster.add("u1", R"({"name":"third"})", "n1");
  members = roster.members();
  CAF_REQUIRE_EQUAL(members.size(), 1u);
  CAF_CHECK_EQUAL(members[0].user_info, R"({"name":"third"})");
}

CAF_TEST(members are sorted by user id) {
  presence_roster roster;
  for (auto id : {"zed", "10", "abe", "2", "Mia"})
    roster.add(id, "", "n1");
  CAF_CHECK_EQUAL(ids(roster), strings({"10", "2", "Mia", "abe", "zed"}));
}
