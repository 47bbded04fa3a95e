// The config rules of the nat, fullnat and l2dsr modes: modes by name,
// backend ports (nat and fullnat only, identity is address and port), the
// family rules per mode, and the LB-level "fullnat" object. One rule per
// test, each with its exact message.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "core/rules.h"

namespace xlb {
namespace {

using Json = nlohmann::json;

std::string error_of(const std::string& text) {
  try {
    parse_config_text(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// A config with one VIP of `mode` and the given backends array.
std::string vip_with(const std::string& mode, const std::string& backends, const std::string& vip = "198.18.100.1:80") {
  return R"({"vips": [{"vip": ")" + vip + R"(", "proto": "tcp", "mode": ")" + mode + R"(", "backends": )" +
         backends + "}]}";
}

TEST(NatConfig, EveryModeParsesAndRoundTrips) {
  const std::pair<const char*, uint8_t> modes[] = {
      {"ipip", XLB_MODE_IPIP}, {"nat", XLB_MODE_NAT}, {"fullnat", XLB_MODE_FULLNAT}, {"l2dsr", XLB_MODE_L2DSR}};
  for (const auto& [name, mode] : modes) {
    Config c = parse_config_text(vip_with(name, "[]"));
    EXPECT_EQ(c.vips[0].mode, mode) << name;
    EXPECT_EQ(config_to_json(c)["vips"][0]["mode"], name);
    EXPECT_EQ(parse_mode(name), mode);
    EXPECT_EQ(mode_name(mode), name);
  }
  EXPECT_TRUE(mode_translates(XLB_MODE_NAT));
  EXPECT_TRUE(mode_translates(XLB_MODE_FULLNAT));
  EXPECT_FALSE(mode_translates(XLB_MODE_IPIP));
  EXPECT_FALSE(mode_translates(XLB_MODE_L2DSR));
}

TEST(NatConfig, UnknownModeListsTheSupportedOnes) {
  EXPECT_EQ(error_of(vip_with("masquerade", "[]")),
            "vips[0].mode: unsupported mode 'masquerade' (supported: ipip, nat, fullnat, l2dsr)");
}

TEST(NatConfig, BackendPortsForNatAndFullnat) {
  for (const char* mode : {"nat", "fullnat"}) {
    Config c = parse_config_text(vip_with(mode, R"([{"address": "198.19.0.11", "port": 8080},
                                                    {"address": "198.19.0.11", "port": 8081, "weight": 2},
                                                    {"address": "198.19.0.12"}])"));
    ASSERT_EQ(c.vips[0].backends.size(), 3u) << mode;
    EXPECT_EQ(c.vips[0].backends[0].port, 8080);
    EXPECT_EQ(c.vips[0].backends[1].port, 8081);
    EXPECT_EQ(c.vips[0].backends[1].weight, 2u);
    EXPECT_EQ(c.vips[0].backends[2].port, 0);  // the VIP's
    Json j = config_to_json(c);
    EXPECT_EQ(j["vips"][0]["backends"][0]["port"], 8080);
    EXPECT_FALSE(j["vips"][0]["backends"][2].contains("port"));
    EXPECT_EQ(config_to_json(parse_config(j)), j);
  }
}

TEST(NatConfig, IpipCannotRemapPorts) {
  EXPECT_EQ(error_of(vip_with("ipip", R"([{"address": "198.19.0.11", "port": 8080}])")),
            "vips[0].backends[0].port: mode ipip cannot remap ports: the backend gets the VIP's port (only nat and "
            "fullnat can)");
}

TEST(NatConfig, L2dsrCannotRemapPorts) {
  // Not even to the VIP's own port: a port key is a mistake in this mode.
  EXPECT_EQ(error_of(vip_with("l2dsr", R"([{"address": "198.19.0.11", "port": 80}])")),
            "vips[0].backends[0].port: mode l2dsr cannot remap ports: the backend gets the VIP's port (only nat and "
            "fullnat can)");
}

TEST(NatConfig, BackendPortRange) {
  EXPECT_EQ(error_of(vip_with("nat", R"([{"address": "198.19.0.11", "port": 0}])")),
            "vips[0].backends[0].port: must be 1..65535");
  EXPECT_EQ(error_of(vip_with("nat", R"([{"address": "198.19.0.11", "port": 65536}])")),
            "vips[0].backends[0].port: must be 1..65535");
  EXPECT_EQ(error_of(vip_with("nat", R"([{"address": "198.19.0.11", "port": "80"}])")),
            "vips[0].backends[0].port: must be an integer 1..65535");
}

TEST(NatConfig, DuplicateAddressAndPort) {
  EXPECT_EQ(error_of(vip_with("nat", R"([{"address": "198.19.0.11", "port": 8080},
                                         {"address": "198.19.0.11", "port": 8080}])")),
            "vips[0].backends[1]: duplicate backend 198.19.0.11:8080");
  EXPECT_EQ(error_of(vip_with("nat", R"([{"address": "fd00:19::11", "port": 8080},
                                         {"address": "fd00:19::11", "port": 8080}])",
                              "[fd00:100::1]:80")),
            "vips[0].backends[1]: duplicate backend [fd00:19::11]:8080");
}

TEST(NatConfig, ThePortOfTheVipIsNoPortOfItsOwn) {
  // No port means the VIP's, so these two are one backend.
  EXPECT_EQ(error_of(vip_with("nat", R"([{"address": "198.19.0.11"}, {"address": "198.19.0.11", "port": 80}])")),
            "vips[0].backends[1]: duplicate backend 198.19.0.11:80");
  EXPECT_EQ(error_of(vip_with("nat", R"([{"address": "198.19.0.11"}, {"address": "198.19.0.11", "port": 81}])")), "");
}

TEST(NatConfig, NatFullnatAndL2dsrKeepTheVipsFamily) {
  for (const char* mode : {"nat", "fullnat", "l2dsr"}) {
    EXPECT_EQ(error_of(vip_with(mode, R"([{"address": "fd00:19::11"}])")),
              std::string("vips[0].backends[0].address: IPv6 backend fd00:19::11 cannot serve IPv4 VIP "
                          "198.18.100.1:80 (mode ") +
                  mode + " keeps the packet's family)");
    EXPECT_EQ(error_of(vip_with(mode, R"([{"address": "198.19.0.11"}])", "[fd00:100::1]:80")),
              std::string("vips[0].backends[0].address: IPv4 backend 198.19.0.11 cannot serve IPv6 VIP "
                          "[fd00:100::1]:80 (mode ") +
                  mode + " keeps the packet's family)");
    EXPECT_EQ(error_of(vip_with(mode, R"([{"address": "fd00:19::11"}])", "[fd00:100::1]:80")), "");
  }
  // ipip still carries IPv4 in IPv6.
  EXPECT_EQ(error_of(vip_with("ipip", R"([{"address": "fd00:19::11"}])")), "");
}

TEST(NatConfig, FullnatSettingsAndDefaults) {
  Config d = parse_config_text("{}");
  EXPECT_FALSE(d.fullnat.source_v4);
  EXPECT_FALSE(d.fullnat.source_v6);
  EXPECT_EQ(d.fullnat.port_min, 1024);
  EXPECT_EQ(d.fullnat.port_max, 32767);  // below Linux's ip_local_port_range
  EXPECT_EQ(config_to_json(d)["fullnat"], (Json{{"port_min", 1024}, {"port_max", 32767}}));

  Config c = parse_config_text(
      R"({"fullnat": {"source_v4": "198.18.3.1", "source_v6": "fd00:3::1", "port_min": 2000, "port_max": 2999}})");
  EXPECT_EQ(c.fullnat.source_v4->str(), "198.18.3.1");
  EXPECT_EQ(c.fullnat.source_v6->str(), "fd00:3::1");
  EXPECT_EQ(c.fullnat.port_min, 2000);
  EXPECT_EQ(c.fullnat.port_max, 2999);
  Json j = config_to_json(c);
  EXPECT_EQ(j["fullnat"], Json::parse(R"({"source_v4": "198.18.3.1", "source_v6": "fd00:3::1",
                                           "port_min": 2000, "port_max": 2999})"));
  EXPECT_EQ(config_to_json(parse_config(j)), j);
  // One port is a range too.
  EXPECT_EQ(error_of(R"({"fullnat": {"port_min": 5000, "port_max": 5000}})"), "");
}

TEST(NatConfig, FullnatSourceFamilies) {
  EXPECT_EQ(error_of(R"({"fullnat": {"source_v4": "fd00:3::1"}})"), "fullnat.source_v4: must be an IPv4 address");
  EXPECT_EQ(error_of(R"({"fullnat": {"source_v6": "198.18.3.1"}})"), "fullnat.source_v6: must be an IPv6 address");
}

TEST(NatConfig, FullnatSourceIsOneAddress) {
  EXPECT_EQ(error_of(R"({"fullnat": {"source_v4": "198.18.3.0/24"}})"),
            "fullnat.source_v4: invalid address \"198.18.3.0/24\"");
  EXPECT_EQ(error_of(R"({"fullnat": {"source_v4": 1}})"), "fullnat.source_v4: must be a string");
}

TEST(NatConfig, FullnatPortRange) {
  EXPECT_EQ(error_of(R"({"fullnat": {"port_min": 0}})"), "fullnat.port_min: must be 1..65535");
  EXPECT_EQ(error_of(R"({"fullnat": {"port_max": 65536}})"), "fullnat.port_max: must be 1..65535");
  EXPECT_EQ(error_of(R"({"fullnat": {"port_min": 40000, "port_max": 30000}})"),
            "fullnat.port_min: must not exceed port_max (40000 > 30000)");
  // Against the default of the other end, too.
  EXPECT_EQ(error_of(R"({"fullnat": {"port_min": 40000}})"),
            "fullnat.port_min: must not exceed port_max (40000 > 32767)");
}

TEST(NatConfig, FullnatObjectIsStrict) {
  EXPECT_EQ(error_of(R"({"fullnat": {"ports": "1024-2048"}})"), "fullnat.ports: unknown key");
  EXPECT_EQ(error_of(R"({"fullnat": []})"), "fullnat: must be an object");
}

TEST(NatConfig, CheckFullnatForConfigsBuiltInCode) {
  FullnatConfig f;
  f.source_v4 = IpAddr::parse("fd00::1");
  EXPECT_THROW(check_fullnat(f), InputError);
  f = {};
  f.port_min = 0;
  EXPECT_THROW(check_fullnat(f), InputError);
  f = {};
  f.port_min = 3;
  f.port_max = 2;
  EXPECT_THROW(check_fullnat(f), InputError);
  EXPECT_NO_THROW(check_fullnat(FullnatConfig{}));
}

}  // namespace
}  // namespace xlb
