#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario files through the live lab: ``ctsim scenario run --live``.

For each scenario, ctsim exports its steps (``ctsim scenario export FILE
--json``) and runs it offline (``ctsim scenario run FILE --json``). This
driver then starts a ctsim daemon with ``--lab --topology T`` whose hosts are
the scenario's hosts (one line each: the host's address in its /24 and /64,
a ctsim address in the same prefixes that no scenario host uses; client-side
hosts on ct-cN, server-side hosts on ct-sN, so rules on ``iifname "ct-c*"``
mean the same), with the scenario's ruleset (``--ruleset``) and its ``set``
lines at time 0 (``--set``). Each packet is written, exactly as exported, at
its time (real time) into the TUN interface of its source host with an
AF_PACKET socket; the hosts' own stacks are silenced by an nft table in each
namespace (prerouting and output drop), so nothing but the scenario's packets
reaches ctsim. Compared with the offline run:

* the verdict of every packet, where observable: "accept" when the packet
  (possibly translated) arrives at another host's interface, "drop" when
  nothing arrives there;
* ``conntrack -L`` at the end and the ``conntrack -E`` log, through
  ctsim-exec, normalised as in kernel_scenarios.py (remaining timeouts within
  2 s, order of listed entries);
* the ``invalid``, ``error``, ``drop``, ``early_drop`` and ``insert_failed``
  statistics.

Skipped, with the reason: emulator-only scenarios, scenarios longer than
--max-duration ("needs virtual time"), scenarios with steps the lab cannot
replay (settings changed after the start; ruleset changes and reloads are
made with ``ctctl reload`` (as SIGHUP) of the new file, listener switches start and stop
``conntrack -E``), and hosts that do not map onto a lab topology (no IPv4 address, two
hosts in one /24).

Exit status: 0 when every scenario that is neither waiting nor skipped agrees
with the offline run; 1 otherwise; 2 for usage errors.
"""

import argparse
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kernel_scenarios import (CLONE_NEWNET, CONNTRACK, NFT, STATS, Skip, _libc, collect,
                              ctsim_json, diff, sh, stats_sum)
import ctypes

import wire

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
HOSTDROP = ("table inet hostdrop {\n"
            " chain in { type filter hook prerouting priority -500; policy drop; }\n"
            " chain out { type filter hook output priority -500; policy drop; }\n}\n")


def in_netns(ns, fn):
    me = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        return fn()
    finally:
        _libc.setns(me, CLONE_NEWNET)
        os.close(fd)
        os.close(me)


def topology(hosts):
    """Topology text for the scenario's hosts, and {host name: ifname}."""
    lines, ifs, nets, count = [], {}, set(), {"client": 0, "server": 0}
    used4 = {h["addr4"] for h in hosts if h.get("addr4")}
    used6 = {ipaddress.ip_address(h["addr6"]) for h in hosts if h.get("addr6")}
    for h in hosts:
        if not h.get("addr4"):
            raise Skip(f"host {h['name']} has no IPv4 address (the lab needs one)")
        side = "client" if h["side"] == "client" else "server"
        ifname = f"ct-{side[0]}{count[side]}"
        count[side] += 1
        net = ipaddress.ip_network(h["addr4"] + "/24", strict=False)
        if net in nets:
            raise Skip(f"hosts share {net}: not a lab topology")
        nets.add(net)
        me = next(str(a) for a in (net[1], net[254], *net.hosts()) if str(a) not in used4)
        line = f"host {h['name']} {ifname} {h['addr4']}/24 {me}"
        if h.get("addr6"):
            net6 = ipaddress.ip_network(h["addr6"] + "/64", strict=False)
            me6 = next(a for a in (net6[1], net6[0xfffe], net6[2], net6[3]) if a not in used6)
            line += f" {h['addr6']}/64 {me6}"
        lines.append(line)
        ifs[h["name"]] = ifname
    return "\n".join(lines) + "\n", ifs


class LiveLab:
    """A ctsim daemon with its lab for one scenario."""

    def __init__(self, a, exp, prefix, work):
        self.a, self.prefix, self.work = a, prefix, Path(work)
        self.proc, self.socks, self.rx = None, {}, {}
        topo, self.ifs = topology(exp["hosts"])
        self.side = {h["name"]: h["side"] for h in exp["hosts"]}
        (self.work / "topo").write_text(topo)
        ruleset, sets = exp["default_ruleset"], []
        for s in exp["steps"]:
            if s["t"] != 0 or s["kind"] not in ("set", "ruleset"):
                break
            if s["kind"] == "set":
                sets += ["--set", f"{s['name']}={s['value']}"]
            else:
                ruleset = s["ruleset"]
        (self.work / "ruleset").write_text(ruleset or "")
        self.socket = str(self.work / "ct.sock")
        self.log = open(self.work / "ctsim.log", "w+")
        try:
            self.proc = subprocess.Popen(
                [a.ctsim, "--socket", self.socket, "--lab", "--lab-prefix", prefix,
                 "--topology", str(self.work / "topo"), "--ruleset", str(self.work / "ruleset"),
                 *sets], stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                start_new_session=True)
            self._wait_up()
            for name, ifname in self.ifs.items():
                ns = prefix + name
                sh("ip", "netns", "exec", ns, NFT, "-f", "-", input=HOSTDROP)
                self.socks[name] = in_netns(ns, lambda: socket.socket(socket.AF_PACKET,
                                                                      socket.SOCK_DGRAM))
                rx = in_netns(ns, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                                        socket.htons(ETH_P_ALL)))
                rx.bind((ifname, ETH_P_ALL))
                rx.setblocking(False)
                self.rx[name] = rx
            time.sleep(0.1)
            self.drain()
        except BaseException:
            self.close()
            raise

    def _wait_up(self, limit=10.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"ctsim exited ({self.proc.returncode}): {self.log.read()}")
            if os.path.exists(self.socket) and all(
                    subprocess.run(["ip", "-n", self.prefix + n, "link", "show", i],
                                   capture_output=True).returncode == 0
                    for n, i in self.ifs.items()):
                return
            time.sleep(0.05)
        raise RuntimeError("the lab did not come up within %.0f s" % limit)

    def exec(self, *cmd, **kw):
        return subprocess.run([self.a.ctsim_exec, "--socket", self.socket, *cmd],
                              capture_output=True, text=True, timeout=30, **kw)

    def popen(self, *cmd):
        return subprocess.Popen([self.a.ctsim_exec, "--socket", self.socket, *cmd],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def send(self, host, pkt):
        proto = 0x86DD if pkt[0] >> 4 == 6 else 0x0800
        self.socks[host].sendto(pkt, (self.ifs[host], proto))

    def drain(self):
        """{host: number of packets that arrived at it} since the last call."""
        got = {}
        for name, s in self.rx.items():
            n = 0
            while True:
                try:
                    _, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING:
                    n += 1
            got[name] = n
        return got

    def close(self):
        for s in (*self.socks.values(), *self.rx.values()):
            s.close()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run([self.a.ctsim, "lab", "down", "--prefix", self.prefix],
                       capture_output=True, timeout=30)
        self.log.close()


def check_replayable(exp, max_duration):
    if exp["duration"] > max_duration:
        raise Skip(f"needs virtual time (takes {exp['duration']:.1f} s, "
                   f"limit {max_duration:.0f} s)")
    start = True
    for s in exp["steps"]:
        if start and s["t"] == 0 and s["kind"] in ("set", "ruleset"):
            continue
        start = False
        if s["kind"] not in ("packet", "expect", "insert", "delete", "flush", "ruleset",
                             "reload", "listener", "netlink"):
            raise Skip(f"line {s['line']}: a {s['kind']} step during the run")


def source_host(hosts, side, pkt):
    """The scenario host that sends @pkt: the one with its source address,
    else the first host of its side."""
    if pkt[0] >> 4 == 6:
        saddr = str(ipaddress.IPv6Address(pkt[8:24]))
    else:
        saddr = str(ipaddress.IPv4Address(pkt[12:16]))
    for h in hosts:
        if saddr in (h.get("addr4"), h.get("addr6") and str(ipaddress.ip_address(h["addr6"]))):
            return h["name"]
    return next(h["name"] for h in hosts if h["side"] == side)


def live_run(a, exp, prefix):
    check_replayable(exp, a.max_duration)
    with tempfile.TemporaryDirectory(prefix="ctlive") as work:
        lab = LiveLab(a, exp, prefix, work)
        events, log = None, []
        try:
            if exp["listener_at_start"]:
                events = lab.popen(CONNTRACK, "-E")
                time.sleep(0.3)
            trace = []
            t0 = time.monotonic()
            start = True        # the leading set and ruleset steps are options
            for s in exp["steps"]:
                if start and s["t"] == 0 and s["kind"] in ("set", "ruleset", "expect"):
                    continue
                start = False
                if s["kind"] == "expect":
                    continue
                delay = t0 + s["t"] - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if s["kind"] == "packet":
                    pkt = bytes.fromhex(s["hex"])
                    src = source_host(exp["hosts"], s["side"], pkt)
                    lab.send(src, pkt)
                    time.sleep(0.02)
                    got = lab.drain()
                    n = sum(v for k, v in got.items() if k != src)
                    trace.append({"line": s["line"], "verdict": "accept" if n else "drop"})
                elif s["kind"] in ("insert", "delete"):
                    lab.exec(CONNTRACK, *s["conntrack"])
                elif s["kind"] == "flush":
                    lab.exec(CONNTRACK, "-F")
                elif s["kind"] == "netlink":    # the request bytes, to the daemon's socket
                    conn = wire.CtsimConn(lab.socket)
                    try:
                        conn.exchange(bytes.fromhex(s["hex"]))
                    finally:
                        conn.close()
                elif s["kind"] in ("ruleset", "reload"):
                    if s["kind"] == "ruleset":
                        (lab.work / "ruleset").write_text(s["ruleset"] or "")
                    res = subprocess.run([a.ctctl, "--socket", lab.socket, "reload"],
                                         capture_output=True, text=True, timeout=30)
                    if res.returncode:
                        raise RuntimeError(f"line {s['line']}: ctctl reload: {res.stderr}")
                elif s["kind"] == "listener":
                    if s["on"] and not events:
                        events = lab.popen(CONNTRACK, "-E")
                        time.sleep(0.3)
                    elif not s["on"] and events:
                        time.sleep(0.2)
                        events.send_signal(signal.SIGINT)
                        log += events.communicate(timeout=10)[0].splitlines()
                        events = None
            delay = t0 + exp["duration"] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            table = lab.exec(CONNTRACK, "-L").stdout.splitlines()
            stats = lab.exec(CONNTRACK, "-S").stdout
            expectations = lab.exec(CONNTRACK, "-L", "expect").stdout.splitlines()
            if events:
                time.sleep(0.2)
                events.send_signal(signal.SIGINT)
                log += events.communicate(timeout=10)[0].splitlines()
            return trace, table, log, stats, expectations
        finally:
            if events and events.poll() is None:
                events.kill()
                events.wait()
            lab.close()


def compare(sim, live):
    trace, table, events, stats, expectations = live
    out = []
    for a, b in zip(sim["trace"], trace):
        if a.get("verdict") in ("accept", "drop") and a["verdict"] != b["verdict"]:
            out.append(f"line {a['line']}: verdict: offline {a['verdict']}, live {b['verdict']}")
    eq, d = diff(sim["table"], table, ordered=False)
    if not eq:
        out.append("conntrack -L (- offline, + live):\n" + d)
    eq, d = diff(sim["expectations"], expectations, ordered=False)
    if not eq:
        out.append("conntrack -L expect (- offline, + live):\n" + d)
    eq, d = diff(sim["events"], events, ordered=True)
    if not eq:
        out.append("conntrack -E (- offline, + live):\n" + d)
    s1, s2 = stats_sum(sim["stats"]), stats_sum(stats)
    bad = [f"{k}: offline {s1[k]}, live {s2[k]}" for k in STATS if s1[k] != s2[k]]
    if bad:
        out.append("conntrack -S: " + "; ".join(bad))
    return "\n".join(out)


def one(a, path, prefix):
    exp = ctsim_json(a.ctsim, "export", path, "--json")
    r = {"file": path, "waits_for": exp["waits_for"], "title": exp["title"]}
    if exp["emulator_only"]:
        return {**r, "result": "skipped", "why": "emulator-only: " + exp["emulator_only"]}
    sim = ctsim_json(a.ctsim, "run", path, "--json")["scenarios"][0]
    try:
        live = live_run(a, exp, prefix)
    except Skip as e:
        return {**r, "result": "skipped", "why": str(e)}
    except Exception as e:      # a setup failure is a failure, with its reason
        return {**r, "result": "error", "why": str(e)}
    d = compare(sim, live)
    # as kernel_scenarios.one(): a waiting file that ctsim passes and the
    # lab agrees with has nothing left to wait for; its marker must go
    return {**r, "result": "differ" if d else "agree", "why": d,
            "unexpectedly_passing": bool(exp["waits_for"]) and not d
            and sim["result"] == "unexpectedly passing"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--ctsim", default=os.environ.get("CTSIM_BIN", "ctsim"))
    ap.add_argument("--ctsim-exec", default=None)
    ap.add_argument("--ctctl", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--max-duration", type=float, default=6.0)
    a = ap.parse_args()
    if not a.ctsim_exec:
        here = Path(a.ctsim).resolve().parent
        cand = [here.parent / "proto" / "ctsim-exec", here / "ctsim-exec"]
        a.ctsim_exec = next((str(c) for c in cand if c.exists()), "ctsim-exec")
    if not a.ctctl:
        here = Path(a.ctsim).resolve().parent
        cand = [here.parent / "ctctl" / "ctctl", here / "ctctl"]
        a.ctctl = next((str(c) for c in cand if c.exists()), "ctctl")
    if os.geteuid() != 0 or not os.path.exists(CONNTRACK) or not os.path.exists(NFT):
        print("live_scenarios: needs root, nft and conntrack", file=sys.stderr)
        return 2
    results = []
    for i, f in enumerate(collect(a.paths)):
        prefix = "lv%04x%02x-" % (os.getpid() % 0xffff, i % 256)
        r = one(a, f, prefix)
        results.append(r)
        if not a.json:
            tag = {"agree": "agree", "skipped": "skipped: " + r["why"],
                   "differ": "differ", "error": "error: " + r["why"]}[r["result"]]
            if r["result"] == "differ":
                tag += ": " + r["why"].splitlines()[0]
            print(f"{f} {tag}" + (" (waiting)" if r["waits_for"] and r["result"] in
                                  ("differ", "error") else ""), flush=True)
    for r in results:
        r.setdefault("unexpectedly_passing", False)
    bad = [r for r in results if r["result"] in ("differ", "error") and not r["waits_for"]]
    xpass = [r for r in results if r["unexpectedly_passing"]]
    waiting = [r for r in results if r["waits_for"] and not r["unexpectedly_passing"]]
    counts = {k: sum(r["result"] == k for r in results)
              for k in ("agree", "differ", "error", "skipped")}
    if a.json:
        json.dump({"scenarios": results,
                   "summary": dict(counts, waiting=len(waiting),
                                   unexpectedly_passing=len(xpass))}, sys.stdout, indent=1)
        print()
        return 1 if bad or xpass else 0
    for r in results:
        if r["result"] == "differ" and (a.verbose or not r["waits_for"]):
            print(f"\n---- {r['file']} ----\n{r['why']}")
    if waiting or xpass:
        print()
    for r in waiting:
        print(f"waiting: {r['file']} (waits for {r['waits_for']}): live {r['result']}")
    for r in xpass:
        print(f"unexpectedly passing (it waits for {r['waits_for']}): {r['file']}: "
              "remove its waits-for line")
    print(f"\n{counts['agree']} agree, {counts['differ']} differ, {counts['error']} errors, "
          f"{counts['skipped']} skipped; {len(bad)} non-waiting difference"
          f"{'' if len(bad) == 1 else 's'}; {len(waiting)} waiting, "
          f"{len(xpass)} unexpectedly passing")
    return 1 if bad or xpass else 0


if __name__ == "__main__":
    sys.exit(main())
