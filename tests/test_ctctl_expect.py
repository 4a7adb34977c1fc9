# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctctl expect list|add|delete|flush|monitor` against a ctsim daemon,
compared with the real `conntrack ... expect` under ctsim-exec (issue 6,
item 2). Masters with the ftp helper are created over raw ctnetlink
(conntrack 1.4.7 has no option for CTA_HELP)."""

import json
import os
import re
import signal
import socket
import subprocess
import time

from conftest import CONNTRACK, CTCTL_BIN, SANITIZER_ENV
import wire
from test_helpers import EXP_ARGS, ctsim_master, tcp_master_attrs


def ctsim_master6(daemon, src, dst, sport=40000):
    """An IPv6 master with the ftp helper (ctsim_master() is IPv4 only)."""
    with wire.CtsimConn(daemon.socket) as c:
        msg = wire.ct_msg(wire.CT_NEW, wire.NLM_F_REQUEST | wire.NLM_F_ACK | wire.NLM_F_CREATE |
                          wire.NLM_F_EXCL, *tcp_master_attrs(src, dst, sport, 21),
                          family=socket.AF_INET6)
        msgs = [m for d in c.exchange(msg) for m in wire.split(d)]
        errs = [m.error for m in msgs if m.type == wire.NLMSG_ERROR and m.error]
        return errs[0] if errs else None

# The same expectation as EXP_ARGS (without the 1.4.7 --tuple-port quirk):
# master 127.0.0.1:40000 -> 127.0.0.1:21, expected tcp to 127.0.0.1:10241.
CONNTRACK_ADD = [a for a in EXP_ARGS if a not in ("--tuple-port-src", "--tuple-port-dst",
                                                  "0", "10241")]
CTCTL_ADD = ["expect", "add", "master", "tcp", "src", "127.0.0.1", "dst", "127.0.0.1",
             "sport", "40000", "dport", "21", "expect", "tcp", "dport", "10241"]


def lines(text):
    return [re.sub(r"^(\d+) ", "T ", l) for l in text.splitlines() if l.strip()]


def test_list_empty(ctsim):
    r = ctsim.ctctl("expect", "list")
    assert r.returncode == 0 and r.stdout == ""
    assert "0 expectations have been shown." in r.stderr
    r = ctsim.ctctl("-j", "expect", "list")
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_add_list_matches_conntrack(ctsim):
    assert ctsim_master(ctsim) is None
    r = ctsim.ctctl(*CTCTL_ADD)
    assert r.returncode == 0, r.stderr
    mine = ctsim.ctctl("expect", "list")
    theirs = ctsim.conntrack("-L", "expect")
    assert mine.returncode == 0 and theirs.returncode == 0
    assert lines(mine.stdout) == lines(theirs.stdout), (mine.stdout, theirs.stdout)
    assert len(lines(mine.stdout)) == 1
    assert re.match(r"^(300|299) proto=6 src=127\.0\.0\.1 dst=127\.0\.0\.1 sport=0 dport=10241 "
                    r"mask-src=255\.255\.255\.255 mask-dst=255\.255\.255\.255 sport=0 dport=65535 "
                    r"master-src=127\.0\.0\.1 master-dst=127\.0\.0\.1 sport=40000 dport=21 "
                    r"class=0 helper=ftp$", mine.stdout.strip()), mine.stdout
    assert "1 expectations have been shown." in mine.stderr
    # EEXIST, as conntrack -I expect twice
    r = ctsim.ctctl(*CTCTL_ADD)
    assert r.returncode == 1 and "EEXIST" in r.stderr
    # -o extended, as conntrack
    mine = ctsim.ctctl("expect", "list", "-o", "extended")
    theirs = ctsim.conntrack("-L", "expect", "-o", "extended")
    assert lines(mine.stdout) == lines(theirs.stdout), (mine.stdout, theirs.stdout)
    # JSON
    r = ctsim.ctctl("-j", "expect", "list")
    (obj,) = json.loads(r.stdout)
    assert obj["family"] == "ipv4" and obj["proto"] == "tcp" and obj["protonum"] == 6
    assert obj["tuple"] == {"src": "127.0.0.1", "dst": "127.0.0.1", "sport": 0, "dport": 10241}
    assert obj["mask"]["src"] == "255.255.255.255" and obj["mask"]["dport"] == 65535
    assert obj["master"]["sport"] == 40000 and obj["helper"] == "ftp" and obj["class"] == 0
    assert obj["timeout"] in (299, 300) and isinstance(obj["id"], int)


def test_add_like_conntrack(ctsim):
    """An expectation added by conntrack -I expect lists the same in both."""
    assert ctsim_master(ctsim) is None
    r = ctsim.conntrack("-I", "expect", *EXP_ARGS)
    assert r.returncode == 0, r.stderr
    mine = ctsim.ctctl("expect", "list")
    theirs = ctsim.conntrack("-L", "expect")
    assert lines(mine.stdout) == lines(theirs.stdout) and "proto=40" in mine.stdout


def test_defaults_reply_direction_and_mask(ctsim):
    assert ctsim_master(ctsim, src="10.0.0.1", dst="10.0.0.2") is None
    r = ctsim.ctctl("expect", "add", "master", "tcp", "src", "10.0.0.1", "dst", "10.0.0.2",
                    "sport", "40000", "dport", "21", "expect", "dport", "5000",
                    "mask", "src", "255.255.255.0", "timeout", "60")
    assert r.returncode == 0, r.stderr
    out = ctsim.ctctl("expect", "list").stdout
    assert " proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=5000 mask-src=255.255.255.0 " \
           "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.1" in out, out
    r = ctsim.ctctl("expect", "add", "master", "tcp", "src", "10.0.0.1", "dst", "10.0.0.2",
                    "sport", "40000", "dport", "21", "expect", "src", "10.0.0.9", "dst", "10.0.0.1",
                    "sport", "20", "dport", "5001")
    assert r.returncode == 0, r.stderr
    out = ctsim.ctctl("expect", "list").stdout
    assert "src=10.0.0.9 dst=10.0.0.1 sport=20 dport=5001 mask-src=255.255.255.255 " \
           "mask-dst=255.255.255.255 sport=65535 dport=65535" in out, out
    assert lines(out) == lines(ctsim.conntrack("-L", "expect").stdout)


def test_ipv6_listed_too(ctsim):
    """conntrack -L expect asks AF_INET only; ctctl lists both families."""
    assert ctsim_master(ctsim) is None
    assert ctsim_master6(ctsim, "2001:db8::1", "2001:db8::2") is None
    for m in (("127.0.0.1", "127.0.0.1"), ("2001:db8::1", "2001:db8::2")):
        r = ctsim.ctctl("expect", "add", "master", "tcp", "src", m[0], "dst", m[1],
                        "sport", "40000", "dport", "21", "expect", "dport", "7000")
        assert r.returncode == 0, r.stderr
    out = ctsim.ctctl("expect", "list").stdout
    assert len(lines(out)) == 2 and "src=2001:db8::2 dst=2001:db8::1" in out
    v4 = ctsim.conntrack("-L", "expect").stdout
    assert [l for l in lines(out) if "2001:" not in l] == lines(v4)
    out = ctsim.ctctl("expect", "list", "family", "ipv6").stdout
    assert len(lines(out)) == 1 and "2001:db8" in out


def test_delete_and_flush(ctsim):
    assert ctsim_master(ctsim) is None
    assert ctsim.ctctl(*CTCTL_ADD).returncode == 0
    r = ctsim.ctctl("expect", "delete", "tcp", "src", "127.0.0.1", "dst", "127.0.0.1",
                    "dport", "10241")
    assert r.returncode == 0, r.stderr
    assert "0 expectations" in ctsim.conntrack("-L", "expect").stderr
    r = ctsim.ctctl("expect", "delete", "tcp", "src", "127.0.0.1", "dst", "127.0.0.1",
                    "dport", "10241")
    assert r.returncode == 1 and "ENOENT" in r.stderr
    assert ctsim.ctctl(*CTCTL_ADD).returncode == 0
    assert ctsim.ctctl("expect", "flush").returncode == 0
    assert "0 expectations" in ctsim.conntrack("-L", "expect").stderr


def test_add_errors(ctsim):
    r = ctsim.ctctl(*CTCTL_ADD)
    assert r.returncode == 1 and "ENOENT" in r.stderr     # no master
    assert ctsim_master(ctsim, helper=None) is None
    r = ctsim.ctctl(*CTCTL_ADD)
    assert r.returncode == 1 and "EOPNOTSUPP" in r.stderr  # master without helper
    r = ctsim.ctctl("expect", "add", "tcp", "src", "1.1.1.1")
    assert r.returncode == 2 and "master" in r.stderr
    r = ctsim.ctctl("expect", "add", "master", "tcp", "src", "127.0.0.1", "dst", "127.0.0.1",
                    "sport", "40000", "dport", "21", "expect", "tcp")
    assert r.returncode == 2 and "dport" in r.stderr
    r = ctsim.ctctl("expect", "bogus")
    assert r.returncode == 2
    r = ctsim.ctctl("help", "expect")
    assert r.returncode == 0 and "master SELECTOR" in r.stdout


def _stop(p):
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    return p.communicate(timeout=10)


def test_monitor_matches_conntrack(ctsim):
    assert ctsim_master(ctsim) is None
    mine = ctctl_bg(ctsim, "expect", "monitor")
    theirs = ctsim.popen([CONNTRACK, "-E", "expect"])
    mine_j = ctctl_bg(ctsim, "-j", "expect", "monitor", "new")
    time.sleep(0.5)
    assert ctsim.ctctl(*CTCTL_ADD).returncode == 0
    assert ctsim.ctctl("expect", "flush").returncode == 0
    out, err = _stop(mine)
    tout, _ = _stop(theirs)
    jout, _ = _stop(mine_j)
    assert out.splitlines() == tout.splitlines(), (out, tout)
    assert out.startswith("    [NEW] 300 proto=6 ") and "[DESTROY]" in out
    assert "2 expectation events have been shown." in err
    evs = [json.loads(l) for l in jout.splitlines()]
    assert [e["event"] for e in evs] == ["new"] and evs[0]["tuple"]["dport"] == 10241


def ctctl_bg(ctsim, *args):
    return subprocess.Popen([str(CTCTL_BIN), "--socket", ctsim.socket, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **SANITIZER_ENV))
