// The health object's JSON: defaults, strict parsing with field paths,
// per-backend overrides and round trips (ctl/health/spec_json.h).
#include <gtest/gtest.h>

#include "core/error.h"
#include "health/duration.h"
#include "health/spec_json.h"

namespace xlb::health {
namespace {

using Json = nlohmann::json;

HealthSpec parse(const char* text, const HealthSpec* vip = nullptr) {
  return parse_health(Json::parse(text), "vips[0].health", vip);
}

// The message of the InputError parsing `text` throws ("" if none).
std::string error(const char* text, const HealthSpec* vip = nullptr, const char* path = "vips[0].health") {
  try {
    parse_health(Json::parse(text), path, vip);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(HealthDuration, ParsesUnitsAndBareMilliseconds) {
  EXPECT_EQ(parse_duration_ms(std::string("2s"), 0, 100000), 2000u);
  EXPECT_EQ(parse_duration_ms(std::string("500ms"), 0, 100000), 500u);
  EXPECT_EQ(parse_duration_ms(std::string("1m"), 0, 100000), 60000u);
  EXPECT_EQ(parse_duration_ms(std::string("1500"), 0, 100000), 1500u);
  EXPECT_EQ(parse_duration_ms(Json(1500), 0, 100000), 1500u);
  for (const char* bad : {"", "s", "1.5s", "1m30s", "-1s", "2 s", "2h", "99999999999s"})
    EXPECT_THROW(parse_duration_ms(std::string(bad), 0, 100000), InputError) << bad;
  EXPECT_THROW(parse_duration_ms(Json(-5), 0, 100000), InputError);
  EXPECT_THROW(parse_duration_ms(Json(true), 0, 100000), InputError);
  EXPECT_THROW(parse_duration_ms(Json(1.5), 0, 100000), InputError);
  try {
    parse_duration_ms(std::string("50ms"), 100, 3600000);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "must be 100ms..3600s");
  }
}

TEST(HealthDuration, FormatsWholeSecondsAsSeconds) {
  EXPECT_EQ(format_duration(2000), "2s");
  EXPECT_EQ(format_duration(1500), "1500ms");
  EXPECT_EQ(format_duration(0), "0ms");
}

TEST(HealthSpecJson, VipDefaultsAreHaproxys) {
  HealthSpec s = parse("{}");
  EXPECT_EQ(s.check, CheckKind::kTcp);  // a health object asks for a check
  EXPECT_EQ(s.interval_ms, 2000u);
  EXPECT_EQ(s.timeout_ms, 1000u);
  EXPECT_EQ(s.rise, 2u);
  EXPECT_EQ(s.fall, 3u);
  EXPECT_EQ(s.port, 0);
  EXPECT_EQ(s.hold_down_ms, 0u);
  EXPECT_EQ(s.on_down, OnDown::kKeep);
  EXPECT_EQ(s.all_down, AllDown::kFailOpen);
  EXPECT_EQ(HealthSpec().check, CheckKind::kNone);  // no health object: no check
}

TEST(HealthSpecJson, ParsesEveryField) {
  HealthSpec s = parse(R"({"check": "http", "interval": "1s", "timeout": 500, "rise": 4, "fall": 2,
      "port": 8081, "hold_down": "10s", "path": "/healthz", "expect_status": "200-299",
      "host": "www.example.org", "https": true, "verify_cert": true, "on_down": "purge",
      "all_down": "fail-closed"})");
  EXPECT_EQ(s.check, CheckKind::kHttp);
  EXPECT_EQ(s.interval_ms, 1000u);
  EXPECT_EQ(s.timeout_ms, 500u);
  EXPECT_EQ(s.rise, 4u);
  EXPECT_EQ(s.fall, 2u);
  EXPECT_EQ(s.port, 8081);
  EXPECT_EQ(s.hold_down_ms, 10000u);
  EXPECT_EQ(s.http.path, "/healthz");
  EXPECT_EQ(s.http.status_min, 200);
  EXPECT_EQ(s.http.status_max, 299);
  EXPECT_EQ(s.http.host, "www.example.org");
  EXPECT_TRUE(s.http.https);
  EXPECT_TRUE(s.http.verify_cert);
  EXPECT_EQ(s.on_down, OnDown::kPurge);
  EXPECT_EQ(s.all_down, AllDown::kFailClosed);

  HealthSpec u = parse(R"({"check": "udp", "send_hex": "00ff10", "expect": "pong"})");
  EXPECT_EQ(u.udp.payload, std::string("\x00\xff\x10", 3));
  EXPECT_EQ(u.udp.expect, std::optional<std::string>("pong"));
  EXPECT_EQ(parse(R"({"check": "http", "expect_status": 204})").http.status_max, 204);
}

TEST(HealthSpecJson, ErrorsStartWithTheFieldPath) {
  EXPECT_EQ(error(R"({"chek": "tcp"})"), "vips[0].health.chek: unknown key");
  EXPECT_EQ(error(R"({"check": "icmp"})"), "vips[0].health.check: must be none, tcp, http or udp");
  EXPECT_EQ(error(R"({"fall": 0})"), "vips[0].health.fall: must be 1..100");
  EXPECT_EQ(error(R"({"rise": "2"})"), "vips[0].health.rise: must be an integer 1..100");
  EXPECT_EQ(error(R"({"interval": "50ms"})"), "vips[0].health.interval: must be 100ms..3600s");
  EXPECT_EQ(error(R"({"interval": "fast"})"),
            "vips[0].health.interval: must be a duration like \"2s\" or \"500ms\" (a number: milliseconds)");
  EXPECT_EQ(error(R"({"interval": "1s", "timeout": "2s"})"),
            "vips[0].health.timeout: must not exceed interval (2s > 1s)");
  EXPECT_EQ(error(R"({"port": 70000})"), "vips[0].health.port: must be 0..65535");
  EXPECT_EQ(error(R"({"path": "/x"})"), "vips[0].health.path: only for http checks");
  EXPECT_EQ(error(R"({"check": "http", "send": "x"})"), "vips[0].health.send: only for udp checks");
  EXPECT_EQ(error(R"({"check": "http", "path": "healthz"})"),
            "vips[0].health.path: must start with / and be at most 1024 bytes");
  EXPECT_EQ(error(R"({"check": "http", "path": "/a b"})"),
            "vips[0].health.path: must not contain spaces or control characters");
  EXPECT_EQ(error(R"({"check": "http", "host": "a\r\nX: y"})"),
            "vips[0].health.host: must not contain spaces or control characters");
  EXPECT_EQ(error(R"({"check": "http", "expect_status": "299-200"})"),
            "vips[0].health.expect_status: must be a status or range within 100-599, like \"200-399\"");
  EXPECT_EQ(error(R"({"check": "http", "expect_status": "2xx"})"),
            "vips[0].health.expect_status: must be a status or range within 100-599, like \"200-399\"");
  EXPECT_EQ(error(R"({"check": "http", "verify_cert": true})"), "vips[0].health.verify_cert: only with https");
  EXPECT_EQ(error(R"({"check": "udp", "send_hex": "abc"})"),
            "vips[0].health.send_hex: must be hex digits in pairs, like \"c0ffee\"");
  EXPECT_EQ(error(R"({"check": "udp", "send": "a", "send_hex": "61"})"), "vips[0].health.send_hex: not with send");
  EXPECT_EQ(error(R"({"check": "udp", "expect": ""})"), "vips[0].health.expect: must be 1..512 bytes");
  EXPECT_EQ(error(R"({"on_down": "drop"})"), "vips[0].health.on_down: must be keep or purge");
  EXPECT_EQ(error(R"({"all_down": "open"})"), "vips[0].health.all_down: must be fail-open or fail-closed");
  EXPECT_EQ(error("[]"), "vips[0].health: must be an object");
  std::string big(513, 'x');
  EXPECT_EQ(error(("{\"check\": \"udp\", \"send\": \"" + big + "\"}").c_str()),
            "vips[0].health.send: must be at most 512 bytes");
}

TEST(HealthSpecJson, BackendOverrideInheritsAndRefusesVipOnlyKeys) {
  HealthSpec vip = parse(R"({"check": "http", "path": "/healthz", "interval": "1s", "fall": 2,
                             "on_down": "purge"})");
  const char* be = "vips[0].backends[2].health";
  HealthSpec o = parse_health(Json::parse(R"({"port": 9000, "rise": 5})"), be, &vip);
  EXPECT_EQ(o.check, CheckKind::kHttp);
  EXPECT_EQ(o.http.path, "/healthz");
  EXPECT_EQ(o.interval_ms, 1000u);
  EXPECT_EQ(o.fall, 2u);
  EXPECT_EQ(o.rise, 5u);
  EXPECT_EQ(o.port, 9000);
  EXPECT_EQ(o.on_down, OnDown::kPurge);  // the VIP's, always
  EXPECT_EQ(error(R"({"on_down": "keep"})", &vip, be),
            "vips[0].backends[2].health.on_down: only per VIP, not per backend");
  EXPECT_EQ(error(R"({"all_down": "fail-closed"})", &vip, be),
            "vips[0].backends[2].health.all_down: only per VIP, not per backend");
  // Inherited values are checked together with the override's.
  EXPECT_EQ(error(R"({"timeout": "1500ms"})", &vip, be),
            "vips[0].backends[2].health.timeout: must not exceed interval (1500ms > 1s)");
  // A tcp override of an http VIP: http keys are then refused.
  EXPECT_EQ(error(R"({"check": "tcp", "path": "/x"})", &vip, be),
            "vips[0].backends[2].health.path: only for http checks");
  EXPECT_EQ(parse_health(Json::parse(R"({"check": "none"})"), be, &vip).check, CheckKind::kNone);
}

TEST(HealthSpecJson, VipRoundTrip) {
  for (const char* text : {
           "{}",
           R"({"check": "none"})",
           R"({"check": "tcp", "port": 8081, "hold_down": "1500ms", "all_down": "fail-closed"})",
           R"({"check": "http", "path": "/h?x=1", "expect_status": "204", "host": "a.example", "https": true,
               "verify_cert": true, "on_down": "purge"})",
           R"({"check": "udp", "send_hex": "0001020304", "expect": "ok"})",
           R"({"check": "udp", "send": "ping"})",
       }) {
    HealthSpec s = parse(text);
    Json j = health_to_json(s);
    EXPECT_EQ(parse_health(j, "h"), s) << text << " -> " << j.dump();
    EXPECT_EQ(health_to_json(parse_health(j, "h")), j) << text;  // a fixed point
  }
  Json j = health_to_json(parse(R"({"check": "http", "interval": 1000})"));
  EXPECT_EQ(j["interval"], "1s");
  EXPECT_EQ(j["expect_status"], "200-399");
  EXPECT_FALSE(j.contains("send"));
}

TEST(HealthSpecJson, OverrideRoundTrip) {
  struct Case {
    const char* vip;
    const char* backend;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"check": "http", "path": "/a", "host": "h.example", "port": 81})", "{}"},
           {R"({"check": "http", "path": "/a", "host": "h.example", "port": 81})", R"({"host": "", "port": 0})"},
           {R"({"check": "http", "path": "/a"})", R"({"check": "tcp", "fall": 5})"},
           {R"({"check": "tcp"})", R"({"check": "http", "path": "/b", "https": true})"},
           {R"({"check": "udp", "send": "q", "expect": "a"})", R"({"expect": null})"},
           {R"({"check": "udp", "send": "q"})", R"({"send_hex": "ff00", "expect_hex": "01"})"},
           {R"({"check": "tcp", "interval": "5s", "timeout": "3s"})", R"({"interval": "3s"})"},
           {R"({"check": "http", "https": true, "verify_cert": true})", R"({"https": false})"},
           {R"({"check": "http", "https": true, "verify_cert": true})", R"({"verify_cert": false})"},
       }) {
    HealthSpec vip = parse(c.vip);
    HealthSpec be = parse_health(Json::parse(c.backend), "be", &vip);
    Json o = health_override_json(be, vip);
    EXPECT_EQ(parse_health(o, "be", &vip), be) << c.vip << " + " << c.backend << " -> " << o.dump();
  }
  HealthSpec vip = parse(R"({"check": "tcp", "fall": 2})");
  EXPECT_EQ(health_override_json(vip, vip), Json::object());
  HealthSpec be = parse_health(Json::parse(R"({"fall": 4})"), "be", &vip);
  EXPECT_EQ(health_override_json(be, vip), Json::parse(R"({"fall": 4})"));
}

TEST(HealthSpec, CheckSpecValidatesBuiltSpecs) {
  // Specs built by code (lbctl flags, the API) go through check_spec too;
  // its messages name the field without a path.
  HealthSpec s;
  s.check = CheckKind::kHttp;
  EXPECT_NO_THROW(check_spec(s));
  s.timeout_ms = 3000;
  try {
    check_spec(s);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "timeout: must not exceed interval (3s > 2s)");
  }
  s.timeout_ms = 1000;
  s.rise = 0;
  EXPECT_THROW(check_spec(s), InputError);
  s.rise = 2;
  s.http.path = "";
  EXPECT_THROW(check_spec(s), InputError);
  s.check = CheckKind::kTcp;  // http settings don't matter to a tcp check
  EXPECT_NO_THROW(check_spec(s));
  HealthSpec a, b;
  a.check = b.check = CheckKind::kTcp;
  b.http.path = "/other";
  EXPECT_EQ(a, b);
  b.check = a.check = CheckKind::kHttp;
  EXPECT_NE(a, b);
}

TEST(HealthSpec, CheckersVerdicts) {
  HttpCheck h;
  EXPECT_TRUE(http_status_ok(h, 200));
  EXPECT_TRUE(http_status_ok(h, 302));
  EXPECT_FALSE(http_status_ok(h, 500));
  EXPECT_FALSE(http_status_ok(h, 404));
  UdpCheck any;
  EXPECT_TRUE(udp_reply_ok(any, ""));
  UdpCheck dns{"q", std::string("\x12\x34", 2)};
  EXPECT_TRUE(udp_reply_ok(dns, std::string("\x12\x34\x81\x80", 4)));  // a prefix match
  EXPECT_FALSE(udp_reply_ok(dns, std::string("\x12", 1)));
  EXPECT_FALSE(udp_reply_ok(dns, std::string("\x12\x35", 2)));
  HealthSpec s;
  EXPECT_EQ(check_port(s, 80), 80);
  s.port = 8081;
  EXPECT_EQ(check_port(s, 80), 8081);
}

}  // namespace
}  // namespace xlb::health
