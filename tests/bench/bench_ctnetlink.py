#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ctsim versus the kernel, driven by the real conntrack 1.4.7.

In one run on this machine: for each of --runs rounds, on a table of
--entries UDP entries,

    conntrack -R FILE        (FILE: --entries lines "-I -s A -d B -p udp ... -w 123")
    conntrack -L > /dev/null
    conntrack -C
    conntrack -F

once against the kernel in a fresh network namespace and once against a
fresh ctsim through the LD_PRELOAD shim; prints the median wall-clock time of
each operation on each side and the ctsim/kernel ratio (target <= 1.0).

Then ctsim's resident memory per entry: a fresh daemon started with
nf_conntrack_max=2000000, VmRSS before and after inserting --mem-entries
(default 1M) entries with a batching raw client (ctsim/scenario/wire.py), printed next
to the anchors (kernel struct nf_conn 248 B, Open vSwitch ~430 B per
connection; target <= 256 B).

Needs root.  Usage:
    tests/bench/bench_ctnetlink.py [--entries 100000] [--runs 5]
        [--ctsim-build DIR] [--mem-entries 1000000] [--via-exec] [--pin CPU]
        [--skip-kernel] [--skip-ctsim] [--skip-memory]
"""

import argparse
import ctypes
import os
import secrets
import shutil
import signal
import socket
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
CLONE_NEWNET = 0x40000000
PIN = None          # --pin CPU: every measured process (and ctsim) on that CPU


def _pin():
    if PIN is not None:
        os.sched_setaffinity(0, {PIN})


# --- workload --------------------------------------------------------------------

def write_restore_file(path, n):
    """n `-I` lines in the style of conntrack-tools' bulk-load-stress.sh."""
    with open(path, "w") as f:
        for i in range(n):
            src = W.ipv4(i + 1, base=0x0A000000)          # 10.0.0.1, 10.0.0.2, ...
            f.write(f"-I -w 123 -s {src} -d 10.255.0.1 -p udp "
                    f"--sport {1024 + i % 60000} --dport 53 -t 300\n")


# --- the two sides -----------------------------------------------------------------

class KernelSide:
    """conntrack run directly inside a fresh netns (setns in the child: no
    `ip netns exec` start-up cost in the measurement)."""

    name = "kernel"

    def __init__(self):
        self.ns = f"ctsim-bench-{secrets.token_hex(3)}"
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.nsfile = f"/run/netns/{self.ns}"
        self.libc = ctypes.CDLL(None, use_errno=True)

    def _enter(self):
        _pin()
        fd = os.open(self.nsfile, os.O_RDONLY)
        if self.libc.setns(fd, CLONE_NEWNET) != 0:
            os._exit(126)
        os.close(fd)

    def run(self, args, **kw):
        return subprocess.run(args, preexec_fn=self._enter, **kw)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.ns])


class CtsimSide:
    """A fresh ctsim; conntrack runs with the shim preloaded."""

    name = "ctsim"

    def __init__(self, build, extra=(), via_exec=False):
        self.dir = tempfile.mkdtemp(prefix="ctsim-bench-")
        self.socket = os.path.join(self.dir, "ct.sock")
        self.proc = start_ctsim(build, self.socket, extra)
        self.env = dict(os.environ, CTSIM_SOCKET=self.socket)
        self.prefix = []
        shim = find_shim(build)
        if via_exec or shim is None:
            self.prefix = [str(build / "proto" / "ctsim-exec"), "--socket", self.socket]
        else:
            self.env["LD_PRELOAD"] = str(shim)

    def run(self, args, **kw):
        return subprocess.run(self.prefix + list(args), env=self.env, preexec_fn=_pin, **kw)

    def close(self):
        stop_ctsim(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def find_shim(build):
    cands = sorted((build / "proto").glob("*shim*.so"))
    return cands[0] if cands else None


def start_ctsim(build, sock, extra=()):
    binary = build / "ctsim" / "ctsim"
    if not binary.exists():
        sys.exit(f"{binary} not found (use --ctsim-build)")
    proc = subprocess.Popen([str(binary), "--socket", sock, *extra],
                            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_pin)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"ctsim exited with {proc.returncode}")
        try:
            with W.CtsimConn(sock):
                return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    sys.exit("ctsim did not start listening")


def stop_ctsim(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- measuring -------------------------------------------------------------------------

OPS = ["-R", "-L", "-C", "-F"]


def timed(side, args, capture=True):
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    t0 = time.perf_counter()
    res = side.run([CONNTRACK, *args], stdout=out, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{side.name}: conntrack {' '.join(args)} failed "
                           f"({res.returncode}): {res.stderr.strip()[-300:]}")
    return dt, res.stdout


def one_round(side, restore_file, n, check_listing):
    out = {}
    out["-R"], _ = timed(side, ["-R", restore_file])
    if check_listing:                      # untimed: does -L really list them all?
        listing = side.run([CONNTRACK, "-L"], capture_output=True, text=True).stdout
        if listing.count("\n") != n:
            raise RuntimeError(f"{side.name}: -L listed {listing.count(chr(10))} entries, expected {n}")
    out["-L"], _ = timed(side, ["-L"], capture=False)      # conntrack -L > /dev/null
    out["-C"], count = timed(side, ["-C"])
    if count.strip() != str(n):
        raise RuntimeError(f"{side.name}: -C says {count.strip()}, expected {n}")
    out["-F"], _ = timed(side, ["-F"])
    return out


def measure(side, restore_file, n, runs):
    side.run([CONNTRACK, "-F"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rounds = []
    for r in range(runs):
        rounds.append(one_round(side, restore_file, n, check_listing=(r == 0)))
        print(f"  {side.name} run {r + 1}/{runs}: " +
              "  ".join(f"{op} {rounds[-1][op]:.3f}s" for op in OPS), flush=True)
    return {op: [x[op] for x in rounds] for op in OPS}


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def memory_per_entry(build, n):
    tmp = tempfile.mkdtemp(prefix="ctsim-bench-mem-")
    sock = os.path.join(tmp, "ct.sock")
    buckets = 1 << max(10, (n - 1).bit_length())
    extra = ["--set", f"nf_conntrack_max={max(2000000, n)}",
             "--set", f"nf_conntrack_buckets={buckets}"]
    proc = start_ctsim(build, sock, extra)
    try:
        with W.CtsimConn(sock) as c:
            W.count_entries(c)
            before = vm_rss(proc.pid)
            t0 = time.perf_counter()
            errors = W.bulk_insert(c, n, batch_bytes=16384, timeout=600)
            dt = time.perf_counter() - t0
            count = W.count_entries(c)
            after = vm_rss(proc.pid)
        if errors or count != n:
            raise RuntimeError(f"bulk insert: {errors} errors, table has {count} of {n}")
        return {"before": before, "after": after, "per_entry": (after - before) / n,
                "insert_s": dt, "buckets": buckets, "asan": "libasan" in open(f"/proc/{proc.pid}/maps").read()}
    finally:
        stop_ctsim(proc)
        shutil.rmtree(tmp, ignore_errors=True)


# --- report ---------------------------------------------------------------------------------

def fmt_s(v):
    return "-" if v is None else (f"{v * 1000:.1f} ms" if v < 1 else f"{v:.3f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ctsim-build", type=Path,
                    default=Path(os.environ.get("CTSIM_BUILD", ROOT / "build")))
    ap.add_argument("--mem-entries", type=int, default=1000000)
    ap.add_argument("--via-exec", action="store_true",
                    help="run conntrack through the ctsim-exec wrapper instead of LD_PRELOAD directly")
    ap.add_argument("--pin", type=int, metavar="CPU",
                    help="run conntrack (and the ctsim daemon) on this CPU only")
    ap.add_argument("--skip-kernel", action="store_true")
    ap.add_argument("--skip-ctsim", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    global PIN
    PIN = args.pin
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, SO_*BUFFORCE)")
    build = args.ctsim_build.resolve()

    ver = subprocess.run([CONNTRACK, "-V"], capture_output=True, text=True)
    print(f"# {(ver.stdout + ver.stderr).strip()}; {os.uname().release}; {os.cpu_count()} CPUs; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# {args.entries} entries, {args.runs} runs per side, ctsim build {build}"
          + (f", pinned to CPU {PIN}" if PIN is not None else ""))

    results = {}
    with tempfile.TemporaryDirectory(prefix="ctsim-bench-") as tmp:
        restore = os.path.join(tmp, "restore.txt")
        write_restore_file(restore, args.entries)
        os.chmod(tmp, 0o755)
        sides = []
        if not args.skip_kernel:
            sides.append(("kernel", KernelSide))
        if not args.skip_ctsim:
            extra = ["--set", f"nf_conntrack_max={max(262144, 2 * args.entries)}"]
            sides.append(("ctsim", lambda: CtsimSide(build, extra, args.via_exec)))
        for name, make in sides:
            side = make()
            try:
                results[name] = measure(side, restore, args.entries, args.runs)
            finally:
                side.close()

    n = args.entries
    labels = {"-R": f"conntrack -R ({n} x -I)", "-L": f"conntrack -L > /dev/null ({n})",
              "-C": "conntrack -C", "-F": f"conntrack -F ({n})"}
    print()
    print(f"{'operation':<34} {'kernel median':>14} {'ctsim median':>14} {'ctsim/kernel':>13} {'target':>7}")
    print("-" * 86)
    for op in OPS:
        k = statistics.median(results["kernel"][op]) if "kernel" in results else None
        c = statistics.median(results["ctsim"][op]) if "ctsim" in results else None
        ratio = f"{c / k:.2f}" if (k and c) else "-"
        ok = "" if ratio == "-" else ("ok" if c / k <= 1.0 else "MISS")
        print(f"{labels[op]:<34} {fmt_s(k):>14} {fmt_s(c):>14} {ratio:>13} {'<= 1.0':>7} {ok}")
    for name in results:
        for op in OPS:
            print(f"#   {name:6} {op}: " + " ".join(f"{x:.3f}" for x in results[name][op]))

    if not args.skip_memory:
        print()
        m = memory_per_entry(build, args.mem_entries)
        print(f"ctsim resident memory at {args.mem_entries} entries "
              f"(nf_conntrack_buckets={m['buckets']}{', ASan build!' if m['asan'] else ''}):")
        print(f"  VmRSS before {m['before'] / 2**20:.1f} MiB, after {m['after'] / 2**20:.1f} MiB, "
              f"insert {m['insert_s']:.2f} s ({args.mem_entries / m['insert_s'] / 1e6:.2f} M entries/s, raw batched client)")
        print(f"{'':2}{'tracker':<36} {'bytes/entry':>12}")
        print(f"  {'ctsim (VmRSS delta / entries)':<36} {m['per_entry']:>12.0f}   "
              f"target <= 256: {'ok' if m['per_entry'] <= 256 else 'MISS'}")
        print(f"  {'kernel struct nf_conn (slab object)':<36} {248:>12}")
        print(f"  {'Open vSwitch userspace (RSS)':<36} {'~430':>12}")


if __name__ == "__main__":
    main()
