# SPDX-License-Identifier: GPL-2.0-or-later
"""FTP through masquerade with the FTP helper, with real programs, through
ctsim's lab and through a kernel router (issue 11, helpers with NAT).

The client (10.77.1.2) fetches a file from pyftpdlib on the server
(10.77.2.2) with curl, actively (PORT, EPRT) and passively (PASV, EPSV);
the router masquerades the client's connections (the server sees 10.77.2.1)
and runs the FTP helper on port 21. Active FTP only works if the NAT helper
rewrites the client's PORT/EPRT to the router's address and the server's
data connection to it is bound back to the client (nf_nat_ftp(),
nf_nat_follow_master()); passive FTP needs the client's data connection
masqueraded like its master. In both worlds: the transfer works, the data
connection's entry is listed by ``conntrack -L`` with the same (translated)
tuples, and during active mode the expectation's raw ctnetlink attributes
(CTA_EXPECT_NAT: direction, saved port; CTA_EXPECT_FN "nat-follow-master")
are the same as the kernel's.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import diff_conntrack_output
from kernel_router import KernelRouter
from labutil import PY, lab_prefix, wait_port
from test_lab_kernel import KernelWorld, CtsimWorld, start_ctsim, stop_ctsim

HERE = Path(__file__).resolve().parent
SERVERS = str(HERE / "lib" / "lab_servers.py")
C4, S4, R2 = "10.77.1.2", "10.77.2.2", "10.77.2.1"
S6 = "fd77:2::2"

RULESET = """\
table inet labnf {
	ct helper ftp-std { type "ftp" protocol tcp; }
	chain pre {
		type filter hook prerouting priority filter; policy accept;
		tcp dport 21 ct helper set "ftp-std"
	}
}
table ip labnfnat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.77.1.0/24 ip daddr 10.77.2.0/24 masquerade
	}
}
table ip6 labnfnat6 {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ip6 saddr fd77:1::/64 ip6 daddr fd77:2::/64 masquerade
	}
}
"""

# case: (curl options, the command curl must send, active)
CASES = {
    "port": (["-P", "-", "--disable-eprt"], "PORT", True),
    "eprt": (["-P", "-"], "EPRT |1|", True),
    "pasv": (["--ftp-pasv", "--disable-epsv"], "PASV", False),
    "epsv": (["--ftp-pasv"], "EPSV", False),
    # IPv6: "EPRT |2|fd77:1::2|P|" becomes "|2|fd77:0002:...:0001|P|", 30 bytes
    # longer: the rest of the control connection needs the seq adjustment
    "eprt6": (["-g", "-P", "-"], "EPRT |2|", True),
}


def natinfo(w):
    if isinstance(w, KernelWorld):
        res = w.k.run("router", PY, SERVERS, "natinfo", check=True)
    else:
        res = subprocess.run([sys.executable, SERVERS, "natinfo", w.lab.d.socket],
                             capture_output=True, text=True, check=True)
    return res.stdout.splitlines()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    base = tmp_path_factory.mktemp("labnatftp")
    rfile = base / "natftp.nft"
    rfile.write_text(RULESET)
    root = base / "pub"
    root.mkdir()
    (root / "file.txt").write_text("through the NAT\n" * 200)
    root.chmod(0o755)
    base.chmod(0o755)
    k = KernelRouter(lab_prefix("knf"), RULESET, workdir=str(base))
    lab = None
    k.__enter__()
    try:
        lab = start_ctsim(base / "ctsim", lab_prefix("cnf"), str(rfile))
        pair = (KernelWorld(k), CtsimWorld(lab))
        for w in pair:
            # pyftpdlib, waiting 1.5 s after PORT/EPRT so the expectation can be read
            w.start("server", PY, SERVERS, "ftp", S4, str(root), "1.5")
            # IPv6: EPRT comes back in the kernel's long form (see lab_servers.py)
            w.start("server", PY, SERVERS, "ftp", S6, str(root), "1.5", "foreign")
            wait_port(w, "server", "tcp", 21)
            deadline = time.monotonic() + 10
            while f"[{S6}]:21 " not in w.run("server", "ss", "-ltn").stdout:
                assert time.monotonic() < deadline, w.bg_logs()
                time.sleep(0.05)
        yield pair
    finally:
        problems = stop_ctsim(lab) if lab is not None else []
        k.__exit__(None, None, None)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for tag in ("knf", "cnf"):
            assert lab_prefix(tag) not in left, left
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)


def listing(w, family):
    """conntrack -L with the ports other than 21 (curl's and the server's
    own random choices) as PORT."""
    res = w.conntrack("-L", "-f", family)
    assert res.returncode == 0, (w.name, res.stderr)
    return re.sub(r"port=(\d+)", lambda m: m[0] if m[1] == "21" else "port=PORT", res.stdout)


def data_entries(text):
    """The data connections: TCP entries that are not the control one."""
    return [l for l in text.splitlines() if l.startswith("tcp") and "port=21 " not in l]


def fetch(w, case):
    opts, command, active = CASES[case]
    host = f"[{S6}]" if case.endswith("6") else S4
    curl = ["curl", "-sS", "-v", "--max-time", "10", *opts, f"ftp://{host}/file.txt"]
    ns = w.k.ns("client") if isinstance(w, KernelWorld) else w.lab.ns("client")
    p = subprocess.Popen(["ip", "netns", "exec", ns, *curl],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = None
    try:
        if active:
            # during the server's pause after PORT/EPRT: the expectation
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                info = [l for l in natinfo(w) if l.startswith("expect ")]
                if info:
                    break
                time.sleep(0.1)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert f"> {command}" in err, (w.name, case, err)
    return p.returncode, out, err, info


@pytest.mark.parametrize("case", list(CASES))
def test_ftp_through_masquerade(worlds, case):
    results = {}
    for w in worlds:
        assert w.conntrack("-F").returncode == 0
        rc, out, err, info = fetch(w, case)
        # the data connection worked: the whole file came through
        assert rc == 0 and out == "through the NAT\n" * 200, (w.name, case, rc, err[-2000:])
        results[w.name] = (listing(w, "ipv6" if case.endswith("6") else "ipv4"), info,
                           natinfo(w))
    (kl, ki, kn), (cl, ci, cn) = results["kernel"], results["ctsim"]
    problems = diff_conntrack_output(kl, cl)
    assert not problems, f"kernel:\n{kl}\nctsim:\n{cl}\n" + "\n".join(problems)
    data = data_entries(kl)
    assert len(data) == 1, kl
    if case == "eprt6":
        # CTA_SEQ_ADJ_ORIG / _REPLY of the control connection, raw: the
        # correction point is the client's (random) sequence number, the
        # offsets the kernel's (0 before, 30 after; nothing the other way)
        def seqadj(lines):
            return [re.sub(r"sport=\d+", "sport=P", re.sub(r"=\d+/", "=POS/", l))
                    for l in lines if "seqadj" in l]
        assert seqadj(kn) == seqadj(cn), (kn, cn)
        assert any(l.endswith("seqadj-orig=POS/0/30") for l in seqadj(kn)), kn
        assert any(l.endswith("seqadj-reply=POS/0/0") for l in seqadj(kn)), kn
        assert re.search(rf"src={S6} dst=fd77:2::1 sport=PORT dport=PORT .*"
                         rf"src=fd77:1::2 dst={S6}", data[0]), data
        return
    if CASES[case][2]:
        # the server connected to the router (the rewritten PORT), the
        # entry's reply goes to the client: DNAT by nf_nat_follow_master()
        assert re.search(rf"src={S4} dst={R2} sport=PORT dport=PORT .*src={C4} dst={S4}",
                         data[0]), data
        # CTA_EXPECT_NAT (reply direction, the client's port saved) and the
        # expectfn's name, as the kernel sends them
        # (curl's port, kept by the NAT helper: expected and saved alike)
        for info in (ki, ci):
            assert info and len(info) == 1, (ki, ci)
            assert re.fullmatch(rf"expect proto=6 src={S4} dst={R2} sport=0 dport=(\d+) nat-dir=1 "
                                r"nat-tuple=\[proto=6 src=0\.0\.0\.0 dst=0\.0\.0\.0 sport=\1 "
                                r"dport=0\] fn=nat-follow-master", info[0]), (ki, ci)
        assert re.sub(r"port=\d+", "port=P", ki[0]) == re.sub(r"port=\d+", "port=P", ci[0])
    else:
        # the client's data connection left with the router's address
        assert re.search(rf"src={C4} dst={S4} sport=PORT dport=PORT .*src={S4} dst={R2}",
                         data[0]), data
