// The signin hook of an app (internal): a connection signing in is asked
// about to the app-bound logic bindings that handle signin_hook, in binding
// order; the first refusal wins. Fails closed like the channel hooks: while
// an instance restarts (or one crashed under the question), the signin
// waits for it up to the binding's unavailable_wait_ms; no instance by then,
// a failed one, a timeout or an error get the binding's on_unavailable
// verdict (closed: the client is closed with 4100 and signs in again after
// its back-off).
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

/// An app-bound instance started or ended, or a wait deadline passed
/// (logic_wait_atom): signins waiting for an instance go on.
void wake_signins(app_actor::stateful_pointer<app_state> self);

} // namespace starling
