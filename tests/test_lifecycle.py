# SPDX-License-Identifier: GPL-2.0-or-later
"""Daemon lifecycle and access control.

* SIGTERM / SIGINT: exit status 0, socket removed;
* a stale socket file (from a crash, or bound and never unlinked) does not
  stop a new daemon; a live one is not stolen by a second daemon;
* a client of another uid gets EPERM for every request type, exactly as the
  kernel answers an unprivileged netlink socket; the default socket mode is
  0600;
* `ctsim-exec` without a daemon fails clearly and never reaches the kernel.
"""

import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

import wire as W
from conftest import CONNTRACK, CTSIM_BIN, CTSIM_EXEC, ROOT, KernelNetns

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def serves(path, entries=0):
    """True if a daemon on `path` answers a dump and a stats request, both with
    `entries` entries (every caller checks a daemon that has just started:
    its table is empty)."""
    with W.CtsimConn(path) as c:
        listed = len(c.dump(W.ct_dump()))
        return listed == entries and W.count_entries(c) == entries


@contextlib.contextmanager
def manual_daemon(sock_path, *args):
    """A ctsim started by the test itself (for paths the factory cannot make)."""
    proc = subprocess.Popen([str(CTSIM_BIN), "--socket", str(sock_path), *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_serving(proc, path, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ctsim exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            if serves(path):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"ctsim did not serve {path} within {limit} s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_clean_exit(ctsim_factory, sig):
    d = ctsim_factory()
    assert serves(d.socket)
    with W.CtsimConn(d.socket, groups=7):          # a connected listener does not hold it up
        status = d.stop(sig)
    assert status == 0, d.stderr_text()
    assert not os.path.exists(d.socket)


def test_stale_socket_after_kill9(ctsim_factory):
    d = ctsim_factory()
    with W.CtsimConn(d.socket) as c:
        assert W.bulk_insert(c, 10) == 0
    assert d.stop(signal.SIGKILL) == -signal.SIGKILL
    assert stat.S_ISSOCK(os.stat(d.socket).st_mode), "a crash leaves the socket file behind"
    with manual_daemon(d.socket) as proc:
        wait_serving(proc, d.socket)
        with W.CtsimConn(d.socket) as c:
            assert W.count_entries(c) == 0      # a new daemon, a new table
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert not os.path.exists(d.socket)


def test_stale_socket_never_unlinked(tmp_path):
    path = str(tmp_path / "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    s.close()                                   # file stays, nobody listens
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    with manual_daemon(path) as proc:
        wait_serving(proc, path)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    assert not os.path.exists(path)


def test_second_daemon_does_not_steal(ctsim_factory):
    d = ctsim_factory()
    ino = os.stat(d.socket).st_ino
    with W.CtsimConn(d.socket) as c:
        assert W.bulk_insert(c, 3) == 0
    with manual_daemon(d.socket) as proc:
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("a second ctsim on a live socket kept running")
        assert proc.returncode != 0
        assert out.strip(), "the refusal must say why"
        assert any(w in out.lower() for w in ("in use", "already", "running", "exists")), out
    assert os.stat(d.socket).st_ino == ino
    with W.CtsimConn(d.socket) as c:
        assert W.count_entries(c) == 3
    assert d.alive


def test_default_socket_mode_0600(ctsim):
    st = os.stat(ctsim.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == 0


def test_socket_mode_option(ctsim_factory):
    d = ctsim_factory(mode="0660")
    assert stat.S_IMODE(os.stat(d.socket).st_mode) == 0o660


# --- unprivileged clients -------------------------------------------------------

@contextlib.contextmanager
def traversable(path):
    """Let `nobody` reach `path`: add o+x to its ancestors below /, temporarily."""
    changed = []
    p = Path(path).parent
    try:
        while p != p.parent:
            mode = stat.S_IMODE(os.stat(p).st_mode)
            if not mode & 0o001:
                os.chmod(p, mode | 0o001)
                changed.append((p, mode))
            p = p.parent
        yield
    finally:
        for p, mode in changed:
            os.chmod(p, mode)


REQ, ACK, DUMP = W.NLM_F_REQUEST, W.NLM_F_ACK, W.NLM_F_DUMP
ORIG = W.tuple_attr(W.CTA_TUPLE_ORIG, "10.0.0.1", "10.1.0.1")
UNPRIV_REQUESTS = {
    "ct_new_create": W.ct_create(),
    "ct_new_update": W.ct_msg(W.CT_NEW, REQ | ACK, ORIG, W.be32(W.CTA_MARK, 1)),
    "ct_get": W.ct_msg(W.CT_GET, REQ | ACK, ORIG),
    "ct_get_dump": W.ct_dump(),
    "ct_delete": W.ct_msg(W.CT_DELETE, REQ | ACK, ORIG),
    "ct_flush": W.ct_msg(W.CT_DELETE, REQ | ACK, family=W.AF_UNSPEC),
    "ct_ctrzero_dump": W.ct_msg(W.CT_GET_CTRZERO, REQ | DUMP, family=W.AF_UNSPEC),
    "ct_stats_cpu": W.ct_msg(W.CT_GET_STATS_CPU, REQ | DUMP, family=W.AF_UNSPEC),
    "ct_stats_cpu_nodump": W.ct_msg(W.CT_GET_STATS_CPU, REQ, family=W.AF_UNSPEC),
    "ct_stats": W.ct_msg(W.CT_GET_STATS, REQ, family=W.AF_UNSPEC),
    "ct_dying": W.ct_msg(W.CT_GET_DYING, REQ | DUMP),
    "ct_unconfirmed": W.ct_msg(W.CT_GET_UNCONFIRMED, REQ | DUMP),
    "ct_type_9": W.ct_msg(9, REQ | ACK),
    "exp_new": W.ct_msg(0, REQ | ACK | W.NLM_F_CREATE, W.nest(1, ORIG[4:]), subsys=W.SUBSYS_EXP),
    "exp_get_dump": W.ct_msg(1, REQ | DUMP, subsys=W.SUBSYS_EXP),
    "exp_flush": W.ct_msg(2, REQ | ACK, subsys=W.SUBSYS_EXP),
    "exp_stats_cpu": W.ct_msg(3, REQ | DUMP, family=W.AF_UNSPEC, subsys=W.SUBSYS_EXP),
}

# Runs as nobody; argv[1] = "kernel" or a ctsim socket path.
UNPRIV_SCRIPT = r"""
import json, sys
sys.path.insert(0, %r)
import wire as W
target, reqs = sys.argv[1], json.loads(sys.stdin.read())
def conn(groups=0):
    return W.KernelConn(groups) if target == "kernel" else W.CtsimConn(target, groups=groups)
out = {}
try:
    conn(7).close(); out["bind_groups"] = 0
except OSError as e:
    out["bind_groups"] = e.errno
c = conn()
for name, hexreq in reqs.items():
    out[name] = W.summarize([c.exchange(bytes.fromhex(hexreq), timeout=1.0)])
print(json.dumps(out))
""" % str(ROOT / "ctsim" / "scenario")


def run_unprivileged(runner, target):
    reqs = {k: v.hex() for k, v in UNPRIV_REQUESTS.items()}
    res = runner([*NOBODY, "/usr/bin/python3", "-c", UNPRIV_SCRIPT, target],
                 input=json.dumps(reqs))
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_non_root_gets_eperm_like_kernel(ctsim_factory, kernel_ns):
    d = ctsim_factory(mode="0666")
    with W.CtsimConn(d.socket) as c:                # something to protect
        assert W.bulk_insert(c, 5) == 0

    def host_run(args, input=None):
        return subprocess.run(args, input=input, text=True, capture_output=True, timeout=60)

    with traversable(d.socket):
        got = run_unprivileged(host_run, d.socket)
    want = run_unprivileged(kernel_ns.run, "kernel")

    for name, req in UNPRIV_REQUESTS.items():
        (per_send,) = json.loads(json.dumps(got[name]))
        msgs = [m for dg in per_send for m in dg]
        assert len(msgs) == 1 and msgs[0][0] == W.NLMSG_ERROR and msgs[0][2] == -1, \
            f"{name}: {got[name]}"
        assert got[name] == want[name], f"{name}: ctsim {got[name]} kernel {want[name]}"
    with W.CtsimConn(d.socket) as c:
        assert W.count_entries(c) == 5                 # nothing changed


def test_non_root_cannot_subscribe(ctsim_factory, kernel_ns):
    """The kernel refuses a multicast bind without CAP_NET_ADMIN (NETLINK_NETFILTER
    has no NL_CFG_F_NONROOT_RECV): EPERM, so events do not leak either."""
    d = ctsim_factory(mode="0666")
    with traversable(d.socket):
        got = run_unprivileged(lambda a, input=None: subprocess.run(
            a, input=input, text=True, capture_output=True, timeout=60), d.socket)
    want = run_unprivileged(kernel_ns.run, "kernel")
    assert want["bind_groups"] == 1
    assert got["bind_groups"] == want["bind_groups"], "a non-root client may subscribe to events"


def test_non_root_conntrack_tool(ctsim_factory, kernel_ns):
    d = ctsim_factory(mode="0666")
    with traversable(d.socket), traversable(CTSIM_EXEC):
        for args in (["-L"], ["-I", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "udp",
                              "--sport", "1", "--dport", "2", "-t", "30"]):
            res = subprocess.run([*NOBODY, str(CTSIM_EXEC), "--socket", d.socket, CONNTRACK, *args],
                                 text=True, capture_output=True, timeout=60)
            ref = kernel_ns.run([*NOBODY, CONNTRACK, *args])
            assert (res.returncode, res.stderr) == (ref.returncode, ref.stderr), args
            assert "must be root" in res.stderr


def test_default_mode_refuses_nobody(ctsim):
    script = ("import socket, sys\n"
              "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
              "try:\n    s.connect(sys.argv[1]); print('connected')\n"
              "except PermissionError: print('EACCES')\n")
    with traversable(ctsim.socket):
        res = subprocess.run([*NOBODY, "/usr/bin/python3", "-c", script, ctsim.socket],
                             text=True, capture_output=True, timeout=30)
    assert res.stdout.strip() == "EACCES", res.stdout + res.stderr


# --- no daemon -------------------------------------------------------------------

def test_exec_without_daemon_fails_clearly(kernel_ns, tmp_path):
    """Under ctsim-exec with no daemon listening, conntrack must fail with a
    message naming the socket, and must not see the (real) kernel table of
    the netns it runs in."""
    assert kernel_ns.conntrack("-I", "-s", "10.42.0.1", "-d", "10.42.0.2", "-p", "udp",
                               "--sport", "4242", "--dport", "53", "-t", "100").returncode == 0
    missing = str(tmp_path / "nothing-here.sock")
    for args in (["-L"], ["-C"], ["-S"], ["-E", "-e", "NEW"]):
        res = kernel_ns.run([CTSIM_EXEC, "--socket", missing, CONNTRACK, *args], timeout=20)
        assert res.returncode != 0, (args, res.stdout, res.stderr)
        assert "10.42.0.1" not in res.stdout
        assert res.stdout.strip() not in ("1",), f"{args}: looks like the kernel answered: {res.stdout}"
        assert "ctsim" in res.stderr.lower() or missing in res.stderr, res.stderr
    # the same through the environment variable only
    res = kernel_ns.run([CTSIM_EXEC, CONNTRACK, "-L"], env={"CTSIM_SOCKET": missing}, timeout=20)
    assert res.returncode != 0 and "10.42.0.1" not in res.stdout
    # a raw python client: socket() fails, or nothing it receives is from the kernel
    script = ("import socket, sys\n"
              f"sys.path.insert(0, {str(ROOT / 'ctsim' / 'scenario')!r})\n"
              "import wire as W\n"
              "try:\n    c = W.KernelConn()\nexcept OSError as e:\n    print('refused', e.errno); sys.exit(0)\n"
              "try:\n    print('entries', len(c.dump(W.ct_dump(), timeout=3)))\n"
              "except (OSError, TimeoutError) as e:\n    print('failed', e)\n")
    res = kernel_ns.run([CTSIM_EXEC, "--socket", missing, "/usr/bin/python3", "-c", script], timeout=30)
    assert "entries 1" not in res.stdout, res.stdout + res.stderr


# --- the /proc view under ctsim-exec (issue 14) -----------------------------

def _insert(side, n, net):
    for i in range(n):
        res = side.conntrack("-I", "-s", f"10.{net}.0.{i + 1}", "-d", "10.99.0.1", "-p", "udp",
                             "--sport", "1", "--dport", "2", "-t", "100")
        assert res.returncode == 0, res.stderr


def test_non_root_proc_fallback_shows_ctsim(ctsim_factory, kernel_ns):
    """Non-root `conntrack -C/-S` get EPERM and fall back to /proc; under
    ctsim-exec that /proc is ctsim's. Run inside a kernel namespace whose own
    table has a different count (5 vs 3), so reading the host's files shows."""
    d = ctsim_factory(mode="0666")
    _insert(d, 3, 71)
    _insert(kernel_ns, 5, 72)
    ref_ns = KernelNetns()           # a kernel with ctsim's count, for the format
    try:
        _insert_kernel = lambda n: [ref_ns.conntrack(
            "-I", "-s", f"10.73.0.{i + 1}", "-d", "10.99.0.1", "-p", "udp", "--sport", "1",
            "--dport", "2", "-t", "100") for i in range(n)]
        _insert_kernel(3)
        with traversable(d.socket), traversable(CTSIM_EXEC):
            for args in (["-C"], ["-S"]):
                got = kernel_ns.run([*NOBODY, CTSIM_EXEC, "--socket", d.socket, CONNTRACK, *args])
                want = ref_ns.run([*NOBODY, CONNTRACK, *args])
                host = kernel_ns.run([*NOBODY, CONNTRACK, *args])
                assert (got.returncode, got.stderr) == (want.returncode, want.stderr), args
                if args == ["-C"]:
                    assert got.stdout == want.stdout == "3\n" and host.stdout == "5\n"
                else:
                    # entries= is the count on every CPU line; the other
                    # counters differ by history (insert counts differently)
                    entries = lambda out: re.findall(r"entries=(\d+)", out)
                    assert entries(got.stdout) == entries(want.stdout)
                    assert set(entries(got.stdout)) == {"3"}
                    assert set(entries(host.stdout)) == {"5"}
            got = kernel_ns.run([*NOBODY, CTSIM_EXEC, "--socket", d.socket, "sysctl",
                                 "net.netfilter.nf_conntrack_count",
                                 "net.netfilter.nf_conntrack_max",
                                 "net.netfilter.nf_conntrack_tcp_loose"])
            want = ref_ns.run([*NOBODY, "sysctl", "net.netfilter.nf_conntrack_count",
                               "net.netfilter.nf_conntrack_max",
                               "net.netfilter.nf_conntrack_tcp_loose"])
            assert got.returncode == 0 and got.stdout == want.stdout, (got, want)
    finally:
        ref_ns.delete()


def test_proc_writes_set_ctsim_and_unemulated_files_refused(ctsim, kernel_ns):
    """Root's sysctl -w under ctsim-exec changes ctsim's setting (as `ctctl
    set`), never the namespace's kernel one, with the kernel's answers (a
    second kernel netns does the same writes for real); files ctsim does not
    produce are refused, not the host's."""
    before = kernel_ns.run(["sysctl", "-a", "--pattern", "nf_conntrack"]).stdout
    assert "net.netfilter.nf_conntrack_tcp_loose = 1" in before
    ref_ns = KernelNetns()
    try:
        for cmd in (["sysctl", "-w", "net.netfilter.nf_conntrack_tcp_loose=0"],
                    ["sysctl", "-w", "net.netfilter.nf_conntrack_udp_timeout=abc"],
                    ["sysctl", "-w", "net.netfilter.nf_conntrack_bogus=1"],
                    ["sysctl", "-w", "net.netfilter.nf_conntrack_tcp_timeout_close=17"],
                    ["sh", "-c", "echo 44 > /proc/sys/net/netfilter/nf_conntrack_udp_timeout"],
                    ["sh", "-c", "echo x > /proc/sys/net/netfilter/nf_conntrack_udp_timeout"],
                    ["/usr/bin/python3", "-c", "open('/proc/sys/net/netfilter/"
                     "nf_conntrack_icmp_timeout', 'w').write('9\\n')"]):
            got = kernel_ns.run([CTSIM_EXEC, "--socket", ctsim.socket, *cmd])
            want = ref_ns.run(cmd)
            assert (got.returncode, got.stdout, got.stderr) == \
                (want.returncode, want.stdout, want.stderr), cmd
        for name, value in (("nf_conntrack_tcp_loose", "0"),
                            ("nf_conntrack_tcp_timeout_close", "17"),
                            ("nf_conntrack_udp_timeout", "44"),
                            ("nf_conntrack_icmp_timeout", "9")):
            res = ctsim.ctctl("get", name)
            assert res.stdout.split()[-1] == value, (name, res)
            assert ref_ns.run(["sysctl", "-n", f"net.netfilter.{name}"]).stdout.strip() == value
    finally:
        ref_ns.delete()
    assert kernel_ns.run(["sysctl", "-a", "--pattern", "nf_conntrack"]).stdout == before

    for path in ("/proc/net/nf_conntrack_expect", "/proc/self/net/nf_conntrack_expect"):
        res = kernel_ns.run([CTSIM_EXEC, "--socket", ctsim.socket, "cat", path])
        assert res.returncode != 0 and res.stdout == "", res
        assert "not emulated, refused" in res.stderr
    res = kernel_ns.run([CTSIM_EXEC, "--socket", ctsim.socket, "cat",
                         "/proc/net/stat/nf_conntrack"])
    lines = res.stdout.splitlines()
    assert lines[0].startswith("entries  clashres found new invalid")
    assert all(l.startswith("00000000  ") for l in lines[1:]) and len(lines) >= 2


def test_proc_write_non_root_refused(ctsim_factory, kernel_ns):
    """A non-root writer gets the kernel's EACCES (the files are 0644), and
    ctsim's setting stays."""
    d = ctsim_factory(mode="0666")
    cmd = ["sysctl", "-w", "net.netfilter.nf_conntrack_tcp_loose=0"]
    with traversable(d.socket):
        got = kernel_ns.run([*NOBODY, CTSIM_EXEC, "--socket", d.socket, *cmd])
    want = kernel_ns.run([*NOBODY, *cmd])
    assert want.returncode == 1 and "permission denied" in want.stderr, want
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
    assert d.ctctl("get", "nf_conntrack_tcp_loose").stdout.split()[-1] == "1"


PROC_ENTRIES = [
    ["-s", "10.0.0.1", "-d", "10.0.0.2", "-p", "tcp", "--sport", "1", "--dport", "2",
     "--state", "ESTABLISHED", "-t", "300", "-u", "ASSURED", "-m", "5"],
    ["-s", "10.0.0.1", "-d", "10.0.0.2", "-p", "udp", "--sport", "1", "--dport", "2",
     "-t", "300", "-w", "3"],
    ["-s", "fd00::1", "-d", "fd00::2", "-p", "icmpv6", "--icmpv6-type", "128",
     "--icmpv6-code", "0", "--icmpv6-id", "5", "-t", "30"],
    ["-s", "2001:db8::5", "-d", "2001:db8:1::9", "-p", "tcp", "--sport", "7", "--dport", "8",
     "--state", "SYN_SENT", "-t", "100"],
]


def test_proc_net_nf_conntrack_served(ctsim, kernel_ns):
    """/proc/net/nf_conntrack under ctsim-exec is ctsim's table in the
    kernel's format (ct_seq_show(): full IPv6 addresses, zone=0, use+1),
    compared with a kernel netns holding the same entries; the namespace's
    own kernel entry never shows; non-root gets EACCES as on the kernel."""
    def norm(text):     # the remaining timeout (5th field), and bucket order
        return sorted(re.sub(r"^(\S+\s+\d+\s+\S+\s+\d+) \d+", r"\1 T", l)
                      for l in text.splitlines())

    assert kernel_ns.conntrack("-I", "-s", "10.66.0.1", "-d", "10.66.0.2", "-p", "udp",
                               "--sport", "9", "--dport", "9", "-t", "500").returncode == 0
    ref_ns = KernelNetns()
    try:
        for e in PROC_ENTRIES:
            assert ref_ns.conntrack("-I", *e).returncode == 0
            assert ctsim.conntrack("-I", *e).returncode == 0
        want = ref_ns.run(["cat", "/proc/net/nf_conntrack"])
        got = kernel_ns.run([CTSIM_EXEC, "--socket", ctsim.socket, "cat",
                             "/proc/net/nf_conntrack"])
        assert got.returncode == 0, got.stderr
        assert len(want.stdout.splitlines()) == len(PROC_ENTRIES)
        assert norm(got.stdout) == norm(want.stdout), (got.stdout, want.stdout)
        assert "10.66.0.1" not in got.stdout
        kw = ref_ns.run([*NOBODY, "cat", "/proc/net/nf_conntrack"])
        assert kw.returncode == 1 and "Permission denied" in kw.stderr, kw
    finally:
        ref_ns.delete()
    assert "10.66.0.1" in kernel_ns.run(["cat", "/proc/net/nf_conntrack"]).stdout


def test_proc_net_nf_conntrack_non_root(ctsim_factory, kernel_ns):
    d = ctsim_factory(mode="0666")
    assert d.conntrack("-I", *PROC_ENTRIES[0]).returncode == 0
    with traversable(d.socket):
        got = kernel_ns.run([*NOBODY, CTSIM_EXEC, "--socket", d.socket, "cat",
                             "/proc/net/nf_conntrack"])
    want = kernel_ns.run([*NOBODY, "cat", "/proc/net/nf_conntrack"])
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
