// Example logic "chat_filter": rewrites, drops and answers client events.
#include "logic_examples.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::examples {

namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 3> bad_words = {"darn", "heck", "frak"};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Stars out every bad word (any case); returns how many it replaced.
int censor(std::string& text) {
  int replaced = 0;
  auto folded = lower(text);
  for (auto word : bad_words) {
    for (auto pos = folded.find(word); pos != std::string::npos;
         pos = folded.find(word, pos + word.size())) {
      text.replace(pos, word.size(), word.size(), '*');
      ++replaced;
    }
  }
  return replaced;
}

std::string ack(const char* verdict, int replaced = 0) {
  return json{{"verdict", verdict}, {"replaced", replaced}}.dump();
}

} // namespace

chat_filter_actor::behavior_type chat_filter(chat_filter_actor::pointer self,
                                             logic_handle handle) {
  auto log = component_logger("logic");
  log->info("chat_filter up app={} channel={}", handle.app_id, handle.channel);
  return {
    [](logic_client_event_atom, const std::string& channel,
       const client_event& ev) {
      // Client data is JSON text as the client sent it.
      auto data = json::parse(ev.data, nullptr, false);
      if (data.is_discarded() || !data.is_object() || !data.contains("text")
          || !data["text"].is_string())
        return client_event_verdict::pass();
      auto text = data["text"].get<std::string>();
      if (lower(text).find("spam") != std::string::npos)
        return client_event_verdict::drop().answer("logic-ack", ack("dropped"));
      auto replaced = censor(text);
      if (replaced == 0)
        return client_event_verdict::pass().answer("logic-ack", ack("passed"));
      data["text"] = text;
      return client_event_verdict::rewrite({}, data.dump())
        .answer("logic-ack", ack("rewritten", replaced));
    },
    [handle](logic_member_atom, const member_change& change) {
      // Notifications only: tell the channel, through the normal publish
      // path, who came and went.
      handle.publish(change.channel, "logic-members",
                     json{{"user_id", change.user_id},
                          {"change", change.added ? "added" : "removed"}}
                       .dump());
    },
  };
}

} // namespace starling::examples
