// placeholder: replaced by the real program
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int xlb_decap(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "Dual BSD/GPL";
