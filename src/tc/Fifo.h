#pragma once
// pfifo / bfifo leaf qdiscs (kernel net/sched/sch_fifo.c; iproute2 tc/q_fifo.c).
//
//   TCA_OPTIONS = struct tc_fifo_qopt { u32 limit; }   (a bare struct, not attributes)
//                 | len=8 u16 | type=2 u16 | limit u32 |
//
// Like `tc`, the option is only sent when a limit is given; without it the kernel uses the
// device's txqueuelen (packets for pfifo, times the MTU in bytes for bfifo).

#include <cstdint>
#include <optional>
#include <span>

#include "netlink/Message.h"
#include "tc/TcMessage.h"

namespace sluice::tc {

enum class FifoKind : uint8_t { Packets, Bytes };  ///< pfifo, bfifo

/// Appends a pfifo/bfifo request; `limit` 0 means "kernel default" (no TCA_OPTIONS).
void encodeFifo(netlink::Batch& batch, Verb verb, const TcTarget& target, FifoKind kind,
                uint32_t limit);

/// The limit of a dumped pfifo/bfifo; nullopt when malformed.
std::optional<uint32_t> decodeFifoLimit(std::span<const uint8_t> options);

}  // namespace sluice::tc
