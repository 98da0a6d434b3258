// Channel kinds and what each can do (Pusher protocol §2.1): the one place
// that turns a name's prefix into capabilities. Actors and the HTTP API ask
// these questions; none of them looks at a prefix itself.
#pragma once

#include <string_view>

namespace starling::pusher {

/// How a channel is authorized; independent of whether it is cached.
enum class channel_kind {
  public_channel,    ///< No prefix (or `cache-`): no auth.
  private_channel,   ///< `private-`: signed `socket_id:channel`.
  encrypted_channel, ///< `private-encrypted-`: signed like private.
  presence_channel,  ///< `presence-`: signed with channel_data, has a roster.
  user_channel,      ///< `#server-to-user-<id>`: signed-in user only.
  /// `#watchlist-<user id>`: Starling's own, never subscribed by clients.
  /// Its roster is the user's signed-in connections cluster-wide; watchers
  /// hear `online`/`offline` when it fills or empties.
  watchlist_channel,
};

/// What a channel name says about the channel.
struct channel_traits {
  channel_kind kind = channel_kind::public_channel; ///< Authorization kind.
  bool cached = false; ///< One of the four `*cache-` prefixes.

  /// Returns whether subscribing needs an `auth` signature (private,
  /// encrypted and presence kinds).
  bool needs_auth() const;

  /// Returns whether subscribing needs a sign-in as the channel's user
  /// (`#server-to-user-`; protocol §4.3).
  bool needs_user() const;

  /// Returns whether the channel keeps a roster of members (presence) whose
  /// joins and leaves are announced.
  bool has_roster() const;

  /// Returns whether the channel keeps its last event for new subscribers
  /// (the cache kinds).
  bool keeps_last_event() const;

  /// Returns whether subscription counts are sent (when the app enables
  /// them): every client-visible kind but presence (protocol §2.9).
  bool counts_subscriptions() const;

  /// Returns whether clients may send `client-` events (private and
  /// presence, with their cache variants; protocol §5).
  bool allows_client_events() const;

  /// Returns whether the channel is Starling's own: no webhooks, not listed
  /// by the HTTP API, and never subscribed by a client directly.
  bool is_internal() const;
};

/// Classifies `name` by prefix, longest prefix first (`private-encrypted-`
/// before `private-`). Cache is an extra attribute, never a kind.
channel_traits classify_channel(std::string_view name);

/// Returns the user id of a `#server-to-user-<id>` channel, or empty.
std::string_view user_channel_id(std::string_view name);

/// Returns the internal channel whose roster is `user_id`'s signed-in
/// connections (watchlist_channel).
std::string watchlist_channel(std::string_view user_id);

/// Returns the user id of a watchlist channel, or empty.
std::string_view watchlist_user_id(std::string_view name);

} // namespace starling::pusher
