// lbd's log: one line per significant event, to stderr. Each line starts with
// an ISO 8601 UTC timestamp with milliseconds ("2026-12-06T22:55:56.123Z
// lbd: ..."), unless stderr is journald's (systemd sets JOURNAL_STREAM to
// the dev:ino of the stream it hands a service): then each line is sent as a
// journal entry instead, with its priority (err for "error: ", warning for
// "warning: ", info otherwise) and xlb's fields (service/journal.h); if
// journald can't be reached, the line goes to stderr without a timestamp
// (journald stamps lines itself).
#pragma once
#include <string>

namespace xlb {

void log_line(const std::string& line);
inline void log_warn(const std::string& line) { log_line("warning: " + line); }
inline void log_error(const std::string& line) { log_line("error: " + line); }

// The interface lbd serves, sent as XLB_IFACE with each journal entry. Set
// once at startup, before any other thread logs.
void set_log_iface(const std::string& iface);

// Is stderr the stream JOURNAL_STREAM names? Exposed for tests.
bool stderr_is_journal();

// "2026-12-06T22:55:56.123Z": the prefix of a log line, for tests.
std::string log_timestamp();

}  // namespace xlb
