// lbctl doctor: lbd's checks of the things that silently break a deployment
// (docs/troubleshooting.md). Exit 1 when lbd found a problem.
#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "lbctl/client.h"
#include "lbctl/commands.h"
#include "lbctl/render.h"

namespace xlb::lbctl {
namespace {

struct DoctorArgs {
  bool json = false;
  double interval = 1.0;
};

bool any_drop(const Json& answer) {
  if (!answer.contains("counters") || !answer["counters"].is_object()) return false;
  for (const auto& [name, v] : answer["counters"].items())
    if (name.rfind("drop_", 0) == 0 && v.is_number_unsigned() && v.get<uint64_t>() > 0) return true;
  return false;
}

}  // namespace

void add_doctor_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<DoctorArgs>();
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "check forwarding, XDP mode, MTU headroom, backend reachability and health, lbd's sync and rising drop "
      "counters; print each problem with its fix; exit 1 if there is one");
  cmd->add_flag("--json", args->json, "print lbd's answer as JSON");
  cmd->add_option("--interval", args->interval,
                  "seconds between the two samples that tell rising drop counters from old ones (taken only if "
                  "some drop counter is non-zero; 0: one sample)")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));
  cmd->callback([&ctx, args] {
    Json answer = call_lbd(ctx.socket_path, Json{{"cmd", "doctor"}}, ctx.timeout);
    if (args->interval > 0 && any_drop(answer)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(args->interval * 1000)));
      Json baseline{{"counters", answer["counters"]}};
      answer = call_lbd(ctx.socket_path, Json{{"cmd", "doctor"}, {"baseline", baseline}}, ctx.timeout);
    }
    if (args->json) {
      render_json(answer, ctx.out);
    } else {
      std::ostringstream text;
      try {
        render_doctor(answer, text);
      } catch (const nlohmann::json::exception& e) {
        throw SystemError(std::string("malformed answer from lbd: ") + e.what());
      }
      ctx.out << text.str();
    }
    if (!answer.value("healthy", false)) throw SystemError("doctor found problems (see above)");
  });
}

}  // namespace xlb::lbctl
