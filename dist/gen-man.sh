#!/usr/bin/env bash
# Writes the man pages sluice.1.gz and sluiced.8.gz from the programs' own --help (help2man), so
# the reference cannot drift from the binaries. sluice(1) also carries the --help of every
# subcommand and of their subcommands. Run by the build (cmake/SluicePackaging.cmake).
#   gen-man.sh OUT_DIR SLUICED SLUICE VERSION
set -euo pipefail
out=$1 sluiced=$2 sluice=$3 version=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run the programs by name so that Usage: lines say "sluice", not a build path.
mkdir -p "$work/bin" "$out"
ln -s "$sluiced" "$work/bin/sluiced"
ln -s "$sluice" "$work/bin/sluice"
export PATH="$work/bin:$PATH"

roff_block() {  # stdin: plain text -> roff that prints it verbatim
  sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" | { echo '.nf'; cat; echo '.fi'; }
}
subcommands() {  # $@: command words -> the names listed under "Subcommands:" in their --help
  "$@" --help | awk '/^Subcommands:/{s=1; next} s && /^  [a-z]/{print $1} s && /^$/{s=0}'
}

{
  echo '[DESCRIPTION]'
  echo 'sluice validates and plans LibreQoS-compatible inputs (lqos.conf, network.json,'
  echo 'ShapedDevices.csv), talks to the running sluiced over its control socket, and runs the'
  echo 'namespace lab. Exit status of check: 0 valid, 1 problems found, 2 usage error.'
  echo '[SUBCOMMAND REFERENCE]'
  for sub in $(subcommands sluice); do
    echo ".SS \"sluice $sub\""
    sluice "$sub" --help | roff_block
    for subsub in $(subcommands sluice "$sub"); do
      echo ".SS \"sluice $sub $subsub\""
      sluice "$sub" "$subsub" --help | roff_block
    done
  done
  echo '[FILES]'
  echo '/etc/sluice/lqos.conf, /run/sluice/sluiced.sock, /var/lib/sluice'
  echo '[SEE ALSO]'
  echo 'sluiced(8), /usr/share/doc/sluice/'
} > "$work/sluice.h2m"

{
  echo '[DESCRIPTION]'
  echo 'sluiced shapes every subscriber circuit of an ISP with HTB and CAKE or fq_codel under an'
  echo 'eBPF classifier, from LibreQoS-compatible inputs, and serves the control socket, the'
  echo 'operator API and the web UI. Under systemd it runs as sluiced.service (Type=notify, with'
  echo 'a watchdog); SIGHUP reloads the inputs, SIGTERM removes the tree and exits.'
  echo '[FILES]'
  echo '/etc/sluice/lqos.conf, /run/sluice/sluiced.sock, /var/lib/sluice, /sys/fs/bpf/sluice'
  echo '[SEE ALSO]'
  echo 'sluice(1), systemd.service(5), /usr/share/doc/sluice/'
} > "$work/sluiced.h2m"

common=(--no-info --no-discard-stderr --version-string="$version" --source="Sluice $version")
help2man "${common[@]}" --section=1 --name="QoE traffic shaper for ISPs: check, plan, status, lab" \
  --include="$work/sluice.h2m" sluice > "$work/sluice.1"
help2man "${common[@]}" --section=8 --name="Sluice QoE traffic shaping daemon" \
  --include="$work/sluiced.h2m" sluiced > "$work/sluiced.8"
# -n: no name or time stamp, so the build is reproducible (lintian: gzip-file-has-timestamp)
gzip -9n -c "$work/sluice.1" > "$out/sluice.1.gz"
gzip -9n -c "$work/sluiced.8" > "$out/sluiced.8.gz"
