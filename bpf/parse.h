/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Packet dissector shared by the XDP and tc programs. Works on a [data, data_end) window and a
 * cursor that is bounds-checked before every header access. Layers, outermost first:
 *
 *   Ethernet ─► 802.1Q / 802.1ad tags (up to SLUICE_MAX_VLANS, the innermost id wins)
 *            ─► PPPoE session (PPP IPv4 0x0021 / IPv6 0x0057) | MPLS stack (up to 8 labels)
 *            ─► IPv4 (options, fragments) | IPv6 (up to SLUICE_MAX_EXT_HDRS extension headers)
 *            ─► TCP (timestamps option) | UDP | ICMP | ICMPv6
 */
#ifndef SLUICE_BPF_PARSE_H
#define SLUICE_BPF_PARSE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define SLUICE_MAX_VLANS 3
#define SLUICE_MAX_MPLS 8
#define SLUICE_MAX_EXT_HDRS 6
#define SLUICE_MAX_TCP_OPT_BYTES 40
#define SLUICE_MAX_TCP_OPTS 10 /* options examined before giving up on a timestamp */

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define SLUICE_ETH_P_QINQ_OLD 0x9100
#define SLUICE_ETH_P_PPP_SES 0x8864
#define SLUICE_ETH_P_MPLS_UC 0x8847
#define SLUICE_ETH_P_MPLS_MC 0x8848
#define SLUICE_PPP_IPV4 0x0021
#define SLUICE_PPP_IPV6 0x0057

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

enum sluice_parse_result {
	SLUICE_PARSE_OK = 0,
	SLUICE_PARSE_NOT_IP,
	SLUICE_PARSE_MALFORMED,
};

#define SLUICE_PKT_FRAGMENT 0x1  /* a non-first fragment: no L4 header */
#define SLUICE_PKT_HAS_TS 0x2    /* TCP timestamps option present */
#define SLUICE_PKT_TCP_SYN 0x4
#define SLUICE_PKT_TCP_FIN 0x8
#define SLUICE_PKT_TCP_RST 0x10

struct sluice_pkt {
	__u8 src[16]; /* v4-mapped for IPv4 */
	__u8 dst[16];
	__u16 sport;  /* host byte order */
	__u16 dport;
	__u16 vlan;   /* innermost VLAN id, 0 = untagged */
	__u8 proto;
	__u8 flags;   /* SLUICE_PKT_* */
	__u32 seq;    /* TCP, host byte order */
	__u32 payload_len; /* TCP payload bytes (for sequence tracking) */
	__u32 tsval;  /* TCP timestamps, host byte order */
	__u32 tsecr;
};

struct sluice_cursor {
	void *start;
	void *pos;
	void *end;
};

/* Deepest header offset the dissector follows; deeper packets are passed as malformed. */
#define SLUICE_MAX_HDR_OFFSET 1024

/*
 * Turns the cursor's offset into one bounded variable. Without this every combination of tag
 * count, label depth and header lengths is a separate verifier state and the walk explodes.
 * Returns 0 when the offset is beyond SLUICE_MAX_HDR_OFFSET.
 */
static __always_inline int cursor_merge(struct sluice_cursor *c)
{
	__u64 off = c->pos - c->start;

	asm volatile("" : "+r"(off));
	if (off > SLUICE_MAX_HDR_OFFSET)
		return 0;
	c->pos = c->start + off;
	return 1;
}

/* Advances the cursor over a header of `len` bytes; NULL when the packet is shorter. */
static __always_inline void *cursor_take(struct sluice_cursor *c, __u32 len)
{
	void *h = c->pos;

	if (h + len > c->end)
		return NULL;
	c->pos = h + len;
	return h;
}

static __always_inline void set_v4_mapped(__u8 *out, __be32 addr)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr, 4);
}

/* Reads the TCP timestamps option, if present, from a header with `opt_len` option bytes. */
static __always_inline void parse_tcp_ts(struct sluice_cursor *c, __u32 opt_len,
					 struct sluice_pkt *pkt)
{
	__u8 *opt = c->pos;
	__u32 i = 0;

	/* Fast path: the layout Linux and most stacks send (NOP, NOP, TS). */
	if (opt_len >= 12 && (void *)(opt + 12) <= c->end && opt[0] == 1 && opt[1] == 1 &&
	    opt[2] == 8 && opt[3] == 10) {
		pkt->tsval = bpf_ntohl(*(__be32 *)(opt + 4));
		pkt->tsecr = bpf_ntohl(*(__be32 *)(opt + 8));
		pkt->flags |= SLUICE_PKT_HAS_TS;
		return;
	}
	for (int n = 0; n < SLUICE_MAX_TCP_OPTS; n++) {
		__u8 *p, kind, len;

		if (i >= opt_len || i >= SLUICE_MAX_TCP_OPT_BYTES)
			return;
		/* One pointer, one check per option: keeps the verifier's packet range. */
		asm volatile("" : "+r"(i));
		i &= 0x3f;
		p = opt + i;
		if ((void *)(p + 1) > c->end)
			return;
		kind = p[0];
		if (kind == 0)
			return;
		if (kind == 1) {
			i++;
			continue;
		}
		if ((void *)(p + 10) <= c->end && kind == 8 && p[1] == 10) {
			if (i + 10 > opt_len)
				return;
			pkt->tsval = bpf_ntohl(*(__be32 *)(p + 2));
			pkt->tsecr = bpf_ntohl(*(__be32 *)(p + 6));
			pkt->flags |= SLUICE_PKT_HAS_TS;
			return;
		}
		if ((void *)(p + 2) > c->end)
			return;
		len = p[1];
		if (len < 2)
			return;
		i += len;
	}
}

static __always_inline int parse_l4(struct sluice_cursor *c, struct sluice_pkt *pkt,
				    __u32 l4_len)
{
	if (pkt->flags & SLUICE_PKT_FRAGMENT)
		return SLUICE_PARSE_OK;
	if (!cursor_merge(c))
		return SLUICE_PARSE_MALFORMED;

	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *th = cursor_take(c, sizeof(*th));
		__u32 hlen;

		if (!th)
			return SLUICE_PARSE_MALFORMED;
		hlen = th->doff * 4;
		if (hlen < sizeof(*th) || hlen > l4_len)
			return SLUICE_PARSE_MALFORMED;
		pkt->sport = bpf_ntohs(th->source);
		pkt->dport = bpf_ntohs(th->dest);
		pkt->seq = bpf_ntohl(th->seq);
		pkt->payload_len = l4_len - hlen;
		if (th->syn)
			pkt->flags |= SLUICE_PKT_TCP_SYN;
		if (th->fin)
			pkt->flags |= SLUICE_PKT_TCP_FIN;
		if (th->rst)
			pkt->flags |= SLUICE_PKT_TCP_RST;
		if (hlen > sizeof(*th))
			parse_tcp_ts(c, hlen - sizeof(*th), pkt);
	} else if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *uh = cursor_take(c, sizeof(*uh));

		if (!uh)
			return SLUICE_PARSE_MALFORMED;
		pkt->sport = bpf_ntohs(uh->source);
		pkt->dport = bpf_ntohs(uh->dest);
	} else if (pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6) {
		/* type, code, checksum */
		if (!cursor_take(c, 4))
			return SLUICE_PARSE_MALFORMED;
	}
	return SLUICE_PARSE_OK;
}

static __always_inline int parse_ipv4(struct sluice_cursor *c, struct sluice_pkt *pkt)
{
	struct iphdr *iph = cursor_take(c, sizeof(*iph));
	__u32 hlen, tot_len;

	if (!iph || iph->version != 4)
		return SLUICE_PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (hlen < sizeof(*iph) || tot_len < hlen)
		return SLUICE_PARSE_MALFORMED;
	/* Options: skip them, the cursor check keeps them inside the packet. */
	if (hlen > sizeof(*iph) && !cursor_take(c, hlen - sizeof(*iph)))
		return SLUICE_PARSE_MALFORMED;
	set_v4_mapped(pkt->src, iph->saddr);
	set_v4_mapped(pkt->dst, iph->daddr);
	pkt->proto = iph->protocol;
	if (iph->frag_off & bpf_htons(0x1fff))
		pkt->flags |= SLUICE_PKT_FRAGMENT;
	return parse_l4(c, pkt, tot_len - hlen);
}

static __always_inline int parse_ipv6(struct sluice_cursor *c, struct sluice_pkt *pkt)
{
	struct ipv6hdr *ip6 = cursor_take(c, sizeof(*ip6));
	__u32 l4_len;
	__u8 next;

	if (!ip6 || ip6->version != 6)
		return SLUICE_PARSE_MALFORMED;
	__builtin_memcpy(pkt->src, &ip6->saddr, 16);
	__builtin_memcpy(pkt->dst, &ip6->daddr, 16);
	l4_len = bpf_ntohs(ip6->payload_len);
	next = ip6->nexthdr;

	for (int i = 0; i < SLUICE_MAX_EXT_HDRS; i++) {
		__u8 *eh;
		__u32 len;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			eh = cursor_take(c, 8);
			if (!eh)
				return SLUICE_PARSE_MALFORMED;
			len = (eh[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			eh = cursor_take(c, 8);
			if (!eh)
				return SLUICE_PARSE_MALFORMED;
			len = (eh[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			eh = cursor_take(c, 8);
			if (!eh)
				return SLUICE_PARSE_MALFORMED;
			len = 8;
			if (*(__be16 *)(eh + 2) & bpf_htons(0xfff8))
				pkt->flags |= SLUICE_PKT_FRAGMENT;
			break;
		default:
			goto done;
		}
		if (len < 8 || len > l4_len)
			return SLUICE_PARSE_MALFORMED;
		if (len > 8 && !cursor_take(c, len - 8))
			return SLUICE_PARSE_MALFORMED;
		l4_len -= len;
		next = eh[0];
		if (!cursor_merge(c))
			return SLUICE_PARSE_MALFORMED;
	}
	/* Still an extension header after the bounded walk: classify by address only. */
	if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
	    next == IPPROTO_AH || next == IPPROTO_FRAGMENT) {
		pkt->proto = next;
		pkt->flags |= SLUICE_PKT_FRAGMENT;
		return SLUICE_PARSE_OK;
	}
done:
	pkt->proto = next;
	return parse_l4(c, pkt, l4_len);
}

/*
 * Dissects one frame. `vlan_hint` is a VLAN id the driver already stripped (tc's
 * skb->vlan_tci), 0 if none. Returns SLUICE_PARSE_*; on SLUICE_PARSE_OK `pkt` is filled in.
 */
static __always_inline int sluice_parse(void *data, void *data_end, __u16 vlan_hint,
					struct sluice_pkt *pkt)
{
	struct sluice_cursor c = { .start = data, .pos = data, .end = data_end };
	struct ethhdr *eth = cursor_take(&c, sizeof(*eth));
	__u16 proto;

	if (!eth)
		return SLUICE_PARSE_MALFORMED;
	pkt->vlan = vlan_hint;
	proto = bpf_ntohs(eth->h_proto);

	for (int i = 0; i < SLUICE_MAX_VLANS; i++) {
		__be16 *tag;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD && proto != SLUICE_ETH_P_QINQ_OLD)
			break;
		tag = cursor_take(&c, 4);
		if (!tag)
			return SLUICE_PARSE_MALFORMED;
		pkt->vlan = bpf_ntohs(tag[0]) & 0x0fff;
		proto = bpf_ntohs(tag[1]);
	}

	if (proto == SLUICE_ETH_P_PPP_SES) {
		__u8 *ppp = cursor_take(&c, 8); /* 6-byte PPPoE header + PPP protocol */
		__u16 ppp_proto;

		if (!ppp)
			return SLUICE_PARSE_MALFORMED;
		ppp_proto = ((__u16)ppp[6] << 8) | ppp[7];
		if (ppp_proto == SLUICE_PPP_IPV4)
			proto = ETH_P_IP;
		else if (ppp_proto == SLUICE_PPP_IPV6)
			proto = ETH_P_IPV6;
		else
			return SLUICE_PARSE_NOT_IP;
	} else if (proto == SLUICE_ETH_P_MPLS_UC || proto == SLUICE_ETH_P_MPLS_MC) {
		__u8 *first;

		for (int i = 0; i < SLUICE_MAX_MPLS; i++) {
			__u8 *lse = cursor_take(&c, 4);

			if (!lse)
				return SLUICE_PARSE_MALFORMED;
			if (lse[2] & 0x1) /* bottom of stack */
				goto mpls_payload;
		}
		return SLUICE_PARSE_MALFORMED;
mpls_payload:
		/* MPLS carries no payload type: guess from the IP version nibble. */
		first = c.pos;
		if ((void *)(first + 1) > c.end)
			return SLUICE_PARSE_MALFORMED;
		if ((first[0] >> 4) == 4)
			proto = ETH_P_IP;
		else if ((first[0] >> 4) == 6)
			proto = ETH_P_IPV6;
		else
			return SLUICE_PARSE_NOT_IP;
	}

	if (!cursor_merge(&c))
		return SLUICE_PARSE_MALFORMED;
	if (proto == ETH_P_IP)
		return parse_ipv4(&c, pkt);
	if (proto == ETH_P_IPV6)
		return parse_ipv6(&c, pkt);
	return SLUICE_PARSE_NOT_IP;
}

#endif /* SLUICE_BPF_PARSE_H */
