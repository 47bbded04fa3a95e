// The data path's owner lock (ctl/lbd/owner_lock.h): one holder at a time,
// a refusal names the holder, and it is free again once released or removed.
#include "lbd/owner_lock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace xlb {
namespace {

class OwnerLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-owner-lock-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir).c_str()); }
  std::string dir;
};

TEST_F(OwnerLockTest, ASecondHolderIsRefusedWithTheFirstsPidPinsAndInterfaces) {
  OwnerLock a = OwnerLock::take(42, {"/sys/fs/bpf/a/eth0", {"eth0", "eth1"}, "/run/a.sock"}, "stop it", dir);
  EXPECT_TRUE(a.held());
  try {
    OwnerLock::take(42, {"/sys/fs/bpf/b/eth0", {"eth0"}, ""}, "stop it, or lbctl --socket SOCKET detach", dir);
    FAIL() << "two holders of one data path";
  } catch (const SystemError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("pid " + std::to_string(getpid())), std::string::npos) << m;
    EXPECT_NE(m.find("pins in /sys/fs/bpf/a/eth0"), std::string::npos) << m;
    EXPECT_NE(m.find("interfaces eth0, eth1"), std::string::npos) << m;
    EXPECT_NE(m.find("socket /run/a.sock"), std::string::npos) << m;
    EXPECT_NE(m.find("stop it, or lbctl --socket /run/a.sock detach"), std::string::npos) << m;
  }
  // Another data path is another lock.
  EXPECT_NO_THROW(OwnerLock::take(43, {"/p", {"eth2"}, ""}, "", dir));
}

TEST_F(OwnerLockTest, TheFileIsThereWhileHeldAndTheLockFreeAgainAfter) {
  struct stat st {};
  {
    OwnerLock a = OwnerLock::take(7, {"/p", {"eth0"}, ""}, "", dir);
    EXPECT_EQ(stat(owner_lock_path(7, dir).c_str(), &st), 0);
  }
  EXPECT_NE(stat(owner_lock_path(7, dir).c_str(), &st), 0) << "left behind by a holder that let go";
  OwnerLock b = OwnerLock::take(7, {"/p", {"eth0"}, ""}, "", dir);
  b.remove();
  EXPECT_FALSE(b.held());
  OwnerLock c = OwnerLock::take(7, {"/p", {"eth0"}, ""}, "", dir);
  EXPECT_TRUE(c.held());
  // Replaced by another lock: the first one's file goes.
  c = OwnerLock::take(8, {"/p", {"eth0"}, ""}, "", dir);
  EXPECT_NE(stat(owner_lock_path(7, dir).c_str(), &st), 0);
  EXPECT_EQ(stat(owner_lock_path(8, dir).c_str(), &st), 0);
}

}  // namespace
}  // namespace xlb
