// Unit tests for actors/watchlist: one connection's watched ids, the first
// frame once every status is known, one frame per change after it, the own
// id online without a channel, and replace() as a diff.
#define CAF_SUITE actors_watchlist
#include <caf/test/unit_test.hpp>

#include "actors/watchlist.hpp"

#include <optional>
#include <string>
#include <vector>

using starling::watchlist;
using starling::watchlist_update;
using strings = std::vector<std::string>;

namespace {

/// Returns "online=[..] offline=[..]" or "none".
std::string show(const std::optional<watchlist_update>& u) {
  if (!u)
    return "none";
  auto list = [](const strings& xs) {
    std::string out = "[";
    for (auto& x : xs)
      out += (out.size() > 1 ? "," : "") + x;
    return out + "]";
  };
  return "online=" + list(u->online) + " offline=" + list(u->offline);
}

} // namespace

CAF_TEST(replace watches new ids and nothing is told before they are known) {
  watchlist w;
  auto c = w.replace({"b", "a", "b"}, "me");
  CAF_CHECK_EQUAL(c.watch, strings({"b", "a"})); // in order, duplicates ignored
  CAF_CHECK(c.unwatch.empty());
  CAF_CHECK_EQUAL(w.size(), 2u);
  CAF_CHECK(w.watches("a"));
  CAF_CHECK(!w.watches("me"));
  CAF_CHECK_EQUAL(show(w.first_frame()), "none");
}

CAF_TEST(the first frame goes out once every id is known and only once) {
  watchlist w;
  w.replace({"a", "b", "c"}, "me");
  CAF_CHECK_EQUAL(show(w.joined("a", true)), "none");
  CAF_CHECK_EQUAL(show(w.failed("c")), "none"); // a failed join: offline
  CAF_CHECK_EQUAL(show(w.joined("b", false)),
                  "online=[a] offline=[b,c]");
  CAF_CHECK_EQUAL(show(w.first_frame()), "none");
  CAF_CHECK_EQUAL(show(w.joined("b", true)), "none");
}

CAF_TEST(events before the first frame only update what it shows) {
  watchlist w;
  w.replace({"a", "b"}, "me");
  // Before a's join answered: an earlier event cannot be newer than it.
  CAF_CHECK_EQUAL(show(w.changed("a", true)), "none");
  CAF_CHECK_EQUAL(show(w.joined("a", false)), "none");
  // After the answer, before the first frame: it updates silently.
  CAF_CHECK_EQUAL(show(w.changed("a", true)), "none");
  CAF_CHECK_EQUAL(show(w.joined("b", false)), "online=[a] offline=[b]");
}

CAF_TEST(after the first frame each change is one frame) {
  watchlist w;
  w.replace({"a", "b"}, "me");
  w.joined("a", false);
  w.joined("b", false);
  CAF_CHECK_EQUAL(show(w.changed("a", true)), "online=[a] offline=[]");
  CAF_CHECK_EQUAL(show(w.changed("a", true)), "none"); // no change
  CAF_CHECK_EQUAL(show(w.changed("b", false)), "none");
  CAF_CHECK_EQUAL(show(w.changed("a", false)), "online=[] offline=[a]");
  // Ids nobody watches are ignored.
  CAF_CHECK_EQUAL(show(w.changed("zz", true)), "none");
  CAF_CHECK_EQUAL(show(w.joined("zz", true)), "none");
}

CAF_TEST(the own id is online without a channel) {
  watchlist w;
  auto c = w.replace({"me"}, "me");
  CAF_CHECK(c.watch.empty());
  CAF_CHECK(w.watches("me"));
  CAF_CHECK_EQUAL(show(w.first_frame()), "online=[me] offline=[]");
  watchlist v;
  c = v.replace({"a", "me"}, "me");
  CAF_CHECK_EQUAL(c.watch, strings({"a"}));
  CAF_CHECK_EQUAL(show(v.first_frame()), "none");
  CAF_CHECK_EQUAL(show(v.joined("a", false)), "online=[me] offline=[a]");
}

CAF_TEST(replace is a diff that keeps known statuses) {
  watchlist w;
  w.replace({"a", "b"}, "me");
  w.joined("a", true);
  w.joined("b", false);
  auto c = w.replace({"b", "c"}, "me");
  CAF_CHECK_EQUAL(c.watch, strings({"c"}));
  CAF_CHECK_EQUAL(c.unwatch, strings({"a"}));
  CAF_CHECK(!w.watches("a"));
  // The first frame is due again, for the whole new list, once c is known.
  CAF_CHECK_EQUAL(show(w.first_frame()), "none");
  CAF_CHECK_EQUAL(show(w.joined("c", true)), "online=[c] offline=[b]");
  // Nothing new: the whole list goes out at once.
  c = w.replace({"c", "b"}, "me");
  CAF_CHECK(c.watch.empty() && c.unwatch.empty());
  CAF_CHECK_EQUAL(show(w.first_frame()), "online=[c] offline=[b]");
}

CAF_TEST(an empty watchlist never sends a frame) {
  watchlist w;
  auto c = w.replace({}, "me");
  CAF_CHECK(c.watch.empty() && c.unwatch.empty());
  CAF_CHECK_EQUAL(w.size(), 0u);
  CAF_CHECK_EQUAL(show(w.first_frame()), "none");
}
