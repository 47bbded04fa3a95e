// node drain / node undrain: withdraw every VIP announcement of this node
// for maintenance, keeping forwarding what still arrives, and announce
// again (docs/lbctl.md, docs/operations.md "Several load balancers").
#include "lbctl/client.h"
#include "lbctl/commands.h"
#include "lbctl/render.h"

namespace xlb::lbctl {
namespace {

void add_action(CLI::App& node, Context& ctx, const std::string& action, const std::string& description) {
  CLI::App* cmd = node.add_subcommand(action, description);
  cmd->callback([&ctx, action] {
    Json answer = change_lbd(ctx, Json{{"cmd", "node"}, {"action", action}});
    ctx.out << "node " << action << "ed";
    if (answer.contains("announce") && answer["announce"].is_object())
      ctx.out << "; announce: " << announce_text(answer["announce"]);
    ctx.out << '\n';
  });
}

}  // namespace

void add_node_commands(CLI::App& app, Context& ctx) {
  CLI::App* node = app.add_subcommand("node", "this load balancer node: drain or undrain its VIP announcements");
  node->require_subcommand(1);
  add_action(*node, ctx, "drain",
             "withdraw every announced VIP (kept across restarts); traffic that still arrives is forwarded");
  add_action(*node, ctx, "undrain", "announce the served VIPs again");
}

}  // namespace xlb::lbctl
