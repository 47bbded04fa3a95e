// Test frame builder for the BPF packet tests: Ethernet (+ one optional
// 802.1Q tag), IPv4 (options, DF/MF/fragment offset), IPv6, TCP, UDP and a
// payload, with every length and checksum filled in. The checksum code is a
// deliberately plain RFC 1071 one's complement sum, independent of the BPF
// side's incremental csum helpers, so a bug there cannot hide in here.
//
// Also builds the *expected* output of the load balancer: encap_ipv4() /
// encap_ipv6() insert the outer IP header after the L2 header exactly as the
// lb program is specified to write it (field choices documented at
// encap_ipv4/encap_ipv6 below).
//
// Typical use:
//   using namespace xlb::test;
//   Ipv4 ip;                    // plain structs with defaults: set what matters
//   ip.src = "198.18.1.1";      // (designated initializers would trip
//   ip.dst = "198.18.100.1";    //  -Wmissing-field-initializers under -Wextra)
//   Tcp tcp;
//   tcp.dport = 80;
//   Bytes in = Frame().eth(client_mac, lb_mac).ipv4(ip).tcp(tcp)
//                  .payload("hello").build();
//   Bytes want = encap_ipv4(in, "198.18.0.1", "198.18.0.10");
//   set_macs(want, fixture_neigh_mac(10), kFixtureMac);
//   EXPECT_EQ(got, want) << hexdump_diff(want, got);
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xlb::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

// "02:00:00:00:00:0a" -> bytes; throws std::invalid_argument on bad text.
Mac parse_mac(const std::string& text);
std::string mac_str(const Mac& m);

// Default MACs of Frame::eth() when none are given.
inline constexpr Mac kDefaultSrcMac = {0x02, 0x00, 0x00, 0x00, 0xaa, 0x01};
inline constexpr Mac kDefaultDstMac = {0x02, 0x00, 0x00, 0x00, 0xbb, 0x01};

// TCP flag bits (byte 13 of the TCP header).
enum : uint8_t {
  kTcpFin = 0x01,
  kTcpSyn = 0x02,
  kTcpRst = 0x04,
  kTcpPsh = 0x08,
  kTcpAck = 0x10,
  kTcpUrg = 0x20,
};

// IPv4 header fields. Defaults give a plain 20-byte header with TTL 64.
// Unset optional fields are computed by build().
struct Ipv4 {
  std::string src = "198.18.1.1";
  std::string dst = "198.18.100.1";
  uint8_t tos = 0;
  uint8_t ttl = 64;
  uint16_t id = 0;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;  // in 8-byte units, as on the wire (13 bits)
  Bytes options;             // zero-padded to a multiple of 4; IHL follows
  std::optional<uint8_t> proto;       // default: from the next layer
  std::optional<uint16_t> total_len;  // default: header + everything after
  std::optional<uint16_t> checksum;   // default: correct checksum
};

// IPv6 fixed header fields (no extension headers are generated; append
// them yourself via raw payload + next_header if needed).
struct Ipv6 {
  std::string src = "fd00:1::1";
  std::string dst = "fd00:100::1";
  uint8_t tclass = 0;
  uint32_t flow_label = 0;  // 20 bits
  uint8_t hop_limit = 64;
  std::optional<uint8_t> next_header;   // default: from the next layer
  std::optional<uint16_t> payload_len;  // default: everything after
};

struct Tcp {
  uint16_t sport = 40000;  // host byte order
  uint16_t dport = 80;
  uint32_t seq = 1000;
  uint32_t ack = 0;
  uint8_t flags = kTcpSyn;
  uint16_t window = 65535;
  Bytes options;  // zero-padded to a multiple of 4; data offset follows
  std::optional<uint16_t> checksum;  // default: correct checksum
};

struct Udp {
  uint16_t sport = 40000;  // host byte order
  uint16_t dport = 53;
  std::optional<uint16_t> length;    // default: header + payload
  std::optional<uint16_t> checksum;  // default: correct checksum (0 -> 0xffff)
};

// Fluent builder of one frame: L2, then one IP header, then optionally TCP or
// UDP, then payload bytes. Layers are assembled inside-out by build(), so each
// length and checksum covers exactly what follows it. Without tcp()/udp() the
// payload is the IP payload (set Ipv4::proto / Ipv6::next_header then).
class Frame {
 public:
  Frame& eth(const Mac& src = kDefaultSrcMac, const Mac& dst = kDefaultDstMac);
  // One 802.1Q tag (TPID 0x8100) with this TCI (PCP/DEI/VID) after the MACs.
  Frame& vlan(uint16_t tci);
  // Ethertype for a frame without an IP layer (ARP, LLDP, ...). With an IP
  // layer the ethertype follows it unless set here.
  Frame& ethertype(uint16_t type);
  Frame& ipv4(const Ipv4& h = {});
  Frame& ipv6(const Ipv6& h = {});
  Frame& tcp(const Tcp& h = {});
  Frame& udp(const Udp& h = {});
  Frame& payload(const Bytes& p);
  Frame& payload(const std::string& p);
  // Full frame. Without eth() the result starts at the IP header.
  Bytes build() const;

 private:
  bool has_eth_ = false;
  Mac src_{}, dst_{};
  std::optional<uint16_t> vlan_;
  std::optional<uint16_t> ethertype_;
  std::optional<Ipv4> v4_;
  std::optional<Ipv6> v6_;
  std::optional<Tcp> tcp_;
  std::optional<Udp> udp_;
  Bytes payload_;
};

// ---- frame surgery -------------------------------------------------------

// Length of the L2 header of an Ethernet frame: 14, 18 with one 802.1Q /
// 802.1ad tag, 22 with an 802.1Q tag inside that (QinQ). Returns 0 if the
// frame is shorter than that.
size_t l2_header_len(const Bytes& frame);
// Ethertype after the optional tags (host byte order); 0 if too short.
uint16_t l2_ethertype(const Bytes& frame);
// Overwrites the destination and source MAC (bytes 0..11).
void set_macs(Bytes& frame, const Mac& dst, const Mac& src);

// ---- expected encapsulation (what the lb program writes) ------------------
//
// Both take an Ethernet frame (optionally VLAN-tagged) whose L3 payload is an
// IPv4 or IPv6 packet, and insert the outer header between the L2 header and
// that packet. MACs and the VLAN tag are left as they are (use set_macs() for
// the rewritten next-hop MACs); the ethertype becomes the outer family's.
// "Inner length" below is the number of bytes after the L2 header (the frame
// is taken as is, so build frames without Ethernet padding).
//
// Outer IPv4 (encap_ipv4 with addresses), field by field:
//   version 4, IHL 5 (no options)
//   TOS         = inner IPv4 TOS byte / inner IPv6 traffic class (DSCP+ECN
//                 copied whole)
//   total len   = 20 + inner length
//   ID          = 0
//   flags       = DF set, MF clear; fragment offset 0 (the lb never
//                 fragments; with DF an oversized packet yields ICMP "frag
//                 needed" upstream instead of fragments at the backend)
//   TTL         = 64 (not copied from the inner packet)
//   protocol    = 4 (IPPROTO_IPIP) for an inner IPv4 packet,
//                 41 (IPPROTO_IPV6) for an inner IPv6 packet
//   checksum    = correct header checksum
// Outer IPv6 (encap_ipv6 with addresses):
//   version 6
//   traffic class = inner IPv4 TOS byte / inner IPv6 traffic class (copied)
//   flow label  = 0 here; the lb writes a per-flow label (the bpf tests'
//                 expect_encap6 patches it in, tests/bpf/encap_ref.h)
//   payload len = inner length
//   next header = 4 (IPPROTO_IPIP) for inner IPv4, 41 (IPPROTO_IPV6) for
//                 inner IPv6
//   hop limit   = 64
Bytes encap_ipv4(const Bytes& frame, const std::string& outer_src,
                 const std::string& outer_dst);
Bytes encap_ipv6(const Bytes& frame, const std::string& outer_src,
                 const std::string& outer_dst);
// Same, with every outer field taken from `outer` as given (for odd inputs
// such as outer options or fragments). Unset proto/next_header is derived
// from the inner family; unset lengths/checksum are computed.
Bytes encap_ipv4(const Bytes& frame, const Ipv4& outer);
Bytes encap_ipv6(const Bytes& frame, const Ipv6& outer);

// ---- ICMP errors ------------------------------------------------------------
//
// Build an error as the payload of an IP layer with the ICMP protocol set:
//   Ipv4 ip; ip.proto = 1;
//   Frame().eth().ipv4(ip).payload(icmp4_message(3, 4, 1400, quoted)).build()
// where `quoted` is an IP packet built with Frame() without eth() (and cut
// to the length the sender would quote).

// An ICMPv4 message: type, code, the 4 bytes after the checksum (`rest`,
// e.g. the next-hop MTU of "fragmentation needed" in its low 16 bits), then
// body. The checksum covers the whole message (RFC 792).
Bytes icmp4_message(uint8_t type, uint8_t code, uint32_t rest, const Bytes& body);
// An ICMPv6 message; its checksum also covers the pseudo-header of the IPv6
// packet src -> dst that will carry it (RFC 4443 2.3).
Bytes icmp6_message(uint8_t type, uint8_t code, uint32_t rest, const Bytes& body,
                    const std::string& src, const std::string& dst);
// True if the frame is IPv4 + ICMP or IPv6 + ICMPv6 (no extension headers)
// and its ICMP checksum is correct.
bool icmp_checksum_ok(const Bytes& frame);
// The IP packet an ICMP error in `frame` quotes (the bytes after the 8-byte
// ICMP header, up to the outer IP length), inside a plain Ethernet header so
// that ipv4_header_checksum_ok() / l4_checksum_ok() can check it. Empty if
// the frame holds no ICMP message.
Bytes icmp_quoted_frame(const Bytes& frame);

// ---- checks ----------------------------------------------------------------

// One's complement sum (RFC 1071) folded to 16 bits, not inverted. `initial`
// lets a pseudo-header sum be chained in.
uint16_t csum_fold(const uint8_t* data, size_t len, uint32_t initial = 0);
// Internet checksum of a buffer (inverted folded sum).
uint16_t inet_checksum(const uint8_t* data, size_t len);

// True if every IPv4 header in the frame (outer and any IP-in-IP inner ones)
// has a correct header checksum. False if there is no IPv4 header or the
// frame cannot be parsed.
bool ipv4_header_checksum_ok(const Bytes& frame);
// True if the innermost TCP or UDP segment (descending through IP-in-IP
// headers: proto 4 / 41) has a correct checksum for its own IP header's
// pseudo-header. UDP over IPv4 with checksum 0 counts as correct. False if
// there is no TCP/UDP or the frame cannot be parsed (IPv6 extension headers
// are not followed).
bool l4_checksum_ok(const Bytes& frame);

// Side-by-side hex dump of two frames, 16 bytes a row, differing rows marked
// with '!' and differing bytes underlined with '^^'. Starts with the sizes.
// Meant for gtest messages: EXPECT_EQ(got, want) << hexdump_diff(want, got);
std::string hexdump_diff(const Bytes& expected, const Bytes& actual);
// Plain hex dump, 16 bytes a row with offsets.
std::string hexdump(const Bytes& data);

}  // namespace xlb::test
