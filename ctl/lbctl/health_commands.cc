// set-health: a VIP's health checks, or one backend's override of them
// (docs/lbctl.md). The flags become the request's "health" object; lbd
// checks it (ctl/health/spec_json.h) and names any bad field.
#include <memory>

#include "lbctl/args.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"

namespace xlb::lbctl {
namespace {

struct HealthArgs {
  VipArgs vip;
  std::string backend;
  uint16_t backend_port = 0;
  bool reset = false;
  Json health = Json::object();
};

// --NAME VALUE, sent as "key": VALUE when given.
void string_flag(CLI::App& cmd, const std::shared_ptr<HealthArgs>& args, const std::string& flag,
                 const std::string& key, const std::string& help) {
  cmd.add_option_function<std::string>(
      flag, [args, key](const std::string& v) { args->health[key] = v; }, help);
}

void count_flag(CLI::App& cmd, const std::shared_ptr<HealthArgs>& args, const std::string& flag,
                const std::string& key, const std::string& help, uint64_t min, uint64_t max) {
  cmd.add_option_function<uint64_t>(
         flag, [args, key](uint64_t v) { args->health[key] = v; }, help)
      ->check(CLI::Range(min, max));
}

void bool_flag(CLI::App& cmd, const std::shared_ptr<HealthArgs>& args, const std::string& flag,
               const std::string& key, const std::string& help) {
  cmd.add_flag_function(
      flag, [args, key](int64_t) { args->health[key] = true; }, help);
}

}  // namespace

void add_health_commands(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "set-health",
      "set a VIP's health checks (or, with --backend, one backend's override); a backend that fails them "
      "leaves the ring until it passes again");
  auto args = std::make_shared<HealthArgs>();
  add_vip_args(*cmd, args->vip);
  CLI::Option* backend =
      cmd->add_option("--backend", args->backend, "set this backend's override instead of the VIP's checks")
          ->transform(ip_address());
  cmd->add_option("--backend-port", args->backend_port, "which backend on that address (nat, fullnat)")
      ->transform(port_number())
      ->needs(backend);
  cmd->add_flag("--reset", args->reset,
                "drop the checks: the VIP's (no checks), or the backend's override (the VIP's checks again)");
  string_flag(*cmd, args, "--check", "check", "none, tcp (connect), http (GET, https with --https) or udp");
  string_flag(*cmd, args, "--interval", "interval", "time between checks: 500ms, 2s, 1m (default 2s)");
  string_flag(*cmd, args, "--timeout", "timeout", "a check's time limit, at most the interval (default 1s)");
  count_flag(*cmd, args, "--rise", "rise", "consecutive passes that bring a down backend back (default 2)", 1, 100);
  count_flag(*cmd, args, "--fall", "fall", "consecutive failures that take a backend down (default 3)", 1, 100);
  count_flag(*cmd, args, "--check-port", "port", "check this port instead of the traffic's", 1, 65535);
  string_flag(*cmd, args, "--hold-down", "hold_down",
              "after a backend goes down or up, wait this long before the next change (default 0)");
  string_flag(*cmd, args, "--path", "path", "http: the path to GET (default /)");
  string_flag(*cmd, args, "--expect-status", "expect_status", "http: the passing statuses (default 200-399)");
  string_flag(*cmd, args, "--host", "host", "http: the Host header (default: the address checked)");
  bool_flag(*cmd, args, "--https", "https", "http: over TLS, the certificate not verified");
  bool_flag(*cmd, args, "--verify-cert", "verify_cert", "https: verify the certificate (system CAs, the Host name)");
  string_flag(*cmd, args, "--send", "send", "udp: the payload to send (default: an empty datagram)");
  string_flag(*cmd, args, "--send-hex", "send_hex", "udp: the payload, in hex");
  string_flag(*cmd, args, "--expect", "expect", "udp: the reply must start with this (default: any reply)");
  string_flag(*cmd, args, "--expect-hex", "expect_hex", "udp: the same, in hex");
  string_flag(*cmd, args, "--on-down", "on_down",
              "keep (a down backend's flows go on; the default) or purge (they move to live backends)");
  string_flag(*cmd, args, "--all-down", "all_down",
              "fail-open (every backend down: forward to all; the default) or fail-closed (drop new flows)");
  cmd->callback([&ctx, args, backend] {
    if (args->reset && !args->health.empty())
      throw CLI::ValidationError("--reset", "takes no check settings");
    // A VIP's object asks for a check; a backend's override may change one
    // setting of the VIP's check.
    if (!args->reset && backend->count() == 0 && !args->health.contains("check"))
      throw CLI::ValidationError("--check", "is required (or --reset)");
    if (!args->reset && args->health.empty()) throw CLI::ValidationError("set-health", "nothing to set");
    Json request = vip_request("set-health", args->vip);
    if (backend->count() > 0) {
      request["backend"] = args->backend;
      if (args->backend_port) request["port"] = args->backend_port;
    }
    request["health"] = args->reset ? Json(nullptr) : args->health;
    change_lbd(ctx, request);
  });
}

}  // namespace xlb::lbctl
