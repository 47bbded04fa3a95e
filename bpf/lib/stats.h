/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU packet and byte counters: no atomics, summed by lbd on read. */
#ifndef XLB_BPF_STATS_H
#define XLB_BPF_STATS_H

#include "maps.h"

static __always_inline void xlb_count(void *map, __u32 index, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(map, &index);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void xlb_count_stat(enum xlb_stat stat, __u64 bytes)
{
	xlb_count(&xlb_gstats, stat, bytes);
}

#endif /* XLB_BPF_STATS_H */
