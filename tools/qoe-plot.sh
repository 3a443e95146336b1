#!/usr/bin/env bash
# Renders `sluice lab qoe --json` output as a PNG bar chart (docs/qoe.md): latency under load, per
# load (idle, download, upload, both), with the circuit's CAKE leaf (Sluice) and with pfifo
# (a plain FIFO, what the link does without Sluice). Bars are the median RTT, whiskers reach the
# 90th and 99th percentiles; log scale, since the two differ by orders of magnitude.
#
#   tools/qoe-plot.sh QOE_JSON OUT_PNG
#
# Needs jq and gnuplot (gnuplot-nox).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 QOE_JSON OUT_PNG" >&2
  exit 2
fi
in=$1
out=$2
for tool in jq gnuplot; do
  command -v "$tool" >/dev/null || { echo "qoe-plot: $tool is not installed" >&2; exit 1; }
done
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One row per load: label, then p50 p90 p99 of the first run (the live leaf) and of the second.
jq -r '
  def row($r; $load): ($r.phases[] | select(.load == $load) | .rtt_ms) as $t
    | "\($t.p50) \($t.p90) \($t.p99)";
  if (.runs | length) != 2 then error("need a run with the pfifo comparison (no --no-fifo)")
  else . end
  | . as $q
  | ["idle", "down", "up", "both"][] as $load
  | ({"idle": "idle", "down": "download", "up": "upload", "both": "both ways"}[$load]) as $name
  | "\"\($name)\" \(row($q.runs[0]; $load)) \(row($q.runs[1]; $load))"' "$in" > "$data"
title=$(jq -r '"Circuit \(.circuit): \(.planned_down_mbps)/\(.planned_up_mbps) Mbit/s, \(.flows) TCP flows per direction, \(.seconds) s per load"' "$in")
live=$(jq -r '.runs[0].leaf' "$in")
gnuplot <<GP
set terminal pngcairo size 900,520 font "sans,11"
set output "$out"
set title "Latency under load through Sluice\n{/*0.8 $title}"
set ylabel "ping RTT, ms (bar: median; whiskers: p90 to p99)"
set logscale y
set yrange [0.1:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics
set key top left
set style data histograms
set style histogram errorbars gap 2 lw 1.5
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics nomirror
plot "$data" using 2:3:4:xtic(1) title "Sluice ($live leaf)" linecolor rgb "#2a9d8f", \
     ""      using 5:6:7 title "plain FIFO (pfifo leaf)" linecolor rgb "#e76f51", \
     ""      using (\$0 - 0.125):4:(sprintf(\$2 < 10 ? "%.1f" : "%.0f", \$2)) with labels offset 0,0.8 font ",9" notitle, \
     ""      using (\$0 + 0.125):7:(sprintf(\$5 < 10 ? "%.1f" : "%.0f", \$5)) with labels offset 0,0.8 font ",9" notitle
GP
echo "qoe-plot: wrote $out"
