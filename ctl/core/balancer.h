// The balancer: the in-memory model of VIPs and backends, and every
// operation on it, written through an injected MapIo (the kernel maps in
// lbd, a fake in the unit tests). The maps are the source of truth across
// restarts: recover() rebuilds the model from them.
//
// Every operation validates its whole input before the first map write, so
// an InputError leaves both the model and the maps untouched. Every
// operation that writes is all-or-nothing: its writes go through an undo
// journal (map_journal.h), and when the kernel refuses one of them the
// model is restored and the maps are put back as they were. Should the
// undo fail too, the model is rebuilt from the maps (recover()), so lbd
// never shows what the maps don't hold; if even that fails, every later
// request first retries it. verify() compares the model with the maps.
//
// Backend states, as kept in xlb_backends (and so recoverable):
//   active    USED|IN_RING, weight > 0: in the ring and list, takes new flows;
//   draining  USED, weight 0: set-backend weight 0 / drain-backend, or weight
//             0 in a config. Takes no new flows, its flows keep going to it,
//             and it stays until deleted;
//   removed   USED|REMOVED: deleted by del-backend or left out of an applied
//             config. Drains like the above, and is freed (id, entry, count
//             entry) by free_removed() once the reaper finds no flow using it.
// add-backend (or set-backend with a weight, for a draining one) returns it
// to the ring under the same backend_id, flows and counts intact.
//
// A backend's identity within its VIP is (address, port). Port 0 means the
// VIP's port; only nat and fullnat VIPs may give a backend another one, and
// a port equal to the VIP's is stored as 0, so one destination has one
// identity. Operations name a backend with a BackendRef: an address, and a
// port only where the address alone is ambiguous.
//
// Forwarding modes (VipState::mode) are fixed for a VIP's life: apply
// replaces a VIP whose mode changed (delete, then add). While any nat or
// fullnat VIP exists, xlb_config carries XLB_CFG_F_NAT, so the data plane
// looks replies up in xlb_nat_rev; it is set before the first such VIP
// appears and cleared after the last one is gone.
//
// Connection counts (xlb_conns) are keyed by identity (conn_key.h). An entry
// is created, with zero counts and never over an existing one, when the
// balancer learns an identity; it is deleted only when the identity is
// freed, after its flows are gone and its counts were adjusted to zero.
//
// Split over files by concern: balancer.cc (operations), balancer_apply.cc
// (declarative reconcile), balancer_recover.cc (state from the maps),
// balancer_views.cc (list/stats/flows), balancer_conns.cc (counts, lists and
// freeing identities).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config.h"
#include "conn_key.h"
#include "endpoint.h"
#include "id_allocator.h"
#include "map_io.h"
#include "map_journal.h"

namespace xlb {

struct VipSpec {
  Endpoint vip;
  uint8_t proto = 0;
  uint8_t sched = XLB_SCHED_MAGLEV;
  uint8_t mode = XLB_MODE_IPIP;
  uint32_t ring_size = XLB_DEFAULT_RING_SIZE;
  bool stateless = false;  // XLB_VIP_F_STATELESS: no flow table, every packet by the ring
};

// Encapsulation and fullnat sources used when the config names none: the
// daemon passes the first address of each family on its interfaces.
struct EncapDefaults {
  std::optional<IpAddr> v4;
  std::optional<IpAddr> v6;
  // Every address of those interfaces: the load balancer's own, refused as
  // VIPs and backends (rules.h, check_vip_address).
  std::vector<IpAddr> local;
};

// ---- read-only views (list, stats, flows)

enum class BackendStatus : uint8_t { kActive, kDraining, kRemoved };
std::string backend_status_name(BackendStatus s);  // "active", "draining", "removed"

// A backend as operations name it: its address, and its port when the VIP
// has several backends on that address. A port equal to the VIP's names
// the backend without a port of its own.
struct BackendRef {
  IpAddr address;
  std::optional<uint16_t> port;  // nullopt: the only backend with this address
  BackendRef(const IpAddr& a, std::optional<uint16_t> p = std::nullopt) : address(a), port(p) {}  // NOLINT: implicit
};

struct BackendView {
  IpAddr address;
  uint16_t port = 0;  // 0: the VIP's
  uint32_t id = 0;
  uint32_t weight = 0;
  BackendStatus state = BackendStatus::kActive;
  uint32_t ring_slots = 0;
  int64_t conns_active = 0;  // xlb_conns of its identity (half-open included)
  int64_t conns_half_open = 0;
};

// A VIP's fingerprint (pick/fingerprint.h), for comparing nodes: of its
// ring (as identities) for maglev and src-hash, whose pick is a function of
// the flow; of its backends and weights for least-conn, rr, wrr and random.
struct VipFingerprint {
  bool of_ring = true;  // false: of the backend set
  uint64_t value = 0;
};

struct VipView {
  Endpoint vip;
  uint8_t proto = 0;
  uint8_t sched = 0;
  uint8_t mode = 0;
  uint32_t ring_size = 0;
  bool stateless = false;
  uint32_t id = 0;
  VipFingerprint fingerprint;
  std::vector<BackendView> backends;  // sorted by address, then port
};

// `lbctl pick`: what the data path does with a new flow of a 5-tuple
// (balancer_pick.cc).
struct PickQuery {
  IpAddr vip;
  std::optional<uint16_t> port;  // nullopt: the only VIP of this address and protocol
  uint8_t proto = 0;
  IpAddr src;
  uint16_t sport = 0;
};

struct PickView {
  Endpoint vip;
  uint8_t proto = 0;
  uint8_t sched = 0;
  uint32_t hash_seed = 0;
  bool stateless = false;         // maglev, src-hash: the pick below is the data path's
  uint32_t hash = 0;              // stateless: the ring index hash
  uint32_t ring_size = 0;
  uint32_t slot = 0;              // stateless: hash % ring_size
  std::optional<BackendRef> backend;  // stateless: the slot's backend; nullopt: empty slot
  // The flow table's entry for the tuple, if any: the backend its packets go to.
  bool existing_flow = false;
  std::optional<BackendRef> existing_backend;  // nullopt: an id bound to no backend of the VIP
  uint32_t existing_backend_id = 0;
  VipFingerprint fingerprint;
};

struct BackendStats {
  IpAddr address;
  uint16_t port = 0;  // 0: the VIP's
  Counter counter;
};

struct VipStats {
  Endpoint vip;
  uint8_t proto = 0;
  Counter counter;
  std::vector<BackendStats> backends;
};

struct StatsView {
  std::vector<Counter> global;  // indexed by enum xlb_stat
  std::vector<VipStats> vips;
};

struct FlowQuery {
  std::optional<std::pair<Endpoint, uint8_t>> vip;  // only this VIP's flows
  std::optional<IpAddr> backend;                    // only flows to backends at this address
  std::optional<uint16_t> backend_port;             // ...and this port (the VIP's when they have none)
  uint64_t limit = 1000;
};

struct FlowView {
  uint8_t proto = 0;
  Endpoint src;
  Endpoint dst;
  std::optional<IpAddr> backend;  // nullopt: the id is bound to no backend
  uint16_t backend_port = 0;      // the backend's own port, 0: the VIP's
  uint16_t nat_port = 0;          // fullnat: the source port the flow was given
  uint8_t state = 0;              // enum xlb_flow_state
  uint64_t idle_ms = 0;
};

struct FlowsView {
  std::vector<FlowView> flows;
  uint64_t total = 0;  // matching flows, including those beyond the limit
  bool truncated = false;
};

struct ApplyResult {
  // A VIP whose mode changed is replaced: it counts as removed and added,
  // with its backends.
  uint32_t added = 0;    // VIPs created, backends added or returned to the ring
  uint32_t removed = 0;  // VIPs deleted, backends removed (draining until freed)
  uint32_t changed = 0;  // VIP ring sizes, schedulers, backend weights, encap/fullnat/hash seed/timeouts
};

class Balancer {
 public:
  Balancer(std::unique_ptr<MapIo> io, EncapDefaults defaults);

  // Rebuilds the model from the maps (a restarted lbd carries on where the
  // previous one stopped) and repairs what an interrupted run may have left
  // half done: orphan backends and rings, refcounts, stale ring slots, an
  // unset encap source. Returns one line per repair, for the log.
  std::vector<std::string> recover();

  // The differences between the model and the maps, one line each (empty:
  // they agree): VIP entries, VIP address counts, rings (every slot names
  // an active backend of its VIP, as many slots each as the model says),
  // backend entries, scheduling lists, count entries and the config.
  std::vector<std::string> verify();
  // Whether the model may differ from the maps: a rollback failed, and so
  // did rebuilding the model from the maps. The next request retries that.
  bool out_of_sync() const { return out_of_sync_; }
  // Increases with every operation that may have changed the model (a
  // request, a health weight change, a recovery): lbd recomputes what it
  // announces (ctl/announce) only when it moved.
  uint64_t generation() const { return generation_; }

  void add_vip(const VipSpec& spec);
  uint64_t del_vip(const Endpoint& vip, uint8_t proto);  // returns flows removed
  // port: the backend's own port (nat and fullnat only), 0 for the VIP's.
  void add_backend(const Endpoint& vip, uint8_t proto, const IpAddr& backend, uint32_t weight,
                   uint16_t port = 0);
  uint64_t del_backend(const Endpoint& vip, uint8_t proto, const BackendRef& backend, bool purge);
  // Weight 0 drains (drain-backend); a removed backend must be added again.
  void set_backend(const Endpoint& vip, uint8_t proto, const BackendRef& backend, uint32_t weight);
  // Deletes the flows of a backend that stays (a health check took it out
  // of the ring, with on_down purge), so their next packets pick a live
  // backend, and returns their connection-count units. Returns the flows
  // deleted. Like a purge, deleted flows are not undone on failure.
  uint64_t purge_flows(const Endpoint& vip, uint8_t proto, const BackendRef& backend);
  // Applies the VIPs, encap, fullnat settings and hash seed; the config's
  // timeouts are the reaper's, which the caller hands over.
  // progress (optional) is called before each of the config's VIPs with
  // (VIPs done, VIPs in all): lbd logs a long apply's progress with it.
  using ApplyProgress = std::function<void(size_t done, size_t total)>;
  ApplyResult apply(const Config& config, const ApplyProgress& progress = {});

  // ---- for the reaper (docs/design.md, "The reaper")
  // The identity of every bound backend id.
  IdentityTable identities() const;
  // Increases each time a backend is removed: a sweep that started at
  // generation g has seen every flow of the backends removed up to g.
  uint64_t removal_generation() const { return removal_gen_; }
  // Frees the backends removed up to `generation` that no flow uses
  // (referenced[backend_id] false after a complete sweep started at that
  // generation): deletes their count entries and entries, releases the ids.
  // Returns one line per backend freed, for the log.
  std::vector<std::string> free_removed(const std::vector<bool>& referenced, uint64_t generation);

  std::vector<VipView> list();  // reads the counts
  // The VIPs without their backends, with their fingerprints: cheap (the
  // ring fingerprints are computed when rings are built).
  std::vector<VipView> fingerprints() const;
  // Reads the VIP's installed ring and the flow table; throws InputError
  // for an unknown VIP or a source of another family.
  PickView pick(const PickQuery& query);
  // Sets the data path's flow-hash seed (xlb_config.hash_seed), keeping
  // everything else: lbd's generated seed (pick/seed.h).
  void set_hash_seed(uint32_t seed);
  StatsView stats();
  FlowsView flows(const FlowQuery& query, uint64_t now_ns);
  uint64_t flow_count();
  // nat VIPs sending to one backend address, port and protocol (their reply
  // tuples can clash): one warning each, for lbd's log and its answers.
  std::vector<std::string> nat_clash_warnings() const;
  // VIPs with more active backends than ring slots (some get none): one
  // warning each, for lbd's log and its answers.
  std::vector<std::string> ring_warnings() const;
  uint32_t flow_table_size() { return io_->flow_table_size(); }

  // What apply() checks in a config before it writes anything (the rules,
  // lbd's own addresses); throws InputError. For `apply --dry-run`.
  void check(const Config& config) const;
  // The config with the sources apply() would fill in where it names none
  // (encap, fullnat), so that it compares with current_config().
  Config with_defaults(const Config& config) const;
  // The interfaces' addresses changed (lbd watches them). The sources that
  // were the old defaults (IPv6 encapsulation, fullnat) become the new
  // defaults, in one write of xlb_config; `local` is replaced. A source
  // whose address is gone with none of its family left is kept. Returns one
  // line per source changed or kept that way, for the log.
  std::vector<std::string> set_interface_addresses(EncapDefaults defaults);
  // The running state as a config (what `apply` of it would keep as is):
  // draining backends with weight 0, removed ones left out.
  Config current_config() const;
  EncapConfig encap() const;
  FullnatConfig fullnat() const;  // sources as in xlb_config (defaults filled in)
  bool nat_flag() const { return config_.flags & XLB_CFG_F_NAT; }
  bool pass_unserved() const { return config_.flags & XLB_CFG_F_PASS_UNSERVED; }
  bool icmp_echo() const { return !(config_.flags & XLB_CFG_F_NO_ICMP_ECHO); }
  // New flows per second per CPU; 0: the flood guard is off.
  uint32_t flood_threshold() const {
    if (config_.flags & XLB_CFG_F_NO_FLOOD_GUARD) return 0;
    return config_.flood_rate ? config_.flood_rate : XLB_FLOOD_DEFAULT_RATE;
  }
  uint32_t hash_seed() const { return config_.hash_seed; }
  // The reaper's settings as last applied, kept in xlb_config so a restart
  // keeps them; the defaults where a field is 0 (never applied) or invalid.
  Timeouts timeouts() const;
  uint32_t reap_interval_ms() const;
  size_t vip_count() const { return vips_.size(); }
  size_t backend_count() const;
  std::vector<IpAddr> backend_addresses() const;  // distinct, all VIPs

  static std::string ring_identity(const IpAddr& addr, uint16_t port);

 private:
  using VipId = std::pair<Endpoint, uint8_t>;
  using BackendKey = std::pair<IpAddr, uint16_t>;  // (address, port)

  struct BackendState {
    uint32_t id = 0;
    uint32_t weight = 0;
    bool in_ring = false;
    bool removed = false;
    uint64_t removed_gen = 0;  // removal_gen_ when removed (or when recover() found it removed)
    uint32_t ring_slots = 0;   // slots of the installed ring holding its id
  };

  struct VipState {
    uint32_t id = 0;
    Endpoint vip;
    uint8_t proto = 0;
    uint8_t sched = XLB_SCHED_MAGLEV;
    uint8_t mode = XLB_MODE_IPIP;
    uint32_t ring_size = 0;
    bool stateless = false;
    std::map<BackendKey, BackendState> backends;
    // The ring itself is not kept (up to 4 MiB a VIP): changes are diffed
    // against what the kernel holds (MapIo::read_ring), and the backends'
    // ring_slots say what it held after the last write.
    std::vector<uint32_t> list;  // what xlb_vip_lists[id] holds (empty: len 0)
    // The installed ring's fingerprint as identities, set with ring_slots
    // each time the ring is built (count_slots): a status request never
    // rehashes a ring of up to 1M slots.
    uint64_t ring_fingerprint = 0;
  };

  // The whole model, as a request found it: what a failed one restores.
  struct Snapshot {
    std::map<VipId, VipState> vips;
    IdAllocator vip_ids{XLB_MAX_VIPS};
    IdAllocator backend_ids{XLB_MAX_BACKENDS};
    xlb_config config{};
    uint64_t removal_gen = 0;
  };
  // Runs a request's writes all-or-nothing (see the top of this file).
  void atomically(const std::function<void()>& op);
  // Rebuilds the model from the maps if an earlier failure left it unsure.
  void ensure_in_sync();

  // Lookups that throw InputError naming what is missing.
  VipState& vip_or_throw(const Endpoint& vip, uint8_t proto);
  const VipState& vip_or_throw(const Endpoint& vip, uint8_t proto) const;
  // The key of the backend `ref` names; throws if none, or if the address
  // alone names several (then the port must be given).
  static BackendKey backend_key_or_throw(const VipState& v, const BackendRef& ref);
  // The stored port of a backend of v: the VIP's own port is stored as 0.
  static uint16_t own_port(const VipState& v, uint16_t port) { return port == v.vip.port ? 0 : port; }

  // Map writers; callers have validated everything.
  // Creates the VIP with the given backends (all active), its ring filled
  // before the VIP becomes visible to the data plane.
  VipState& do_add_vip(const VipSpec& spec, const std::vector<BackendConfig>& backends);
  uint64_t do_del_vip(VipState& v);
  // Sets a backend's weight (0: draining) and clears REMOVED, binding a
  // backend_id (and creating its count entry) if it is new. Writes its
  // xlb_backends entry if anything changed, not the ring or list: the
  // caller syncs those once after all its backend changes (sync_vip).
  // Returns whether anything changed.
  bool upsert_backend(VipState& v, const BackendKey& key, uint32_t weight);
  // Marks a backend REMOVED (out of the ring, draining until freed).
  // Returns false if it already was. The caller syncs.
  bool mark_removed(VipState& v, const BackendKey& key);
  uint64_t do_purge_backend(VipState& v, const BackendKey& key);
  // Deletes the xlb_nat_rev entries of the given backend ids (their flows
  // are gone); nothing for a VIP that does not translate.
  void delete_nat_rev_of(const VipState& v, const std::unordered_set<uint32_t>& ids);
  // Zeroes the identity's counts (through the adjust program), deletes its
  // count entry, clears its backend entry, releases its id and forgets it.
  // Its flows must be gone and it must be out of the ring and list.
  void free_backend(VipState& v, const BackendKey& key);
  void do_resize_ring(VipState& v, uint32_t ring_size);
  void put_meta(const VipState& v);
  void write_backend(const VipState& v, const BackendKey& key, const BackendState& b);
  xlb_backend_key identity(const VipState& v, const BackendKey& key) const;
  std::vector<uint32_t> build_ring(const VipState& v) const;
  std::vector<uint32_t> build_list(const VipState& v) const;  // empty unless a list scheduler
  void sync_ring(VipState& v);  // rebuild, write only the changed slots
  // Installs a new ring built from the model (a new VIP, a new size).
  void install_ring(VipState& v);
  // Sets the backends' ring_slots and the VIP's ring fingerprint from a
  // ring as installed.
  static void count_slots(VipState& v, const std::vector<uint32_t>& ring);
  static VipFingerprint fingerprint(const VipState& v);
  // A VIP's view without its backends: what list() and fingerprints() share.
  static VipView view_head(const VipState& v);
  void sync_list(VipState& v);  // rebuild, write (one update) if it changed
  void sync_vip(VipState& v) {
    sync_ring(v);
    sync_list(v);
  }
  static size_t active_count(const VipState& v);  // backends in the ring
  void update_vip_addr(const IpAddr& addr);
  uint32_t vips_on_addr(const IpAddr& addr) const;
  // policy: the XLB_CFG_F_* bits that follow config settings (policy_flags).
  // flood_threshold: xlb_config.flood_rate (0 with the guard off).
  xlb_config desired_config(const EncapConfig& encap, const FullnatConfig& fullnat, uint32_t hash_seed,
                            bool nat, uint16_t policy = 0, uint32_t flood_threshold = 0) const;
  void write_config(const xlb_config& cfg);
  // Throws unless a VIP in this mode and family can be served with cfg:
  // fullnat needs a source address of the VIP's family.
  static void check_source(uint8_t mode, const Endpoint& vip, uint8_t proto, const xlb_config& cfg);
  bool nat_vips_exist() const;
  // Sets or clears XLB_CFG_F_NAT (one config write, only if it changes).
  void write_nat_flag(bool on);

  std::unique_ptr<MapIo> io_;  // the journal, over the maps
  MapJournal* journal_;        // io_, for begin/commit/rollback
  EncapDefaults defaults_;
  std::map<VipId, VipState> vips_;
  IdAllocator vip_ids_{XLB_MAX_VIPS};
  IdAllocator backend_ids_{XLB_MAX_BACKENDS};
  xlb_config config_{};
  uint64_t removal_gen_ = 0;
  bool out_of_sync_ = false;
  uint64_t generation_ = 0;
};

// The Maglev seed of every ring. Fixed, so rings depend only on the backends
// (LBs of a pool agree); hash_seed is the data plane's flow-hash seed.
constexpr uint32_t kRingSeed = 0;

// Helpers shared by the balancer's files and the tests.
xlb_vip_addr_key make_vip_addr_key(const IpAddr& addr);
xlb_backend make_backend(uint32_t vip_id, const IpAddr& addr, uint16_t port, uint32_t weight,
                         bool in_ring, bool removed = false);
bool config_equal(const xlb_config& a, const xlb_config& b);
// The xlb_config flags a config's settings ask for (XLB_CFG_F_NAT aside).
uint16_t policy_flags(const Config& config);
// Stores the reaper's settings in xlb_config's user-space-only fields.
void set_reaper_settings(xlb_config& cfg, const Timeouts& timeouts, uint32_t reap_interval_ms);

}  // namespace xlb
