#include "lbctl/args.h"

#include <charconv>
#include <functional>
#include <vector>

#include "core/endpoint.h"
#include "core/error.h"
#include "core/rules.h"

namespace xlb::lbctl {
namespace {

// A validator from a function that returns the canonical spelling of its
// argument or throws InputError naming what is wrong with it.
CLI::Validator canonicalizing(std::string description, std::function<std::string(const std::string&)> canonical) {
  return CLI::Validator(
      [canonical](std::string& text) -> std::string {
        try {
          text = canonical(text);
          return "";
        } catch (const InputError& e) {
          return e.what();
        }
      },
      std::move(description));
}

uint64_t parse_integer(const std::string& text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max)
    throw InputError("expected an integer in " + std::to_string(min) + ".." + std::to_string(max) + ", got '" + text +
                     "'");
  return value;
}

}  // namespace

CLI::Validator vip_endpoint() {
  return canonicalizing("ADDR:PORT", [](const std::string& text) { return Endpoint::parse(text).str(); });
}

CLI::Validator ip_address() {
  return canonicalizing("ADDR", [](const std::string& text) { return IpAddr::parse(text).str(); });
}

CLI::Validator protocol() {
  return canonicalizing("tcp|udp", [](const std::string& text) { return proto_name(parse_proto(text)); });
}

CLI::Validator integer_in(uint64_t min, uint64_t max) {
  return canonicalizing(std::to_string(min) + ".." + std::to_string(max),
                        [min, max](const std::string& text) { return std::to_string(parse_integer(text, min, max)); });
}

CLI::Validator backend_weight(bool allow_zero) {
  uint64_t min = allow_zero ? 0 : 1;
  return canonicalizing(std::to_string(min) + ".." + std::to_string(kMaxWeight), [min](const std::string& text) {
    return std::to_string(parse_integer(text, min, kMaxWeight));
  });
}

CLI::Validator scheduler() {
  std::string all;  // "maglev|least-conn|rr|wrr|random|src-hash", from rules.h
  for (uint8_t s = XLB_SCHED_MAGLEV; s <= XLB_SCHED_SRC_HASH; s++) all += (all.empty() ? "" : "|") + sched_name(s);
  return canonicalizing(all, [](const std::string& text) { return sched_name(parse_sched(text)); });
}

CLI::Validator forwarding_mode() {
  std::string all;  // "ipip|nat|fullnat|l2dsr", from rules.h
  for (uint8_t m = XLB_MODE_IPIP; m <= XLB_MODE_L2DSR; m++) all += (all.empty() ? "" : "|") + mode_name(m);
  return canonicalizing(all, [](const std::string& text) { return mode_name(parse_mode(text)); });
}

CLI::Validator port_number() {
  return canonicalizing("1..65535", [](const std::string& text) { return std::to_string(parse_integer(text, 1, 65535)); });
}

CLI::Validator ring_size() {
  return canonicalizing("PRIME", [](const std::string& text) {
    uint64_t size = parse_integer(text, 0, UINT64_MAX);
    check_ring_size(size);
    return std::to_string(size);
  });
}

void add_vip_args(CLI::App& cmd, VipArgs& args) {
  cmd.add_option("VIP", args.vip, "the VIP, 198.18.100.1:80 or [fd00:100::1]:80")
      ->required()
      ->transform(vip_endpoint());
  cmd.add_option("--proto", args.proto, "the VIP's protocol")->required()->transform(protocol());
}

Json vip_request(const std::string& cmd, const VipArgs& args) {
  return Json{{"cmd", cmd}, {"vip", args.vip}, {"proto", args.proto}};
}

}  // namespace xlb::lbctl
