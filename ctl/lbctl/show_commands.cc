#include <memory>
#include <sstream>

#include "core/error.h"
#include "lbctl/args.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"
#include "lbctl/render.h"

namespace xlb::lbctl {
namespace {

using Renderer = void (*)(const Json&, std::ostream&);

// Prints the answer as JSON or through render. The text is built in full
// first, so an answer that turns out malformed halfway prints nothing but the
// error.
void show(const Context& ctx, const Json& answer, bool json, Renderer render) {
  if (json) {
    render_json(answer, ctx.out);
    return;
  }
  std::ostringstream text;
  try {
    render(answer, text);
  } catch (const nlohmann::json::exception& e) {
    throw SystemError(std::string("malformed answer from lbd: ") + e.what());
  }
  ctx.out << text.str();
}

// A read command without arguments of its own: status, list, stats.
void add_plain_show(CLI::App& app, Context& ctx, const std::string& name, const std::string& description,
                    Renderer render) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->add_flag("--json", *json, "print lbd's answer as JSON");
  cmd->callback([&ctx, name, json, render] {
    show(ctx, call_lbd(ctx.socket_path, Json{{"cmd", name}}, ctx.timeout), *json, render);
  });
}

struct FlowsArgs {
  std::string vip;
  std::string proto;
  std::string backend;
  uint16_t backend_port = 0;
  uint32_t limit = 0;
  bool json = false;
};

// status, and with --verify lbd's comparison of what it shows with the
// maps: exit 1 when they differ, so scripts and tests can rely on it.
void add_status(CLI::App& app, Context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto verify = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("status", "daemon, interface, program, table sizes, timeouts and reaper");
  cmd->add_flag("--json", *json, "print lbd's answer as JSON");
  cmd->add_flag("--verify", *verify,
                "also compare lbd's VIPs, backends, rings, lists, counts and settings with the maps the data plane "
                "reads; exit 1 if they differ");
  cmd->callback([&ctx, json, verify] {
    Json request{{"cmd", "status"}};
    if (*verify) request["verify"] = true;
    Json answer = call_lbd(ctx.socket_path, request, ctx.timeout);
    show(ctx, answer, *json, render_status);
    if (!*verify) return;
    if (!answer.contains("verify") || !answer["verify"].is_object())
      throw SystemError("lbd did not answer the verification (an older lbd?)");
    const Json& diffs = answer["verify"].value("differences", Json::array());
    if (answer["verify"].value("ok", false) && diffs.empty()) return;
    throw SystemError("lbd and the maps disagree (" + std::to_string(diffs.size()) + " differences)");
  });
}

void add_flows(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<FlowsArgs>();
  CLI::App* cmd = app.add_subcommand("flows", "dump the flow table");
  CLI::Option* vip =
      cmd->add_option("--vip", args->vip, "only flows to this VIP (needs --proto)")->transform(vip_endpoint());
  CLI::Option* proto = cmd->add_option("--proto", args->proto, "the VIP's protocol")->transform(protocol());
  vip->needs(proto);
  proto->needs(vip);
  CLI::Option* backend =
      cmd->add_option("--backend", args->backend, "only flows to backends at this address")->transform(ip_address());
  CLI::Option* backend_port =
      cmd->add_option("--backend-port", args->backend_port,
                      "...and this port (a backend without a port of its own has the VIP's)")
          ->transform(port_number());
  backend_port->needs(backend);
  CLI::Option* limit = cmd->add_option("--limit", args->limit, "at most this many flows (lbd's default: 1000)")
                           ->transform(integer_in(1, UINT32_MAX));
  cmd->add_flag("--json", args->json, "print lbd's answer as JSON");
  cmd->callback([&ctx, args, vip, backend, backend_port, limit] {
    Json request{{"cmd", "flows"}};
    if (vip->count() > 0) {
      request["vip"] = args->vip;
      request["proto"] = args->proto;
    }
    if (backend->count() > 0) request["backend"] = args->backend;
    if (backend_port->count() > 0) request["backend_port"] = args->backend_port;
    if (limit->count() > 0) request["limit"] = args->limit;
    show(ctx, call_lbd(ctx.socket_path, request, ctx.timeout), args->json, render_flows);
  });
}

}  // namespace

void add_show_commands(CLI::App& app, Context& ctx) {
  add_status(app, ctx);
  add_plain_show(app, ctx, "list", "VIPs, backends, weights, states, connection counts and ring shares", render_list);
  add_plain_show(app, ctx, "stats", "per-VIP and per-backend packets and bytes, and every pass/drop reason",
                 render_stats);
  add_flows(app, ctx);
}

}  // namespace xlb::lbctl
