#include "journal.h"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <regex>

namespace xlb::service {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "health: 198.18.100.1:80/tcp 198.18.0.11:80 down: 3 failures ..." (an
// IPv6 VIP or backend is bracketed; a backend without port is an address).
const std::regex& transition_re() {
  static const std::regex re(R"(^health: (\S+/(?:tcp|udp)) (\S+) (up|down|unchecked): )");
  return re;
}

}  // namespace

JournalEntry journal_entry(const std::string& line, const std::string& iface, const std::string& identifier) {
  JournalEntry e;
  e.message = line;
  std::string rest = line;
  if (starts_with(line, "error: ")) {
    e.priority = Priority::kErr;
    rest = line.substr(7);
  } else if (starts_with(line, "warning: ")) {
    e.priority = Priority::kWarning;
    rest = line.substr(9);
  }
  e.fields.emplace_back("SYSLOG_IDENTIFIER", identifier);
  if (!iface.empty()) e.fields.emplace_back("XLB_IFACE", iface);
  std::smatch m;
  if (std::regex_search(rest, m, transition_re())) {
    e.fields.emplace_back("XLB_VIP", m[1].str());
    e.fields.emplace_back("XLB_BACKEND", m[2].str());
    e.fields.emplace_back("XLB_HEALTH", m[3].str());
  }
  return e;
}

bool journal_send(const JournalEntry& entry) {
  std::vector<std::string> items;
  items.reserve(entry.fields.size() + 2);
  items.push_back("MESSAGE=" + entry.message);
  items.push_back("PRIORITY=" + std::to_string(static_cast<int>(entry.priority)));
  for (const auto& [name, value] : entry.fields) items.push_back(name + "=" + value);
  std::vector<iovec> iov;
  iov.reserve(items.size());
  for (auto& s : items) iov.push_back({s.data(), s.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) == 0;
}

}  // namespace xlb::service
