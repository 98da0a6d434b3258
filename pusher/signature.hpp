// Signatures: channel auth, user sign-in, REST request auth and webhook
// signing (Pusher protocol §3, §4.1, §6.1, §7.1). Pure; OpenSSL for hashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace starling::pusher {

/// Returns lowercase hex HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// Returns lowercase hex MD5(data).
std::string md5_hex(std::string_view data);

/// Compares in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Checks a subscribe `auth` ("<key>:<hex>") against
/// HMAC(secret, socket_id ":" channel [":" channel_data]). `channel_data` is
/// signed only when `with_channel_data`.
bool verify_channel_auth(std::string_view app_key, std::string_view app_secret,
                         std::string_view socket_id, std::string_view channel,
                         std::string_view channel_data, bool with_channel_data,
                         std::string_view auth);

/// Checks a signin `auth` against HMAC(secret, socket_id "::user::" user_data).
bool verify_user_auth(std::string_view app_key, std::string_view app_secret,
                      std::string_view socket_id, std::string_view user_data,
                      std::string_view auth);

/// Query parameters, percent-decoded, in arrival order.
using query_params = std::vector<std::pair<std::string, std::string>>;

/// Splits `a=1&b=%2C` into decoded pairs ('+' stays '+'; a key without '='
/// gets an empty value).
query_params parse_query(std::string_view query);

/// Returns the decoded value of `key` in `params`, or nullptr.
const std::string* find_param(const query_params& params, std::string_view key);

/// Builds `METHOD\npath\nk=v&...`: every param but auth_signature, keys
/// lowercased, sorted by key, values unescaped.
std::string rest_string_to_sign(std::string_view method, std::string_view path,
                                const query_params& params);

/// Why a REST request failed authentication (all map to HTTP 401).
enum class rest_auth_error {
  none,            ///< Authenticated.
  missing_param,   ///< auth_key, auth_timestamp, auth_version or auth_signature missing.
  wrong_key,       ///< auth_key is not the app's key.
  bad_version,     ///< auth_version is not 1.0.
  stale_timestamp, ///< auth_timestamp more than the window away from now.
  bad_body_md5,    ///< body_md5 missing for a body, or not matching it.
  bad_signature,   ///< auth_signature does not match.
};

/// Returns a message that tells the caller what to fix.
std::string describe(rest_auth_error error);

/// Verifies a REST request's signature, key, version, timestamp window
/// (±`window_s` around `now_unix`) and body_md5.
rest_auth_error verify_rest_request(std::string_view method, std::string_view path,
                                    const query_params& params, std::string_view body,
                                    std::string_view app_key,
                                    std::string_view app_secret, int64_t now_unix,
                                    int64_t window_s = 600);

} // namespace starling::pusher
