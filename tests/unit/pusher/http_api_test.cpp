// Unit tests for pusher/http_api: routes, trigger and batch bodies, query
// parameters and the JSON answers, as tables of literal inputs.
#define CAF_SUITE pusher_http_api
#include <caf/test/unit_test.hpp>

#include "pusher/http_api.hpp"

#include <string>

using namespace starling::pusher;

namespace {

const char* route_name(api_route r) {
  switch (r) {
    case api_route::root: return "root";
    case api_route::events: return "events";
    case api_route::batch_events: return "batch_events";
    case api_route::channels: return "channels";
    case api_route::channel: return "channel";
    case api_route::channel_users: return "channel_users";
    case api_route::terminate_user: return "terminate_user";
  }
  return "?";
}

api_limits small_limits() {
  api_limits l;
  l.max_event_name_length = 20;
  l.max_event_payload_bytes = 16;
  l.max_channels_per_trigger = 2;
  l.max_batch_size = 2;
  l.max_channel_name_length = 30;
  return l;
}

} // namespace

CAF_TEST(targets route to endpoints or 404) {
  const struct {
    const char* target;
    const char* prefix;
    unsigned status; // 0: routed
    const char* route;
    const char* app;
    const char* name; // channel or user id
  } rows[] = {
    {"/", "", 0, "root", "", ""},
    {"", "", 0, "root", "", ""},
    {"/apps/1/events", "", 0, "events", "1", ""},
    {"/apps/1/events?auth_key=k", "", 0, "events", "1", ""},
    {"/apps/1/batch_events", "", 0, "batch_events", "1", ""},
    {"/apps/1/channels", "", 0, "channels", "1", ""},
    {"/apps/1/channels/presence-a", "", 0, "channel", "1", "presence-a"},
    {"/apps/1/channels/presence-a/users", "", 0, "channel_users", "1",
     "presence-a"},
    {"/apps/1/channels/%23server-to-user-7", "", 0, "channel", "1",
     "#server-to-user-7"},
    {"/apps/1/channels/a%2", "", 0, "channel", "1", "a%2"},
    {"/apps/1/channels//users", "", 0, "channel", "1", "/users"},
    {"/apps/1/users/u%201/terminate_connections", "", 0, "terminate_user",
     "1", "u 1"},
    {"/pusher/apps/9/events", "/pusher", 0, "events", "9", ""},
    {"/pusher/", "/pusher", 0, "root", "", ""},
    {"/apps/1/events", "/pusher", 404, "", "", ""},
    {"/apps//events", "", 404, "", "", ""},
    {"/apps/1", "", 404, "", "", ""},
    {"/apps/1/", "", 404, "", "", ""},
    {"/apps/1/nope", "", 404, "", "", ""},
    {"/apps/1/users/terminate_connections", "", 404, "", "", ""},
    {"/other", "", 404, "", "", ""},
  };
  for (auto& row : rows) {
    CAF_MESSAGE("target " << row.target << " prefix " << row.prefix);
    auto t = decode_target(row.target, row.prefix);
    if (row.status != 0) {
      CAF_CHECK(!t);
      CAF_CHECK_EQUAL(t.error.status, row.status);
      continue;
    }
    CAF_REQUIRE(t);
    CAF_CHECK_EQUAL(route_name(t->route), std::string{row.route});
    CAF_CHECK_EQUAL(t->app_id, row.app);
    auto name = t->route == api_route::terminate_user ? t->user_id
                                                      : t->channel;
    CAF_CHECK_EQUAL(name, row.name);
  }
}

CAF_TEST(the signed path keeps the prefix and the query is decoded) {
  auto t = decode_target("/p/apps/1/events?a=1&b=%2C", "/p");
  CAF_REQUIRE(t);
  CAF_CHECK_EQUAL(t->path, "/p/apps/1/events");
  CAF_REQUIRE_EQUAL(t->params.size(), 2u);
  CAF_CHECK_EQUAL(t->params[1].second, ",");
}

CAF_TEST(each route takes one method) {
  CAF_CHECK(!check_method(api_route::events, "POST"));
  auto get_events = check_method(api_route::events, "GET");
  CAF_REQUIRE(get_events);
  CAF_CHECK_EQUAL(get_events->status, 405u);
  CAF_CHECK(!check_method(api_route::channels, "GET"));
  auto post_users = check_method(api_route::channel_users, "POST");
  CAF_REQUIRE(post_users);
  CAF_CHECK_EQUAL(post_users->message, "Use GET for /channels/<name>/users");
  CAF_CHECK(!check_method(api_route::terminate_user, "POST"));
  CAF_CHECK(!check_method(api_route::root, "DELETE"));
}

CAF_TEST(trigger bodies are validated with the app limits) {
  const struct {
    const char* body;
    unsigned status; // 0: valid
    const char* problem;
  } rows[] = {
    {R"({"name":"e","data":"d","channels":["a"]})", 0, ""},
    {R"({"name":"e","data":"d","channel":"a"})", 0, ""},
    {R"({"name":"e","data":{"x":1},"channels":["a","b"]})", 0, ""},
    {R"({"name":"e","data":"d","channels":["a"],"socket_id":"1.2"})", 0, ""},
    {R"({"name":"e","data":"d","channels":["a"],"socket_id":null})", 0, ""},
    {R"({"name":"e","data":"d","channels":["presence-a"],"info":"user_count"})",
     0, ""},
    {R"([1])", 400, "Body must be a JSON object"},
    {R"(not json)", 400, "Body must be a JSON object"},
    {R"({"data":"d","channels":["a"]})", 400, "Missing event name (\"name\")"},
    {R"({"name":7,"data":"d","channels":["a"]})", 400,
     "Missing event name (\"name\")"},
    {R"({"name":"","data":"d","channels":["a"]})", 400, "Event name is empty"},
    {R"({"name":"e","channels":["a"]})", 400, "Missing event data (\"data\")"},
    {R"({"name":"e","data":"0123456789abcdefg","channels":["a"]})", 413,
     "Event data is larger than 16 bytes"},
    {R"({"name":"e","data":"d"})", 400,
     "Give at least one channel (\"channels\")"},
    {R"({"name":"e","data":"d","channels":"a"})", 400,
     "\"channels\" must be an array of names"},
    {R"({"name":"e","data":"d","channels":[1]})", 400,
     "\"channels\" must be an array of names"},
    {R"({"name":"e","data":"d","channels":["a","b","c"]})", 400,
     "At most 2 channels per trigger"},
    {R"({"name":"e","data":"d","channels":["a b"]})", 400,
     "Channel name contains an invalid character ' ': a b"},
    {R"({"name":"e","data":"d","channels":["a"],"socket_id":"x"})", 400,
     "Invalid socket_id"},
    {R"({"name":"e","data":"d","channels":["a"],"info":"user_count"})", 400,
     "user_count is only available for presence channels: a"},
    {R"({"name":"e","data":"d","channels":["a"],"info":"colour"})", 400,
     "Unknown info attribute colour"},
  };
  for (auto& row : rows) {
    CAF_MESSAGE("body " << row.body);
    auto ev = decode_trigger(row.body, small_limits());
    if (row.status == 0) {
      CAF_CHECK(ev);
      continue;
    }
    CAF_REQUIRE(!ev);
    CAF_CHECK_EQUAL(ev.error.status, row.status);
    CAF_CHECK_EQUAL(ev.error.message, row.problem);
  }
}

CAF_TEST(trigger keeps data strings and passes raw JSON as text) {
  auto ev = decode_trigger(
    R"({"name":"e","data":{"x":[1,2]},"channels":["a"],"info":"subscription_count"})",
    small_limits());
  CAF_REQUIRE(ev);
  CAF_CHECK_EQUAL(ev->data, R"({"x":[1,2]})");
  CAF_CHECK(ev->info.subscription_count);
  CAF_CHECK(!ev->info.user_count);
  auto str = decode_trigger(R"({"name":"e","data":"{\"x\":1}","channel":"a"})",
                            small_limits());
  CAF_REQUIRE(str);
  CAF_CHECK_EQUAL(str->data, R"({"x":1})");
}

CAF_TEST(batches are valid as a whole or refused) {
  const struct {
    const char* body;
    unsigned status;
    const char* problem;
    std::size_t events;
  } rows[] = {
    {R"({"batch":[{"name":"e","data":"d","channel":"a"}]})", 0, "", 1},
    {R"({"batch":[]})", 0, "", 0},
    {R"({"batch":[{"name":"e","data":"d","channel":"a"},{"name":"f","data":"d","channel":"b"}]})",
     0, "", 2},
    {R"({"batch":{}})", 400, "Missing \"batch\" array", 0},
    {R"({})", 400, "Missing \"batch\" array", 0},
    {R"({"batch":[{},{},{}]})", 400, "At most 2 events per batch", 0},
    {R"({"batch":[{"name":"e","data":"d","channel":"a"},{"name":"e","data":"d"}]})",
     400, "Each batch event needs a \"channel\"", 0},
    {R"({"batch":[{"name":"e","data":"d","channels":["a"]}]})", 400,
     "Each batch event needs a \"channel\"", 0},
    {R"({"batch":[7]})", 400, "Each event must be a JSON object", 0},
  };
  for (auto& row : rows) {
    CAF_MESSAGE("body " << row.body);
    auto events = decode_batch(row.body, small_limits());
    if (row.status == 0) {
      CAF_REQUIRE(events);
      CAF_CHECK_EQUAL(events->size(), row.events);
      continue;
    }
    CAF_REQUIRE(!events);
    CAF_CHECK_EQUAL(events.error.status, row.status);
    CAF_CHECK_EQUAL(events.error.message, row.problem);
  }
}

CAF_TEST(channel queries check the name and the info attributes) {
  const struct {
    const char* channel;
    const char* info;
    unsigned status;
    const char* problem;
  } rows[] = {
    {"a", "", 0, ""},
    {"a", "subscription_count", 0, ""},
    {"presence-a", "user_count,subscription_count", 0, ""},
    {"cache-a", "cache", 0, ""},
    {"a", "user_count", 400, "user_count is only available for presence "
                             "channels"},
    {"a", "cache", 400, "cache is only available for cache channels"},
    {"a", "colour", 400, "Unknown info attribute colour"},
    {"#server-to-user-1", "", 400,
     "Channel names starting with '#' are reserved"},
    {"", "", 400, "Channel name is empty"},
  };
  for (auto& row : rows) {
    CAF_MESSAGE("channel " << row.channel << " info " << row.info);
    query_params params;
    if (*row.info != '\0')
      params.emplace_back("info", row.info);
    auto info = decode_channel_query(row.channel, params, small_limits());
    if (row.status == 0) {
      CAF_CHECK(info);
      continue;
    }
    CAF_REQUIRE(!info);
    CAF_CHECK_EQUAL(info.error.status, row.status);
    CAF_CHECK_EQUAL(info.error.message, row.problem);
  }
}

CAF_TEST(channel lists take only user_count with a presence filter) {
  auto none = decode_channels_query({});
  CAF_REQUIRE(none);
  CAF_CHECK_EQUAL(none->prefix, "");
  auto presence = decode_channels_query(
    {{"filter_by_prefix", "presence-"}, {"info", "user_count"}});
  CAF_REQUIRE(presence);
  CAF_CHECK(presence->info.user_count);
  auto no_filter = decode_channels_query({{"info", "user_count"}});
  CAF_REQUIRE(!no_filter);
  CAF_CHECK_EQUAL(no_filter.error.message,
                  "info=user_count needs filter_by_prefix=presence-");
  auto other = decode_channels_query({{"info", "subscription_count"}});
  CAF_REQUIRE(!other);
  CAF_CHECK_EQUAL(other.error.message, "Only info=user_count is available "
                                       "here");
}

CAF_TEST(users need a presence channel) {
  CAF_CHECK(!check_users_channel("presence-a", small_limits()));
  auto problem = check_users_channel("private-a", small_limits());
  CAF_REQUIRE(problem);
  CAF_CHECK_EQUAL(problem->message,
                  "/users is only available for presence channels");
}

CAF_TEST(answers are the JSON the SDKs read) {
  channel_report r;
  r.name = "presence-a";
  r.occupied = true;
  r.subscription_count = 3;
  r.user_count = 2;
  info_request users;
  users.user_count = true;
  CAF_CHECK_EQUAL(encode_channel(r, users),
                  R"({"occupied":true,"user_count":2})");
  info_request cache;
  cache.cache = true;
  CAF_CHECK_EQUAL(encode_channel(r, cache),
                  R"({"cache":null,"occupied":true})");
  r.cache_hit = true;
  r.cache_event = "e";
  r.cache_data = "d";
  r.cache_ttl_s = 9;
  CAF_CHECK_EQUAL(encode_channel(r, cache),
                  R"({"cache":{"data":"d","event":"e","ttl":9},"occupied":true})");
  CAF_CHECK_EQUAL(encode_channels({r}, users),
                  R"({"channels":{"presence-a":{"user_count":2}}})");
  CAF_CHECK_EQUAL(encode_users({"1", "2"}),
                  R"({"users":[{"id":"1"},{"id":"2"}]})");
  CAF_CHECK_EQUAL(encode_batch_info({std::nullopt, r}, {{}, users}),
                  R"({"batch":[{},{"user_count":2}]})");
  CAF_CHECK_EQUAL(encode_api_error(api_error{404, "x"}),
                  R"({"code":404,"error":"x"})");
}

CAF_TEST(encode_api_error replaces invalid UTF-8 from the path) {
  auto t = decode_target("/x\xff", "");
  CAF_REQUIRE(!t);
  CAF_CHECK_EQUAL(encode_api_error(t.error),
                  "{\"code\":404,\"error\":\"Not found: /x\xef\xbf\xbd\"}");
}
