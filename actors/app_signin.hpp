// The signin hook of an app (internal): a connection signing in is asked
// about to the app-bound logic bindings that handle signin_hook, in binding
// order; the first refusal wins. Fails closed: an instance that is not
// running (restarting, failed) or does not answer in time gets the
// binding's on_unavailable verdict at once (no wait: the client, closed
// with 4100, comes back after a back-off and signs in again).
#pragma once

#include <caf/typed_response_promise.hpp>

#include "actors/app.hpp"
#include "actors/logic.hpp"

namespace starling {

/// Whether the app has an app-bound binding that handles signin_hook (only
/// then does a connection ask before it signs in).
bool asks_signin(const app_context& ctx);

/// Answers a connection's signin_request: the verdict, or
/// errc::logic_unavailable when a binding could not decide and fails
/// closed.
caf::typed_response_promise<signin_verdict>
on_signin_request(app_actor::stateful_pointer<app_state> self,
                  signin_request& req);

} // namespace starling
