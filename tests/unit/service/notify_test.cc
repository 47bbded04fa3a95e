// sd_notify from lbd (ctl/service/notify.h), received on a datagram socket
// the test binds and names in NOTIFY_SOCKET, as systemd does.
#include "service/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace xlb::service {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-notify-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
    ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
  }
  void TearDown() override {
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
  }
  // The next datagram, already queued (sd_notify's send has returned), or
  // "" if none.
  std::string next() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  void use_socket() { setenv("NOTIFY_SOCKET", path_.c_str(), 1); }

  std::string dir_, path_;
  int fd_ = -1;
};

TEST(WatchdogPeriod, IsHalfTheTimeout) {
  EXPECT_EQ(watchdog_period(20000000), microseconds(10000000));
  EXPECT_EQ(watchdog_period(0), microseconds(0));
}

TEST_F(NotifyTest, NothingWithoutNotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  Notifier n;
  EXPECT_FALSE(n.active());
  n.ready("x");
  n.stopping("x");
  n.tick(Notifier::Clock::now());
  EXPECT_EQ(next(), "");
}

TEST_F(NotifyTest, ReadyStoppingReloading) {
  use_socket();
  Notifier n;
  ASSERT_TRUE(n.active());
  EXPECT_EQ(n.watchdog(), microseconds(0));
  n.ready("serving eth0");
  EXPECT_EQ(next(), "READY=1\nSTATUS=serving eth0");
  n.reloading("reloading /etc/xlb/eth0.json");
  std::string r = next();
  EXPECT_EQ(r.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << r;
  EXPECT_NE(r.find("\nSTATUS=reloading /etc/xlb/eth0.json"), std::string::npos) << r;
  n.reloaded("serving eth0");
  EXPECT_EQ(next(), "READY=1\nSTATUS=serving eth0");
  n.stopping("exiting");
  EXPECT_EQ(next(), "STOPPING=1\nSTATUS=exiting");
  EXPECT_EQ(next(), "");
}

TEST_F(NotifyTest, NoWatchdogNoPing) {
  use_socket();
  Notifier n;
  n.tick(Notifier::Clock::now());
  EXPECT_EQ(next(), "");
}

TEST_F(NotifyTest, WatchdogPingsEveryHalfPeriod) {
  use_socket();
  setenv("WATCHDOG_USEC", "2000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  Notifier n;
  ASSERT_EQ(n.watchdog(), microseconds(1000000));
  auto t0 = Notifier::Clock::now();
  n.tick(t0);  // none sent yet: due at once
  EXPECT_EQ(next(), "WATCHDOG=1");
  n.tick(t0 + milliseconds(999));
  EXPECT_EQ(next(), "");
  n.tick(t0 + milliseconds(1000));
  EXPECT_EQ(next(), "WATCHDOG=1");
  n.tick(t0 + milliseconds(1500));
  EXPECT_EQ(next(), "");
  n.tick(t0 + milliseconds(2100));
  EXPECT_EQ(next(), "WATCHDOG=1");
}

TEST_F(NotifyTest, AnotherProcessesWatchdogIsNotOurs) {
  use_socket();
  setenv("WATCHDOG_USEC", "2000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  Notifier n;
  EXPECT_EQ(n.watchdog(), microseconds(0));
}

}  // namespace
}  // namespace xlb::service
