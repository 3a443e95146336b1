/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Maps and load-time parameters of the data plane. Layouts come from abi/sluice_abi.h; sizes
 * given here are defaults that userspace overrides before load (the cpumap always, from
 * libbpf_num_possible_cpus()). Every map except the ring buffer is pinned by name so that a
 * restarted daemon finds the state the attached programs are using.
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi/sluice_abi.h"

/* Load-time parameters, set through the skeleton's rodata before load. */
const volatile __u32 cfg_internet_ifindex = 0; /* bridge: Internet-facing port */
const volatile __u32 cfg_network_ifindex = 0;  /* bridge: subscriber-facing port */
const volatile __u32 cfg_on_a_stick = 0;       /* 1: direction by VLAN on one interface */
const volatile __u32 cfg_internet_vlan = 0;
const volatile __u32 cfg_network_vlan = 0;
const volatile __u32 cfg_cpu_redirect = 1;     /* 0: XDP_PASS instead of the cpumap */
const volatile __u32 cfg_xdp_bridge = 0;       /* 1: sluice_tc_bridge forwards between the ports */
/*
 * 1: XDP writes struct sluice_xdp_meta for tc. 0 where the kernel or driver refuses
 * bpf_xdp_adjust_meta: the verifier then prunes the call (this rodata is frozen before the load),
 * and tc repeats the lookup for every packet.
 */
const volatile __u32 cfg_xdp_meta = 1;
/* 1: XDP also records its decision in sluice_xdp_trace (tests of the metadata-less mode only). */
const volatile __u32 cfg_xdp_trace = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sluice_lpm_key);
	__type(value, struct sluice_mapping);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_lpm SEC(".maps");

/*
 * The one-address prefixes of sluice_lpm (/32, /128) again, by exact address: a host route is
 * the longest match there can be, so a hit here is the LPM's answer for one hash lookup instead
 * of a walk down the trie (~17 levels at 100k prefixes, mostly cache misses for a new host).
 * Written and deleted by the map writer together with the LPM, before the epoch bump.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sluice_addr);
	__type(value, struct sluice_mapping);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_host_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sluice_addr);
	__type(value, struct sluice_hot_entry);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_hot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_flow);
	__uint(max_entries, 262144);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sluice_epoch);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_epoch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sluice_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_config SEC(".maps");

/* Per-address host counters of hosts without a slot (unknown, inside a wider prefix). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, struct sluice_addr);
	__type(value, struct sluice_host_counters);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_hosts SEC(".maps");

/*
 * Host counters of hosts whose mapping carries a slot (one-address prefixes): a per-CPU array
 * indexed by sluice_mapping.slot, so counting costs an inlined array access instead of a hash
 * lookup. Slot 0 is the descriptor (abi/sluice_abi.h). Userspace sets the capacity.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sluice_host_slot);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_host_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SLUICE_STAT_SLOTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
	__uint(max_entries, 1); /* userspace: libbpf_num_possible_cpus() */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_cpus SEC(".maps");

/*
 * The last XDP decision (classid, CPU, flags) when cfg_xdp_trace is set, so that a test can check
 * it without metadata. Not pinned, and never written in production (the verifier prunes it).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sluice_xdp_meta);
	__uint(max_entries, 1);
} sluice_xdp_trace SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} sluice_rtt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sluice_abi_info);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_abi SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&sluice_stats, &idx);

	if (v)
		*v += 1;
}

#endif /* SLUICE_BPF_MAPS_H */
