// SPDX-License-Identifier: GPL-2.0
/*
 * The least an XDP program can do on Sluice's path: redirect every frame into a cpumap entry
 * (index rf_cpu, set by the loader before load), with no parsing, lookup or counter. The
 * real-frame benchmark (bench/realframe) runs it in place of sluice_xdp so that the rest of the
 * path (cpumap -> skb -> bridge -> HTB) is the same and only the classifier differs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 rf_cpu = 1;

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} rf_cpus SEC(".maps");

SEC("xdp")
int rf_redirect(struct xdp_md *ctx)
{
	(void)ctx;
	return bpf_redirect_map(&rf_cpus, rf_cpu, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
