// lbctl pick: which backend a new flow of a 5-tuple gets, computed as the
// data path computes it (lbd's "pick", docs/api.md). Run on every node of a
// pool, it shows whether they choose alike (docs/operations.md).
#include <memory>
#include <sstream>

#include "core/endpoint.h"
#include "core/error.h"
#include "lbctl/args.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"
#include "lbctl/render.h"

namespace xlb::lbctl {
namespace {

struct PickArgs {
  std::string vip;
  std::string proto = "tcp";
  std::string src;
  uint16_t sport = 0;
  bool json = false;
};

// "198.18.100.1:80", or a bare address when the port is left out (lbd then
// takes the only VIP of that address and protocol).
CLI::Validator vip_maybe_port() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          Endpoint e = Endpoint::parse(text, true);
          text = e.port ? e.str() : e.ip.str();
          return "";
        } catch (const InputError& e) {
          return e.what();
        }
      },
      "ADDR[:PORT]");
}

}  // namespace

void add_pick_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<PickArgs>();
  CLI::App* cmd = app.add_subcommand(
      "pick", "which backend a new flow with this 5-tuple gets (the data path's hash and ring), and its existing flow");
  cmd->add_option("vip", args->vip, "the VIP, ADDR:PORT (the port may be left out if the address has one VIP)")
      ->required()
      ->transform(vip_maybe_port());
  cmd->add_option("--proto", args->proto, "the flow's protocol (default tcp)")->transform(protocol());
  cmd->add_option("--src", args->src, "the client's address")->required()->transform(ip_address());
  cmd->add_option("--sport", args->sport, "the client's source port")->required()->transform(port_number());
  cmd->add_flag("--json", args->json, "print lbd's answer as JSON");
  cmd->callback([&ctx, args] {
    Json request{{"cmd", "pick"}, {"vip", args->vip}, {"proto", args->proto}, {"src", args->src},
                 {"sport", args->sport}};
    Json answer = call_lbd(ctx.socket_path, request, ctx.timeout);
    if (args->json) {
      render_json(answer, ctx.out);
      return;
    }
    std::ostringstream text;
    try {
      render_pick(answer, text);
    } catch (const nlohmann::json::exception& e) {
      throw SystemError(std::string("malformed answer from lbd: ") + e.what());
    }
    ctx.out << text.str();
  });
}

}  // namespace xlb::lbctl
