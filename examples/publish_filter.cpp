// Example logic "publish_filter": drops or rewrites HTTP API publishes.
#include "hook_examples.hpp"

#include <algorithm>
#include <cctype>

namespace starling::examples {

publish_filter_actor::behavior_type publish_filter(publish_filter_actor::pointer,
                                                   logic_handle) {
  return {
    [](logic_publish_atom, const std::string& channel, const api_event& ev) {
      if (ev.data.find("spam") != std::string::npos)
        return publish_verdict::drop("no spam on " + channel);
      if (ev.event == "shout") {
        auto loud = ev.data;
        std::transform(loud.begin(), loud.end(), loud.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        return publish_verdict::rewrite("message", loud);
      }
      return publish_verdict::pass();
    },
  };
}

} // namespace starling::examples
