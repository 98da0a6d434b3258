// CPU accounting of starling_loadgen around a measured phase.
#include "results.hpp"

#include <algorithm>

#include "sys.hpp"

namespace starling::bench {

namespace {

/// Sums the CPU seconds of each pid between two marks; `each` gets them as
/// "a,b"; returns -1 when any pid could not be read.
double pids_cpu_s(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                  std::string& each) {
  const double hz = static_cast<double>(ticks_per_second());
  double sum = 0;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
    if (a[k] < 0 || b[k] < 0)
      return -1;
    double s = static_cast<double>(b[k] - a[k]) / hz;
    char buf[32];
    snprintf(buf, sizeof buf, "%s%.2f", each.empty() ? "" : ",", s);
    each += buf;
    sum += s;
  }
  return sum;
}

} // namespace

cpu_mark take_mark(const loadgen_options& opts) {
  cpu_mark m;
  m.mono = mono_ns();
  for (int pid : opts.server_pids)
    m.server_ticks.push_back(proc_cpu_ticks(pid));
  for (int pid : opts.aux_pids)
    m.aux_ticks.push_back(proc_cpu_ticks(pid));
  m.busy_ticks = machine_busy_ticks();
  m.self_cpu = self_cpu_ns();
  return m;
}

double add_cpu_results(result_sink& out, const cpu_mark& a, const cpu_mark& b,
                       double worker_cpu_s) {
  const double hz = static_cast<double>(ticks_per_second());
  double loadgen
    = static_cast<double>(b.self_cpu - a.self_cpu) / 1e9 + worker_cpu_s;
  double busy = static_cast<double>(b.busy_ticks - a.busy_ticks) / hz;
  double server = -1, aux = 0;
  out.add("wall_s", static_cast<double>(b.mono - a.mono) / 1e9, 3);
  if (!a.server_ticks.empty()) {
    std::string each;
    server = pids_cpu_s(a.server_ticks, b.server_ticks, each);
    if (server >= 0) {
      out.add("server_cpu_s", server, 2);
      if (a.server_ticks.size() > 1)
        out.add("server_cpu_s_each", each);
    }
  }
  if (!a.aux_ticks.empty()) {
    std::string each;
    aux = pids_cpu_s(a.aux_ticks, b.aux_ticks, each);
    out.add("aux_cpu_s", aux, 2);
    aux = std::max(aux, 0.0);
  }
  out.add("loadgen_cpu_s", loadgen, 2);
  out.add("machine_busy_cpu_s", busy, 2);
  // Foreign = everything else on the box (compiles, other benches) plus softirq
  // not charged to a task; tick-based, so +-0.01 s per process.
  if (server >= 0)
    out.add("foreign_cpu_s", std::max(0.0, busy - server - aux - loadgen), 2);
  return server;
}

} // namespace starling::bench
