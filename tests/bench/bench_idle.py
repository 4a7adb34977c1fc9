#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Idle CPU of a ctsim daemon holding many entries (issue 16 part 4).

For each --entries size, and for each build given (--ctsim-build, and the
reference --ref-build, e.g. the main branch's, measured in the same run):
start a fresh daemon with nf_conntrack_max sized for it (and the default
nf_conntrack_buckets unless --buckets), fill it with UDP entries (CTA_TIMEOUT 600 s) through the batching
raw ctnetlink client of ctsim/scenario/wire.py, check the count, then leave
it alone and read utime+stime from /proc/PID/stat over --windows windows
of --seconds each. Prints the CPU share of each window and of the whole
idle period (a daemon pacing its GC as the kernel's gc_worker walks a table
of long timeouts once a minute: use windows that cover at least 60 s to
include one pass), and the ratio of the two builds. Target: < 2 % of a CPU.

The daemon's CPU time does not depend on other load the way wall-clock
timings do, but cache misses of the GC walk do: record the load average.

Usage:
    tests/bench/bench_idle.py [--ctsim-build DIR] [--ref-build DIR]
        [--entries 1000000 2000000] [--seconds 30] [--windows 2]
Needs no root.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "ctsim" / "scenario"))
sys.path.insert(0, str(HERE))
import wire as W  # noqa: E402
from bench_ctnetlink import start_ctsim, stop_ctsim  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of @pid, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def idle_cost(build, n, seconds, windows, buckets):
    tmp = tempfile.mkdtemp(prefix="ctsim-bench-idle-")
    sock = os.path.join(tmp, "ct.sock")
    extra = ["--set", f"nf_conntrack_max={max(n, 262144)}"]
    if buckets:
        extra += ["--set", f"nf_conntrack_buckets={buckets}"]
    proc = start_ctsim(build, sock, extra)
    try:
        with W.CtsimConn(sock) as c:
            t0 = time.perf_counter()
            errors = W.bulk_insert(c, n, batch_bytes=16384, timeout=600)
            fill = time.perf_counter() - t0
            count = W.count_entries(c)
        if errors or count != n:
            raise RuntimeError(f"fill: {errors} errors, table has {count} of {n}")
        shares = []
        for _ in range(windows):
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            c1, t1 = cpu_seconds(proc.pid), time.monotonic()
            shares.append((c1 - c0) / (t1 - t0))
        with W.CtsimConn(sock) as c:
            after = W.count_entries(c)
        if after != n:      # 600 s timeouts: nothing may expire while idle
            raise RuntimeError(f"table holds {after} entries after the idle period, expected {n}")
        return {"fill": fill, "shares": shares, "buckets": buckets or "default"}
    finally:
        stop_ctsim(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ctsim-build", type=Path,
                    default=Path(os.environ.get("CTSIM_BUILD", ROOT / "build")))
    ap.add_argument("--ref-build", type=Path, help="a second build to measure in the same run")
    ap.add_argument("--entries", type=int, nargs="+", default=[1000000, 2000000])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--buckets", type=int, help="nf_conntrack_buckets (default: the daemon's, 262144)")
    args = ap.parse_args()
    builds = [("ctsim", args.ctsim_build.resolve())]
    if args.ref_build:
        builds.append(("ref", args.ref_build.resolve()))
    print(f"# {os.uname().release}; {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, b in builds:
        print(f"# {name}: {b}")
    print(f"# {args.windows} windows of {args.seconds:g} s per daemon; target < 2 % of a CPU")
    print(f"{'build':<6} {'entries':>9} {'buckets':>9} {'fill s':>7} {'windows (% of a CPU)':>28} "
          f"{'mean %':>7} {'target':>7}")
    res = {}
    for n in args.entries:
        for name, b in builds:
            r = idle_cost(b, n, args.seconds, args.windows, args.buckets)
            mean = 100 * sum(r["shares"]) / len(r["shares"])
            res[(name, n)] = mean
            ws = " ".join(f"{100 * s:.2f}" for s in r["shares"])
            print(f"{name:<6} {n:>9} {r['buckets']:>9} {r['fill']:>7.2f} {ws:>28} {mean:>7.2f} "
                  f"{'ok' if mean < 2 else 'MISS':>7}", flush=True)
    if args.ref_build:
        for n in args.entries:
            a, r = res[("ctsim", n)], res[("ref", n)]
            print(f"# {n} entries: ctsim/ref idle CPU {a / r:.3f}" if r > 0 else
                  f"# {n} entries: ref used no CPU")
    print(f"# load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if all(v < 2 for (name, _), v in res.items() if name == "ctsim") else 1


if __name__ == "__main__":
    sys.exit(main())
