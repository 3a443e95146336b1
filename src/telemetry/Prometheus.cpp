// prometheus(): text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): one "# HELP" and "# TYPE" line
// per family, then its samples; label values escape \, " and newline.

#include <mutex>

#include <fmt/format.h>

#include "telemetry/CollectorImpl.h"
#include "telemetry/Prometheus.h"

namespace sluice::telemetry {

std::string escapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string formatValue(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  return fmt::format("{}", v);
}

void PromWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PromWriter::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  out_ += name;
  if (labels.size() > 0) {
    out_ += '{';
    bool firstLabel = true;
    for (const Label& l : labels) {
      if (!firstLabel) {
        out_ += ',';
      }
      firstLabel = false;
      out_ += l.name;
      out_ += "=\"";
      out_ += escapeLabel(l.value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += formatValue(value);
  out_ += '\n';
}

namespace {

constexpr const char* kDir[] = {"down", "up"};
constexpr const char* kProto[] = {"tcp", "udp", "icmp", "other"};
constexpr const char* kStatNames[SLUICE_STAT_COUNT] = {
    "xdp_packets", "xdp_bypass",   "malformed",      "not_ip",        "no_direction",
    "flow_hit",    "hot_hit",      "hot_negative_hit", "lpm_hit",     "lpm_miss",
    "default_class", "meta_failed", "redirect",      "fragment",      "retransmit",
    "rtt_sample",  "rtt_dropped",  "tc_packets",     "tc_bypass",     "tc_from_meta",
    "tc_from_lookup", "tc_unclassified"};

double seconds(double ms) { return std::isnan(ms) ? ms : ms / 1000.0; }

}  // namespace

std::string Collector::prometheus() const {
  std::shared_lock lock(impl_->mutex);
  const TotalsState& t = impl_->totals;
  PromWriter w;

  w.family("sluice_bytes_total", "counter",
           "L2 frame bytes through the shaper since sluiced started (class: shaped = addresses of "
           "a circuit, unknown = others)");
  for (int d = 0; d < 2; ++d) {
    w.sample("sluice_bytes_total", {{"direction", kDir[d]}, {"class", "shaped"}},
             static_cast<double>(t.all.bytesTotal[d] - t.unknownBytesTotal[d]));
    w.sample("sluice_bytes_total", {{"direction", kDir[d]}, {"class", "unknown"}},
             static_cast<double>(t.unknownBytesTotal[d]));
  }
  w.family("sluice_packets_total", "counter", "Packets through the shaper by protocol");
  for (int p = 0; p < SLUICE_PROTO_COUNT; ++p) {
    for (int d = 0; d < 2; ++d) {
      w.sample("sluice_packets_total", {{"direction", kDir[d]}, {"protocol", kProto[p]}},
               static_cast<double>(t.protoPacketsTotal[p][d]));
    }
  }
  w.family("sluice_throughput_bits_per_second", "gauge", "Throughput of the last second");
  for (int d = 0; d < 2; ++d) {
    w.sample("sluice_throughput_bits_per_second", {{"direction", kDir[d]}}, t.all.bps[d]);
  }
  w.family("sluice_tcp_rtt_seconds", "histogram",
           "Passive TCP round-trip samples (TCP timestamps) since sluiced started");
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kRttBucketsMs.size(); ++b) {
    cumulative += t.rttCumulative[b];
    w.sample("sluice_tcp_rtt_seconds_bucket", {{"le", formatValue(kRttBucketsMs[b] / 1000.0)}},
             static_cast<double>(cumulative));
  }
  w.sample("sluice_tcp_rtt_seconds_bucket", {{"le", "+Inf"}}, static_cast<double>(t.rttCount));
  w.sample("sluice_tcp_rtt_seconds_sum", {}, t.rttSumSeconds);
  w.sample("sluice_tcp_rtt_seconds_count", {}, static_cast<double>(t.rttCount));
  w.family("sluice_tcp_rtt_p50_seconds", "gauge", "Median TCP RTT over the RTT window");
  w.sample("sluice_tcp_rtt_p50_seconds", {}, seconds(t.all.rttP50Ms));
  w.family("sluice_tcp_rtt_p90_seconds", "gauge", "90th percentile TCP RTT over the RTT window");
  w.sample("sluice_tcp_rtt_p90_seconds", {}, seconds(t.all.rttP90Ms));
  w.family("sluice_tcp_retransmits_total", "counter", "TCP segments seen again (retransmits)");
  w.sample("sluice_tcp_retransmits_total", {}, static_cast<double>(t.all.retransmitsTotal));
  w.family("sluice_tcp_retransmit_ratio", "gauge",
           "Retransmitted / TCP packets, exponentially averaged over about 10 s");
  w.sample("sluice_tcp_retransmit_ratio", {}, t.all.retransmitPct / 100.0);
  w.family("sluice_unknown_addresses", "gauge", "Addresses seen that no circuit covers (listed)");
  w.sample("sluice_unknown_addresses", {}, static_cast<double>(impl_->unknown.size()));

  w.family("sluice_queue_throughput_bits_per_second", "gauge",
           "Throughput of the circuits of each shaping queue");
  for (const QueueLive& q : impl_->queues) {
    for (int d = 0; d < 2; ++d) {
      w.sample("sluice_queue_throughput_bits_per_second",
               {{"queue", std::to_string(q.queue)}, {"cpu", std::to_string(q.cpu)},
                {"direction", kDir[d]}},
               q.bps[d]);
    }
  }
  w.family("sluice_queue_cpu_ratio", "gauge", "Busy share (0..1) of the CPU serving each queue");
  for (const QueueLive& q : impl_->queues) {
    w.sample("sluice_queue_cpu_ratio",
             {{"queue", std::to_string(q.queue)}, {"cpu", std::to_string(q.cpu)}},
             q.cpuPct / 100.0);
  }
  if (t.hasDataplaneStats) {
    w.family("sluice_dataplane_events_total", "counter",
             "Data-plane counters (enum sluice_stat), summed over CPUs");
    for (size_t i = 0; i < SLUICE_STAT_COUNT; ++i) {
      w.sample("sluice_dataplane_events_total", {{"event", kStatNames[i]}},
               static_cast<double>(t.dataplaneStats[i]));
    }
  }
  w.family("sluice_telemetry_tick_cpu_seconds", "gauge", "CPU time of the last telemetry tick by part");
  w.sample("sluice_telemetry_tick_cpu_seconds", {{"part", "read"}}, t.lastTick.readMs / 1000.0);
  w.sample("sluice_telemetry_tick_cpu_seconds", {{"part", "tc"}}, t.lastTick.tcMs / 1000.0);
  w.sample("sluice_telemetry_tick_cpu_seconds", {{"part", "rollup"}}, t.lastTick.rollupMs / 1000.0);

  const PlanView* v = impl_->view.get();
  if (v != nullptr) {
    const auto& nodes = v->plan->nodes;
    w.family("sluice_circuits", "gauge", "Circuits in the active plan");
    w.sample("sluice_circuits", {}, static_cast<double>(v->plan->circuits.size()));
    auto nodeState = [&](size_t n) -> const NodeState& { return *impl_->nodes[v->nodeSlot[n]]; };
    w.family("sluice_node_bytes_total", "counter", "Bytes of the circuits under each node");
    for (size_t n = 0; n < nodes.size(); ++n) {
      for (int d = 0; d < 2; ++d) {
        w.sample("sluice_node_bytes_total", {{"node", nodes[n].name}, {"direction", kDir[d]}},
                 static_cast<double>(nodeState(n).live.bytesTotal[d]));
      }
    }
    w.family("sluice_node_throughput_bits_per_second", "gauge", "Throughput under each node");
    for (size_t n = 0; n < nodes.size(); ++n) {
      for (int d = 0; d < 2; ++d) {
        w.sample("sluice_node_throughput_bits_per_second",
                 {{"node", nodes[n].name}, {"direction", kDir[d]}}, nodeState(n).live.bps[d]);
      }
    }
    w.family("sluice_node_max_bits_per_second", "gauge", "Each node's planned maximum rate");
    for (size_t n = 0; n < nodes.size(); ++n) {
      w.sample("sluice_node_max_bits_per_second", {{"node", nodes[n].name}, {"direction", "down"}},
               nodes[n].downloadMaxMbps * 1e6);
      w.sample("sluice_node_max_bits_per_second", {{"node", nodes[n].name}, {"direction", "up"}},
               nodes[n].uploadMaxMbps * 1e6);
    }
    w.family("sluice_node_tcp_rtt_p50_seconds", "gauge", "Median TCP RTT under each node");
    for (size_t n = 0; n < nodes.size(); ++n) {
      w.sample("sluice_node_tcp_rtt_p50_seconds", {{"node", nodes[n].name}},
               seconds(nodeState(n).live.rttP50Ms));
    }
    w.family("sluice_node_tcp_retransmit_ratio", "gauge", "TCP retransmit ratio under each node");
    for (size_t n = 0; n < nodes.size(); ++n) {
      w.sample("sluice_node_tcp_retransmit_ratio", {{"node", nodes[n].name}},
               nodeState(n).live.retransmitPct / 100.0);
    }
    if (impl_->options.perCircuitMetrics) {
      const auto& circuits = v->plan->circuits;
      auto cs = [&](size_t c) -> const CircuitState& { return impl_->circuitState(*v, c); };
      w.family("sluice_circuit_bytes_total", "counter", "Bytes of each circuit");
      for (size_t c = 0; c < circuits.size(); ++c) {
        for (int d = 0; d < 2; ++d) {
          w.sample("sluice_circuit_bytes_total",
                   {{"circuit", circuits[c].circuitId}, {"direction", kDir[d]}},
                   static_cast<double>(cs(c).live.bytesTotal[d]));
        }
      }
      w.family("sluice_circuit_throughput_bits_per_second", "gauge", "Throughput of each circuit");
      for (size_t c = 0; c < circuits.size(); ++c) {
        for (int d = 0; d < 2; ++d) {
          w.sample("sluice_circuit_throughput_bits_per_second",
                   {{"circuit", circuits[c].circuitId}, {"direction", kDir[d]}},
                   cs(c).live.bps[d]);
        }
      }
      w.family("sluice_circuit_tcp_rtt_p50_seconds", "gauge", "Median TCP RTT of each circuit");
      for (size_t c = 0; c < circuits.size(); ++c) {
        w.sample("sluice_circuit_tcp_rtt_p50_seconds", {{"circuit", circuits[c].circuitId}},
                 seconds(cs(c).live.rttP50Ms));
      }
      w.family("sluice_circuit_tcp_retransmits_total", "counter", "TCP retransmits of each circuit");
      for (size_t c = 0; c < circuits.size(); ++c) {
        w.sample("sluice_circuit_tcp_retransmits_total", {{"circuit", circuits[c].circuitId}},
                 static_cast<double>(cs(c).live.retransmitsTotal));
      }
      w.family("sluice_circuit_drops", "gauge",
               "Packets dropped by each circuit's leaf qdisc (kernel counter; resets when the "
               "qdisc is replaced)");
      for (size_t c = 0; c < circuits.size(); ++c) {
        for (int d = 0; d < 2; ++d) {
          if (cs(c).queue[d].valid) {
            w.sample("sluice_circuit_drops",
                     {{"circuit", circuits[c].circuitId}, {"direction", kDir[d]}},
                     static_cast<double>(cs(c).queue[d].drops));
          }
        }
      }
    }
  }
  return w.take();
}

}  // namespace sluice::telemetry
