// What xlb_lb needs from the kernel, each with the Linux release that first
// had it, probed with libbpf's feature probes (each loads a tiny program or
// creates a tiny map). lbd checks them before loading its program, so an old
// kernel gets "needs Linux 5.14 (BPF_PROG_TYPE_SYSCALL ...)" instead of a
// verifier log; `lbd --check-kernel` prints the whole list.
//
// The newest need sets the minimum: Linux 5.14, for the syscall program
// (xlb_conn_adjust) that is lbd's only writer of connection counts. Kernel
// BTF (/sys/kernel/btf/vmlinux) is not needed: the object uses no CO-RE
// relocations, and the BTF that global functions and maps need is in the
// object itself. docs/operations.md, "Kernel", says the same for operators.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace xlb {

struct KernelFeature {
  std::string what;   // what the data path uses, and for what
  std::string since;  // the first Linux release with it, e.g. "5.14"
  std::function<bool()> present;
};

// The features xlb_lb and xlb_conn_adjust use, with libbpf probes (need
// root, as loading does).
std::vector<KernelFeature> data_path_features();

// The missing ones as "what (Linux since)", in the order given.
std::vector<std::string> missing_features(const std::vector<KernelFeature>& features);

// Throws SystemError naming every missing feature and the minimum release.
void require_kernel_features(const std::vector<KernelFeature>& features);

// One line per feature ("ok" or "MISSING"), for `lbd --check-kernel`.
std::string kernel_features_report(const std::vector<KernelFeature>& features);

}  // namespace xlb
