# SPDX-License-Identifier: GPL-2.0-or-later
"""ctsim's front door: `ctsim --help` lists every subcommand of main.c's
table, and `ctsim -v` logs client connects and disconnects, request errors
(the nlmsgerr's errno) and ruleset reloads, one `ctsim:` line each."""

import os
import re
import signal
import subprocess
import time

import pytest

from conftest import CONNTRACK, CTSIM_BIN, SANITIZER_ENV
from labutil import lab_factory  # noqa: F401  (fixture)


def test_help_lists_every_subcommand():
    res = subprocess.run([str(CTSIM_BIN), "--help"], capture_output=True, text=True,
                         timeout=20, env=dict(os.environ, **SANITIZER_ENV))
    assert res.returncode == 0, res.stderr
    usage = [line.strip() for line in res.stdout.splitlines() if line.lstrip().startswith("ctsim ")]
    for verb in ("ruleset", "lab", "explain", "replay", "scenario"):
        assert any(line.startswith(f"ctsim {verb} ") for line in usage), res.stdout
    assert "explain tcp|helpers" in res.stdout
    assert "-v, --verbose" in res.stdout
    # each listed subcommand is dispatched (answers its own --help or usage)
    for verb in ("ruleset", "lab", "explain", "replay", "scenario"):
        r = subprocess.run([str(CTSIM_BIN), verb, "--help"], capture_output=True, text=True,
                           timeout=20, env=dict(os.environ, **SANITIZER_ENV))
        assert "unexpected argument" not in r.stderr, (verb, r.stderr)


def _wait_for(d, pattern, limit=5.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        m = re.search(pattern, d.stderr_text(), re.M)
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError(f"no /{pattern}/ in:\n{d.stderr_text()}")


def test_verbose_logs_clients_and_errors(ctsim_factory):
    d = ctsim_factory(["-v"])
    res = d.ctctl("get", "tcp", "src", "10.9.9.1", "dst", "10.9.9.2", "sport", "1", "dport", "2")
    assert res.returncode == 1
    # (the fixture's readiness probe is a client too: follow ctctl's pid)
    m = _wait_for(d, r"^ctsim: client pid (\d+): CT_GET seq \d+: error -2 \(ENOENT\)$")
    pid = m.group(1)
    _wait_for(d, rf"^ctsim: client pid {pid} uid 0 connected$")
    _wait_for(d, rf"^ctsim: client pid {pid} disconnected \(port id {pid}\)$")
    # a request that succeeds logs no error line
    assert d.ctctl("count").returncode == 0
    time.sleep(0.2)
    assert len(re.findall(r": error ", d.stderr_text())) == 1, d.stderr_text()


def test_quiet_without_verbose(ctsim_factory):
    d = ctsim_factory()
    d.ctctl("get", "tcp", "src", "10.9.9.1", "dst", "10.9.9.2", "sport", "1", "dport", "2")
    time.sleep(0.2)
    text = d.stderr_text()
    assert "connected" not in text and "error" not in text, text


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(CONNTRACK),
                    reason="the lab needs root")
def test_verbose_logs_reloads(lab_factory):  # noqa: F811
    lab = lab_factory(extra=["-v"], tag="vrb")
    assert lab.d.ctctl("reload").returncode == 0
    _wait_for(lab.d, r"^ctsim: ruleset reloaded.* \(ctctl reload\)$")
    os.kill(lab.d.proc.pid, signal.SIGHUP)
    _wait_for(lab.d, r"^ctsim: ruleset reloaded.* \(SIGHUP\)$")


@pytest.mark.parametrize("args,message", [
    (["--socket-mode", ""], '--socket-mode: "" is not an octal mode'),      # was mode 0000
    (["--socket-mode", " 600"], '--socket-mode: " 600" is not an octal mode'),
    (["--seed", "notanumber"], '--seed: "notanumber" is not a number'),     # was seed 0
    (["--seed", "-1"], '--seed: "-1" is not a number'),                     # was 2^32-1
    (["--seed", "4294967296"], '--seed: "4294967296" is not a number from 0 to 4294967295'),
    (["--lab-prefix", "p" * 300], "--lab-prefix: 300 characters, at most 23"),  # was cut
    (["--lab-prefix", "a b"], '--lab-prefix: "a b": character 2 (a space)'),   # was taken
    (["--lab-prefix", "x/y-"], '--lab-prefix: "x/y-": character 2 (not allowed)'),
])
def test_bad_option_values_are_refused(args, message):
    """issue 17, robustness 10: these were taken silently (strtoul() of ""
    or of a word is 0; the prefix was cut to fit the namespace names while
    the banner showed it whole). Refused before anything starts."""
    res = subprocess.run([str(CTSIM_BIN), *args, "--list-settings"], capture_output=True,
                         text=True, timeout=20, env=dict(os.environ, **SANITIZER_ENV))
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"ctsim: {message}") and res.stdout == "", res.stderr


@pytest.mark.parametrize("args", [["--seed", "0x10"], ["--seed", "42"], ["--socket-mode", "0660"],
                                  ["--lab-prefix", "p" * 23]])
def test_good_option_values_still_accepted(args):
    res = subprocess.run([str(CTSIM_BIN), *args, "--list-settings"], capture_output=True,
                         text=True, timeout=20, env=dict(os.environ, **SANITIZER_ENV))
    assert res.returncode == 0, res.stderr
