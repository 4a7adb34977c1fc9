#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctsim replay` of the benchmark workload, next to the Open vSwitch anchor.

Writes tcp100k.pcap with ../shared/bench/gen_tcp_pcap.py 100000 10000
(900 000 packets, 100 000 TCP connections ending in TIME_WAIT) unless it is
already in --workdir, then runs

    ctsim replay tcp100k.pcap > /dev/null

--runs times with the default ruleset and prints the median wall-clock time,
packets/s and ns/packet, next to the anchor (OVS test-conntrack pcap: 0.74-0.80 s,
../shared/bench/README.md section 3.1) and the target (<= 0.4 s). Use a
release build: meson setup -Dbuildtype=release BUILD.

Usage:
    tests/bench/bench_replay.py --ctsim-build DIR [--runs 5] [--conns 100000]
        [--window 10000] [--workdir DIR] [--perf] [--ref-build DIR] [--ovs-build DIR]

--ref-build runs a second ctsim build (e.g. main's) in the same run, the runs
of both interleaved (A B A B ...), and prints the ratio of the medians: the
machine is shared, only ratios measured together mean something.
--ovs-build points at an Open vSwitch build tree: its tests/ovstest
test-conntrack pcap FILE 32 > /dev/null is timed interleaved too, and the
ctsim/OVS ratio printed (the anchor's command, ../shared/bench/README.md 3.1).

--perf records one extra run with `perf record -g` and prints the top functions.
Needs no root.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SHARED = Path(os.environ.get("CTSIM_SHARED", ROOT.parent / "shared"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared")

OVS_ANCHOR = (0.74, 0.80)
TARGET = 0.4


def make_pcap(workdir, conns, window):
    path = Path(workdir) / f"tcp{conns // 1000}k-w{window}.pcap"
    if not path.exists() or path.stat().st_size != 830 * conns + 24:
        subprocess.run([sys.executable, str(SHARED / "bench" / "gen_tcp_pcap.py"), str(conns),
                        str(window), str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def run_once(ctsim, pcap):
    t0 = time.perf_counter()
    res = subprocess.run([str(ctsim), "replay", str(pcap)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"ctsim replay failed: {res.stderr}")
    return dt, res.stderr


def run_ovs(ovstest, pcap):
    t0 = time.perf_counter()
    res = subprocess.run([str(ovstest), "test-conntrack", "pcap", str(pcap), "32"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"ovstest failed: {res.stderr}")
    return dt


def profile(ctsim, pcap, workdir):
    data = Path(workdir) / "replay.perf.data"
    subprocess.run(["perf", "record", "-q", "-g", "-o", str(data), "--", str(ctsim), "replay",
                    str(pcap)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    rep = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                          "--sort", "symbol", "-g", "none", "--percent-limit", "1.5"],
                         capture_output=True, text=True)
    print("\nperf (self time, >= 1.5 %):")
    for line in rep.stdout.splitlines():
        if line.strip() and not line.startswith("#"):
            print("  " + line.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ctsim-build", default=os.environ.get("CTSIM_BUILD", ROOT / "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=100000)
    ap.add_argument("--window", type=int, default=10000)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--ref-build", help="a second ctsim build, timed interleaved with the first")
    ap.add_argument("--ovs-build", help="an Open vSwitch build tree (tests/ovstest), timed interleaved")
    args = ap.parse_args()

    ctsim = Path(args.ctsim_build) / "ctsim" / "ctsim"
    pcap = make_pcap(args.workdir, args.conns, args.window)
    packets = 9 * args.conns
    ref = Path(args.ref_build) / "ctsim" / "ctsim" if args.ref_build else None
    ovs = Path(args.ovs_build) / "tests" / "ovstest" if args.ovs_build else None
    run_once(ctsim, pcap)                       # warm the page cache
    times, ref_times, ovs_times, summary = [], [], [], ""
    for _ in range(args.runs):
        dt, summary = run_once(ctsim, pcap)
        times.append(dt)
        if ref:
            ref_times.append(run_once(ref, pcap)[0])
        if ovs:
            ovs_times.append(run_ovs(ovs, pcap))
    med = statistics.median(times)
    load = os.getloadavg()[0]
    print(f"ctsim replay {pcap.name}: {packets} packets, {args.conns} connections")
    print(f"  runs (s):     {' '.join(f'{t:.3f}' for t in times)}   (load avg {load:.2f})")
    print(f"  median:       {med:.3f} s   {packets / med / 1e6:.2f} Mpackets/s   "
          f"{med / packets * 1e9:.0f} ns/packet (end to end, with the final listing)")
    print(f"  OVS anchor:   {OVS_ANCHOR[0]:.2f}-{OVS_ANCHOR[1]:.2f} s   target: <= {TARGET} s   "
          f"-> {'met' if med <= TARGET else 'NOT met'}")
    if ref:
        rmed = statistics.median(ref_times)
        print(f"  ref {ref}: {' '.join(f'{t:.3f}' for t in ref_times)}   median {rmed:.3f} s"
              f"   ctsim/ref {med / rmed:.3f}")
    if ovs:
        omed = statistics.median(ovs_times)
        print(f"  OVS {ovs}: {' '.join(f'{t:.3f}' for t in ovs_times)}   median {omed:.3f} s"
              f"   ctsim/OVS {med / omed:.3f} (target <= 0.25)")
    else:
        print(f"  ctsim/OVS anchor (no OVS in this run): {med / OVS_ANCHOR[1]:.3f}-"
              f"{med / OVS_ANCHOR[0]:.3f}")
    print("  " + summary.strip().replace("\n", "\n  "))
    if args.perf:
        profile(ctsim, pcap, args.workdir)


if __name__ == "__main__":
    main()
