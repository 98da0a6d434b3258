// Checks loaded settings for values Starling cannot run with. Pure; load()
// calls it last, so every error names the settings field to fix.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "config/load.hpp"
#include "config/settings.hpp"

namespace starling::config {

/// Returns the first problem in `s`, naming the field by its JSON path
/// ("apps[1].key"), or nothing when Starling can run with `s`.
/// `logic_actors`: the app logic actor names the binary registered; a
/// binding of any other name is an error (config/ knows names, not actors).
std::optional<load_error> validate(const settings& s,
                                   const std::set<std::string>& logic_actors = {});

} // namespace starling::config
