#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario files against the real kernel: ``ctsim scenario run --kernel``.

For each scenario, ctsim exports its steps (``ctsim scenario export FILE
--json``: the packets as bytes, with the side they come from, their times,
the ruleset text, the sysctls and the control operations) and runs it
offline (``ctsim scenario run FILE --json``: the ct state of every packet,
the final ``conntrack -L``, the ``conntrack -E`` log and ``conntrack -S``).
This driver replays the same steps through a kernel router namespace and
compares:

* the ct state of every packet (new, established, related, invalid,
  untracked), read from per-state counters of a probe chain at prerouting
  priority -150 (after conntrack): the kernel's "verdict" on each packet;
* the verdict on every packet: whether anything reached a host after it
  (the hosts' eth0 taps: a helper's drop happens after every nft chain of
  the router, so only the receiving side sees it), against what ctsim's
  router sent;
* ``conntrack -L`` and ``conntrack -L expect`` at the end, and the
  ``conntrack -E`` and ``conntrack -E expect`` logs of the run, normalised
  only in remaining timeouts (within 2 s: the kernel run takes real time)
  and in the order of listed entries;
* the ``invalid``, ``error``, ``drop``, ``early_drop`` and ``insert_failed``
  statistics, summed over CPUs.

Topology (one set of namespaces per scenario, so scenarios run in parallel)::

  PREFIX-c (eth0) <-veth-> (ct-c0) PREFIX-r (ct-s0) <-veth-> (eth0) PREFIX-s

The router's interfaces are named like ctsim's, so rules on
``iifname "ct-c*"`` mean the same in both worlds. The hosts have no
addresses: packets are written with an AF_PACKET socket on their eth0, to
the router's MAC, and packets the router forwards to them are dropped by
their stacks (never answered). The router has a /32 (/128) route and a
permanent neighbour entry for every scenario host.

Scenarios marked ``emulator-only`` are skipped with their reason, as are
scenarios longer than --max-duration (scale their timeouts down with
``set`` lines) and scenarios whose sysctls the kernel does not accept in a
network namespace.

``nf_conntrack_max`` and ``nf_conntrack_buckets`` are global on a kernel
(read-only in a network namespace). A scenario that sets them is skipped
unless ``CTSIM_KERNEL_GLOBAL_SIZING=1`` is in the environment: then it runs
after all others, alone, with the initial namespace's ``nf_conntrack_max``
and the module's ``hashsize`` set to its values for its duration and
restored afterwards, also on failure (the kernel rounds the hash size up to
512 buckets, one page of heads: only scenarios whose outcome does not depend
on the hash are worth running so). Any other namespace of the machine with
more entries than the lowered limit drops new flows meanwhile. The recipe is that of ../shared/oracle/kernel-oracle.sh,
rewritten; nothing is copied from it.

Exit status: 0 when every scenario that is neither waiting nor skipped
agrees with the kernel; 1 otherwise; 2 for usage errors.
"""

import argparse
import concurrent.futures
import ctypes
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

CONNTRACK = shutil.which("conntrack") or "/usr/sbin/conntrack"
NFT = shutil.which("nft") or "/usr/sbin/nft"
CLONE_NEWNET = 0x40000000
NETLINK_NETFILTER = 12
IPTABLES = {False: shutil.which("iptables-legacy") or "/usr/sbin/iptables-legacy",
            True: shutil.which("ip6tables-legacy") or "/usr/sbin/ip6tables-legacy"}
STATES = ("new", "established", "related", "invalid", "untracked")
STATS = ("invalid", "error", "drop", "early_drop", "insert_failed", "chaintoolong",
         "clash_resolve")
# Global on a kernel: set for the machine (opt-in), see the module text.
GLOBAL_SIZING = {"nf_conntrack_max": "/proc/sys/net/netfilter/nf_conntrack_max",
                 "nf_conntrack_buckets": "/sys/module/nf_conntrack/parameters/hashsize"}
SIZING_OPT_IN = os.environ.get("CTSIM_KERNEL_GLOBAL_SIZING") == "1"
TOLERANCE = 2           # seconds, remaining timeouts

PROBE = """table inet ctsim_probe {
    chain pre {
        type filter hook prerouting priority -150; policy accept;
        ip6 saddr fe80::/10 return
        ip6 daddr ff00::/8 return
%s
    }
}
""" % "\n".join(f"        ct state {s} counter" for s in STATES)

_libc = ctypes.CDLL(None, use_errno=True)


def sh(*cmd, check=True, input=None, timeout=30):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, input=input,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: {res.stderr.strip()}")
    return res


class Skip(Exception):
    pass


class KernelRouter:
    """Three namespaces for one scenario; see the module text."""

    def __init__(self, hosts):
        p = "ks" + secrets.token_hex(3)
        self.ns = {"client": p + "-c", "router": p + "-r", "server": p + "-s"}
        self.made = []
        self.probe_loaded = False
        try:
            self._setup(hosts)
        except BaseException:
            self.delete()
            raise

    def rtr(self, *cmd, check=True, input=None):
        return sh("ip", "netns", "exec", self.ns["router"], *cmd, check=check, input=input)

    def _setup(self, hosts):
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        r = self.ns["router"]
        self.mac = {}
        for side, rif in (("client", "ct-c0"), ("server", "ct-s0")):
            sh("ip", "link", "add", "eth0", "netns", self.ns[side], "type", "veth", "peer",
               "name", rif, "netns", r)
            # the hosts send nothing of their own (no ND, no MLD)
            sh("ip", "netns", "exec", self.ns[side], "sysctl", "-qw",
               "net.ipv6.conf.eth0.disable_ipv6=1", check=False)
            for ns, dev in ((self.ns[side], "eth0"), (r, rif)):
                sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{dev}.accept_dad=0",
                   check=False)
                sh("ip", "-n", ns, "link", "set", dev, "up")
            self.mac[side] = json.loads(sh("ip", "-j", "-n", self.ns[side], "link", "show",
                                           "eth0").stdout)[0]["address"]
            self.mac["router-" + side] = json.loads(sh("ip", "-j", "-n", r, "link", "show",
                                                       rif).stdout)[0]["address"]
            self._tx_csum_off(r, rif)
        for k in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                  "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                  "net.ipv4.conf.all.send_redirects=0"):
            self.rtr("sysctl", "-qw", k)
        for h in hosts:
            rif = "ct-c0" if h["side"] == "client" else "ct-s0"
            if h.get("router"):
                # the router's own address on that side (masquerade, redirect)
                for a, plen in ((h.get("addr4"), 32), (h.get("addr6"), 128)):
                    if a:
                        sh("ip", "-n", r, "addr", "add", f"{a}/{plen}", "dev", rif,
                           *(["nodad"] if plen == 128 else []))
                continue
            for a, plen in ((h.get("addr4"), 32), (h.get("addr6"), 128)):
                if not a:
                    continue
                sh("ip", "-n", r, "route", "replace", f"{a}/{plen}", "dev", rif)
                sh("ip", "-n", r, "neigh", "replace", a, "lladdr", self.mac[h["side"]], "dev", rif,
                   "nud", "permanent")
        # Each host drops what it receives before its stack looks at it.
        for side in ("client", "server"):
            sh("ip", "netns", "exec", self.ns[side], NFT, "-f", "-",
               input="table inet hostdrop { chain in { type filter hook prerouting priority -500; "
                     "policy drop; }; }\n")
        self.socks = {side: self._sock_in(self.ns[side]) for side in ("client", "server")}
        # what the router sends each host (ETH_P_ALL on its eth0, incoming only)
        self.taps = {}
        for side in ("client", "server"):
            t = self._sock_in(self.ns[side], proto=socket.htons(0x0003))
            t.bind(("eth0", 0))
            t.setblocking(False)
            self.taps[side] = t

    @classmethod
    def _tx_csum_off(cls, ns, dev):
        """`ethtool -K DEV tx off` (ETHTOOL_STXCSUM through SIOCETHTOOL): a
        NAT helper that changes a payload's length recomputes the TCP
        checksum, and on a device with checksum offload the kernel leaves
        only the pseudo-header sum for the NIC to complete
        (nf_nat_csum_recalc(), CHECKSUM_PARTIAL), which a veth hands to the
        peer as is. Without offload the router writes what a wire carries."""
        s = cls._sock_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
        try:
            val = ctypes.create_string_buffer(struct.pack("II", 0x17, 0), 8)  # ETHTOOL_STXCSUM
            ifr = struct.pack("16sP", dev.encode(), ctypes.addressof(val)) + bytes(16)
            fcntl.ioctl(s.fileno(), 0x8946, ifr)                             # SIOCETHTOOL
        finally:
            s.close()

    @staticmethod
    def _sock_in(ns, family=socket.AF_PACKET, kind=socket.SOCK_DGRAM, proto=0):
        """A socket made inside netns @ns (it stays there)."""
        me = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            s = socket.socket(family, kind, proto)
        finally:
            _libc.setns(me, CLONE_NEWNET)
            os.close(fd)
            os.close(me)
        return s

    def netlink(self, msg):
        """Send one ctnetlink request to the router's kernel; its errno (0: ACK)."""
        nl = self._sock_in(self.ns["router"], socket.AF_NETLINK, socket.SOCK_RAW,
                           NETLINK_NETFILTER)
        try:
            nl.bind((0, 0))
            nl.sendto(msg, (0, 0))
            nl.settimeout(2)
            while True:
                data = nl.recv(65536)
                mlen, mtype = struct.unpack_from("=IH", data)
                if mtype == 2:          # NLMSG_ERROR
                    return -struct.unpack_from("=i", data, 16)[0]
        finally:
            nl.close()

    # `hold` / `release` (two packets in flight): nft_queue.sh's
    # test_udp_ct_race. A rule in mangle POSTROUTING (-150, after DNAT and
    # the forward chains, before SNAT at 100 and conntrack's confirmation at
    # INT_MAX) queues the held packet to NFQUEUE HOLD_QUEUE, its entry
    # unconfirmed; the rule is flushed at once (a flush keeps the hook:
    # unregistering any hook drops queued packets, nf_queue_nf_hook_drop());
    # release = NF_ACCEPT, and the packet goes on to SNAT and
    # __nf_conntrack_confirm(). ctsim holds it after SNAT; the two agree
    # unless the held packet's own SNAT binding races (not expressed).
    HOLD_QUEUE = 7

    def _nfq(self, mtype, attrs):
        """One nfnetlink_queue message (subsystem 3) for queue HOLD_QUEUE."""
        body = struct.pack("!BBH", socket.AF_UNSPEC, 0, self.HOLD_QUEUE)
        for atype, payload in attrs:
            a = struct.pack("=HH", 4 + len(payload), atype) + payload
            body += a + b"\0" * (-len(a) % 4)
        return struct.pack("=IHHII", 16 + len(body), (3 << 8) | mtype, 1 | 4, 0, 0) + body

    def hold(self, side, pkt):
        """Send @pkt and keep it queued before confirmation."""
        if getattr(self, "nfq", None) is None:
            self.nfq = self._sock_in(self.ns["router"], socket.AF_NETLINK, socket.SOCK_RAW,
                                     NETLINK_NETFILTER)
            self.nfq.bind((0, 0))
            self.nfq.settimeout(3)
            # NFQNL_MSG_CONFIG: CMD_BIND (1), then copy mode META (1)
            self.nfq.send(self._nfq(2, [(1, struct.pack("!BBH", 1, 0, 0))]))
            self.nfq.send(self._nfq(2, [(2, struct.pack("!IB", 0, 1))]))
        # this kernel has no nft queue expression (CONFIG_NFT_QUEUE unset):
        # the xt NFQUEUE target, from iptables-legacy's mangle table
        ipt = IPTABLES[pkt[0] >> 4 == 6]
        # -w: scenarios run in parallel, and iptables-legacy takes a
        # machine-wide lock (/run/xtables.lock) that it otherwise fails on
        self.rtr(ipt, "-w", "-t", "mangle", "-A", "POSTROUTING", "-j", "NFQUEUE", "--queue-num",
                 str(self.HOLD_QUEUE))
        self.send(side, pkt)
        self.held_id = None
        deadline = time.monotonic() + 3
        while self.held_id is None and time.monotonic() < deadline:
            data = self.nfq.recv(65536)
            off = 0
            while off + 16 <= len(data):
                mlen, mtype = struct.unpack_from("=IH", data, off)
                if mtype == (3 << 8) | 0:           # NFQNL_MSG_PACKET
                    a = off + 20
                    while a + 4 <= off + mlen:
                        alen, atype = struct.unpack_from("=HH", data, a)
                        if atype & 0x7fff == 1:     # NFQA_PACKET_HDR
                            self.held_id = struct.unpack_from("!I", data, a + 4)[0]
                        a += (alen + 3) & ~3
                off += (mlen + 3) & ~3 if mlen else len(data)
        self.rtr(ipt, "-w", "-t", "mangle", "-F", "POSTROUTING")
        if self.held_id is None:
            raise RuntimeError("hold: the packet never reached the queue before confirmation")

    def release(self):
        """NF_ACCEPT for the held packet: on to confirmation."""
        self.nfq.send(self._nfq(1, [(2, struct.pack("!II", 1, self.held_id))]))
        self.held_id = None

    def sent(self):
        """The IP packets the router sent the hosts since the last call, as
        "c:HEX" / "s:HEX" (the side they left by), as ctsim's trace has them.
        Link-local and multicast IPv6 (neighbour discovery, MLD) is the
        router's own chatter, not forwarded traffic."""
        out = []
        for side, t in self.taps.items():
            while True:
                try:
                    data, addr = t.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == socket.PACKET_OUTGOING or addr[1] not in (0x0800, 0x86DD):
                    continue
                if addr[1] == 0x86DD and (data[8] == 0xfe and data[9] & 0xc0 == 0x80
                                          or data[24] == 0xff):
                    continue
                out.append(side[0] + ":" + data.hex())
        return out

    def send(self, side, pkt):
        proto = 0x86DD if pkt[0] >> 4 == 6 else 0x0800
        mac = bytes.fromhex(self.mac["router-" + side].replace(":", ""))
        self.socks[side].sendto(pkt, ("eth0", proto, 0, 0, mac))

    def addr_del(self, h):
        """`address del`: the router host @h's addresses go (ip addr del)."""
        rif = "ct-c0" if h["side"] == "client" else "ct-s0"
        for a, plen in ((h.get("addr4"), 32), (h.get("addr6"), 128)):
            if a:
                sh("ip", "-n", self.ns["router"], "addr", "del", f"{a}/{plen}", "dev", rif)

    def load_ruleset(self, text):
        """Replace the scenario's tables in one transaction. The probe table
        stays, so conntrack always has a user: dropping the last one would
        unregister the hooks (and NAT's cleanup), which a reload in a real
        setup (`nft -f` with `flush ruleset` at the top) does not do."""
        if not self.probe_loaded:
            self.rtr(NFT, "-f", "-", input=PROBE)
            self.probe_loaded = True
        tables = json.loads(self.rtr(NFT, "-j", "list", "tables").stdout)["nftables"]
        keep = ("ctsim_probe", "ctsim_hold")
        if getattr(self, "held_id", None) is not None:
            # a packet is queued: flush tables instead of deleting them, so
            # that no hook is unregistered (that drops queued packets); the
            # new text declares the same base chains again
            script = "".join(f"flush table {t['table']['family']} {t['table']['name']}\n"
                             for t in tables if "table" in t and t["table"]["name"] not in keep)
        else:
            script = "".join(f"delete table {t['table']['family']} {t['table']['name']}\n"
                             for t in tables if "table" in t and t["table"]["name"] not in keep)
        self.rtr(NFT, "-f", "-", input=script + (text or ""))

    def probe_counters(self):
        out = json.loads(self.rtr(NFT, "-j", "list", "table", "inet", "ctsim_probe").stdout)
        counts = {}
        for item in out["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            state = cnt = None
            for e in rule["expr"]:
                if "match" in e and "ct" in e["match"]["left"]:
                    state = e["match"]["right"]
                    state = state if isinstance(state, str) else state[0]
                if "counter" in e:
                    cnt = e["counter"]["packets"]
            if state and cnt is not None:
                counts[state] = cnt
        return counts

    def delete(self):
        if getattr(self, "nfq", None) is not None:
            self.nfq.close()
        for s in getattr(self, "socks", {}).values():
            s.close()
        for s in getattr(self, "taps", {}).values():
            s.close()
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def nat_class(line):
    """A source port (or ICMP echo id) that NAT moved is random on the
    kernel (nf_nat_l4proto_unique_tuple() starts at get_random_u16()):
    compare its class, not its value. The reply tuple's destination port
    (id) differing from the original source port (id) becomes "~remapped";
    ports a rule chose (DNAT) are the reply's source port and stay."""
    toks = line.split()
    for key, orig_key in (("dport=", "sport="), ("id=", "id=")):
        o = [i for i, t in enumerate(toks) if t.startswith(orig_key)]
        r = [i for i, t in enumerate(toks) if t.startswith(key)]
        if len(o) < 2 or len(r) < 2:
            continue
        orig, reply = toks[o[0]][len(orig_key):], toks[r[1]][len(key):]
        if orig != reply:
            toks[r[1]] = key + "~remapped"
    return " ".join(toks)


def norm(line):
    # the originator of a conntrack -I/-D/-F event: a netlink port id
    line = re.sub(r" \[USERSPACE\] portid=\d+( progname=\S+)?", "", line)
    line = " ".join(line.split())
    return nat_class(re.sub(r"^ipv[46] \d+ ", "", line))


def same_line(a, b, tol=TOLERANCE):
    """Equal but for the remaining timeout, within @tol: the number after
    the protocol number ("tcp 6 120"), or first on an expectation line
    ("300 proto=6 ...", "[NEW] 300 proto=6 ..."). Every other number must
    be equal."""
    ta, tb = a.split(), b.split()
    if len(ta) != len(tb):
        return False
    for i, (x, y) in enumerate(zip(ta, tb)):
        timeout = i == 0 or ta[i - 1].isdigit() or ta[i - 1].startswith("[")
        if timeout and x.isdigit() and y.isdigit():
            if abs(int(x) - int(y)) > tol:
                return False
        elif x != y:
            return False
    return True


def diff(expected, actual, ordered, tol=TOLERANCE):
    """(equal, text): lines with ' ', '-' ctsim only, '+' kernel only;
    remaining timeouts may differ by @tol seconds."""
    e = [norm(x) for x in expected if x.strip()]
    a = [norm(x) for x in actual if x.strip()]
    if not ordered:
        # a listing: pair every line with an equal one anywhere (timeouts
        # within the tolerance can sort differently), then list the rest
        e.sort()
        a.sort()
        left, out = list(a), []
        for x in e:
            k = next((i for i, y in enumerate(left) if same_line(x, y, tol)), None)
            if k is None:
                out.append("- " + x)
            else:
                out.append("  " + left.pop(k))
        out += ["+ " + y for y in left]
        return not left and all(o.startswith("  ") for o in out), "\n".join(out)
    out, eq = [], len(e) == len(a)
    i = j = 0
    while i < len(e) or j < len(a):
        if i < len(e) and j < len(a) and same_line(e[i], a[j], tol):
            out.append("  " + a[j])
            i += 1
            j += 1
        elif i < len(e) and not any(same_line(e[i], x, tol) for x in a[j:]):
            out.append("- " + e[i])
            i += 1
            eq = False
        elif j < len(a):
            out.append("+ " + a[j])
            j += 1
            eq = False
        else:
            out.append("- " + e[i])
            i += 1
            eq = False
    return eq, "\n".join(out)


def stats_sum(text):
    tot = dict.fromkeys(STATS, 0)
    for line in text.splitlines():
        for k in STATS:
            m = re.search(rf"\b{k}=(\d+)", line)
            if m:
                tot[k] += int(m.group(1))
    return tot


def ctsim_json(ctsim, *args):
    res = subprocess.run([ctsim, "scenario", *args], capture_output=True, text=True, timeout=120)
    if res.returncode not in (0, 1) or not res.stdout.strip():
        raise RuntimeError(res.stderr.strip() or f"ctsim scenario {' '.join(args)} failed")
    return json.loads(res.stdout)


def sizing_of(exp):
    """The global sizing sysctls @exp sets, by name."""
    return {s["name"]: s["value"] for s in exp["steps"]
            if s["kind"] == "set" and s["name"] in GLOBAL_SIZING}


class GlobalSizing:
    """The machine's nf_conntrack_max and hash size as a scenario sets them,
    restored on exit (whatever happened)."""

    def __init__(self):
        self.saved = {}

    def set(self, name, value):
        path = GLOBAL_SIZING[name]
        if name not in self.saved:
            with open(path) as f:
                self.saved[name] = f.read().strip()
        with open(path, "w") as f:
            f.write(str(value))

    def restore(self):
        # the limit first: full tables elsewhere recover at once
        for name in sorted(self.saved, key=lambda n: n != "nf_conntrack_max"):
            with open(GLOBAL_SIZING[name], "w") as f:
                f.write(self.saved[name])
        self.saved.clear()


def kernel_run(exp, max_duration, sizing=None):
    """Replay @exp (ctsim's export) through a kernel router. Returns
    (trace, table lines, event lines, stats text). @sizing: a GlobalSizing
    when the scenario may set the global sysctls (opt-in, run alone)."""
    if exp["duration"] > max_duration:
        raise Skip(f"takes {exp['duration']:.1f} s (limit {max_duration:.0f} s; scale its "
                   "timeouts down with set lines)")

    def apply(name, value):
        if name in GLOBAL_SIZING and sizing is not None:
            sizing.set(name, value)
        else:
            k.rtr("sysctl", "-qw", f"net.netfilter.{name}={value}")

    k = KernelRouter(exp["hosts"])
    events = None
    try:
        ruleset = exp["default_ruleset"]
        # the leading sets and rulesets at time 0 (a later one, even at time
        # 0, runs in its place: after a packet, it is a reload)
        pre = []
        for s in exp["steps"]:
            if s["kind"] not in ("set", "ruleset") or s["t"] != 0:
                break
            pre.append(s)
        for s in exp["steps"]:
            if s["kind"] == "set" and s["name"] in GLOBAL_SIZING and sizing is not None:
                sizing.set(s["name"], s["value"])
            elif s["kind"] == "set":
                if k.rtr("sysctl", "-qw", f"net.netfilter.{s['name']}={s['value']}",
                         check=False).returncode:
                    raise Skip(f"sysctl {s['name']} cannot be set in a network namespace")
            if s["kind"] == "ruleset" and s in pre:
                ruleset = s["ruleset"]
            if s not in pre:
                break
        k.load_ruleset(ruleset)

        def listen():
            """conntrack -E and conntrack -E expect, started together."""
            ps = [subprocess.Popen(["ip", "netns", "exec", k.ns["router"], CONNTRACK, "-E",
                                    *extra], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
                  for extra in ((), ("expect",))]
            time.sleep(0.3)     # the listeners must exist before the first entry
            return ps

        log, xlog = [], []

        def unlisten(ps):
            time.sleep(0.2)
            for p, out in zip(ps, (log, xlog)):
                p.send_signal(signal.SIGINT)
                out.extend(p.communicate(timeout=10)[0].splitlines())

        if exp["listener_at_start"]:
            events = listen()
        trace = []
        held_state = "none"
        counters = k.probe_counters()
        lag = 0.0       # how late a step ran: the kernel's timers run in real time
        t0 = time.monotonic()
        for s in exp["steps"]:
            if s in pre:
                continue
            delay = t0 + s["t"] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            lag = max(lag, -delay)
            kind = s["kind"]
            if kind == "packet" and s.get("hold"):
                k.sent()
                k.hold(s["side"], bytes.fromhex(s["hex"]))
                time.sleep(0.005)
                now = k.probe_counters()
                hit = [st for st in STATES if now.get(st, 0) != counters.get(st, 0)]
                counters = now
                held_state = hit[0] if len(hit) == 1 else ("none" if not hit else "+".join(hit))
                trace.append({"line": s["line"], "ctinfo": held_state, "out": k.sent()})
            elif kind == "release":
                k.sent()
                k.release()
                time.sleep(0.02)
                # the probe (prerouting) saw this packet when it came in
                trace.append({"line": s["line"], "ctinfo": held_state, "out": k.sent()})
            elif kind == "packet":
                k.sent()
                k.send(s["side"], bytes.fromhex(s["hex"]))
                time.sleep(0.005)
                now = k.probe_counters()
                hit = [st for st in STATES if now.get(st, 0) != counters.get(st, 0)]
                counters = now
                trace.append({"line": s["line"], "ctinfo": hit[0] if len(hit) == 1 else
                              ("none" if not hit else "+".join(hit)), "out": k.sent()})
            elif kind == "set":
                apply(s["name"], s["value"])
            elif kind == "ruleset":
                ruleset = s["ruleset"]
                k.load_ruleset(ruleset)
            elif kind == "reload":
                k.load_ruleset(ruleset)
            elif kind in ("insert", "delete"):
                k.rtr(CONNTRACK, *s["conntrack"], check=False)
            elif kind == "netlink":     # the same request bytes ctsim handled
                k.netlink(bytes.fromhex(s["hex"]))
            elif kind == "flush":
                k.rtr(CONNTRACK, "-F", check=False)
            elif kind == "address-del":
                # masquerade's inetaddr notifier deletes the entries bound
                # to the address from a work item: give it a moment
                k.addr_del(next(h for h in exp["hosts"] if h["name"] == s["host"]))
                time.sleep(0.05)
            elif kind == "listener":
                if s["on"] and not events:
                    events = listen()
                elif not s["on"] and events:
                    unlisten(events)
                    events = None
        delay = t0 + exp["duration"] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        table = k.rtr(CONNTRACK, "-L", check=False).stdout.splitlines()
        stats = k.rtr(CONNTRACK, "-S", check=False).stdout
        expectations = k.rtr(CONNTRACK, "-L", "expect", check=False).stdout.splitlines()
        if events:
            unlisten(events)
        return {"trace": trace, "table": table, "events": log, "stats": stats,
                "expectations": expectations, "exp_events": xlog, "max_lag": lag}
    finally:
        for p in events or ():
            if p.poll() is None:
                p.kill()
        k.delete()
        if sizing is not None:
            sizing.restore()


def packet_key(p, exact_ports):
    """A packet the router sent ("c:HEX"), for comparison: the side it left
    by, the TTL / hop limit and the IPv4 header checksum left out (ctsim's
    scenario router forwards everything to the other side, without routing
    and so without the TTL decrement: a hairpin leaves by the side it came
    from on the kernel). With
    exact_ports False the L4 ports (ICMP echo id) and the L4 checksum are
    left out too: a port NAT reallocated at random is compared by class, as
    conntrack -L's are (nat_class())."""
    side, b = p[0], bytearray.fromhex(p[2:])
    if not b:
        return p
    if b[0] >> 4 == 4:
        b[4:6] = b"\0\0"       # the id of a packet the router makes is its own choice
        b[8] = 0
        b[10:12] = b"\0\0"
        l4, proto = (b[0] & 15) * 4, b[9]
    else:
        b[7] = 0
        l4, proto = 40, b[6]
    if not exact_ports and len(b) >= l4 + 8:
        if proto in (6, 17, 136, 132):
            b[l4:l4 + 4] = b"\0" * 4
            c = {6: 16, 17: 6, 136: 6}.get(proto)
            if c is not None and len(b) >= l4 + c + 2:
                b[l4 + c:l4 + c + 2] = b"\0\0"
        elif proto in (1, 58):
            b[l4 + 2:l4 + 6] = b"\0" * 4
    return b.hex()


def l4_ids(p):
    """The ports (ICMP, ICMPv6: the echo id) of packet "c:HEX"."""
    b = bytes.fromhex(p[2:])
    l4, proto = ((b[0] & 15) * 4, b[9]) if b[0] >> 4 == 4 else (40, b[6])
    return b[l4 + 4:l4 + 6] if proto in (1, 58) else b[l4:l4 + 4]


def same_packets(a, b):
    """The same packets, byte for byte as packet_key() sees them; a pair
    that differs may differ only where a reallocated port (ICMP id) and the
    checksum covering it are, and only when those ports do differ."""
    left = [packet_key(p, True) for p in b]
    rest_a = []
    for p in a:
        k = packet_key(p, True)
        if k in left:
            left.remove(k)
        else:
            rest_a.append(p)
    rest_b = [p for p in b if packet_key(p, True) in left]
    if len(rest_a) != len(rest_b):
        return False
    for p in rest_a:
        m = next((q for q in rest_b if packet_key(q, False) == packet_key(p, False)
                  and l4_ids(q) != l4_ids(p)), None)
        if m is None:
            return False
        rest_b.remove(m)
    return True


def verdict_diff(a, b):
    """The verdicts on one packet step, ctsim's @a and the kernel's @b, as
    what reached the hosts: the kernel's side is what the taps on the
    hosts' eth0 saw after the packet (the receiving host's own counter: a
    probe chain on the router cannot see a helper's drop, which happens in
    nf_confirm() after every nft chain), ctsim's what its router sent.
    '' when both sent something or both nothing; otherwise the difference
    (a drop only one of them made, or a reject only one answered)."""
    if "out" not in a or "out" not in b or bool(a["out"]) == bool(b["out"]):
        return ""
    return (f"verdict: ctsim {a.get('verdict', '?')} ({len(a['out'])} packet(s) sent), "
            f"kernel {'forwarded or answered' if b['out'] else 'dropped'} "
            f"({len(b['out'])} packet(s) sent)")


def compare(sim, kern, packets=False):
    """Differences between ctsim's run and the kernel's, as text ('' = agree).
    @packets: also the packets the router sent for each packet step."""
    out = []
    for a, b in zip(sim["trace"], kern["trace"]):
        if a["ctinfo"] != b["ctinfo"]:
            out.append(f"line {a['line']}: ct state: ctsim {a['ctinfo']}, kernel {b['ctinfo']}")
        v = verdict_diff(a, b)
        if v:
            out.append(f"line {a['line']}: {v}")
        if packets and not same_packets(a.get("out", []), b.get("out", [])):
            out.append(f"line {a['line']}: packets sent (- ctsim, + kernel):\n" +
                       "\n".join(["- " + p for p in a.get("out", [])] +
                                 ["+ " + p for p in b.get("out", [])]))
    if len(sim["trace"]) != len(kern["trace"]):
        out.append(f"{len(sim['trace'])} packets traced by ctsim, {len(kern['trace'])} "
                   "by the kernel")
    for key, what, ordered in (("table", "conntrack -L", False),
                               ("events", "conntrack -E", True),
                               ("expectations", "conntrack -L expect", False),
                               ("exp_events", "conntrack -E expect", True)):
        eq, d = diff(sim[key], kern[key], ordered=ordered)
        if not eq:
            out.append(f"{what} (- ctsim, + kernel):\n" + d)
    s1, s2 = stats_sum(sim["stats"]), stats_sum(kern["stats"])
    bad = [f"{k}: ctsim {s1[k]}, kernel {s2[k]}" for k in STATS if s1[k] != s2[k]]
    if bad:
        out.append("conntrack -S: " + "; ".join(bad))
    return "\n".join(out)


def one(ctsim, path, max_duration, sized=False):
    """One scenario. With @sized false, a scenario that sets a global sysctl
    is skipped (no opt-in) or deferred (result "deferred": the caller runs
    it again, alone, with @sized true)."""
    exp = ctsim_json(ctsim, "export", path, "--json")
    if exp["emulator_only"]:
        return {"file": path, "result": "skipped", "why": "emulator-only: " + exp["emulator_only"],
                "waits_for": exp["waits_for"]}
    glob = sizing_of(exp)
    if glob and not sized:
        if not SIZING_OPT_IN:
            return {"file": path, "result": "skipped", "waits_for": exp["waits_for"],
                    "why": f"sets {', '.join(sorted(glob))}, global on a kernel "
                           "(opt-in: CTSIM_KERNEL_GLOBAL_SIZING=1)"}
        return {"file": path, "result": "deferred", "waits_for": exp["waits_for"]}
    sim = ctsim_json(ctsim, "run", path, "--json")["scenarios"][0]
    try:
        kern = kernel_run(exp, max_duration, GlobalSizing() if glob else None)
    except Skip as e:
        return {"file": path, "result": "skipped", "why": str(e), "waits_for": exp["waits_for"]}
    except Exception as e:      # a setup failure is a failure, with its reason
        return {"file": path, "result": "error", "why": str(e), "waits_for": exp["waits_for"]}
    # NAT scenarios also compare the packets leaving the router (translated)
    nat = any(s["kind"] == "ruleset" and "type nat" in (s.get("ruleset") or "")
              for s in exp["steps"])
    d = compare(sim, kern, packets=nat)
    return {"file": path, "result": "disagree" if d else "agree", "why": d,
            "waits_for": exp["waits_for"], "title": exp["title"], "source": exp["source"],
            "ctsim_result": sim["result"],
            # ctsim meets the scenario's expectations and the kernel agrees:
            # nothing is left to wait for, and a stale marker would hide the
            # next regression of this file.
            "unexpectedly_passing": bool(exp["waits_for"]) and not d
            and sim["result"] == "unexpectedly passing"}


def collect(paths):
    files = []
    for p in paths:
        p = Path(p)
        files.extend(sorted(str(x) for x in p.glob("*.ct")) if p.is_dir() else [str(p)])
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--ctsim", default=os.environ.get("CTSIM_BIN", "ctsim"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=8)
    ap.add_argument("--max-duration", type=float, default=20.0)
    a = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists(CONNTRACK) or not os.path.exists(NFT):
        print("kernel_scenarios: needs root, nft and conntrack", file=sys.stderr)
        return 2
    files = collect(a.paths)
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(lambda f: one(a.ctsim, f, a.max_duration), files))
    # Scenarios that size the kernel's (global) table: alone, one by one.
    results = [one(a.ctsim, r["file"], a.max_duration, sized=True)
               if r["result"] == "deferred" else r for r in results]
    for r in results:
        r.setdefault("unexpectedly_passing", False)
    bad = [r for r in results if r["result"] in ("disagree", "error") and not r["waits_for"]]
    xpass = [r for r in results if r["unexpectedly_passing"]]
    waiting = [r for r in results if r["waits_for"] and not r["unexpectedly_passing"]]
    counts = {k: sum(r["result"] == k for r in results)
              for k in ("agree", "disagree", "error", "skipped")}
    if a.json:
        json.dump({"scenarios": results,
                   "summary": dict(counts, waiting=len(waiting),
                                   unexpectedly_passing=len(xpass))}, sys.stdout, indent=1)
        print()
        return 1 if bad or xpass else 0
    for r in results:
        tag = r["result"] + (" (waiting)" if r["waits_for"] and r["result"] != "agree" else "")
        if a.report:
            print(f"{r.get('ctsim_result', '-'):10} kernel {tag:20} {r['file']}  "
                  f"{r.get('title') or ''}")
        else:
            print(f"{r['file']} {tag}" + (f": {r['why']}" if r["result"] == "skipped" else ""))
    for r in results:
        if r["result"] in ("disagree", "error") and (a.verbose or not r["waits_for"]):
            print(f"\n---- {r['file']} ----\n{r['why']}")
    # The waiting ones by name, with what the kernel made of them: a count
    # alone lets known disagreements pile up unnoticed.
    if waiting or xpass:
        print()
    for r in waiting:
        print(f"waiting: {r['file']} (waits for {r['waits_for']}): kernel {r['result']}")
    for r in xpass:
        print(f"unexpectedly passing (it waits for {r['waits_for']}): {r['file']}: "
              "remove its waits-for line")
    print(f"\n{counts['agree']} agree, {counts['disagree']} disagree, {counts['error']} errors, "
          f"{counts['skipped']} skipped; {len(bad)} non-waiting disagreement"
          f"{'' if len(bad) == 1 else 's'}; {len(waiting)} waiting, "
          f"{len(xpass)} unexpectedly passing")
    return 1 if bad or xpass else 0


if __name__ == "__main__":
    sys.exit(main())
