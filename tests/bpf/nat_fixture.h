// Shared pieces of the nat, fullnat, ICMP and l2dsr packet tests: the
// addresses of both families in the FIB fixture, a one-line TCP/UDP frame
// description, and VIP setup per mode. Expected frames are always built from
// scratch with the kit's Frame builder (full checksum computations), never
// derived from the program's output.
#pragma once
#include <bpf/bpf.h>
#include <netinet/in.h>

#include <optional>
#include <string>

#include "lb_fixture.h"

namespace xlb::test::nat {

// Whoever sends frames to the load balancer (client, backend or router).
inline constexpr Mac kPeerMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x02};

// One family's addresses in the FIB fixture (prog_run.h).
struct Family {
  const char* name;
  const char* vip;
  const char* client;   // behind the gateway, neighbour 2 (route 198.19/16, fd00:19::/64)
  const char* client2;  // same route
  const char* backend;  // on-link, neighbour 10
  const char* backend2; // on-link, neighbour 11
  const char* snat;     // fullnat source: the fixture's own address
  const char* router;   // on-link, neighbour 3: sends ICMP errors about others' packets
  bool v6;
};

inline const Family kV4 = {"IPv4",        "198.18.100.1", "198.19.7.7", "198.19.7.8", "198.18.0.10",
                           "198.18.0.11", "198.18.0.1",   "198.18.0.3", false};
inline const Family kV6 = {"IPv6",        "fd00:100::1", "fd00:19::77", "fd00:19::78", "fd00:18::10",
                           "fd00:18::11", "fd00:18::1",  "fd00:18::3",  true};

inline const char* proto_name(uint8_t proto) { return proto == IPPROTO_TCP ? "TCP" : "UDP"; }

// One TCP or UDP frame; the family follows the addresses.
struct Pkt {
  std::string src;
  uint16_t sport = 40000;
  std::string dst;
  uint16_t dport = 80;
  uint8_t proto = IPPROTO_TCP;
  uint8_t flags = kTcpSyn;            // TCP only
  std::string payload = "payload!";   // 8 bytes
  std::optional<uint16_t> udp_checksum;  // override (0: "none" over IPv4)
  std::optional<uint16_t> vlan;
  Mac dmac = kFixtureMac;
  Mac smac = kPeerMac;
  uint8_t tos = 0;
};

inline bool is_v6(const std::string& addr) { return addr.find(':') != std::string::npos; }

inline Bytes build(const Pkt& p) {
  Frame fr;
  fr.eth(p.smac, p.dmac);
  if (p.vlan) fr.vlan(*p.vlan);
  if (is_v6(p.src)) {
    Ipv6 ip;
    ip.src = p.src;
    ip.dst = p.dst;
    ip.tclass = p.tos;
    fr.ipv6(ip);
  } else {
    Ipv4 ip;
    ip.src = p.src;
    ip.dst = p.dst;
    ip.tos = p.tos;
    ip.id = 0x1234;
    ip.df = true;
    fr.ipv4(ip);
  }
  if (p.proto == IPPROTO_TCP) {
    Tcp t;
    t.sport = p.sport;
    t.dport = p.dport;
    t.flags = p.flags;
    t.seq = 0x01020304;
    t.ack = p.flags & kTcpAck ? 0x0a0b0c0d : 0;
    fr.tcp(t);
  } else {
    Udp u;
    u.sport = p.sport;
    u.dport = p.dport;
    u.checksum = p.udp_checksum;
    fr.udp(u);
  }
  return fr.payload(p.payload).build();
}

// A frame from family f's client (port sport) to its VIP (port vport).
inline Pkt client_packet(const Family& f, uint16_t sport = 40000, uint16_t vport = 80,
                         uint8_t proto = IPPROTO_TCP, uint8_t flags = kTcpSyn) {
  Pkt p;
  p.src = f.client;
  p.sport = sport;
  p.dst = f.vip;
  p.dport = vport;
  p.proto = proto;
  p.flags = flags;
  return p;
}

// The same frame with other addresses and ports, sent with the lb's MAC to
// neighbour `neigh`'s: what the lb must emit for it.
inline Pkt rewritten(Pkt p, const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                     int neigh) {
  p.src = src;
  p.sport = sport;
  p.dst = dst;
  p.dport = dport;
  p.smac = kFixtureMac;
  p.dmac = fixture_neigh_mac(neigh);
  return p;
}

class NatFixture : public LbFixture {
 protected:
  // The source port fullnat gave the client flow of `in` (host order); 0 if none.
  uint16_t port_of(const Pkt& in) {
    xlb_flow fl{};
    if (!flow(flow_key(in.src, in.sport, in.dst, in.dport, in.proto), &fl)) return 0;
    return ntohs(fl.nat_port);
  }
  // A VIP of `mode` with one backend (id backend_id at `backend`, port
  // be_port, 0: the VIP's) in its ring; the nat flag and fullnat sources of
  // both families are configured with the port range [port_min, port_max].
  uint32_t vip_with_backend(const std::string& vip, uint16_t port, uint8_t proto, uint8_t mode,
                            uint32_t backend_id, const std::string& backend, uint16_t be_port) {
    uint32_t v = add_vip(vip, port, proto);
    set_mode(v, mode);
    add_backend(backend_id, v, backend, 1, be_port);
    fill_ring(v, backend_id);
    return v;
  }
  void nat_config(uint16_t port_min = 20000, uint16_t port_max = 29999) {
    set_nat(XLB_CFG_F_NAT, kV4.snat, kV6.snat, port_min, port_max);
  }
  void delete_flow(const xlb_flow_key& key) {
    ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_flows), &key), 0);
  }
  void delete_nat_rev(const xlb_flow_key& key) {
    ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_nat_rev), &key), 0);
  }
};

}  // namespace xlb::test::nat
