// The lbctl command groups. Each add_*_commands registers its subcommands on
// the top-level app; a subcommand's callback builds the docs/api.md request,
// sends it and prints the answer.
#pragma once
#include <CLI/CLI.hpp>
#include <chrono>
#include <ostream>
#include <string>

#include "lbctl/client.h"

namespace xlb::lbctl {

// What every command needs besides its own arguments. socket_path is bound to
// the global --socket option, so read it only once parsing is done.
struct Context {
  std::string socket_path;
  std::ostream& out;
  std::ostream& err;  // warnings (the command still succeeds)
  // The global --timeout: how long lbd has to answer. Read it only once
  // parsing is done, like socket_path.
  std::chrono::milliseconds timeout = kDefaultTimeout;
};

// call_lbd for a request that changes something: lbd's "warnings" (nat VIPs
// whose reply tuples can clash) go to ctx.err as "lbctl: warning: ...".
Json change_lbd(const Context& ctx, const Json& request);

void add_show_commands(CLI::App& app, Context& ctx);     // status, list, stats, flows
void add_vip_commands(CLI::App& app, Context& ctx);      // add-vip, del-vip
void add_backend_commands(CLI::App& app, Context& ctx);  // add-backend, del-backend, drain-backend, set-backend
void add_config_commands(CLI::App& app, Context& ctx);   // apply, detach
void add_health_commands(CLI::App& app, Context& ctx);   // set-health
void add_doctor_commands(CLI::App& app, Context& ctx);   // doctor
void add_node_commands(CLI::App& app, Context& ctx);     // node drain, node undrain
void add_pick_commands(CLI::App& app, Context& ctx);     // pick

}  // namespace xlb::lbctl
