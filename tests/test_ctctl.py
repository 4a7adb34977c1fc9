# SPDX-License-Identifier: GPL-2.0-or-later
"""ctctl end to end: the CLI against a real ctsim daemon.

Binaries come from $CTSIM_BUILD as for the rest of the suite (conftest.py):
ctctl/ctctl, ctsim/ctsim, proto/ctsim-exec (+ the shim). The daemon is
conftest's (sanitizer environment, its stderr checked for reports, its exit
status checked). The parser, usage errors, --help and batch mode are checked
without it.
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import CTCTL_BIN, CTSIM_BIN, CTSIM_EXEC as _EXEC

CTCTL = str(CTCTL_BIN)
CTSIM = str(CTSIM_BIN)
CTSIM_EXEC = str(_EXEC)

# a missing binary is a failure, not a skip
needs_daemon = pytest.mark.usefixtures()


def ctctl(*args, sock=None, stdin=None, check=None, env=None):
    """Run ctctl; returns the CompletedProcess (text mode)."""
    cmd = [CTCTL] + (["-s", sock] if sock else []) + list(args)
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                       timeout=20, env=env)
    if check is not None:
        assert r.returncode == check, (cmd, r.returncode, r.stdout, r.stderr)
    return r


@pytest.fixture
def sock(ctsim):
    """A running ctsim (conftest's daemon: sanitizer and exit checks)."""
    return ctsim.socket


TCP = ["tcp", "src", "1.1.1.1", "dst", "2.2.2.2", "sport", "10", "dport", "20"]


def add_tcp(sock, *extra):
    return ctctl("add", *TCP, "state", "SYN_SENT2", "timeout", "50", *extra,
                 sock=sock, check=0)


def norm(text):
    """Remaining timeouts tick between two commands: blank them out."""
    return re.sub(r"^((?:ipv[46] +\d+ )?\S+ +\d+ )\d+ ", r"\1T ", text, flags=re.M)


# ---- without a daemon -----------------------------------------------------

def test_help_and_version():
    r = ctctl("--help", check=0)
    assert "Usage: ctctl" in r.stdout and "monitor" in r.stdout
    r = ctctl("-V", check=0)
    assert r.stdout.startswith("ctctl ")
    r = ctctl("help", "add", check=0)
    assert "Usage: ctctl add" in r.stdout and "reply-sport" in r.stdout


def caret_column(stderr):
    """(echoed line, column of ^, width of ^~~~) from a usage error."""
    lines = stderr.rstrip("\n").split("\n")
    m = re.match(r"^( *)(\^~*)$", lines[-1])
    assert m, stderr
    return lines[-2], len(m.group(1)), len(m.group(2))


@pytest.mark.parametrize("args,bad", [
    (["add", "tcp", "src", "1.1.1.1", "dst", "2.2.2.2", "sport", "x", "dport", "2",
      "timeout", "5"], "x"),
    (["add", "tcp", "src", "1.1.1.1", "dst", "::2", "sport", "1", "dport", "2",
      "timeout", "5"], "::2"),
    (["list", "bogus"], "bogus"),
    (["get", "tcp", "src", "1.1.1.1", "dst", "2.2.2.2", "sport", "1", "dport", "2",
      "state", "ESTABLISHED"], "state"),
    (["add", "tcp", "src", "1.1.1.1", "dst", "2.2.2.2", "sport", "1", "dport", "2",
      "state", "NOPE", "timeout", "5"], "NOPE"),
    (["list", "mark", "1/x"], "1/x"),
    (["frobnicate"], "frobnicate"),
])
def test_usage_error_caret(args, bad):
    r = ctctl(*args, sock="/nonexistent/sock", check=2)
    assert r.stderr.startswith("ctctl: "), r.stderr
    line, col, width = caret_column(r.stderr)
    assert line == " ".join(args)
    assert line[col:col + width] == bad


def test_usage_missing_argument_points_past_end():
    args = ["add", "tcp", "src", "1.1.1.1", "dst"]
    r = ctctl(*args, sock="/nonexistent/sock", check=2)
    line, col, width = caret_column(r.stderr)
    assert col == len(line) + 1 and width == 1


def test_usage_missing_timeout():
    r = ctctl("add", *TCP, sock="/nonexistent/sock", check=2)
    assert "timeout" in r.stderr


def test_no_daemon_is_a_failure_not_a_usage_error(tmp_path):
    r = ctctl("list", sock=str(tmp_path / "none.sock"), check=1)
    assert "cannot connect" in r.stderr and "ctsim" in r.stderr


def test_batch_stdin_stops_at_first_error():
    r = ctctl(stdin="help\n# comment\nbogus verb\nhelp list\n", check=2)
    assert "Verbs:" in r.stdout
    assert "stdin:3" in r.stderr
    assert "Usage: ctctl list" not in r.stdout       # stopped at line 3
    r = ctctl("--force", stdin="bogus\nhelp list\n", check=2)
    assert "Usage: ctctl list" in r.stdout           # --force goes on


def test_batch_file(tmp_path):
    f = tmp_path / "cmds"
    f.write_text("help get\nhelp \\\n  add\n")
    r = ctctl("-b", str(f), check=0)
    assert "Usage: ctctl get" in r.stdout and "Usage: ctctl add" in r.stdout


# ---- with the daemon ---------------------------------------------------------

@needs_daemon
def test_add_get_list_delete(sock):
    add_tcp(sock)
    r = ctctl("get", *TCP, sock=sock, check=0)
    # A single GET holds a reference while the kernel fills the object
    # (nf_conntrack_find_get()), so it shows use=2 where a dump shows 1.
    assert re.fullmatch(
        r"tcp      6 (49|50) SYN_SENT2 src=1.1.1.1 dst=2.2.2.2 sport=10 dport=20 "
        r"\[UNREPLIED\] src=2.2.2.2 dst=1.1.1.1 sport=20 dport=10 mark=0 use=2\n", r.stdout), r.stdout
    r = ctctl("list", sock=sock, check=0)
    assert r.stdout.count("\n") == 1
    assert r.stderr == "1 flow entries have been shown.\n"
    r = ctctl("add", *TCP, "state", "SYN_SENT2", "timeout", "50", sock=sock, check=1)
    assert r.stderr == "ctctl: add: entry exists (EEXIST)\n"
    ctctl("delete", *TCP, sock=sock, check=0)
    r = ctctl("get", *TCP, sock=sock, check=1)
    assert "(ENOENT)" in r.stderr
    r = ctctl("list", sock=sock, check=0)
    assert r.stdout == "" and r.stderr.startswith("0 flow entries")


@needs_daemon
def test_update_and_delete_by_id(sock):
    add_tcp(sock, "mark", "5", "zone", "3")
    ctctl("update", *TCP, "zone", "3", "mark", "9", "timeout", "100",
          "status", "SEEN_REPLY,ASSURED", sock=sock, check=0)
    r = ctctl("-j", "list", sock=sock, check=0)
    (e,) = json.loads(r.stdout)
    assert e["mark"] == 9 and e["zone"] == 3 and 98 <= e["timeout"] <= 100
    assert "ASSURED" in e["status"] and "SEEN_REPLY" in e["status"]
    ctctl("delete", "id", str(e["id"]), sock=sock, check=0)
    assert ctctl("count", sock=sock, check=0).stdout == "0\n"
    ctctl("delete", "id", str(e["id"]), sock=sock, check=1)


@needs_daemon
def test_list_filters_and_flush(sock):
    add_tcp(sock, "mark", "1")
    ctctl("add", "udp", "src", "10.0.0.1", "dst", "10.0.0.2", "sport", "5", "dport", "53",
          "timeout", "30", "mark", "2", sock=sock, check=0)
    ctctl("add", "icmp", "src", "10.0.0.1", "dst", "10.0.0.2", "type", "8", "code", "0",
          "id", "1226", "timeout", "30", sock=sock, check=0)
    ctctl("add", "proto", "200", "src", "10.0.0.1", "dst", "10.0.0.2", "timeout", "30",
          sock=sock, check=0)
    ctctl("add", "tcp", "src", "2001:db8::1", "dst", "2001:db8::2", "sport", "1", "dport", "2",
          "state", "ESTABLISHED", "timeout", "30", sock=sock, check=0)
    assert ctctl("count", sock=sock, check=0).stdout == "5\n"
    assert ctctl("list", "proto", "udp", sock=sock, check=0).stdout.startswith("udp      17 ")
    assert ctctl("list", "mark", "2", sock=sock, check=0).stdout.count("\n") == 1
    assert ctctl("list", "family", "ipv6", sock=sock, check=0).stdout.count("\n") == 1
    assert ctctl("list", "src", "10.0.0.1", sock=sock, check=0).stdout.count("\n") == 3
    icmp = ctctl("list", "icmp", sock=sock, check=0).stdout
    assert "type=8 code=0 id=1226 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1226" in icmp
    assert ctctl("list", "proto", "200", sock=sock, check=0).stdout.startswith("unknown  200 ")
    ext = ctctl("list", "-o", "extended,id", "family", "ipv6", sock=sock, check=0).stdout
    assert re.match(r"ipv6     10 tcp      6 \d+ ESTABLISHED .* id=\d+\n$", ext), ext
    ctctl("flush", sock=sock, check=0)
    assert ctctl("count", sock=sock, check=0).stdout == "0\n"


@needs_daemon
def test_json_output(sock):
    add_tcp(sock)
    r = ctctl("-j", "list", sock=sock, check=0)
    data = json.loads(r.stdout)
    assert isinstance(data, list) and len(data) == 1
    e = data[0]
    assert e["family"] == "ipv4" and e["proto"] == "tcp" and e["protonum"] == 6
    assert e["state"] == "SYN_SENT2" and isinstance(e["id"], int)
    assert e["orig"] == {"src": "1.1.1.1", "dst": "2.2.2.2", "sport": 10, "dport": 20}
    assert e["reply"] == {"src": "2.2.2.2", "dst": "1.1.1.1", "sport": 20, "dport": 10}
    assert "CONFIRMED" in e["status"]
    r = ctctl("-p", "list", sock=sock, check=0)
    assert json.loads(r.stdout) == [dict(data[0], timeout=json.loads(r.stdout)[0]["timeout"])]
    assert "\n  " in r.stdout
    assert json.loads(ctctl("-j", "count", sock=sock, check=0).stdout)["entries"] == 1
    stats = json.loads(ctctl("-j", "stats", sock=sock, check=0).stdout)
    assert stats and all("insert" in s and "cpu" in s for s in stats)


@needs_daemon
def test_stats_text(sock):
    r = ctctl("stats", sock=sock, check=0)
    for line in r.stdout.splitlines():
        assert re.fullmatch(r"cpu=\d+ *\tfound=\d+ invalid=\d+ insert=\d+ insert_failed=\d+ "
                            r"drop=\d+ early_drop=\d+ error=\d+ search_restart=\d+ "
                            r"clash_resolve=\d+ chaintoolong=\d+ ", line), line


@needs_daemon
def test_list_text_equals_conntrack(sock):
    add_tcp(sock)
    ctctl("add", *TCP[:2], "1.1.1.3", *TCP[3:], "state", "ESTABLISHED", "timeout", "50",
          "status", "SEEN_REPLY,ASSURED", "mark", "5", "zone", "3", sock=sock, check=0)
    ctctl("add", "udp", "src", "1.1.1.1", "dst", "2.2.2.2", "sport", "10", "dport", "53",
          "timeout", "50", sock=sock, check=0)
    ctctl("add", "icmp", "src", "1.1.1.1", "dst", "2.2.2.2", "type", "8", "code", "0",
          "id", "1226", "timeout", "50", sock=sock, check=0)
    ctctl("add", "proto", "200", "src", "1.1.1.1", "dst", "2.2.2.2", "timeout", "50",
          sock=sock, check=0)
    ctctl("add", "gre", "src", "1.1.1.1", "dst", "2.2.2.2", "sport", "10", "dport", "20",
          "timeout", "50", sock=sock, check=0)
    ctctl("add", "icmpv6", "src", "::1", "dst", "::2", "type", "128", "code", "0",
          "id", "5", "timeout", "50", sock=sock, check=0)
    env = dict(os.environ, CTSIM_SOCKET=sock)
    for opts in ([], ["-o", "extended,id"]):
        ours = ctctl("list", *opts, sock=sock, check=0)
        theirs = subprocess.run([CTSIM_EXEC, "--socket", sock, "conntrack", "-L", *opts],
                                capture_output=True, text=True, timeout=20, env=env)
        assert theirs.returncode == 0, theirs.stderr
        assert norm(ours.stdout) == norm(theirs.stdout)
        assert theirs.stderr.endswith(ours.stderr)


@needs_daemon
def test_monitor(sock):
    mon = subprocess.Popen([CTCTL, "-s", sock, "monitor"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    jmon = subprocess.Popen([CTCTL, "-s", sock, "-j", "monitor", "new,destroy"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    add_tcp(sock)
    ctctl("update", *TCP, "mark", "7", sock=sock, check=0)
    ctctl("delete", *TCP, sock=sock, check=0)
    time.sleep(0.5)
    for p in (mon, jmon):
        p.send_signal(signal.SIGINT)
    out, err = mon.communicate(timeout=5)
    jout, _ = jmon.communicate(timeout=5)
    assert mon.returncode == 0 and jmon.returncode == 0
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert lines[0].startswith("    [NEW] tcp      6 50 SYN_SENT2 src=1.1.1.1 dst=2.2.2.2 "
                               "sport=10 dport=20 [UNREPLIED] src=2.2.2.2")
    assert lines[1].startswith(" [UPDATE] tcp      6 ") and "mark=7" in lines[1]
    assert lines[2].startswith("[DESTROY] tcp      6 ")
    assert err == "3 flow events have been shown.\n"
    events = [json.loads(l) for l in jout.splitlines()]
    assert [e["event"] for e in events] == ["new", "destroy"]


@needs_daemon
def test_commands_on_stdin(sock):
    script = ("add " + " ".join(TCP) + " state ESTABLISHED timeout 60\n"
              "count\n"
              "list tcp\n"
              "flush\n"
              "count\n")
    r = ctctl(stdin=script, sock=sock, check=0)
    lines = r.stdout.splitlines()
    assert lines[0] == "1" and lines[1].startswith("tcp      6 ") and lines[2] == "0"


@needs_daemon
def test_stdin_batch_stops_on_failure(sock):
    add = "add " + " ".join(TCP) + " state ESTABLISHED timeout 60\n"
    r = ctctl(stdin=add + add + "count\n", sock=sock, check=1)
    assert "stdin:2: add: entry exists (EEXIST)" in r.stderr and r.stdout == ""


# ---- the interactive shell on a pty ---------------------------------------------

def test_shell_on_pty(tmp_path):
    """help, Tab completion of a verb and of a keyword, history file, quit."""
    master, slave = pty.openpty()
    env = dict(os.environ, HOME=str(tmp_path), TERM="dumb")
    p = subprocess.Popen([CTCTL, "-s", "/nonexistent/sock"], stdin=slave, stdout=slave,
                         stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""

    def expect(what, timeout=5):
        nonlocal out
        end = time.time() + timeout
        while what not in out and time.time() < end:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
        assert what in out, out

    expect(b"ctctl> ")
    os.write(master, b"help\n")
    expect(b"Verbs:")
    os.write(master, b"moni\t")
    expect(b"monitor")
    os.write(master, b"\x15")                   # Ctrl-U: clear the line
    os.write(master, b"list fam\t")
    expect(b"family")
    os.write(master, b"ipv\t")                 # ambiguous: ipv4/ipv6, completes "ipv"
    os.write(master, b"\x15list state ESTAB\t")
    expect(b"ESTABLISHED")
    os.write(master, b"\x15help get\nhelp get\nquit\n")
    p.wait(timeout=5)
    os.close(master)
    assert p.returncode == 0
    hist = (tmp_path / ".ctctl_history").read_text()
    assert hist.count("help get") == 1 and "quit" in hist
