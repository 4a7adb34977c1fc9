# SPDX-License-Identifier: GPL-2.0-or-later
"""The course (docs/labs/): every lab that has a worksheet runs end to end.

For each lab: ``ctsim lab start docs/labs/NN-name`` (its topology, ruleset and
settings), the worksheet's steps with the real programs a student uses
(ping, nc, curl, python3, scapy, conntrack through ctsim-exec, ctctl), and
``ctsim lab check``: it must fail, naming what is missing, before the step
that gets there (or after a deliberately wrong step), and pass after it.
Labs with a kernel counterpart also run through a kernel router namespace
(tests/lib/kernel_router.py) with the same ruleset and traffic, and the
events are compared.

Also the course's fixes (issue 15 part 5): the banner names a host the
topology has; two hosts with one address are refused; a missing capture is
only an error; ``ping server`` in a lab host is IPv4.
"""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (BUILD, CTCTL_BIN, CTSIM_EXEC, CONNTRACK, ROOT, SANITIZER_ENV,
                      _sanitizer_report)
from kernel_router import KernelRouter
from labutil import HTTP_SERVE, UDP_ECHO, lab_prefix, wait_port

CTSIM = str(BUILD / "ctsim" / "ctsim")
LABS = ROOT / "docs" / "labs"
PY = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

UDP_FROM = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.settimeout(3); s.bind(('', int(sys.argv[3])))\n"
            "s.sendto(b'hello', (sys.argv[1], int(sys.argv[2])))\n"
            "print(s.recvfrom(2048)[0].decode())\n")


class LabRun:
    """``ctsim lab start DIR`` on a private socket and namespace prefix."""

    def __init__(self, labdir, workdir, extra=(), tag="lb"):
        self.dir = Path(labdir)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prefix = lab_prefix(tag)
        self.sock = str(self.workdir / "ct.sock")
        self.journal = self.sock + ".journal"
        self.bg = []
        self.log = open(self.workdir / "lab.log", "w+")
        env = dict(os.environ, **SANITIZER_ENV)
        self.proc = subprocess.Popen([CTSIM, "lab", "start", str(self.dir), "--socket",
                                      self.sock, "--prefix", self.prefix, *extra],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True, cwd=self.workdir)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.journal):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ctsim lab start did not come up:\n{self.text()}")
            time.sleep(0.05)

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def ns(self, host):
        return self.prefix + host

    def run(self, host, *cmd, timeout=20, check=False, input=None):
        res = subprocess.run(["ip", "netns", "exec", self.ns(host), *map(str, cmd)],
                             text=True, capture_output=True, timeout=timeout, input=input,
                             cwd=self.dir)
        if check:
            assert res.returncode == 0, (cmd, res.stdout, res.stderr)
        return res

    def start(self, host, *cmd, **kw):
        log = open(self.workdir / f"bg{len(self.bg)}.log", "w+")
        kw.setdefault("stdout", log)
        kw.setdefault("stderr", subprocess.STDOUT)
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *map(str, cmd)],
                             cwd=self.dir, **kw)
        p.logf = log
        self.bg.append(p)
        return p

    def bg_logs(self):
        out = ""
        for p in self.bg:
            p.logf.seek(0)
            out += p.logf.read()
        return out

    def ctctl(self, *args):
        res = subprocess.run([str(CTCTL_BIN), "--socket", self.sock, *map(str, args)],
                             text=True, capture_output=True, timeout=30)
        assert res.returncode == 0, res.stderr
        return res

    def conntrack(self, *args):
        res = subprocess.run([str(CTSIM_EXEC), "--socket", self.sock, CONNTRACK,
                              *map(str, args)], text=True, capture_output=True, timeout=30)
        assert res.returncode == 0, res.stderr
        return res

    def check(self, arg=None, cwd=None):
        cmd = [CTSIM, "lab", "check", *([arg] if arg else []), "--socket", self.sock]
        res = subprocess.run(cmd, text=True, capture_output=True, timeout=30,
                             cwd=cwd or self.workdir, env=dict(os.environ, **SANITIZER_ENV))
        assert not _sanitizer_report(res.stderr), res.stderr
        assert res.returncode in (0, 1), res.stdout + res.stderr
        return res

    def passes(self, limit=3.0):
        """The check passes (the journal catches up within @limit s)."""
        deadline = time.monotonic() + limit
        while True:
            res = self.check()
            if res.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert res.returncode == 0, res.stdout + res.stderr + "\njournal:\n" + \
            Path(self.journal).read_text() + "\n" + self.bg_logs()
        assert "well done" in res.stdout
        return res

    def fails(self, *missing):
        """The check fails, and its report names each of @missing."""
        time.sleep(0.3)
        res = self.check()
        assert res.returncode == 1, res.stdout + res.stderr
        for m in missing:
            assert m in res.stdout, (m, res.stdout)
        return res

    def stop(self):
        if self.log.closed:
            return None
        for p in self.bg:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.logf.close()
        self.bg = []
        status = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run([CTSIM, "lab", "down", "--prefix", self.prefix], capture_output=True,
                       timeout=30)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert self.prefix not in left, left
        rep = _sanitizer_report(self.text())
        self.log.close()
        assert not rep, rep
        return status


@pytest.fixture
def start_lab(tmp_path):
    made = []

    def make(name, extra=(), labdir=None):
        run = LabRun(labdir or LABS / name, tmp_path / f"run{len(made)}", extra)
        made.append(run)
        return run

    yield make
    for run in made:
        run.stop()


def kernel_events(tmp_path, ruleset, traffic, tag):
    """Run @traffic(k) through a kernel router loaded with @ruleset while
    conntrack -E listens there; returns the event lines."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    # the kernel router's client-side interface is eth1 (ctsim's: ct-c0)
    ruleset = ruleset.replace('"ct-c*"', '"eth1"')
    with KernelRouter(lab_prefix(tag), ruleset, workdir=str(tmp_path)) as k:
        k.wait_ready()
        ev = k.popen("router", CONNTRACK, "-E")
        time.sleep(0.3)
        try:
            traffic(k)
            time.sleep(0.5)
        finally:
            ev.send_signal(signal.SIGINT)
            out, _ = ev.communicate(timeout=10)
    return [l for l in out.splitlines() if l.strip()]


def shape(line):
    """An event line without what differs from run to run (ids, ephemeral
    ports, blanks)."""
    line = re.sub(r"\bid=\d+", "id=N", line)
    line = re.sub(r"\bsport=\d+", "sport=P", line)
    line = re.sub(r"dport=(\d{5})\b", "dport=P", line)
    return " ".join(line.split())


def same_events(ours, kern):
    """Event lines equal after shape(), numbers (timeouts) within 1 s: a
    kernel prints a remaining timeout in whole seconds of jiffies, so an
    entry destroyed within a jiffy of its last update shows the full value
    (300) where ctsim, a fraction of a millisecond later, shows 299; the
    scenario drivers compare timeouts with the same tolerance."""
    if len(ours) != len(kern):
        return False
    for a, b in zip(ours, kern):
        wa, wb = shape(a).split(), shape(b).split()
        if len(wa) != len(wb):
            return False
        for x, y in zip(wa, wb):
            if x != y and not (x.isdigit() and y.isdigit() and abs(int(x) - int(y)) <= 1):
                return False
    return True


def journal(run):
    return [l for l in Path(run.journal).read_text().splitlines() if l and l[0] != "#"]


def default_ruleset():
    return subprocess.run([CTSIM, "ruleset", "show", "default"], capture_output=True,
                          text=True, check=True).stdout


# ------------------------------------------------------------------------------
# the framework
# ------------------------------------------------------------------------------

def test_every_lab_has_a_worksheet_a_check_and_an_index_line():
    index = (LABS / "README.md").read_text()
    dirs = sorted(d for d in LABS.iterdir() if d.is_dir())
    assert len(dirs) >= 10
    for d in dirs:
        assert (d / "check").is_file(), d
        sheet = LABS / f"{d.name}.md"
        assert sheet.is_file(), sheet
        text = sheet.read_text()
        for part in ("## Goal", "## Set-up", "## Steps", "## What to observe", "## Questions",
                     "<details>"):
            assert part in text, (sheet, part)
        assert f"ctsim lab start docs/labs/{d.name}" in text, sheet
        assert f"({d.name}.md)" in index, d.name
    # all 19 exercises are listed, with a status
    assert len(re.findall(r"^\| *\d\d ", index, re.M)) == 19, index


def test_check_files_parse(tmp_path):
    """Every lab's check file is valid: a check of a lab that is not running
    fails on the connection (1), not on the file (2)."""
    for d in sorted(LABS.iterdir()):
        if d.is_dir():
            res = subprocess.run([CTSIM, "lab", "check", str(d), "--socket",
                                  str(tmp_path / "none.sock")], capture_output=True,
                                 text=True, timeout=10)
            assert res.returncode == 1, (d, res.stderr)
            assert "cannot connect" in res.stderr, res.stderr


@pytest.mark.parametrize("text,where,msg", [
    ("expect entry\n", "1:8", "unknown expectation"),
    ("title x\nexpect stats invalid=x\n", "2:14", "expected NAME=N"),
    ("expect counter ct state new packets 1\n", "1:16", "expect counter \"TEXT"),
    ("expect events {\n  [NEW] tcp\n", "1:1", "never closed"),
    ("hint first\n", "1:1", "a hint belongs"),
    ("title nothing to check\n", "1:1", "a check that cannot fail"),
    ("expect count many\n", "1:14", "not a number"),
    ("frobnicate\n", "1:1", "unknown statement"),
])
def test_check_file_errors_are_located(tmp_path, text, where, msg):
    d = tmp_path / "lab"
    d.mkdir()
    (d / "check").write_text(text)
    res = subprocess.run([CTSIM, "lab", "check", str(d), "--socket", str(tmp_path / "s")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{d}/check:{where}: " in res.stderr and msg in res.stderr, res.stderr


def test_lab_start_stops_with_its_daemon(start_lab):
    """SIGTERM to `ctsim lab start` stops the daemon (exit 0), removes the
    namespaces, the journal and the running-lab file; a check then says
    there is no lab."""
    lab = start_lab("01-icmp-anatomy")
    assert Path(lab.sock + ".lab").read_text().split() == [str(LABS / "01-icmp-anatomy"),
                                                          lab.prefix]
    assert lab.stop() == 0
    for f in (lab.sock, lab.journal, lab.sock + ".lab"):
        assert not os.path.exists(f), f
    res = subprocess.run([CTSIM, "lab", "check", "--socket", lab.sock], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 2 and "which lab?" in res.stderr, res.stderr


def test_journal_keeps_up_with_a_burst(start_lab):
    """3000 entries added in one batch (about 40 ms of daemon time): the
    journal records every [NEW] event (a line-buffered writer lost ~10%
    to ENOBUFS), and the check says nothing about loss."""
    lab = start_lab("18-conntrack-by-hand")
    batch = lab.workdir / "burst.txt"
    batch.write_text("".join(f"add udp src 10.9.{i // 250}.{i % 250 + 1} dst 10.0.0.3 "
                             f"sport 1000 dport 53 timeout 60\n" for i in range(3000)))
    lab.ctctl("-b", batch)
    deadline = time.monotonic() + 5
    while sum("[NEW] udp" in l for l in journal(lab)) < 3000 and time.monotonic() < deadline:
        time.sleep(0.1)
    text = Path(lab.journal).read_text()
    assert text.count("[NEW] udp") == 3000 and "events lost" not in text, text[-500:]
    assert "note: the event journal lost" not in lab.check().stdout


def test_lab_start_errors(tmp_path):
    res = subprocess.run([CTSIM, "lab", "start", str(tmp_path / "nope")], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 2 and "not a lab directory" in res.stderr, res.stderr
    res = subprocess.run([CTSIM, "lab", "check", "--socket", str(tmp_path / "s")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 2 and "which lab?" in res.stderr, res.stderr
    res = subprocess.run([CTSIM, "lab", "--help"], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0 and "lab start DIR" in res.stdout


# ------------------------------------------------------------------------------
# the labs
# ------------------------------------------------------------------------------

def test_lab01_icmp_anatomy(start_lab, tmp_path):
    lab = start_lab("01-icmp-anatomy")
    assert f"ip netns exec {lab.prefix}client bash" in lab.text()
    # nothing done: the report says what is missing, with the hint
    res = lab.fails("FAIL  expect event [NEW] icmp", "hint: no [NEW] event")
    ping = lab.run("client", "ping", "-c1", "-W2", "server", check=True)
    assert "(10.77.2.2)" in ping.stdout, ping.stdout        # IPv4, as the worksheet says
    # the wrong step: not waiting out the timeout
    res = lab.fails("FAIL  expect event [DESTROY] icmp", "but the table (conntrack -L) has")
    assert "ok    expect event [UPDATE] icmp" in res.stdout
    lab.ctctl("advance", "31s")
    lab.passes()
    # the same from the lab's number, as a student types it in the checkout
    res = lab.check("01", cwd=ROOT)
    assert res.returncode == 0, res.stdout
    assert "note:" not in res.stdout
    # another lab's check against this lab says so (and fails)
    res = lab.check("02", cwd=ROOT)
    assert res.returncode == 1 and "note: the lab running on" in res.stdout and \
        "01-icmp-anatomy, not this one" in res.stdout, res.stdout

    def ping1(k):
        k.run("client", "ping", "-c1", "-W2", "10.77.2.2", check=True)
    kern = kernel_events(tmp_path / "k", default_ruleset(), ping1, "k1")
    ours = [shape(l) for l in journal(lab) if "icmp" in l and "[DESTROY]" not in l]
    assert ours == [shape(l) for l in kern], (ours, kern)


def test_lab02_tcp_handshake(start_lab, tmp_path):
    lab = start_lab("02-tcp-handshake")
    # the wrong step: the server is not listening yet (RST, no SYN_RECV)
    lab.run("client", "nc", "-w2", "server", "8080", input="")
    lab.fails("FAIL  expect events", "missing after them: [UPDATE] tcp 6 60 SYN_RECV")
    srv = lab.start("server", "nc", "-l", "8080", stdin=subprocess.DEVNULL)
    wait_port(lab, "server", "tcp", 8080)
    lab.run("client", "nc", "-N", "-w5", "server", "8080", input="hello\n", check=True)
    srv.wait(timeout=10)
    assert "hello" in lab.bg_logs()
    lab.fails("FAIL  expect event [DESTROY] tcp")
    lab.ctctl("advance", "121s")
    lab.passes()

    def conn(k):
        s = k.start("server", "nc", "-l", "8080")
        wait_port(k, "server", "tcp", 8080)
        k.run("client", "nc", "-N", "-w5", "10.77.2.2", "8080", input="hello\n", check=True)
        s.wait(timeout=10)
    kern = kernel_events(tmp_path / "k", default_ruleset(), conn, "k2")
    ours = [l for l in journal(lab) if "dport=8080" in l and "[DESTROY]" not in l]
    last = max(i for i, l in enumerate(ours) if "[NEW]" in l)     # the connection that worked
    ours = [shape(l) for l in ours[last:]]
    kern = [shape(l) for l in kern]
    # the handshake is the same packet for packet; the close depends on
    # whether the server's FIN carries the ACK of the client's (FIN_WAIT ->
    # LAST_ACK) or comes after it (FIN_WAIT -> CLOSE_WAIT -> LAST_ACK): a
    # matter of timing in the hosts' stacks, not of conntrack
    assert ours[:3] == kern[:3], (ours, kern)
    assert ours[-1] == kern[-1] and "TIME_WAIT" in ours[-1], (ours, kern)


def test_lab03_established_is_not_ESTABLISHED(start_lab, tmp_path):
    lab = start_lab("03-established-vs-ESTABLISHED")
    lab.fails('FAIL  expect counter "ct direction reply tcp flags"', "counted 0 packets")
    lab.start("server", PY, "-c", HTTP_SERVE, "10.77.2.2", "8080")
    wait_port(lab, "server", "tcp", 8080)
    res = lab.run("client", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                  "http://server:8080/", check=True)
    assert res.stdout == "200"
    lab.passes()
    # the kernel counts the SYN-ACK under the same rule
    text = (LABS / "03-established-vs-ESTABLISHED" / "ruleset.nft").read_text()
    with KernelRouter(lab_prefix("k3"), text, workdir=str(tmp_path)) as k:
        k.start("server", PY, "-c", HTTP_SERVE, "10.77.2.2", "8080")
        wait_port(k, "server", "tcp", 8080)
        k.run("client", "curl", "-s", "-o", "/dev/null", "http://10.77.2.2:8080/", check=True)
        counters = [c[3] for c in k.rule_counters()]
    ours = lab.ctctl("ruleset").stdout
    got = [int(n) for n in re.findall(r"counter packets (\d+)", ours)]
    # rule by rule: new (the SYN), the SYN-ACK (established, reply); the rest
    # depends on how the stacks acknowledge and close
    assert got[:2] == counters[:2] == [1, 1], (got, counters, ours)


def test_lab04_stateful_firewall(start_lab, tmp_path):
    def traffic(lab, host_names=True):
        srv, cli = ("server", "client") if host_names else ("10.77.2.2", "10.77.1.2")
        lab.start("server", PY, "-c", HTTP_SERVE, "10.77.2.2", "8080")
        lab.start("client", PY, "-c", HTTP_SERVE, "10.77.1.2", "8080")
        wait_port(lab, "server", "tcp", 8080)
        wait_port(lab, "client", "tcp", 8080)
        ok = lab.run("client", "curl", "-s", "-o", "/dev/null", "-m", "3",
                     f"http://{srv}:8080/").returncode == 0
        back = lab.run("server", "curl", "-s", "-o", "/dev/null", "-m", "2",
                       f"http://{cli}:8080/").returncode == 0
        ping = lab.run("server", "ping", "-c1", "-W1", cli).returncode == 0
        return ok, back, ping

    # the starter ruleset is open: the server reaches the client, the check says so
    lab = start_lab("04-stateful-firewall")
    assert traffic(lab) == (True, True, True)
    lab.fails("FAIL  expect no event [NEW] tcp src=server dst=client",
              'no rule of the live ruleset contains "ct state invalid"')
    lab.stop()
    # the answer key's ruleset
    done = tmp_path / "04-done"
    shutil.copytree(LABS / "04-stateful-firewall", done)
    shutil.copy(done / "solution.nft", done / "ruleset.nft")
    lab = start_lab(None, labdir=done)
    assert traffic(lab) == (True, False, False)
    lab.passes()
    # a kernel router with the same ruleset lets the same through
    text = (done / "ruleset.nft").read_text().replace('"ct-c*"', '"eth1"')
    with KernelRouter(lab_prefix("k4"), text, workdir=str(tmp_path)) as k:
        assert traffic(k, host_names=False) == (True, False, False)


def test_lab19_simultaneous_open(start_lab, tmp_path):
    lab = start_lab("19-simultaneous-open")
    lab.fails("FAIL  expect events", "missing: [NEW] tcp 6 120 SYN_SENT")
    res = subprocess.run([PY, "simopen.py", lab.prefix], cwd=lab.dir, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    lab.passes()

    def simopen(k):
        res = subprocess.run([PY, "simopen.py", "--client", k.ns("client"), "--server",
                              k.ns("server")], cwd=lab.dir, capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
    kern = kernel_events(tmp_path / "k", default_ruleset(), simopen, "k19")
    # the [DESTROY] of conntrack -D names the deleting socket (portid=N)
    ours = [re.sub(r"portid=\d+", "portid=N", l) for l in journal(lab)]
    kern = [re.sub(r"portid=\d+", "portid=N", l) for l in kern]
    assert same_events(ours, kern), "\n".join(ours + ["--- kernel"] + kern)


def test_lab05_hook_priorities(start_lab, tmp_path):
    lab = start_lab("05-hook-priorities")
    lab.run("client", "ping", "-c1", "-W2", "server", check=True)
    lab.fails('FAIL  expect counter "udp dport 9999 ct state untracked" in chain late',
              "hint: send one datagram to port 9999")
    lab.run("client", "nc", "-u", "-w1", "server", "9999", input="x\n")
    lab.passes()
    ours = [int(n) for n in re.findall(r"counter packets (\d+)", lab.ctctl("ruleset").stdout)]

    # a kernel router: the same counters (early: new, untracked; late: new, untracked)
    text = (LABS / "05-hook-priorities" / "ruleset.nft").read_text()
    with KernelRouter(lab_prefix("k5"), text, workdir=str(tmp_path)) as k:
        k.run("client", "ping", "-c1", "-W2", "10.77.2.2", check=True)
        k.run("client", "nc", "-u", "-w1", "10.77.2.2", "9999", input="x\n")
        kern = [c[3] for c in k.rule_counters()]
    assert ours == kern == [0, 0, 1, 1], (ours, kern)


def test_lab06_udp_streams(start_lab, tmp_path):
    lab = start_lab("06-udp-streams")
    lab.start("server", PY, "-c", UDP_ECHO, "10.77.2.2", "5353")
    wait_port(lab, "server", "udp", 5353)
    assert lab.run("client", PY, "-c", UDP_FROM, "server", "5353", "40000",
                   check=True).stdout.strip() == "hello"
    # the wrong step: again at once (within 2 s): no stream yet
    lab.run("client", PY, "-c", UDP_FROM, "server", "5353", "40000", check=True)
    lab.fails("FAIL  expect entry udp 17 0..120", "hint: a stream is ASSURED")
    lab.ctctl("advance", "3s")
    lab.run("client", PY, "-c", UDP_FROM, "server", "5353", "40000", check=True)
    lab.fails("FAIL  expect count 2.. udp dport=5353")
    lab.run("client", PY, "-c", UDP_FROM, "server", "5353", "40001", check=True)
    lab.passes()

    def udp(k):
        k.start("server", PY, "-c", UDP_ECHO, "10.77.2.2", "5353")
        wait_port(k, "server", "udp", 5353)
        k.run("client", PY, "-c", UDP_FROM, "10.77.2.2", "5353", "40000", check=True)
        time.sleep(2.2)
        k.run("client", PY, "-c", UDP_FROM, "10.77.2.2", "5353", "40000", check=True)
    kern = kernel_events(tmp_path / "k", default_ruleset(), udp, "k6")
    ours = [shape(l) for l in journal(lab) if "sport=40000" in l]
    assert ours == [shape(l) for l in kern], (ours, kern)


def test_lab07_icmp_errors(start_lab, tmp_path):
    lab = start_lab("07-icmp-errors")
    lab.run("client", "nc", "-u", "-w1", "server", "9", input="x\n")
    lab.fails('FAIL  expect counter "ct state invalid"', "hint: run forge-icmp.py")
    res = lab.run("server", PY, "forge-icmp.py", check=True)
    assert "sent" in res.stdout
    lab.passes()
    ours = [int(n) for n in re.findall(r"counter packets (\d+)", lab.ctctl("ruleset").stdout)]

    # a kernel router: the same two ICMP errors, the same verdicts
    text = (LABS / "07-icmp-errors" / "ruleset.nft").read_text().replace('"ct-c*"', '"eth1"')
    with KernelRouter(lab_prefix("k7"), text, workdir=str(tmp_path)) as k:
        k.run("client", "nc", "-u", "-w1", "10.77.2.2", "9", input="x\n")
        res = k.run("server", PY, str(LABS / "07-icmp-errors" / "forge-icmp.py"), check=True)
        kern = [c[3] for c in k.rule_counters()]
    # related (the port unreachable), established (none), invalid (the forged
    # error), new (the datagram), the policy's counter
    assert ours == kern == [1, 0, 1, 1, 0], (ours, kern)


def test_lab08_midstream_pickup(start_lab, tmp_path):
    # the wrong set-up: tcp_loose = 0 makes the ACK invalid
    strict = start_lab("08-midstream-pickup", extra=("--set", "nf_conntrack_tcp_loose=0"))
    strict.run("client", PY, "bare-ack.py", check=True)
    res = strict.fails("FAIL  expect event [NEW] tcp 6 300 ESTABLISHED", "invalid=1")
    assert not journal(strict)
    strict.stop()
    lab = start_lab("08-midstream-pickup")
    lab.run("client", PY, "bare-ack.py", check=True)
    lab.passes()

    # a kernel router: the same two events with tcp_loose = 1, none and
    # invalid=1 with tcp_loose = 0
    bare_ack = [PY, str(LABS / "08-midstream-pickup" / "bare-ack.py")]
    kern = kernel_events(tmp_path / "k1", default_ruleset(),
                         lambda k: k.run("client", *bare_ack, check=True), "k8")
    # the [DESTROY] of conntrack -D names the deleting socket (portid=N)
    ours = [re.sub(r"portid=\d+", "portid=N", l) for l in journal(lab)]
    kern = [re.sub(r"portid=\d+", "portid=N", l) for l in kern]
    assert same_events(ours, kern), "\n".join(ours + ["--- kernel"] + kern)
    stats = {}

    def strict_kernel(k):
        k.run("router", "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0", check=True)
        k.run("client", *bare_ack, check=True)
        time.sleep(0.2)
        stats["invalid"] = sum(map(int, re.findall(r"invalid=(\d+)", k.conntrack("-S").stdout)))
    assert kernel_events(tmp_path / "k0", default_ruleset(), strict_kernel, "k8s") == []
    assert stats["invalid"] == 1


def test_lab09_invalid_and_windows(start_lab, tmp_path):
    lab = start_lab("09-invalid-windows")
    by_hand = [PY, str(LABS / "09-invalid-windows" / "tcp-by-hand.py"), "--prefix", lab.prefix]

    def do(*args, cmd=by_hand):
        res = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr

    do("handshake")
    do("rst", 5002)             # in the window but not exact: not the close
    after_inexact = lab.conntrack("-L").stdout
    lab.fails("FAIL  expect event [UPDATE] tcp 6 10 CLOSE")
    do("rst", 3735928559)
    lab.fails("FAIL  expect event [UPDATE] tcp 6 10 CLOSE")
    do("rst", 5001)
    lab.passes()
    ours = [shape(l) for l in journal(lab)]
    inval = sum(map(int, re.findall(r"invalid=(\d+)", lab.conntrack("-S").stdout)))

    # the same packets through a kernel router
    text = default_ruleset().replace('"ct-c*"', '"eth1"')
    (tmp_path / "k").mkdir()
    with KernelRouter(lab_prefix("k9"), text, workdir=str(tmp_path / "k")) as k:
        ev = k.popen("router", CONNTRACK, "-E")
        time.sleep(0.3)
        kcmd = [PY, str(LABS / "09-invalid-windows" / "tcp-by-hand.py"),
                "--client", k.ns("client"), "--server", k.ns("server")]
        try:
            do("handshake", cmd=kcmd)
            do("rst", 5002, cmd=kcmd)
            k_after_inexact = k.conntrack("-L").stdout
            do("rst", 3735928559, cmd=kcmd)
            do("rst", 5001, cmd=kcmd)
            time.sleep(0.3)
            kinval = sum(map(int, re.findall(r"invalid=(\d+)", k.conntrack("-S").stdout)))
        finally:
            ev.send_signal(signal.SIGINT)
            out, _ = ev.communicate(timeout=10)
    kern = [shape(l) for l in out.splitlines() if l.strip()]
    assert ours == kern, (ours, kern)
    assert inval == kinval, (inval, kinval, ours)
    # the inexact RST left the entry ESTABLISHED with a timeout of at most
    # 10 s on both (no event says so: only the listing shows it)
    for listing in (after_inexact, k_after_inexact):
        m = re.match(r"tcp +6 (\d+) ESTABLISHED ", listing)
        assert m and int(m.group(1)) <= 10, (after_inexact, k_after_inexact)


@pytest.mark.skipif(subprocess.run([PY, "-c", "import pyftpdlib"]).returncode != 0,
                    reason="python3-pyftpdlib is not installed (tests/setup-deps.sh)")
def test_lab12_ftp_helper(start_lab, tmp_path):
    pub = tmp_path / "pub"
    pub.mkdir()
    (pub / "file.txt").write_text("hello world\n")
    servers = ROOT / "tests" / "lib" / "lab_servers.py"

    def download(lab):
        lab.start("server", PY, servers, "ftp", "10.77.2.2", pub)
        wait_port(lab, "server", "tcp", 21)
        return lab.run("client", "curl", "-s", "-m", "5", "--ftp-pasv", "--disable-epsv",
                       "ftp://server/file.txt")

    # the wrong ruleset: no helper assigned; the data connection is dropped
    nohelp = tmp_path / "12-nohelper"
    shutil.copytree(LABS / "12-ftp-helper", nohelp)
    rs = nohelp / "ruleset.nft"
    rs.write_text(rs.read_text().replace('tcp dport 21 ct helper set "ftp-std"', ""))
    lab = start_lab(None, labdir=nohelp)
    assert download(lab).stdout != "hello world\n"
    lab.fails("FAIL  expect event [NEW] 300 proto=6", "FAIL  expect counter \"ct state related\"")
    lab.stop()
    lab = start_lab("12-ftp-helper")
    assert download(lab).stdout == "hello world\n"
    lab.passes()


def test_lab13_timeouts(start_lab):
    lab = start_lab("13-timeouts")
    lab.start("server", "nc", "-l", "7000", stdin=subprocess.DEVNULL)
    wait_port(lab, "server", "tcp", 7000)
    cli = lab.start("client", "nc", "server", "7000", stdin=subprocess.PIPE)
    cli.stdin.write(b"hi\n")
    cli.stdin.flush()
    deadline = time.monotonic() + 5
    while "ESTABLISHED" not in lab.conntrack("-L").stdout:
        assert time.monotonic() < deadline, lab.conntrack("-L").stdout
        time.sleep(0.1)
    lab.fails("FAIL  expect event [DESTROY] tcp 6 ESTABLISHED")
    lab.ctctl("advance", "601s")
    assert cli.poll() is None      # both ends still think it is open
    lab.start("server", PY, "closing-server.py")
    wait_port(lab, "server", "tcp", 8080)
    assert lab.run("client", PY, "same-port-client.py", check=True).stdout == "hello\n"
    lab.fails("FAIL  expect events", "missing after them: [NEW] tcp 6 120 SYN_SENT")
    assert lab.run("client", PY, "same-port-client.py", check=True).stdout == "hello\n"
    lab.passes()


def test_lab18_same_outputs_as_a_kernel(start_lab, kernel_ns, tmp_path):
    """The worksheet's conntrack commands print the same against ctsim and
    against a kernel (ids masked, timeouts within 1 s)."""
    lab = start_lab("18-conntrack-by-hand")
    kernel_ns.run(["nft", "-f", "-"], input="table ip t { chain c { type filter hook "
                  "prerouting priority 0; ct state new; }; }")
    saved = tmp_path / "saved.txt"
    steps = [
        ["-I", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1234", "--dport",
         "80", "--state", "ESTABLISHED", "-t", "120", "-u", "ASSURED"],
        ["-U", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1234", "--dport",
         "80", "-m", "42"],
        ["-G", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1234", "--dport",
         "80"],
        ["-I", "-p", "udp", "-s", "10.0.0.1", "-d", "10.0.0.3", "--sport", "5000", "--dport",
         "53", "-t", "30"],
        ["-I", "-p", "udp", "-s", "10.0.0.1", "-d", "10.0.0.3", "--sport", "5000", "--dport",
         "53", "-t", "30"],                                  # File exists
        ["-D", "-p", "udp", "-s", "10.0.0.1", "-d", "10.0.0.3", "--sport", "5000", "--dport",
         "53"],
        ["-L", "-o", "save"],
        ["-F"],
        ["-R", saved],
        ["-L"],
    ]

    def do(run, args):
        res = run(*args)
        if args[:3] == ["-L", "-o", "save"]:
            saved.write_text(res.stdout)
        return res.returncode, res.stdout, re.sub(r"\d+ flow entries", "N flow entries",
                                                   res.stderr)
    ctsim_run = (lambda *a: subprocess.run([str(CTSIM_EXEC), "--socket", lab.sock, CONNTRACK,
                                            *map(str, a)], capture_output=True, text=True,
                                           timeout=30))
    for args in steps:
        ours = do(ctsim_run, args)
        kern = do(kernel_ns.conntrack, args)
        assert ours[0] == kern[0], (args, ours, kern)
        assert same_events(ours[1].splitlines(), kern[1].splitlines()), (args, ours, kern)
        assert ours[2] == kern[2], (args, ours, kern)
        if args[0] == "-I" and args[2] == "udp" and "exists" in kern[2]:
            assert ours[0] == 1                      # the second -I of the same tuple
    # the restored table: the TCP entry alone, without its mark
    assert len(ours[1].splitlines()) == 1 and "sport=1234" in ours[1] and "mark=0" in ours[1], \
        ours


def test_lab18_conntrack_by_hand(start_lab):
    lab = start_lab("18-conntrack-by-hand")
    lab.conntrack("-I", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1234",
                  "--dport", "80", "--state", "ESTABLISHED", "-t", "120", "-u", "ASSURED")
    lab.conntrack("-I", "-p", "udp", "-s", "10.0.0.1", "-d", "10.0.0.3", "--sport", "5000",
                  "--dport", "53", "-t", "30")
    lab.conntrack("-D", "-p", "udp", "-s", "10.0.0.1", "-d", "10.0.0.3", "--sport", "5000",
                  "--dport", "53")
    # the wrong step: the mark was never set
    lab.fails("FAIL  expect entry tcp src=10.0.0.1", "hint: ctsim-exec conntrack -U")
    lab.conntrack("-U", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1234",
                  "--dport", "80", "-m", "42")
    lab.passes()
    # step 4: save, flush, restore. conntrack 1.4.7's -o save writes no mark
    # (so does it against a kernel: checked on Linux 6.18 in a netns), so the
    # entry comes back without it
    saved = lab.conntrack("-L", "-o", "save").stdout
    assert saved.startswith("-A -t 1") and "-s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 " \
        "-p tcp --sport 1234 --dport 80 --reply-port-src 80 --reply-port-dst 1234 " \
        "--state ESTABLISHED" in saved and "42" not in saved, saved
    (lab.workdir / "saved.txt").write_text(saved)
    lab.conntrack("-F")
    lab.fails("FAIL  expect entry tcp src=10.0.0.1", "FAIL  expect count 1")
    lab.conntrack("-R", lab.workdir / "saved.txt")
    res = lab.fails("FAIL  expect entry tcp src=10.0.0.1")
    assert "ok    expect count 1" in res.stdout
    lab.conntrack("-U", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1234",
                  "--dport", "80", "-m", "42")
    lab.passes()


# ------------------------------------------------------------------------------
# issue 15 part 5
# ------------------------------------------------------------------------------

def test_banner_names_a_host_of_the_topology(ctsim_factory, tmp_path):
    """The daemon's banner names the first host of the topology (it said
    "PREFIXclient" whatever the hosts were)."""
    topo = tmp_path / "ab.topo"
    topo.write_text("host alice ct-c0 10.77.1.2/24 10.77.1.1\n"
                    "host bob   ct-s0 10.77.2.2/24 10.77.2.1\n")
    prefix = lab_prefix("ab")
    d = ctsim_factory(["--topology", str(topo), "--lab-prefix", prefix])
    try:
        text = d.stderr_text()
        assert f"enter a host with: ip netns exec {prefix}alice bash" in text, text
        assert "client" not in text, text
    finally:
        d.stop()
        subprocess.run([CTSIM, "lab", "down", "--prefix", prefix], capture_output=True)


@pytest.mark.parametrize("text,where,msg", [
    ("host a ct-c0 10.77.1.2/24 10.77.1.1\nhost b ct-s0 10.77.1.2/24 10.77.2.1\n", "2:14",
     'address 10.77.1.2 is already used by host "a"'),
    ("host a ct-c0 10.77.1.2/24 10.77.1.1\nhost b ct-s0 10.77.1.1/24 10.77.2.1\n", "2:14",
     'address 10.77.1.1 is already used by host "a"'),
    ("host a ct-c0 10.77.1.2/24 10.77.1.1 fd77:1::2/64 fd77:1::1\n"
     "host b ct-s0 10.77.2.2/24 10.77.2.1 fd77:1::2/64 fd77:2::1\n", "2:37",
     'address fd77:1::2 is already used by host "a"'),
    ("host a ct-c0 10.77.1.2/24 10.77.1.2\n", "1:27", "ctsim's address on the link is the host's own"),
])
def test_topology_refuses_two_hosts_with_one_address(tmp_path, text, where, msg):
    topo = tmp_path / "dup.topo"
    topo.write_text(text)
    prefix = lab_prefix("dup")
    try:
        # (a ctsim without the check brings the lab up and runs: the timeout
        # ends it, the lab down removes what it made)
        res = subprocess.run([CTSIM, "--socket", str(tmp_path / "s"), "--lab", "--topology",
                              str(topo), "--lab-prefix", prefix], capture_output=True,
                             text=True, timeout=10)
    finally:
        subprocess.run([CTSIM, "lab", "down", "--prefix", prefix], capture_output=True)
    assert res.returncode == 2, res.stderr
    assert f"{topo}:{where}: {msg}" in res.stderr, res.stderr
    assert not os.path.exists(tmp_path / "s")


def test_replay_of_a_missing_capture_prints_only_the_error(tmp_path):
    res = subprocess.run([CTSIM, "replay", str(tmp_path / "missing.pcap")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 1
    assert res.stdout == "", res.stdout
    assert res.stderr == f"ctsim replay: {tmp_path}/missing.pcap: No such file or directory\n", \
        res.stderr


def test_lab_hosts_resolve_names_to_ipv4_first(ctsim_factory):
    """`ping server` in a lab host pings the IPv4 address (getaddrinfo put
    the fd77:: address first); IPv6 stays reachable with -6."""
    prefix = lab_prefix("v4")
    d = ctsim_factory(["--lab", "--lab-prefix", prefix])
    try:
        def run(*cmd):
            return subprocess.run(["ip", "netns", "exec", prefix + "client", *cmd],
                                  capture_output=True, text=True, timeout=20)
        first = run("getent", "ahosts", "server").stdout.split()
        assert first and first[0] == "10.77.2.2", first
        res = run("ping", "-c1", "-W2", "server")
        assert res.returncode == 0 and "PING server (10.77.2.2)" in res.stdout, res.stdout
        res = run("ping", "-6", "-c1", "-W2", "server")
        assert res.returncode == 0 and "fd77:2::2" in res.stdout, res.stdout
    finally:
        d.stop()
        subprocess.run([CTSIM, "lab", "down", "--prefix", prefix], capture_output=True)
    assert not os.path.exists(f"/etc/netns/{prefix}client"), "left in /etc/netns"


# ------------------------------------------------------------------------------
# labs on NAT, table full, tracing (issue 15, after issues 11, 12, 13)
# ------------------------------------------------------------------------------

def copy_lab(name, tmp_path):
    """A student's copy of a lab whose worksheet edits the ruleset."""
    dst = tmp_path / name
    shutil.copytree(LABS / name, dst)
    return dst


def test_lab10_nat_decided_once(start_lab, tmp_path):
    labdir = copy_lab("10-nat-decided-once", tmp_path)
    lab = start_lab(None, labdir=labdir)
    lab.start("server", PY, "-c", UDP_ECHO, "10.77.2.2", "5353")
    wait_port(lab, "server", "udp", 5353)

    def send(port):
        assert lab.run("client", PY, "-c", UDP_FROM, "server", "5353", port,
                       check=True).stdout.strip() == "hello"
    send(40000)
    lab.fails("FAIL  expect entry udp 17 src=client dst=server sport=40001")
    rules = labdir / "ruleset.nft"
    rules.write_text(rules.read_text().replace("snat to 198.51.100.1", "snat to 198.51.100.2"))
    lab.ctctl("reload")
    send(40000)      # the keepalive goes on: still .1
    send(40001)      # a new flow: .2
    assert "dst=198.51.100.1 sport=5353 dport=40000" in lab.conntrack("-L").stdout
    # the wrong step: expecting the reload to move the running flow
    lab.fails("FAIL  expect events", "hint: the port 40000 flow is still bound")
    lab.conntrack("-D", "-p", "udp", "--sport", "40000")
    send(40000)
    lab.passes()

    # a kernel router: the same datagrams, the same rule change, the same events
    def traffic(k):
        k.start("server", PY, "-c", UDP_ECHO, "10.77.2.2", "5353")
        wait_port(k, "server", "udp", 5353)
        for port in (40000,):
            k.run("client", PY, "-c", UDP_FROM, "10.77.2.2", "5353", port, check=True)
        k.run("router", "nft", "flush", "ruleset", check=True)
        k.nft("router", rules.read_text())
        for port in (40000, 40001):
            k.run("client", PY, "-c", UDP_FROM, "10.77.2.2", "5353", port, check=True)
        k.conntrack("-D", "-p", "udp", "--sport", "40000", check=True)
        k.run("client", PY, "-c", UDP_FROM, "10.77.2.2", "5353", 40000, check=True)
    first = (LABS / "10-nat-decided-once" / "ruleset.nft").read_text()
    kern = kernel_events(tmp_path / "k", first, traffic, "k10")
    # the [DESTROY] of conntrack -D names the deleting socket (portid=N)
    ours = [re.sub(r"portid=\d+", "portid=N", l) for l in journal(lab)]
    kern = [re.sub(r"portid=\d+", "portid=N", l) for l in kern]
    assert same_events(ours, kern), "\n".join(ours + ["--- kernel"] + kern)


def test_lab11_dnat_port_forward(start_lab, tmp_path):
    labdir = copy_lab("11-dnat-port-forward", tmp_path)
    lab = start_lab(None, labdir=labdir)
    lab.start("server", PY, "-c", HTTP_SERVE, "0.0.0.0", "80")
    wait_port(lab, "server", "tcp", 80)

    def curl(host):
        return lab.run(host, "curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
                       "http://10.77.1.1:8080/").stdout
    assert curl("client") == "200"
    # the wrong step: the hairpin without source NAT fails (the server gets
    # a packet from its own address, and its answer would not come back)
    assert curl("server") != "200"
    lab.fails('FAIL  expect counter "masquerade" in chain post', "hint: add a masquerade rule",
              "FAIL  expect entry tcp 6 src=server dst=10.77.1.1")
    shutil.copy(labdir / "solution.nft", labdir / "ruleset.nft")
    lab.ctctl("reload")
    assert curl("server") == "200"
    lab.passes()
    ours = sorted(shape(re.sub(r"\s\d+ (TIME_WAIT|ESTABLISHED|SYN_SENT)", r" T \1", l))
                  for l in lab.conntrack("-L").stdout.splitlines() if "dport=8080" in l)

    # a kernel router: the same port forward and hairpin, the same entries
    (tmp_path / "k").mkdir()
    first = (LABS / "11-dnat-port-forward" / "ruleset.nft").read_text()
    with KernelRouter(lab_prefix("k11"), first, workdir=str(tmp_path / "k")) as k:
        k.start("server", PY, "-c", HTTP_SERVE, "0.0.0.0", "80")
        wait_port(k, "server", "tcp", 80)

        def kcurl(host):
            return k.run(host, "curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
                         "http://10.77.1.1:8080/").stdout
        assert kcurl("client") == "200"
        assert kcurl("server") != "200"
        k.run("router", "nft", "flush", "ruleset", check=True)
        k.nft("router", (labdir / "solution.nft").read_text())
        assert kcurl("server") == "200"
        kern = sorted(shape(re.sub(r"\s\d+ (TIME_WAIT|ESTABLISHED|SYN_SENT)", r" T \1", l))
                      for l in k.conntrack("-L").stdout.splitlines() if "dport=8080" in l)
    assert ours == kern, "\n".join(ours + ["--- kernel"] + kern)


def test_lab14_table_full(start_lab):
    # no kernel comparison here: nf_conntrack_max is global to the machine
    # (tests/test_table_full_kernel.py does it, opt-in, for a second)
    lab = start_lab("14-table-full")
    lab.start("server", PY, "hold.py")
    wait_port(lab, "server", "tcp", 80)
    res = lab.run("client", PY, "syns.py", "100", check=True)
    assert "100 SYNs sent" in res.stdout
    st = lab.conntrack("-S").stdout
    assert int(re.search(r"early_drop=(\d+)", st).group(1)) >= 36, st
    assert len(lab.conntrack("-L").stdout.splitlines()) <= 64
    # the wrong step: fewer connections than the table holds: no drop
    few = lab.start("client", PY, "connect.py", "20")
    lab.fails("FAIL  expect count 64 tcp dport=80", "FAIL  expect stats drop=1..")
    assert "20 connections open, 0 failed" in lab.bg_logs()
    many = lab.start("client", PY, "connect.py", "50")
    deadline = time.monotonic() + 60
    while "connections open" not in lab.bg_logs().split("20 connections open")[-1]:
        assert time.monotonic() < deadline, lab.bg_logs()
        time.sleep(0.2)
    # 44 more fit (all 64 ASSURED), 6 were refused by a full table
    assert "44 connections open, 6 failed" in lab.bg_logs(), lab.bg_logs()
    assert "nf_conntrack: table full, dropping packet" in lab.text()
    lab.fails("FAIL  expect event [DESTROY] tcp src=client dst=server dport=80 [ASSURED]")
    # a policy beyond the kernel's, set while the lab runs
    lab.ctctl("set", "ctsim_overflow_policy", "lru")
    res = lab.run("client", PY, "-c", "import socket; s=socket.create_connection(('10.77.2.2', 80), 2);"
                  " print('open')", check=True)
    assert res.stdout.strip() == "open"
    lab.passes()
    assert len(lab.conntrack("-L").stdout.splitlines()) == 64


def test_lab17_trace(start_lab, tmp_path):
    lab = start_lab("17-trace")
    lab.start("server", PY, "-c", HTTP_SERVE, "0.0.0.0", "8080")
    wait_port(lab, "server", "tcp", 8080)
    out = open(tmp_path / "trace.txt", "w+")
    tr = subprocess.Popen([str(CTCTL_BIN), "--socket", lab.sock, "trace"], stdout=out,
                          stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        res = lab.run("client", "curl", "-4", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                      "http://server:8080/")
        assert res.stdout == "200"
        # the wrong step: only the traced connection, nothing dropped yet
        lab.fails('FAIL  expect counter "meta l4proto tcp counter" in chain fw',
                  "hint: the last rule of fw counts")
        time.sleep(0.5)
    finally:
        tr.terminate()
        tr.wait(timeout=10)
    out.seek(0)
    lines = out.read().splitlines()
    first = [l.split(" ", 3)[3] for l in lines if l.startswith("trace id 00000001 ")]
    # the worksheet's order: the packet, conntrack's verdict, the rule, confirmation
    want = ["inet lab17 pre packet: iif \"ct-c0\" ip saddr 10.77.1.2 ip daddr 10.77.2.2",
            "inet lab17 pre rule tcp dport 8080 counter meta nftrace set 1 (verdict continue)",
            "conntrack prerouting lookup:",
            "conntrack prerouting ctinfo: IP_CT_NEW (ct state new)",
            "conntrack prerouting tracker: tcp NONE --syn/orig--> SYN_SENT",
            "inet lab17 fw rule iifname \"ct-c*\" tcp dport 8080 ct state new counter accept "
            "(verdict accept)",
            "conntrack postrouting confirm: confirmed:",
            "ctsim forwarded"]
    at = 0
    for w in want:
        while at < len(first) and not first[at].startswith(w):
            at += 1
        assert at < len(first), (w, first)
    # the SYN-ACK: the reply direction, ct state established
    assert any("IP_CT_ESTABLISHED_REPLY" in l for l in lines if l.startswith("trace id 00000002 "))

    # step 2: a filtered trace (no nftrace rule needed) of a dropped connection
    out2 = open(tmp_path / "trace2.txt", "w+")
    tr = subprocess.Popen([str(CTCTL_BIN), "--socket", lab.sock, "trace", "dport", "8081"],
                          stdout=out2, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        lab.run("client", "curl", "-4", "-s", "-m1", "http://server:8081/")
        time.sleep(0.5)
    finally:
        tr.terminate()
        tr.wait(timeout=10)
    out2.seek(0)
    text = out2.read()
    assert "inet lab17 fw policy drop" in text and "ctsim dropped" in text, text
    assert "dport 8080" not in text
    lab.passes()


def test_lab16_events_and_loss(start_lab, tmp_path):
    lab = start_lab("16-events-loss")
    # step 1: a filtered listener with timestamps, as the worksheet's
    out = open(tmp_path / "ev.txt", "w+")
    ev = subprocess.Popen([str(CTSIM_EXEC), "--socket", lab.sock, CONNTRACK, "-E", "-e",
                           "NEW,DESTROY", "-o", "timestamp"], stdout=out,
                          stderr=subprocess.STDOUT)
    time.sleep(0.5)
    lab.run("client", "ping", "-c1", "-W2", "server", check=True)
    # the wrong step: not waiting for the entry's end
    lab.fails("FAIL  expect events", "hint: ping -c1 server")
    lab.ctctl("advance", "31s")
    time.sleep(0.5)
    ev.send_signal(signal.SIGINT)
    ev.wait(timeout=10)
    out.seek(0)
    lines = [l for l in out.read().splitlines() if l.strip() and "flow events" not in l]
    # NEW and DESTROY only (the echo reply's [UPDATE] is filtered out), stamped
    assert [l.split()[1] for l in lines if "icmp" in l] == ["[NEW]", "[DESTROY]"], lines
    assert all(re.match(r"\[\d+\.\d+\]\s+\[(NEW|DESTROY)\]", l) for l in lines), lines

    # step 2: a listener that does not read during a burst loses events
    burst = tmp_path / "burst.txt"
    burst.write_text(lab.run("client", PY, "burst.py", "3000", check=True).stdout)
    out2 = open(tmp_path / "ev2.txt", "w+")
    ev = subprocess.Popen([str(CTSIM_EXEC), "--socket", lab.sock, CONNTRACK, "-E"],
                          stdout=out2, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    ev.send_signal(signal.SIGSTOP)
    lab.fails("FAIL  expect count 3000.. udp dst=10.0.0.3")
    lab.ctctl("-b", burst)
    time.sleep(0.5)
    ev.send_signal(signal.SIGCONT)
    time.sleep(1.0)
    ev.send_signal(signal.SIGINT)
    ev.wait(timeout=10)
    out2.seek(0)
    text = out2.read()
    got = text.count("[NEW] udp")
    assert "ENOBUFS" in text and got < 3000, (got, text[-300:])
    lab.passes()


def test_lab17_nft_lines_same_as_a_kernel_router(start_lab, tmp_path):
    """The trace's nft lines (packet, rule, policy) of the worksheet's
    connection, ctsim's ``ctctl trace`` against a kernel router's ``nft
    monitor trace``: the SYN and the SYN-ACK meet the same rules with the
    same verdicts."""
    from test_trace import NFT_LINE, by_packet, normalise, trace_lines

    def norm(line):
        line = normalise(line).replace('"ct-c*"', '"eth1"')
        line = re.sub(r" ip id \d+", "", line)
        return re.sub(r" tcp (sport|dport) [1-9]\d{4}", r" tcp \1 P", line)

    def first_two(lines, chain=None):
        pks = by_packet(trace_lines("\n".join(lines)), chain)
        pks = [pk for pk in pks if " ip saddr 10.77." in pk[0] or " ip saddr 10.77." in
               " ".join(pk[:2])]
        return [[norm(l) for l in pk if NFT_LINE.match(l)] for pk in pks[:2]]

    lab = start_lab("17-trace")
    lab.start("server", PY, "-c", HTTP_SERVE, "0.0.0.0", "8080")
    wait_port(lab, "server", "tcp", 8080)
    out = open(tmp_path / "trace.txt", "w+")
    tr = subprocess.Popen([str(CTCTL_BIN), "--socket", lab.sock, "trace"], stdout=out,
                          stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        assert lab.run("client", "curl", "-4", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                       "http://10.77.2.2:8080/").stdout == "200"
        time.sleep(0.5)
    finally:
        tr.terminate()
        tr.wait(timeout=10)
    out.seek(0)
    ours = first_two(out.read().splitlines())

    text = (LABS / "17-trace" / "ruleset.nft").read_text().replace('"ct-c*"', '"eth1"')
    (tmp_path / "k").mkdir()
    with KernelRouter(lab_prefix("k17"), text, workdir=str(tmp_path / "k")) as k:
        k.start("server", PY, "-c", HTTP_SERVE, "0.0.0.0", "8080")
        wait_port(k, "server", "tcp", 8080)
        mon = k.popen("router", "nft", "monitor", "trace", stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(0.5)
            assert k.run("client", "curl", "-4", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                         "http://10.77.2.2:8080/").stdout == "200"
            time.sleep(0.5)
        finally:
            mon.send_signal(signal.SIGINT)
            kout = mon.communicate(timeout=10)[0]
    kern = first_two(kout.splitlines(), "pre")
    assert len(ours) == len(kern) == 2, (ours, kout)
    assert ours == kern, "\n".join(map(str, ours + ["--- kernel"] + kern))
