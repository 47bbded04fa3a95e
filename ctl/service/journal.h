// lbd's log lines as journald entries: a priority and a few fields of
// xlb's own, so `journalctl -u lbd@eth0 -p warning` and
// `journalctl XLB_BACKEND=198.18.0.11:80` work. log.cc sends through here
// when stderr is the journal's stream (JOURNAL_STREAM), and prints plain
// lines otherwise.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace xlb::service {

// syslog(3) priorities, as journald takes them.
enum class Priority { kErr = 3, kWarning = 4, kInfo = 6 };

struct JournalEntry {
  Priority priority = Priority::kInfo;
  std::string message;  // the line as lbd logs it, without timestamp or "lbd: "
  // NAME=value pairs besides MESSAGE and PRIORITY, in order: always
  // SYSLOG_IDENTIFIER; XLB_IFACE when set; XLB_VIP, XLB_BACKEND and
  // XLB_HEALTH for a health transition.
  std::vector<std::pair<std::string, std::string>> fields;
};

// Pure. The priority comes from the line's prefix, which log.h's helpers
// put there: "error: " is err, "warning: " is warning, anything else info.
// A health transition ("health: VIP BACKEND STATE: reason", the shape of
// health::transition_line after lbd's "health: " prefix, possibly behind
// "warning: ") also names the VIP, the backend and the new state.
JournalEntry journal_entry(const std::string& line, const std::string& iface,
                           const std::string& identifier = "lbd");

// Sends the entry to journald (sd_journal_sendv). False if that failed
// (no journald listening): the caller prints the line instead.
bool journal_send(const JournalEntry& entry);

}  // namespace xlb::service
