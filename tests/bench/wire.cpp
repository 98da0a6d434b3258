// Bench wire helpers: RFC 6455 framing, HTTP heads and Pusher REST signing for
// starling_loadgen. OpenSSL supplies SHA1, MD5, HMAC and base64.
#include "wire.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>

namespace starling::bench {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex(const unsigned char* p, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = hex_digits[p[i] >> 4];
    out[2 * i + 1] = hex_digits[p[i] & 0xF];
  }
  return out;
}

std::string base64(const unsigned char* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p,
                            static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty()
         && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  out.append(buf, static_cast<size_t>(n));
}

} // namespace

void append_frame(std::string& out, ws_opcode op, std::string_view payload,
                  bool masked, uint32_t mask_key) {
  const uint64_t n = payload.size();
  const uint8_t mask_bit = masked ? 0x80 : 0;
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  // RFC 6455 §5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit, big endian.
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  if (!masked) {
    out.append(payload);
    return;
  }
  unsigned char mask[4] = {static_cast<unsigned char>(mask_key >> 24),
                           static_cast<unsigned char>(mask_key >> 16),
                           static_cast<unsigned char>(mask_key >> 8),
                           static_cast<unsigned char>(mask_key)};
  out.append(reinterpret_cast<const char*>(mask), 4);
  size_t base = out.size();
  out.append(payload);
  // RFC 6455 §5.3: octet i is XORed with mask octet i mod 4.
  for (size_t i = 0; i < n; ++i)
    out[base + i] = static_cast<char>(out[base + i] ^ mask[i & 3]);
}

parse_status parse_frame(char* data, size_t size, ws_frame& frame,
                         size_t& consumed) {
  auto* p = reinterpret_cast<unsigned char*>(data);
  if (size < 2)
    return parse_status::need_more;
  // RSV bits must be zero: we never negotiate extensions (§5.2).
  if (p[0] & 0x70)
    return parse_status::error;
  frame.fin = (p[0] & 0x80) != 0;
  frame.opcode = static_cast<ws_opcode>(p[0] & 0x0F);
  const bool masked = (p[1] & 0x80) != 0;
  uint64_t len = p[1] & 0x7F;
  size_t pos = 2;
  if (len == 126) {
    if (size < 4)
      return parse_status::need_more;
    len = (uint64_t{p[2]} << 8) | p[3];
    pos = 4;
  } else if (len == 127) {
    if (size < 10)
      return parse_status::need_more;
    len = 0;
    for (int i = 0; i < 8; ++i)
      len = (len << 8) | p[2 + i];
    pos = 10;
  }
  if (len > max_frame_payload)
    return parse_status::error;
  // Control frames carry at most 125 bytes and are never fragmented (§5.5).
  if ((p[0] & 0x08) && (len > 125 || !frame.fin))
    return parse_status::error;
  unsigned char mask[4] = {0, 0, 0, 0};
  if (masked) {
    if (size < pos + 4)
      return parse_status::need_more;
    memcpy(mask, p + pos, 4);
    pos += 4;
  }
  if (size - pos < len)
    return parse_status::need_more;
  if (masked)
    for (uint64_t i = 0; i < len; ++i)
      p[pos + i] ^= mask[i & 3];
  frame.payload = std::string_view(data + pos, static_cast<size_t>(len));
  consumed = pos + static_cast<size_t>(len);
  return parse_status::ok;
}

std::string make_ws_key(uint64_t a, uint64_t b) {
  unsigned char raw[16];
  memcpy(raw, &a, 8);
  memcpy(raw + 8, &b, 8);
  return base64(raw, sizeof raw);
}

std::string ws_accept_for(std::string_view key) {
  static constexpr std::string_view guid
    = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string text;
  text.reserve(key.size() + guid.size());
  text.append(key).append(guid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
       digest);
  return base64(digest, sizeof digest);
}

std::string upgrade_request(std::string_view host_port, std::string_view target,
                            std::string_view key) {
  std::string req;
  req.reserve(256);
  req.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ");
  req.append(host_port);
  req.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
  req.append(key).append("\r\n\r\n");
  return req;
}

parse_status parse_http_head(std::string_view in, http_head& head) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return in.size() > 16384 ? parse_status::error : parse_status::need_more;
  head = http_head{};
  head.head_size = end + 4;
  std::string_view rest = in.substr(0, end + 2);
  size_t eol = rest.find("\r\n");
  std::string_view status_line = rest.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
    return parse_status::error;
  size_t sp = status_line.find(' ');
  if (sp == std::string_view::npos || sp + 4 > status_line.size())
    return parse_status::error;
  head.status = atoi(std::string(status_line.substr(sp + 1, 3)).c_str());
  rest.remove_prefix(eol + 2);
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length"))
      head.content_length = atoll(std::string(value).c_str());
    else if (iequals(name, "transfer-encoding"))
      head.chunked = contains(value, "chunked");
    else if (iequals(name, "connection"))
      head.close = iequals(value, "close");
    else if (iequals(name, "sec-websocket-accept"))
      head.accept = value;
  }
  return parse_status::ok;
}

parse_status measure_chunked_body(std::string_view in, size_t& consumed) {
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos)
      return parse_status::need_more;
    char* endp = nullptr;
    std::string size_text(in.substr(pos, eol - pos));
    unsigned long chunk = strtoul(size_text.c_str(), &endp, 16);
    if (endp == size_text.c_str())
      return parse_status::error;
    pos = eol + 2;
    if (chunk == 0) {
      // Trailers are not expected from our server: the body ends with CRLF.
      if (in.size() < pos + 2)
        return parse_status::need_more;
      consumed = pos + 2;
      return parse_status::ok;
    }
    if (in.size() < pos + chunk + 2)
      return parse_status::need_more;
    pos += chunk + 2;
  }
}

std::string hex_md5(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  return to_hex(digest, len);
}

std::string hex_hmac_sha256(std::string_view key, std::string_view msg) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), digest,
       &len);
  return to_hex(digest, len);
}

std::string signed_events_target(std::string_view app_id, std::string_view key,
                                 std::string_view secret, std::string_view body,
                                 int64_t unix_seconds) {
  std::string path = "/apps/";
  path.append(app_id).append("/events");
  // Keys already in byte order: auth_key < auth_timestamp < auth_version <
  // body_md5.
  std::string query = "auth_key=";
  query.append(key).append("&auth_timestamp=");
  append_int(query, unix_seconds);
  query.append("&auth_version=1.0&body_md5=").append(hex_md5(body));
  std::string to_sign = "POST\n";
  to_sign.append(path).append("\n").append(query);
  std::string target = std::move(path);
  target.append("?").append(query).append("&auth_signature=");
  target.append(hex_hmac_sha256(secret, to_sign));
  return target;
}

std::string make_event_body(std::string_view event, std::string_view channel,
                            int64_t t_ns, int64_t seq, int payload_bytes) {
  return make_event_body(event, std::vector<std::string_view>{channel}, t_ns,
                         seq, payload_bytes);
}

std::string make_event_body(std::string_view event,
                            const std::vector<std::string_view>& channels,
                            int64_t t_ns, int64_t seq, int payload_bytes) {
  // The data string is JSON text; only its quotes need escaping inside the
  // body.
  std::string data = "{\"t\":";
  append_int(data, t_ns);
  data.append(",\"i\":");
  append_int(data, seq);
  data.append(",\"f\":\"");
  const size_t fixed = data.size() + 2;
  if (payload_bytes > 0 && static_cast<size_t>(payload_bytes) > fixed)
    data.append(static_cast<size_t>(payload_bytes) - fixed, 'x');
  data.append("\"}");
  std::string body = "{\"name\":\"";
  body.append(event).append("\",\"channels\":[");
  for (size_t k = 0; k < channels.size(); ++k) {
    if (k > 0)
      body.push_back(',');
    body.append("\"").append(channels[k]).append("\"");
  }
  body.append("],\"data\":\"");
  for (char c : data) {
    if (c == '"')
      body.push_back('\\');
    body.push_back(c);
  }
  body.append("\"}");
  return body;
}

namespace {

// Reads the integer after `escaped` (inside a data string, the usual case:
// "t\":) or else `plain` ("t":) in a delivered frame.
bool extract_int(std::string_view frame, std::string_view escaped,
                 std::string_view plain, int64_t& out) {
  size_t pos = frame.find(escaped);
  size_t skip = escaped.size();
  if (pos == std::string_view::npos) {
    pos = frame.find(plain);
    skip = plain.size();
  }
  if (pos == std::string_view::npos)
    return false;
  pos += skip;
  int64_t v = 0;
  size_t digits = 0;
  while (pos < frame.size() && frame[pos] >= '0' && frame[pos] <= '9') {
    v = v * 10 + (frame[pos] - '0');
    ++pos;
    ++digits;
  }
  if (digits == 0 || digits > 19)
    return false;
  out = v;
  return true;
}

} // namespace

bool extract_send_time(std::string_view frame, int64_t& t_ns) {
  return extract_int(frame, "\"t\\\":", "\"t\":", t_ns);
}

bool extract_seq(std::string_view frame, int64_t& seq) {
  return extract_int(frame, "\"i\\\":", "\"i\":", seq);
}

bool contains(std::string_view hay, std::string_view needle) {
  return memmem(hay.data(), hay.size(), needle.data(), needle.size())
         != nullptr;
}

} // namespace starling::bench
