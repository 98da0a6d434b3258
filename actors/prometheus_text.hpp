// The one Prometheus text-format writer (exposition format 0.0.4): metric
// families with HELP and TYPE, samples with labels escaped as the format
// asks (backslash, double quote, line feed).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "actors/latency_histogram.hpp"

namespace starling {

/// The type line of a family.
enum class metric_type { counter, gauge, histogram };

/// One label of a sample.
using metric_label = std::pair<std::string_view, std::string_view>;

/// Builds a /metrics body. Families are written in the order they are
/// begun; each family's samples must follow its family() call.
class prometheus_text {
public:
  /// Begins a family: `# HELP name help` and `# TYPE name type`.
  void family(std::string_view name, std::string_view help, metric_type type);

  /// Writes `name{labels} value`.
  void sample(std::string_view name,
              std::initializer_list<metric_label> labels, uint64_t value);

  /// Writes `name{labels} value` for a floating-point value.
  void sample(std::string_view name,
              std::initializer_list<metric_label> labels, double value);

  /// Writes the `_bucket` (cumulative, `le` label last), `_sum` and
  /// `_count` samples of histogram family `name`.
  void histogram(std::string_view name,
                 std::initializer_list<metric_label> labels,
                 const latency_histogram& h);

  /// Appends text written elsewhere by this writer.
  void append(const std::string& text) { out_ += text; }

  /// Returns the text so far.
  const std::string& str() const { return out_; }

  /// Returns `value` escaped for a label value (without the quotes).
  static std::string escape_label(std::string_view value);

private:
  void labels(std::initializer_list<metric_label> labels,
              std::string_view le = {});

  std::string out_;
};

} // namespace starling
