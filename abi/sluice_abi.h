/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The one definition of everything the BPF data plane and the C++ control plane share: map keys,
 * map values, the XDP metadata block and the constants that index them. Plain C with fixed-width
 * UAPI types so that both clang -target bpf and g++ include it unchanged; the layouts are pinned
 * by static_asserts in src/dataplane/AbiChecks.cpp.
 *
 * Bump SLUICE_ABI_VERSION whenever a layout or the meaning of a field changes: pinned maps from a
 * daemon with another version are then replaced instead of being reused.
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>

#define SLUICE_ABI_VERSION 2 /* 2: host slots (sluice_mapping.slot, sluice_host_slot) */

/* Direction of a packet, seen from the subscriber. Download = towards the subscriber. */
#define SLUICE_DIR_DOWN 0
#define SLUICE_DIR_UP 1
#define SLUICE_DIR_COUNT 2

/* Protocol buckets of the host counters. */
#define SLUICE_PROTO_TCP 0
#define SLUICE_PROTO_UDP 1
#define SLUICE_PROTO_ICMP 2 /* ICMP and ICMPv6 */
#define SLUICE_PROTO_OTHER 3
#define SLUICE_PROTO_COUNT 4

/* The most shaping queues the config map can describe (one CPU per queue). */
#define SLUICE_MAX_QUEUES 256

/* Circuit index of an entry that belongs to no circuit (negative cache, unknown address). */
#define SLUICE_CIRCUIT_NONE 0xffffffffu

/* tc minor of the default class of every HTB qdisc (DESIGN §1: M:2 takes unknown traffic). */
#define SLUICE_DEFAULT_MINOR 2

/*
 * LPM trie key: an IPv4 or IPv6 prefix in the one 128-bit form. IPv4 is v4-mapped
 * (::ffff:a.b.c.d) with prefixlen = IPv4 prefix length + 96; lookups use prefixlen 128.
 */
struct sluice_lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Where the traffic of one prefix goes: LPM value, and cached in the hot cache and flow table. */
struct sluice_mapping {
	__u32 cpu;          /* CPU that serves the queue; the cpumap index */
	__u32 classid_down; /* tc classid major:minor on the subscriber-facing egress */
	__u32 classid_up;   /* tc classid major:minor on the Internet-facing egress */
	__u32 circuit;      /* QueuePlan circuit index, or SLUICE_CIRCUIT_NONE */
	/*
	 * Index of the host's counters in sluice_host_slots, assigned by the map writer to prefixes
	 * of one address (/32, /128); SLUICE_SLOT_NONE: counted per address in sluice_hosts.
	 */
	__u32 slot;
};

/* Slot 0 of sluice_host_slots is the descriptor, never a host: 0 in a mapping means "no slot". */
#define SLUICE_SLOT_NONE 0u

/* Hot cache: one subscriber address (v4-mapped for IPv4) -> mapping, or a negative entry. */
struct sluice_addr {
	__u8 addr[16];
};

#define SLUICE_HOT_NEGATIVE 0x1u /* the LPM had no prefix for this address */

struct sluice_hot_entry {
	struct sluice_mapping mapping;
	__u32 epoch; /* epoch the entry was made under; any other epoch reads as a miss */
	__u32 flags; /* SLUICE_HOT_* */
};

/* The one-element epoch map: userspace increments it after every batch of mapping changes. */
struct sluice_epoch {
	__u32 epoch;
	/* Written at open, for a map writer that holds only the LPM and epoch fds. */
	__u32 host_slots_map_id;  /* id of sluice_host_slots */
	__u32 host_routes_map_id; /* id of sluice_host_routes */
	__u32 pad;
};

/*
 * Config map (one element), changeable at run time. Load-time parameters (interfaces, VLANs)
 * are const volatile globals of the programs instead.
 */
#define SLUICE_CFG_BYPASS 0x1u       /* pass every packet without classifying or counting */
#define SLUICE_CFG_NO_FLOWS 0x2u     /* skip the flow table (no per-flow telemetry, no RTT) */
#define SLUICE_CFG_NO_HOT_CACHE 0x4u /* skip the hot cache: every flow miss goes to the LPM */

struct sluice_config {
	__u32 flags;       /* SLUICE_CFG_* */
	__u32 queue_count; /* shaping queues per direction, 1..SLUICE_MAX_QUEUES */
	__u32 queue_cpu[SLUICE_MAX_QUEUES]; /* queue -> CPU, for unknown addresses */
};

/*
 * Flow table key, normalised to the subscriber's side so that both directions of a connection
 * share one entry: local = subscriber address/port, remote = the other end.
 */
struct sluice_flow_key {
	__u8 local[16];
	__u8 remote[16];
	__u16 local_port;  /* host byte order; 0 for ICMP and non-first fragments */
	__u16 remote_port; /* host byte order */
	__u8 proto;        /* IPPROTO_* */
	__u8 pad[3];
};

#define SLUICE_FLOW_FIN_DOWN 0x1u
#define SLUICE_FLOW_FIN_UP 0x2u
#define SLUICE_FLOW_RST 0x4u

/*
 * Flow table value; indices [SLUICE_DIR_*]. Timestamps are CLOCK_MONOTONIC ns at the coarse
 * (jiffy) resolution. Each direction's fields have one writer (the CPU its rx queue maps to).
 */
struct sluice_flow {
	struct sluice_mapping mapping; /* cached classification of the subscriber address */
	__u32 epoch;                   /* epoch the mapping was read under */
	__u32 flags;                   /* SLUICE_FLOW_* */
	__u32 pad;
	__u64 start_ns;                /* first packet */
	__u64 last_ns;                 /* latest packet */
	__u64 bytes[SLUICE_DIR_COUNT];
	__u64 packets[SLUICE_DIR_COUNT];
	__u32 next_seq[SLUICE_DIR_COUNT];    /* TCP: highest sequence end seen */
	__u32 retransmits[SLUICE_DIR_COUNT]; /* TCP: segments whose data lay below next_seq */
	__u32 tsval[SLUICE_DIR_COUNT];       /* TCP: TSval awaiting its echo, 0 = none */
	__u64 tsval_ns[SLUICE_DIR_COUNT]; /* latest TSval record or RTT sample (precise clock) */
};

/* Per-CPU per-host counters, keyed by struct sluice_addr (the subscriber address). */
struct sluice_host_counters {
	__u64 bytes[SLUICE_DIR_COUNT];
	__u64 packets[SLUICE_DIR_COUNT];
	__u64 proto_packets[SLUICE_PROTO_COUNT][SLUICE_DIR_COUNT];
	__u64 last_seen_ns; /* CLOCK_MONOTONIC ns, coarse (jiffy) resolution */
	__u32 circuit;      /* SLUICE_CIRCUIT_NONE for unknown hosts */
	__u32 pad;
};

/*
 * Per-CPU array sluice_host_slots, indexed by sluice_mapping.slot: the counters of a host whose
 * mapping is one address, found without a hash lookup. The map writer assigns a slot when it
 * publishes the mapping (writing addr, in_use = 1 and zero counters on every CPU) and frees it
 * after the epoch bump that follows the mapping's removal. Hosts without a slot (unknown
 * addresses, addresses inside wider prefixes, a full array) keep per-address counters in
 * sluice_hosts. Slot 0 is the descriptor (in_use = SLUICE_SLOT_DESCRIPTOR): aux = map id of
 * sluice_hosts, limit = one past the highest slot ever assigned, so that a reader holding only
 * this map finds both halves.
 */
#define SLUICE_SLOT_DESCRIPTOR 0x51ce5107u
struct sluice_host_slot {
	struct sluice_host_counters counters; /* BPF writes these (circuit included) */
	__u8 addr[16];                        /* the host (v4-mapped for IPv4); writer-owned */
	__u32 in_use;                         /* 1 while a mapping holds the slot; writer-owned */
	__u32 aux;                            /* descriptor only: map id of sluice_hosts */
	__u32 limit;                          /* descriptor only: one past the highest slot used */
	__u32 pad;
};

/*
 * RTT ring-buffer event. direction = the direction of the packet that carried the TSval: a
 * SLUICE_DIR_DOWN sample is the round trip from the shaper to the subscriber and back.
 */
struct sluice_rtt_event {
	struct sluice_flow_key key;
	__u64 rtt_ns;
	__u64 time_ns; /* bpf_ktime_get_ns() when the echo was seen */
	__u32 direction;
	__u32 circuit;
};

/* Metadata block written in front of the packet by XDP and read by tc egress. */
#define SLUICE_META_MAGIC 0x51ce0b9fu
struct sluice_xdp_meta {
	__u32 magic; /* SLUICE_META_MAGIC */
	__u32 classid;
	__u32 cpu;
	__u32 flags; /* SLUICE_META_* */
};
#define SLUICE_META_DEFAULT 0x1u /* unknown address: default class of a hashed queue */

/* Per-CPU statistics array indices. */
enum sluice_stat {
	SLUICE_STAT_XDP_PACKETS = 0,
	SLUICE_STAT_XDP_BYPASS,
	SLUICE_STAT_MALFORMED,    /* truncated or invalid headers: passed untouched */
	SLUICE_STAT_NOT_IP,       /* ARP, LLDP, PPPoE discovery ...: passed untouched */
	SLUICE_STAT_NO_DIRECTION, /* unknown interface or VLAN: passed untouched */
	SLUICE_STAT_FLOW_HIT,
	SLUICE_STAT_HOT_HIT,
	SLUICE_STAT_HOT_NEGATIVE_HIT,
	SLUICE_STAT_LPM_HIT,
	SLUICE_STAT_LPM_MISS,
	SLUICE_STAT_DEFAULT_CLASS, /* unknown address sent to M:2 */
	SLUICE_STAT_META_FAILED,   /* bpf_xdp_adjust_meta refused */
	SLUICE_STAT_REDIRECT,
	SLUICE_STAT_FRAGMENT,      /* non-first fragments (classified without ports) */
	SLUICE_STAT_RETRANSMIT,
	SLUICE_STAT_RTT_SAMPLE,
	SLUICE_STAT_RTT_DROPPED,   /* ring buffer full */
	SLUICE_STAT_TC_PACKETS,
	SLUICE_STAT_TC_BYPASS,
	SLUICE_STAT_TC_FROM_META,
	SLUICE_STAT_TC_FROM_LOOKUP,
	SLUICE_STAT_TC_UNCLASSIFIED,
	SLUICE_STAT_COUNT
};

#define SLUICE_STAT_SLOTS 32

/* One-element map that records which ABI a pinned set of maps was created with. */
struct sluice_abi_info {
	__u32 version; /* SLUICE_ABI_VERSION */
	__u32 pad;
};

#endif /* SLUICE_ABI_H */
