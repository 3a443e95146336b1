#!/usr/bin/env python3
"""Heap of a heaptrack recording by owner (the Sluice call chain that allocated).

  bench/daemon/heap-owners.py FILE.zst [DEPTH] [peak|end]

Prints MB per chain of the first DEPTH (default 4) sluice:: frames below the thread's entry,
largest first, then the total. "peak" (the default) is the heap at the moment it was largest,
which is what the RSS target is about (heaptrack_print's "peak" flame graph); "end" is what was
still allocated when the program ended ("leaked"): for a daemon stopped with SIGKILL, its live
heap.
"""
import collections
import re
import subprocess
import sys
import tempfile

path = sys.argv[1]
depth = int(sys.argv[2]) if len(sys.argv) > 2 else 4
when = sys.argv[3] if len(sys.argv) > 3 else "peak"
if when not in ("peak", "end"):
    sys.exit(f"heap-owners.py: expected 'peak' or 'end', got '{when}'")
cost = "peak" if when == "peak" else "leaked"
with tempfile.NamedTemporaryFile(suffix=".stacks") as out:
    subprocess.run(["heaptrack_print", "-f", path, "-p", "0", "-a", "0", "-T", "0", "-l", "0",
                    "--flamegraph-cost-type", cost, "-F", out.name],
                   check=True, stdout=subprocess.DEVNULL)
    owners = collections.Counter()
    total = 0
    for line in open(out.name):
        stack, _, size = line.rstrip().rpartition(" ")
        frames = [re.sub(r"\(.*", "", f) for f in stack.split(";")]
        ours = [f.replace("sluice::", "") for f in frames if "sluice::" in f and "std::" not in f]
        owners[" > ".join(ours[1:1 + depth]) or "(outside sluice)"] += int(size)
        total += int(size)
for owner, size in owners.most_common(25):
    print(f"{size / 1e6:8.1f} MB  {owner}")
print(f"{total / 1e6:8.1f} MB  total heap at the {when}")
