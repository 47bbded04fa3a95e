// Issue 11, part 4: addresses refused as VIPs and backends (special classes,
// the load balancer's own addresses, a VIP as its own backend), the warning
// for VIPs with more active backends than ring slots, and the reaper's
// settings kept in xlb_config across a restart.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "balancer_fixture.h"
#include "core/config.h"
#include "core/error.h"
#include "core/rules.h"

namespace xlb {
namespace {

using testing::BalancerTest;
using testing::ep;
using testing::ip;
using testing::kSmallRing;
using testing::TCP;

// The message of the InputError fn throws, or "" if none.
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every class refused whatever the mode, with the class named in the message.
const std::vector<std::pair<std::string, std::string>> kSpecial = {
    {"0.0.0.0", "unspecified"},
    {"0.1.2.3", "unspecified"},
    {"255.255.255.255", "broadcast"},
    {"224.0.0.1", "multicast"},
    {"239.255.255.250", "multicast"},
    {"127.0.0.1", "loopback"},
    {"127.1.2.3", "loopback"},
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"ff02::1", "multicast"},
    {"ff0e::1234", "multicast"},
    {"::ffff:198.18.100.1", "IPv4-mapped"},
};

// Neighbours of the special ranges, and the rig's addresses, stay valid.
const std::vector<std::string> kOrdinary = {"198.18.100.1", "198.19.0.11", "1.0.0.0",        "223.255.255.255",
                                            "240.0.0.1",    "128.0.0.1",   "255.255.255.254", "fd00:100::1",
                                            "fd00::1",      "::2",         "fe80::1",        "::fffe:1:2",
                                            "2001:db8::ffff:1:2"};

TEST(AddressRules, SpecialAddressesAreNeitherVipsNorBackends) {
  for (const auto& [text, what] : kSpecial) {
    IpAddr a = ip(text);
    EXPECT_TRUE(contains(special_address_class(a), what)) << text << ": " << special_address_class(a);
    std::string e = error_of([&] { check_vip_address(a, {}); });
    EXPECT_TRUE(contains(e, a.str() + " cannot be a VIP")) << e;
    EXPECT_TRUE(contains(e, what)) << e;
    IpAddr vip = ip(a.is_v4() ? "198.18.100.1" : "fd00:100::1");
    e = error_of([&] { check_backend_address(a, vip, {}); });
    EXPECT_TRUE(contains(e, a.str() + " cannot be a backend")) << e;
    EXPECT_TRUE(contains(e, what)) << e;
  }
}

TEST(AddressRules, OrdinaryAddressesPass) {
  for (const auto& text : kOrdinary) {
    EXPECT_EQ(special_address_class(ip(text)), "") << text;
    EXPECT_EQ(error_of([&] { check_vip_address(ip(text), {}); }), "") << text;
  }
}

TEST(AddressRules, TheLoadBalancersOwnAddressesAreRefused) {
  std::vector<IpAddr> local = {ip("198.18.0.1"), ip("fd00:18::1")};
  EXPECT_TRUE(contains(error_of([&] { check_vip_address(ip("198.18.0.1"), local); }), "load balancer's own address"));
  EXPECT_TRUE(contains(error_of([&] { check_vip_address(ip("fd00:18::1"), local); }), "load balancer's own address"));
  EXPECT_TRUE(contains(error_of([&] { check_backend_address(ip("198.18.0.1"), ip("198.18.100.1"), local); }),
                       "198.18.0.1 cannot be a backend: it is the load balancer's own address"));
  EXPECT_EQ(error_of([&] { check_vip_address(ip("198.18.0.2"), local); }), "");
  EXPECT_EQ(error_of([&] { check_backend_address(ip("198.18.0.2"), ip("198.18.100.1"), local); }), "");
}

TEST(AddressRules, AVipIsNotItsOwnBackend) {
  EXPECT_EQ(error_of([&] { check_backend_address(ip("198.18.100.1"), ip("198.18.100.1"), {}); }),
            "198.18.100.1 cannot be a backend of its own VIP: packets would loop back to the load balancer");
  EXPECT_NE(error_of([&] { check_backend_address(ip("fd00:100::1"), ip("fd00:100::1"), {}); }), "");
  EXPECT_EQ(error_of([&] { check_backend_address(ip("198.18.100.2"), ip("198.18.100.1"), {}); }), "");
}

// ---- config parsing: the classes and the VIP as its own backend (lbd's own
// addresses are only known when applying)

std::string config_error(const std::string& text) {
  return error_of([&] { parse_config_text(text); });
}

TEST(AddressRulesConfig, RefusesSpecialVipsAndBackendsNamingTheField) {
  EXPECT_EQ(config_error(R"({"vips": [{"vip": "127.0.0.1:80", "proto": "tcp"}]})"),
            "vips[0].vip: 127.0.0.1 cannot be a VIP: it is a loopback address (127.0.0.0/8)");
  EXPECT_EQ(config_error(R"({"vips": [{"vip": "[ff02::1]:80", "proto": "tcp"}]})"),
            "vips[0].vip: ff02::1 cannot be a VIP: it is a multicast address (ff00::/8)");
  EXPECT_EQ(config_error(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp",
                                       "backends": [{"address": "198.19.0.11"}, {"address": "0.0.0.0"}]}]})"),
            "vips[0].backends[1].address: 0.0.0.0 cannot be a backend: it is an unspecified address (0.0.0.0/8)");
  EXPECT_EQ(config_error(R"({"vips": [{"vip": "[fd00:100::1]:80", "proto": "tcp",
                                       "backends": [{"address": "::ffff:198.19.0.11"}]}]})"),
            "vips[0].backends[0].address: ::ffff:198.19.0.11 cannot be a backend: it is an IPv4-mapped address "
            "(::ffff:0:0/96; write the IPv4 address instead)");
  for (const char* mode : {"ipip", "nat", "fullnat", "l2dsr"}) {
    std::string port = std::string(mode) == "nat" || std::string(mode) == "fullnat" ? R"(, "port": 8080)" : "";
    EXPECT_EQ(config_error(std::string(R"({"fullnat": {"source_v4": "198.18.0.1"}, "vips": [{"vip": "198.18.100.1:80",
                                       "proto": "tcp", "mode": ")") +
                           mode + R"(", "backends": [{"address": "198.18.100.1")" + port + "}]}]}"),
              "vips[0].backends[0].address: 198.18.100.1 cannot be a backend of its own VIP: packets would loop "
              "back to the load balancer")
        << mode;
  }
}

// ---- the balancer: add-vip, add-backend and apply refuse them, and change nothing

EncapDefaults with_local() {
  EncapDefaults d = testing::iface_defaults();
  d.local = {ip("198.18.0.1"), ip("fd00:18::1"), ip("198.18.5.5")};
  return d;
}

class AddressRulesBalancer : public BalancerTest {
 protected:
  void SetUp() override { lb = make(with_local()); }
  // The refusal of fn, after checking that the maps did not change.
  template <typename Fn>
  std::string refused(Fn fn) {
    std::string before = snapshot();
    uint64_t writes = maps->writes;
    std::string e = error_of(fn);
    EXPECT_NE(e, "");
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(maps->writes, writes);
    return e;
  }
};

TEST_F(AddressRulesBalancer, AddVipRefusesSpecialAndOwnAddresses) {
  for (const auto& [text, what] : kSpecial) {
    IpAddr a = ip(text);
    VipSpec s;
    s.vip = Endpoint{a, 80};
    s.proto = TCP;
    s.ring_size = kSmallRing;
    EXPECT_TRUE(contains(refused([&] { lb->add_vip(s); }), what)) << text;
  }
  for (const char* own : {"198.18.0.1:80", "[fd00:18::1]:80", "198.18.5.5:443"}) {
    EXPECT_TRUE(contains(refused([&] { add_vip(own); }), "load balancer's own address")) << own;
  }
  EXPECT_EQ(lb->vip_count(), 0u);
  add_vip("198.18.100.1:80");  // an ordinary one still goes in
  EXPECT_EQ(lb->vip_count(), 1u);
}

TEST_F(AddressRulesBalancer, AddBackendRefusesSpecialOwnAndTheVipItself) {
  add_vip("198.18.100.1:80");
  add_vip("[fd00:100::1]:80");
  for (const auto& [text, what] : kSpecial) {
    IpAddr a = ip(text);
    std::string vip = a.is_v4() ? "198.18.100.1:80" : "[fd00:100::1]:80";
    EXPECT_TRUE(contains(refused([&] { add(vip, text); }), what)) << text;
  }
  EXPECT_TRUE(contains(refused([&] { add("198.18.100.1:80", "198.18.0.1"); }), "load balancer's own address"));
  EXPECT_TRUE(contains(refused([&] { add("[fd00:100::1]:80", "fd00:18::1"); }), "load balancer's own address"));
  EXPECT_TRUE(contains(refused([&] { add("198.18.100.1:80", "198.18.100.1"); }), "its own VIP"));
  EXPECT_TRUE(contains(refused([&] { add("[fd00:100::1]:80", "fd00:100::1"); }), "its own VIP"));
  add("198.18.100.1:80", "198.19.0.11");
  EXPECT_EQ(lb->backend_count(), 1u);
}

TEST_F(AddressRulesBalancer, NatVipRefusesItsOwnAddressOnAnotherPort) {
  VipSpec s;
  s.vip = ep("198.18.100.1:80");
  s.proto = TCP;
  s.mode = XLB_MODE_NAT;
  s.ring_size = kSmallRing;
  lb->add_vip(s);
  EXPECT_TRUE(contains(refused([&] { lb->add_backend(s.vip, TCP, ip("198.18.100.1"), 1, 8080); }), "its own VIP"));
}

TEST_F(AddressRulesBalancer, ApplyRefusesOwnAddressesThatParsingCannotKnow) {
  add_vip("198.18.100.1:80");
  add("198.18.100.1:80", "198.19.0.11");
  Config vip_own = parse_config_text(R"({"vips": [{"vip": "198.18.5.5:80", "proto": "tcp"}]})");
  EXPECT_EQ(refused([&] { lb->apply(vip_own); }),
            "198.18.5.5:80/tcp: 198.18.5.5 cannot be a VIP: it is the load balancer's own address (on an "
            "interface lbd serves)");
  Config backend_own = parse_config_text(
      R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp", "backends": [{"address": "198.18.0.1"}]}]})");
  EXPECT_EQ(refused([&] { lb->apply(backend_own); }),
            "198.18.100.1:80/tcp backend 198.18.0.1: 198.18.0.1 cannot be a backend: it is the load balancer's "
            "own address (on an interface lbd serves)");
}

TEST_F(AddressRulesBalancer, ApplyRefusesConfigsBuiltInCode) {
  // A Config built in code skips parse_config's checks: apply's own catch them.
  Config c;
  VipConfig v;
  v.vip = ep("198.18.100.1:80");
  v.proto = TCP;
  v.ring_size = kSmallRing;
  v.backends.push_back({ip("198.18.100.1"), 1, 0});
  c.vips.push_back(v);
  EXPECT_TRUE(contains(refused([&] { lb->apply(c); }), "its own VIP"));
  c.vips[0].backends[0].address = ip("224.0.0.5");
  EXPECT_TRUE(contains(refused([&] { lb->apply(c); }), "multicast"));
  c.vips[0].backends.clear();
  c.vips[0].vip = ep("255.255.255.255:80");
  EXPECT_TRUE(contains(refused([&] { lb->apply(c); }), "broadcast"));
}

// ---- ring slots

TEST(RingSlotWarning, OnlyWhenActiveBackendsOutnumberSlots) {
  EXPECT_EQ(ring_slot_warning("198.18.100.1:80/tcp", XLB_SCHED_MAGLEV, 251, 251), "");
  EXPECT_EQ(ring_slot_warning("198.18.100.1:80/tcp", XLB_SCHED_MAGLEV, 2001, 251),
            "VIP 198.18.100.1:80/tcp: 2001 active backends but ring_size 251: at least 1750 get no ring slot (no "
            "new flows); raise ring_size");
  EXPECT_TRUE(contains(ring_slot_warning("v", XLB_SCHED_LEAST_CONN, 12, 11), "while the flood guard"));
}

class RingWarnings : public BalancerTest {};

TEST_F(RingWarnings, NamesTheVipWhoseBackendsOutnumberItsRing) {
  add_vip("198.18.100.1:80", TCP, 7);
  add_vip("198.18.100.2:80", TCP, 7);
  for (int i = 1; i <= 7; i++) add("198.18.100.1:80", "198.19.0." + std::to_string(i));
  EXPECT_TRUE(lb->ring_warnings().empty());
  for (int i = 8; i <= 9; i++) add("198.18.100.1:80", "198.19.0." + std::to_string(i));
  add("198.18.100.2:80", "198.19.0.1");
  EXPECT_EQ(lb->ring_warnings(),
            std::vector<std::string>{"VIP 198.18.100.1:80/tcp: 9 active backends but ring_size 7: at least 2 get "
                                     "no ring slot (no new flows); raise ring_size"});
  // Draining backends take no slot: they do not count.
  lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.9"), 0);
  lb->set_backend(ep("198.18.100.1:80"), TCP, ip("198.19.0.8"), 0);
  EXPECT_TRUE(lb->ring_warnings().empty());
}

// ---- the reaper's settings kept in xlb_config

TEST_F(BalancerTest, ApplyKeepsTheTimeoutsInTheMapsAndARestartRecoversThem) {
  // A fresh map (all zero) means the defaults.
  EXPECT_EQ(lb->timeouts(), Timeouts{});
  EXPECT_EQ(lb->reap_interval_ms(), kDefaultReapIntervalMs);
  Config c = parse_config_text(
      R"({"timeouts": {"tcp_established": 3600, "tcp_half_open": 600, "tcp_closing": 45, "udp": 30},
          "reap_interval_ms": 250})");
  ApplyResult r = lb->apply(c);
  EXPECT_EQ(r.changed, 1u);  // the settings
  EXPECT_EQ(maps->config.timeout_tcp_half_open, 600u);
  EXPECT_EQ(maps->config.reap_interval_ms, 250u);
  EXPECT_EQ(lb->timeouts(), c.timeouts);

  // A restarted lbd without a config: a new Balancer over the same maps.
  auto again = make();
  EXPECT_EQ(again->timeouts(), c.timeouts);
  EXPECT_EQ(again->timeouts().tcp_half_open, 600u);
  EXPECT_EQ(again->reap_interval_ms(), 250u);
  Config current = again->current_config();
  EXPECT_EQ(current.timeouts, c.timeouts);
  EXPECT_EQ(current.reap_interval_ms, 250u);
  // ...and applying what it runs changes nothing.
  uint64_t writes = maps->writes;
  EXPECT_EQ(again->apply(current).changed, 0u);
  EXPECT_EQ(maps->writes, writes);

  // Other writes of the config entry (the NAT flag) keep them.
  VipSpec s;
  s.vip = ep("198.18.100.1:80");
  s.proto = TCP;
  s.mode = XLB_MODE_NAT;
  s.ring_size = kSmallRing;
  again->add_vip(s);
  EXPECT_TRUE(again->nat_flag());
  EXPECT_EQ(make()->timeouts().tcp_half_open, 600u);

  // A config without timeouts sets the defaults back.
  again->apply(parse_config_text("{}"));
  EXPECT_EQ(make()->timeouts(), Timeouts{});
}

TEST_F(BalancerTest, StoredTimeoutsOutOfRangeReadAsTheDefaults) {
  maps->config.timeout_tcp_half_open = kMaxTimeoutS + 1;
  maps->config.timeout_udp = 77;
  maps->config.reap_interval_ms = 5;
  auto b = make();
  Timeouts want;
  want.udp = 77;
  EXPECT_EQ(b->timeouts(), want);
  EXPECT_EQ(b->reap_interval_ms(), kDefaultReapIntervalMs);
}

}  // namespace
}  // namespace xlb
