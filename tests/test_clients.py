# SPDX-License-Identifier: GPL-2.0-or-later
"""Other ctnetlink clients than conntrack: libnl's nf-* tools and pyroute2.

The same commands run against the kernel (a fresh netns) and against ctsim
(through ctsim-exec); their outputs must agree after normalising what
legitimately differs (ids, remaining timeouts, hash order).
"""

import json
import os
import subprocess
import re
import time

import pytest

from conftest import CTSIM_EXEC

# Entries inserted with the real conntrack into both sides.
ENTRIES = [
    ["-s", "10.0.0.1", "-d", "10.1.0.1", "-p", "udp", "--sport", "1000", "--dport", "53", "-t", "300", "-m", "7"],
    ["-s", "10.0.0.2", "-d", "10.1.0.1", "-p", "tcp", "--sport", "1000", "--dport", "80",
     "--state", "ESTABLISHED", "-t", "300"],
    ["-s", "10.0.0.3", "-d", "10.1.0.1", "-p", "icmp", "--icmp-type", "8", "--icmp-code", "0",
     "--icmp-id", "77", "-t", "30"],
    ["-s", "10.0.0.4", "-d", "10.1.0.1", "-p", "tcp", "--sport", "1", "--dport", "2",
     "--state", "SYN_SENT", "-t", "100", "-u", "SEEN_REPLY"],
    ["-s", "2001:db8::1", "-d", "2001:db8::2", "-p", "udp", "--sport", "5", "--dport", "6", "-t", "300"],
    ["-s", "2001:db8::1", "-d", "2001:db8::2", "-p", "icmpv6", "--icmpv6-type", "128",
     "--icmpv6-code", "0", "--icmpv6-id", "9", "-t", "30"],
]


def populate(side):
    for e in ENTRIES:
        res = side.conntrack("-I", *e)
        assert res.returncode == 0, (e, res.stderr)


def normalise(text):
    text = re.sub(r"id 0x[0-9a-f]+", "id X", text)
    text = re.sub(r"timeout (\d+m )?\d+s", "timeout T", text)
    return text


def records(text):
    """nf-* output as a sorted list of records (a record = a line that does
    not start with a space, plus its indented continuation lines)."""
    recs = []
    for line in normalise(text).splitlines():
        if line.startswith(" ") and recs:
            recs[-1] += "\n" + line.rstrip()
        elif line.strip():
            recs.append(line.rstrip())
    return sorted(recs)


@pytest.fixture
def both(ctsim, kernel_ns):
    populate(ctsim)
    populate(kernel_ns)
    return ctsim, kernel_ns


@pytest.mark.parametrize("fmt", ["brief", "details"])
def test_nf_ct_list(both, fmt):
    ctsim, kern = both
    got = ctsim.run(["nf-ct-list", "-f", fmt])
    want = kern.run(["nf-ct-list", "-f", fmt])
    assert got.returncode == want.returncode == 0, got.stderr
    assert records(got.stdout) == records(want.stdout)
    assert len(records(got.stdout)) == len(ENTRIES)
    # and ctsim agrees with itself
    assert ctsim.conntrack("-C").stdout.strip() == str(len(ENTRIES))


PYROUTE2_SCRIPT = r"""
import json, socket
from pyroute2 import Conntrack
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple
from pyroute2.netlink.exceptions import NetlinkError

def T(s, d, p, sp, dp):
    return NFCTAttrTuple(saddr=s, daddr=d, proto=p, sport=sp, dport=dp)

out = {}
ct = Conntrack()
out["count"] = ct.count()
st = ct.stat()
out["stat_keys"] = sorted(st[0].keys())
out["stat_cpus"] = len(st) >= 1
out["dump"] = sorted(str(e) for e in ct.dump_entries())
out["by_mark"] = sorted(str(e) for e in ct.dump_entries(mark=7))
out["filtered"] = sorted(str(e) for e in ct.dump_entries(tuple_orig=T("10.0.0.1", "10.1.0.1", 17, 1000, 53)))
out["filtered_tcp"] = sorted(str(e) for e in ct.dump_entries(
    tuple_orig=NFCTAttrTuple(saddr="10.0.0.2", daddr="10.1.0.1", proto=6)))
ct.entry("del", tuple_orig=T("10.0.0.1", "10.1.0.1", 17, 1000, 53))
out["count_after_del"] = ct.count()
try:
    ct.entry("del", tuple_orig=T("10.0.0.1", "10.1.0.1", 17, 1000, 53))
    out["del_again"] = 0
except NetlinkError as e:
    out["del_again"] = e.code
ct.entry("add", timeout=100, tuple_orig=T("10.0.0.9", "10.1.0.1", 17, 1000, 53),
         tuple_reply=T("10.1.0.1", "10.0.0.9", 17, 53, 1000))
try:
    ct.entry("add", timeout=100, tuple_orig=T("10.0.0.9", "10.1.0.1", 17, 1000, 53),
             tuple_reply=T("10.1.0.1", "10.0.0.9", 17, 53, 1000))
    out["add_again"] = 0
except NetlinkError as e:
    out["add_again"] = e.code
out["count_after_add"] = ct.count()
out["dump_after"] = sorted(str(e) for e in ct.dump_entries())
ct.close()
print(json.dumps(out))
"""


def test_pyroute2(both):
    ctsim, kern = both
    got = ctsim.run(["/usr/bin/python3", "-c", PYROUTE2_SCRIPT])
    want = kern.run(["/usr/bin/python3", "-c", PYROUTE2_SCRIPT])
    assert want.returncode == 0, want.stderr
    assert got.returncode == 0, got.stderr
    g, w = json.loads(got.stdout), json.loads(want.stdout)
    assert g["count"] == len(ENTRIES)
    assert len(g["filtered"]) == 1 and "10.0.0.1" in g["filtered"][0]
    assert g["del_again"] == 2 and g["add_again"] == 17
    for key in w:
        assert g[key] == w[key], f"pyroute2 {key}: ctsim {g[key]!r}\n kernel {w[key]!r}"


def test_nf_ct_add(ctsim, kernel_ns):
    base = ["nf-ct-add", "-p", "udp", "--orig-src", "10.0.0.1", "--orig-dst", "10.1.0.1",
            "--orig-sport", "1000", "--orig-dport", "53", "--timeout", "100", "--mark", "3"]
    reply = ["--reply-src", "10.1.0.1", "--reply-dst", "10.0.0.1",
             "--reply-sport", "53", "--reply-dport", "1000"]
    for side in (ctsim, kernel_ns):
        res = side.run(base)                          # no reply tuple: EINVAL
        assert res.returncode != 0 and "Invalid input data" in res.stderr, (side, res.stderr)
        assert side.conntrack("-C").stdout.strip() == "0"
        res = side.run(base + reply)
        assert res.returncode == 0, (side, res.stderr)
    got = ctsim.conntrack("-L").stdout
    want = kernel_ns.conntrack("-L").stdout
    norm = lambda s: re.sub(r"^(\S+\s+\d+) \d+", r"\1 T", s, flags=re.M)   # remaining timeout
    assert norm(got) == norm(want)
    assert "mark=3" in got


@pytest.mark.parametrize("tool", [["nf-monitor", "ct-new", "ct-update", "ct-destroy"],
                                  ["nf-ct-events"]])
def test_nf_events(ctsim, kernel_ns, tool):
    steps = [["-I", "-s", "10.0.0.5", "-d", "10.1.0.1", "-p", "udp", "--sport", "1", "--dport", "2", "-t", "50"],
             ["-U", "-s", "10.0.0.5", "-m", "4"],
             ["-D", "-s", "10.0.0.5"]]
    outputs = []
    for side in (ctsim, kernel_ns):
        mon = side.popen(["stdbuf", "-oL", *tool])
        try:
            time.sleep(1.0)                       # let it subscribe
            for s in steps:
                assert side.conntrack(*s).returncode == 0, s
            time.sleep(1.0)
        finally:
            mon.terminate()
            out, err = mon.communicate(timeout=10)
        outputs.append(out)
    got, want = (normalise(o).strip().splitlines() for o in outputs)
    assert got == want, f"ctsim:\n{outputs[0]}\nkernel:\n{outputs[1]}"
    assert sum(1 for l in got if "10.0.0.5" in l) == 3


# A daemon that opens its socket, forks and lets the parent exit (conntrackd
# -d, issue 14): the socket is the child's too, and stays usable. The child
# waits for the parent to be gone, then uses the socket it inherited.
FORK_SCRIPT = r"""
import json, os, sys, time
from pyroute2 import Conntrack
ct = Conntrack()
before = ct.count()
r, w = os.pipe()
pid = os.fork()
if pid:
    sys.exit(0)          # the parent: at-exit handlers run here
os.close(w)
os.read(r, 1)            # EOF: the parent has exited
out = {"before": before}
try:
    out["after"] = ct.count()
    out["dump"] = len(list(ct.dump_entries()))
except Exception as e:
    out["error"] = repr(e)
print(json.dumps(out), flush=True)
"""


@pytest.mark.parametrize("side_name", ["ctsim", "kernel_ns"])
def test_fork_parent_exit_keeps_socket(both, side_name, tmp_path):
    side = both[0] if side_name == "ctsim" else both[1]
    out = tmp_path / "child.json"
    res = side.run(["sh", "-c", f"/usr/bin/python3 -c '{FORK_SCRIPT}' > {out}; "
                    f"while [ ! -s {out} ]; do sleep 0.05; done"], timeout=30)
    assert res.returncode == 0, res.stderr
    got = json.loads(out.read_text())
    ipv4 = sum(1 for e in ENTRIES if ":" not in e[1])     # pyroute2 dumps AF_INET
    assert got == {"before": len(ENTRIES), "after": len(ENTRIES), "dump": ipv4}, \
        (got, res.stderr)


@pytest.mark.parametrize("args", [["list", "ruleset"], ["add", "table", "inet", "ctsimt"]])
def test_nft_not_emulated(ctsim, kernel_ns, args):
    """nft's nf_tables messages get EOPNOTSUPP from ctsim and one clear line
    from ctsim-exec; the namespace's kernel ruleset is never touched."""
    res = kernel_ns.run(["nft", "list", "ruleset"])
    assert res.returncode == 0 and res.stdout == "", res
    res = kernel_ns.run([CTSIM_EXEC, "--socket", ctsim.socket, "nft", *args])
    assert res.returncode != 0, res
    lines = res.stderr.splitlines()
    assert lines.count("ctsim-shim: nf_tables is not emulated; see ctctl ruleset") == 1, lines
    assert "Operation not supported" in res.stderr, res.stderr
    assert kernel_ns.run(["nft", "list", "ruleset"]).stdout == ""
    # ctsim itself goes on serving conntrack
    assert ctsim.conntrack("-C").stdout.strip() == "0"


CONNTRACKD_CONF = """General {{
	HashSize 8192
	HashLimit 65535
	LogFile {d}/conntrackd.log
	LockFile {d}/conntrackd.lock
	UNIX {{
		Path {d}/conntrackd.sock
	}}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
	Systemd off
}}
Stats {{
	LogFile {d}/stats.log
}}
"""


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("side_name", ["ctsim", "kernel_ns"])
def test_conntrackd_daemonized(ctsim, kernel_ns, tmp_path, side_name):
    """conntrackd -d (stats mode) opens its sockets, forks and lets the parent
    exit: the child must keep ctsim's event socket (it spun at 96% CPU and
    saw nothing when the parent's exit hung the socket up) and count what
    happens, as on the kernel."""
    side = ctsim if side_name == "ctsim" else kernel_ns
    conf = tmp_path / "conntrackd.conf"
    conf.write_text(CONNTRACKD_CONF.format(d=tmp_path))
    res = side.run(["conntrackd", "-d", "-C", conf])
    assert res.returncode == 0, res.stderr
    try:
        pid = None
        for _ in range(100):
            if (tmp_path / "conntrackd.sock").exists():
                out = subprocess.run(["pgrep", "-f", f"conntrackd -d -C {conf}"],
                                     capture_output=True, text=True).stdout.split()
                if out:
                    pid = int(out[0])
                    break
            time.sleep(0.05)
        assert pid, "conntrackd did not start"
        time.sleep(0.5)
        for i in range(3):
            assert side.conntrack("-I", "-s", f"10.33.0.{i + 1}", "-d", "10.1.0.1", "-p", "udp",
                                  "--sport", "1", "--dport", "2", "-t", "100").returncode == 0
        assert side.conntrack("-D", "-s", "10.33.0.1").returncode == 0
        cpu0 = _cpu_seconds(pid)
        time.sleep(1.0)
        busy = _cpu_seconds(pid) - cpu0
        stats = subprocess.run(["conntrackd", "-C", conf, "-s"], capture_output=True,
                               text=True, timeout=30).stdout
        assert re.search(r"current active connections:\s+2\b", stats), stats
        assert re.search(r"connections created:\s+3\b", stats), stats
        assert re.search(r"connections destroyed:\s+1\b", stats), stats
        assert busy < 0.3, f"conntrackd used {busy:.2f} s of CPU in 1 s"
    finally:
        subprocess.run(["conntrackd", "-C", conf, "-k"], capture_output=True, timeout=30)


FTFW_CONF = """Sync {{
	Mode FTFW {{
		DisableExternalCache off
	}}
	UDP {{
		IPv4_address {me}
		IPv4_Destination_Address {peer}
		Port 3780
		Interface lo
		Checksum on
	}}
}}
General {{
	HashSize 8192
	HashLimit 65535
	LogFile {d}/conntrackd.log
	LockFile {d}/conntrackd.lock
	UNIX {{
		Path {d}/conntrackd.sock
	}}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
	Systemd off
}}
"""


def test_conntrackd_ftfw_sync_between_two_ctsims(ctsim_factory, kernel_ns, tmp_path):
    """Two ctsim instances, each with its own conntrackd -d in FTFW mode,
    synchronising over lo of a private namespace (127.0.0.1 <-> 127.0.0.2):
    entries made in the primary reach the backup's external cache, and a
    commit (what a failover script runs) puts them in the backup's table,
    where they match the primary's. The namespace's kernel table is unused."""
    prim, back = ctsim_factory(), ctsim_factory()
    confs = []
    for name, me, peer in (("a", "127.0.0.1", "127.0.0.2"), ("b", "127.0.0.2", "127.0.0.1")):
        d = tmp_path / name
        d.mkdir()
        conf = d / "conntrackd.conf"
        conf.write_text(FTFW_CONF.format(d=d, me=me, peer=peer))
        confs.append(conf)
    try:
        for side, conf in ((prim, confs[0]), (back, confs[1])):
            res = kernel_ns.run([CTSIM_EXEC, "--socket", side.socket, "conntrackd", "-d", "-C", conf])
            assert res.returncode == 0, res.stderr
        for conf in confs:
            for _ in range(100):
                if (conf.parent / "conntrackd.sock").exists():
                    break
                time.sleep(0.05)
        time.sleep(0.5)
        entries = [["-s", "10.44.0.1", "-d", "10.1.0.1", "-p", "tcp", "--sport", "1000",
                    "--dport", "80", "--state", "ESTABLISHED", "-t", "300", "-u", "ASSURED"],
                   ["-s", "10.44.0.2", "-d", "10.1.0.1", "-p", "udp", "--sport", "53",
                    "--dport", "53", "-t", "120", "-m", "9"]]
        for e in entries:
            assert prim.conntrack("-I", *e).returncode == 0
        external = ""
        for _ in range(50):
            external = subprocess.run(["conntrackd", "-C", confs[1], "-e"], capture_output=True,
                                      text=True, timeout=30).stdout
            if external.count("10.44.0.") == 2:
                break
            time.sleep(0.1)
        assert external.count("10.44.0.") == 2, external
        assert back.conntrack("-C").stdout.strip() == "0"
        res = subprocess.run(["conntrackd", "-C", confs[1], "-c"], capture_output=True,
                             text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        for _ in range(50):
            if back.conntrack("-C").stdout.strip() == "2":
                break
            time.sleep(0.1)
        norm = lambda s: sorted(re.sub(r"^(\S+\s+\d+) \d+", r"\1 T", l)     # timeouts
                                for l in s.splitlines())
        assert norm(back.conntrack("-L").stdout) == norm(prim.conntrack("-L").stdout)
        assert "10.44.0." not in kernel_ns.conntrack("-L").stdout
    finally:
        for conf in confs:
            subprocess.run(["conntrackd", "-C", conf, "-k"], capture_output=True, timeout=30)
