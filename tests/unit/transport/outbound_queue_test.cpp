// Unit tests for transport/ws/outbound_queue: the budget's bounds, gathering
// headers and payloads, partial writes split at every byte, and what
// dropping gives back.
#define CAF_SUITE transport_outbound_queue
#include <caf/test/unit_test.hpp>

#include "transport/ws/outbound_queue.hpp"

#include <string>
#include <vector>

using namespace starling;
using namespace starling::transport::ws;

namespace {

// Concatenates what gather() hands out, as the socket would see it.
std::string pending_bytes(const outbound_queue& q) {
  out_buffer bufs[64];
  auto n = q.gather(bufs, 64);
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out.append(static_cast<const char*>(bufs[i].data), bufs[i].size);
  return out;
}

std::string text_frame(const std::string& payload) {
  uint8_t header[10];
  auto n = websocket_header(ws_opcode::text, payload.size(), header);
  return std::string(reinterpret_cast<const char*>(header), n) + payload;
}

} // namespace

CAF_TEST(the budget refuses past its bytes or frames and reports pressure) {
  const struct {
    std::size_t max_bytes, max_frames;
    std::vector<std::size_t> sizes;
    std::vector<send_result> expected;
  } rows[] = {
    {100, 10, {10, 20}, {send_result::queued, send_result::queued}},
    {100, 10, {40, 20}, {send_result::queued, send_result::backpressure}},
    {100, 10, {60, 50}, {send_result::backpressure, send_result::dropped}},
    {100, 2, {1, 1, 1},
     {send_result::queued, send_result::queued, send_result::dropped}},
    {100, 10, {100, 1}, {send_result::backpressure, send_result::dropped}},
  };
  for (auto& row : rows) {
    outbound_budget b{row.max_bytes, row.max_frames};
    for (std::size_t i = 0; i < row.sizes.size(); ++i)
      CAF_CHECK(b.reserve(row.sizes[i]) == row.expected[i]);
  }
}

CAF_TEST(a refused frame counts nothing and released budget is reusable) {
  outbound_budget b{10, 10};
  CAF_CHECK(b.reserve(8) == send_result::backpressure);
  CAF_CHECK(b.reserve(5) == send_result::dropped);
  CAF_CHECK_EQUAL(b.bytes(), 8u);
  CAF_CHECK_EQUAL(b.frames(), 1u);
  CAF_CHECK(!b.fits(5));
  b.release(8, 1);
  CAF_CHECK(b.fits(5));
  CAF_CHECK(b.reserve(5) == send_result::queued);
}

CAF_TEST(gather yields each header then its shared payload in order) {
  outbound_queue q;
  CAF_CHECK(q.empty());
  auto hello = make_frame("hello");
  q.push_raw(make_frame("RAW"));
  q.push(ws_opcode::text, hello, true);
  q.push(ws_opcode::text, hello, true);
  CAF_CHECK_EQUAL(pending_bytes(q),
                  "RAW" + text_frame("hello") + text_frame("hello"));
  out_buffer bufs[64];
  auto n = q.gather(bufs, 64);
  CAF_REQUIRE_EQUAL(n, 5u);
  // The payload is shared, not copied.
  CAF_CHECK_EQUAL(bufs[2].data, static_cast<const void*>(hello->data()));
  CAF_CHECK_EQUAL(bufs[4].data, static_cast<const void*>(hello->data()));
}

CAF_TEST(gather stops at the buffer limit without splitting a frame) {
  outbound_queue q;
  for (int i = 0; i < 10; ++i)
    q.push(ws_opcode::text, make_frame("x"), true);
  out_buffer bufs[5];
  CAF_CHECK_EQUAL(q.gather(bufs, 5), 4u);
}

CAF_TEST(writes split at every byte consume exactly what left) {
  const std::vector<std::string> payloads{"a", std::string(200, 'b'), ""};
  std::string all;
  for (auto& p : payloads)
    all += text_frame(p);
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    outbound_queue q;
    for (auto& p : payloads)
      q.push(ws_opcode::text, make_frame(p), true);
    auto first = q.consume(cut);
    CAF_CHECK_EQUAL(pending_bytes(q), all.substr(cut));
    auto rest = q.consume(all.size() - cut);
    CAF_CHECK(q.empty());
    CAF_CHECK_EQUAL(first.frames + rest.frames, 3u);
    CAF_CHECK_EQUAL(first.bytes + rest.bytes, 201u);
  }
}

CAF_TEST(only counted frames give budget back) {
  outbound_queue q;
  q.push(ws_opcode::text, make_frame("data"), true);
  q.push(ws_opcode::close, make_frame("\x03\xe8"), false);
  q.push_raw(make_frame("raw"));
  auto r = q.consume(pending_bytes(q).size());
  CAF_CHECK_EQUAL(r.frames, 1u);
  CAF_CHECK_EQUAL(r.bytes, 4u);
}

CAF_TEST(dropping keeps the frame being written and returns the rest) {
  outbound_queue q;
  q.push(ws_opcode::text, make_frame("first"), true);
  q.push(ws_opcode::text, make_frame("second"), true);
  q.push(ws_opcode::text, make_frame("third"), true);
  q.consume(3); // Part of the first frame is out.
  CAF_CHECK(q.started());
  auto dropped = q.drop_unstarted();
  CAF_CHECK_EQUAL(dropped.frames, 2u);
  CAF_CHECK_EQUAL(dropped.bytes, 11u);
  CAF_CHECK_EQUAL(pending_bytes(q), text_frame("first").substr(3));
  auto rest = q.clear();
  CAF_CHECK_EQUAL(rest.frames, 1u);
  CAF_CHECK(q.empty());
}

CAF_TEST(dropping before anything left returns every counted frame) {
  outbound_queue q;
  q.push(ws_opcode::text, make_frame("ab"), true);
  q.push(ws_opcode::text, make_frame("cd"), true);
  auto dropped = q.drop_unstarted();
  CAF_CHECK_EQUAL(dropped.frames, 2u);
  CAF_CHECK(q.empty());
  q.compact();
  CAF_CHECK(q.empty());
}

CAF_TEST(an idle queue gives its storage back and a busy one keeps its frames) {
  outbound_queue q;
  q.push(ws_opcode::text, make_frame("ab"), true);
  q.release_storage(); // Something is queued: nothing changes.
  CAF_CHECK(q.holds_storage());
  CAF_CHECK_EQUAL(pending_bytes(q), text_frame("ab"));
  q.consume(text_frame("ab").size());
  q.compact();
  CAF_CHECK(q.holds_storage()); // compact() keeps a small buffer.
  q.release_storage();
  CAF_CHECK(!q.holds_storage());
  CAF_CHECK(q.empty());
  q.push(ws_opcode::text, make_frame("cd"), true);
  CAF_CHECK_EQUAL(pending_bytes(q), text_frame("cd"));
}
