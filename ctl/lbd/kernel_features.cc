#include "kernel_features.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "core/error.h"

namespace xlb {

namespace {

// libbpf's probes answer 1 (supported), 0 (not) or a negative error (could
// not tell, e.g. without privileges): only 1 counts as present.
std::function<bool()> prog_type(bpf_prog_type t) { return [t] { return libbpf_probe_bpf_prog_type(t, nullptr) == 1; }; }
std::function<bool()> map_type(bpf_map_type t) { return [t] { return libbpf_probe_bpf_map_type(t, nullptr) == 1; }; }
std::function<bool()> xdp_helper(bpf_func_id f) {
  return [f] { return libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, f, nullptr) == 1; };
}

}  // namespace

std::vector<KernelFeature> data_path_features() {
  return {
      {"XDP programs", "4.8", prog_type(BPF_PROG_TYPE_XDP)},
      {"LRU hash maps (the flow table)", "4.10", map_type(BPF_MAP_TYPE_LRU_HASH)},
      {"array-of-maps (the Maglev rings)", "4.12", map_type(BPF_MAP_TYPE_ARRAY_OF_MAPS)},
      {"bpf_fib_lookup in XDP (next hops)", "4.18", xdp_helper(BPF_FUNC_fib_lookup)},
      {"DEVMAP_HASH (egress devices)", "5.4", map_type(BPF_MAP_TYPE_DEVMAP_HASH)},
      {"bpf_ktime_get_coarse_ns in XDP (flow timestamps)", "5.11", xdp_helper(BPF_FUNC_ktime_get_coarse_ns)},
      {"BPF_PROG_TYPE_SYSCALL (xlb_conn_adjust, the count writer)", "5.14", prog_type(BPF_PROG_TYPE_SYSCALL)},
  };
}

std::vector<std::string> missing_features(const std::vector<KernelFeature>& features) {
  std::vector<std::string> out;
  for (const auto& f : features)
    if (!f.present()) out.push_back(f.what + " (Linux " + f.since + ")");
  return out;
}

void require_kernel_features(const std::vector<KernelFeature>& features) {
  std::vector<std::string> missing = missing_features(features);
  if (missing.empty()) return;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  throw SystemError("this kernel lacks what xlb_lb needs: " + list +
                    "; xlb needs Linux 5.14 or newer (docs/operations.md, \"Kernel\")");
}

std::string kernel_features_report(const std::vector<KernelFeature>& features) {
  std::string out;
  for (const auto& f : features)
    out += std::string(f.present() ? "ok       " : "MISSING  ") + f.what + " (Linux " + f.since + ")\n";
  return out;
}

}  // namespace xlb
