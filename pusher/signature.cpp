// HMAC-SHA256 and MD5 over OpenSSL, and the Pusher signature checks for
// channel auth, sign-in and REST requests (Pusher protocol §3, §4.1, §6.1).
#include "pusher/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace starling::pusher {

namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Decodes %XX; an escape that is not two hex digits stays literal, and '+'
// stays '+' (Pusher signs values unescaped, not form-decoded).
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      auto hi = hex_value(text[i + 1]);
      auto lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string ascii_lower(std::string text) {
  for (auto& c : text)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return text;
}

std::string ascii_upper(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// Checks "<app_key>:<hex>" against HMAC(secret, message).
bool verify_key_and_signature(std::string_view app_key,
                              std::string_view app_secret,
                              std::string_view message, std::string_view auth) {
  auto colon = auth.find(':');
  if (colon == std::string_view::npos)
    return false;
  // The key is public; only the signature needs a constant-time compare.
  if (auth.substr(0, colon) != app_key)
    return false;
  return constant_time_equal(auth.substr(colon + 1),
                             hmac_sha256_hex(app_secret, message));
}

// Parses a non-negative decimal Unix timestamp; false when it is not one.
bool parse_timestamp(std::string_view text, int64_t& out) {
  // 18 digits cannot overflow int64_t.
  if (text.empty() || text.size() > 18)
    return false;
  int64_t value = 0;
  for (auto c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

} // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // HMAC() wants a non-null key pointer even for an empty key.
  static constexpr unsigned char empty = 0;
  auto key_ptr = key.empty()
    ? &empty
    : reinterpret_cast<const unsigned char*>(key.data());
  auto msg_ptr = message.empty()
    ? &empty
    : reinterpret_cast<const unsigned char*>(message.data());
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), msg_ptr,
           message.size(), digest, &size)
      == nullptr)
    return {};
  return to_hex(digest, size);
}

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr)
      != 1)
    return {};
  return to_hex(digest, size);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  if (a.empty())
    return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool verify_channel_auth(std::string_view app_key, std::string_view app_secret,
                         std::string_view socket_id, std::string_view channel,
                         std::string_view channel_data, bool with_channel_data,
                         std::string_view auth) {
  std::string message;
  message.reserve(socket_id.size() + channel.size() + channel_data.size() + 2);
  message.append(socket_id).append(1, ':').append(channel);
  if (with_channel_data)
    message.append(1, ':').append(channel_data);
  return verify_key_and_signature(app_key, app_secret, message, auth);
}

bool verify_user_auth(std::string_view app_key, std::string_view app_secret,
                      std::string_view socket_id, std::string_view user_data,
                      std::string_view auth) {
  std::string message;
  message.append(socket_id).append("::user::").append(user_data);
  return verify_key_and_signature(app_key, app_secret, message, auth);
}

query_params parse_query(std::string_view query) {
  query_params params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      params.emplace_back(percent_decode(pair), std::string{});
    else
      params.emplace_back(percent_decode(pair.substr(0, eq)),
                          percent_decode(pair.substr(eq + 1)));
  }
  return params;
}

const std::string* find_param(const query_params& params,
                              std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key)
      return &v;
  return nullptr;
}

std::string rest_string_to_sign(std::string_view method, std::string_view path,
                                const query_params& params) {
  query_params signed_params;
  signed_params.reserve(params.size());
  for (const auto& [k, v] : params) {
    auto key = ascii_lower(k);
    if (key != "auth_signature")
      signed_params.emplace_back(std::move(key), v);
  }
  std::stable_sort(signed_params.begin(), signed_params.end(),
                   [](const auto& x, const auto& y) {
                     return x.first < y.first;
                   });
  auto out = ascii_upper(method);
  out.append(1, '\n').append(path).append(1, '\n');
  for (std::size_t i = 0; i < signed_params.size(); ++i) {
    if (i > 0)
      out += '&';
    out.append(signed_params[i].first)
      .append(1, '=')
      .append(signed_params[i].second);
  }
  return out;
}

std::string describe(rest_auth_error error) {
  switch (error) {
    case rest_auth_error::none:
      return "Authenticated";
    case rest_auth_error::missing_param:
      return "Missing auth_key, auth_timestamp, auth_version or auth_signature "
             "query parameter";
    case rest_auth_error::wrong_key:
      return "auth_key does not match the key of this app";
    case rest_auth_error::bad_version:
      return "auth_version must be 1.0";
    case rest_auth_error::stale_timestamp:
      return "auth_timestamp must be Unix seconds close to the server's time; "
             "check the client's clock";
    case rest_auth_error::bad_body_md5:
      return "body_md5 must be the lowercase hex MD5 of the request body";
    case rest_auth_error::bad_signature:
      return "Invalid signature: expected the lowercase hex HMAC-SHA256, keyed "
             "with the app secret, of METHOD\\npath\\nquery with the query "
             "params except auth_signature, keys lowercased, sorted by key, "
             "values not URL-escaped";
  }
  return "Unknown authentication error";
}

rest_auth_error
verify_rest_request(std::string_view method, std::string_view path,
                    const query_params& params, std::string_view body,
                    std::string_view app_key, std::string_view app_secret,
                    int64_t now_unix, int64_t window_s) {
  auto key = find_param(params, "auth_key");
  auto timestamp = find_param(params, "auth_timestamp");
  auto version = find_param(params, "auth_version");
  auto signature = find_param(params, "auth_signature");
  if (!key || !timestamp || !version || !signature)
    return rest_auth_error::missing_param;
  if (*key != app_key)
    return rest_auth_error::wrong_key;
  if (*version != "1.0")
    return rest_auth_error::bad_version;
  int64_t ts = 0;
  if (!parse_timestamp(*timestamp, ts))
    return rest_auth_error::stale_timestamp;
  auto skew = now_unix > ts ? now_unix - ts : ts - now_unix;
  if (skew > window_s)
    return rest_auth_error::stale_timestamp;
  // Protocol §6.1: body_md5 is required for a non-empty body. When it is sent
  // with an empty body it is signed anyway, so it must still be right.
  auto body_md5 = find_param(params, "body_md5");
  if (!body.empty() && !body_md5)
    return rest_auth_error::bad_body_md5;
  if (body_md5 && *body_md5 != md5_hex(body))
    return rest_auth_error::bad_body_md5;
  auto expected = hmac_sha256_hex(app_secret,
                                  rest_string_to_sign(method, path, params));
  if (!constant_time_equal(*signature, expected))
    return rest_auth_error::bad_signature;
  return rest_auth_error::none;
}

} // namespace starling::pusher
