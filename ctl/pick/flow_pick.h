// Which ring slot the data path gives a new flow (`lbctl pick`): the same
// key the program builds from a packet (bpf/lib/parse.h), hashed by the very
// functions it uses (include/xlb/flow_hash.h) with the running seed, as
// bpf/lib/select.h indexes the ring with it. lbd reads the slot from the
// installed ring, so the answer is what the program would do now.
#pragma once
#include <cstdint>
#include <optional>

#include "xlb/abi.h"

namespace xlb::pick {

// Whether the scheduler's pick is a function of the flow, the ring and the
// seed alone (maglev, src-hash): then every node with the same ring and
// seed picks alike. least-conn, rr, wrr and random depend on counts, a
// cursor or chance.
bool pick_is_stateless(uint8_t sched);

// The flow key of a client packet: zeroed (it is hashed whole, padding
// included), an IPv4 address in the first word, ports in network order as
// in the packet (given here in host order).
xlb_flow_key flow_key(uint8_t family, uint8_t proto, const xlb_addr& src, uint16_t sport, const xlb_addr& dst,
                      uint16_t dport);

// The hash the data path indexes the ring with for a new flow: maglev the
// 5-tuple's (xlb_flow_hash), src-hash the client address's (xlb_addr_hash).
// nullopt for the schedulers that are not pick_is_stateless.
std::optional<uint32_t> ring_hash(uint8_t sched, const xlb_flow_key& key, uint32_t seed);

// The slot of a ring of ring_size slots (> 0) that hash selects, as
// xlb_select_ring computes it.
inline uint32_t ring_slot(uint32_t hash, uint32_t ring_size) { return hash % ring_size; }

}  // namespace xlb::pick
