// Defaults that are not the initializer of a settings field: the app served
// when none is configured, and the prefix of Starling's variables. Every
// other default is the field's initializer in settings.hpp, which the
// schema (schema.hpp) reads for --help and the reference.
#pragma once

#include <string_view>

namespace starling::config {

// -- the app used when none is configured -------------------------------------

/// Id of the app added when no app is configured.
inline constexpr std::string_view default_app_id = "app-id";

/// Key of the app added when no app is configured.
inline constexpr std::string_view default_app_key = "app-key";

/// Secret of the app added when no app is configured.
inline constexpr std::string_view default_app_secret = "app-secret";

/// Whether the default app accepts `client-` events (handy for local trials).
inline constexpr bool default_app_client_messages = true;

// -- where settings come from -------------------------------------------------

/// Prefix of every environment variable Starling reads.
inline constexpr std::string_view env_prefix = "STARLING_";

} // namespace starling::config
