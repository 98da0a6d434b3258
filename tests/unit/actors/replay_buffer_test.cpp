// Unit tests for actors/replay_buffer: what an owner can send again to a
// node whose bus lost events, its count and byte bounds, a predecessor's
// events taken over and a concurrent owner's merged in, without any actor.
#define CAF_SUITE actors_replay_buffer
#include <caf/test/unit_test.hpp>

#include "actors/replay_buffer.hpp"

#include <string>
#include <vector>

using starling::channel_event;
using starling::replay_buffer;

namespace {

channel_event event_of(uint64_t seq, std::string data = "x",
                       std::string origin = "node-a") {
  channel_event ev;
  ev.seq = seq;
  ev.event = "e";
  ev.data = std::move(data);
  ev.origin = std::move(origin);
  return ev;
}

std::vector<uint64_t> seqs(const std::vector<channel_event>& events) {
  std::vector<uint64_t> result;
  for (auto& ev : events)
    result.push_back(ev.seq);
  return result;
}

using numbers = std::vector<uint64_t>;

} // namespace

CAF_TEST(events after a number come back in order and complete) {
  replay_buffer buf;
  for (uint64_t seq = 1; seq <= 5; ++seq)
    buf.push(event_of(seq));
  auto r = buf.since(2);
  CAF_CHECK(r.complete);
  CAF_CHECK_EQUAL(seqs(r.events), numbers({3, 4, 5}));
  CAF_CHECK(buf.since(5).events.empty());
  CAF_CHECK(buf.since(5).complete);
  // An older number than the last kept is not kept (a handoff raced us).
  buf.push(event_of(4));
  CAF_CHECK_EQUAL(buf.size(), 5u);
}

CAF_TEST(a number not kept makes older asks incomplete and never a silent hole) {
  replay_buffer buf;
  buf.push(event_of(1));
  buf.push(event_of(2));
  // 3 went out when nobody could ask for it (no other node interested).
  buf.skip(3);
  buf.push(event_of(4));
  CAF_CHECK_EQUAL(buf.floor(), 3u);
  CAF_CHECK(!buf.since(2).complete);
  CAF_CHECK(buf.since(3).complete);
  CAF_CHECK_EQUAL(seqs(buf.since(3).events), numbers({4}));
  CAF_CHECK_EQUAL(buf.size(), 1u);
}

CAF_TEST(the count bound drops the oldest and marks them missing) {
  replay_buffer buf{3};
  for (uint64_t seq = 1; seq <= 5; ++seq)
    buf.push(event_of(seq));
  CAF_CHECK_EQUAL(buf.size(), 3u);
  CAF_CHECK_EQUAL(buf.floor(), 2u);
  CAF_CHECK(!buf.since(1).complete);
  CAF_CHECK_EQUAL(seqs(buf.since(1).events), numbers({3, 4, 5}));
  CAF_CHECK(buf.since(2).complete);
}

CAF_TEST(the byte bound holds whatever the event sizes) {
  replay_buffer buf{1024, 4096};
  for (uint64_t seq = 1; seq <= 100; ++seq)
    buf.push(event_of(seq, std::string(1000, 'x')));
  CAF_CHECK_LESS_OR_EQUAL(buf.bytes(), 4096u);
  CAF_CHECK_GREATER(buf.size(), 0u);
  CAF_CHECK_EQUAL(buf.floor(), 100u - buf.size());
}

CAF_TEST(a successor takes over the events and the floor) {
  replay_buffer old{2};
  for (uint64_t seq = 1; seq <= 4; ++seq)
    old.push(event_of(seq));
  replay_buffer next;
  next.restore(old.events(), old.floor());
  CAF_CHECK_EQUAL(seqs(next.since(0).events), numbers({3, 4}));
  CAF_CHECK(!next.since(1).complete);
  CAF_CHECK(next.since(2).complete);
}

CAF_TEST(events of a concurrent owner merge in number order once) {
  replay_buffer buf;
  buf.push(event_of(10));
  buf.push(event_of(30));
  buf.merge({event_of(20, "y", "node-b"), event_of(40, "y", "node-b"),
             event_of(30, "y", "node-b")});
  CAF_CHECK_EQUAL(seqs(buf.since(0).events), numbers({10, 20, 30, 40}));
  CAF_CHECK(buf.since(0).complete);
}
