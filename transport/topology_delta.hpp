// Deltas of the topology view for /topology/events: the view in a keyed
// form (every list of entries that have an identity becomes an object
// keyed by it, with the order kept aside) and the JSON merge patch
// (RFC 7386) from one keyed view to the next, so a change sends only the
// entries added, changed or removed.
#pragma once

#include <nlohmann/json.hpp>

namespace starling::transport {

/// Returns `view` with nulls left out and each array whose elements are all
/// objects with distinct identities (socket_id; app and name; id; channel;
/// name; actor and channels; app; epoch and at_ms) turned into
/// `{"@": [keys in order], "=<identity>": entry, ...}`. Other arrays stay
/// as they are (replaced whole when they change). The page turns it back.
nlohmann::json keyed_view(const nlohmann::json& view);

/// Returns the merge patch that turns `from` into `to` (both keyed views):
/// changed and added members with their new value (objects patched
/// member by member), removed ones as null. Empty when they are equal.
nlohmann::json merge_patch(const nlohmann::json& from, const nlohmann::json& to);

} // namespace starling::transport
