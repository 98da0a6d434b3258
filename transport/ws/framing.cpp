// RFC 6455 framing for the server side (see websocket_frame.hpp).
#include "transport/ws/framing.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace starling::transport::ws {

std::string websocket_accept(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input{key};
  input += guid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
       digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  auto n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

std::size_t websocket_header(ws_opcode opcode, uint64_t size, uint8_t out[10]) {
  out[0] = static_cast<uint8_t>(0x80 | static_cast<uint8_t>(opcode));
  if (size < 126) {
    out[1] = static_cast<uint8_t>(size);
    return 2;
  }
  if (size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(size >> 8);
    out[3] = static_cast<uint8_t>(size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<uint8_t>(size >> (56 - 8 * i));
  return 10;
}

bool is_valid_utf8(std::string_view text) {
  auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n)
      return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800)
        || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

websocket_parser::partial& websocket_parser::partial_buffers() {
  if (!partial_)
    partial_ = std::make_unique<partial>();
  return *partial_;
}

void websocket_parser::release_if_done() {
  if (partial_ && !in_message_ && partial_->pending.empty())
    partial_.reset();
}

uint16_t websocket_parser::feed(const char* data, std::size_t len,
                                std::vector<ws_message>& out) {
  uint16_t error = 0;
  if (!partial_ || partial_->pending.empty()) {
    auto used = parse(data, len, out, error);
    if (error == 0 && used < len)
      partial_buffers().pending.assign(data + used, len - used);
    release_if_done();
    return error;
  }
  auto& pending = partial_->pending;
  pending.append(data, len);
  auto used = parse(pending.data(), pending.size(), out, error);
  if (error == 0) {
    pending.erase(0, used);
    release_if_done();
  }
  return error;
}

std::size_t websocket_parser::parse(const char* data, std::size_t len,
                                    std::vector<ws_message>& out,
                                    uint16_t& error) {
  auto* p = reinterpret_cast<const uint8_t*>(data);
  std::size_t pos = 0;
  while (len - pos >= 2) {
    auto b0 = p[pos];
    auto b1 = p[pos + 1];
    bool fin = (b0 & 0x80) != 0;
    auto opcode = static_cast<ws_opcode>(b0 & 0x0F);
    bool control = (b0 & 0x08) != 0;
    // RFC 6455 §5.1/§5.2: no extensions are negotiated, so RSV bits must be
    // 0, and client frames must be masked.
    if ((b0 & 0x70) != 0 || (b1 & 0x80) == 0) {
      error = ws_protocol_error;
      return pos;
    }
    uint64_t size = b1 & 0x7F;
    std::size_t header = 2;
    if (size == 126) {
      if (len - pos < 4)
        break;
      size = (uint64_t{p[pos + 2]} << 8) | p[pos + 3];
      header = 4;
    } else if (size == 127) {
      if (len - pos < 10)
        break;
      size = 0;
      for (int i = 0; i < 8; ++i)
        size = (size << 8) | p[pos + 2 + i];
      header = 10;
      if (size >> 63) {
        error = ws_protocol_error;
        return pos;
      }
    }
    if (control && (!fin || size > 125)) {
      error = ws_protocol_error;
      return pos;
    }
    // Refuse an oversized message as soon as its header says so, before
    // buffering any of it.
    if (!control
        && (in_message_ ? partial_->fragments.size() : 0) + size
             > max_message_) {
      error = ws_too_big;
      return pos;
    }
    if (len - pos < header + 4 + size)
      break;
    const uint8_t* mask = p + pos + header;
    const uint8_t* body = mask + 4;
    std::string payload(static_cast<std::size_t>(size), '\0');
    for (std::size_t i = 0; i < size; ++i)
      payload[i] = static_cast<char>(body[i] ^ mask[i & 3]);
    pos += header + 4 + static_cast<std::size_t>(size);
    switch (opcode) {
      case ws_opcode::close:
      case ws_opcode::ping:
      case ws_opcode::pong:
        out.push_back(ws_message{opcode, std::move(payload)});
        if (opcode == ws_opcode::close)
          return pos; // Nothing after a close counts.
        continue;
      case ws_opcode::text:
      case ws_opcode::binary:
        if (in_message_) {
          error = ws_protocol_error;
          return pos;
        }
        if (!fin) {
          in_message_ = true;
          fragment_opcode_ = opcode;
          partial_buffers().fragments = std::move(payload);
          continue;
        }
        break;
      case ws_opcode::continuation:
        if (!in_message_) {
          error = ws_protocol_error;
          return pos;
        }
        partial_->fragments += payload;
        if (!fin)
          continue;
        in_message_ = false;
        opcode = fragment_opcode_;
        payload = std::move(partial_->fragments);
        partial_->fragments = std::string{};
        break;
      default:
        error = ws_protocol_error;
        return pos;
    }
    if (opcode == ws_opcode::text && !is_valid_utf8(payload)) {
      error = ws_invalid_payload;
      return pos;
    }
    out.push_back(ws_message{opcode, std::move(payload)});
  }
  return pos;
}

} // namespace starling::transport::ws
