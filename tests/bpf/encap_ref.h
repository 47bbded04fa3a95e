// Reference model of the per-flow outer header fields of ipip encapsulation
// (bpf/lib/encap.h): the IPv6 flow label and the host bits of the outer
// source. Written from the specification (docs/design.md, encap.h's header
// comment), not from the BPF code: the flow hash is the kernel's jhash2 as a
// plain loop, and the frame is parsed here on its own.
#pragma once
#include <cstdint>

#include "kit/packet.h"
#include "xlb/abi.h"

namespace xlb::test {

// The client's 5-tuple of an Ethernet frame (optional 802.1Q tag; IPv4 or
// IPv6 without extension headers; TCP or UDP), zero padded, as the program
// keys its flows.
xlb_flow_key client_key_of(const Bytes& frame);

// jhash2 (lookup3) over n 32-bit words with initval seed.
uint32_t ref_jhash2(const uint32_t* k, uint32_t n, uint32_t seed);

// The flow label: the flow hash's top 20 bits, 1 instead of 0.
uint32_t ref_flow_label(const xlb_flow_key& key, uint32_t seed);

// The 32 bits whose top (32 - prefix length) bits become the outer source's
// host bits: (XOR of the client address's 4 words, as stored, XOR the port
// in both halves) * 0x9e3779b1.
uint32_t ref_src_bits(const xlb_flow_key& key);

// The outer IPv4 source of a flow in prefix/plen (a host order prefix).
uint32_t ref_outer_src_v4(const xlb_flow_key& key, uint32_t prefix_host_order, uint8_t plen);

// Writes a 20-bit flow label into the outer IPv6 header of an encapsulated
// frame (the header right after the L2 header).
void set_outer_flow_label(Bytes& frame, uint32_t label);

}  // namespace xlb::test
