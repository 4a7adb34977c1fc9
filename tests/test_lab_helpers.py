# SPDX-License-Identifier: GPL-2.0-or-later
"""The helper exercises of the lab (docs/lab.md) with real Debian programs,
each run twice: through ``ctsim --lab --ruleset R`` and through a kernel
router namespace (tests/lib/kernel_router.py) that loads the same R with nft.

* FTP: pyftpdlib (``lab_servers.py ftp``) and curl; passive (PASV/227,
  EPSV/229) and active (PORT, EPRT), IPv4 and IPv6.  Without ``ct helper
  set`` the data connection is dropped by the ``policy drop`` forward chain;
  with it the transfer works, ``conntrack -E expect`` shows the expectation
  ([NEW] 300 ... / [DESTROY]), active mode also lists it with ``conntrack -L
  expect`` (the server waits 1 s before connecting), the data entry's first
  packet is RELATED (the ``ct state related`` rule marks the entry, and the
  kernel's rule counter counts exactly one packet) and its master (raw
  ctnetlink, ``CTA_TUPLE_MASTER``) is the control connection.
* TFTP: tftpd-hpa and curl, read (RRQ) and write (WRQ), IPv4 and IPv6.
* SIP: sipp's built-in ``uac`` (client) and ``uas`` (server) scenarios;
  INVITE and 200 OK carry SDP (``m=audio 6000``): four RTP/RTCP
  expectations, listed during the call (``-d``), flushed by the BYE.  The
  default scenarios send no media; the test sends one RTP datagram from the
  server to the client's media port (answered by ``sipp -rtp_echo``), which
  is RELATED.

Compared between the two worlds, after normalisation (ids masked, timeouts
within 2 s, ephemeral ports named by their role: DATA = the expected port,
CTRL = the master's source port, EPH = any other): the ``-E expect`` events,
the ``-L expect`` snapshot, the final ``conntrack -L`` (TCP/UDP entries of
the lab's addresses) and the master tuples.
"""
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CONNTRACK
from kernel_router import KernelRouter
from labutil import (PY, SERVER4, SERVER6, CLIENT4, CLIENT6, lab_prefix, wait_port,
                     lab_factory)  # noqa: F401  (the fixture)
import lab_servers
import wire

HERE = Path(__file__).resolve().parent
SERVERS = str(HERE / "lib" / "lab_servers.py")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")

RULESET = """\
table inet labh {
	ct helper ftp-std { type "ftp" protocol tcp; }
	ct helper tftp-std { type "tftp" protocol udp; }
	ct helper sip-std { type "sip" protocol udp; }
	chain pre {
		type filter hook prerouting priority filter; policy accept;
%(helpers)s
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state related counter ct mark set 0x1 accept
		ct state established counter accept
		ct state new tcp dport 21 counter accept
		ct state new udp dport { 69, 5060 } counter accept
		meta l4proto { icmp, ipv6-icmp } accept
		counter
	}
}
"""
HELPER_RULES = ('\t\ttcp dport 21 ct helper set "ftp-std"\n'
                '\t\tudp dport 69 ct helper set "tftp-std"\n'
                '\t\tudp dport 5060 ct helper set "sip-std"')


def ruleset(helper):
    return RULESET % {"helpers": HELPER_RULES if helper else ""}


# --------------------------------------------------------------------------
# the two worlds
# --------------------------------------------------------------------------

class CtsimWorld:
    name = "ctsim"

    def __init__(self, the_lab):
        self.lab = the_lab
        self.workdir = the_lab.d.workdir

    def ns(self, host):
        return self.lab.ns(host)

    def run(self, host, *cmd, **kw):
        return self.lab.run(host, *cmd, **kw)

    def start(self, host, *cmd):
        return self.lab.start(host, *cmd)

    def bg_logs(self):
        return self.lab.bg_logs()

    def conntrack(self, *args):
        return self.lab.d.conntrack(*args)

    def events(self):
        return self.lab.d.popen([CONNTRACK, "-E", "expect"])

    def masters(self):
        with wire.CtsimConn(self.lab.d.socket) as conn:
            return [f"{o} master {m}" for o, m in lab_servers.masters(conn)]

    def related_packets(self):
        return None         # ctsim's live daemon does not show rule counters

    def dropped_packets(self):
        return None


class KernelWorld:
    name = "kernel"

    def __init__(self, k):
        self.k = k
        self.workdir = Path(k.workdir)

    def ns(self, host):
        return self.k.ns(host)

    def run(self, host, *cmd, **kw):
        return self.k.run(host, *cmd, **kw)

    def start(self, host, *cmd):
        return self.k.start(host, *cmd)

    def bg_logs(self):
        return self.k.bg_logs()

    def conntrack(self, *args):
        return self.k.conntrack(*args)

    def events(self):
        return self.k.popen("router", CONNTRACK, "-E", "expect")

    def masters(self):
        res = self.k.run("router", PY, SERVERS, "masters", check=True)
        return res.stdout.splitlines()

    def related_packets(self):
        res = self.k.run("router", "nft", "list", "chain", "inet", "labh", "forward",
                         check=True)
        m = re.search(r"ct state related counter packets (\d+)", res.stdout)
        return int(m.group(1))

    def dropped_packets(self):
        """The last rule's counter: what the policy drops."""
        res = self.k.run("router", "nft", "list", "chain", "inet", "labh", "forward",
                         check=True)
        return int(re.search(r"\n\s*counter packets (\d+) bytes \d+\s*\n\s*}",
                             res.stdout).group(1))


@pytest.fixture
def worlds(lab_factory, tmp_path):
    """worlds(helper) -> [CtsimWorld, KernelWorld] with the same ruleset;
    everything is removed at teardown, also on failure."""
    routers = []

    def make(helper):
        rules = tmp_path / "router.nft"
        rules.write_text(ruleset(helper))
        the_lab = lab_factory(["--ruleset", str(rules)], tag="lh")
        kdir = tmp_path / "kernel"
        kdir.mkdir()
        k = KernelRouter(lab_prefix("kh"), ruleset(helper), workdir=str(kdir))
        routers.append(k)
        try:
            k.up()
        except BaseException:
            k.down()
            raise
        k.wait_ready()
        k.conntrack("-F")           # the readiness pings
        return [CtsimWorld(the_lab), KernelWorld(k)]

    yield make
    for k in routers:
        k.down()


def share(tmp_path, name="pub"):
    """A directory with file.txt that a server in a namespace can read and
    (tftpd drops to nobody) write."""
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    d.chmod(0o777)
    (d / "file.txt").write_text("hello world\n")
    (d / "file.txt").chmod(0o644)
    return d


# --------------------------------------------------------------------------
# normalisation and comparison
# --------------------------------------------------------------------------

KEEP_PORTS = {5060, 6000, 6001, 65535}     # 65535: the expectation's mask
_RE_EXP_NEW = re.compile(r"\[NEW\] \d+ proto=\d+ .*? sport=0 dport=(\d+) .*?"
                         r"master-src=\S+ master-dst=\S+ sport=(\d+) ")


def port_roles(events):
    """{port: role} from the [NEW] expectation events: the expected port
    (DATA) and the master's source port (CTRL)."""
    roles = {}
    for m in _RE_EXP_NEW.finditer(events):
        for port, role in ((m.group(1), "DATA"), (m.group(2), "CTRL")):
            if int(port) not in KEEP_PORTS:
                roles.setdefault(port, role)
    return roles


def normalise(text, roles):
    """[(tokens, timeout)] per line: ids masked, ephemeral ports by role, the
    timeout (expectations: the first number; entries: after 'tcp 6') apart."""
    recs = []
    for line in text.splitlines():
        toks = line.split()
        if not toks or "expectations" in line or "flow entries" in line:
            continue
        out, tmo = [], None
        for i, t in enumerate(toks):
            m = re.fullmatch(r"(sport|dport)=(\d+)", t)
            if m and int(m.group(2)) >= 1024 and int(m.group(2)) not in KEEP_PORTS:
                t = f"{m.group(1)}={roles.get(m.group(2), 'EPH')}"
            elif re.fullmatch(r"id=\d+", t):
                t = "id=ID"
            elif tmo is None and t.isdigit() and (
                    (i == 0) or (i == 1 and toks[0].startswith("[")) or
                    (i == 2 and toks[0] in ("tcp", "udp"))):
                tmo, t = int(t), "T"
            out.append(t)
        recs.append((" ".join(out), tmo))
    return recs


def compare(what, kernel_text, ctsim_text, kroles, croles, sort=True, tolerance=2):
    k = normalise(kernel_text, kroles)
    c = normalise(ctsim_text, croles)
    if sort:
        k.sort(key=lambda r: r[0])
        c.sort(key=lambda r: r[0])
    ok = [a[0] for a in k] == [b[0] for b in c] and all(
        (a[1] is None) == (b[1] is None) and (a[1] is None or abs(a[1] - b[1]) <= tolerance)
        for a, b in zip(k, c))
    assert ok, (f"{what}: kernel and ctsim differ\n--- kernel ---\n" +
                "\n".join(f"{t} [{n}]" for t, n in k) + "\n--- ctsim ---\n" +
                "\n".join(f"{t} [{n}]" for t, n in c) +
                f"\n--- raw kernel ---\n{kernel_text}\n--- raw ctsim ---\n{ctsim_text}")


def lab_entries(text):
    """The TCP/UDP entries between the lab's hosts (not pings, not ND)."""
    return "\n".join(l for l in text.splitlines()
                     if l.split()[:1] in (["tcp"], ["udp"]) and ("10.77." in l or "fd77:" in l))


class Capture:
    """`conntrack -E expect` around an exchange, then the final tables."""

    def __init__(self, w):
        self.w = w
        self.ev = w.events()
        # conntrack -E is ready once its (netlink or shim) socket exists:
        # `ip netns exec` and ctsim-exec exec it in the same process
        deadline = time.monotonic() + 10
        while not self._has_socket():
            assert self.ev.poll() is None and time.monotonic() < deadline, \
                (w.name, "conntrack -E did not start", self.ev.communicate())
            time.sleep(0.02)
        time.sleep(0.1)             # from socket() to the bound groups

    def _has_socket(self):
        try:
            fds = os.listdir(f"/proc/{self.ev.pid}/fd")
            return any(os.readlink(f"/proc/{self.ev.pid}/fd/{fd}").startswith("socket:")
                       for fd in fds)
        except OSError:
            return False

    def finish(self):
        time.sleep(0.2)
        self.ev.terminate()
        out, err = self.ev.communicate(timeout=10)
        self.events = out
        self.roles = port_roles(out)
        res = self.w.conntrack("-L")
        assert res.returncode == 0, res.stderr
        self.entries = lab_entries(res.stdout)
        self.masters = "\n".join(self.w.masters())
        self.expect_left = self.w.conntrack("-L", "expect").stdout
        self.related = self.w.related_packets()
        self.dropped = self.w.dropped_packets()
        return self


def wait_expectations(w, count, family="ipv4", proc=None, limit=8.0):
    """Poll `conntrack -L expect -f FAMILY` until it lists @count
    expectations (conntrack asks for one family: AF_INET by default)."""
    deadline = time.monotonic() + limit
    out = ""
    while time.monotonic() < deadline:
        out = w.conntrack("-L", "expect", "-f", family).stdout
        if len(out.strip().splitlines()) >= count:
            return out
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{w.name}: {count} expectations not listed: {out!r}\n{w.bg_logs()}")


def compare_worlds(c, k, listing_k=None, listing_c=None):
    compare("conntrack -E expect", k.events, c.events, k.roles, c.roles, sort=False)
    compare("conntrack -L", k.entries, c.entries, k.roles, c.roles)
    compare("masters", k.masters, c.masters, k.roles, c.roles)
    if listing_k is not None:
        compare("conntrack -L expect", listing_k, listing_c, k.roles, c.roles)


# --------------------------------------------------------------------------
# FTP
# --------------------------------------------------------------------------

# case: (server address, URL host, curl options, command curl must send,
#        active mode)
FTP_CASES = {
    "pasv4": (SERVER4, SERVER4, ["--ftp-pasv", "--disable-epsv"], "PASV", False),
    "epsv4": (SERVER4, SERVER4, ["--ftp-pasv"], "EPSV", False),
    "port4": (SERVER4, SERVER4, ["-P", "-", "--disable-eprt"], "PORT", True),
    "eprt4": (SERVER4, SERVER4, ["-P", "-"], "EPRT |1|", True),
    "epsv6": (SERVER6, f"[{SERVER6}]", ["-g", "--ftp-pasv"], "EPSV", False),
    "eprt6": (SERVER6, f"[{SERVER6}]", ["-g", "-P", "-"], "EPRT |2|", True),
}


def curl_ftp(w, case, max_time):
    _, host, opts, _, _ = FTP_CASES[case]
    return ["curl", "-sS", "-v", "--max-time", str(max_time), *opts,
            f"ftp://{host}/file.txt"]


def ftp_exchange(w, case, root, helper):
    server, _, _, command, active = FTP_CASES[case]
    w.start("server", PY, SERVERS, "ftp", server, root, "1" if (active and helper) else "0")
    wait_port(w, "server", "tcp", 21)
    cap = Capture(w)
    snapshot = None
    if active and helper:
        # the server waits 1 s after PORT/EPRT: list the expectation meanwhile
        p = subprocess.Popen(["ip", "netns", "exec", w.ns("client"), *curl_ftp(w, case, 8)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            snapshot = wait_expectations(w, 1, "ipv6" if ":" in server else "ipv4", p)
            out, err = p.communicate(timeout=15)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        res = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    else:
        res = w.run("client", *curl_ftp(w, case, 8 if helper else 2), timeout=20)
    # curl really spoke the command this case is about
    assert f"> {command}" in res.stderr, (case, res.stderr)
    return res, cap.finish(), snapshot


@pytest.mark.parametrize("case", ["pasv4", "port4", "epsv6", "eprt6"])
def test_ftp_blocked_without_helper(worlds, tmp_path, case):
    """Without `ct helper set` nothing is expected: the data connection's
    first packet is NEW and the forward policy drops it, in both worlds."""
    root = share(tmp_path)
    results = {}
    for w in worlds(helper=False):
        res, cap, _ = ftp_exchange(w, case, root, helper=False)
        assert res.returncode != 0 and "hello world" not in res.stdout, (w.name, res)
        assert "[NEW]" not in cap.events, (w.name, cap.events)
        assert "helper=" not in cap.entries, (w.name, cap.entries)
        # only the control connection was let through
        assert len(cap.entries.splitlines()) == 1, (w.name, cap.entries)
        assert cap.masters == "", (w.name, cap.masters)
        results[w.name] = cap
    assert results["kernel"].related == 0 and results["kernel"].dropped >= 1
    compare("conntrack -L", results["kernel"].entries, results["ctsim"].entries, {}, {})


@pytest.mark.parametrize("case", list(FTP_CASES))
def test_ftp_with_helper(worlds, tmp_path, case):
    root = share(tmp_path)
    server, _, _, _, active = FTP_CASES[case]
    client = CLIENT6 if ":" in server else CLIENT4
    caps, snaps = {}, {}
    for w in worlds(helper=True):
        res, cap, snap = ftp_exchange(w, case, root, helper=True)
        assert res.returncode == 0 and res.stdout == "hello world\n", (w.name, res, w.bg_logs())
        new = [l for l in cap.events.splitlines() if "[NEW]" in l]
        assert len(new) == 1 and "[DESTROY]" in cap.events, (w.name, cap.events)
        # the expectation: from the side that connects, any port, to DATA
        src, dst = (server, client) if active else (client, server)
        assert re.search(rf"\[NEW\] 300 proto=6 src={src} dst={dst} sport=0 dport=\d+ .* "
                         rf"master-src={client} master-dst={server} sport=\d+ dport=21 "
                         r"class=0 helper=ftp$", new[0]), (w.name, new)
        if snap is not None:
            assert re.match(r"^(300|299) proto=6 ", snap), (w.name, snap)
        data_port = [p for p, r in cap.roles.items() if r == "DATA"]
        assert len(data_port) == 1, cap.roles
        lines = cap.entries.splitlines()
        data = [l for l in lines if f"dport={data_port[0]} " in l.split(" src=")[1] + " "]
        ctrl = [l for l in lines if "dport=21 " in l]
        assert len(data) == 1 and len(ctrl) == 1, (w.name, lines)
        # the first packet was RELATED (the rule marked the entry) ...
        assert "mark=1 " in data[0] and "helper=" not in data[0], (w.name, data)
        assert "mark=0 " in ctrl[0] and "helper=ftp" in ctrl[0] and ctrl[0].endswith("use=2")
        # ... and the data entry's master is the control connection
        assert cap.masters.count(" master ") == 1 and \
            re.search(r"master proto=6 src=\S+ dst=\S+ sport=\d+ dport=21$", cap.masters), \
            (w.name, cap.masters)
        assert cap.expect_left.strip() == "", (w.name, cap.expect_left)
        caps[w.name], snaps[w.name] = cap, snap
    assert caps["kernel"].related == 1     # exactly the data connection's SYN
    compare_worlds(caps["ctsim"], caps["kernel"], snaps["kernel"], snaps["ctsim"])


# --------------------------------------------------------------------------
# TFTP
# --------------------------------------------------------------------------

def tftp_exchange(w, server, root, helper, write):
    host = f"[{server}]" if ":" in server else server
    w.start("server", "/usr/sbin/in.tftpd", "--foreground", "--listen", "--address",
            f"{host}:69", "--secure", "--create", "--verbose", root)
    wait_port(w, "server", "udp", 69)
    cap = Capture(w)
    curl = ["curl", "-sS", "--max-time", "8" if helper else "2"]
    if write:
        up = w.workdir / "upload.txt"
        up.write_text(f"sent by the client of {w.name}\n")
        res = w.run("client", *curl, "-T", up, f"tftp://{host}/up-{w.name}.txt", timeout=20)
    else:
        res = w.run("client", *curl, f"tftp://{host}/file.txt", timeout=20)
    return res, cap.finish()


TFTP_CASES = {"read4": (SERVER4, False), "write4": (SERVER4, True),
              "read6": (SERVER6, False), "write6": (SERVER6, True)}


@pytest.mark.parametrize("case", list(TFTP_CASES))
@pytest.mark.parametrize("helper", [False, True], ids=["nohelper", "helper"])
def test_tftp(worlds, tmp_path, case, helper):
    """RRQ/WRQ to port 69 expects the server's answer from a new port: with
    the helper it is RELATED, without it NEW and dropped."""
    server, write = TFTP_CASES[case]
    client = CLIENT6 if ":" in server else CLIENT4
    root = share(tmp_path)
    caps = {}
    for w in worlds(helper=helper):
        res, cap = tftp_exchange(w, server, str(root), helper, write)
        new = [l for l in cap.events.splitlines() if "[NEW]" in l]
        if not helper:
            assert res.returncode != 0, (w.name, res)
            assert not new and cap.masters == "", (w.name, cap.events, cap.masters)
            assert len(cap.entries.splitlines()) == 1, (w.name, cap.entries)
        else:
            assert res.returncode == 0, (w.name, res, w.bg_logs())
            if write:
                assert (root / f"up-{w.name}.txt").read_text() == \
                    f"sent by the client of {w.name}\n"
            else:
                assert res.stdout == "hello world\n", (w.name, res)
            assert len(new) == 1 and re.search(
                rf"\[NEW\] 300 proto=17 src={server} dst={client} sport=0 dport=\d+ .* "
                rf"master-src={client} master-dst={server} sport=\d+ dport=69 class=0 "
                r"helper=tftp$", new[0]), (w.name, cap.events)
            data = [l for l in cap.entries.splitlines() if "dport=69 " not in l]
            assert len(data) == 1 and "mark=1 " in data[0], (w.name, cap.entries)
            assert re.search(r"master proto=17 src=\S+ dst=\S+ sport=\d+ dport=69$",
                             cap.masters), (w.name, cap.masters)
        caps[w.name] = cap
    k, c = caps["kernel"], caps["ctsim"]
    assert k.related == (1 if helper else 0)
    if not helper:
        assert k.dropped >= 1
    compare_worlds(c, k)


# --------------------------------------------------------------------------
# SIP (sipp)
# --------------------------------------------------------------------------

def sip_call(w, client, server):
    """sipp's default uas in the server, uac in the client holding the call
    for 2 s; meanwhile list the expectations and send one RTP datagram from
    the server to the client's media port (the uac echoes it)."""
    w.start("server", "sipp", "-sn", "uas", "-i", server, "-mi", server, "-p", "5060",
            "-mp", "6000", "-m", "1", "-nostdin")
    wait_port(w, "server", "udp", 5060)
    cap = Capture(w)
    rhost = f"[{server}]:5060" if ":" in server else f"{server}:5060"
    uac = subprocess.Popen(["ip", "netns", "exec", w.ns("client"), "sipp", "-sn", "uac",
                            rhost, "-i", client, "-mi", client, "-p", "5060", "-mp", "6000",
                            "-m", "1", "-d", "2000", "-rtp_echo", "-nostdin",
                            "-timeout", "15"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        listing = wait_expectations(w, 4, "ipv6" if ":" in server else "ipv4", uac)
        rtp = w.run("server", PY, "-c", UDP_SEND, client, "6000", "7000")
        out, _ = uac.communicate(timeout=20)
    finally:
        if uac.poll() is None:
            uac.kill()
            uac.communicate()
    return uac.returncode, out, rtp, listing, cap.finish()


# one RTP-sized datagram from a fixed port; prints the echo
UDP_SEND = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,"
            " socket.SOCK_DGRAM)\n"
            "s.settimeout(3); s.bind(('', int(sys.argv[3])))\n"
            "s.sendto(b'\\x80\\x00'+bytes(170), (sys.argv[1], int(sys.argv[2])))\n"
            "print(len(s.recvfrom(2048)[0]))\n")


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_sip_call_with_sipp(worlds, family):
    client, server = (CLIENT4, SERVER4) if family == "ipv4" else (CLIENT6, SERVER6)
    caps, listings = {}, {}
    for w in worlds(helper=True):
        rc, out, rtp, listing, cap = sip_call(w, client, server)
        assert rc == 0, (w.name, out, w.bg_logs())
        # the RTP datagram went through (RELATED) and came back (echo)
        assert rtp.returncode == 0 and rtp.stdout.strip() == "172", (w.name, rtp)
        new = [l for l in cap.events.splitlines() if "[NEW]" in l]
        assert len(new) == 4, (w.name, cap.events)
        assert sorted(re.search(r"dst=(\S+) sport=0 dport=(\d+)", l).groups() for l in new) \
            == [(client, "6000"), (client, "6001"), (server, "6000"), (server, "6001")]
        assert cap.events.count("[DESTROY]") == 4, (w.name, cap.events)   # 1 used, 3 by BYE
        rtp_entry = [l for l in cap.entries.splitlines() if "dport=6000 " in l]
        assert len(rtp_entry) == 1 and "mark=1 " in rtp_entry[0], (w.name, cap.entries)
        assert re.search(r"master proto=17 src=\S+ dst=\S+ sport=5060 dport=5060$",
                         cap.masters), (w.name, cap.masters)
        caps[w.name], listings[w.name] = cap, listing
    k, c = caps["kernel"], caps["ctsim"]
    assert k.related == 1
    compare_worlds(c, k, listings["kernel"], listings["ctsim"])
