#!/usr/bin/env python3
"""Takes one CPU away in short slices, as a noisy neighbour or a hypervisor's steal would.

Usage (root): tools/cpu-stall.py CPU ON_SECONDS OFF_SECONDS DURATION_SECONDS

A SCHED_FIFO busy loop pinned to CPU: busy for ON_SECONDS, asleep for OFF_SECONDS, repeated for
DURATION_SECONDS. Start one per CPU beside `sluice lab traffic` to see what a stalled CPU costs a
run (docs/lab.md, Traffic: 0.005 0.015 on both CPUs cost BBR loads up to half their rate, CUBIC
loads nothing). The kernel's RT throttling (sched_rt_runtime_us) still leaves 5 % to others.
"""
import os
import sys
import time


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    cpu, on, off, duration = int(sys.argv[1]), *map(float, sys.argv[2:])
    os.sched_setaffinity(0, {cpu})
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    end = time.monotonic() + duration
    while time.monotonic() < end:
        busy_until = time.perf_counter() + on
        while time.perf_counter() < busy_until:
            pass
        time.sleep(off)
    return 0


if __name__ == "__main__":
    sys.exit(main())
