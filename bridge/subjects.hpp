// NATS subject names of the cluster bridge, built in one place: the event
// subject of a channel, the membership subject and a node's own subject.
// Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace starling::bridge {

/// Encodes `channel` into one legal NATS subject token, reversibly and
/// injectively: `[A-Za-z0-9_\-=@,;]` stays as is, every other byte (`.`,
/// `#`, `%`, `*`, `>`, whitespace, non-ASCII) becomes `%XX` with uppercase
/// hex. The empty name, never a legal Pusher name, becomes `%`. A token is at
/// most three times the name's length. Works for any string, not only
/// channel names (app ids, node ids).
std::string channel_token(std::string_view channel);

/// Decodes a token made by `channel_token`. Returns nullopt for any string
/// `channel_token` never makes (bad or lowercase escapes, escaped characters
/// that need no escape, characters that must be escaped), so decoding is the
/// exact inverse of encoding.
std::optional<std::string> decode_channel_token(std::string_view token);

/// Returns whether `token` is a legal single NATS subject token: non-empty,
/// no `.`, no whitespace or control character, and not a wildcard (`*`,
/// `>`) anywhere in it.
bool is_subject_token(std::string_view token);

/// Returns the subject on which the owner of `channel` of app `app_id`
/// publishes its events: `<prefix>.ev.<app token>.<channel token>`.
std::string event_subject(std::string_view prefix, std::string_view app_id,
                          std::string_view channel);

/// Returns the subject on which nodes announce themselves, send heartbeats
/// and say goodbye: `<prefix>.members`.
std::string members_subject(std::string_view prefix);

/// Returns the subject addressed to one node: `<prefix>.node.<node token>`.
std::string node_subject(std::string_view prefix, std::string_view node_id);

} // namespace starling::bridge
