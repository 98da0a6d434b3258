// How a bridge ends on an exception (fault injection or a bug): logged on
// the bridge logger instead of CAF's default handler (which prints to
// stdout), and turned into the exit reason the node's restart sees.
#pragma once

#include <exception>
#include <string>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"

namespace starling::bridge {

/// Handler for `set_exception_handler` of a bridge of node `node_id`.
inline caf::error bridge_exception(const std::string& node_id,
                                   std::exception_ptr& ep) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    // keep the generic text
  }
  component_logger("bridge")->error("bridge crashed node={} error={}", node_id,
                                    what);
  return caf::make_error(caf::sec::runtime_error, what);
}

} // namespace starling::bridge
