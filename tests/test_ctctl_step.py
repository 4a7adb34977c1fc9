# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctctl pause / step [N] / resume` against a running lab (issue 12, item
3): the daemon holds the packets the hosts send; each `step` releases the
oldest into the router and prints its trace and its entry after it (state,
status bits, timeout, TCP windows); `resume` releases the rest.
"""
import re
import time

from labutil import CLIENT4, SERVER4, lab_factory  # noqa: F401

SEND = ("import sys\nfrom scapy.all import IP, TCP, send\n"
        "send(IP(dst=sys.argv[1])/TCP(sport=int(sys.argv[2]), dport=9, flags=sys.argv[3], "
        "seq=1000, window=512), verbose=False)\n")

SEND_UDP = ("import sys\nfrom scapy.all import IP, UDP, send\n"
            "send(IP(dst=sys.argv[1])/UDP(sport=int(sys.argv[2]), dport=9), verbose=False)\n")


def step_until(ctl, needle, tries=20):
    """`ctctl step` until the released packet's report contains @needle
    (the hosts' own traffic, e.g. IPv6 router solicitations, is held too);
    returns that packet's report (from its "packet K from" line on)."""
    for _ in range(tries):
        res = ctl("step")
        assert res.returncode == 0, res.stderr
        if needle in res.stdout:
            return res.stdout
        assert res.stdout.startswith("packet 1 from ") or res.stdout.startswith("no packet held"), \
            res.stdout
        time.sleep(0.1)
    raise AssertionError(f"no held packet with {needle!r}")


def test_pause_step_resume(lab_factory):  # noqa: F811
    lab = lab_factory([], tag="cst")
    ctl = lab.d.ctctl

    def listing():
        res = ctl("list")
        assert res.returncode == 0, res.stderr
        return res.stdout

    res = ctl("step")
    assert res.returncode == 1 and "the data plane is not paused (ctctl pause first)" \
        in res.stderr, res.stderr
    res = ctl("pause")
    assert res.returncode == 0 and res.stdout == "paused, 0 packets held\n", res
    # a SYN from the client: held, so no entry yet
    lab.run("client", "/usr/bin/python3", "-c", SEND, SERVER4, "41001", "S", check=True)
    time.sleep(0.3)
    assert "sport=41001" not in listing()
    out = step_until(ctl, "sport=41001 dport=9: no entry")
    assert out.startswith("packet 1 from ct-c0, held "), out
    for want in (f"conntrack prerouting lookup: proto 6 src={CLIENT4} dst={SERVER4} "
                 "sport=41001 dport=9: no entry; new entry id",
                 "ctinfo: IP_CT_NEW (ct state new)",
                 "tracker: tcp NONE --syn/orig--> SYN_SENT: SYN opens a connection",
                 "ctsim forwarded",
                 "entry after:", "state SYN_SENT", "status: CONFIRMED",
                 "timeout: 120 s left",
                 "window original td_end=1001 td_maxend=1001 td_maxwin=512"):
        assert want in out, (want, out)
    assert "sport=41001" in listing()
    # the server's RST (nothing listens on port 9) is held in turn
    time.sleep(0.3)
    out = step_until(ctl, "tracker: tcp SYN_SENT --rst/reply--> CLOSE")
    assert out.startswith("packet 1 from ct-s0"), out
    # the RST kills the entry at once (tcp_packet(): nf_ct_kill_acct())
    assert "killed now (nf_ct_kill_acct)" in out, out
    assert "entry after: no entry\n" in out, out
    # N packets at once: everything held now, then nothing is left
    res = ctl("step", "1024")
    assert res.returncode == 0 and res.stdout.endswith("paused, 0 packets held\n"), res
    for _ in range(5):      # (unless a host sent something in between)
        res = ctl("step")
        if res.stdout == "no packet held\npaused, 0 packets held\n":
            break
    assert res.stdout == "no packet held\npaused, 0 packets held\n", res
    # held while paused, released by resume
    # (UDP: the server's port unreachable is RELATED and leaves the entry)
    lab.run("client", "/usr/bin/python3", "-c", SEND_UDP, SERVER4, "41002", check=True)
    time.sleep(0.3)
    held = ctl("pause").stdout
    assert re.fullmatch(r"paused, [1-9]\d* packets held\n", held), held
    n = int(held.split()[1])
    res = ctl("resume")
    assert res.returncode == 0 and \
        res.stdout == f"released {n} packets\nrunning, 0 packets held\n", res
    assert "sport=41002" in listing()
    # usage
    for args, msg in [(("step", "0"), "expected a number of packets"),
                      (("step", "x"), "expected a number of packets"),
                      (("step", "1", "2"), "takes one number at most"),
                      (("pause", "now"), "takes no arguments")]:
        res = ctl(*args)
        assert res.returncode == 2 and msg in res.stderr, (args, res.stderr)


def test_step_without_lab(ctsim):
    res = ctsim.ctctl("pause")
    assert res.returncode == 1 and "this ctsim has no data plane" in res.stderr, res.stderr


def test_table_internals(ctsim):
    """`ctctl table`: count/max, buckets and the chain-length histogram
    (2 nodes per entry), unconfirmed and dying lists, expectations."""
    def table():
        res = ctsim.ctctl("table")
        assert res.returncode == 0, res.stderr
        return res.stdout.splitlines()

    lines = table()
    assert re.fullmatch(r"entries 0 \(nf_conntrack_count\), max \d+ \(nf_conntrack_max\)",
                        lines[0]), lines
    m = re.fullmatch(r"buckets (\d+) \(nf_conntrack_buckets\); nodes per bucket \(2 per entry\): "
                     r"0:(\d+); longest chain 0", lines[1])
    assert m and m[1] == m[2], lines
    assert lines[2:5] == ["unconfirmed 0 (between packets)",
                          "dying 0 (unlinked, still referenced)",
                          lines[4]] and lines[4].startswith("expectations 0, max "), lines
    assert lines[5:] == ["policy kernel (ctsim_overflow_policy)"], lines   # nothing full yet
    for sport in (1, 2):
        res = ctsim.ctctl("add", "tcp", "src", "10.0.0.1", "dst", "10.0.0.2", "sport", str(sport),
                          "dport", "80", "state", "ESTABLISHED", "timeout", "50")
        assert res.returncode == 0, res.stderr
    lines = table()
    assert lines[0].startswith("entries 2 (nf_conntrack_count)"), lines
    # four nodes: in four buckets, or fewer with a longer chain
    hist = dict(kv.split(":") for kv in lines[1].split(": ", 1)[1].split(";")[0].split())
    assert sum(int(k.rstrip("+")) * int(v) for k, v in hist.items()) == 4, lines
    res = ctsim.ctctl("table", "x")
    assert res.returncode == 2 and "takes no arguments" in res.stderr, res.stderr


def test_explain_entry(ctsim):
    """`ctctl explain TUPLE`: the entry's internals, found by a tuple of
    either direction; ENOENT for none."""
    res = ctsim.ctctl("add", "tcp", "src", "10.0.0.1", "dst", "10.0.0.2", "sport", "1234",
                      "dport", "80", "state", "ESTABLISHED", "timeout", "50", "mark", "7")
    assert res.returncode == 0, res.stderr
    want = ["state ESTABLISHED",
            "original: proto 6 src=10.0.0.1 dst=10.0.0.2 sport=1234 dport=80",
            "reply   : proto 6 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1234",
            "status: CONFIRMED", "mark 7", "window original td_end="]
    for args in (("src", "10.0.0.1", "dst", "10.0.0.2", "sport", "1234", "dport", "80"),
                 ("src", "10.0.0.2", "dst", "10.0.0.1", "sport", "80", "dport", "1234")):
        res = ctsim.ctctl("explain", "tcp", *args)
        assert res.returncode == 0, res.stderr
        for w in want:
            assert w in res.stdout, (w, res.stdout)
        left = int(res.stdout.split("timeout: ")[1].split()[0])
        assert 48 <= left <= 50, res.stdout
    res = ctsim.ctctl("explain", "tcp", "src", "10.0.0.1", "dst", "10.0.0.2", "sport", "9",
                      "dport", "80")
    assert res.returncode == 1 and "ENOENT" in res.stderr, res.stderr
