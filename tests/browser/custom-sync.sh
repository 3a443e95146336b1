#!/bin/sh
# The browser test's custom pipeline ([sync] custom_command in the lab's lqos.conf, see run.sh):
#   custom-sync.sh SOURCE_DIR VARIANT_FILE STAGING_DIR
# writes SOURCE_DIR's network.json and ShapedDevices.csv (the demo ISP's, the lab's inputs) into
# STAGING_DIR, changed as VARIANT_FILE says (e2e.mjs writes it; missing = "same"):
#   same    the inputs unchanged (the scheduler's first run answers "unchanged")
#   change  circuit 1003's download ceil 25 -> 30 Mbps and a new circuit 1051 (one speed change,
#           one circuit added: below the mass-change guard)
#   mass    circuits 1040..1050 removed (11 of 50, above the guard's 10 %: held for approval)
set -eu
src=$1 variant_file=$2 staging=$3
variant=same
[ -f "$variant_file" ] && variant=$(cat "$variant_file")
cp "$src/network.json" "$staging/network.json"
case "$variant" in
  same)
    cp "$src/ShapedDevices.csv" "$staging/ShapedDevices.csv" ;;
  change)
    # Circuit 1003's one row has no quoted field: its rates are columns 9..12.
    sed -e '/^1003,/s/,6\.25,1\.25,25,5,/,6.25,1.25,30,5,/' "$src/ShapedDevices.csv" > "$staging/ShapedDevices.csv"
    grep -q '^1003,.*,6\.25,1\.25,30,5,' "$staging/ShapedDevices.csv" || { echo "custom-sync: circuit 1003's row not found" >&2; exit 1; }
    printf '%s\n' '1051,Sync Test - 60 Aspen Trl,1051-1,Sync Router,Granite Ridge AP1,,100.64.9.51,,2.5,0.5,10,2,added by the browser test sync,' \
      >> "$staging/ShapedDevices.csv" ;;
  mass)
    grep -v -E '^10(4[0-9]|50),' "$src/ShapedDevices.csv" > "$staging/ShapedDevices.csv" ;;
  *)
    echo "custom-sync: unknown variant '$variant' in $variant_file" >&2; exit 1 ;;
esac
