// `starling_loadgen self-test`: checks the wire helpers and the histogram
// without a server (test vectors from RFC 6455 and the Pusher REST docs).
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "histogram.hpp"
#include "wire.hpp"

namespace starling::bench {

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    ++failures;
    fprintf(stderr, "FAIL: %s\n", what);
  }
}

void test_signing() {
  // Pusher protocol reference §6.1, first test vector.
  const std::string body
    = R"({"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"})";
  check(hex_md5(body) == "ec365a775a4cd0599faeb73354201b6f", "body_md5 vector");
  std::string target = signed_events_target(
    "3", "278d425bdf160c739803", "7ad3773142a6692b25b8", body, 1353088179);
  check(target
          == "/apps/3/"
             "events?auth_key=278d425bdf160c739803&auth_timestamp=1353088179"
             "&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
             "&auth_signature="
             "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
        "signed events target vector");
}

void test_handshake() {
  // RFC 6455 §1.3 example key and accept value.
  check(ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==")
          == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "Sec-WebSocket-Accept vector");
  check(make_ws_key(1, 2).size() == 24, "Sec-WebSocket-Key is 16 bytes base64");
  std::string resp
    = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "connection: Upgrade\r\nsec-websocket-accept:  abc= \r\n\r\nXY";
  http_head head;
  check(parse_http_head(resp, head) == parse_status::ok, "upgrade head parses");
  check(head.status == 101 && head.accept == "abc=",
        "upgrade status and accept");
  check(head.head_size == resp.size() - 2, "head size stops at CRLFCRLF");
  check(parse_http_head(resp.substr(0, 30), head) == parse_status::need_more,
        "partial head needs more");
}

void test_http_bodies() {
  http_head head;
  std::string r
    = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
  check(parse_http_head(r, head) == parse_status::ok && head.status == 200
          && head.content_length == 2 && head.close,
        "content-length response");
  std::string chunked = "2\r\n{}\r\n0\r\n\r\n";
  size_t used = 0;
  check(measure_chunked_body(chunked, used) == parse_status::ok
          && used == chunked.size(),
        "chunked body");
  for (size_t cut = 0; cut < chunked.size(); ++cut)
    check(measure_chunked_body(chunked.substr(0, cut), used)
            == parse_status::need_more,
          "chunked body split needs more");
}

void round_trip(size_t n, bool masked) {
  std::string payload(n, 'a');
  for (size_t i = 0; i < n; ++i)
    payload[i] = static_cast<char>('a' + i % 26);
  std::string wire;
  append_frame(wire, ws_opcode::text, payload, masked, 0xA1B2C3D4u);
  ws_frame frame;
  size_t used = 0;
  std::string buf = wire;
  check(parse_frame(buf.data(), buf.size(), frame, used) == parse_status::ok,
        "frame parses");
  check(used == wire.size() && frame.fin && frame.opcode == ws_opcode::text
          && frame.payload == payload,
        "frame round trip");
  // Every strict prefix must ask for more, never misparse (split at each byte
  // for small frames, a few cuts for big ones).
  size_t step = wire.size() > 300 ? wire.size() / 7 : 1;
  for (size_t cut = 0; cut < wire.size(); cut += step) {
    std::string part = wire.substr(0, cut);
    check(parse_frame(part.data(), part.size(), frame, used)
            == parse_status::need_more,
          "prefix needs more");
  }
}

void test_frames() {
  for (size_t n : {0, 1, 125, 126, 127, 65535, 65536, 70000})
    for (bool masked : {false, true})
      round_trip(n, masked);
  std::string wire;
  append_frame(wire, ws_opcode::text, "hello", false, 0);
  check(static_cast<unsigned char>(wire[0]) == 0x81 && wire[1] == 5,
        "small header");
  wire.clear();
  append_frame(wire, ws_opcode::text, std::string(126, 'x'), true, 1);
  check(static_cast<unsigned char>(wire[1]) == (0x80 | 126) && wire[2] == 0
          && static_cast<unsigned char>(wire[3]) == 126,
        "16-bit length header");
  wire.clear();
  append_frame(wire, ws_opcode::text, std::string(65536, 'x'), false, 0);
  check(wire[1] == 127 && wire[7] == 1 && wire[8] == 0 && wire[9] == 0,
        "64-bit length header");
  std::string bad("\x89\x7e\x00\x80", 4); // a ping claiming 128 bytes
  ws_frame frame;
  size_t used = 0;
  check(parse_frame(bad.data(), bad.size(), frame, used) == parse_status::error,
        "oversized control frame rejected");
  std::string two;
  append_frame(two, ws_opcode::ping, "p", false, 0);
  append_frame(two, ws_opcode::text, "t", false, 0);
  check(parse_frame(two.data(), two.size(), frame, used) == parse_status::ok
          && frame.opcode == ws_opcode::ping && used == 3,
        "first of two frames");
}

void test_event_body() {
  std::string body
    = make_event_body("bench-event", "bench", 1234567890123456789, 7, 100);
  check(body.rfind(
          R"({"name":"bench-event","channels":["bench"],"data":"{\"t\":)", 0)
          == 0,
        "event body prefix");
  size_t data_at = body.find(R"("data":")") + 8;
  std::string data = body.substr(data_at, body.size() - data_at - 2);
  size_t escapes = 0;
  for (char c : data)
    escapes += c == '\\';
  check(data.size() - escapes == 100, "data string is 100 bytes");
  std::string frame = R"({"event":"bench-event","channel":"bench",)"
                      R"("data":"{\"t\":1234567890123456789,\"i\":7}"})";
  int64_t t = 0;
  check(extract_send_time(frame, t) && t == 1234567890123456789,
        "send time from frame");
  check(extract_send_time(R"({"t":42})", t) && t == 42,
        "send time from plain JSON");
  check(!extract_send_time(R"({"x":1})", t), "no send time");
  int64_t seq = -1;
  check(extract_seq(frame, seq) && seq == 7, "sequence from frame");
  check(!extract_seq(R"({"t":42})", seq), "no sequence");
  std::string multi = make_event_body(
    "e", std::vector<std::string_view>{"c-0", "c-1", "c-2"}, 5, 3, 0);
  check(multi.rfind(R"({"name":"e","channels":["c-0","c-1","c-2"],"data":)", 0)
          == 0,
        "multi-channel body");
}

void test_histogram() {
  latency_histogram h;
  for (int64_t v = 1; v <= 100000; ++v)
    h.record(v * 1000); // 1 us .. 100 ms, uniform
  auto near = [](uint64_t got, double want) {
    return got >= want * 0.96 && got <= want * 1.04;
  };
  check(h.count() == 100000 && h.max() == 100000000, "histogram count and max");
  check(near(h.percentile(0.5), 50e6), "p50 within 4%");
  check(near(h.percentile(0.99), 99e6), "p99 within 4%");
  latency_histogram merged;
  check(merged.merge_text(h.to_text()), "histogram text parses");
  check(merged.count() == h.count()
          && merged.percentile(0.9) == h.percentile(0.9),
        "histogram survives text");
  latency_histogram small;
  small.record(-5);
  small.record(3);
  check(small.percentile(0.0) == 0 && small.percentile(1.0) == 3,
        "small values exact");
}

} // namespace

/// Runs every check; returns 0 when all pass.
int run_self_test() {
  test_signing();
  test_handshake();
  test_http_bodies();
  test_frames();
  test_event_body();
  test_histogram();
  if (failures == 0)
    printf("self-test ok\n");
  return failures == 0 ? 0 : 1;
}

} // namespace starling::bench
