#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Table full (issue 13): the overflow policies side by side, the kernel's
baseline next to ctsim's, and the cost of a full table at 1M entries.

1. The issue's workload (nf_conntrack_max 64, 16 buckets, 40 idle established
   and 20 TIME_WAIT flows, a 600-SYN flood, then 10 legitimate handshakes)
   under every policy: `ctsim pressure --json`, printed as a table.

2. The kernel's baseline (only with --kernel, root; it lowers the machine's
   nf_conntrack_max to 64 and the hash to 512 buckets for the run and
   restores both): the same workload written as a scenario, at 512 buckets
   (the kernel's smallest hash) and 2 s of idleness instead of 30, through a
   kernel router namespace (ctsim/scenario/kernel_scenarios.py) and through
   ctsim offline. The kernel's hash seed is random: its count of accepted
   handshakes varies from run to run around ctsim's.

3. Cost at 1M entries (--big): a SYN flood into a table of 1 000 000
   ESTABLISHED entries (262144 buckets) under the kernel policy and two
   evicting policies, as ns per flood packet, with the same flood into an
   empty table of the same size measured in the same run as the anchor
   (ratio full/empty), and a flood twice as long (ratio of per-packet cost,
   1.0 = linear: no quadratic behaviour).

Usage:
    tests/bench/bench_pressure.py --ctsim-build DIR [--kernel] [--big]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def pressure(ctsim, *args):
    res = subprocess.run([ctsim, "pressure", "--json", *args], capture_output=True, text=True,
                         check=True, timeout=1800)
    return json.loads(res.stdout)


def print_policies(data):
    w = data["workload"]
    print(f"== policies: max {w['max']}, {w['buckets']} buckets, {w['idle']} idle established + "
          f"{w['time_wait']} TIME_WAIT, {w['flood']}-SYN flood, {w['legit']} new handshakes")
    print(f"{'policy':13} {'legit':>6} {'drop':>5} {'early_drop':>10} {'evicted':>8} "
          f"{'live_lost':>9} {'tw_lost':>7}  evicted by class")
    for r in data["results"]:
        cls = ", ".join(f"{k} {v[2]}" for k, v in r["by_class"].items() if v[2]) or "-"
        print(f"{r['policy']:13} {r['legit_ok']:>3}/{w['legit']:<2} {r['drop']:>5} "
              f"{r['early_drop']:>10} {r['evicted']:>8} {r['live_lost']:>9} {r['tw_lost']:>7}  {cls}")


def workload_scenario(buckets, idle=40, tw=20, flood=600, legit=10):
    """The issue's workload as a scenario; returns (text, lines of the legit ACKs)."""
    out = ["# title: issue 13 workload (bench_pressure.py)",
           "host c 10.66.1.2 fd66:1::2 side client",
           "host f 10.66.3.2 fd66:3::2 side client",
           "host l 10.66.4.2 fd66:4::2 side client",
           "host s 10.66.2.2 fd66:2::2 side server",
           "set nf_conntrack_max 64", f"set nf_conntrack_buckets {buckets}"]
    for i in range(idle):
        p = 10000 + i
        out += [f"+0.001 c > s tcp {p} > 80 [S]", f"+0.001 s > c tcp 80 > {p} [S.]",
                f"+0.001 c > s tcp {p} > 80 [.]", f"+0.001 c > s tcp {p} > 80 [P.] len 10",
                f"+0.001 s > c tcp 80 > {p} [.]"]
    for i in range(tw):
        p = 20000 + i
        out += [f"+0.001 c > s tcp {p} > 80 [S]", f"+0.001 s > c tcp 80 > {p} [S.]",
                f"+0.001 c > s tcp {p} > 80 [.]", f"+0.001 c > s tcp {p} > 80 [F.]",
                f"+0.001 s > c tcp 80 > {p} [F.]", f"+0.001 c > s tcp {p} > 80 [.]"]
    out.append("+2 expect count 60")
    out += [f"+0.001 f > s tcp {1024 + i} > 80 [S]" for i in range(flood)]
    acks = []
    for i in range(legit):
        p = 40000 + i
        out += [f"+0.1 l > s tcp {p} > 80 [S]", f"+0.001 s > l tcp 80 > {p} [S.]",
                f"+0.001 l > s tcp {p} > 80 [.]"]
        acks.append(len(out))
    return "\n".join(out) + "\n", acks


def kernel_baseline(ctsim):
    sys.path.insert(0, str(ROOT / "ctsim" / "scenario"))
    import kernel_scenarios as ks     # noqa: E402 (the driver, installed with ctsim)

    text, acks = workload_scenario(512)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "pressure.ct"
        path.write_text(text)
        exp = ks.ctsim_json(ctsim, "export", str(path), "--json")
        sim = ks.ctsim_json(ctsim, "run", str(path), "--json")["scenarios"][0]
        kern = ks.kernel_run(exp, 600, ks.GlobalSizing())
    print(f"\n== kernel baseline: the same workload at 512 buckets (the kernel's minimum), "
          f"policy kernel")
    for who, run in (("ctsim", sim), ("kernel", kern)):
        ok = sum(1 for t in run["trace"] if t["line"] in acks and t["ctinfo"] == "established")
        st = ks.stats_sum(run["stats"])
        print(f"{who:7} legit {ok}/{len(acks)}  drop {st['drop']}  early_drop {st['early_drop']}  "
              f"insert_failed {st['insert_failed']}  entries at the end {len(run['table'])}")


def big(ctsim):
    base = ["--max", "1000000", "--buckets", "262144", "--time-wait", "0", "--legit", "10",
            "--rate", "100000", "--wait", "20"]
    print("\n== 1M entries, 262144 buckets: ns per flood packet")
    empty = pressure(ctsim, *base, "--idle", "0", "--flood", "200000", "--policy", "kernel")
    anchor = empty["results"][0]["flood_ns_per_pkt"]
    print(f"anchor: the flood into an empty table: {anchor:.0f} ns/packet")
    for flood in (100000, 200000):
        d = pressure(ctsim, *base, "--idle", "1000000", "--flood", str(flood),
                     "--policy", "kernel,wait-first,lru")
        for r in d["results"]:
            print(f"full table, {flood:>6}-SYN flood, {r['policy']:11}: "
                  f"{r['flood_ns_per_pkt']:7.0f} ns/packet = {r['flood_ns_per_pkt'] / anchor:5.2f} x "
                  f"anchor; legit {r['legit_ok']}/10, drop {r['drop']}, evicted {r['evicted']}, "
                  f"early_drop {r['early_drop']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ctsim-build", default=os.environ.get("CTSIM_BUILD", str(ROOT / "build")))
    ap.add_argument("--kernel", action="store_true", help="also the kernel's baseline (root)")
    ap.add_argument("--big", action="store_true", help="also the 1M-entry cost measurement")
    a = ap.parse_args()
    ctsim = str(Path(a.ctsim_build) / "ctsim" / "ctsim")
    print_policies(pressure(ctsim))
    if a.kernel:
        kernel_baseline(ctsim)
    if a.big:
        big(ctsim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
