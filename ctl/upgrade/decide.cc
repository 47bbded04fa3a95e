#include "upgrade/decide.h"

#include "upgrade/build_id.h"

namespace xlb::upgrade {

namespace {

// Exactly what to do, for both ways out: start over on this lbd's maps
// (every flow is lost) or keep the running data path with the lbd that
// matches it.
std::string refusal(const Situation& s, const std::string& pinned_abi) {
  return "the maps pinned in " + s.pin_dir + " are from " + pinned_abi + ", this lbd is ABI " +
         std::to_string(s.own_abi) + ": it can't take them over" + (s.running ? " (the running program and its maps are left untouched)" : "") +
         ". Either run the lbd that made them, or stop lbd, run `lbd --detach " + s.iface +
         "` (drops every flow and interrupts forwarding) and start this lbd again (docs/operations.md, \"Upgrade\")";
}

}  // namespace

Decision decide(const Situation& s) {
  if (!s.pinned) return {Action::Refuse, refusal(s, "an xlb older than ABI versions (no xlb_meta)")};
  if (s.pinned->magic != XLB_META_MAGIC)
    return {Action::Refuse, refusal(s, "an unknown ABI (xlb_meta was never written: an lbd stopped while creating "
                                       "the maps?)")};
  if (s.pinned->abi_version != s.own_abi)
    return {Action::Refuse, refusal(s, "ABI " + std::to_string(s.pinned->abi_version))};
  if (!s.running) return {Action::Load, ""};
  if (s.pinned->build_id == s.own_build) return {Action::Keep, ""};
  if (!s.allow_upgrade)
    return {Action::KeepOld, "--no-upgrade: keeping the running xlb_lb (build " + build_id_hex(s.pinned->build_id) +
                                 "); this lbd's build is " + build_id_hex(s.own_build) +
                                 " (`lbctl status` shows both; restart lbd without --no-upgrade to replace it)"};
  return {Action::Upgrade, ""};
}

xlb_meta make_meta(uint32_t abi, uint64_t build) {
  xlb_meta m{};
  m.magic = XLB_META_MAGIC;
  m.abi_version = abi;
  m.build_id = build;
  return m;
}

}  // namespace xlb::upgrade
