// App logic API (see logic.hpp): the registry and the publish handle.
#include "actors/logic.hpp"

#include <stdexcept>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "pusher/channel_name.hpp"

#include <spdlog/spdlog.h>

namespace starling {

std::string to_string(event_action x) {
  switch (x) {
    case event_action::pass:
      return "pass";
    case event_action::drop:
      return "drop";
    case event_action::rewrite:
      return "rewrite";
  }
  return "unknown";
}

bool logic_handle::publish(const std::string& channel,
                           const std::string& event, const std::string& data,
                           const std::string& exclude) const {
  // The app's publish path trusts its input (the HTTP API validated it):
  // check here what the HTTP API would.
  auto bad_channel = pusher::validate_channel_name(channel, 200);
  auto bad_event = pusher::validate_event_name(event, 200);
  if (!bad_channel.empty() || !bad_event.empty()) {
    component_logger("logic")->warn(
      "publish refused actor={} app={} channel={} event={}: {}", actor_name,
      app_id, channel, event, bad_channel.empty() ? bad_event : bad_channel);
    return false;
  }
  // Anonymous: the app does not answer publishes.
  caf::anon_send(app,
                 publish_request{app_id, {channel}, event, data, exclude, true});
  return true;
}

caf::error logic_exception_reason(std::exception_ptr& ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return caf::make_error(caf::sec::runtime_error, e.what());
  } catch (...) {
    return caf::make_error(caf::sec::runtime_error, "unknown exception");
  }
}

logic_registry& logic_registry::add_factory(std::string name,
                                            logic_factory factory,
                                            hook_set hooks) {
  if (!factory)
    throw std::invalid_argument("logic actor \"" + name + "\" has no factory");
  if (!entries_.emplace(name, logic_entry{std::move(factory), hooks}).second)
    throw std::invalid_argument("logic actor \"" + name
                                + "\" is registered twice");
  return *this;
}

const logic_entry* logic_registry::find(const std::string& name) const {
  auto i = entries_.find(name);
  return i == entries_.end() ? nullptr : &i->second;
}

std::set<std::string> logic_registry::names() const {
  std::set<std::string> result;
  for (auto& entry : entries_)
    result.insert(entry.first);
  return result;
}

} // namespace starling
