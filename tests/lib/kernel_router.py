# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel's side of the lab: the same hosts and addresses as ``ctsim --lab``,
with a Linux router namespace (real nf_conntrack) in place of ctsim.

::

  PREFIX+cli                  PREFIX+rtr (conntrack on)                PREFIX+srv
  eth0 10.77.1.2/24  <-veth->  eth1 10.77.1.1 | eth2 10.77.2.1  <-veth->  eth0 10.77.2.2/24
       fd77:1::2/64                 fd77:1::1 | fd77:2::1                     fd77:2::2/64

The router forwards (IPv4 and IPv6) and loads an nft ruleset given as text
(``nft -f``), normally the very file ctsim loads with ``--ruleset``: since
ctsim's language is an nft subset, the same text works in both worlds, and
its ``ct`` expressions are what turn conntrack on in the router.  The client
and server track nothing (a server ruleset without ``ct`` expressions may be
given, e.g. drops that act as black holes).  The MAC addresses are fixed, so a
packet injected with an ``AF_PACKET`` socket can be addressed to the router.

Use it as a context manager; everything (background programs, the three
namespaces) is removed on exit, also when setup fails half-way::

    with KernelRouter("kr1234-", ruleset_text) as k:
        k.run("client", "ping", "-c1", "10.77.2.2", check=True)
        print(k.conntrack("-L").stdout)

The recipe is that of ../shared/oracle/kernel-oracle.sh (setup), rewritten for
the lab's addressing; nothing is copied from it.
"""
import os
import subprocess
import tempfile
import time

from conftest import CONNTRACK

HOSTS = {"client": "cli", "router": "rtr", "server": "srv"}

# interface, MAC, addresses, default gateways per host
CLI_MAC, RTR1_MAC = "02:77:01:00:00:02", "02:77:01:00:00:01"
SRV_MAC, RTR2_MAC = "02:77:02:00:00:02", "02:77:02:00:00:01"


class KernelRouter:
    """Client, kernel router and server namespaces; see the module text."""

    # What tests need to address injected frames: host -> (ifname, next-hop MAC)
    links = {"client": ("eth0", RTR1_MAC), "server": ("eth0", RTR2_MAC)}

    def __init__(self, prefix, ruleset=None, server_ruleset=None, workdir=None):
        assert len(prefix) + 3 <= 15, prefix
        self.prefix = prefix
        self.ruleset = ruleset
        self.server_ruleset = server_ruleset
        self.workdir = workdir or tempfile.mkdtemp(prefix="kr-")
        self.bg = []
        self.made = []

    # -- names and commands --------------------------------------------------

    def ns(self, host):
        return self.prefix + HOSTS[host]

    def _ip(self, *args):
        res = subprocess.run(["ip", *map(str, args)], capture_output=True, text=True,
                             timeout=30)
        if res.returncode != 0:
            raise RuntimeError(f"ip {' '.join(map(str, args))}: {res.stderr.strip()}")
        return res

    def run(self, host, *cmd, timeout=20, check=False, input=None):
        res = subprocess.run(["ip", "netns", "exec", self.ns(host), *map(str, cmd)],
                             text=True, capture_output=True, timeout=timeout, input=input)
        if check:
            assert res.returncode == 0, (host, cmd, res.stdout, res.stderr)
        return res

    def start(self, host, *cmd):
        """A background program in @host (killed at teardown); output kept."""
        log = open(os.path.join(self.workdir, f"bg{len(self.bg)}.log"), "w+")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *map(str, cmd)],
                             stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        p.log = log
        self.bg.append(p)
        return p

    def popen(self, host, *cmd, **kw):
        """A program in @host whose pipes the caller reads (conntrack -E)."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        return subprocess.Popen(["ip", "netns", "exec", self.ns(host), *map(str, cmd)], **kw)

    def bg_logs(self):
        text = ""
        for p in self.bg:
            p.log.seek(0)
            text += p.log.read()
        return text

    def conntrack(self, *args, **kw):
        """conntrack(8) in the router namespace."""
        return self.run("router", CONNTRACK, *args, **kw)

    def nft(self, host, text):
        res = self.run(host, "nft", "-f", "-", input=text)
        if res.returncode != 0:
            raise RuntimeError(f"nft -f in {host}: {res.stderr}")

    def rule_counters(self):
        """The router's rules that have a counter: [(table, chain, rule text,
        packets)], from ``nft -j list ruleset``."""
        import json
        res = self.run("router", "nft", "-j", "list", "ruleset", check=True)
        out = []
        for item in json.loads(res.stdout)["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            for e in rule["expr"]:
                if "counter" in e and isinstance(e["counter"], dict):
                    out.append((rule["table"], rule["chain"], rule["handle"],
                                e["counter"]["packets"]))
        return out

    # -- life cycle ------------------------------------------------------------

    def up(self):
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for host in HOSTS:
            if self.ns(host) in left.split():
                raise RuntimeError(f"netns {self.ns(host)} exists already")
        for host in HOSTS:
            self._ip("netns", "add", self.ns(host))
            self.made.append(self.ns(host))
            self._ip("-n", self.ns(host), "link", "set", "lo", "up")
        cli, rtr, srv = self.ns("client"), self.ns("router"), self.ns("server")
        self._ip("link", "add", "eth0", "netns", cli, "address", CLI_MAC, "type", "veth",
                 "peer", "name", "eth1", "netns", rtr, "address", RTR1_MAC)
        self._ip("link", "add", "eth0", "netns", srv, "address", SRV_MAC, "type", "veth",
                 "peer", "name", "eth2", "netns", rtr, "address", RTR2_MAC)
        # forwarding before the addresses: IPv6 then never autoconfigures as a host
        self.run("router", "sysctl", "-qw", "net.ipv4.ip_forward=1",
                 "net.ipv6.conf.all.forwarding=1", check=True)
        for ns, dev, addrs in ((cli, "eth0", ("10.77.1.2/24", "fd77:1::2/64")),
                               (rtr, "eth1", ("10.77.1.1/24", "fd77:1::1/64")),
                               (rtr, "eth2", ("10.77.2.1/24", "fd77:2::1/64")),
                               (srv, "eth0", ("10.77.2.2/24", "fd77:2::2/64"))):
            for a in addrs:
                self._ip("-n", ns, "addr", "add", a, "dev", dev,
                         *(["nodad"] if ":" in a else []))
            self._ip("-n", ns, "link", "set", dev, "up")
        self._ip("-n", cli, "route", "add", "default", "via", "10.77.1.1")
        self._ip("-n", cli, "-6", "route", "add", "default", "via", "fd77:1::1")
        self._ip("-n", srv, "route", "add", "default", "via", "10.77.2.1")
        self._ip("-n", srv, "-6", "route", "add", "default", "via", "fd77:2::1")
        # Neighbours known up front: no ARP/ND races in the first packets
        # (and injected frames need none).
        for ns, dev, pairs in ((cli, "eth0", (("10.77.1.1", RTR1_MAC),
                                              ("fd77:1::1", RTR1_MAC))),
                               (srv, "eth0", (("10.77.2.1", RTR2_MAC),
                                              ("fd77:2::1", RTR2_MAC))),
                               (rtr, "eth1", (("10.77.1.2", CLI_MAC),
                                              ("fd77:1::2", CLI_MAC))),
                               (rtr, "eth2", (("10.77.2.2", SRV_MAC),
                                              ("fd77:2::2", SRV_MAC)))):
            for addr, mac in pairs:
                self._ip("-n", ns, "neigh", "replace", addr, "lladdr", mac, "dev", dev,
                         "nud", "permanent")
        if self.ruleset is not None:
            self.nft("router", self.ruleset)
        if self.server_ruleset is not None:
            self.nft("server", self.server_ruleset)
        return self

    def down(self):
        for p in self.bg:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.log.close()
        self.bg = []
        for ns in self.made:
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []

    def __enter__(self):
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc):
        self.down()
        return False

    def wait_ready(self, limit=5.0):
        """Until the client reaches the server over IPv4 and IPv6."""
        deadline = time.monotonic() + limit
        for dst in ("10.77.2.2", "fd77:2::2"):
            while True:
                if self.run("client", "ping", "-c1", "-W1", dst).returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kernel router: no path to {dst}")
                time.sleep(0.1)
