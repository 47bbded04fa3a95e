// lbd's log lines (ctl/lbd/log.h): an ISO 8601 UTC timestamp with
// milliseconds, unless stderr is the journal stream systemd names in
// JOURNAL_STREAM.
#include "lbd/log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <regex>
#include <string>

namespace xlb {
namespace {

TEST(LogTest, LinesCarryAnIsoTimestampInUtcWithMilliseconds) {
  EXPECT_TRUE(std::regex_match(log_timestamp(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << log_timestamp();
  unsetenv("JOURNAL_STREAM");
  ::testing::internal::CaptureStderr();
  log_line("hello");
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_match(out, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z lbd: hello\n)"))) << out;
}

TEST(LogTest, StderrIsTheJournalOnlyIfJournalStreamNamesIt) {
  unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(stderr_is_journal());
  struct stat st {};
  ASSERT_EQ(fstat(2, &st), 0);
  std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  setenv("JOURNAL_STREAM", mine.c_str(), 1);
  EXPECT_TRUE(stderr_is_journal());
  // Inherited by a child whose stderr went elsewhere: not the journal.
  setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
  EXPECT_FALSE(stderr_is_journal());
  unsetenv("JOURNAL_STREAM");
}

}  // namespace
}  // namespace xlb
