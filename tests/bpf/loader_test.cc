// lbd's loader (ctl/lbd/loader.h) on a veth pair in the test's private
// network namespace, with a pin root of its own on bpffs: attaching pins the
// maps and the adjust program, a second attach adopts the running program
// and its maps instead of loading another, the attach mode is the one asked
// for, the pin directory's lock is exclusive, and detach removes everything.
#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <dirent.h>

#include <random>
#include <map>
#include <set>
#include <string>

#include "core/error.h"
#include "kit/prog_run.h"
#include "lbd/links.h"
#include "lbd/loader.h"
#include "xlb/abi.h"

namespace xlb::test {
namespace {

const char* kIf = "xlbld0";
const char* kPeer = "xlbld1";

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// The id of the map pinned at path, 0 if none.
uint32_t pinned_map_id(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return 0;
  bpf_map_info info{};
  uint32_t len = sizeof info;
  uint32_t id = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
  close(fd);
  return id;
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF)";
    ASSERT_EQ(run_cmd(std::string("ip link add ") + kIf + " type veth peer name " + kPeer + " && ip link set " +
                      kIf + " up && ip link set " + kPeer + " up"),
              0);
    ifindex = static_cast<int>(if_nametoindex(kIf));
    ASSERT_GT(ifindex, 0);
    pin_root = "/sys/fs/bpf/xlb-loader-test-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}());
    opts.ifaces = {kIf};
    opts.pin_root = pin_root;
    opts.xdp_mode = "native";
    opts.flow_table_size = 4096;
    ensure_bpffs(pin_root);
    pin_dir = pin_dir_of(pin_root, kIf);
  }
  void TearDown() override {
    if (geteuid() != 0) return;
    try {
      detach(kIf, pin_root);
    } catch (const std::exception&) {
    }
    // (The macvlan of FillTxPorts... goes with kIf; its bridge does not.)
    run_cmd(std::string("ip link del ") + kIf + " 2>/dev/null; ip link del xlbld3 2>/dev/null");
    rmdir(pin_root.c_str());
  }
  int ifindex = 0;
  std::string pin_root, pin_dir;
  AttachOptions opts;
};

TEST_F(LoaderTest, AttachPinsTheMapsAndTheAdjustProgramAndDetachRemovesThem) {
  Attachment a = attach_or_adopt(opts);
  EXPECT_FALSE(a.adopted);
  EXPECT_EQ(a.pin_dir, pin_dir);
  ASSERT_EQ(a.ifaces.size(), 1u);
  EXPECT_EQ(a.ifaces[0].iface, kIf);
  EXPECT_EQ(a.ifaces[0].ifindex, ifindex);
  EXPECT_EQ(a.ifaces[0].xdp_mode, "native");
  EXPECT_FALSE(a.ifaces[0].adopted);

  auto found = find_attached(ifindex);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->first, "native");
  EXPECT_EQ(found->second, a.ifaces[0].prog_id);
  for (const char* pin : {XLB_MAP_CONFIG, "xlb_flows", "xlb_conns", XLB_CONN_ADJUST_PROG_NAME})
    EXPECT_TRUE(exists(pin_dir + "/" + pin)) << pin;

  EXPECT_TRUE(detach(kIf, pin_root));
  EXPECT_FALSE(find_attached(ifindex).has_value());
  EXPECT_FALSE(exists(pin_dir));
  EXPECT_FALSE(detach(kIf, pin_root)) << "a second detach found something to remove";
}

TEST_F(LoaderTest, ASecondAttachAdoptsTheRunningProgramAndItsMaps) {
  Attachment first = attach_or_adopt(opts);
  uint32_t flows_id = pinned_map_id(pin_dir + "/xlb_flows");
  ASSERT_NE(flows_id, 0u);

  // A restarted lbd, even one asking for another table size, keeps what runs.
  opts.flow_table_size = 8192;
  Attachment again = attach_or_adopt(opts);
  EXPECT_TRUE(again.adopted);
  ASSERT_EQ(again.ifaces.size(), 1u);
  EXPECT_TRUE(again.ifaces[0].adopted);
  EXPECT_EQ(again.ifaces[0].prog_id, first.ifaces[0].prog_id);
  EXPECT_EQ(pinned_map_id(pin_dir + "/xlb_flows"), flows_id);
}

TEST_F(LoaderTest, AnAdoptingAttachRepinsMapsWhosePinsAreGone) {
  attach_or_adopt(opts);
  uint32_t conns_id = pinned_map_id(pin_dir + "/xlb_conns");
  ASSERT_EQ(unlink((pin_dir + "/xlb_conns").c_str()), 0);
  ASSERT_EQ(unlink((pin_dir + "/" + XLB_CONN_ADJUST_PROG_NAME).c_str()), 0);
  Attachment again = attach_or_adopt(opts);
  EXPECT_TRUE(again.adopted);
  EXPECT_EQ(pinned_map_id(pin_dir + "/xlb_conns"), conns_id) << "the counts must be the running program's";
  EXPECT_TRUE(exists(pin_dir + "/" + XLB_CONN_ADJUST_PROG_NAME));
}

// An xlb from before the LRU reply table left its plain-hash xlb_nat_rev
// pinned (and no program attached, e.g. after a failed start). A map can't
// change type: the attach refuses with a message naming the way out, and
// that way out (detach, then start again) works.
TEST_F(LoaderTest, APinnedReplyTableOfTheOldTypeIsRefusedUntilDetach) {
  ASSERT_EQ(run_cmd("mkdir -p " + pin_dir), 0);
  LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_NO_PREALLOC);
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, XLB_MAP_NAT_REV, sizeof(xlb_flow_key), sizeof(xlb_nat_rev), 4096,
                          &mopts);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bpf_obj_pin(fd, (pin_dir + "/" + XLB_MAP_NAT_REV).c_str()), 0);
  close(fd);
  try {
    attach_or_adopt(opts);
    ADD_FAILURE() << "attached over the old xlb_nat_rev";
  } catch (const SystemError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("xlb_nat_rev"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lbd --detach"), std::string::npos) << msg;
    EXPECT_NE(msg.find("LRU"), std::string::npos) << "not the message that says why: " << msg;
  }
  EXPECT_FALSE(find_attached(ifindex).has_value());

  detach(kIf, pin_root);
  Attachment a = attach_or_adopt(opts);
  EXPECT_FALSE(a.adopted);
  fd = bpf_obj_get((pin_dir + "/" + XLB_MAP_NAT_REV).c_str());
  ASSERT_GE(fd, 0);
  bpf_map_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  close(fd);
  EXPECT_EQ(info.type, BPF_MAP_TYPE_LRU_HASH);
  EXPECT_EQ(info.max_entries, 4096u);
}

// The reply table is sized on its own when asked, else like the flow table.
TEST_F(LoaderTest, TheReplyTableTakesItsOwnSizeOrTheFlowTables) {
  auto max_entries = [&](const char* name) {
    int fd = bpf_obj_get((pin_dir + "/" + name).c_str());
    bpf_map_info info{};
    uint32_t len = sizeof info;
    EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0) << name;
    close(fd);
    return info.max_entries;
  };
  attach_or_adopt(opts);
  EXPECT_EQ(max_entries(XLB_MAP_FLOWS), 4096u);
  EXPECT_EQ(max_entries(XLB_MAP_NAT_REV), 4096u);
  detach(kIf, pin_root);
  opts.nat_table_size = 1024;
  attach_or_adopt(opts);
  EXPECT_EQ(max_entries(XLB_MAP_FLOWS), 4096u);
  EXPECT_EQ(max_entries(XLB_MAP_NAT_REV), 1024u);
}

TEST_F(LoaderTest, SkbModeIsTheModeAttached) {
  opts.xdp_mode = "skb";
  Attachment a = attach_or_adopt(opts);
  ASSERT_EQ(a.ifaces.size(), 1u);
  EXPECT_EQ(a.ifaces[0].xdp_mode, "skb");
  auto found = find_attached(ifindex);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->first, "skb");
}

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// `lbctl status` asks find_attached for every interface: libxdp 1.3.1's
// xdp_multiprog__get_from_ifindex leaked a program fd per call, so 1,000
// polls exhausted a 1,024-fd limit.
TEST_F(LoaderTest, FindAttachedLeaksNoFd) {
  attach_or_adopt(opts);
  ASSERT_TRUE(find_attached(ifindex).has_value());
  ASSERT_FALSE(find_attached(static_cast<int>(if_nametoindex(kPeer))).has_value());
  int before = open_fds();
  for (int i = 0; i < 10000; i++) {
    ASSERT_TRUE(find_attached(ifindex).has_value());
    (void)attached_config_id(ifindex);
  }
  EXPECT_NEAR(open_fds(), before, 2);
}

// The data path's identity is its xlb_config map: claim sees it before an
// attached program is adopted (so another lbd's can be refused), and for a
// new program as soon as its maps exist.
TEST_F(LoaderTest, ClaimGetsTheConfigMapIdBeforeAdopting) {
  std::vector<uint32_t> claimed;
  opts.claim = [&](uint32_t id) { claimed.push_back(id); };
  Attachment a = attach_or_adopt(opts);
  uint32_t config_id = xlb::pinned_map_id(pin_dir, XLB_MAP_CONFIG);
  ASSERT_NE(config_id, 0u);
  EXPECT_EQ(claimed, std::vector<uint32_t>{config_id});
  EXPECT_EQ(a.config_id, config_id);
  EXPECT_EQ(attached_config_id(ifindex), config_id);

  // Another pin root, same interface: the claim refuses before anything is pinned there.
  claimed.clear();
  AttachOptions other = opts;
  other.pin_root = pin_root + "-other";
  other.claim = [&](uint32_t id) {
    claimed.push_back(id);
    throw SystemError("owned");
  };
  ensure_bpffs(other.pin_root);
  EXPECT_THROW(attach_or_adopt(other), SystemError);
  EXPECT_EQ(claimed, std::vector<uint32_t>{config_id});
  EXPECT_FALSE(exists(pin_dir_of(other.pin_root, kIf) + "/" + XLB_MAP_CONFIG)) << "re-pinned another lbd's maps";
  rmdir(pin_dir_of(other.pin_root, kIf).c_str());
  rmdir(other.pin_root.c_str());
}

// A restart with fewer --iface: the interface left out still carried our
// program over our maps, with nothing to manage it. It is detached.
TEST_F(LoaderTest, AnInterfaceDroppedFromIfaceIsDetached) {
  int peer = static_cast<int>(if_nametoindex(kPeer));
  opts.ifaces = {kIf, kPeer};
  attach_or_adopt(opts);
  ASSERT_TRUE(find_attached(peer).has_value());
  opts.ifaces = {kIf};
  Attachment a = attach_or_adopt(opts);
  EXPECT_TRUE(a.adopted);
  EXPECT_EQ(a.dropped, std::vector<std::string>{kPeer});
  EXPECT_FALSE(find_attached(peer).has_value());
  EXPECT_TRUE(find_attached(ifindex).has_value());
}

// Pinned maps, no program (detached by hand): attaching over them recovers
// their state, and the sizes asked for are warned about, not applied.
TEST_F(LoaderTest, AReattachOverPinnedMapsIsARecoveryAndWarnsAboutSizes) {
  attach_or_adopt(opts);
  ASSERT_EQ(run_cmd(std::string("ip link set dev ") + kIf + " xdp off"), 0);
  ASSERT_FALSE(find_attached(ifindex).has_value());
  Attachment a = attach_or_adopt(opts);
  EXPECT_FALSE(a.adopted);
  EXPECT_TRUE(a.reused);
  EXPECT_TRUE(table_size_warnings(pin_dir, kIf, 4096, 0).empty());
  auto w = table_size_warnings(pin_dir, kIf, 8192, 4096);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("--flow-table-size 8192 differs from the running xlb_flows (4096 entries)"), std::string::npos)
      << w[0];
  EXPECT_NE(w[0].find(std::string("lbd --detach ") + kIf), std::string::npos) << w[0];
}

// ---- upgrade (issue 13): xlb_meta, the atomic replacement, the ABI rule ----

// Writes xlb_meta's entry (to simulate another build or ABI version).
void write_meta(const std::string& pin_dir, const xlb_meta& m) {
  int fd = bpf_obj_get((pin_dir + "/" + XLB_MAP_META).c_str());
  ASSERT_GE(fd, 0);
  uint32_t key = 0;
  ASSERT_EQ(bpf_map_update_elem(fd, &key, &m, BPF_ANY), 0);
  close(fd);
}

TEST_F(LoaderTest, AttachRecordsItsAbiAndBuildInXlbMeta) {
  attach_or_adopt(opts);
  auto m = read_meta(pin_dir);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->magic, XLB_META_MAGIC);
  EXPECT_EQ(m->abi_version, static_cast<uint32_t>(XLB_ABI_VERSION));
  EXPECT_EQ(m->build_id, own_build_id());
  EXPECT_NE(own_build_id(), 0u);
}

// The running program is another build (its recorded build id differs): a
// new attach loads this one over the same maps and swaps it in; the maps
// are the same ones, and xlb_meta names the new build.
TEST_F(LoaderTest, AnAdoptedProgramOfAnotherBuildIsReplacedOverTheSameMaps) {
  Attachment first = attach_or_adopt(opts);
  uint32_t flows_id = pinned_map_id(pin_dir + "/xlb_flows");
  write_meta(pin_dir, xlb_meta{XLB_META_MAGIC, XLB_ABI_VERSION, 0x1234});
  Attachment again = attach_or_adopt(opts);
  EXPECT_TRUE(again.adopted);
  ASSERT_TRUE(again.upgraded_from.has_value());
  EXPECT_EQ(*again.upgraded_from, 0x1234u);
  auto found = find_attached(ifindex);
  ASSERT_TRUE(found.has_value());
  EXPECT_NE(found->second, first.ifaces[0].prog_id);
  EXPECT_EQ(found->second, again.ifaces[0].prog_id);
  EXPECT_EQ(found->first, "native");
  EXPECT_EQ(pinned_map_id(pin_dir + "/xlb_flows"), flows_id);
  EXPECT_EQ(attached_config_id(ifindex), again.config_id);
  EXPECT_EQ(read_meta(pin_dir)->build_id, own_build_id());
  EXPECT_TRUE(exists(pin_dir + "/" + XLB_CONN_ADJUST_PROG_NAME));
  // And now it is this build: the next attach adopts it.
  Attachment third = attach_or_adopt(opts);
  EXPECT_FALSE(third.upgraded_from.has_value());
  EXPECT_EQ(third.ifaces[0].prog_id, again.ifaces[0].prog_id);
}

// With two interfaces, both get the new program.
TEST_F(LoaderTest, AnUpgradeReplacesTheProgramOnEveryInterface) {
  int peer = static_cast<int>(if_nametoindex(kPeer));
  opts.ifaces = {kIf, kPeer};
  Attachment first = attach_or_adopt(opts);
  write_meta(pin_dir, xlb_meta{XLB_META_MAGIC, XLB_ABI_VERSION, 0x1234});
  Attachment again = attach_or_adopt(opts);
  ASSERT_TRUE(again.upgraded_from.has_value());
  auto a = find_attached(ifindex), b = find_attached(peer);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->second, first.ifaces[0].prog_id);
  EXPECT_EQ(a->second, b->second);
}

TEST_F(LoaderTest, NoUpgradeKeepsTheRunningBuild) {
  Attachment first = attach_or_adopt(opts);
  write_meta(pin_dir, xlb_meta{XLB_META_MAGIC, XLB_ABI_VERSION, 0x1234});
  opts.allow_upgrade = false;
  Attachment again = attach_or_adopt(opts);
  EXPECT_FALSE(again.upgraded_from.has_value());
  EXPECT_EQ(again.ifaces[0].prog_id, first.ifaces[0].prog_id);
  EXPECT_EQ(read_meta(pin_dir)->build_id, 0x1234u);
}

// Maps of another ABI version: refused, running or not, and nothing changes.
TEST_F(LoaderTest, AnotherAbiVersionIsRefusedAndNothingChanges) {
  Attachment first = attach_or_adopt(opts);
  uint32_t flows_id = pinned_map_id(pin_dir + "/xlb_flows");
  write_meta(pin_dir, xlb_meta{XLB_META_MAGIC, XLB_ABI_VERSION + 1, 0x1234});
  for (bool running : {true, false}) {
    if (!running) {
      ASSERT_EQ(run_cmd(std::string("ip link set dev ") + kIf + " xdp off"), 0);
    }
    try {
      attach_or_adopt(opts);
      ADD_FAILURE() << "took over maps of another ABI version (running " << running << ")";
    } catch (const SystemError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("from ABI " + std::to_string(XLB_ABI_VERSION + 1)), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::string("lbd --detach ") + kIf), std::string::npos) << msg;
    }
    auto found = find_attached(ifindex);
    EXPECT_EQ(found.has_value(), running);
    if (found) {
      EXPECT_EQ(found->second, first.ifaces[0].prog_id);
    }
    EXPECT_EQ(pinned_map_id(pin_dir + "/xlb_flows"), flows_id);
    EXPECT_EQ(read_meta(pin_dir)->abi_version, static_cast<uint32_t>(XLB_ABI_VERSION + 1));
  }
}

// Pins from before xlb_meta (no program running over them): refused.
TEST_F(LoaderTest, PinsOlderThanAbiVersionsAreRefused) {
  attach_or_adopt(opts);
  ASSERT_EQ(run_cmd(std::string("ip link set dev ") + kIf + " xdp off"), 0);
  ASSERT_EQ(unlink((pin_dir + "/" + XLB_MAP_META).c_str()), 0);
  try {
    attach_or_adopt(opts);
    ADD_FAILURE() << "took over pins without xlb_meta";
  } catch (const SystemError& e) {
    EXPECT_NE(std::string(e.what()).find("older than ABI versions"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(find_attached(ifindex).has_value());
  EXPECT_FALSE(exists(pin_dir + "/" + XLB_MAP_META)) << "created an xlb_meta over old pins";
}

TEST_F(LoaderTest, ThePinDirectoryLockIsExclusive) {
  Fd held = lock_pin_dir(pin_dir, kIf);
  try {
    Fd second = lock_pin_dir(pin_dir, kIf);
    FAIL() << "two holders of the pin directory's lock";
  } catch (const SystemError& e) {
    EXPECT_NE(std::string(e.what()).find("another lbd is already running"), std::string::npos) << e.what();
  }
  held.reset();
  EXPECT_NO_THROW(lock_pin_dir(pin_dir, kIf));
  rmdir(pin_dir.c_str());
}

TEST_F(LoaderTest, CheckIfacesRefusesWhatItCanNotAttachTo) {
  EXPECT_EQ(check_ifaces({kIf, kPeer}).size(), 2u);
  EXPECT_THROW(check_ifaces({}), InputError);
  EXPECT_THROW(check_ifaces({"xlb-no-such0"}), InputError);
  EXPECT_THROW(check_ifaces({kIf, kIf}), InputError);
}

// The keys of the (ifindex-keyed) map pinned at path.
std::set<uint32_t> map_keys(const std::string& path) {
  std::set<uint32_t> out;
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return out;
  uint32_t key = 0, next = 0;
  uint32_t* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    out.insert(next);
    key = next;
    prev = &key;
  }
  close(fd);
  return out;
}

// rtnetlink's view of devices of several kinds, and fill_tx_ports: only
// devices that can transmit XDP frames in the devmap, stale entries of
// both maps removed, no VLAN device here to describe (this kernel cannot
// make one; tests/unit/lbd/egress_test.cc covers the descriptions).
TEST_F(LoaderTest, FillTxPortsKeepsOnlyDevicesThatTransmitXdpFrames) {
  // (No dummy devices on this kernel.)
  ASSERT_EQ(run_cmd(std::string("ip link add xlbld3 type bridge && ip link add xlbld4 link ") + kIf +
                    " type macvlan"),
            0);
  int bridge = if_nametoindex("xlbld3"), macvlan = if_nametoindex("xlbld4");
  int peer = if_nametoindex(kPeer);
  std::map<int, LinkInfo> links;
  for (const auto& l : list_links()) links[l.ifindex] = l;
  ASSERT_TRUE(links.count(ifindex) && links.count(bridge) && links.count(macvlan));
  EXPECT_EQ(links[ifindex].kind, "veth");
  EXPECT_EQ(links[ifindex].name, kIf);
  EXPECT_EQ(links[bridge].kind, "bridge");
  EXPECT_EQ(links[macvlan].kind, "macvlan");
  EXPECT_EQ(links[macvlan].lower, ifindex);
  EXPECT_TRUE(links[1].loopback);

  attach_or_adopt(opts);
  // Left by an older lbd: the bridge in the devmap, a VLAN that is gone.
  std::string ports = pin_dir + "/" + XLB_MAP_TX_PORTS, egress = pin_dir + "/" + XLB_MAP_EGRESS;
  {
    int fd = bpf_obj_get(ports.c_str());
    uint32_t k = bridge;
    EXPECT_EQ(bpf_map_update_elem(fd, &k, &k, BPF_ANY), 0);
    close(fd);
    fd = bpf_obj_get(egress.c_str());
    uint32_t gone = 4242;
    xlb_egress e{};
    EXPECT_EQ(bpf_map_update_elem(fd, &gone, &e, BPF_ANY), 0);
    close(fd);
  }
  EgressFill n = fill_tx_ports(pin_dir, true);
  std::set<uint32_t> got = map_keys(ports);
  EXPECT_EQ(n.tx_ports, static_cast<int>(got.size()));
  EXPECT_TRUE(got.count(ifindex));
  EXPECT_TRUE(got.count(peer));
  for (int not_xdp : {1, bridge, macvlan}) EXPECT_FALSE(got.count(not_xdp)) << not_xdp;
  EXPECT_EQ(n.vlans, 0);
  EXPECT_TRUE(map_keys(egress).empty());
}

}  // namespace
}  // namespace xlb::test
