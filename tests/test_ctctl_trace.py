# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctctl trace [all]` and `ctctl log` against a running lab (issue 12): the
daemon streams the trace of the packets its ruleset marks with `meta nftrace
set 1` (or every packet) over its socket (CTSIM_CTL_TRACE), and the `log`
statements' lines; `ctsim -v` writes the log lines on its stderr.
"""
import json
import os
import re
import signal
import subprocess
import time

from conftest import CTCTL_BIN, SANITIZER_ENV
from labutil import CLIENT4, SERVER4, lab_factory  # noqa: F401

RULES = """\
table inet t {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		icmp type echo-request meta nftrace set 1
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		icmp type echo-request log prefix "PING " accept
		ct state established accept
	}
}
"""


def stream(lab, *args):
    """Start `ctctl ARGS` streaming in the background."""
    return subprocess.Popen([str(CTCTL_BIN), "--socket", lab.d.socket, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **SANITIZER_ENV))


def stop(p):
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    return out


def by_id(lines):
    out = {}
    for ln in lines:
        if ln.startswith("trace id "):
            out.setdefault(ln.split()[2], []).append(ln)
    return list(out.values())


def test_trace_log_and_verbose(lab_factory, tmp_path):  # noqa: F811
    rules = tmp_path / "rules.nft"
    rules.write_text(RULES)
    lab = lab_factory(["--ruleset", str(rules), "-v"], tag="ctr")
    tr, tr_all, tr_json, log = (stream(lab, "trace"), stream(lab, "trace", "all"),
                                stream(lab, "-j", "trace"), stream(lab, "log"))
    time.sleep(0.5)     # the streams must be on before the packets
    lab.run("client", "ping", "-c", "2", "-i", "0.2", "-W", "2", SERVER4, check=True)
    time.sleep(0.3)
    out, out_all, out_json, out_log = stop(tr), stop(tr_all), stop(tr_json), stop(log)

    # nftrace: the two echo requests only, each with its rule lines and
    # conntrack's steps, as nft monitor trace would select them
    pk = by_id(out.splitlines())
    assert len(pk) == 2, out
    for p in pk:
        assert any(re.search(r'inet t pre packet: iif "\S+" ip saddr 10\.77\.1\.2 ip daddr '
                             r"10\.77\.2\.2 .*icmp type echo-request", ln) for ln in p), p
        assert any(ln.endswith("inet t pre rule icmp type echo-request meta nftrace set 1 "
                               "(verdict continue)") for ln in p), p
        assert any(" conntrack prerouting lookup: proto 1 src=10.77.1.2 dst=10.77.2.2" in ln
                   for ln in p), p
        assert any('inet t forward rule icmp type echo-request log prefix "PING " accept '
                   "(verdict accept)" in ln for ln in p), p
        assert any(" log forward: PING IN=" in ln for ln in p), p
        assert p[-1].endswith("ctsim forwarded"), p
    assert any("ctinfo: IP_CT_NEW" in ln for ln in pk[0])
    # all: the replies too (and whatever else crossed the lab meanwhile)
    replies = [p for p in by_id(out_all.splitlines())
               if any("ip saddr 10.77.2.2 ip daddr 10.77.1.2" in ln for ln in p)]
    assert len(replies) >= 2, out_all
    assert any("ctinfo: IP_CT_ESTABLISHED_REPLY" in ln for ln in replies[0]), replies[0]
    # JSON lines: the same steps
    objs = [json.loads(ln) for ln in out_json.splitlines()]
    assert sum(1 for o in objs if o["type"] == "end") == 2, out_json
    assert any(o["type"] == "conntrack" and o["kind"] == "lookup" for o in objs)
    # ctctl log: exactly the log lines, kernel format
    logs = out_log.splitlines()
    assert len(logs) == 2, out_log
    for ln in logs:
        assert re.fullmatch(r"PING IN=\S+ OUT=\S+ MAC= SRC=10\.77\.1\.2 DST=10\.77\.2\.2 LEN=84 "
                            r"TOS=0x00 PREC=0x00 TTL=63 ID=\d+ (DF )?PROTO=ICMP TYPE=8 CODE=0 "
                            r"ID=\d+ SEQ=[12] ", ln), ln
    # -v: the same lines on the daemon's stderr
    err = lab.d.stderr_text()
    assert sum(1 for ln in err.splitlines() if ln.startswith("ctsim: log: PING IN=")) == 2, err


def test_trace_filter(lab_factory):  # noqa: F811
    """`ctctl trace FILTER`: the packets matching it, in both directions,
    without nftrace in the ruleset; others are left out."""
    lab = lab_factory(tag="ctf")
    tr = stream(lab, "trace", "proto", "icmp", "dst", SERVER4)
    udp = stream(lab, "trace", "proto", "udp", "dport", "9999")
    time.sleep(0.5)
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    time.sleep(0.3)
    out, none = stop(tr), stop(udp)
    pk = by_id(out.splitlines())
    # the request (matches) and the reply (matches swapped)
    assert len(pk) == 2, out
    assert any("ip saddr 10.77.1.2 ip daddr 10.77.2.2" in ln or "src=10.77.1.2 dst=10.77.2.2" in ln
               for ln in pk[0]), pk[0]
    assert any("ctinfo: IP_CT_ESTABLISHED_REPLY" in ln for ln in pk[1]), pk[1]
    assert none == "", none
    res = lab.d.ctctl("trace", "mark", "1")
    assert res.returncode == 2, res.stderr


def test_trace_usage_and_no_lab(ctsim):
    res = ctsim.ctctl("trace", "some")
    assert res.returncode == 2 and 'unexpected word "some"' in res.stderr, res.stderr
    res = ctsim.ctctl("trace")
    assert res.returncode == 1 and "no data plane to trace" in res.stderr, res.stderr
    res = ctsim.ctctl("log")
    assert res.returncode == 1 and "no data plane to trace" in res.stderr, res.stderr


SEND_ACK = ("import sys\nfrom scapy.all import IP, TCP, send\n"
            "send(IP(dst=sys.argv[1])/TCP(sport=int(sys.argv[2]), dport=9, flags='A', seq=1000, "
            "ack=2000), verbose=False)\n")


def test_live_settings(lab_factory, tmp_path):  # noqa: F811
    """`ctctl set nf_conntrack_tcp_loose 0` in a running lab: the next
    mid-stream ACK is INVALID (no entry), without a restart; `ctctl get`
    shows the value; bad names, values and read-only settings are refused
    with the daemon's message."""
    rules = tmp_path / "rules.nft"
    rules.write_text("table inet t {\n\tchain forward {\n\t\ttype filter hook forward "
                     "priority filter; policy accept;\n\t\tct state invalid counter\n\t}\n}\n")
    lab = lab_factory(["--ruleset", str(rules)], tag="cts")
    tr = stream(lab, "trace", "all")
    time.sleep(0.5)

    def ack(sport):
        lab.run("client", "/usr/bin/python3", "-c", SEND_ACK, SERVER4, str(sport), check=True)
        time.sleep(0.3)

    # (the server's stack answers each ACK with an RST, which ends a
    # picked-up entry at once: the trace says what conntrack did)
    ack(40001)                                      # picked up (loose = 1, the default)
    res = lab.d.ctctl("set", "nf_conntrack_tcp_loose", "0")
    assert res.returncode == 0, res.stderr
    assert lab.d.ctctl("get", "nf_conntrack_tcp_loose").stdout == "nf_conntrack_tcp_loose = 0\n"
    ack(40002)                                      # INVALID now, no restart
    assert lab.d.ctctl("set", "net.netfilter.nf_conntrack_tcp_loose=1").returncode == 0
    ack(40003)
    out = stop(tr)
    first = {}
    for p in by_id(out.splitlines()):
        m = re.search(r"lookup: proto 6 src=10\.77\.1\.2 dst=10\.77\.2\.2 sport=(4000[123]) "
                      r"dport=9", " ".join(p))
        if m:
            first.setdefault(int(m[1]), p)
    assert sorted(first) == [40001, 40002, 40003], out
    pickup = "tracker: tcp NONE --ack/orig--> ESTABLISHED: ACK without a handshake"
    assert any(pickup in ln for ln in first[40001]), first[40001]
    assert any(pickup in ln and ln.endswith("[refused: nf_conntrack_tcp_loose=0]")
               for ln in first[40002]), first[40002]
    assert any("conntrack prerouting invalid: " in ln for ln in first[40002]), first[40002]
    assert any(pickup in ln for ln in first[40003]), first[40003]

    for args, code, msg in [
            (("set", "nf_conntrack_buckets", "1024"), "EROFS", "read-only while ctsim runs"),
            (("set", "nf_conntrack_nosuch", "1"), "ENOENT", "nf_conntrack_nosuch"),
            (("set", "nf_conntrack_tcp_loose", "many"), "EINVAL", ""),
            (("get", "nf_conntrack_nosuch"), "ENOENT", "no such setting")]:
        res = lab.d.ctctl(*args)
        assert res.returncode == 1 and code in res.stderr and msg in res.stderr, (args, res.stderr)
    assert "nf_conntrack_max = " in lab.d.ctctl("get").stdout
