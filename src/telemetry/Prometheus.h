#pragma once
// Writing the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).

#include <initializer_list>
#include <string>
#include <string_view>

namespace sluice::telemetry {

/// A label value with \, " and newline escaped as the format requires.
std::string escapeLabel(std::string_view value);
/// A sample value: shortest round-trip decimal, "NaN", "+Inf", "-Inf".
std::string formatValue(double v);

class PromWriter {
 public:
  struct Label {
    std::string_view name;
    std::string_view value;
  };
  /// "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram).
  void family(std::string_view name, std::string_view type, std::string_view help);
  /// `name{l1="v1",...} value`.
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace sluice::telemetry
