// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): metric
// families with HELP and TYPE, samples with escaped label values. Pure: no
// I/O, no clock; the collector (collector.h) fills it, render() writes it.
//
// Families come out in the order they were first asked for, each with all
// its samples together (the format requires that), whatever order the
// collector adds them in. A family without samples is left out, as client
// libraries do.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace xlb::metrics {

enum class Type { kCounter, kGauge };

// Label name -> value, in the order given (written in that order).
using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
 public:
  // Declares a family (or returns the one declared before: its help and
  // type must then match). Throws std::invalid_argument on a name the format
  // does not allow, and on a counter whose name does not end in "_total"
  // (promtool's lint would flag it): they are the code's mistakes, caught
  // by the unit tests.
  void family(const std::string& name, Type type, const std::string& help);

  // A sample of a declared family (std::invalid_argument if undeclared or a
  // label name is invalid). A second sample with the same labels is
  // ignored and returns false: Prometheus would reject the whole scrape.
  bool add(const std::string& name, const Labels& labels, double value);
  // Integers are written exactly (a double holds integers only to 2^53).
  bool add(const std::string& name, const Labels& labels, uint64_t value);
  bool add(const std::string& name, const Labels& labels, int64_t value);

  std::string render() const;

 private:
  struct Family {
    std::string name;
    Type type;
    std::string help;
    std::vector<std::pair<std::string, std::string>> samples;  // (label text, value text)
    std::set<std::string> seen;                                 // label texts, for duplicates
  };
  bool add_text(const std::string& name, const Labels& labels, std::string value);

  std::vector<Family> families_;
  std::map<std::string, size_t> index_;  // name -> families_ position
};

// The format's pieces, exposed for tests.
bool valid_metric_name(const std::string& name);
bool valid_label_name(const std::string& name);
std::string escape_label_value(const std::string& value);  // \ " and newline
std::string escape_help(const std::string& help);          // \ and newline
std::string format_value(double value);                    // shortest exact; NaN, +Inf, -Inf

}  // namespace xlb::metrics
