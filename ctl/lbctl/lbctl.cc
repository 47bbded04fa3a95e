#include "lbctl/lbctl.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "core/error.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"

namespace xlb::lbctl {
namespace {

// One line instead of CLI11's two, pointing at the help of the command in use.
std::string usage_error(const CLI::App* app, const CLI::Error& e) {
  std::string help = "lbctl --help";
  if (!app->get_subcommands().empty()) help = "lbctl " + app->get_subcommands().front()->get_name() + " --help";
  std::string what = e.what();
  // With no command recognized CLI11 only says "A subcommand is required":
  // name the word that was taken for one, if any.
  std::vector<std::string> unparsed = app->remaining();
  if (app->get_subcommands().empty() && e.get_name() == "RequiredError") {
    if (unparsed.empty())
      what = "missing command";
    else if (unparsed.front().rfind('-', 0) != 0)
      what = "unknown command '" + unparsed.front() + "'";
  }
  return "lbctl: " + what + " (see '" + help + "')\n";
}

}  // namespace

Json change_lbd(const Context& ctx, const Json& request) {
  Json answer = call_lbd(ctx.socket_path, request, ctx.timeout);
  if (answer.contains("warnings") && answer["warnings"].is_array())
    for (const auto& w : answer["warnings"])
      if (w.is_string()) ctx.err << "lbctl: warning: " << w.get<std::string>() << '\n';
  return answer;
}

int run_lbctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Context ctx{kDefaultSocket, out, err};
  CLI::App app("Control xlb, the XDP load balancer, through lbd's socket (docs/lbctl.md).", "lbctl");
  app.require_subcommand(1);
  app.fallthrough();  // --socket may also follow the command
  app.failure_message(usage_error);
  app.add_option("--socket", ctx.socket_path, "lbd's control socket")->envname("XLB_SOCKET")->capture_default_str();
  app.add_option_function<double>(
         "--timeout", [&ctx](double s) { ctx.timeout = std::chrono::milliseconds(std::llround(s * 1000)); },
         "seconds lbd has to answer (default 10); a change that times out may still complete")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.001, 86400.0));
  add_show_commands(app, ctx);
  add_vip_commands(app, ctx);
  add_backend_commands(app, ctx);
  add_config_commands(app, ctx);
  add_health_commands(app, ctx);
  add_doctor_commands(app, ctx);
  add_node_commands(app, ctx);
  add_pick_commands(app, ctx);

  // The commands run inside parse(), as subcommand callbacks.
  try {
    app.parse(argc, argv);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;  // 0: --help
  } catch (const InputError& e) {
    err << "lbctl: " << e.what() << '\n';
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "lbctl: " << e.what() << '\n';
    return kExitFailed;
  }
}

}  // namespace xlb::lbctl
