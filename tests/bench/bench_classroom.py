#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A classroom on one machine (issue 15 part 3): how many labs fit, with
interactive latency?

For each N of --labs: ``ctsim classroom start N docs/labs/01-icmp-anatomy``
(N independent labs: own daemon, namespaces, socket), a web server in every
lab's server namespace, then

* idle (--idle s): each lab's memory (VmRSS of its daemon and of its `lab
  start` journal writer, summed) and CPU (utime+stime over the interval, in
  % of one core);
* busy (--busy s): every lab but the first runs a student's traffic — ping
  (--ping-interval, default 0.05 s) and a curl loop (one request every
  --curl-interval s) — while the first lab's client pings its server
  (--probes pings, 0.1 s apart): the RTT a student at the keyboard sees
  (avg, p95, max), each busy lab's CPU, and the whole machine's CPU use
  (all cores, everything running: the students' programs included).

The anchor is the same probe through a classroom of one idle lab, measured
first in the same run: each N's RTT is printed as a ratio to it. "Fits"
means: the probe's p95 under 10 ms and its max under 100 ms (a keystroke
echoed in an interactive shell feels immediate below that), and the memory
of N labs below --mem-budget (default: MemAvailable at the start).

Needs root. Prints a table (and --json for a machine-readable one).
Usage:
    tests/bench/bench_classroom.py [--labs 1,2,4,8,16] [--ctsim-build DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HZ = os.sysconf("SC_CLK_TCK")
HTTP = ("import http.server, socketserver\n"
        "class S(socketserver.TCPServer): allow_reuse_address = True\n"
        "S(('0.0.0.0', 8000), http.server.SimpleHTTPRequestHandler).serve_forever()\n")


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    try:
        text = open(f"/proc/{pid}/stat").read()
    except OSError:
        return 0
    f = text[text.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])          # utime, stime


def children(pid):
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def machine_busy():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) - f[3] - f[4], sum(f)


def mem_available_kib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


class Classroom:
    def __init__(self, ctsim, n, rundir, prefix):
        self.ctsim, self.n, self.rundir, self.prefix = ctsim, n, rundir, prefix
        res = subprocess.run([ctsim, "classroom", "start", str(n), "docs/labs/01-icmp-anatomy",
                              "--dir", rundir, "--prefix", prefix], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(res.stdout + res.stderr)
        self.seats = []                      # (lab start pid, [its pids])
        for line in open(os.path.join(rundir, "classroom")):
            if line.startswith("#"):
                continue
            pid = int(line.split()[1])
            self.seats.append([pid] + children(pid))
        self.bg = []
        for i in range(1, n + 1):
            self.bg.append(self.spawn(i, "server", sys.executable, "-c", HTTP))
        for i in range(1, n + 1):
            self.wait_port(i)

    def ns(self, i, host):
        return f"{self.prefix}{i:02d}-{host}"

    def spawn(self, i, host, *cmd):
        return subprocess.Popen(["ip", "netns", "exec", self.ns(i, host), *cmd],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_port(self, i):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            out = subprocess.run(["ip", "netns", "exec", self.ns(i, "server"), "ss", "-ltn"],
                                 capture_output=True, text=True).stdout
            if ":8000 " in out:
                return
            time.sleep(0.05)
        raise RuntimeError(f"lab {i}: the web server did not start")

    def sample(self):
        return [(sum(rss_kib(p) for p in pids), sum(cpu_ticks(p) for p in pids))
                for pids in self.seats]

    def down(self):
        for p in self.bg:
            p.kill()
            p.wait()
        subprocess.run([self.ctsim, "classroom", "down", "--dir", self.rundir],
                       capture_output=True, timeout=120)


def cpu_pct(before, after, secs):
    return [100.0 * (a[1] - b[1]) / HZ / secs for b, a in zip(before, after)]


def probe(room, count):
    """RTTs (ms) of @count pings through lab 1, 0.1 s apart."""
    res = subprocess.run(["ip", "netns", "exec", room.ns(1, "client"), "ping", "-n", "-c",
                          str(count), "-i", "0.1", "-W", "2", "10.77.2.2"],
                         capture_output=True, text=True, timeout=count + 30)
    rtts = [float(w.split("=")[1]) for line in res.stdout.splitlines()
            for w in line.split() if w.startswith("time=")]
    lost = count - len(rtts)
    return rtts, lost


def pctl(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def measure(ctsim, n, args, tmp):
    rundir = os.path.join(tmp, f"room{n}")
    room = Classroom(ctsim, n, rundir, f"bc{os.getpid() % 1000:03d}")
    try:
        time.sleep(1.0)
        s0 = room.sample()
        time.sleep(args.idle)
        s1 = room.sample()
        idle_cpu = cpu_pct(s0, s1, args.idle)
        rss = [s[0] for s in s1]
        load = []
        for i in range(2, n + 1):
            load.append(room.spawn(i, "client", "ping", "-q", "-i", str(args.ping_interval),
                                   "10.77.2.2"))
            load.append(room.spawn(i, "client", "sh", "-c",
                                   f"while :; do curl -s -o /dev/null http://10.77.2.2:8000/; "
                                   f"sleep {args.curl_interval}; done"))
        time.sleep(0.5)
        b0, m0 = room.sample(), machine_busy()
        t0 = time.monotonic()
        rtts, lost = probe(room, args.probes)
        secs = time.monotonic() - t0
        b1, m1 = room.sample(), machine_busy()
        busy_cpu = cpu_pct(b0, b1, secs)[1:] or [0.0]
        for p in load:
            p.kill()
            p.wait()
        return {
            "labs": n,
            "rss_kib_per_lab": statistics.mean(rss),
            "idle_cpu_pct_per_lab": statistics.mean(idle_cpu),
            "busy_cpu_pct_per_lab": statistics.mean(busy_cpu),
            "rtt_avg_ms": statistics.mean(rtts) if rtts else float("nan"),
            "rtt_p95_ms": pctl(rtts, 0.95),
            "rtt_max_ms": max(rtts) if rtts else float("nan"),
            "probes_lost": lost,
            "machine_busy_pct": 100.0 * (m1[0] - m0[0]) / max(1, m1[1] - m0[1]),
        }
    finally:
        room.down()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labs", default="1,2,4,8,16")
    ap.add_argument("--ctsim-build", default=os.environ.get("CTSIM_BUILD", str(ROOT / "build")))
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--probes", type=int, default=50)
    ap.add_argument("--ping-interval", type=float, default=0.05)
    ap.add_argument("--curl-interval", type=float, default=0.2)
    ap.add_argument("--mem-budget", type=int, default=0, help="KiB (default: MemAvailable)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_classroom: needs root (network namespaces)")
    ctsim = str(Path(args.ctsim_build) / "ctsim" / "ctsim")
    budget = args.mem_budget or mem_available_kib()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        anchor = measure(ctsim, 1, args, tmp)
        for n in [int(x) for x in args.labs.split(",")]:
            rows.append(anchor if n == 1 else measure(ctsim, n, args, tmp))
    base = anchor["rtt_avg_ms"]
    for r in rows:
        r["rtt_ratio_to_anchor"] = r["rtt_avg_ms"] / base if base else float("nan")
        r["interactive"] = r["rtt_p95_ms"] < 10 and r["rtt_max_ms"] < 100 and not r["probes_lost"]
        r["fit_by_memory"] = int(budget // max(1, r["rss_kib_per_lab"]))
    if args.json:
        print(json.dumps({"anchor_rtt_ms": base, "mem_budget_kib": budget, "cpus": os.cpu_count(),
                          "rows": rows}, indent=1))
        return
    print(f"anchor: ping through 1 idle lab, avg {base:.3f} ms; {os.cpu_count()} CPUs; "
          f"memory budget {budget // 1024} MiB")
    print(f"{'labs':>4} {'RSS/lab':>9} {'idle CPU':>9} {'busy CPU':>9} {'RTT avg':>8} "
          f"{'p95':>7} {'max':>7} {'ratio':>6} {'lost':>4} {'machine':>7} {'interactive':>11} "
          f"{'fit(mem)':>8}")
    for r in rows:
        print(f"{r['labs']:>4} {r['rss_kib_per_lab'] / 1024:>7.1f}Mi {r['idle_cpu_pct_per_lab']:>8.2f}%"
              f" {r['busy_cpu_pct_per_lab']:>8.2f}% {r['rtt_avg_ms']:>6.3f}ms"
              f" {r['rtt_p95_ms']:>5.2f}ms {r['rtt_max_ms']:>5.2f}ms {r['rtt_ratio_to_anchor']:>6.2f}"
              f" {r['probes_lost']:>4} {r['machine_busy_pct']:>6.0f}%"
              f" {'yes' if r['interactive'] else 'no':>11}"
              f" {r['fit_by_memory']:>8}")


if __name__ == "__main__":
    main()
