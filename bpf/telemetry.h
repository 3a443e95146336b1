/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Data-plane telemetry, updated by XDP only (it sees both directions once): per-CPU host
 * counters, per-flow counters with TCP retransmit and FIN/RST tracking, and passive TCP RTT from
 * the timestamps option delivered through the ring buffer.
 *
 * RTT: a packet in direction d carrying TSval v records (v, now) when nothing is outstanding for
 * d and at least SLUICE_RTT_INTERVAL_NS passed since the last record or sample of d (an
 * outstanding record older than SLUICE_RTT_STALE_NS is replaced: its echo was lost). A packet in
 * the other direction whose TSecr equals the recorded v yields one sample of now - recorded time.
 * Samples of one direction are therefore at least SLUICE_RTT_INTERVAL_NS apart.
 */
#ifndef SLUICE_BPF_TELEMETRY_H
#define SLUICE_BPF_TELEMETRY_H

#include "maps.h"
#include "parse.h"

#define SLUICE_RTT_INTERVAL_NS (100ULL * 1000 * 1000)
#define SLUICE_RTT_STALE_NS (1000ULL * 1000 * 1000)
#define SLUICE_FLOW_UNKNOWN 0x8u /* flow's cached mapping is a negative result */

static __always_inline __u32 proto_bucket(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return SLUICE_PROTO_TCP;
	case IPPROTO_UDP:
		return SLUICE_PROTO_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return SLUICE_PROTO_ICMP;
	default:
		return SLUICE_PROTO_OTHER;
	}
}

/*
 * Host counters: through the mapping's slot (an inlined per-CPU array access) when it has one,
 * else the per-address LRU (unknown hosts, hosts inside a wider prefix). `circuit` is
 * SLUICE_CIRCUIT_NONE for unknown hosts.
 */
static __always_inline void account_host(const __u8 *addr, __u32 slot, int dir, __u8 proto,
					 __u64 len, __u32 circuit, __u64 now)
{
	struct sluice_host_counters *hc = NULL;
	__u32 d = dir & 1, p = proto_bucket(proto) & 3;

	if (slot != SLUICE_SLOT_NONE) {
		struct sluice_host_slot *hs = bpf_map_lookup_elem(&sluice_host_slots, &slot);

		if (hs)
			hc = &hs->counters;
	}
	if (!hc) {
		hc = bpf_map_lookup_elem(&sluice_hosts, addr);
		if (!hc) {
			struct sluice_host_counters fresh = {};

			bpf_map_update_elem(&sluice_hosts, addr, &fresh, BPF_NOEXIST);
			hc = bpf_map_lookup_elem(&sluice_hosts, addr);
			if (!hc)
				return;
		}
	}
	/* Per-CPU value: plain increments are exact. */
	hc->bytes[d] += len;
	hc->packets[d] += 1;
	hc->proto_packets[p][d] += 1;
	hc->last_seen_ns = now;
	hc->circuit = circuit;
}

static __always_inline void rtt_track(struct sluice_flow *flow, const struct sluice_flow_key *key,
				      const struct sluice_pkt *pkt, int dir, __u64 now)
{
	__u32 d = dir & 1, r = d ^ 1;

	if (flow->tsval[r] && pkt->tsecr == flow->tsval[r]) {
		struct sluice_rtt_event ev = {};

		ev.key = *key;
		ev.rtt_ns = now - flow->tsval_ns[r];
		ev.time_ns = now;
		ev.direction = r;
		ev.circuit = flow->mapping.circuit;
		flow->tsval[r] = 0;
		flow->tsval_ns[r] = now;
		if (bpf_ringbuf_output(&sluice_rtt, &ev, sizeof(ev), 0))
			stat_inc(SLUICE_STAT_RTT_DROPPED);
		else
			stat_inc(SLUICE_STAT_RTT_SAMPLE);
	}
	if (!pkt->tsval)
		return;
	if ((!flow->tsval[d] && now - flow->tsval_ns[d] >= SLUICE_RTT_INTERVAL_NS) ||
	    (flow->tsval[d] && now - flow->tsval_ns[d] >= SLUICE_RTT_STALE_NS)) {
		flow->tsval[d] = pkt->tsval;
		flow->tsval_ns[d] = now;
	}
}

static __always_inline void account_flow(struct sluice_flow *flow,
					 const struct sluice_flow_key *key,
					 const struct sluice_pkt *pkt, int dir, __u64 len, __u64 now)
{
	__u32 d = dir & 1;

	/*
	 * Plain increments: one direction of a flow arrives on one rx queue (RSS hashes the
	 * 5-tuple), so each bytes[d]/packets[d] has a single writer. Atomics cost ~2x here.
	 */
	flow->bytes[d] += len;
	flow->packets[d] += 1;
	flow->last_ns = now;
	if (pkt->proto != IPPROTO_TCP || (pkt->flags & SLUICE_PKT_FRAGMENT))
		return;
	if (pkt->flags & SLUICE_PKT_TCP_FIN)
		flow->flags |= d == SLUICE_DIR_DOWN ? SLUICE_FLOW_FIN_DOWN : SLUICE_FLOW_FIN_UP;
	if (pkt->flags & SLUICE_PKT_TCP_RST)
		flow->flags |= SLUICE_FLOW_RST;
	if (pkt->payload_len) {
		__u32 end = pkt->seq + pkt->payload_len;
		__u32 next = flow->next_seq[d];

		/* Data that ends at or below what was already seen is a retransmission. */
		if (next && (__s32)(end - next) <= 0) {
			flow->retransmits[d] += 1;
			stat_inc(SLUICE_STAT_RETRANSMIT);
		} else {
			flow->next_seq[d] = end;
		}
	}
	/* RTT needs the precise clock; counters make do with the coarse one. */
	if (pkt->flags & SLUICE_PKT_HAS_TS)
		rtt_track(flow, key, pkt, dir, bpf_ktime_get_ns());
}

#endif /* SLUICE_BPF_TELEMETRY_H */
