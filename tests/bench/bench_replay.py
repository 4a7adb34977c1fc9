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
        [--window 10000] [--workdir DIR] [--perf]

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
    args = ap.parse_args()

    ctsim = Path(args.ctsim_build) / "ctsim" / "ctsim"
    pcap = make_pcap(args.workdir, args.conns, args.window)
    packets = 9 * args.conns
    run_once(ctsim, pcap)                       # warm the page cache
    times, summary = [], ""
    for _ in range(args.runs):
        dt, summary = run_once(ctsim, pcap)
        times.append(dt)
    med = statistics.median(times)
    load = os.getloadavg()[0]
    print(f"ctsim replay {pcap.name}: {packets} packets, {args.conns} connections")
    print(f"  runs (s):     {' '.join(f'{t:.3f}' for t in times)}   (load avg {load:.2f})")
    print(f"  median:       {med:.3f} s   {packets / med / 1e6:.2f} Mpackets/s   "
          f"{med / packets * 1e9:.0f} ns/packet (end to end, with the final listing)")
    print(f"  OVS anchor:   {OVS_ANCHOR[0]:.2f}-{OVS_ANCHOR[1]:.2f} s   target: <= {TARGET} s   "
          f"-> {'met' if med <= TARGET else 'NOT met'}")
    print("  " + summary.strip().replace("\n", "\n  "))
    if args.perf:
        profile(ctsim, pcap, args.workdir)


if __name__ == "__main__":
    main()
