#include "exposition.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace xlb::metrics {

namespace {

bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(const std::string& name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); i++)
    if (!name_char(name[i], i == 0, colon)) return false;
  return true;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const char* type_name(Type t) { return t == Type::kCounter ? "counter" : "gauge"; }

}  // namespace

bool valid_metric_name(const std::string& name) { return valid_name(name, true); }

// Names starting with "__" are reserved for Prometheus itself.
bool valid_label_name(const std::string& name) { return valid_name(name, false) && name.rfind("__", 0) != 0; }

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

void Exposition::family(const std::string& name, Type type, const std::string& help) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  if (type == Type::kCounter && !ends_with(name, "_total"))
    throw std::invalid_argument("counter " + name + " must end in _total");
  auto it = index_.find(name);
  if (it != index_.end()) {
    const Family& f = families_[it->second];
    if (f.type != type || f.help != help) throw std::invalid_argument("metric " + name + " declared twice, differently");
    return;
  }
  index_[name] = families_.size();
  families_.push_back({name, type, help, {}, {}});
}

bool Exposition::add_text(const std::string& name, const Labels& labels, std::string value) {
  auto it = index_.find(name);
  if (it == index_.end()) throw std::invalid_argument("metric " + name + " not declared");
  std::string text;
  for (const auto& [k, v] : labels) {
    if (!valid_label_name(k)) throw std::invalid_argument("metric " + name + ": invalid label name '" + k + "'");
    text += (text.empty() ? "{" : ",") + k + "=\"" + escape_label_value(v) + "\"";
  }
  if (!text.empty()) text += "}";
  Family& f = families_[it->second];
  if (!f.seen.insert(text).second) return false;
  f.samples.emplace_back(std::move(text), std::move(value));
  return true;
}

bool Exposition::add(const std::string& name, const Labels& labels, double value) {
  return add_text(name, labels, format_value(value));
}

bool Exposition::add(const std::string& name, const Labels& labels, uint64_t value) {
  return add_text(name, labels, std::to_string(value));
}

bool Exposition::add(const std::string& name, const Labels& labels, int64_t value) {
  return add_text(name, labels, std::to_string(value));
}

std::string Exposition::render() const {
  std::string out;
  for (const Family& f : families_) {
    if (f.samples.empty()) continue;
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
    for (const auto& [labels, value] : f.samples) out += f.name + labels + " " + value + "\n";
  }
  return out;
}

}  // namespace xlb::metrics
