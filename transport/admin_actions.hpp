// The admin endpoint's actions (POST, behind the admin token): close one
// connection, terminate a user's connections, publish a test event.
#pragma once

#include "pusher/signature.hpp"
#include "transport/http_reply.hpp"

namespace starling::transport {

struct server_context;

/// POST /actions/disconnect?app=ID&socket_id=S: closes that connection on
/// whichever node holds it (4009). 404 when no node has it.
void admin_disconnect(server_context& ctx, const pusher::query_params& q,
                      const reply_fn& done);

/// POST /actions/terminate?app=ID&user_id=U: closes the user's connections
/// on every node (as the HTTP API's terminate_connections).
void admin_terminate(server_context& ctx, const pusher::query_params& q,
                     const reply_fn& done);

/// POST /actions/publish?app=ID&channel=C[&event=E] with the event's data
/// as the body: publishes it like the HTTP API (the event defaults to
/// "starling:test").
void admin_publish(server_context& ctx, const pusher::query_params& q,
                   const std::string& body, const reply_fn& done);

} // namespace starling::transport
