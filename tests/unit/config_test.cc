// Config parsing: the format of docs/api.md, strict, with one-line messages
// naming the offending field.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "core/config.h"
#include "core/error.h"

namespace xlb {
namespace {

using Json = nlohmann::json;

const char* kExample = R"({
  "encap": {"source_v4": "198.18.0.1", "source_v6": "fd00::1"},
  "hash_seed": 7,
  "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "maglev", "mode": "ipip",
     "ring_size": 65537,
     "backends": [{"address": "198.19.0.11", "weight": 2}, {"address": "198.19.0.12"}]},
    {"vip": "[fd00:100::1]:53", "proto": "udp", "backends": [{"address": "fd00:19::11"}]}
  ]
})";

// The InputError message parse_config throws for json, or "" if none.
std::string error_of(const std::string& text) {
  try {
    parse_config_text(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string with_vip(const std::string& vip_body) {
  return R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp"}, )" + vip_body + "]}";
}

TEST(Config, ParsesTheDocumentedExample) {
  Config c = parse_config_text(kExample);
  ASSERT_TRUE(c.encap.source_v4);
  EXPECT_EQ(c.encap.source_v4->ip.str(), "198.18.0.1");
  EXPECT_EQ(c.encap.source_v4->len, 32);
  ASSERT_TRUE(c.encap.source_v6);
  EXPECT_EQ(c.encap.source_v6->len, 128);
  EXPECT_EQ(c.hash_seed, 7u);
  ASSERT_EQ(c.vips.size(), 2u);
  EXPECT_EQ(c.vips[0].vip.str(), "198.18.100.1:80");
  EXPECT_EQ(c.vips[0].proto, IPPROTO_TCP);
  EXPECT_EQ(c.vips[0].ring_size, 65537u);
  ASSERT_EQ(c.vips[0].backends.size(), 2u);
  EXPECT_EQ(c.vips[0].backends[0].address.str(), "198.19.0.11");
  EXPECT_EQ(c.vips[0].backends[0].weight, 2u);
  EXPECT_EQ(c.vips[0].backends[1].weight, 1u);  // default
  EXPECT_EQ(c.vips[1].proto, IPPROTO_UDP);
  EXPECT_EQ(c.vips[1].sched, XLB_SCHED_MAGLEV);  // defaults
  EXPECT_EQ(c.vips[1].mode, XLB_MODE_IPIP);
  EXPECT_EQ(c.vips[1].ring_size, XLB_DEFAULT_RING_SIZE);
}

TEST(Config, EmptyObjectIsAnEmptyConfig) {
  Config c = parse_config_text("{}");
  EXPECT_TRUE(c.vips.empty());
  EXPECT_FALSE(c.encap.source_v4);
  EXPECT_FALSE(c.hash_seed);  // unset: lbd keeps the running seed (or generates one)
}

TEST(Config, UnservedIsDropUnlessSetToPass) {
  EXPECT_FALSE(parse_config_text("{}").pass_unserved);
  EXPECT_FALSE(parse_config_text(R"({"unserved": "drop"})").pass_unserved);
  Config pass = parse_config_text(R"({"unserved": "pass"})");
  EXPECT_TRUE(pass.pass_unserved);
  EXPECT_EQ(config_to_json(pass)["unserved"], "pass");
  EXPECT_EQ(config_to_json(Config{})["unserved"], "drop");
  EXPECT_EQ(error_of(R"({"unserved": "reject"})"), "unserved: must be drop or pass");
  EXPECT_NE(error_of(R"({"unserved": true})").find("unserved: "), std::string::npos);
}

TEST(Config, IcmpEchoIsReplyUnlessOff) {
  EXPECT_TRUE(parse_config_text("{}").icmp_echo);
  EXPECT_TRUE(parse_config_text(R"({"icmp_echo": "reply"})").icmp_echo);
  Config off = parse_config_text(R"({"icmp_echo": "off"})");
  EXPECT_FALSE(off.icmp_echo);
  EXPECT_EQ(config_to_json(off)["icmp_echo"], "off");
  EXPECT_EQ(config_to_json(Config{})["icmp_echo"], "reply");
  EXPECT_EQ(error_of(R"({"icmp_echo": "on"})"), "icmp_echo: must be reply or off");
}

TEST(Config, FloodThresholdDefaultsToKatransRateAndZeroIsOff) {
  EXPECT_EQ(parse_config_text("{}").flood_threshold, uint32_t(XLB_FLOOD_DEFAULT_RATE));
  EXPECT_EQ(XLB_FLOOD_DEFAULT_RATE, 125000);
  EXPECT_EQ(parse_config_text(R"({"flood_threshold": 0})").flood_threshold, 0u);
  Config c = parse_config_text(R"({"flood_threshold": 50000})");
  EXPECT_EQ(c.flood_threshold, 50000u);
  EXPECT_EQ(config_to_json(c)["flood_threshold"], 50000);
  EXPECT_EQ(parse_config(config_to_json(c)).flood_threshold, 50000u);
  EXPECT_NE(error_of(R"({"flood_threshold": -1})").find("flood_threshold"), std::string::npos);
  EXPECT_NE(error_of(R"({"flood_threshold": 100000001})").find("flood_threshold"), std::string::npos);
  EXPECT_NE(error_of(R"({"flood_threshold": "high"})").find("flood_threshold"), std::string::npos);
}

TEST(Config, PrefixSources) {
  Config c = parse_config_text(R"({"encap": {"source_v4": "198.18.64.0/24", "source_v6": "fd00:1::/64"}})");
  EXPECT_EQ(c.encap.source_v4->len, 24);
  EXPECT_EQ(c.encap.source_v6->len, 64);
  EXPECT_EQ(encap_source_str(*c.encap.source_v4), "198.18.64.0/24");
  EXPECT_EQ(encap_source_str(*parse_config_text(kExample).encap.source_v4), "198.18.0.1");
}

TEST(Config, RoundTrips) {
  Config c = parse_config_text(kExample);
  Json j = config_to_json(c);
  Config again = parse_config(j);
  EXPECT_EQ(config_to_json(again), j);
  EXPECT_EQ(j["vips"][0]["backends"][1]["weight"], 1);
  EXPECT_EQ(j["encap"]["source_v4"], "198.18.0.1");
  EXPECT_EQ(j["vips"][1]["vip"], "[fd00:100::1]:53");
}

TEST(Config, UnknownKeysNameTheField) {
  EXPECT_EQ(error_of(R"({"vipz": []})"), "vipz: unknown key");
  EXPECT_EQ(error_of(R"({"encap": {"source": "1.2.3.4"}})"), "encap.source: unknown key");
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "weight": 1})")),
            "vips[1].weight: unknown key");
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp",
                                  "backends": [{"address": "198.19.0.1", "wieght": 2}]})")),
            "vips[1].backends[0].wieght: unknown key");
}

TEST(Config, BadWeight) {
  for (const char* w : {"65536", "-1"})
    EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp",
                                    "backends": [{"address": "198.19.0.1", "weight": )" +
                                std::string(w) + "}]}")),
              "vips[1].backends[0].weight: must be 0..65535")
        << w;
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp",
                                  "backends": [{"address": "198.19.0.1", "weight": "2"}]})")),
            "vips[1].backends[0].weight: must be an integer 0..65535");
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp",
                                  "backends": [{"address": "198.19.0.1", "weight": 1.5}]})")),
            "vips[1].backends[0].weight: must be an integer 0..65535");
}

TEST(Config, WeightZeroIsDraining) {
  Config c = parse_config_text(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp",
                                            "backends": [{"address": "198.19.0.1", "weight": 0}]})"));
  EXPECT_EQ(c.vips[1].backends[0].weight, 0u);
}

TEST(Config, Schedulers) {
  const std::pair<const char*, uint8_t> names[] = {
      {"maglev", XLB_SCHED_MAGLEV}, {"least-conn", XLB_SCHED_LEAST_CONN}, {"rr", XLB_SCHED_RR},
      {"wrr", XLB_SCHED_WRR},       {"random", XLB_SCHED_RANDOM},         {"src-hash", XLB_SCHED_SRC_HASH}};
  for (const auto& [name, sched] : names) {
    Config c = parse_config_text(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "sched": ")" +
                                          std::string(name) + "\"}"));
    EXPECT_EQ(c.vips[1].sched, sched) << name;
    EXPECT_EQ(config_to_json(c)["vips"][1]["sched"], name);
  }
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "sched": "least_conn"})")),
            "vips[1].sched: unsupported scheduler 'least_conn' (supported: maglev, least-conn, rr, wrr, "
            "random, src-hash)");
}

TEST(Config, TimeoutsAndReapInterval) {
  Config d = parse_config_text("{}");
  EXPECT_EQ(d.timeouts, Timeouts{});
  EXPECT_EQ(d.timeouts.tcp_established, 900u);
  EXPECT_EQ(d.timeouts.tcp_half_open, 10u);
  EXPECT_EQ(d.timeouts.tcp_closing, 30u);
  EXPECT_EQ(d.timeouts.udp, 120u);
  EXPECT_EQ(d.reap_interval_ms, 1000u);

  Config c = parse_config_text(R"({"timeouts": {"tcp_half_open": 2, "udp": 30}, "reap_interval_ms": 250})");
  EXPECT_EQ(c.timeouts.tcp_half_open, 2u);
  EXPECT_EQ(c.timeouts.udp, 30u);
  EXPECT_EQ(c.timeouts.tcp_established, 900u);  // unset: default
  EXPECT_EQ(c.reap_interval_ms, 250u);
  EXPECT_EQ(config_to_json(c)["timeouts"],
            (Json{{"tcp_established", 900}, {"tcp_half_open", 2}, {"tcp_closing", 30}, {"udp", 30}}));
  EXPECT_EQ(parse_config(config_to_json(c)).timeouts, c.timeouts);

  EXPECT_EQ(error_of(R"({"timeouts": {"tcp_half_open": 0}})"), "timeouts.tcp_half_open: must be 1..604800");
  EXPECT_EQ(error_of(R"({"timeouts": {"udp": 604801}})"), "timeouts.udp: must be 1..604800");
  EXPECT_EQ(error_of(R"({"timeouts": {"tcp_syn": 5}})"), "timeouts.tcp_syn: unknown key");
  EXPECT_EQ(error_of(R"({"timeouts": 5})"), "timeouts: must be an object");
  EXPECT_EQ(error_of(R"({"reap_interval_ms": 0})"), "reap_interval_ms: must be 100..3600000");
  EXPECT_EQ(error_of(R"({"reap_interval_ms": 3600001})"), "reap_interval_ms: must be 100..3600000");

  Timeouts bad;
  bad.tcp_closing = 0;
  EXPECT_THROW(check_reaper_settings(bad, 1000), InputError);
  EXPECT_THROW(check_reaper_settings(Timeouts{}, 99), InputError);
  EXPECT_NO_THROW(check_reaper_settings(Timeouts{}, 100));
}

TEST(Config, BadRingSchedMode) {
  EXPECT_NE(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "ring_size": 65536})"))
                .find("vips[1].ring_size: must be a prime"),
            std::string::npos);
  EXPECT_NE(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "ring_size": 1048583})"))
                .find("vips[1].ring_size: must be a prime number, at most 1048573"),
            std::string::npos);
  EXPECT_NE(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "sched": "fastest"})"))
                .find("vips[1].sched: unsupported scheduler 'fastest'"),
            std::string::npos);
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "mode": "dsr"})")),
            "vips[1].mode: unsupported mode 'dsr' (supported: ipip, nat, fullnat, l2dsr)");
  EXPECT_NE(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "sctp"})")).find("vips[1].proto: "),
            std::string::npos);
}

TEST(Config, StatelessVips) {
  Config c = parse_config(Json::parse(R"({"vips": [
      {"vip": "198.18.100.1:80", "proto": "tcp", "stateless": true},
      {"vip": "198.18.100.2:80", "proto": "udp", "sched": "src-hash", "mode": "l2dsr", "stateless": true},
      {"vip": "198.18.100.3:80", "proto": "tcp", "stateless": false}]})"));
  EXPECT_TRUE(c.vips[0].stateless);
  EXPECT_TRUE(c.vips[1].stateless);
  EXPECT_FALSE(c.vips[2].stateless);
  // Written back only where it is on.
  Json out = config_to_json(c);
  EXPECT_EQ(out["vips"][0]["stateless"], true);
  EXPECT_FALSE(out["vips"][2].contains("stateless"));
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "sched": "least-conn", "stateless": true})")),
            "vips[1].stateless: stateless: needs sched maglev or src-hash, whose pick is a function of the flow (not "
            "least-conn)");
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "mode": "nat", "stateless": true})")),
            "vips[1].stateless: stateless: needs mode ipip or l2dsr; nat keeps per-flow state for the replies");
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp", "stateless": 1})")),
            "vips[1].stateless: must be true or false");
}

TEST(Config, MissingAndMistypedFields) {
  EXPECT_EQ(error_of(R"({"vips": [{"proto": "tcp"}]})"), "vips[0].vip: missing");
  EXPECT_EQ(error_of(R"({"vips": [{"vip": "198.18.100.1:80"}]})"), "vips[0].proto: missing");
  EXPECT_EQ(error_of(R"({"vips": {}})"), "vips: must be an array");
  EXPECT_EQ(error_of(R"({"vips": [3]})"), "vips[0]: must be an object");
  EXPECT_EQ(error_of(R"({"hash_seed": 4294967296})"), "hash_seed: must be 0..4294967295");
  EXPECT_EQ(error_of("[]"), "must be a JSON object");
  EXPECT_NE(error_of(R"({"vips": [{"vip": "198.18.100.1", "proto": "tcp"}]})").find("vips[0].vip: "),
            std::string::npos);
  EXPECT_NE(error_of(R"({"vips": [{"vip": "198.18.100.1:0", "proto": "tcp"}]})").find("vips[0].vip: "),
            std::string::npos);
}

TEST(Config, Duplicates) {
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.1:80", "proto": "tcp"})")),
            "vips[1]: duplicate VIP 198.18.100.1:80/tcp");
  // Same address and port, other protocol: a different VIP.
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.1:80", "proto": "udp"})")), "");
  EXPECT_EQ(error_of(with_vip(R"({"vip": "198.18.100.2:80", "proto": "tcp",
      "backends": [{"address": "198.19.0.1"}, {"address": "198.19.0.1", "weight": 3}]})")),
            "vips[1].backends[1]: duplicate backend 198.19.0.1");
}

TEST(Config, FamilyRules) {
  // IPv4 VIP, IPv6 backend: IPv4-in-IPv6, allowed.
  EXPECT_EQ(error_of(R"({"vips": [{"vip": "198.18.100.1:80", "proto": "tcp",
                                   "backends": [{"address": "fd00:19::11"}]}]})"),
            "");
  // IPv6 VIP, IPv4 backend: rejected.
  std::string e = error_of(R"({"vips": [{"vip": "[fd00:100::1]:80", "proto": "tcp",
                                          "backends": [{"address": "198.19.0.11"}]}]})");
  EXPECT_EQ(e.rfind("vips[0].backends[0].address: IPv4 backend 198.19.0.11 cannot serve IPv6 VIP", 0), 0u)
      << e;
}

TEST(Config, EncapFamilies) {
  EXPECT_EQ(error_of(R"({"encap": {"source_v4": "fd00::1"}})"),
            "encap.source_v4: must be an IPv4 address or prefix");
  EXPECT_EQ(error_of(R"({"encap": {"source_v6": "198.18.0.1"}})"),
            "encap.source_v6: must be an IPv6 address or prefix");
  EXPECT_EQ(error_of(R"({"encap": {"source_v4": 5}})"), "encap.source_v4: must be a string");
  EXPECT_NE(error_of(R"({"encap": {"source_v4": "198.18.64.1/24"}})").find("encap.source_v4: "),
            std::string::npos);
}

TEST(Config, InvalidJson) {
  std::string e;
  try {
    parse_config_text("{\"vips\": [", "/etc/xlb.json");
  } catch (const InputError& ex) {
    e = ex.what();
  }
  EXPECT_EQ(e.rfind("/etc/xlb.json: invalid JSON: ", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace xlb
