// Channel kinds and their capabilities (Pusher protocol §2.1).
#include "pusher/channel_kind.hpp"

#include <string>

namespace starling::pusher {

namespace {

constexpr std::string_view user_channel_prefix = "#server-to-user-";
constexpr std::string_view watchlist_prefix = "#watchlist-";

/// One prefix and what it means.
struct prefix_rule {
  std::string_view prefix; ///< Anchored at the start of the name.
  channel_kind kind;       ///< Authorization kind.
  bool cached;             ///< Whether the channel keeps its last event.
};

// Longest first: `private-encrypted-cache-` must win over `private-encrypted-`
// and `private-`. Anchored matching only; Soketi and Sockudo use unanchored
// regexes and so call `chat-cache-1` a cache channel (protocol §2.1 pitfall).
constexpr prefix_rule prefix_rules[] = {
  {"private-encrypted-cache-", channel_kind::encrypted_channel, true},
  {"private-encrypted-", channel_kind::encrypted_channel, false},
  {"private-cache-", channel_kind::private_channel, true},
  {"private-", channel_kind::private_channel, false},
  {"presence-cache-", channel_kind::presence_channel, true},
  {"presence-", channel_kind::presence_channel, false},
  {"cache-", channel_kind::public_channel, true},
  {user_channel_prefix, channel_kind::user_channel, false},
  {watchlist_prefix, channel_kind::watchlist_channel, false},
};

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

} // namespace

bool channel_traits::needs_auth() const {
  switch (kind) {
    case channel_kind::private_channel:
    case channel_kind::encrypted_channel:
    case channel_kind::presence_channel:
      return true;
    default:
      return false;
  }
}

bool channel_traits::needs_user() const {
  return kind == channel_kind::user_channel;
}

bool channel_traits::has_roster() const {
  return kind == channel_kind::presence_channel
         || kind == channel_kind::watchlist_channel;
}

bool channel_traits::keeps_last_event() const {
  return cached;
}

bool channel_traits::counts_subscriptions() const {
  return kind != channel_kind::presence_channel && !is_internal();
}

bool channel_traits::allows_client_events() const {
  // pusher-js refuses to send client events on encrypted channels, so
  // nothing legitimate arrives there.
  return kind == channel_kind::private_channel
         || kind == channel_kind::presence_channel;
}

bool channel_traits::is_internal() const {
  return kind == channel_kind::watchlist_channel;
}

channel_traits classify_channel(std::string_view name) {
  for (const auto& rule : prefix_rules)
    if (starts_with(name, rule.prefix))
      return channel_traits{rule.kind, rule.cached};
  return channel_traits{};
}

std::string_view user_channel_id(std::string_view name) {
  if (!starts_with(name, user_channel_prefix))
    return {};
  return name.substr(user_channel_prefix.size());
}

std::string watchlist_channel(std::string_view user_id) {
  std::string name{watchlist_prefix};
  name += user_id;
  return name;
}

std::string_view watchlist_user_id(std::string_view name) {
  if (!starts_with(name, watchlist_prefix))
    return {};
  return name.substr(watchlist_prefix.size());
}

} // namespace starling::pusher
