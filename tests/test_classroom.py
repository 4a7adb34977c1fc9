# SPDX-License-Identifier: GPL-2.0-or-later
"""``ctsim classroom start N [DIR]``, ``list``, ``down`` (issue 15 part 3):
N independent labs on one machine, one per student, each with its own
namespaces (own prefix) and its own socket.

The labs are independent: traffic in one student's lab shows in that lab's
table and journal only, and ``ctsim lab check`` of one lab does not see the
others'. ``down`` stops them all and leaves no namespace; a classroom cannot
be started twice in one directory; bad arguments are refused with exit 2.
"""
import os
import subprocess

import pytest

from conftest import BUILD, CTCTL_BIN, ROOT, _sanitizer_report
from labutil import lab_prefix

CTSIM = str(BUILD / "ctsim" / "ctsim")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


def run(*args, timeout=60):
    return subprocess.run([CTSIM, "classroom", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture
def room(tmp_path):
    rundir = tmp_path / "room"
    prefix = lab_prefix("cr")[:-1]      # a unique base, e.g. "cr1a2b"
    yield rundir, prefix
    run("down", "--dir", rundir)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in left, left


def test_classroom_of_three_independent_labs(room):
    rundir, prefix = room
    res = run("start", 3, "01", "--dir", rundir, "--prefix", prefix)
    assert res.returncode == 0, res.stdout + res.stderr
    for n in (1, 2, 3):
        assert f"{prefix}{n:02d}-" in res.stdout and f"student{n:02d}.sock" in res.stdout
    listing = run("list", "--dir", rundir).stdout
    assert listing.count("running") == 3, listing
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for n in (1, 2, 3):
        for host in ("client", "server"):
            assert f"{prefix}{n:02d}-{host}" in netns, netns
    # a second classroom in the same directory is refused
    again = run("start", 2, "--dir", rundir, "--prefix", prefix)
    assert again.returncode == 1 and "ctsim classroom down" in again.stderr, again.stderr

    # student 2 pings; only student 2's lab sees it
    subprocess.run(["ip", "netns", "exec", f"{prefix}02-client", "ping", "-c1", "-W2", "server"],
                   check=True, capture_output=True, timeout=20)

    def entries(n):
        res = subprocess.run([str(CTCTL_BIN), "--socket", str(rundir / f"student{n:02d}.sock"),
                              "list"], capture_output=True, text=True, timeout=20)
        assert res.returncode == 0, res.stderr
        return [l for l in res.stdout.splitlines() if "icmp" in l]
    assert len(entries(2)) == 1 and entries(1) == [] and entries(3) == []

    def check(n):
        return subprocess.run([CTSIM, "lab", "check", "--socket",
                               str(rundir / f"student{n:02d}.sock")],
                              capture_output=True, text=True, timeout=30, cwd=ROOT)
    c2, c1 = check(2), check(1)
    assert c2.returncode == 1 and c1.returncode == 1
    passed = lambda r: int(r.stdout.strip().splitlines()[-1].split()[0])   # noqa: E731
    assert passed(c2) > passed(c1), (c2.stdout, c1.stdout)

    # down removes the labs' output, and a sanitizer build reports at exit:
    # keep the logs open to read them afterwards
    logs = [open(rundir / f"student{n:02d}.log") for n in (1, 2, 3)]
    res = run("down", "--dir", rundir)
    assert res.returncode == 0 and "3 labs stopped" in res.stdout, res.stderr
    for f in logs:
        text = f.read()
        f.close()
        assert "ctsim: stopped" in text, text
        assert not _sanitizer_report(text), text
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in netns, netns
    assert run("list", "--dir", rundir).returncode == 1


@pytest.mark.parametrize("args,msg", [
    (["start"], "how many labs"),
    (["start", "0"], "a number of labs from 1 to 99"),
    (["start", "100"], "a number of labs from 1 to 99"),
    (["start", "2", "/nonexistent/lab"], "no such lab directory"),
    (["start", "2", "--prefix", "a/b"], "--prefix"),
    (["start", "2", "--bogus"], "unknown option"),
    (["list", "extra"], "unexpected argument"),
])
def test_classroom_refuses_bad_arguments(tmp_path, args, msg):
    res = run(*args, "--dir", tmp_path / "room")
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert msg in res.stderr, res.stderr
    assert not (tmp_path / "room" / "classroom").exists()


def test_classroom_down_without_a_classroom(tmp_path):
    res = run("down", "--dir", tmp_path / "none")
    assert res.returncode == 1 and "no classroom" in res.stderr
