// The "doctor" request (docs/api.md): lbctl doctor's facts gathered here,
// judged by ctl/doctor.
#include "api.h"
#include "core/error.h"
#include "core/json_fields.h"
#include "core/views_json.h"
#include "doctor/verdicts.h"
#include "doctor_facts.h"

namespace xlb {

namespace jf = json_fields;

nlohmann::json Api::doctor(const nlohmann::json& r) {
  using Json = nlohmann::json;
  jf::check_object(r, {"cmd", "baseline"}, "");
  Json st = status(false);
  std::vector<VipView> views = lb_.list();
  Json vips = list_json(views);
  if (monitor_) monitor_->annotate_list(views, vips, wall_ms());
  Json global = stats_json(lb_.stats())["global"];
  doctor::Facts facts = gather_doctor_facts(st, vips, global, lb_.verify());
  uint64_t now_ms = monotonic_ns() / 1000000;
  // "baseline": an earlier answer's {"counters", "sampled_ms"}, so that
  // rising drop counters can be told from old ones.
  if (r.contains("baseline")) {
    const Json& b = r["baseline"];
    if (!b.is_object() || !b.contains("counters") || !b["counters"].is_object())
      throw InputError("baseline: must be an object with \"counters\" (an earlier doctor answer's)");
    doctor::Counters before;
    for (const auto& [name, v] : b["counters"].items()) {
      if (!v.is_number_unsigned()) throw InputError("baseline.counters." + name + ": must be a count");
      before[name] = v.get<uint64_t>();
    }
    facts.baseline = before;
  }
  Json out = doctor::report_json(doctor::diagnose(facts));
  out["ok"] = true;
  out["counters"] = facts.counters;
  out["sampled_ms"] = now_ms;
  return out;
}

}  // namespace xlb
