# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctsim replay FILE.pcap`: the pipeline on a virtual clock, no root, no TUN.

The captures are made here with Scapy (tmp_path). Each scenario is checked on
its own (the table, the event log, the counters), and the same packets are
also sent through a kernel router namespace (client -- router -- server,
conntrack on in the router only, as ../shared/oracle/kernel-oracle.sh
builds it) to compare `conntrack -L -o extended` and `conntrack -E` with the
replay's, normalised (ids, timeouts within 1 s).
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import BUILD, CONNTRACK, SHARED, SANITIZER_ENV, assert_conntrack_equal

scapy = pytest.importorskip("scapy.all")
from scapy.all import ICMP, IP, TCP, UDP, Ether, Raw, wrpcap  # noqa: E402

CTSIM = BUILD / "ctsim" / "ctsim"

# The addresses of kernel-oracle.sh's topology, so that the same packets can
# be routed by the kernel router.
C_IP, S_IP = "10.66.1.2", "10.66.2.2"
T0 = 1_700_000_000.0
GAP = 0.01      # seconds between packets, in the capture and on the kernel side


def replay(pcap, *args, check=True):
    """Run ctsim replay; returns the CompletedProcess."""
    env = dict(os.environ, **SANITIZER_ENV)
    res = subprocess.run([str(CTSIM), "replay", str(pcap), *map(str, args)],
                         capture_output=True, text=True, timeout=120, env=env)
    for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert marker not in res.stderr, res.stderr
    if check:
        assert res.returncode == 0, res.stderr
    return res


def split_output(text):
    """Text output -> (events, table, stats, rest) lists of lines."""
    events, table, stats, rest = [], [], [], []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(("[NEW]", "[UPDATE]", "[DESTROY]")):
            events.append(line)
        elif s.startswith(("ipv4 ", "ipv6 ")):
            table.append(line)
        elif s.startswith("cpu="):
            stats.append(line)
        elif s:
            rest.append(line)
    return events, table, stats, rest


def write(tmp_path, name, pkts, gap=GAP, ether=True):
    """Write @pkts (IP layers) with timestamps T0, T0+gap ...; Ethernet
    framing unless ether=False (raw IP)."""
    frames = []
    for i, p in enumerate(pkts):
        f = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p if ether else p
        f.time = T0 + i * gap
        frames.append(f)
    path = tmp_path / name
    wrpcap(str(path), frames, linktype=None if ether else 101)
    return path


# --------------------------------------------------------------------------
# The scenarios: (name, packets) built fresh for each test
# --------------------------------------------------------------------------

def udp_pkts():
    return [IP(src=C_IP, dst=S_IP) / UDP(sport=40000, dport=53) / Raw(b"q" * 20),
            IP(src=S_IP, dst=C_IP) / UDP(sport=53, dport=40000) / Raw(b"a" * 40)]


def icmp_pkts():
    return [IP(src=C_IP, dst=S_IP) / ICMP(type=8, id=0x1234, seq=1) / Raw(b"p" * 56),
            IP(src=S_IP, dst=C_IP) / ICMP(type=0, id=0x1234, seq=1) / Raw(b"p" * 56)]


def tcp_pkts():
    c, s = dict(src=C_IP, dst=S_IP), dict(src=S_IP, dst=C_IP)
    cp, sp = dict(sport=41000, dport=80), dict(sport=80, dport=41000)
    data = b"x" * 100
    return [
        IP(**c) / TCP(**cp, flags="S", seq=1000, window=64240),
        IP(**s) / TCP(**sp, flags="SA", seq=5000, ack=1001, window=64240),
        IP(**c) / TCP(**cp, flags="A", seq=1001, ack=5001, window=64240),
        IP(**c) / TCP(**cp, flags="PA", seq=1001, ack=5001, window=64240) / Raw(data),
        IP(**s) / TCP(**sp, flags="A", seq=5001, ack=1101, window=64240),
        IP(**s) / TCP(**sp, flags="PA", seq=5001, ack=1101, window=64240) / Raw(data),
        IP(**c) / TCP(**cp, flags="FA", seq=1101, ack=5101, window=64240),
        IP(**s) / TCP(**sp, flags="FA", seq=5101, ack=1102, window=64240),
        IP(**c) / TCP(**cp, flags="A", seq=1102, ack=5102, window=64240),
    ]


def unsolicited_reply_pkts():
    return [IP(src=S_IP, dst=C_IP) / ICMP(type=0, id=0x4321, seq=1) / Raw(b"r" * 8)]


SCENARIOS = {
    "udp": udp_pkts,
    "icmp": icmp_pkts,
    "tcp": tcp_pkts,
    "unsolicited_echo_reply": unsolicited_reply_pkts,
}


# --------------------------------------------------------------------------
# ctsim alone
# --------------------------------------------------------------------------

def test_udp_request_reply(tmp_path):
    res = replay(write(tmp_path, "udp.pcap", udp_pkts()), "--events")
    events, table, _, _ = split_output(res.stdout)
    assert len(table) == 1
    assert table[0].split()[:6] == ["ipv4", "2", "udp", "17", "30", f"src={C_IP}"]
    assert "[UNREPLIED]" not in table[0] and "[ASSURED]" not in table[0]
    assert events[0].split()[:3] == ["[NEW]", "udp", "17"]
    assert "1 flow entries have been shown." in res.stderr


def test_icmp_echo_raw_ip(tmp_path):
    """A raw-IP capture (LINKTYPE_RAW) works like an Ethernet one."""
    res = replay(write(tmp_path, "icmp.pcap", icmp_pkts(), ether=False))
    _, table, _, _ = split_output(res.stdout)
    assert len(table) == 1
    f = table[0].split()
    assert f[2:4] == ["icmp", "1"]
    assert "type=8" in f and "type=0" in f and f"id={0x1234}" in f


def test_tcp_handshake_data_close(tmp_path):
    res = replay(write(tmp_path, "tcp.pcap", tcp_pkts()), "--events")
    events, table, _, _ = split_output(res.stdout)
    assert len(table) == 1
    f = table[0].split()
    assert f[2:6] == ["tcp", "6", "119", "TIME_WAIT"] or f[2:6] == ["tcp", "6", "120", "TIME_WAIT"]
    assert "[ASSURED]" in f
    assert events[0].split()[0] == "[NEW]" and "SYN_SENT" in events[0]
    assert "TIME_WAIT" in events[-1]


def test_unsolicited_echo_reply_is_invalid(tmp_path):
    res = replay(write(tmp_path, "unsol.pcap", unsolicited_reply_pkts()), "--stats")
    _, table, stats, _ = split_output(res.stdout)
    assert table == []
    assert "invalid=1" in stats[0].split()
    assert "0 flow entries have been shown." in res.stderr
    assert "1 dropped" in res.stderr


def test_truncated_and_malformed(tmp_path):
    """A record cut by the snap length and a packet with a broken header are
    dropped (counted), never a crash; the good packet around them is tracked."""
    good = IP(src=C_IP, dst=S_IP) / UDP(sport=1, dport=2) / Raw(b"x" * 10)
    bad_ihl = bytearray(bytes(IP(src=C_IP, dst=S_IP) / UDP(sport=3, dport=4)))
    bad_ihl[0] = 0x43           # IHL 3: shorter than the minimum header
    long_pkt = bytes(IP(src=C_IP, dst=S_IP) / UDP(sport=5, dport=6) / Raw(b"y" * 200))
    path = tmp_path / "bad.pcap"
    # Write by hand: a record whose captured length is less than its wire
    # length (snaplen 64), which Scapy does not produce.
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i, (data, wire) in enumerate([(bytes(good), None), (bytes(bad_ihl), None),
                                          (long_pkt[:64], len(long_pkt)), (b"\x45", None)]):
            f.write(struct.pack("<IIII", int(T0) + i, 0, len(data), wire or len(data)))
            f.write(data)
    res = replay(path, "--stats", "-j")
    out = json.loads(res.stdout)
    assert out["replay"]["packets"] == 4
    assert out["replay"]["malformed"] == 3
    assert out["replay"]["truncated"] == 1
    assert len(out["conntrack"]) == 1
    assert out["conntrack"][0]["orig"]["sport"] == 1


def test_gen_tcp_pcap_1000(tmp_path):
    """The benchmark workload: 1000 connections of 9 packets, all in TIME_WAIT."""
    pcap = tmp_path / "x.pcap"
    subprocess.run([sys.executable, str(SHARED / "bench" / "gen_tcp_pcap.py"), "1000", "100",
                    str(pcap)], check=True, capture_output=True)
    res = replay(pcap, "--stats")
    _, table, stats, _ = split_output(res.stdout)
    assert len(table) == 1000
    assert all(line.split()[5] == "TIME_WAIT" for line in table)
    # Linux 6.18 counts no insert on the packet path (the oracle shows insert=0).
    assert "insert=0" in stats[0].split()
    assert "9000 packets, 0 dropped" in res.stderr


def test_timeouts_expire_on_the_virtual_clock(tmp_path):
    """A UDP entry (30 s) is gone when the next packet comes 40 s later: the
    GC reaps it in the gap, with a DESTROY event before the next NEW."""
    a = IP(src=C_IP, dst=S_IP) / UDP(sport=1000, dport=53)
    b = IP(src=C_IP, dst=S_IP) / UDP(sport=2000, dport=53)
    res = replay(write(tmp_path, "gap.pcap", [a, b], gap=40.0), "--events")
    events, table, _, _ = split_output(res.stdout)
    assert [e.split()[0] for e in events] == ["[NEW]", "[DESTROY]", "[NEW]"]
    assert "sport=1000" in events[1]
    assert len(table) == 1 and "sport=2000" in table[0]


def test_clock_never_goes_backwards(tmp_path):
    """A packet older than the one before it is handled at the current time."""
    a = IP(src=C_IP, dst=S_IP) / UDP(sport=1000, dport=53)
    b = IP(src=C_IP, dst=S_IP) / UDP(sport=2000, dport=53)
    path = write(tmp_path, "back.pcap", [a, b], gap=-20.0)
    _, table, _, _ = split_output(replay(path).stdout)
    assert sorted(line.split()[4] for line in table) == ["30", "30"]


def test_json_has_every_section(tmp_path):
    res = replay(write(tmp_path, "u.pcap", udp_pkts()),
                 "--events", "--stats", "--expectations", "--counters", "-j")
    out = json.loads(res.stdout)
    assert list(out) == ["replay", "events", "conntrack", "expectations", "stats", "ruleset"]
    assert out["conntrack"][0]["proto"] == "udp"
    assert out["events"][0]["event"] == "new"
    assert out["expectations"] == []
    assert out["stats"][0]["insert"] == 0     # packet path: no insert on 6.18
    assert "nftables" in out["ruleset"]
    assert res.stderr == ""


def test_counters_and_expectations_text(tmp_path):
    res = replay(write(tmp_path, "u.pcap", udp_pkts()), "--counters", "--expectations")
    assert "table inet ctsim {" in res.stdout
    assert "iifname \"ct-c*\" ct state new counter packets 1 bytes 48 accept" in res.stdout
    assert "0 expectations have been shown." in res.stderr


def test_set_and_ruleset(tmp_path):
    rs = tmp_path / "drop-udp.nft"
    rs.write_text(textwrap.dedent("""\
        table ip t {
        	chain filt {
        		type filter hook forward priority filter; policy accept;
        		meta l4proto udp counter drop
        	}
        }
        """))
    pcap = write(tmp_path, "u.pcap", udp_pkts() + icmp_pkts())
    res = replay(pcap, "--ruleset", rs, "--set", "nf_conntrack_acct=1")
    _, table, _, _ = split_output(res.stdout)
    assert len(table) == 1 and table[0].split()[2] == "icmp"     # UDP dropped: no entry
    assert "packets=1 bytes=84" in table[0]                       # accounting on


@pytest.mark.parametrize("args,code,msg", [
    ([], 2, "no capture file"),
    (["a.pcap", "b.pcap"], 2, "one capture file only"),
    (["--bogus", "a.pcap"], 2, "Usage:"),
    (["--set", "nf_conntrack_nope=1", "a.pcap"], 2, "nf_conntrack_nope"),
    (["--set", "nf_conntrack_max", "a.pcap"], 2, "NAME=VALUE"),
])
def test_usage_errors(args, code, msg):
    res = subprocess.run([str(CTSIM), "replay", *args], capture_output=True, text=True)
    assert res.returncode == code
    assert msg in res.stderr


def test_file_errors(tmp_path):
    missing = tmp_path / "missing.pcap"
    res = replay(missing, check=False)
    assert res.returncode == 1 and str(missing) in res.stderr
    notpcap = tmp_path / "notes.txt"
    notpcap.write_text("hello, this is not a capture\n")
    res = replay(notpcap, check=False)
    assert res.returncode == 1 and str(notpcap) in res.stderr
    rs = tmp_path / "bad.nft"
    rs.write_text("table ip t {\n\tchain c {\n\t\tbogus\n\t}\n}\n")
    res = replay(write(tmp_path, "u.pcap", udp_pkts()), "--ruleset", rs, check=False)
    assert res.returncode == 1 and "bad.nft:3:" in res.stderr


# --------------------------------------------------------------------------
# The same packets through a kernel router
# --------------------------------------------------------------------------

# Sends each packet of a capture into the client or the server namespace (by
# source address) on an AF_PACKET socket towards the router, GAP apart.
SENDER = r"""
import ctypes, os, socket, sys, time
from scapy.all import rdpcap, IP
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
pcap, gap, cli, srv, mac1, mac2 = sys.argv[1], float(sys.argv[2]), *sys.argv[3:7]
def sock_in(ns):
    me = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
    assert libc.setns(fd, CLONE_NEWNET) == 0
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    assert libc.setns(me, CLONE_NEWNET) == 0
    return s
sc, ss = sock_in(cli), sock_in(srv)
for p in rdpcap(pcap):
    ip = p[IP]
    from_client = ip.src.startswith("10.66.1.")
    s, mac = (sc, mac1) if from_client else (ss, mac2)
    s.sendto(bytes(ip), ("eth0", 0x0800, 0, 0, bytes.fromhex(mac.replace(":", ""))))
    time.sleep(gap)
"""


class Router:
    """cli -- rtr -- srv; conntrack on in rtr only (a forward chain with
    ct state rules like ctsim's default ruleset); cli and srv drop all
    input so their stacks never answer (no RST, no port unreachable)."""

    def __init__(self):
        p = "rp" + secrets.token_hex(3)
        self.cli, self.rtr, self.srv = p + "-cli", p + "-rtr", p + "-srv"
        for ns in (self.cli, self.rtr, self.srv):
            self.sh(f"ip netns add {ns}")
            self.sh(f"ip -n {ns} link set lo up")
        self.sh(f"ip link add eth0 netns {self.cli} type veth peer name eth1 netns {self.rtr}")
        self.sh(f"ip link add eth0 netns {self.srv} type veth peer name eth2 netns {self.rtr}")
        for ns, dev, addr in ((self.cli, "eth0", "10.66.1.2/24"), (self.rtr, "eth1", "10.66.1.1/24"),
                              (self.rtr, "eth2", "10.66.2.1/24"), (self.srv, "eth0", "10.66.2.2/24")):
            self.sh(f"ip -n {ns} addr add {addr} dev {dev}")
            self.sh(f"ip -n {ns} link set {dev} up")
        self.sh(f"ip netns exec {self.rtr} sysctl -qw net.ipv4.ip_forward=1")
        # The router must not wait for ARP answers the hosts' stacks give late.
        self.mac = {}
        for ns, dev in ((self.cli, "eth0"), (self.srv, "eth0"), (self.rtr, "eth1"), (self.rtr, "eth2")):
            self.mac[(ns, dev)] = json.loads(self.sh(f"ip -j -n {ns} link show {dev}"))[0]["address"]
        self.sh(f"ip -n {self.rtr} neigh replace 10.66.1.2 lladdr {self.mac[(self.cli, 'eth0')]} "
                f"dev eth1 nud permanent")
        self.sh(f"ip -n {self.rtr} neigh replace 10.66.2.2 lladdr {self.mac[(self.srv, 'eth0')]} "
                f"dev eth2 nud permanent")
        self.nft(self.rtr, """table inet f {
            chain filt { type filter hook forward priority filter; policy drop;
                ct state established,related accept
                ct state invalid drop
                ct state new accept
            }
        }
        """)
        for ns in (self.cli, self.srv):
            self.nft(ns, "table inet f { chain in { type filter hook input priority filter; "
                         "policy drop; }; }")

    @staticmethod
    def sh(cmd, **kw):
        return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True,
                              **kw).stdout

    def nft(self, ns, text):
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, check=True,
                       capture_output=True, text=True)

    def run_capture(self, pcap):
        """Send @pcap through the router; return (conntrack -L, conntrack -E)."""
        ev = subprocess.Popen(["ip", "netns", "exec", self.rtr, CONNTRACK, "-E"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)         # the listener must exist before the first entry
        subprocess.run([sys.executable, "-c", SENDER, str(pcap), str(GAP), self.cli, self.srv,
                        self.mac[(self.rtr, "eth1")], self.mac[(self.rtr, "eth2")]],
                       check=True, capture_output=True, text=True, timeout=60)
        listing = subprocess.run(["ip", "netns", "exec", self.rtr, CONNTRACK, "-L", "-o",
                                  "extended"], capture_output=True, text=True).stdout
        time.sleep(0.2)
        ev.send_signal(signal.SIGINT)
        events = ev.communicate(timeout=10)[0]
        return listing, events

    def delete(self):
        for ns in (self.cli, self.rtr, self.srv):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def router():
    if os.geteuid() != 0 or not shutil.which("nft") or not os.path.exists(CONNTRACK):
        pytest.skip("needs root, nft and conntrack")
    r = Router()
    try:
        yield r
    finally:
        r.delete()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_as_kernel(tmp_path, router, name):
    pcap = write(tmp_path, f"{name}.pcap", SCENARIOS[name]())
    k_list, k_events = router.run_capture(pcap)
    # The kernel side really saw the traffic (or, unsolicited, tracked nothing).
    assert (k_list.strip() == "") == (name == "unsolicited_echo_reply"), k_list
    res = replay(pcap, "--events")
    events, table, _, _ = split_output(res.stdout)
    assert_conntrack_equal(k_list, "\n".join(table) + "\n", what=f"{name}: conntrack -L")
    assert_conntrack_equal(k_events, "\n".join(events) + "\n", sort=False,
                           what=f"{name}: conntrack -E")
