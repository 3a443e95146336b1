#!/usr/bin/env bash
# Renders the StormGuard lab's time series (tools/stormguard-lab.sh run with
# STORMGUARD_LAB_OUT=FILE) as a PNG (docs/stormguard.md): per run (dry run = StormGuard off, live =
# on), the backhaul's capacity and the site's HTB rate (Mbit/s, left axis) and the probe
# circuit's ping RTT under load (ms, right axis, log scale: a 1 s median of 0.2 s pings).
#
#   tools/stormguard-plot.sh SERIES_CSV OUT_PNG
#
# Needs gnuplot (gnuplot-nox) and python3.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 SERIES_CSV OUT_PNG" >&2
  exit 2
fi
in=$1
out=$2
command -v gnuplot >/dev/null || { echo "stormguard-plot: gnuplot is not installed" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Per run: rates.dat (t backhaul site) and rtt.dat (1 s bins: t median_rtt).
python3 - "$in" "$dir" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for run in ("off", "on"):
    mine = [r for r in rows if r["run"] == run]
    with open(f"{sys.argv[2]}/rates-{run}.dat", "w") as f:
        for r in sorted((r for r in mine if not r["probe_rtt_ms"]), key=lambda r: float(r["t_s"])):
            f.write(f'{r["t_s"]} {r["backhaul_mbps"]} {r["site_mbps"]}\n')
    bins = {}
    for r in mine:
        if r["probe_rtt_ms"]:
            bins.setdefault(int(float(r["t_s"])), []).append(float(r["probe_rtt_ms"]))
    with open(f"{sys.argv[2]}/rtt-{run}.dat", "w") as f:
        for t in sorted(bins):
            f.write(f"{t + 0.5} {statistics.median(bins[t])}\n")
PY
gnuplot <<GP
set terminal pngcairo size 1000,720 font "sans,10"
set output "$out"
set multiplot layout 2,1 title "StormGuard: a 20 Mbit/s site behind a bloated backhaul that drops to 6 Mbit/s"
set xlabel "seconds since the load started"
set ylabel "Mbit/s"
set y2label "probe RTT under load, ms"
set yrange [0:24]
set logscale y2
set y2range [0.05:2000]
set y2tics
set ytics nomirror
set grid
set key top right
set xrange [0:110]
set title "StormGuard off (dry run: nothing is applied)"
plot "$dir/rates-off.dat" using 1:2 with steps lw 2 lc rgb "#888888" title "backhaul capacity", \
     "" using 1:3 with steps lw 2 lc rgb "#e76f51" title "site rate", \
     "$dir/rtt-off.dat" using 1:2 axes x1y2 with linespoints pt 7 ps 0.4 lc rgb "#264653" title "probe RTT (1 s median)"
set title "StormGuard live"
plot "$dir/rates-on.dat" using 1:2 with steps lw 2 lc rgb "#888888" title "backhaul capacity", \
     "" using 1:3 with steps lw 2 lc rgb "#2a9d8f" title "site rate", \
     "$dir/rtt-on.dat" using 1:2 axes x1y2 with linespoints pt 7 ps 0.4 lc rgb "#264653" title "probe RTT (1 s median)"
unset multiplot
GP
echo "stormguard-plot: wrote $out"
