/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Classification shared by XDP and tc: direction, subscriber address, the epoch-checked
 * hot cache -> LPM pipeline, and the mapping -> (classid, cpu) rule including the default class
 * of a hashed queue for unknown addresses. The flow-table step lives with the caller, which
 * owns the flow entry (XDP updates it, tc only reads it).
 */
#ifndef SLUICE_BPF_LOOKUP_H
#define SLUICE_BPF_LOOKUP_H

#include "maps.h"
#include "parse.h"

#define SLUICE_NO_DIRECTION -1

/* Direction of a packet received on `ifindex` (XDP ingress). */
static __always_inline int ingress_direction(__u32 ifindex, __u16 vlan)
{
	if (cfg_on_a_stick) {
		if (vlan == cfg_internet_vlan)
			return SLUICE_DIR_DOWN;
		if (vlan == cfg_network_vlan)
			return SLUICE_DIR_UP;
		return SLUICE_NO_DIRECTION;
	}
	if (ifindex == cfg_internet_ifindex)
		return SLUICE_DIR_DOWN;
	if (ifindex == cfg_network_ifindex)
		return SLUICE_DIR_UP;
	return SLUICE_NO_DIRECTION;
}

/* Direction of a packet leaving through `ifindex` (tc egress): the mirror of ingress. */
static __always_inline int egress_direction(__u32 ifindex, __u16 vlan)
{
	if (cfg_on_a_stick) {
		if (vlan == cfg_network_vlan)
			return SLUICE_DIR_DOWN;
		if (vlan == cfg_internet_vlan)
			return SLUICE_DIR_UP;
		return SLUICE_NO_DIRECTION;
	}
	if (ifindex == cfg_network_ifindex)
		return SLUICE_DIR_DOWN;
	if (ifindex == cfg_internet_ifindex)
		return SLUICE_DIR_UP;
	return SLUICE_NO_DIRECTION;
}

static __always_inline __u32 current_epoch(void)
{
	__u32 zero = 0;
	struct sluice_epoch *e = bpf_map_lookup_elem(&sluice_epoch, &zero);

	return e ? e->epoch : 0;
}

static __always_inline void build_flow_key(const struct sluice_pkt *pkt, int dir,
					   struct sluice_flow_key *key)
{
	if (dir == SLUICE_DIR_DOWN) {
		__builtin_memcpy(key->local, pkt->dst, 16);
		__builtin_memcpy(key->remote, pkt->src, 16);
		key->local_port = pkt->dport;
		key->remote_port = pkt->sport;
	} else {
		__builtin_memcpy(key->local, pkt->src, 16);
		__builtin_memcpy(key->remote, pkt->dst, 16);
		key->local_port = pkt->sport;
		key->remote_port = pkt->dport;
	}
	key->proto = pkt->proto;
}

/*
 * The exact host routes, then the hot cache, then the LPM trie (LPM_HIT counts a mapping found
 * by the host routes or the trie). Fills `out` and returns 1 for a known address, 0 for an
 * unknown one. A host route is one hash lookup, as a hot-cache hit is, so it is neither looked
 * up in nor copied into the hot cache: that saves the first packet of a /32 host its LRU insert.
 * Cache entries made under another epoch read as a miss and are overwritten.
 */
static __always_inline int lookup_address(const __u8 *addr, __u32 epoch, __u32 cfg_flags,
					  struct sluice_mapping *out)
{
	struct sluice_lpm_key lkey = { .prefixlen = 128 };
	struct sluice_hot_entry fresh = {};
	struct sluice_hot_entry *hot;
	struct sluice_mapping *m;
	int use_hot = !(cfg_flags & SLUICE_CFG_NO_HOT_CACHE);

	m = bpf_map_lookup_elem(&sluice_host_routes, addr);
	if (m) {
		stat_inc(SLUICE_STAT_LPM_HIT);
		*out = *m;
		return 1;
	}
	if (use_hot) {
		hot = bpf_map_lookup_elem(&sluice_hot, addr);
		if (hot && hot->epoch == epoch) {
			if (hot->flags & SLUICE_HOT_NEGATIVE) {
				stat_inc(SLUICE_STAT_HOT_NEGATIVE_HIT);
				return 0;
			}
			stat_inc(SLUICE_STAT_HOT_HIT);
			*out = hot->mapping;
			return 1;
		}
	}
	__builtin_memcpy(lkey.addr, addr, 16);
	m = bpf_map_lookup_elem(&sluice_lpm, &lkey);
	if (m) {
		stat_inc(SLUICE_STAT_LPM_HIT);
		fresh.mapping = *m;
	} else {
		stat_inc(SLUICE_STAT_LPM_MISS);
		fresh.mapping.circuit = SLUICE_CIRCUIT_NONE;
		fresh.flags = SLUICE_HOT_NEGATIVE;
	}
	fresh.epoch = epoch;
	if (use_hot)
		bpf_map_update_elem(&sluice_hot, addr, &fresh, BPF_ANY);
	*out = fresh.mapping;
	return m != NULL;
}

/* Result of classification: the HTB classid (major = queue_mapping) and the CPU to steer to. */
struct sluice_class {
	__u32 classid;
	__u32 cpu;
	__u32 flags; /* SLUICE_META_* */
};

static __always_inline void resolve_class(const struct sluice_mapping *m, int known, int dir,
					  const __u8 *addr, const struct sluice_config *cfg,
					  struct sluice_class *out)
{
	const __u32 *w = (const __u32 *)addr;
	__u32 queues = cfg->queue_count, queue, hash, major;

	if (known) {
		out->classid = dir == SLUICE_DIR_DOWN ? m->classid_down : m->classid_up;
		out->cpu = m->cpu;
		out->flags = 0;
		return;
	}
	/* Unknown address: default class M:2 of a queue chosen by address hash. */
	if (queues == 0 || queues > SLUICE_MAX_QUEUES)
		queues = 1;
	hash = (w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9e3779b1u;
	queue = (hash >> 16) % queues;
	/* Keep the verifier's bound: the compiler would drop a mask it can prove redundant. */
	asm volatile("" : "+r"(queue));
	queue &= SLUICE_MAX_QUEUES - 1;
	major = queue + 1;
	if (cfg_on_a_stick && dir == SLUICE_DIR_UP)
		major += queues;
	out->classid = (major << 16) | SLUICE_DEFAULT_MINOR;
	out->cpu = cfg->queue_cpu[queue];
	out->flags = SLUICE_META_DEFAULT;
	stat_inc(SLUICE_STAT_DEFAULT_CLASS);
}

#endif /* SLUICE_BPF_LOOKUP_H */
