// Prometheus text exposition format 0.0.4.
#include "actors/prometheus_text.hpp"

#include <cstdio>

namespace starling {

namespace {

const char* type_name(metric_type type) {
  switch (type) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes backslash and line feed only.
std::string escape_help(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace

std::string prometheus_text::escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void prometheus_text::family(std::string_view name, std::string_view help,
                             metric_type type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void prometheus_text::labels(std::initializer_list<metric_label> labels,
                             std::string_view le) {
  if (labels.size() == 0 && le.empty())
    return;
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view key, std::string_view value) {
    if (!first)
      out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    out_ += escape_label(value);
    out_ += '"';
  };
  for (auto& [key, value] : labels)
    one(key, value);
  if (!le.empty())
    one("le", le);
  out_ += '}';
}

void prometheus_text::histogram(std::string_view name,
                                std::initializer_list<metric_label> labels,
                                const latency_histogram& h) {
  uint64_t total = 0;
  char le[32];
  for (std::size_t i = 0; i <= latency_histogram::bounds.size(); ++i) {
    total += h.bucket(i);
    if (i < latency_histogram::bounds.size())
      std::snprintf(le, sizeof(le), "%g", latency_histogram::bounds[i]);
    else
      std::snprintf(le, sizeof(le), "+Inf");
    out_ += name;
    out_ += "_bucket";
    this->labels(labels, le);
    out_ += ' ';
    out_ += std::to_string(total);
    out_ += '\n';
  }
  out_ += name;
  out_ += "_sum";
  this->labels(labels);
  char buf[64];
  std::snprintf(buf, sizeof(buf), " %.9g\n", h.sum_seconds());
  out_ += buf;
  out_ += name;
  out_ += "_count";
  this->labels(labels);
  out_ += ' ';
  out_ += std::to_string(total);
  out_ += '\n';
}

void prometheus_text::sample(std::string_view name,
                             std::initializer_list<metric_label> labels,
                             uint64_t value) {
  out_ += name;
  this->labels(labels);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void prometheus_text::sample(std::string_view name,
                             std::initializer_list<metric_label> labels,
                             double value) {
  out_ += name;
  this->labels(labels);
  char buf[64];
  std::snprintf(buf, sizeof(buf), " %.17g\n", value);
  out_ += buf;
}

} // namespace starling
