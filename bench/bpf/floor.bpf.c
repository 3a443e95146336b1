// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of a flow hit, for bench_dataplane: the least a classifier that keeps a flow table
 * can do per packet. floor_flow_hit reads Ethernet + IPv4 (no options) + TCP ports at fixed
 * offsets, builds the flow key in Sluice's layout (struct sluice_flow_key, v4-mapped addresses,
 * subscriber = destination), makes one lookup in an LRU hash of the same key and value layout as
 * sluice_flows, adds one to a packet counter of the entry it finds, and redirects into a cpumap
 * entry. No VLAN, PPPoE or IPv6 dissection, no epoch, clock, host counter, statistic or TCP
 * tracking: every flow hit of sluice_xdp does all of this and more, so its cost is a lower bound
 * for any design that finds the flow with one hash-map lookup.
 *
 * floor_flow_slot is the same with the hash map replaced by a direct-mapped array: a
 * multiplicative hash of the key's five 8-byte words picks one slot of an array map (whose
 * lookup the verifier inlines), and the slot's stored key is compared with the packet's (a
 * different key takes the slot over, so the first repeat fills it and the rest hit). It
 * bounds from below what a design without a hash-map lookup on a flow hit could reach (such a
 * design would still have to handle two flows in one slot and both directions of a flow on
 * different CPUs, which this floor ignores).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi/sluice_abi.h"

const volatile __u32 floor_cpu = 1;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_flow);
	__uint(max_entries, 262144); /* sluice_flows' default capacity */
} floor_flows SEC(".maps");

#define FLOOR_SLOTS (1u << 18)

struct floor_slot {
	struct sluice_flow_key key;
	struct sluice_flow flow;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct floor_slot);
	__uint(max_entries, FLOOR_SLOTS);
} floor_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64); /* userspace: libbpf_num_possible_cpus() */
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} floor_cpus SEC(".maps");

/* Fills `key` from an Ethernet + IPv4 + TCP frame; 0 when the frame is something else. */
static __always_inline int floor_key(struct xdp_md *ctx, struct sluice_flow_key *key)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);

	if ((void *)(tcp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
		return 0;
	key->local[10] = 0xff;
	key->local[11] = 0xff;
	__builtin_memcpy(&key->local[12], &ip->daddr, 4);
	key->remote[10] = 0xff;
	key->remote[11] = 0xff;
	__builtin_memcpy(&key->remote[12], &ip->saddr, 4);
	key->local_port = bpf_ntohs(tcp->dest);
	key->remote_port = bpf_ntohs(tcp->source);
	key->proto = IPPROTO_TCP;
	return 1;
}

SEC("xdp")
int floor_flow_hit(struct xdp_md *ctx)
{
	struct sluice_flow_key key = {};
	struct sluice_flow *flow;

	if (!floor_key(ctx, &key))
		return XDP_PASS;
	flow = bpf_map_lookup_elem(&floor_flows, &key);
	if (!flow)
		return XDP_PASS;
	flow->packets[SLUICE_DIR_DOWN] += 1;
	return bpf_redirect_map(&floor_cpus, floor_cpu, XDP_PASS);
}

/* Multiplicative hashing (Knuth, TAOCP vol. 3, 6.4) of the key's five 8-byte words. */
static __always_inline __u32 floor_slot_of(const struct sluice_flow_key *key)
{
	const __u64 *w = (const __u64 *)key;
	__u64 h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull) ^ (w[2] * 0xc2b2ae3d27d4eb4full) ^
		   (w[3] * 0x165667b19e3779f9ull) ^ (w[4] * 0x27d4eb2f165667c5ull)) *
		  0x9e3779b97f4a7c15ull;

	return (__u32)(h >> 46); /* the top 18 bits: FLOOR_SLOTS */
}

SEC("xdp")
int floor_flow_slot(struct xdp_md *ctx)
{
	struct sluice_flow_key key = {};
	struct floor_slot *slot;
	const __u64 *a, *b;
	__u32 index;

	if (!floor_key(ctx, &key))
		return XDP_PASS;
	index = floor_slot_of(&key);
	slot = bpf_map_lookup_elem(&floor_slots, &index);
	if (!slot)
		return XDP_PASS;
	a = (const __u64 *)&key;
	b = (const __u64 *)&slot->key;
	if (((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) != 0) {
		/* A new flow, or another one in this slot: take the slot over. */
		__builtin_memset(&slot->flow, 0, sizeof(slot->flow));
		slot->key = key;
	}
	slot->flow.packets[SLUICE_DIR_DOWN] += 1;
	return bpf_redirect_map(&floor_cpus, floor_cpu, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
