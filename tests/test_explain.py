# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctsim explain tcp`: the TCP transition table as a teacher prints it."""
import subprocess

from conftest import BUILD

CTSIM = str(BUILD / "ctsim" / "ctsim")


def test_explain_tcp_prints_every_cell_with_a_reason():
    res = subprocess.run([CTSIM, "explain", "tcp"], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    # 2 directions x 6 flag classes x 10 states
    assert len(lines) == 120
    assert all(" --" in l and "--> " in l and ": " in l for l in lines), lines[:3]
    assert any(l.startswith("ESTABLISHED --fin/orig--> FIN_WAIT: ") for l in lines)
    assert any(l.startswith("SYN_SENT --syn/reply--> SYN_SENT2: ") for l in lines)
    # every reason is a sentence, not empty
    assert all(len(l.split(": ", 1)[1]) > 10 for l in lines)


def test_explain_usage():
    res = subprocess.run([CTSIM, "explain", "udp"], capture_output=True, text=True, timeout=10)
    assert res.returncode == 2 and "Usage: ctsim explain tcp" in res.stderr
