# SPDX-License-Identifier: GPL-2.0-or-later
"""The packet trace (issue 12): `ctsim replay --trace`.

* Transcripts: fixed packets through ctsim; the conntrack lines of the trace
  (lookup, ctinfo, the TCP cell as `ctsim explain tcp` prints it, the window
  values, the timeout and why, the INVALID reason, confirmation, events) and
  the nft lines are asserted line by line.
* Against the kernel: the same packets and ruleset through a kernel router
  namespace (test_replay.Router) under `nft monitor trace`; the nft part of
  ctsim's trace (packet, rule, verdict continue and policy lines, per packet
  in order) must equal the kernel's, normalised only in trace ids, interface
  names, the link layer (ctsim's interfaces have none), the TTL (the replay
  router does not route) and counter values.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest


from test_replay import C_IP, CTSIM, GAP, S_IP, SENDER, replay, router, write  # noqa: F401

scapy = pytest.importorskip("scapy.all")
from scapy.all import ICMP, IP, TCP, UDP, Raw  # noqa: E402

RULESET = """table inet t {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		ip saddr 10.66.0.0/16 meta nftrace set 1
	}
	chain fw {
		type filter hook forward priority filter; policy drop;
		ct state invalid counter drop
		tcp dport 80 jump web
		ct state established,related accept
		udp dport 53 goto dns
		icmp type echo-request accept
	}
	chain web {
		tcp flags syn log prefix "SYN "
		tcp flags fin return
		ct state new accept
	}
	chain dns {
		udp sport 1234 accept
	}
	chain post {
		type filter hook postrouting priority 50; policy accept;
		meta l4proto udp counter
	}
}
"""


def c(flags, seq, ack=0, data=b"", win=1000, sport=40000, ipid=1):
    p = IP(src=C_IP, dst=S_IP, id=ipid) / TCP(sport=sport, dport=80, flags=flags, seq=seq,
                                             ack=ack, window=win)
    return p / Raw(data) if data else p


def s(flags, seq, ack=0, data=b"", win=1000, dport=40000, ipid=1):
    p = IP(src=S_IP, dst=C_IP, id=ipid) / TCP(sport=80, dport=dport, flags=flags, seq=seq,
                                             ack=ack, window=win)
    return p / Raw(data) if data else p


def packets():
    """A TCP connection (handshake, data, close), an out-of-window segment,
    a SYN/ACK without SYN, UDP over a goto chain, an echo request."""
    return [
        c("S", 1000, ipid=11), s("SA", 5000, 1001, ipid=12), c("A", 1001, 5001, ipid=13),
        c("PA", 1001, 5001, b"x" * 10, ipid=14), s("A", 5001, 1011, ipid=15),
        c("PA", 901011, 5001, b"y" * 10, ipid=16),
        c("FA", 1011, 5001, ipid=17), s("FA", 5001, 1012, ipid=18), c("A", 1012, 5002, ipid=19),
        s("SA", 7000, 7001, dport=40001, ipid=20),
        IP(src=C_IP, dst=S_IP, id=21) / UDP(sport=1234, dport=53) / Raw(b"q" * 12),
        IP(src=S_IP, dst=C_IP, id=22) / UDP(sport=53, dport=1234) / Raw(b"a" * 20),
        IP(src=C_IP, dst=S_IP, id=23) / UDP(sport=1235, dport=53) / Raw(b"q" * 4),
        IP(src=C_IP, dst=S_IP, id=24) / ICMP(type=8, id=7, seq=1),
    ]


def trace_lines(text):
    return [ln for ln in text.splitlines() if ln.startswith("trace id ")]


def by_packet(lines, first_chain=None):
    """The lines of each packet, in order. By trace id; or, for the
    kernel's output (@first_chain given), a packet starts at each packet
    line of that chain: the kernel's ids come from a hash of the skb's
    address and flow, and two packets of a flow may get the same one."""
    if first_chain:
        out = []
        for ln in lines:
            if f" {first_chain} packet: " in ln or not out:
                out.append([])
            out[-1].append(ln)
        return out
    out = {}
    for ln in lines:
        out.setdefault(ln.split()[2], []).append(ln)
    return list(out.values())


NFT_LINE = re.compile(r"^trace id \S+ (ip|ip6|inet) (\S+) (\S+) (packet: |rule |verdict |policy )")


def normalise(line):
    """A `nft monitor trace` line without what differs between the worlds."""
    line = re.sub(r"^trace id \S+ ", "", line).rstrip()
    line = re.sub(r' (iif|oif) "[^"]*"', "", line)
    line = re.sub(r" ether (saddr|daddr|type) \S+", "", line)
    line = re.sub(r" ip ttl \d+| ip6 hoplimit \d+", "", line)
    line = re.sub(r"counter packets \d+ bytes \d+", "counter", line)
    return line


def nft_part(packets):
    """Per packet: its nft lines, normalised."""
    return [[normalise(ln) for ln in pk if NFT_LINE.match(ln)] for pk in packets]


def ctsim_trace(tmp_path, pkts, *args, ruleset=RULESET):
    pcap = write(tmp_path, "t.pcap", pkts)
    rs = tmp_path / "rs.nft"
    rs.write_text(ruleset)
    res = replay(pcap, "--ruleset", rs, *args)
    return res.stdout


# --------------------------------------------------------------------------
# Transcripts
# --------------------------------------------------------------------------

def test_tcp_transcript(tmp_path):
    out = ctsim_trace(tmp_path, packets()[:10], "--trace")
    pk = by_packet(trace_lines(out))
    assert len(pk) == 10
    syn, synack, ack, data, dack, ooo, fin, sfin, lack, stray = pk

    def has(lines, *want):
        for w in want:
            assert any(w in ln for ln in lines), f"{w!r} not in\n" + "\n".join(lines)

    # the SYN: nft lines with the packet, conntrack's lookup, ctinfo, cell, window, timeout
    assert syn[1].endswith(
        'inet t pre packet: iif "ct-c0" ip saddr 10.66.1.2 ip daddr 10.66.2.2 ip dscp cs0 '
        "ip ecn not-ect ip ttl 64 ip id 11 ip protocol tcp ip length 40 tcp sport 40000 "
        "tcp dport 80 tcp flags == syn tcp window 1000"), syn[1]
    # the ladder: the rows that ran for it, in order (empty rows are not entered)
    assert [ln.split(" hook ", 1)[1] for ln in syn if " hook " in ln] == [
        "prerouting raw -300", "prerouting conntrack -200", "forward filter 0",
        "postrouting filter 0", "postrouting confirm 2147483647"]
    has(syn, "inet t pre rule ip saddr 10.66.0.0/16 meta nftrace set 1 (verdict continue)",
        "inet t pre policy accept",
        "conntrack prerouting lookup: proto 6 src=10.66.1.2 dst=10.66.2.2 sport=40000 dport=80: "
        "no entry; new entry id",
        "conntrack prerouting ctinfo: IP_CT_NEW (ct state new)",
        "conntrack prerouting tracker: tcp NONE --syn/orig--> SYN_SENT: SYN opens a connection",
        "conntrack prerouting window: check seq=1000 ack=0 end=1001 win=1000 (orig)",
        "conntrack prerouting timeout: tcp 120 s for SYN_SENT (the state's timeout)",
        "inet t fw rule tcp dport 80 jump web (verdict jump web)",
        'inet t web rule tcp flags syn log prefix "SYN " (verdict continue)',
        "inet t web rule ct state new accept (verdict accept)",
        "conntrack postrouting confirm: confirmed: entry id",
        "conntrack postrouting event: events new,protoinfo not delivered: no listener for entry id",
        "ctsim forwarded")
    # every line of a packet carries the same id, and ids count up
    assert [p[0].split()[2] for p in pk] == [f"{i:08x}" for i in range(1, 11)]
    has(synack, "lookup: proto 6 src=10.66.2.2 dst=10.66.1.2 sport=80 dport=40000: entry id",
        "reply direction", "ctinfo: IP_CT_ESTABLISHED_REPLY (ct state established)",
        "tracker: tcp SYN_SENT --synack/reply--> SYN_RECV",
        "tracker: first reply: status SEEN_REPLY set",
        "timeout: tcp 60 s for SYN_RECV (the state's timeout)")
    has(ack, "tracker: tcp SYN_RECV --ack/orig--> ESTABLISHED", "tracker: status ASSURED set",
        "timeout: tcp 432000 s for ESTABLISHED (the state's timeout)",
        "inet t fw rule ct state established,related accept (verdict accept)")
    assert not any("verdict continue" in ln and " rule " not in ln for ln in ack)
    has(data, "timeout: tcp 300 s for ESTABLISHED (unacknowledged data: timeout_unacknowledged)")
    # the window check's failure, with both directions' values, then INVALID
    has(ooo, "window: check seq=901011 ack=5001 end=901021 win=1000 (orig); orig td_end=1011",
        "reply td_end=5001",
        "window: failed: SEQ is over upper bound (over the window of the receiver)",
        "invalid: SEQ is over upper bound",
        "inet t fw rule ct state invalid counter drop (verdict drop)",
        "ctsim dropped: dropped by the ruleset")
    has(fin, "tracker: tcp ESTABLISHED --fin/orig--> FIN_WAIT",
        "inet t web rule tcp flags fin return (verdict return)",
        "inet t fw rule ct state established,related accept (verdict accept)")
    has(sfin, "tracker: tcp FIN_WAIT --fin/reply--> LAST_ACK")
    has(lack, "tracker: tcp LAST_ACK --ack/orig--> TIME_WAIT",
        "timeout: tcp 120 s for TIME_WAIT")
    has(stray, "no entry; new entry id", "invalid: invalid new: packet cannot open a connection")
    assert not any("confirm:" in ln for ln in stray)


def test_events_with_a_listener(tmp_path):
    """With conntrack -E listening (--events) the trace names the events
    delivered, and they are the ones the event log shows."""
    out = ctsim_trace(tmp_path, packets()[:3], "--trace", "--events")
    lines = trace_lines(out)
    assert any("event: events new,protoinfo delivered for entry id" in ln for ln in lines), out
    assert any("event: events assured,protoinfo delivered" in ln for ln in lines), out
    assert sum(1 for ln in out.splitlines() if ln.lstrip().startswith("[NEW]")) == 1


def test_cells_match_explain_tcp(tmp_path):
    """Each tracker line of a TCP trace is a cell `ctsim explain tcp` prints."""
    out = ctsim_trace(tmp_path, packets()[:10], "--trace")
    table = set(subprocess.run([str(CTSIM), "explain", "tcp"], capture_output=True, text=True,
                               check=True).stdout.splitlines())
    cells = [ln.split("tracker: tcp ", 1)[1] for ln in trace_lines(out) if "tracker: tcp " in ln]
    assert len(cells) >= 9
    for cell in cells:
        assert cell in table, cell


# Every state of the TCP table, reached by a prefix of packets (seq numbers
# in window), then one packet of each flag class in each direction: the
# tracker line of that last packet must be the table's cell for (state,
# class, direction), exactly as `ctsim explain tcp` prints it.
HS = [c("S", 1000), s("SA", 5000, 1001), c("A", 1001, 5001)]
STATES = {
    "NONE": [],
    "SYN_SENT": [c("S", 1000)],
    "SYN_SENT2": [c("S", 1000), s("S", 5000)],
    "SYN_RECV": HS[:2],
    "ESTABLISHED": HS,
    "FIN_WAIT": HS + [c("FA", 1001, 5001)],
    "CLOSE_WAIT": HS + [c("FA", 1001, 5001), s("A", 5001, 1002)],
    "LAST_ACK": HS + [c("FA", 1001, 5001), s("FA", 5001, 1002)],
    "TIME_WAIT": HS + [c("FA", 1001, 5001), s("FA", 5001, 1002), c("A", 1002, 5002)],
    "CLOSE": HS + [c("R", 1001)],
}
CLASSES = {"syn": "S", "synack": "SA", "fin": "FA", "ack": "A", "rst": "R"}


def test_every_tcp_cell_from_a_trace(tmp_path):
    table = {}
    for ln in subprocess.run([str(CTSIM), "explain", "tcp"], capture_output=True, text=True,
                             check=True).stdout.splitlines():
        m = re.match(r"(\S+) --(\S+)/(\S+)--> ", ln)
        table[m.groups()] = ln
    seen = set()
    for state, prefix in STATES.items():
        for cls, flags in CLASSES.items():
            for d in ("orig", "reply"):
                if state == "NONE" and d == "reply":
                    continue        # the first packet defines the original direction
                last = (c if d == "orig" else s)(flags, 1001 if d == "orig" else 5001,
                                                 5001 if d == "orig" else 1001)
                if flags == "S" or flags == "R":
                    last[TCP].ack = 0
                pcap = write(tmp_path, f"{state}-{cls}-{d}.pcap", prefix + [last])
                rs = tmp_path / "all.nft"
                rs.write_text("table inet t {\n\tchain f {\n\t\ttype filter hook forward "
                              "priority 0; policy accept;\n\t}\n}\n")
                out = trace_lines(replay(pcap, "--ruleset", rs, "--trace").stdout)
                mine = by_packet(out)[-1]
                cells = [ln.split("tracker: tcp ", 1)[1] for ln in mine if "tracker: tcp " in ln]
                assert cells, f"{state} {cls}/{d}: no cell in\n" + "\n".join(mine)
                assert cells[0] == table[(state, cls, d)], (state, cls, d, cells[0])
                seen.add((state, cls, d))
    # every cell but the "none" flag class (no flags: refused by tcp_error()
    # before the tracker) and the impossible reply-from-NONE ones
    want = {k for k in table if k[1] != "none" and not (k[0] == "NONE" and k[2] == "reply")}
    assert seen == want, sorted(want - seen)


def test_udp_icmp_transcript(tmp_path):
    out = ctsim_trace(tmp_path, packets()[10:], "--trace")
    q, a, other, echo = by_packet(trace_lines(out))
    assert any(ln.endswith("udp length 20 @th,64,96 0x717171717171717171717171") for ln in q), q
    assert any("timeout: udp 30 s (no reply seen before this packet: udp_timeout)" in ln for ln in q)
    assert any("inet t fw rule udp dport 53 goto dns (verdict goto dns)" in ln for ln in q)
    assert any("inet t dns rule udp sport 1234 accept (verdict accept)" in ln for ln in q)
    assert any("inet t post rule meta l4proto udp counter (verdict continue)" in ln for ln in q)
    assert any("timeout: udp 30 s (no reply seen before this packet: udp_timeout)" in ln
               for ln in a)
    assert any("event: events reply not delivered: no listener" in ln for ln in a)
    # the goto chain's end without a match: back to the base chain's policy
    assert other[-1].endswith("ctsim dropped: dropped by the ruleset")
    assert any(ln.endswith("inet t fw policy drop") for ln in other)
    assert any("ctinfo: IP_CT_NEW" in ln for ln in echo)


def test_nftrace_selects_and_off_costs_nothing(tmp_path):
    """--trace=nftrace: only the packets the ruleset marks; without
    --trace no trace line at all."""
    rs = RULESET.replace("ip saddr 10.66.0.0/16 meta", "udp dport 53 meta")
    out = ctsim_trace(tmp_path, packets(), "--trace=nftrace", ruleset=rs)
    pk = by_packet(trace_lines(out))
    assert len(pk) == 2, out
    assert all("udp dport 53" in p[0] for p in pk)
    assert not trace_lines(ctsim_trace(tmp_path, packets(), ruleset=rs))


def test_json_lines(tmp_path):
    out = ctsim_trace(tmp_path, packets()[:2], "--trace", "-j")
    objs = [json.loads(ln) for ln in out.splitlines() if ln.startswith('{"id"')]
    types = [o["type"] for o in objs]
    assert types[:2] == ["hook", "packet"] and "conntrack" in types and types.count("end") == 2
    assert objs[0] == {"id": 1, "type": "hook", "hook": "prerouting", "row": "raw",
                       "priority": -300}
    first = next(o for o in objs if o["type"] == "conntrack" and o["kind"] == "tracker")
    assert first["text"] == "tcp NONE --syn/orig--> SYN_SENT: SYN opens a connection"
    assert first["hook"] == "prerouting" and first["id"] == 1
    pol = next(o for o in objs if o["type"] == "policy")
    assert (pol["table"], pol["chain"], pol["verdict"]) == ("t", "pre", "accept")


def test_bad_trace_argument(tmp_path):
    pcap = write(tmp_path, "t.pcap", packets()[:1])
    res = replay(pcap, "--trace=some", check=False)
    assert res.returncode == 2 and "--trace=some: expected nftrace or all" in res.stderr


# --------------------------------------------------------------------------
# Against the kernel's nft monitor trace
# --------------------------------------------------------------------------

def sigint_default():
    """nft monitor installs no SIGINT handler: a suite started in the
    background (SIGINT ignored, inherited by every child) could not stop it
    with the SIGINT that makes it exit cleanly. Give it the default action."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kernel_trace(router, pcap, ruleset):  # noqa: F811
    subprocess.run(["ip", "netns", "exec", router.rtr, "nft", "-f", "-"],
                   input="flush ruleset\n" + ruleset, check=True, capture_output=True, text=True)
    mon = subprocess.Popen(["ip", "netns", "exec", router.rtr, "nft", "monitor", "trace"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=sigint_default)
    try:
        time.sleep(0.5)
        subprocess.run([sys.executable, "-c", SENDER, str(pcap), str(GAP), router.cli, router.srv,
                        router.mac[(router.rtr, "eth1")], router.mac[(router.rtr, "eth2")]],
                       check=True, capture_output=True, text=True, timeout=60)
        time.sleep(0.5)
    finally:
        mon.send_signal(signal.SIGINT)
        out = mon.communicate(timeout=10)[0]
    # only our packets (the hosts' own IPv6 chatter is traced too)
    (router.workdir / "kernel-trace.txt").write_text(out)
    return [pk for pk in by_packet(trace_lines(out), "pre") if " ip saddr 10.66." in pk[0]]


def test_nft_lines_same_as_kernel(tmp_path, router):  # noqa: F811
    pkts = packets()
    pcap = write(tmp_path, "k.pcap", pkts)
    router.workdir = tmp_path
    k = nft_part(kernel_trace(router, pcap, RULESET))
    ours = nft_part(by_packet(trace_lines(ctsim_trace(tmp_path, pkts, "--trace=nftrace"))))
    assert len(k) == len(pkts), "\n".join("\n".join(p) for p in k)
    for i, (kp, op) in enumerate(zip(k, ours)):
        assert op == kp, f"packet {i}:\nkernel:\n" + "\n".join(kp) + "\nctsim:\n" + "\n".join(op)
    assert len(ours) == len(k)


# --------------------------------------------------------------------------
# scenario run --trace
# --------------------------------------------------------------------------

SCENARIOS = os.path.join(os.path.dirname(__file__), "..", "scenarios")


def scenario_trace(name, *args):
    res = subprocess.run([str(CTSIM), "scenario", "run", os.path.join(SCENARIOS, name), *args],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    return trace_lines(res.stdout)


@pytest.mark.parametrize("name, want", [
    # an expectation: the data connection is expected, by which master
    ("ftp_expect.ct", [r"conntrack postrouting helper: ftp: 1 new expectation",
                       r"lookup: proto 6 src=10\.66\.1\.2 dst=10\.66\.2\.2 sport=\d+ dport=\d+: no entry; "
                       r"expected: new entry id \d+, master id \d+ \(proto 6 src=10\.66\.1\.2 "
                       r"dst=10\.66\.2\.2 sport=45380 dport=21\)",
                       r"ctinfo: IP_CT_RELATED \(ct state related\)"]),
    # an ICMP error: which entry it is about
    ("icmp_port_unreach_related.ct", [
        r"lookup: ICMP error about entry id \d+ \(proto 17 src=10\.66\.1\.2 dst=10\.66\.2\.2 "
        r"sport=40003 dport=5003\)",
        r"ctinfo: IP_CT_RELATED_REPLY \(ct state related\)"]),
    # INVALID reasons in the kernel's words
    ("tcp_invalid_flags.ct", [r"conntrack prerouting invalid: invalid tcp flag combination$"]),
    ("pd_rst_invalid.ct", [r"invalid: invalid rst$",
                           r"window: failed: SEQ is over upper bound \(over the window of the receiver\)"]),
    # table full: early drop, and nothing to drop
    ("table_full_early_drop.ct", [r"confirm: table full: early drop freed an entry that was not assured"]),
    ("table_full_assured_drop.ct", [r"confirm: nf_conntrack: table full, dropping packet",
                                    r"ctsim dropped: dropped by conntrack \(table full\)"]),
    # NAT: the binding each NAT hook makes on a new entry, and the reply tuple it leaves
    ("nat_masquerade.ct", [r"conntrack prerouting nat: null DNAT binding \(nf_nat_setup_info\): "
                           r"reply src=10\.66\.2\.2 dst=10\.66\.1\.2 sport=80 dport=40000 "
                           r"\(no nat rule matched\)",
                           r"conntrack postrouting nat: SNAT binding \(nf_nat_setup_info\): "
                           r"reply src=10\.66\.2\.2 dst=10\.66\.2\.1 sport=80 dport=40000$"]),
])
def test_scenario_trace(name, want):
    lines = scenario_trace(name, "--trace")
    for w in want:
        assert any(re.search(w, ln) for ln in lines), f"{w!r} not in\n" + "\n".join(lines)


def test_scenario_trace_usage():
    res = subprocess.run([str(CTSIM), "scenario", "run", SCENARIOS, "--trace", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--trace goes with neither --json" in res.stderr
    res = subprocess.run([str(CTSIM), "scenario", "run", SCENARIOS, "--trace=x"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--trace=x: expected nftrace or all" in res.stderr


# --------------------------------------------------------------------------
# The log statement's line against the kernel's (nf_log_syslog)
# --------------------------------------------------------------------------

def log_packets():
    quoted = IP(src=S_IP, dst=C_IP, id=99, ttl=61) / UDP(sport=5353, dport=7000) / Raw(b"z" * 4)
    return [
        IP(src=C_IP, dst=S_IP, id=31, flags="DF", tos=0x28) / TCP(sport=40010, dport=80, flags="S",
                                                                seq=5, window=2000),
        IP(src=C_IP, dst=S_IP, id=32) / TCP(sport=40011, dport=81, flags="FPAUEC", seq=7,
                                            ack=9, window=3, urgptr=4, reserved=2),
        IP(src=C_IP, dst=S_IP, id=33) / UDP(sport=1234, dport=53) / Raw(b"q" * 7),
        IP(src=C_IP, dst=S_IP, id=34) / ICMP(type=8, id=77, seq=5),
        IP(src=C_IP, dst=S_IP, id=35) / ICMP(type=3, code=3) / bytes(quoted),
        IP(src=C_IP, dst=S_IP, id=36) / ICMP(type=3, code=4, nexthopmtu=1400) / bytes(quoted),
        IP(src=C_IP, dst=S_IP, id=37, proto=253) / Raw(b"g" * 8),
    ]


def log_normalise(line):
    line = re.sub(r" (IN|OUT)=\S*", r" \1=", line)
    line = re.sub(r" MAC=\S*", " MAC=", line)
    line = re.sub(r"(?<=[ \[])HOPLIMIT=\d+", "HOPLIMIT=", line)
    return re.sub(r"(?<=[ \[])TTL=\d+", "TTL=", line).rstrip()


def kernel_log_lines(router, pcap, prefix, rs=None):  # noqa: F811
    """Send @pcap through the router with `log prefix PREFIX` in its forward
    chain (or ruleset @rs); the kernel's lines starting with @prefix, read
    from /dev/kmsg (the router namespace logs only with
    net.netfilter.nf_log_all_netns=1, restored after)."""
    rs = rs or ("table inet t {\n\tchain fw {\n\t\ttype filter hook forward priority filter; "
                f"policy accept;\n\t\tlog prefix \"{prefix}\"\n\t}}\n}}\n")
    subprocess.run(["ip", "netns", "exec", router.rtr, "nft", "-f", "-"],
                   input="flush ruleset\n" + rs, check=True, capture_output=True, text=True)
    knob = "/proc/sys/net/netfilter/nf_log_all_netns"
    old = open(knob).read().strip()
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.lseek(fd, 0, os.SEEK_END)
        with open(knob, "w") as f:
            f.write("1")
        subprocess.run([sys.executable, "-c", SENDER, str(pcap), str(GAP), router.cli, router.srv,
                        router.mac[(router.rtr, "eth1")], router.mac[(router.rtr, "eth2")]],
                       check=True, capture_output=True, text=True, timeout=60)
        time.sleep(0.3)
        lines = []
        while True:
            try:
                rec = os.read(fd, 8192).decode(errors="replace")
            except BlockingIOError:
                break
            except OSError:     # EPIPE: records overwritten meanwhile; go on
                continue
            msg = rec.split(";", 1)[1].split("\n", 1)[0] if ";" in rec else ""
            if msg.startswith(prefix):
                lines.append(msg)
        return lines
    finally:
        os.close(fd)
        with open(knob, "w") as f:
            f.write(old)
        assert open(knob).read().strip() == old


def test_log_line_same_as_kernel(tmp_path, router):  # noqa: F811
    if not os.access("/dev/kmsg", os.R_OK) or \
            not os.path.exists("/proc/sys/net/netfilter/nf_log_all_netns"):
        pytest.fail("needs /dev/kmsg and net.netfilter.nf_log_all_netns (root)")
    prefix = "ct" + os.urandom(3).hex() + " "
    pkts = log_packets()
    pcap = write(tmp_path, "log.pcap", pkts)
    k = kernel_log_lines(router, pcap, prefix)
    rs = tmp_path / "log.nft"
    rs.write_text("table inet t {\n\tchain fw {\n\t\ttype filter hook forward priority filter; "
                  f"policy accept;\n\t\tlog prefix \"{prefix}\"\n\t}}\n}}\n")
    ours = [ln.split(": ", 1)[1] for ln in trace_lines(replay(pcap, "--ruleset", rs,
                                                              "--trace").stdout)
            if " log forward: " in ln]
    assert len(k) == len(pkts), "\n".join(k)
    assert [log_normalise(x) for x in ours] == [log_normalise(x) for x in k], \
        "kernel:\n" + "\n".join(k) + "\nctsim:\n" + "\n".join(ours)


def test_log_invalid_same_as_kernel(tmp_path, router):  # noqa: F811
    """nf_conntrack_log_invalid=6: the kernel logs an INVALID TCP packet as
    "nf_ct_proto_6: REASON " + the nf_log line with the default flags (TCP
    sequence numbers and options, IP options)."""
    pkts = [IP(src=C_IP, dst=S_IP, id=41) / TCP(sport=40020, dport=80, flags="SF", seq=77,
                                                 ack=0, window=500,
                                                 options=[("MSS", 1400), ("NOP", None)])]
    pcap = write(tmp_path, "inv.pcap", pkts)
    ns = ["ip", "netns", "exec", router.rtr]
    # the netns' logger for IPv4 (nf_log_packet() without log info uses it)
    subprocess.run(ns + ["sysctl", "-qw", "net.netfilter.nf_log.2=nf_log_ipv4",
                         "net.netfilter.nf_conntrack_log_invalid=6"], check=True)
    rs = ("table inet t {\n\tchain fw {\n\t\ttype filter hook forward priority filter; "
          "policy accept;\n\t\tct state invalid counter\n\t}\n}\n")
    k = kernel_log_lines(router, pcap, "nf_ct_proto_6: ", rs)
    rsf = tmp_path / "inv.nft"
    rsf.write_text(rs)
    ours = [ln.split(": ", 1)[1] for ln in trace_lines(replay(
        pcap, "--ruleset", rsf, "--trace", "--set", "nf_conntrack_log_invalid=6").stdout)
        if " log prerouting: " in ln]
    assert len(k) == 1 and len(ours) == 1, (k, ours)
    assert "SEQ=77 ACK=0 " in ours[0] and "OPT (0204057801000000) " in ours[0], ours
    assert log_normalise(ours[0]) == log_normalise(k[0]), f"kernel:\n{k[0]}\nctsim:\n{ours[0]}"
    # off (0, the default): no line
    assert not [ln for ln in trace_lines(replay(pcap, "--ruleset", rsf, "--trace").stdout)
                if " log prerouting: " in ln]


# INVALID reasons: one packet (sequence) each, the reason the trace gives,
# and, with nf_conntrack_log_invalid=255, the lines the kernel logs for them.
INVALID_CASES = {
    "tcp_flags": ([lambda: IP(src=C_IP, dst=S_IP) / TCP(flags="SF")],
                  "invalid tcp flag combination"),
    "tcp_new": ([lambda: IP(src=C_IP, dst=S_IP) / TCP(flags="SA")],
                "invalid new: packet cannot open a connection"),
    "tcp_csum": ([lambda: IP(src=C_IP, dst=S_IP) / TCP(flags="S", chksum=0x1234)], "bad checksum"),
    "tcp_short": ([lambda: IP(src=C_IP, dst=S_IP, proto=6) / Raw(b"x" * 10)], "short packet"),
    "udp_csum": ([lambda: IP(src=C_IP, dst=S_IP) / UDP(sport=1, dport=2, chksum=0x1234) / Raw(b"abc")],
                 "bad checksum"),
    "udp_short": ([lambda: IP(src=C_IP, dst=S_IP, proto=17) / Raw(b"x" * 5)], "short packet"),
    "udplite_cov": ([lambda: IP(src=C_IP, dst=S_IP, proto=136) / Raw(bytes([0, 1, 0, 2, 0, 100, 0, 0]))],
                    "invalid checksum coverage"),
    "sctp_short": ([lambda: IP(src=C_IP, dst=S_IP, proto=132) / Raw(b"x" * 6)],
                   "nf_ct_sctp: short packet"),
    "icmp_no_ct": ([lambda: IP(src=S_IP, dst=C_IP) / ICMP(type=3, code=3) /
                    IP(src=C_IP, dst=S_IP) / UDP(sport=1, dport=2)],
                   "no conntrack for the embedded packet (ICMP error: counted as error, not invalid)"),
    "icmp_new": ([lambda: IP(src=C_IP, dst=S_IP) / ICMP(type=0)],
                 "can't create new conn with this type"),
    "icmp_type": ([lambda: IP(src=C_IP, dst=S_IP) / ICMP(type=200)],
                  "invalid icmp type (ICMP error: counted as error, not invalid)"),
    "icmp_csum": ([lambda: IP(src=C_IP, dst=S_IP) / ICMP(type=8, chksum=1)],
                  "bad hw icmp checksum (ICMP error: counted as error, not invalid)"),
    "icmp_outer": ([lambda: IP(src=C_IP, dst=S_IP) / UDP(sport=7, dport=8),
                    lambda: IP(src=S_IP, dst="10.66.1.9") / ICMP(type=3, code=3) /
                    IP(src=C_IP, dst=S_IP) / UDP(sport=7, dport=8)],
                   "outer daddr != inner (ICMP error: counted as error, not invalid)"),
}


# conntrack on in the kernel router (a ct expression), everything accepted
INVALID_RS = ("table inet t {\n\tchain fw {\n\t\ttype filter hook forward priority filter; "
              "policy accept;\n\t\tct state invalid counter\n\t}\n}\n")


@pytest.mark.parametrize("name", sorted(INVALID_CASES))
def test_invalid_reason_in_trace(tmp_path, name):
    mk, reason = INVALID_CASES[name]
    out = ctsim_trace(tmp_path, [f() for f in mk], "--trace", ruleset=INVALID_RS)
    last = by_packet(trace_lines(out))[-1]
    inv = [ln.split("conntrack prerouting invalid: ", 1)[1] for ln in last
           if "conntrack prerouting invalid: " in ln]
    assert inv == [reason], "\n".join(last)


def test_invalid_log_lines_same_as_kernel(tmp_path, router):  # noqa: F811
    """nf_conntrack_log_invalid=255: for every case above, the kernel's
    nf_ct_proto_N lines and ctsim's are the same."""
    pkts = [f() for name in sorted(INVALID_CASES) for f in INVALID_CASES[name][0]]
    pcap = write(tmp_path, "invalid.pcap", pkts)
    ns = ["ip", "netns", "exec", router.rtr]
    subprocess.run(ns + ["sysctl", "-qw", "net.netfilter.nf_log.2=nf_log_ipv4",
                         "net.netfilter.nf_conntrack_log_invalid=255"], check=True)
    k = kernel_log_lines(router, pcap, "nf_ct_proto_", INVALID_RS)
    rsf = tmp_path / "inv.nft"
    rsf.write_text(INVALID_RS)
    ours = [ln.split(": ", 1)[1] for ln in trace_lines(replay(
        pcap, "--ruleset", rsf, "--trace", "--set", "nf_conntrack_log_invalid=255").stdout)
        if " log prerouting: " in ln]
    assert [log_normalise(x) for x in ours] == [log_normalise(x) for x in k], \
        "kernel:\n" + "\n".join(k) + "\nctsim:\n" + "\n".join(ours)


# --------------------------------------------------------------------------
# IPv6: the packet line and the log line against the kernel's
# --------------------------------------------------------------------------

SENDER6 = r"""
import ctypes, os, socket, sys, time
from scapy.all import rdpcap, IPv6
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
pcap, gap, ns, mac = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
me = os.open("/proc/self/ns/net", os.O_RDONLY)
fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
assert libc.setns(fd, CLONE_NEWNET) == 0
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
assert libc.setns(me, CLONE_NEWNET) == 0
for p in rdpcap(pcap):
    s.sendto(bytes(p[IPv6]), ("eth0", 0x86dd, 0, 0, bytes.fromhex(mac.replace(":", ""))))
    time.sleep(gap)
"""

C6, S6 = "fd66:1::2", "fd66:2::2"


def test_ipv6_trace_and_log_same_as_kernel(tmp_path, router):  # noqa: F811
    """IPv6 through the kernel router: the nft lines (ip6 fields, icmpv6
    names) and the log lines (%pI6 addresses, TC, HOPLIMIT, FLOWLBL) as
    ctsim prints them."""
    from scapy.all import ICMPv6EchoRequest, IPv6
    sh = router.sh
    for ns, dev, addr in ((router.cli, "eth0", C6 + "/64"), (router.rtr, "eth1", "fd66:1::1/64"),
                          (router.rtr, "eth2", "fd66:2::1/64"), (router.srv, "eth0", S6 + "/64")):
        sh(f"ip -n {ns} addr add {addr} dev {dev} nodad")
    sh(f"ip netns exec {router.rtr} sysctl -qw net.ipv6.conf.all.forwarding=1")
    sh(f"ip -n {router.rtr} neigh replace {S6} lladdr {router.mac[(router.srv, 'eth0')]} "
       "dev eth2 nud permanent")
    prefix = "c6" + os.urandom(2).hex() + " "
    rs = ("table inet t {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; "
          "policy accept;\n\t\tip6 saddr fd66::/16 meta nftrace set 1\n\t}\n"
          "\tchain fw {\n\t\ttype filter hook forward priority filter; policy accept;\n"
          f"\t\tlog prefix \"{prefix}\"\n\t\tct state new accept\n\t}}\n}}\n")
    pkts = [IPv6(src=C6, dst=S6, fl=0x12345, tc=0x28) / TCP(sport=40100, dport=80, flags="S",
                                                          window=999),
            IPv6(src=C6, dst=S6) / UDP(sport=1234, dport=53) / Raw(b"q" * 9),
            IPv6(src=C6, dst=S6) / ICMPv6EchoRequest(id=5, seq=6)]
    pcap = write(tmp_path, "v6.pcap", pkts)
    subprocess.run(["ip", "netns", "exec", router.rtr, "nft", "-f", "-"],
                   input="flush ruleset\n" + rs, check=True, capture_output=True, text=True)
    knob = "/proc/sys/net/netfilter/nf_log_all_netns"
    old = open(knob).read().strip()
    kfd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    mon = subprocess.Popen(["ip", "netns", "exec", router.rtr, "nft", "monitor", "trace"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=sigint_default)
    try:
        os.lseek(kfd, 0, os.SEEK_END)
        with open(knob, "w") as f:
            f.write("1")
        time.sleep(0.5)
        subprocess.run([sys.executable, "-c", SENDER6, str(pcap), str(GAP), router.cli,
                        router.mac[(router.rtr, "eth1")]], check=True, capture_output=True,
                       text=True, timeout=60)
        time.sleep(0.5)
        klog = []
        while True:
            try:
                rec = os.read(kfd, 8192).decode(errors="replace")
            except BlockingIOError:
                break
            except OSError:
                continue
            msg = rec.split(";", 1)[1].split("\n", 1)[0] if ";" in rec else ""
            if msg.startswith(prefix):
                klog.append(msg)
    finally:
        mon.send_signal(signal.SIGINT)
        ktrace = mon.communicate(timeout=10)[0]
        os.close(kfd)
        with open(knob, "w") as f:
            f.write(old)
    assert open(knob).read().strip() == old
    kpk = [pk for pk in by_packet(trace_lines(ktrace), "pre") if " ip6 saddr fd66:1::2 " in pk[0]]
    rsf = tmp_path / "v6.nft"
    rsf.write_text(rs)
    out = trace_lines(replay(pcap, "--ruleset", rsf, "--trace=nftrace").stdout)
    ours = by_packet(out)
    assert len(kpk) == len(pkts), ktrace
    for kp, op in zip(nft_part(kpk), nft_part(ours)):
        assert op == kp, "kernel:\n" + "\n".join(kp) + "\nctsim:\n" + "\n".join(op)
    ourlog = [ln.split(": ", 1)[1] for ln in out if " log forward: " in ln]
    assert len(klog) == 3, klog
    assert [log_normalise(x) for x in ourlog] == [log_normalise(x) for x in klog], \
        "kernel:\n" + "\n".join(klog) + "\nctsim:\n" + "\n".join(ourlog)
