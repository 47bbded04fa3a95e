#include <memory>

#include "lbctl/args.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"
#include "lbctl/render.h"

namespace xlb::lbctl {
namespace {

struct AddVipArgs {
  VipArgs vip;
  std::string sched = "maglev";
  std::string mode = "ipip";
  uint32_t ring_size = 0;  // sent only when given: lbd owns the default
  bool stateless = false;
};

void add_add_vip(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<AddVipArgs>();
  CLI::App* cmd = app.add_subcommand("add-vip", "add a VIP (it serves traffic once it has backends)");
  add_vip_args(*cmd, args->vip);
  cmd->add_option("--sched", args->sched, "scheduler of new flows")->transform(scheduler())->capture_default_str();
  cmd->add_option("--mode", args->mode, "forwarding mode")->transform(forwarding_mode())->capture_default_str();
  CLI::Option* ring = cmd->add_option("--ring-size", args->ring_size, "Maglev ring size (prime; default 65537)")
                          ->transform(ring_size());
  cmd->add_flag("--stateless", args->stateless,
                "keep no flow state: every packet by the ring (maglev or src-hash, ipip or l2dsr); a ring change "
                "moves the connections of the slots it changes");
  cmd->callback([&ctx, args, ring] {
    Json request = vip_request("add-vip", args->vip);
    request["sched"] = args->sched;
    request["mode"] = args->mode;
    if (ring->count() > 0) request["ring_size"] = args->ring_size;
    if (args->stateless) request["stateless"] = true;
    change_lbd(ctx, request);
  });
}

void add_del_vip(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<VipArgs>();
  CLI::App* cmd = app.add_subcommand("del-vip", "remove a VIP, its backends and its flows");
  add_vip_args(*cmd, *args);
  cmd->callback([&ctx, args] {
    render_flows_removed(call_lbd(ctx.socket_path, vip_request("del-vip", *args), ctx.timeout), ctx.out);
  });
}

}  // namespace

void add_vip_commands(CLI::App& app, Context& ctx) {
  add_add_vip(app, ctx);
  add_del_vip(app, ctx);
}

}  // namespace xlb::lbctl
