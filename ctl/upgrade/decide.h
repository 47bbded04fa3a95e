// What lbd does with the data path it finds pinned, from the pins' xlb_meta
// (include/xlb/abi.h) and its own ABI version and build id. Pure: the loader
// reads the map and carries the decision out.
//
// The rule: maps of another ABI version (or of none: pins older than
// xlb_meta) are never taken over, whatever runs on them; within one ABI
// version lbd runs its own build, replacing a running program of another
// build atomically, unless told to keep it (--no-upgrade).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "xlb/abi.h"

namespace xlb::upgrade {

enum class Action {
  Keep,     // the running program is this lbd's build: adopt it
  Upgrade,  // replace the running program (other build, same ABI) atomically
  KeepOld,  // other build, same ABI, but --no-upgrade: adopt it, warn
  Load,     // no program runs over the pins: load this build over them
  Refuse,   // other ABI version, or none: touch nothing, exit
};

struct Decision {
  Action action = Action::Keep;
  std::string message;  // Refuse: the error; KeepOld: the warning; else empty
};

struct Situation {
  std::optional<xlb_meta> pinned;  // xlb_meta's entry; nullopt: no xlb_meta pinned
  bool running = false;            // an xlb_lb is attached over these maps
  uint32_t own_abi = XLB_ABI_VERSION;
  uint64_t own_build = 0;
  bool allow_upgrade = true;  // false: --no-upgrade
  std::string iface;          // the first --iface (names the pins)
  std::string pin_dir;
};

Decision decide(const Situation& s);

// The entry lbd writes once its build runs over the maps.
xlb_meta make_meta(uint32_t abi, uint64_t build);

}  // namespace xlb::upgrade
