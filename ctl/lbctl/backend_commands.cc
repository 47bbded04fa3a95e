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
  uint32_t weight = 0;
  bool purge = false;
};

// VIP --proto P ADDR, shared by every backend command.
std::shared_ptr<BackendArgs> add_backend_args(CLI::App& cmd) {
  auto args = std::make_shared<BackendArgs>();
  add_vip_args(cmd, args->vip);
  cmd.add_option("ADDR", args->backend, "the backend's address")->required()->transform(ip_address());
  return args;
}

Json backend_request(const std::string& cmd, const BackendArgs& args) {
  Json request = vip_request(cmd, args.vip);
  request["backend"] = args.backend;
  return request;
}

void add_add_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("add-backend", "add a backend to a VIP, or return a draining one to it");
  auto args = add_backend_args(*cmd);
  CLI::Option* weight = cmd->add_option("--weight", args->weight, "the backend's share of new flows (lbd's default: 1)")
                            ->transform(backend_weight(/*allow_zero=*/false));
  cmd->callback([&ctx, args, weight] {
    Json request = backend_request("add-backend", *args);
    if (weight->count() > 0) request["weight"] = args->weight;
    call_lbd(ctx.socket_path, request);
  });
}

void add_del_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("del-backend", "remove a backend; its flows finish unless --purge");
  auto args = add_backend_args(*cmd);
  cmd->add_flag("--purge", args->purge, "drop its flows too: their next packets go to other backends");
  cmd->callback([&ctx, args] {
    Json request = backend_request("del-backend", *args);
    if (args->purge) request["purge"] = true;
    render_flows_removed(call_lbd(ctx.socket_path, request), ctx.out);
  });
}

void add_drain_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "drain-backend", "stop new flows to a backend; it stays, and its flows keep going to it (weight 0)");
  auto args = add_backend_args(*cmd);
  cmd->callback([&ctx, args] { call_lbd(ctx.socket_path, backend_request("drain-backend", *args)); });
}

void add_set_backend(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("set-backend", "change a backend's weight");
  auto args = add_backend_args(*cmd);
  cmd->add_option("--weight", args->weight, "the backend's share of new flows; 0 drains it: no new flows")
      ->required()
      ->transform(backend_weight(/*allow_zero=*/true));
  cmd->callback([&ctx, args] {
    Json request = backend_request("set-backend", *args);
    request["weight"] = args->weight;
    call_lbd(ctx.socket_path, request);
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
