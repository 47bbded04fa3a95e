#include "spec_json.h"

#include "core/error.h"
#include "core/json_fields.h"
#include "duration.h"

namespace xlb::health {

namespace jf = json_fields;
using Json = nlohmann::json;

namespace {

constexpr std::initializer_list<const char*> kKeys = {
    "check", "interval", "timeout", "rise",   "fall",     "port",   "hold_down",  "path",    "expect_status",
    "host",  "https",    "verify_cert", "send", "send_hex", "expect", "expect_hex", "on_down", "all_down"};

// "200" or "200-399"; a JSON integer is one status.
void parse_status(const Json& v, HttpCheck& http) {
  constexpr const char* kShape = "must be a status or range within 100-599, like \"200-399\"";
  auto number = [&](const std::string& t) -> uint16_t {
    if (t.size() != 3 || t.find_first_not_of("0123456789") != std::string::npos) throw InputError(kShape);
    return static_cast<uint16_t>(std::stoi(t));
  };
  uint16_t lo, hi;
  if (v.is_number_unsigned()) {
    uint64_t n = v.get<uint64_t>();
    if (n > 999) throw InputError(kShape);
    lo = hi = static_cast<uint16_t>(n);
  } else if (v.is_string()) {
    std::string t = v.get<std::string>();
    size_t dash = t.find('-');
    lo = number(t.substr(0, dash));
    hi = dash == std::string::npos ? lo : number(t.substr(dash + 1));
  } else {
    throw InputError(kShape);
  }
  if (lo < 100 || hi > 599 || lo > hi) throw InputError(kShape);
  http.status_min = lo;
  http.status_max = hi;
}

// One of `text_key` (bytes as written) or `hex_key`.
std::optional<std::string> parse_bytes(const Json& obj, const char* text_key, const char* hex_key,
                                       const std::string& path) {
  auto text = jf::opt_string(obj, text_key, path);
  auto hex = jf::opt_string(obj, hex_key, path);
  if (text && hex) throw InputError(jf::join(path, hex_key) + ": not with " + text_key);
  if (hex) return jf::at(jf::join(path, hex_key), [&] { return from_hex(*hex); });
  return text;
}

bool printable(const std::string& bytes) {
  for (char c : bytes)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

void put_bytes(Json& out, const char* text_key, const char* hex_key, const std::string& bytes) {
  if (printable(bytes)) out[text_key] = bytes;
  else out[hex_key] = to_hex(bytes);
}

std::string status_str(const HttpCheck& h) {
  if (h.status_min == h.status_max) return std::to_string(h.status_min);
  return std::to_string(h.status_min) + "-" + std::to_string(h.status_max);
}

}  // namespace

std::string to_hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) throw InputError("must be hex digits in pairs, like \"c0ffee\"");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) throw InputError("must be hex digits in pairs, like \"c0ffee\"");
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

HealthSpec parse_health(const Json& obj, const std::string& path, const HealthSpec* vip) {
  jf::check_object(obj, kKeys, path);
  HealthSpec s;
  if (vip) s = *vip;
  else s.check = CheckKind::kTcp;
  if (auto c = jf::opt_string(obj, "check", path))
    s.check = jf::at(jf::join(path, "check"), [&] { return parse_check_kind(*c); });

  auto duration = [&](const char* key, uint32_t& out, uint32_t lo, uint32_t hi) {
    auto it = obj.find(key);
    if (it != obj.end()) out = jf::at(jf::join(path, key), [&] { return parse_duration_ms(*it, lo, hi); });
  };
  duration("interval", s.interval_ms, kMinIntervalMs, kMaxIntervalMs);
  duration("timeout", s.timeout_ms, kMinTimeoutMs, kMaxIntervalMs);
  duration("hold_down", s.hold_down_ms, 0, kMaxHoldDownMs);
  if (auto v = jf::opt_uint(obj, "rise", path, 1, kMaxCount)) s.rise = static_cast<uint32_t>(*v);
  if (auto v = jf::opt_uint(obj, "fall", path, 1, kMaxCount)) s.fall = static_cast<uint32_t>(*v);
  if (auto v = jf::opt_uint(obj, "port", path, 0, 65535)) s.port = static_cast<uint16_t>(*v);

  // Keys of one kind are refused on a check of another.
  auto only_for = [&](CheckKind kind, std::initializer_list<const char*> keys) {
    if (s.check == kind) return;
    for (const char* k : keys)
      if (obj.contains(k)) throw InputError(jf::join(path, k) + ": only for " + check_kind_name(kind) + " checks");
  };
  only_for(CheckKind::kHttp, {"path", "expect_status", "host", "https", "verify_cert"});
  only_for(CheckKind::kUdp, {"send", "send_hex", "expect", "expect_hex"});

  if (auto v = jf::opt_string(obj, "path", path)) s.http.path = *v;
  if (obj.contains("expect_status"))
    jf::at(jf::join(path, "expect_status"), [&] { parse_status(obj["expect_status"], s.http); });
  if (auto v = jf::opt_string(obj, "host", path)) s.http.host = *v;
  if (auto v = jf::opt_bool(obj, "https", path)) s.http.https = *v;
  if (auto v = jf::opt_bool(obj, "verify_cert", path)) {
    if (*v && !s.http.https) throw InputError(jf::join(path, "verify_cert") + ": only with https");
    s.http.verify_cert = *v;
  }
  // A backend that turns a VIP's https off drops the VIP's verify_cert with it.
  if (!s.http.https) s.http.verify_cert = false;
  if (auto v = parse_bytes(obj, "send", "send_hex", path)) s.udp.payload = *v;
  if (obj.contains("expect") && obj["expect"].is_null()) {
    if (obj.contains("expect_hex")) throw InputError(jf::join(path, "expect_hex") + ": not with expect");
    s.udp.expect.reset();  // any reply passes (takes back a VIP's expect)
  } else if (auto v = parse_bytes(obj, "expect", "expect_hex", path)) {
    s.udp.expect = *v;
  }

  if (vip) {
    for (const char* k : {"on_down", "all_down"})
      if (obj.contains(k)) throw InputError(jf::join(path, k) + ": only per VIP, not per backend");
  } else {
    if (auto v = jf::opt_string(obj, "on_down", path))
      s.on_down = jf::at(jf::join(path, "on_down"), [&] { return parse_on_down(*v); });
    if (auto v = jf::opt_string(obj, "all_down", path))
      s.all_down = jf::at(jf::join(path, "all_down"), [&] { return parse_all_down(*v); });
  }
  // check_spec's messages start with the field name.
  try {
    check_spec(s);
  } catch (const InputError& e) {
    throw InputError(path.empty() ? std::string(e.what()) : path + "." + e.what());
  }
  return s;
}

Json health_to_json(const HealthSpec& s) {
  Json out = {{"check", check_kind_name(s.check)},
              {"interval", format_duration(s.interval_ms)},
              {"timeout", format_duration(s.timeout_ms)},
              {"rise", s.rise},
              {"fall", s.fall},
              {"hold_down", format_duration(s.hold_down_ms)},
              {"on_down", on_down_name(s.on_down)},
              {"all_down", all_down_name(s.all_down)}};
  if (s.port) out["port"] = s.port;
  if (s.check == CheckKind::kHttp) {
    out["path"] = s.http.path;
    out["expect_status"] = status_str(s.http);
    if (!s.http.host.empty()) out["host"] = s.http.host;
    out["https"] = s.http.https;
    if (s.http.https) out["verify_cert"] = s.http.verify_cert;
  }
  if (s.check == CheckKind::kUdp) {
    put_bytes(out, "send", "send_hex", s.udp.payload);
    if (s.udp.expect) put_bytes(out, "expect", "expect_hex", *s.udp.expect);
  }
  return out;
}

Json health_override_json(const HealthSpec& s, const HealthSpec& vip) {
  Json mine = health_to_json(s);
  Json theirs = health_to_json(vip);
  // Keys the VIP's JSON omits (port 0, no host, no expect, http fields of a
  // tcp VIP) still hold values an override inherits.
  if (!s.port && vip.port) mine["port"] = 0u;  // unsigned, as parse_health reads it
  if (s.check == CheckKind::kHttp) {
    theirs["path"] = vip.http.path;
    theirs["expect_status"] = status_str(vip.http);
    theirs["host"] = vip.http.host;
    theirs["https"] = vip.http.https;
    theirs["verify_cert"] = vip.http.verify_cert;
    mine["host"] = s.http.host;
    mine["verify_cert"] = s.http.verify_cert;
  }
  if (s.check == CheckKind::kUdp) {
    Json t = Json::object();
    put_bytes(t, "send", "send_hex", vip.udp.payload);
    if (vip.udp.expect) put_bytes(t, "expect", "expect_hex", *vip.udp.expect);
    for (auto& [k, v] : t.items()) theirs[k] = v;
    // "expect": null takes back the VIP's expected reply (any reply passes).
    if (vip.udp.expect && !s.udp.expect) mine["expect"] = nullptr;
  }
  Json out = Json::object();
  for (auto& [k, v] : mine.items()) {
    if (k == "on_down" || k == "all_down") continue;
    if (!theirs.contains(k) || theirs[k] != v) out[k] = v;
  }
  return out;
}

}  // namespace xlb::health
