# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pytest fixtures and helpers for the ctsim test suite.

Fixtures (stable names, used by every test module):

* ``ctsim_factory`` -- callable ``(extra_args=[], mode=None) -> CtsimDaemon``;
  starts ``BUILD/ctsim/ctsim --socket <tmp>/ct.sock`` (+ extra args) and waits
  for the socket; every daemon is stopped at teardown.
* ``ctsim`` -- one daemon with the built-in default settings.
* ``kernel_ns`` -- a fresh network namespace (the real kernel conntrack), with
  ``lo`` up; deleted at teardown even when the test fails.

The build directory is ``$CTSIM_BUILD`` (default: ``<repo>/build``); the suite
is normally run against the ASan+UBSan build (``build-asan``).  Sanitizer
reports written by the daemon (or by ctctl) fail the test at teardown.
"""

import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# A suite started in the background by a non-interactive shell (CI, nohup)
# inherits SIGINT ignored, and every child it starts would too: programs the
# tests stop with SIGINT and that install no handler of their own (nft
# monitor trace) would then never stop. Give the suite, and so its children
# (exec resets a handled signal to its default action), the usual SIGINT.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
# The support modules of the tests (tests/lib: labutil, lab_servers,
# kernel_router) and the product's Python (ctsim/scenario: the kernel and
# live differential drivers and the raw ctnetlink client wire.py, which
# ctsim installs into libexecdir/ctsim) are importable by every test module
# and by scripts the tests start with sys.path.insert(0, str(DRIVERS)).
LIB = ROOT / "tests" / "lib"
DRIVERS = ROOT / "ctsim" / "scenario"
for _p in (DRIVERS, LIB):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
BUILD = Path(os.environ.get("CTSIM_BUILD", ROOT / "build"))
# ../shared next to the checkout (the layout CI uses); /work/shared as fallback.
SHARED = Path(os.environ.get("CTSIM_SHARED", ROOT.parent / "shared"))
if not SHARED.is_dir() and Path("/work/shared").is_dir():
    SHARED = Path("/work/shared")

CTSIM_BIN = BUILD / "ctsim" / "ctsim"
CTCTL_BIN = BUILD / "ctctl" / "ctctl"
CTSIM_EXEC = BUILD / "proto" / "ctsim-exec"
CONNTRACK = shutil.which("conntrack") or "/usr/sbin/conntrack"

SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")

# Environment for sanitized binaries: report everything, with stacks.
SANITIZER_ENV = {
    "ASAN_OPTIONS": os.environ.get(
        "ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:strict_string_checks=1"),
    "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1"),
}


def _sanitizer_report(text):
    """Return the sanitizer part of *text*, or None if there is none."""
    if not text:
        return None
    for marker in SANITIZER_MARKERS:
        if marker in text:
            return text
    return None


# --------------------------------------------------------------------------
# ctsim daemon
# --------------------------------------------------------------------------

class CtsimDaemon:
    """A running ``ctsim`` daemon on a private socket."""

    def __init__(self, workdir, extra_args=(), mode=None):
        self.workdir = Path(workdir)
        self.socket = str(self.workdir / "ct.sock")
        if len(self.socket) > 100:      # sun_path holds 108 bytes
            self.socket = os.path.join(tempfile.mkdtemp(prefix="ctsim-"), "ct.sock")
        self.args = [str(CTSIM_BIN), "--socket", self.socket]
        if mode is not None:
            self.args += ["--socket-mode", mode if isinstance(mode, str) else f"{mode:o}"]
        self.args += [str(a) for a in extra_args]
        self.stderr_path = self.workdir / "ctsim.stderr"
        self.client_reports = []       # sanitizer output of client tools
        self.exit_status = None
        self._stopped_by_test = False
        env = dict(os.environ, **SANITIZER_ENV)
        self._stderr = open(self.stderr_path, "w+")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=self._stderr,
                                     env=env, start_new_session=True)
        self._wait_ready(10.0)

    # -- lifecycle ---------------------------------------------------------

    def _wait_ready(self, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ctsim exited with status {self.proc.returncode} before "
                    f"listening:\n{self.stderr_text()}")
            try:
                if stat.S_ISSOCK(os.stat(self.socket).st_mode) and self._connectable():
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError(f"ctsim did not create {self.socket} within {limit} s:\n"
                           f"{self.stderr_text()}")

    def _connectable(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stderr_text(self):
        """Everything the daemon wrote on stdout/stderr so far."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10.0, _teardown=False):
        """Send *sig*, wait for the exit and return the exit status
        (negative signal number if it was killed by a signal)."""
        if not _teardown:
            self._stopped_by_test = True
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_status = "hung"
                self._stderr.close()
                return self.proc.returncode
        self.exit_status = self.proc.returncode
        if not self._stderr.closed:
            self._stderr.close()
        return self.proc.returncode

    @property
    def alive(self):
        return self.proc.poll() is None

    # -- clients -----------------------------------------------------------

    def _check_client(self, res):
        rep = _sanitizer_report(res.stderr)
        if rep:
            self.client_reports.append(rep)
        return res

    def run(self, args, input=None, timeout=60, env=None):
        """Run *args* with the shim preloaded (``ctsim-exec --socket S args``)."""
        full_env = dict(os.environ, **SANITIZER_ENV)
        full_env["CTSIM_SOCKET"] = self.socket
        if env:
            full_env.update(env)
        return self._check_client(subprocess.run(
            [str(CTSIM_EXEC), "--socket", self.socket, *[str(a) for a in args]],
            input=input, timeout=timeout, env=full_env, text=True,
            capture_output=True))

    def conntrack(self, *args, **kw):
        """Run the real ``conntrack`` binary against this daemon."""
        return self.run([CONNTRACK, *args], **kw)

    def ctctl(self, *args, input=None, timeout=60, env=None):
        """Run ``ctctl --socket S args``."""
        full_env = dict(os.environ, **SANITIZER_ENV)
        if env:
            full_env.update(env)
        return self._check_client(subprocess.run(
            [str(CTCTL_BIN), "--socket", self.socket, *[str(a) for a in args]],
            input=input, timeout=timeout, env=full_env, text=True,
            capture_output=True))

    def popen(self, args, **kw):
        """Start *args* under the shim in the background (e.g. ``conntrack -E``).
        The caller owns the process; text-mode pipes for stdout/stderr."""
        env = dict(os.environ, **SANITIZER_ENV)
        env["CTSIM_SOCKET"] = self.socket
        env.update(kw.pop("env", None) or {})
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        return subprocess.Popen([str(CTSIM_EXEC), "--socket", self.socket,
                                 *[str(a) for a in args]], env=env, **kw)

    def __repr__(self):
        return f"<CtsimDaemon pid={self.proc.pid} socket={self.socket}>"


@pytest.fixture
def ctsim_factory(tmp_path):
    """Start ctsim daemons: ``ctsim_factory(extra_args=[], mode=None)``."""
    daemons = []
    counter = [0]

    def start(extra_args=(), mode=None):
        counter[0] += 1
        work = tmp_path / f"ctsim{counter[0]}"
        work.mkdir()
        d = CtsimDaemon(work, extra_args, mode)
        daemons.append(d)
        return d

    if not CTSIM_BIN.exists():
        pytest.fail(f"{CTSIM_BIN} not built (CTSIM_BUILD={BUILD})")
    yield start

    problems = []
    for d in daemons:
        by_test = d._stopped_by_test
        status = d.stop(_teardown=True)
        log = d.stderr_text()
        rep = _sanitizer_report(log)
        if rep:
            problems.append(f"sanitizer report from {d}:\n{rep}")
        for r in d.client_reports:
            problems.append(f"sanitizer report from a client of {d}:\n{r}")
        if not by_test and status != 0:
            problems.append(f"{d} exited with status {status} on SIGTERM "
                            f"(expected 0):\n{log}")
        if not by_test and os.path.exists(d.socket):
            problems.append(f"{d} left its socket {d.socket} behind")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def ctsim(ctsim_factory):
    """A ctsim daemon with default settings."""
    return ctsim_factory()


# --------------------------------------------------------------------------
# kernel network namespace
# --------------------------------------------------------------------------

class KernelNetns:
    """A private network namespace: the real kernel conntrack."""

    def __init__(self):
        self.name = f"ctsim-t-{secrets.token_hex(4)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True,
                       capture_output=True, text=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"],
                       check=True, capture_output=True, text=True)

    def cmd(self, args):
        """The argv that runs *args* inside the namespace."""
        return ["ip", "netns", "exec", self.name, *[str(a) for a in args]]

    def run(self, args, input=None, timeout=60, env=None):
        full_env = dict(os.environ, **(env or {}))
        return subprocess.run(self.cmd(args), input=input, timeout=timeout,
                              env=full_env, text=True, capture_output=True)

    def conntrack(self, *args, **kw):
        return self.run([CONNTRACK, *args], **kw)

    def popen(self, args, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        return subprocess.Popen(self.cmd(args), **kw)

    def sysctl(self, name, value):
        """Set a sysctl inside the namespace; a bare conntrack setting name
        (``nf_conntrack_acct``) gets the ``net.netfilter.`` prefix."""
        if "." not in name and "/" not in name:
            name = "net.netfilter." + name
        res = self.run(["sysctl", "-qw", f"{name}={value}"])
        if res.returncode != 0:
            raise RuntimeError(f"sysctl {name}={value} failed: {res.stderr}")
        return res

    def delete(self):
        pids = subprocess.run(["ip", "netns", "pids", self.name],
                              capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def __repr__(self):
        return f"<KernelNetns {self.name}>"


@pytest.fixture
def kernel_ns():
    """A fresh network namespace with the kernel's conntrack; removed at teardown."""
    ns = KernelNetns()
    try:
        yield ns
    finally:
        ns.delete()


# --------------------------------------------------------------------------
# output normalisation and comparison
# --------------------------------------------------------------------------

# L4 protocol names conntrack prints before the protocol number and the timeout.
L4_NAMES = {"tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "dccp", "gre",
            "unknown"}

_RE_ID = re.compile(r"\bid=\d+")
_RE_PORTID = re.compile(r"\bportid=\d+")
_RE_XML_ID = re.compile(r"<id>\d+</id>")
_RE_XML_WHEN = re.compile(r"<when>.*?</when>")
_RE_TS = re.compile(r"^\[\s*\d+\.\d+\]", re.M)
_RE_XML_TIMEOUT = re.compile(r"<timeout>\d+</timeout>")
_RE_XML_TOKENS = re.compile(r"<[^>]*>|[^<]+")
# conntrack -E looks up /proc/PORTID/comm: racy (the sender may be gone)
_RE_PROGNAME = re.compile(r"[ \t]*\bprogname=\S+")
_RE_STAMPS = re.compile(r"\b(start|stop|delta-time)=\S+")


def _mask_common(text):
    text = _RE_ID.sub("id=ID", text)
    text = _RE_PORTID.sub("portid=PORTID", text)
    text = _RE_PROGNAME.sub("", text)
    text = _RE_XML_ID.sub("<id>ID</id>", text)
    text = _RE_XML_WHEN.sub("<when>WHEN</when>", text)
    text = _RE_TS.sub("[TS]", text)
    text = _RE_STAMPS.sub(lambda m: m.group(1) + "=STAMP", text)
    return text


def _mask_timeout_tokens(tokens, repl="TIMEOUT"):
    """In a tokenised text line, replace the timeout (the number after
    '<l4name> <l4num>') by *repl*; return (tokens, timeouts)."""
    out = list(tokens)
    found = []
    for i in range(len(out) - 2):
        if out[i] in L4_NAMES and out[i + 1].isdigit() and out[i + 2].isdigit():
            found.append(int(out[i + 2]))
            out[i + 2] = repl
            break
    return out, found


def normalize_conntrack_output(text, timeouts=True):
    """Mask the values that legitimately differ between two runs: ids
    (``id=N``, ``<id>``), netlink port ids (``portid=N``, and the racy
    ``progname=`` looked up from it), event timestamps
    (``[secs.usecs]``, ``<when>``), ``start=/stop=/delta-time=``, and, unless
    *timeouts* is False, the remaining timeouts (text and XML).

    Masking timeouts loses the ±1 s check; prefer :func:`assert_conntrack_equal`,
    which compares timeouts numerically with a tolerance."""
    text = _mask_common(text)
    if not timeouts:
        return text
    text = _RE_XML_TIMEOUT.sub("<timeout>TIMEOUT</timeout>", text)
    lines = []
    for line in text.splitlines():
        toks, found = _mask_timeout_tokens(line.split())
        lines.append(" ".join(toks) if found else line)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def conntrack_records(text):
    """Parse conntrack output into records ``(tokens, timeouts)``: *tokens*
    is the list of whitespace-separated (text) or tag/content (XML) tokens
    with ids, port ids, timestamps and timeouts masked; *timeouts* is the
    list of masked timeout values, compared separately with a tolerance.

    XML output is split so that each ``<flow>`` is one record; text output
    gives one record per non-empty line."""
    text = _mask_common(text)
    records = []
    if "<?xml" in text or "<flow" in text:
        for chunk in re.split(r"(?=<flow[ >])|(?<=</flow>)", text):
            chunk = chunk.strip()
            if not chunk:
                continue
            toks, touts = [], []
            prev_tag = None
            for t in _RE_XML_TOKENS.findall(chunk):
                t = t.strip()
                if not t:
                    continue
                if prev_tag == "<timeout>" and t.isdigit():
                    touts.append(int(t))
                    t = "TIMEOUT"
                toks.append(t)
                prev_tag = t if t.startswith("<") else None
            records.append((toks, touts))
        return records
    for line in text.splitlines():
        toks = line.split()
        if not toks:
            continue
        toks, touts = _mask_timeout_tokens(toks)
        records.append((toks, touts))
    return records


def _mask_use(records):
    out = []
    for toks, touts in records:
        toks = ["use=USE" if t.startswith("use=") else
                "USE" if (i and toks[i - 1] == "<use>") else t
                for i, t in enumerate(toks)]
        out.append((toks, touts))
    return out


def diff_conntrack_output(expected, actual, sort=True, tolerance=1, exact_use=None):
    """Compare two conntrack outputs structurally; return a list of
    human-readable differences (empty when they match).

    *sort*: compare as multisets (dump order is the hash order, which differs
    between the kernel and ctsim); use sort=False for event streams.

    *exact_use*: compare ``use=`` counts.  By default (None) only when both
    outputs hold at most one record: in a multi-datagram dump the kernel
    holds a reference on the entry where the next batch resumes (use=2), and
    which entry that is depends on the hash order."""
    exp = conntrack_records(expected)
    act = conntrack_records(actual)
    if exact_use is None:
        exact_use = len(exp) <= 1 and len(act) <= 1
    if not exact_use:
        exp, act = _mask_use(exp), _mask_use(act)
    if sort:
        exp.sort(key=lambda r: r[0])
        act.sort(key=lambda r: r[0])
    problems = []
    if len(exp) != len(act):
        problems.append(f"{len(exp)} records expected, {len(act)} got")
    for i, (e, a) in enumerate(zip(exp, act)):
        if e[0] != a[0]:
            problems.append(f"record {i}:\n  expected: {' '.join(e[0])}\n"
                            f"  actual:   {' '.join(a[0])}")
            continue
        if len(e[1]) != len(a[1]) or any(abs(x - y) > tolerance
                                         for x, y in zip(e[1], a[1])):
            problems.append(f"record {i}: timeouts {e[1]} vs {a[1]} "
                            f"(tolerance {tolerance} s): {' '.join(e[0])}")
    if len(exp) != len(act):
        es = {" ".join(r[0]) for r in exp}
        as_ = {" ".join(r[0]) for r in act}
        for r in sorted(es - as_):
            problems.append(f"only expected: {r}")
        for r in sorted(as_ - es):
            problems.append(f"only actual:   {r}")
    return problems


def assert_conntrack_equal(expected, actual, sort=True, tolerance=1, what="",
                           exact_use=None):
    """Assert that two conntrack outputs are the same after normalisation
    (ids, port ids, timestamps masked; timeouts within ±tolerance s; see
    diff_conntrack_output for *exact_use*)."""
    problems = diff_conntrack_output(expected, actual, sort=sort,
                                     tolerance=tolerance, exact_use=exact_use)
    if problems:
        pytest.fail(f"{what} outputs differ:\n" + "\n".join(problems) +
                    f"\n--- expected (kernel) ---\n{expected}"
                    f"\n--- actual (ctsim) ---\n{actual}", pytrace=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (kernel comparisons)")
