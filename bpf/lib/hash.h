/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow hash: the data plane's view of include/xlb/flow_hash.h, which holds
 * the functions (lookup3 over the flow key, the client-address hash of
 * src-hash, the probe sequence) so that lbd computes the same values.
 */
#ifndef XLB_BPF_HASH_H
#define XLB_BPF_HASH_H

#include "xlb/flow_hash.h"

#endif /* XLB_BPF_HASH_H */
