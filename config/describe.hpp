// Texts made from the key table (schema.hpp): --help, the Markdown config
// reference (docs/config.md), the machine-readable schema, the effective
// config of --check-config, and the keys a reload changed.
#pragma once

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace starling::config {

/// The --help text: every flag and environment variable with its default.
std::string usage();

/// The config reference in Markdown (`starling --config-reference`), the
/// text of docs/config.md: every key with its type, default, environment
/// variable, flag, constraints and help.
std::string reference_markdown();

/// Every key as JSON (`starling --config-schema`), for tools and tests that
/// check deployment files against what the binary accepts.
std::string schema_json();

/// `s` as a config file would write it, every key present, secrets shown
/// as "********" when set (`starling --check-config`).
std::string effective_json(const settings& s);

/// The concrete paths whose values differ between `before` and `after`
/// ("logging.level", "apps[0].limits.max_connections", "apps" when the
/// number of apps changed).
std::vector<std::string> changed_keys(const settings& before,
                                      const settings& after);

} // namespace starling::config
