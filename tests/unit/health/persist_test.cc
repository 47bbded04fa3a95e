// Health states across restarts (ctl/health/persist.h): identities, the
// text form, round trips and strict decoding.
#include <gtest/gtest.h>

#include "core/error.h"
#include "health/persist.h"

namespace xlb::health {
namespace {

std::string decode_error(const std::string& text) {
  try {
    decode_states(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(HealthPersist, IdentityNamesVipProtoAndBackendPort) {
  Endpoint vip = Endpoint::parse("198.18.100.1:80");
  EXPECT_EQ(backend_identity(vip, parse_proto("tcp"), IpAddr::parse("198.19.0.12"), 8080),
            "198.18.100.1:80/tcp/198.19.0.12:8080");
  EXPECT_EQ(backend_identity(vip, parse_proto("tcp"), IpAddr::parse("198.19.0.12"), 0),
            "198.18.100.1:80/tcp/198.19.0.12:80");
  EXPECT_EQ(backend_identity(Endpoint::parse("[fd00::1]:53"), parse_proto("udp"), IpAddr::parse("fd00:19::11"), 0),
            "[fd00::1]:53/udp/[fd00:19::11]:53");
}

TEST(HealthPersist, RoundTrip) {
  SavedStates s;
  s["198.18.100.1:80/tcp/198.19.0.12:8080"] = {State::kDown, 1796601600123, 3, "connect timeout after 1000 ms (3/3)"};
  s["198.18.100.1:80/tcp/198.19.0.11:80"] = {State::kUp, 1796601500000, 1, "connected (1/1)"};
  s["[fd00::1]:53/udp/[fd00:19::11]:53"] = {State::kUnchecked, -5, 0, ""};
  s["198.18.100.2:80/tcp/198.19.0.13:80"] = {State::kDown, 0, 7, "odd \\ reason\nwith\r breaks  and  spaces "};
  std::string text = encode_states(s);
  EXPECT_EQ(decode_states(text), s);
  EXPECT_EQ(encode_states(decode_states(text)), text);
  EXPECT_EQ(decode_states(encode_states({})), SavedStates{});
  // Compact and readable: one line per backend, sorted.
  EXPECT_EQ(encode_states({{"a:1/tcp/b:1", {State::kDown, 12, 3, "refused (2/2)"}},
                           {"0:1/tcp/b:1", {State::kUp, 1, 1, ""}}}),
            "xlb-health 1\n0:1/tcp/b:1 up 1 1 \na:1/tcp/b:1 down 12 3 refused (2/2)\n");
}

TEST(HealthPersist, LongReasonsAreCut) {
  SavedStates s{{"v:1/tcp/b:1", {State::kDown, 1, 1, std::string(1000, 'x')}}};
  EXPECT_EQ(decode_states(encode_states(s)).begin()->second.reason.size(), kMaxSavedReason);
}

TEST(HealthPersist, DecodingIsStrict) {
  EXPECT_EQ(decode_error(""), "health state line 1: expected \"xlb-health 1\"");
  EXPECT_EQ(decode_error("xlb-health 2\n"), "health state line 1: expected \"xlb-health 1\"");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 sideways 1 1 x\n"),
            "health state line 2: state: must be unchecked, up or down");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 up soon 1 x\n"), "health state line 2: since: not a number: soon");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 up 1 -1 x\n"),
            "health state line 2: admin weight: not a number: -1");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 up 1 4294967296 x\n"),
            "health state line 2: admin weight: out of range: 4294967296");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 up 1\n"), "health state line 2: missing admin weight or reason");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1\n"), "health state line 2: missing state");
  EXPECT_EQ(decode_error("xlb-health 1\nnoslash up 1 1 x\n"), "health state line 2: not an identity: noslash");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 up 1 1 a\\\n"), "health state line 2: reason: ends in a lone \\");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 up 1 1 \\t\n"), "health state line 2: reason: unknown escape \\t");
  EXPECT_EQ(decode_error("xlb-health 1\nv:1/tcp/b:1 up 1 1 x\nv:1/tcp/b:1 down 2 1 y\n"),
            "health state line 3: duplicate v:1/tcp/b:1");
  EXPECT_EQ(decode_error("xlb-health 1\n\n"), "health state line 2: missing identity");
}

}  // namespace
}  // namespace xlb::health
