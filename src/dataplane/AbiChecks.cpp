// Pins the layout of every structure shared with the BPF programs (abi/sluice_abi.h). A failing
// assert here means the C++ and BPF sides would read each other's maps differently.

#include <cstddef>

#include "abi/sluice_abi.h"

#define SLUICE_CHECK_SIZE(type, size) static_assert(sizeof(struct type) == (size), #type " size")
#define SLUICE_CHECK_OFFSET(type, field, off) \
  static_assert(offsetof(struct type, field) == (off), #type "." #field " offset")

SLUICE_CHECK_SIZE(sluice_lpm_key, 20);
SLUICE_CHECK_OFFSET(sluice_lpm_key, addr, 4);

SLUICE_CHECK_SIZE(sluice_mapping, 20);
SLUICE_CHECK_OFFSET(sluice_mapping, cpu, 0);
SLUICE_CHECK_OFFSET(sluice_mapping, classid_down, 4);
SLUICE_CHECK_OFFSET(sluice_mapping, classid_up, 8);
SLUICE_CHECK_OFFSET(sluice_mapping, circuit, 12);
SLUICE_CHECK_OFFSET(sluice_mapping, slot, 16);

SLUICE_CHECK_SIZE(sluice_addr, 16);
SLUICE_CHECK_SIZE(sluice_hot_entry, 28);
SLUICE_CHECK_OFFSET(sluice_hot_entry, epoch, 20);
SLUICE_CHECK_OFFSET(sluice_hot_entry, flags, 24);

SLUICE_CHECK_SIZE(sluice_epoch, 16);
SLUICE_CHECK_OFFSET(sluice_epoch, host_routes_map_id, 8);
SLUICE_CHECK_OFFSET(sluice_epoch, host_slots_map_id, 4);
SLUICE_CHECK_SIZE(sluice_config, 8 + 4 * SLUICE_MAX_QUEUES);
SLUICE_CHECK_OFFSET(sluice_config, queue_count, 4);
SLUICE_CHECK_OFFSET(sluice_config, queue_cpu, 8);

SLUICE_CHECK_SIZE(sluice_flow_key, 40);
SLUICE_CHECK_OFFSET(sluice_flow_key, remote, 16);
SLUICE_CHECK_OFFSET(sluice_flow_key, local_port, 32);
SLUICE_CHECK_OFFSET(sluice_flow_key, remote_port, 34);
SLUICE_CHECK_OFFSET(sluice_flow_key, proto, 36);

SLUICE_CHECK_SIZE(sluice_flow, 120);
SLUICE_CHECK_OFFSET(sluice_flow, epoch, 20);
SLUICE_CHECK_OFFSET(sluice_flow, flags, 24);
SLUICE_CHECK_OFFSET(sluice_flow, start_ns, 32);
SLUICE_CHECK_OFFSET(sluice_flow, last_ns, 40);
SLUICE_CHECK_OFFSET(sluice_flow, bytes, 48);
SLUICE_CHECK_OFFSET(sluice_flow, packets, 64);
SLUICE_CHECK_OFFSET(sluice_flow, next_seq, 80);
SLUICE_CHECK_OFFSET(sluice_flow, retransmits, 88);
SLUICE_CHECK_OFFSET(sluice_flow, tsval, 96);
SLUICE_CHECK_OFFSET(sluice_flow, tsval_ns, 104);

SLUICE_CHECK_SIZE(sluice_host_counters, 112);
SLUICE_CHECK_OFFSET(sluice_host_counters, packets, 16);
SLUICE_CHECK_OFFSET(sluice_host_counters, proto_packets, 32);
SLUICE_CHECK_OFFSET(sluice_host_counters, last_seen_ns, 96);
SLUICE_CHECK_OFFSET(sluice_host_counters, circuit, 104);

SLUICE_CHECK_SIZE(sluice_host_slot, 144);
SLUICE_CHECK_OFFSET(sluice_host_slot, addr, 112);
SLUICE_CHECK_OFFSET(sluice_host_slot, in_use, 128);
SLUICE_CHECK_OFFSET(sluice_host_slot, aux, 132);
SLUICE_CHECK_OFFSET(sluice_host_slot, limit, 136);
static_assert(sizeof(struct sluice_host_slot) % 8 == 0, "per-CPU stride = value size");

SLUICE_CHECK_SIZE(sluice_rtt_event, 64);
SLUICE_CHECK_OFFSET(sluice_rtt_event, rtt_ns, 40);
SLUICE_CHECK_OFFSET(sluice_rtt_event, time_ns, 48);
SLUICE_CHECK_OFFSET(sluice_rtt_event, direction, 56);

// The metadata block must be a multiple of 4 bytes and at most 32 (bpf_xdp_adjust_meta).
SLUICE_CHECK_SIZE(sluice_xdp_meta, 16);
static_assert(sizeof(struct sluice_xdp_meta) % 4 == 0 && sizeof(struct sluice_xdp_meta) <= 32);

SLUICE_CHECK_SIZE(sluice_abi_info, 8);
static_assert(SLUICE_STAT_COUNT <= SLUICE_STAT_SLOTS);
static_assert((SLUICE_MAX_QUEUES & (SLUICE_MAX_QUEUES - 1)) == 0, "masked in BPF");
