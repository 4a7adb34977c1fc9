#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# replay-identity.sh: record, or compare against a record, what `ctsim replay`
# prints for every catalogue scenario's packets and for the benchmark pcap,
# under several option sets.  For refactors that promise "no behaviour change".
#
#   tests/tools/replay-identity.sh record  CTSIM_BIN OUTDIR   # before the change
#   tests/tools/replay-identity.sh compare CTSIM_BIN OUTDIR   # after: diff, exit 1 on any
#
# The pcaps come from `ctsim scenario export --pcap` of the recording binary
# (kept in OUTDIR/pcap) and ../shared/bench/gen_tcp_pcap.py (20000 connections).
set -uo pipefail
mode=$1 bin=$2 out=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${CTSIM_SHARED:-$root/../shared}
optsets=(
  ""
  "--events --stats --expectations --counters"
  "-j"
  "--set nf_conntrack_acct=1 --set nf_conntrack_timestamp=0 --events"
  "--set nf_conntrack_tcp_loose=0 --set nf_conntrack_tcp_be_liberal=1 --stats"
  "--set nf_conntrack_max=8 --set nf_conntrack_buckets=4 --stats --events"
)
if [ "$mode" = record ]; then
  mkdir -p "$out/pcap" "$out/ref"
  for sc in "$root"/scenarios/*.ct; do
    n=$(basename "$sc" .ct)
    "$bin" scenario export "$sc" --pcap "$out/pcap/$n.pcap" >/dev/null 2>&1 || rm -f "$out/pcap/$n.pcap"
  done
  /usr/bin/python3 "$shared/bench/gen_tcp_pcap.py" 20000 2000 "$out/pcap/bench-tcp20k.pcap" >/dev/null
fi
fail=0 count=0
diffs=$(mktemp -d /tmp/replay-identity.XXXXXX)   # the record stays read-only
for p in "$out"/pcap/*.pcap; do
  n=$(basename "$p" .pcap)
  i=0
  for o in "${optsets[@]}"; do
    # shellcheck disable=SC2086
    res=$("$bin" replay "$p" $o 2>&1; echo "exit=$?")
    f="$out/ref/$n.$i"
    if [ "$mode" = record ]; then
      printf '%s\n' "$res" >"$f"
    elif ! diff -u "$f" <(printf '%s\n' "$res") >"$diffs/$n.$i.diff"; then
      echo "DIFFERS: $n with '$o' (see $diffs/$n.$i.diff)"; fail=1
    fi
    i=$((i + 1)); count=$((count + 1))
  done
done
echo "$mode: $count replays ($(ls "$out"/pcap/*.pcap | wc -l) pcaps x ${#optsets[@]} option sets)"
[ $fail -eq 0 ] && rm -rf "$diffs"
exit $fail
