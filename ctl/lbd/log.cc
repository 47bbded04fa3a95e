#include "log.h"

#include <sys/stat.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "service/journal.h"

namespace xlb {

bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

namespace {
std::string g_iface;
}

void set_log_iface(const std::string& iface) { g_iface = iface; }

std::string log_timestamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ts.tv_nsec / 1000000));
  return buf;
}

void log_line(const std::string& line) {
  // Decided once: stderr does not change under a running lbd.
  static const bool journal = stderr_is_journal();
  // Under systemd, an entry with priority and fields; should journald not
  // take it, the plain line below.
  if (journal && service::journal_send(service::journal_entry(line, g_iface))) return;
  // One fprintf per line, so lines of the reaper thread and the main loop
  // never interleave mid-line.
  if (journal)
    std::fprintf(stderr, "lbd: %s\n", line.c_str());
  else
    std::fprintf(stderr, "%s lbd: %s\n", log_timestamp().c_str(), line.c_str());
}

}  // namespace xlb
