#include <memory>

#include "lbctl/args.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"
#include "lbctl/render.h"

namespace xlb::lbctl {
namespace {

struct BackendArgs {
  VipArgs vip;
  std::string backend;
  uint16_t port = 0;
  CLI::Option* port_option = nullptr;  // sent only when given
  uint32_t weight = 0;
  bool purge = false;
};

// VIP --proto P ADDR [--port N], shared by every backend command. `port_help`
// says what --port means for the command.
std::shared_ptr<BackendArgs> add_backend_args(CLI::App& cmd, const std::string& port_help) {
  auto args = std::make_shared<BackendArgs>();
  add_vip_args(cmd, args->vip);
  cmd.add_option("ADDR", args->backend, "the backend's address")->required()->transform(ip_address());
  args->port_option = cmd.add_option("--port", args->port, port_help)->transform(port_number());
  return args;
}

// Which of several backends on one address is meant (lbd refuses an
// ambiguous address without it).
const char* const kPickPort = "the backend's port, to pick one of several backends on ADDR (nat, fullnat)";

Json backend_request(const std::string& cmd, const BackendArgs& args) {
  Json request = vip_request(cmd, args.vip);
  request["backend"] = args.backend;
  if (args.port_option->count() > 0) request["port"] = args.port;
  return request;
}

void add_add_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("add-backend", "add a backend to a VIP, or return a draining one to it");
  auto args = add_backend_args(
      *cmd, "the port the backend listens on, if not the VIP's (nat and fullnat VIPs only; default: the VIP's)");
  CLI::Option* weight = cmd->add_option("--weight", args->weight, "the backend's share of new flows (lbd's default: 1)")
                            ->transform(backend_weight(/*allow_zero=*/false));
  cmd->callback([&ctx, args, weight] {
    Json request = backend_request("add-backend", *args);
    if (weight->count() > 0) request["weight"] = args->weight;
    change_lbd(ctx, request);
  });
}

void add_del_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("del-backend", "remove a backend; its flows finish unless --purge");
  auto args = add_backend_args(*cmd, kPickPort);
  cmd->add_flag("--purge", args->purge, "drop its flows too: their next packets go to other backends");
  cmd->callback([&ctx, args] {
    Json request = backend_request("del-backend", *args);
    if (args->purge) request["purge"] = true;
    render_flows_removed(change_lbd(ctx, request), ctx.out);
  });
}

void add_drain_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "drain-backend", "stop new flows to a backend; it stays, and its flows keep going to it (weight 0)");
  auto args = add_backend_args(*cmd, kPickPort);
  cmd->callback([&ctx, args] { change_lbd(ctx, backend_request("drain-backend", *args)); });
}

void add_set_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("set-backend", "change a backend's weight");
  auto args = add_backend_args(*cmd, kPickPort);
  cmd->add_option("--weight", args->weight, "the backend's share of new flows; 0 drains it: no new flows")
      ->required()
      ->transform(backend_weight(/*allow_zero=*/true));
  cmd->callback([&ctx, args] {
    Json request = backend_request("set-backend", *args);
    request["weight"] = args->weight;
    change_lbd(ctx, request);
  });
}

}  // namespace

void add_backend_commands(CLI::App& app, Context& ctx) {
  add_add_backend(app, ctx);
  add_del_backend(app, ctx);
  add_drain_backend(app, ctx);
  add_set_backend(app, ctx);
}

}  // namespace xlb::lbctl
