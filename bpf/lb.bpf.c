// placeholder: replaced by the real program
#include "lib/maps.h"
SEC("xdp") int xlb_lb(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "Dual BSD/GPL";
