// A roster member's identity (presence user id and info), held by a
// connection's subscription and a channel's subscriber entry only when the
// subscriber is a member: other subscriptions pay one null pointer instead
// of two strings.
#pragma once

#include <memory>
#include <string>

namespace starling {

/// A presence member's user id and user info JSON text.
struct member_identity {
  std::string user_id;   ///< Roster user id.
  std::string user_info; ///< Roster user info JSON text, or empty.
};

/// Shared, immutable; null for subscribers that are not members.
using member_identity_ptr = std::shared_ptr<const member_identity>;

/// Returns an identity holding `user_id` and `user_info`.
inline member_identity_ptr make_member_identity(std::string user_id,
                                                std::string user_info) {
  return std::make_shared<const member_identity>(
    member_identity{std::move(user_id), std::move(user_info)});
}

} // namespace starling
