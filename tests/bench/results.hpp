// Results of starling_loadgen: the ordered key=value sink every mode prints,
// and CPU counters taken around a measured phase.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "options.hpp"

namespace starling::bench {

/// Ordered key=value results, printed as lines and then as one JSON object.
class result_sink {
public:
  void add(const std::string& key, const std::string& value,
           bool quoted = true) {
    items_.push_back({key, value, quoted});
  }
  void add(const std::string& key, int64_t value) {
    items_.push_back({key, std::to_string(value), false});
  }
  void add(const std::string& key, double value, int decimals = 2) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", decimals,
             std::isfinite(value) ? value : 0.0);
    items_.push_back({key, buf, false});
  }
  void print() const {
    for (const auto& it : items_)
      printf("%s=%s\n", it.key.c_str(), it.value.c_str());
    std::string json = "{";
    for (const auto& it : items_) {
      if (json.size() > 1)
        json += ",";
      json += "\"" + it.key + "\":";
      if (it.quoted) {
        json += "\"";
        for (char c : it.value) {
          if (c == '"' || c == '\\')
            json += '\\';
          json += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
        }
        json += "\"";
      } else {
        json += it.value;
      }
    }
    json += "}";
    printf("%s\n", json.c_str());
    fflush(stdout);
  }

private:
  struct item {
    std::string key;
    std::string value;
    bool quoted;
  };
  std::vector<item> items_;
};

/// Snapshot of CPU counters around a measured phase.
struct cpu_mark {
  int64_t mono = 0;
  std::vector<int64_t> server_ticks; ///< Per --server-pid; -1 = unreadable.
  std::vector<int64_t> aux_ticks;    ///< Per --aux-pid; -1 = unreadable.
  int64_t busy_ticks = -1;
  int64_t self_cpu = 0;
};

/// Reads the counters of every --server-pid / --aux-pid, the machine and us.
cpu_mark take_mark(const loadgen_options& opts);

/// Adds server, aux, loadgen, machine and foreign CPU for [a, b] to `out`;
/// returns server CPU seconds, summed over --server-pid (or -1 when no server
/// pid was given or one was unreadable).
double add_cpu_results(result_sink& out, const cpu_mark& a, const cpu_mark& b,
                       double worker_cpu_s);

} // namespace starling::bench
