// Process metrics from /proc/self (see process_metrics.hpp).
#include "transport/process_metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef STARLING_VERSION
#define STARLING_VERSION "unknown"
#endif

namespace starling::transport {

namespace {

// Fields of /proc/self/stat after the command name (which may hold spaces).
std::vector<std::string> stat_fields() {
  std::ifstream in{"/proc/self/stat"};
  std::string line;
  std::getline(in, line);
  std::vector<std::string> out;
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return out;
  std::istringstream rest{line.substr(close + 2)};
  for (std::string f; rest >> f;)
    out.push_back(f);
  return out;
}

double boot_time_s() {
  std::ifstream in{"/proc/stat"};
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

uint64_t open_fds() {
  uint64_t n = 0;
  if (auto* dir = opendir("/proc/self/fd")) {
    while (auto* e = readdir(dir))
      if (e->d_name[0] != '.')
        ++n;
    closedir(dir);
    if (n > 0)
      --n; // The descriptor of this listing.
  }
  return n;
}

} // namespace

void write_process_metrics(prometheus_text& out) {
  out.family("starling_build_info", "Always 1; the labels name the build.",
             metric_type::gauge);
  out.sample("starling_build_info", {{"version", STARLING_VERSION}}, uint64_t{1});
  auto f = stat_fields(); // f[0] is field 3 (state) of proc(5).
  if (f.size() < 22)
    return;
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks; // utime + stime
  double start = boot_time_s() + std::stod(f[19]) / ticks;    // starttime
  double rss = std::stod(f[21]) * page;                       // rss pages
  out.family("process_cpu_seconds_total", "User and system CPU time spent.",
             metric_type::counter);
  out.sample("process_cpu_seconds_total", {}, cpu);
  out.family("process_resident_memory_bytes", "Resident memory size.",
             metric_type::gauge);
  out.sample("process_resident_memory_bytes", {}, rss);
  out.family("process_open_fds", "Open file descriptors.", metric_type::gauge);
  out.sample("process_open_fds", {}, open_fds());
  out.family("process_start_time_seconds",
             "Start time of the process since the Unix epoch.",
             metric_type::gauge);
  out.sample("process_start_time_seconds", {}, start);
}

} // namespace starling::transport
