# SPDX-License-Identifier: GPL-2.0-or-later
"""Acceptance: the conntrack-tools 1.4.7 test suite, run by our own runner
(tests/compat/ct_testsuite.py) with the unmodified /usr/sbin/conntrack
through the shim against ctsim.

Every command runs inside a fresh network namespace without any conntrack
rule, so if the shim ever let a request through to the host kernel the
answers would come from that namespace's (empty) kernel table -- and the test
checks that this table is still empty at the end."""

import re
import shlex
import subprocess
import sys

import pytest

from conftest import CONNTRACK, CTSIM_EXEC, ROOT, SHARED

SUITE = SHARED / "compat/conntrack-tools-1.4.7/testsuite"
RUNNER = ROOT / "tests/compat/ct_testsuite.py"
EXPECTED_OK = 286


def _bad_tests(output):
    """The commands (with their output) marked '^----- BAD'."""
    blocks = output.split("=====\n")
    return [b.strip() for b in blocks if "^----- BAD" in b]


def _summary(output):
    m = re.search(r"^OK: (\d+) BAD: (\d+)$", output, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def test_runner_parses_format(tmp_path):
    """The runner itself, on a tiny hand-written suite with /bin/true and
    /bin/false standing in for conntrack (no kernel, no daemon)."""
    d = tmp_path / "suite"
    d.mkdir()
    (d / "00a").write_text(
        "# comment\n"
        " ignored line without semicolon\n"
        "x ; OK\n"
        "x ; BAD\n"
        "x ; OKAY with trailing words\n"
        "x ; X unknown verdict\n"
        "line one ;\n"
        "\t\t;\n"
        "x ; |s/a/b/\n"
        "x ; OK\n")
    res = subprocess.run([sys.executable, str(RUNNER), "--conntrack", "/bin/true",
                          "--dir", str(d)], capture_output=True, text=True)
    assert _summary(res.stdout) == (3, 2), res.stdout
    assert res.returncode == 1
    assert '(10) Executing: echo "line one \n\t\t" | /bin/true x  | sed "s/a/b/" | /bin/true x ' \
        in res.stdout, res.stdout
    (d / "01b").write_text("no semicolon here\n")
    res = subprocess.run([sys.executable, str(RUNNER), "--conntrack", "/bin/false",
                          "--dir", str(d), "01b"], capture_output=True, text=True)
    assert res.returncode == 2 and "malformed file 01b at line 1" in res.stdout


def test_conntrack_tools_suite(ctsim, kernel_ns):
    assert SUITE.is_dir(), f"test data not found: {SUITE}"
    conntrack_cmd = " ".join(shlex.quote(w) for w in (
        "ip", "netns", "exec", kernel_ns.name,
        str(CTSIM_EXEC), "--socket", ctsim.socket, CONNTRACK))
    res = subprocess.run([sys.executable, str(RUNNER), "--conntrack", conntrack_cmd,
                          "--dir", str(SUITE)],
                         capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    summary = _summary(res.stdout)
    bad = _bad_tests(res.stdout)

    # The kernel of the namespace must never have been the one answering.
    kern = kernel_ns.conntrack("-L")
    assert kern.returncode == 0, kern.stderr
    assert kern.stdout.strip() == "", \
        "the kernel table of the test namespace is not empty:\n" + kern.stdout

    assert summary is not None, "runner printed no summary:\n" + out[-5000:]
    assert summary == (EXPECTED_OK, 0), (
        f"OK: {summary[0]} BAD: {summary[1]} (expected OK: {EXPECTED_OK} BAD: 0)\n"
        + "\n-----\n".join(bad[:40]))
    assert res.returncode == 0

    # ctsim's table is empty again, as the kernel's is after the suite.
    left = ctsim.conntrack("-L")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout + left.stderr
