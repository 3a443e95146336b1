// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Sluice data plane: one object, two programs sharing the maps of maps.h.
 *
 * sluice_xdp (XDP, every shaped interface): dissect, find the subscriber's mapping through
 * flow table -> hot cache -> LPM (each step epoch-checked), count, write struct
 * sluice_xdp_meta in front of the packet (where the kernel allows bpf_xdp_adjust_meta,
 * cfg_xdp_meta) and redirect it through the cpumap to its queue's CPU.
 *
 * sluice_tc (cls_bpf direct action, egress of every shaped interface): skb->priority = classid
 * and skb->queue_mapping = HTB major, from the metadata when XDP left it, else by repeating the
 * lookup. With XPS off, the stack transmits on queue queue_mapping - 1, i.e. the mq child that
 * holds HTB major queue_mapping (DESIGN §1).
 */
#include "lookup.h"
#include "telemetry.h"

#include <linux/pkt_cls.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct sluice_config *load_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sluice_config, &zero);
}

/*
 * Makes room for the metadata block unless the area already holds one (the test-run harness
 * reuses its buffer across repeats, DESIGN §5) and returns it, or NULL when the driver refuses.
 */
static __always_inline struct sluice_xdp_meta *xdp_meta(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *meta = (void *)(long)ctx->data_meta;
	struct sluice_xdp_meta *m;

	if (meta + sizeof(*m) > data) {
		if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
			return NULL;
		data = (void *)(long)ctx->data;
		meta = (void *)(long)ctx->data_meta;
	}
	m = meta;
	if ((void *)(m + 1) > data)
		return NULL;
	return m;
}

static __always_inline void trace_decision(const struct sluice_class *cls)
{
	__u32 zero = 0;
	struct sluice_xdp_meta *t = bpf_map_lookup_elem(&sluice_xdp_trace, &zero);

	if (t) {
		t->magic = SLUICE_META_MAGIC;
		t->classid = cls->classid;
		t->cpu = cls->cpu;
		t->flags = cls->flags;
	}
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sluice_flow_key fkey = {};
	struct sluice_mapping mapping = {};
	struct sluice_pkt pkt = {};
	struct sluice_class cls;
	struct sluice_config *cfg;
	struct sluice_flow *flow = NULL;
	struct sluice_xdp_meta *meta;
	__u64 len = data_end - data;
	__u64 now;
	__u32 epoch;
	__u8 *sub;
	int dir, rc, known;

	stat_inc(SLUICE_STAT_XDP_PACKETS);
	cfg = load_config();
	if (!cfg || (cfg->flags & SLUICE_CFG_BYPASS)) {
		stat_inc(SLUICE_STAT_XDP_BYPASS);
		return XDP_PASS;
	}
	rc = sluice_parse(data, data_end, 0, &pkt);
	if (rc == SLUICE_PARSE_NOT_IP) {
		stat_inc(SLUICE_STAT_NOT_IP);
		return XDP_PASS;
	}
	if (rc != SLUICE_PARSE_OK) {
		stat_inc(SLUICE_STAT_MALFORMED);
		return XDP_PASS;
	}
	dir = ingress_direction(ctx->ingress_ifindex, pkt.vlan);
	if (dir == SLUICE_NO_DIRECTION) {
		stat_inc(SLUICE_STAT_NO_DIRECTION);
		return XDP_PASS;
	}
	if (pkt.flags & SLUICE_PKT_FRAGMENT)
		stat_inc(SLUICE_STAT_FRAGMENT);
	sub = dir == SLUICE_DIR_DOWN ? pkt.dst : pkt.src;
	epoch = current_epoch();
	now = bpf_ktime_get_coarse_ns();

	known = -1;
	if (!(cfg->flags & SLUICE_CFG_NO_FLOWS)) {
		build_flow_key(&pkt, dir, &fkey);
		flow = bpf_map_lookup_elem(&sluice_flows, &fkey);
		if (flow && flow->epoch == epoch) {
			stat_inc(SLUICE_STAT_FLOW_HIT);
			mapping = flow->mapping;
			known = !(flow->flags & SLUICE_FLOW_UNKNOWN);
		}
	}
	if (known < 0) {
		known = lookup_address(sub, epoch, cfg->flags, &mapping);
		if (flow) {
			flow->mapping = mapping;
			flow->epoch = epoch;
			if (known)
				flow->flags &= ~SLUICE_FLOW_UNKNOWN;
			else
				flow->flags |= SLUICE_FLOW_UNKNOWN;
		} else if (!(cfg->flags & SLUICE_CFG_NO_FLOWS)) {
			struct sluice_flow fresh = {};

			fresh.mapping = mapping;
			fresh.epoch = epoch;
			fresh.flags = known ? 0 : SLUICE_FLOW_UNKNOWN;
			fresh.start_ns = now;
			bpf_map_update_elem(&sluice_flows, &fkey, &fresh, BPF_NOEXIST);
			flow = bpf_map_lookup_elem(&sluice_flows, &fkey);
		}
	}
	resolve_class(&mapping, known, dir, sub, cfg, &cls);

	account_host(sub, known ? mapping.slot : SLUICE_SLOT_NONE, dir, pkt.proto, len,
		     known ? mapping.circuit : SLUICE_CIRCUIT_NONE, now);
	if (flow)
		account_flow(flow, &fkey, &pkt, dir, len, now);

	if (cfg_xdp_meta) {
		meta = xdp_meta(ctx);
		if (meta) {
			meta->magic = SLUICE_META_MAGIC;
			meta->classid = cls.classid;
			meta->cpu = cls.cpu;
			meta->flags = cls.flags;
		} else {
			stat_inc(SLUICE_STAT_META_FAILED);
		}
	}
	if (cfg_xdp_trace)
		trace_decision(&cls);
	if (!cfg_cpu_redirect)
		return XDP_PASS;
	stat_inc(SLUICE_STAT_REDIRECT);
	return bpf_redirect_map(&sluice_cpus, cls.cpu, XDP_PASS);
}

SEC("tc")
int sluice_tc(struct __sk_buff *skb)
{
	struct sluice_mapping mapping = {};
	struct sluice_pkt pkt = {};
	struct sluice_xdp_meta *meta;
	struct sluice_config *cfg;
	struct sluice_flow_key fkey = {};
	struct sluice_flow *flow;
	struct sluice_class cls;
	void *data, *data_end;
	__u32 epoch;
	__u8 *sub;
	int dir, known;

	stat_inc(SLUICE_STAT_TC_PACKETS);
	cfg = load_config();
	if (!cfg || (cfg->flags & SLUICE_CFG_BYPASS)) {
		stat_inc(SLUICE_STAT_TC_BYPASS);
		return TC_ACT_OK;
	}
	data = (void *)(long)skb->data;
	meta = (void *)(long)skb->data_meta;
	if ((void *)(meta + 1) <= data && meta->magic == SLUICE_META_MAGIC) {
		skb->priority = meta->classid;
		skb->queue_mapping = meta->classid >> 16;
		stat_inc(SLUICE_STAT_TC_FROM_META);
		return TC_ACT_OK;
	}

	/* No metadata (generic XDP, locally generated traffic): repeat the lookup. */
	if (skb->data_end - skb->data < 128 && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (sluice_parse(data, data_end, skb->vlan_present ? skb->vlan_tci & 0x0fff : 0, &pkt)) {
		stat_inc(SLUICE_STAT_TC_UNCLASSIFIED);
		return TC_ACT_OK;
	}
	dir = egress_direction(skb->ifindex, pkt.vlan);
	if (dir == SLUICE_NO_DIRECTION) {
		stat_inc(SLUICE_STAT_TC_UNCLASSIFIED);
		return TC_ACT_OK;
	}
	sub = dir == SLUICE_DIR_DOWN ? pkt.dst : pkt.src;
	epoch = current_epoch();
	known = -1;
	if (!(cfg->flags & SLUICE_CFG_NO_FLOWS)) {
		build_flow_key(&pkt, dir, &fkey);
		flow = bpf_map_lookup_elem(&sluice_flows, &fkey);
		if (flow && flow->epoch == epoch) {
			mapping = flow->mapping;
			known = !(flow->flags & SLUICE_FLOW_UNKNOWN);
		}
	}
	if (known < 0)
		known = lookup_address(sub, epoch, cfg->flags, &mapping);
	resolve_class(&mapping, known, dir, sub, cfg, &cls);
	skb->priority = cls.classid;
	skb->queue_mapping = cls.classid >> 16;
	stat_inc(SLUICE_STAT_TC_FROM_LOOKUP);
	return TC_ACT_OK;
}

/*
 * The bridge without a Linux bridge (lqos.conf use_xdp_bridge = true): attached to the ingress of
 * both ports, it sends every frame that arrives on one port (after the XDP classifier and the
 * cpumap) out of the other, where sluice_tc classifies it into the HTB tree on egress.
 */
SEC("tc")
int sluice_tc_bridge(struct __sk_buff *skb)
{
	if (!cfg_xdp_bridge || cfg_on_a_stick)
		return TC_ACT_OK;
	if (skb->ifindex == cfg_internet_ifindex)
		return bpf_redirect(cfg_network_ifindex, 0);
	if (skb->ifindex == cfg_network_ifindex)
		return bpf_redirect(cfg_internet_ifindex, 0);
	return TC_ACT_OK;
}

/* Trivial program: the baseline of the ns/packet benchmark, loaded from the same object. */
SEC("xdp")
int sluice_xdp_pass(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}
