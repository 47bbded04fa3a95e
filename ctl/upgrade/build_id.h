// The build id of a BPF object: a 64-bit FNV-1a hash of its bytes (the ELF
// the skeleton embeds), so two lbds carry the same id exactly when they
// embed the same object. Not a security measure: it tells builds apart, it
// does not authenticate them (only root can write the pins anyway).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace xlb::upgrade {

uint64_t build_id_of(const void* data, size_t size);

// 16 lower-case hex digits, as `lbctl status` and the log show it.
std::string build_id_hex(uint64_t id);

}  // namespace xlb::upgrade
