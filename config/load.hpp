// Turns defaults, a JSON file, STARLING_* variables and flags into settings.
// Pure: reads only the named config file, never logs; main reports errors.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/describe.hpp"
#include "config/settings.hpp"

namespace starling::config {

/// What is wrong with the configuration and where.
struct load_error {
  std::string field;   ///< "apps[0].key", "--port", "STARLING_PORT", "config".
  std::string problem; ///< What is wrong and what to do about it.
};

/// The result of `load`: settings to run with, a help request, or an error.
struct load_outcome {
  /// What the caller should do next.
  enum class kind {
    run,          ///< Start with `value`.
    help,         ///< Print `help_text` (--help, --config-reference,
                  ///< --config-schema) and exit 0.
    version,      ///< Print the version and exit 0 (--version).
    check_config, ///< `value` is valid: print it (--check-config), exit 0.
    error,        ///< Print `error` and exit non-zero.
  } what = kind::run;
  settings value;        ///< Valid settings for `run` and `check_config`.
  load_error error;      ///< Set when `what == kind::error`.
  std::string help_text; ///< Set when `what == kind::help`.
  /// Things that do not stop a start but look like mistakes, e.g. a
  /// STARLING_* variable that names no setting. The caller logs them.
  std::vector<std::string> warnings;
};

/// Reads settings with this precedence, lowest first: defaults, the JSON file
/// named by `--config` or STARLING_CONFIG, STARLING_* entries of `env`, then
/// flags. Adds the default app when none is configured, then validates.
/// Never throws; `argv[0]` is the program name and is skipped.
load_outcome load(int argc, const char* const* argv,
                  const std::map<std::string, std::string>& env);

/// Like the above; `apps[].logic[].actor` must name one of `logic_actors`
/// (the names the binary registered; the plain form knows none).
load_outcome load(int argc, const char* const* argv,
                  const std::map<std::string, std::string>& env,
                  const std::set<std::string>& logic_actors);

} // namespace starling::config
