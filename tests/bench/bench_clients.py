#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The cost of ctsim-exec's two ways into ctsim (issue 14): the LD_PRELOAD
shim (dynamic programs) and the seccomp supervisor (static and Go programs).

One client, tests/clients/rawct.c, built twice: dynamically (under
ctsim-exec its socket calls go through the shim) and statically (they are
answered by the supervisor). Each lists a table of --entries UDP entries
(`rawct list > /dev/null`), --runs times:

    kernel       static rawct in a netns holding the entries   (the anchor)
    shim         dynamic rawct under ctsim-exec, against ctsim
    supervisor   static rawct under ctsim-exec, against ctsim

and the same for the real `conntrack -L` (kernel vs shim). Prints the median
wall-clock time of each and its ratio to the kernel anchor of the same run.

Needs root.  Usage:
    tests/bench/bench_clients.py [--entries 100000] [--runs 5] [--ctsim-build DIR]
"""

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "ctsim" / "scenario"))
import wire as W  # noqa: E402

CONNTRACK = shutil.which("conntrack") or "/usr/sbin/conntrack"


def timed(argv, env=None):
    t0 = time.monotonic()
    res = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    dt = time.monotonic() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{argv}: {res.stderr.decode(errors='replace')}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ctsim-build", default=os.environ.get("CTSIM_BUILD", ROOT / "build"))
    args = ap.parse_args()
    build = Path(args.ctsim_build)
    exec_ = build / "proto" / "ctsim-exec"
    tmp = Path(tempfile.mkdtemp(prefix="ctsim-bench-clients-"))
    ns = f"ctsim-bc-{secrets.token_hex(3)}"
    daemon = None
    try:
        src = ROOT / "tests" / "clients" / "rawct.c"
        subprocess.run(["gcc", "-O2", "-static", "-o", tmp / "rawct-static", src], check=True)
        subprocess.run(["gcc", "-O2", "-o", tmp / "rawct-dynamic", src], check=True)
        sock = tmp / "ct.sock"
        daemon = subprocess.Popen([build / "ctsim" / "ctsim", "--socket", sock,
                                   "--set", "nf_conntrack_max=2000000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.05)
        with W.CtsimConn(str(sock)) as c:
            assert W.bulk_insert(c, args.entries) == 0
        subprocess.run(["ip", "netns", "add", ns], check=True)
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import wire as W\n"
                "with W.KernelConn() as c: assert W.bulk_insert(c, int(sys.argv[2])) == 0\n")
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code,
                        str(ROOT / "ctsim" / "scenario"), str(args.entries)], check=True)
        nsx = ["ip", "netns", "exec", ns]
        ex = [str(exec_), "--socket", str(sock)]
        cases = [
            ("rawct list  kernel (anchor)", nsx + [tmp / "rawct-static", "list"]),
            ("rawct list  shim", ex + [tmp / "rawct-dynamic", "list"]),
            ("rawct list  supervisor", ex + [tmp / "rawct-static", "list"]),
            ("conntrack -L kernel (anchor)", nsx + [CONNTRACK, "-L"]),
            ("conntrack -L shim", ex + [CONNTRACK, "-L"]),
        ]
        times = {name: [] for name, _ in cases}
        for _ in range(args.runs):
            for name, argv in cases:
                times[name].append(timed([str(a) for a in argv]))
        print(f"{args.entries} entries, median of {args.runs} runs")
        anchor = None
        for name, _ in cases:
            med = statistics.median(times[name])
            if "anchor" in name:
                anchor = med
            print(f"  {name:30s} {med * 1000:9.1f} ms   ratio {med / anchor:5.2f}")
    finally:
        if daemon:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
