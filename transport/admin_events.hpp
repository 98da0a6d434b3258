// GET /topology/events: the admin page's live updates as server-sent
// events. Once a second the node is asked for the (paged, capped) topology
// the page shows. The stream starts with a snapshot (the keyed view of
// topology_delta.hpp) and then sends only merge patches of what changed,
// each with a version and the version it applies to; nothing while nothing
// changed, but a comment line now and then to keep proxies from closing a
// quiet stream.
#pragma once

#include <memory>

#include "actors/protocol/admin.hpp"
#include "transport/http_reply.hpp"

namespace starling::transport {

struct server_context;

/// Returns the event source of one /topology/events request. `ctx`
/// outlives it (the server's context).
std::shared_ptr<event_source>
make_topology_events(server_context& ctx, topology_request req, bool cluster);

} // namespace starling::transport
