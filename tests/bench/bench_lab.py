#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Throughput of the live lab: iperf3 TCP from the client to the server
namespace through ctsim (TUN devices, the hook ladder, conntrack, a stateful
ruleset) and through a kernel router namespace with nf_conntrack and the
same ruleset, in one run. Prints the medians and the ctsim/kernel ratio.

Usage (root): tests/bench/bench_lab.py [--runs N] [--seconds S] [--ctsim-build DIR]

A script, not a test: it never fails a build. It needs iperf3 (apt-get
install iperf3) and builds its own namespaces (prefix "bl<pid>-"), removing
them at the end.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from kernel_router import KernelRouter  # noqa: E402

RULESET = """table inet bench {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    ct state new accept
  }
}
"""
SERVER = "10.77.2.2"


def iperf(ns_client, ns_server, seconds):
    """One iperf3 TCP run client -> server; returns bits/s (receiver side)."""
    srv = subprocess.Popen(["ip", "netns", "exec", ns_server, "iperf3", "-s", "-1", "-B", SERVER],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            ss = subprocess.run(["ip", "netns", "exec", ns_server, "ss", "-ltn"],
                                capture_output=True, text=True).stdout
            if ":5201 " in ss:
                break
            time.sleep(0.05)
        res = subprocess.run(["ip", "netns", "exec", ns_client, "iperf3", "-c", SERVER, "-J",
                              "-t", str(seconds)], capture_output=True, text=True,
                             timeout=seconds + 30)
        data = json.loads(res.stdout)
        return data["end"]["sum_received"]["bits_per_second"]
    finally:
        srv.kill()
        srv.wait()


def ctsim_runs(build, runs, seconds, workdir):
    prefix = f"bl{os.getpid() % 10000}-"
    rules = Path(workdir) / "bench.nft"
    rules.write_text(RULESET)
    sock = str(Path(workdir) / "ct.sock")
    d = subprocess.Popen([str(build / "ctsim" / "ctsim"), "--socket", sock, "--lab",
                          "--lab-prefix", prefix, "--ruleset", str(rules)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            if d.poll() is not None:
                raise RuntimeError(d.stderr.read())
            time.sleep(0.05)
        return [iperf(prefix + "client", prefix + "server", seconds) for _ in range(runs)]
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=20)
        subprocess.run([str(build / "ctsim" / "ctsim"), "lab", "down", "--prefix", prefix],
                       capture_output=True)


def kernel_runs(runs, seconds):
    prefix = f"bk{os.getpid() % 10000}-"
    with KernelRouter(prefix, RULESET) as k:
        return [iperf(k.ns("client"), k.ns("server"), seconds) for _ in range(runs)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--ctsim-build", default=os.environ.get("CTSIM_BUILD", ROOT / "build"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_lab.py: run as root (network namespaces)")
    if not shutil.which("iperf3"):
        sys.exit("bench_lab.py: iperf3 is missing (apt-get install iperf3)")
    build = Path(args.ctsim_build)
    load = open("/proc/loadavg").read().split()[:3]
    print(f"# iperf3 TCP client -> server, {args.seconds} s x {args.runs} runs per side; "
          f"load average {' '.join(load)}")
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as work:
        kern = kernel_runs(args.runs, args.seconds)
        cts = ctsim_runs(build, args.runs, args.seconds, work)
    km, cm = statistics.median(kern), statistics.median(cts)
    print(f"  kernel router : {' '.join(f'{b / 1e9:.2f}' for b in kern)} Gbit/s")
    print(f"  ctsim         : {' '.join(f'{b / 1e9:.3f}' for b in cts)} Gbit/s")
    print()
    print(f"{'path':<28}{'median':>14}")
    print(f"{'kernel router netns':<28}{km / 1e9:>10.2f} Gbit/s")
    print(f"{'ctsim (TUN, userspace)':<28}{cm / 1e9:>10.3f} Gbit/s")
    print(f"ctsim/kernel throughput ratio: {cm / km:.3f}")


if __name__ == "__main__":
    main()
