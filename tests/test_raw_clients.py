# SPDX-License-Identifier: GPL-2.0-or-later
"""Clients the LD_PRELOAD shim cannot see (issue 14): a statically linked C
program and a Go program (vishvananda/netlink), both making raw system calls.

Under ctsim-exec their NETLINK_NETFILTER traffic must never reach the kernel
(ctsim-exec-guard's seccomp filter, proto/ctsim_guard.c), and it reaches
ctsim instead (the guard's seccomp user-notification supervisor). Each test runs the
client inside a kernel network namespace holding a known entry, and checks
that the namespace's table is exactly as it was afterwards; the same client
without ctsim-exec does reach that table (so the check can fail).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CONNTRACK, CTSIM_EXEC, ROOT

CLIENTS = ROOT / "tests" / "clients"
GOPATH = Path("/usr/share/gocode")
VISHVANANDA = GOPATH / "src/github.com/vishvananda/netlink"

KERNEL_ENTRY = ["-s", "10.66.0.1", "-d", "10.66.0.2", "-p", "udp", "--sport", "1111",
                "--dport", "2222", "-t", "300"]
KERNEL_LINE = "17 10.66.0.1 10.66.0.2 1111 2222"


@pytest.fixture(scope="module")
def rawct(tmp_path_factory):
    """tests/clients/rawct.c, linked statically."""
    out = tmp_path_factory.mktemp("rawct") / "rawct"
    res = subprocess.run(["gcc", "-static", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(out),
                          str(CLIENTS / "rawct.c")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    # static: no dynamic section, so no LD_PRELOAD can apply
    assert b".interp" not in subprocess.run(["objdump", "-h", str(out)],
                                             capture_output=True).stdout
    return out


@pytest.fixture(scope="module")
def goct(tmp_path_factory):
    """tests/clients/goct, built with Debian's Go and vishvananda/netlink."""
    if not shutil.which("go") or not VISHVANANDA.is_dir():
        pytest.fail("golang-go and golang-github-vishvananda-netlink-dev are needed "
                    "(tests/setup-deps.sh installs them)")
    d = tmp_path_factory.mktemp("goct")
    env = dict(os.environ, GOPATH=str(GOPATH), GO111MODULE="off", GOFLAGS="",
               GOCACHE=str(d / "cache"), CGO_ENABLED="0")
    res = subprocess.run(["go", "build", "-o", str(d / "goct"), "."],
                         cwd=CLIENTS / "goct", env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    return d / "goct"


def kernel_table(ns):
    res = ns.conntrack("-L")
    assert res.returncode == 0, res.stderr
    return sorted(l for l in res.stdout.splitlines() if l.strip())


@pytest.fixture
def ns_with_entry(kernel_ns):
    res = kernel_ns.conntrack("-I", *KERNEL_ENTRY)
    assert res.returncode == 0, res.stderr
    return kernel_ns


def under_exec(ns, sockpath, args, env=None):
    """Run *args* under ctsim-exec inside the kernel namespace *ns*."""
    return ns.run([CTSIM_EXEC, "--socket", sockpath, *args], env=env)


def strip_timeouts(lines):
    # conntrack -L prints the remaining timeout: drop that column.
    return [" ".join(w for i, w in enumerate(l.split()) if i != 2) for l in lines]


@pytest.mark.parametrize("client", ["rawct", "goct"])
def test_client_reaches_kernel_without_ctsim_exec(request, ns_with_entry, client):
    """The control: without ctsim-exec the client does see the kernel's entry."""
    prog = request.getfixturevalue(client)
    res = ns_with_entry.run([prog, "list"])
    assert res.returncode == 0, res.stderr
    assert KERNEL_LINE in res.stdout.splitlines()


@pytest.mark.parametrize("client", ["rawct", "goct"])
def test_no_daemon_clear_error_kernel_untouched(request, ns_with_entry, tmp_path, client):
    """ctsim stopped (no socket): the wrapper refuses before running anything;
    with the check skipped, the guard still keeps the client off the kernel."""
    prog = request.getfixturevalue(client)
    before = kernel_table(ns_with_entry)
    missing = tmp_path / "missing.sock"
    res = under_exec(ns_with_entry, missing, [prog, "list"])
    assert res.returncode == 1
    assert f"cannot reach ctsim at {missing}" in res.stderr
    res = under_exec(ns_with_entry, missing, [prog, "list"], env={"CTSIM_EXEC_NOCHECK": "1"})
    assert res.returncode == 2, res
    assert (f"ctsim-exec: cannot reach ctsim at {missing}: No such file or directory "
            "(is ctsim running?)") in res.stderr.splitlines()
    assert KERNEL_LINE not in res.stdout
    assert strip_timeouts(kernel_table(ns_with_entry)) == strip_timeouts(before)


def ctsim_lines(ctsim):
    res = ctsim.conntrack("-L")
    assert res.returncode == 0, res.stderr
    return res.stdout


CTSIM_ENTRY = ["-s", "10.55.0.1", "-d", "10.55.0.2", "-p", "udp", "--sport", "3333",
               "--dport", "4444", "-t", "300"]
CTSIM_LINE = "17 10.55.0.1 10.55.0.2 3333 4444"


@pytest.fixture
def ctsim_with_entry(ctsim):
    res = ctsim.conntrack("-I", *CTSIM_ENTRY)
    assert res.returncode == 0, res.stderr
    return ctsim


def test_static_client_uses_ctsim(ns_with_entry, ctsim_with_entry, rawct):
    """list/create/delete by a static client under ctsim-exec act on ctsim's
    table, with the kernel's answers (EEXIST, ENOENT); the namespace's kernel
    table does not change."""
    ctsim = ctsim_with_entry
    before = kernel_table(ns_with_entry)
    res = under_exec(ns_with_entry, ctsim.socket, [rawct, "list"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [CTSIM_LINE]
    create = ["create", "10.77.0.1", "10.77.0.2", "5", "6", "100"]
    delete = ["delete", "10.77.0.1", "10.77.0.2", "5", "6"]
    steps = [create, create, ["list"], delete, delete]
    got = [under_exec(ns_with_entry, ctsim.socket, [rawct, *a]) for a in steps]
    # the same steps on a kernel: a second namespace, so the first stays as it was
    other = type(ns_with_entry)()
    try:
        other.conntrack("-I", *CTSIM_ENTRY)
        want = [other.run([rawct, *a]) for a in steps]
    finally:
        other.delete()
    for a, g, w in zip(steps, got, want):
        assert (g.returncode, g.stderr) == (w.returncode, w.stderr), (a, g, w)
        assert sorted(g.stdout.splitlines()) == sorted(w.stdout.splitlines()), (a, g, w)
    assert "error 17 (File exists)" in got[1].stderr
    assert "17 10.77.0.1 10.77.0.2 5 6" in got[2].stdout
    assert "error 2 (No such file or directory)" in got[4].stderr
    assert "10.55.0.1" in ctsim_lines(ctsim) and "10.77.0.1" not in ctsim_lines(ctsim)
    assert strip_timeouts(kernel_table(ns_with_entry)) == strip_timeouts(before)


def test_static_client_socket_semantics(kernel_ns, ctsim, rawct):
    """The socket choreography (addresses, options, peek/truncate, pktinfo,
    poll readiness, EAGAIN, fork, a blocking read) is the kernel's."""
    want = kernel_ns.run([rawct, "semantics"], timeout=30)
    got = under_exec(kernel_ns, ctsim.socket, [rawct, "semantics"])
    assert want.returncode == 0 and got.returncode == 0, (want, got)
    assert got.stdout.splitlines() == want.stdout.splitlines()
    assert "recvmsg_flags_trunc=1" in got.stdout and "fork_child_ok=1" in got.stdout
    assert "readv_error=-22" in got.stdout and "writev_bad_count=22" in got.stdout


def test_dynamic_client_socket_semantics_through_shim(kernel_ns, ctsim, tmp_path):
    """The same choreography from a dynamically linked build: the shim (not
    the supervisor) answers it, readv/writev included, as the kernel does."""
    out = tmp_path / "rawct-dyn"
    res = subprocess.run(["gcc", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(out),
                          str(CLIENTS / "rawct.c")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    want = kernel_ns.run([out, "semantics"], timeout=30)
    got = under_exec(kernel_ns, ctsim.socket, [out, "semantics"])
    assert want.returncode == 0 and got.returncode == 0, (want, got)
    assert got.stdout.splitlines() == want.stdout.splitlines()
    assert "readv_error=-22" in got.stdout and "writev=20" in got.stdout


def test_static_client_socket_churn(kernel_ns, ctsim, rawct):
    """300 sockets opened, bound, used and closed one after the other: the
    reserved fds are reused and every one is served (the supervisor forgets
    the states of closed sockets as it goes)."""
    res = under_exec(kernel_ns, ctsim.socket, [rawct, "churn", "300"])
    assert (res.returncode, res.stdout.strip()) == (0, "300"), res
    assert ctsim.conntrack("-C").stdout.strip() == "0"


def test_go_client_uses_ctsim(ns_with_entry, ctsim_with_entry, goct):
    """vishvananda/netlink's ConntrackTableList and ConntrackDeleteFilter act
    on ctsim's table; the kernel's stays as it was."""
    ctsim = ctsim_with_entry
    before = kernel_table(ns_with_entry)
    res = under_exec(ns_with_entry, ctsim.socket, [goct, "list"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [CTSIM_LINE]
    res = under_exec(ns_with_entry, ctsim.socket, [goct, "delete", "10.66.0.1"])
    assert (res.returncode, res.stdout.strip()) == (0, "0"), res      # only in the kernel
    res = under_exec(ns_with_entry, ctsim.socket, [goct, "delete", "10.55.0.1"])
    assert (res.returncode, res.stdout.strip()) == (0, "1"), res
    assert ctsim.conntrack("-C").stdout.strip() == "0"
    res = under_exec(ns_with_entry, ctsim.socket, [goct, "list"])
    assert (res.returncode, res.stdout) == (0, ""), res
    assert strip_timeouts(kernel_table(ns_with_entry)) == strip_timeouts(before)


def test_guard_is_inherited_and_io_uring_refused(ns_with_entry, ctsim, rawct, tmp_path):
    """A grandchild (sh -c, then the client) is filtered too; io_uring_setup,
    whose IORING_OP_SOCKET would bypass the filter, is refused with ENOSYS."""
    before = kernel_table(ns_with_entry)
    res = under_exec(ns_with_entry, ctsim.socket, ["sh", "-c", f"'{rawct}' list; echo rc=$?"])
    assert res.stdout.splitlines() == ["rc=0"], res       # ctsim's table: empty
    code = ("import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
            "p = ctypes.create_string_buffer(120); "
            "r = libc.syscall(425, 4, p); print(r, ctypes.get_errno())")
    res = under_exec(ns_with_entry, ctsim.socket, ["/usr/bin/python3", "-c", code])
    assert res.stdout.split() == ["-1", str(38)], res          # ENOSYS
    res = ns_with_entry.run(["/usr/bin/python3", "-c", code])
    assert res.stdout.split()[0] != "-1", res                  # the control: it works outside
    assert strip_timeouts(kernel_table(ns_with_entry)) == strip_timeouts(before)


def test_no_guard_no_run(tmp_path, ctsim):
    """ctsim-exec refuses to run anything when the guard is missing: a copy of
    the wrapper, configured for a build tree without the guard."""
    text = Path(CTSIM_EXEC).read_text()
    guard = str(Path(CTSIM_EXEC).parent / "ctsim-exec-guard")
    assert guard in text
    copy = tmp_path / "ctsim-exec"
    copy.write_text(text.replace(guard, str(tmp_path / "nonexistent-guard")))
    copy.chmod(0o755)
    res = subprocess.run([str(copy), "--socket", ctsim.socket, "echo", "ran"],
                         capture_output=True, text=True)
    assert res.returncode == 127 and "ran" not in res.stdout
    assert "cannot find ctsim-exec-guard" in res.stderr
