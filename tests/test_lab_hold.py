# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctctl hold` / `ctctl release` in the lab: two packets in flight
(issue 15 part 2), with real programs.

* a UDP client sends two datagrams from one socket; the first is held
  before confirmation, the second confirms first; at release the first
  clashes and is merged into the winner (clash_resolve 1, insert_failed 0),
  both reach the echo server and both echoes come back; one entry;
* the same two datagrams without hold: no clash (clash_resolve 0), so the
  count above comes from the hold;
* hold twice: EBUSY; release with nothing held: ENOENT; a daemon without a
  lab: EOPNOTSUPP.
"""
import re
import time

from labutil import PY, SERVER4, UDP_ECHO, lab, lab_factory, lab_prefix, wait_port  # noqa: F401

TWO = ("import socket,sys,time\n"
       "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(6)\n"
       "s.bind(('', 5555))\n"
       "s.sendto(b'first', (sys.argv[1], 7007)); time.sleep(0.7)\n"
       "s.sendto(b'second', (sys.argv[1], 7007))\n"
       "got=[]\n"
       "try:\n"
       "    while len(got) < 2: got.append(s.recvfrom(100)[0].decode())\n"
       "except socket.timeout: pass\n"
       "print(' '.join(sorted(got)))\n")


def stat(lab, name):
    res = lab.d.conntrack("-S")
    assert res.returncode == 0, res.stderr
    return sum(int(v) for v in re.findall(rf"\b{name}=(\d+)", res.stdout))


def run_two(lab, hold):
    lab.start("server", PY, "-c", UDP_ECHO, SERVER4, "7007")
    wait_port(lab, "server", "udp", 7007)
    if hold:
        res = lab.d.ctctl("hold")
        assert res.returncode == 0, res.stderr
    client = lab.start("client", PY, "-c", TWO, SERVER4)
    if hold:
        time.sleep(1.5)         # both sent: the first held, the second through
        assert stat(lab, "clash_resolve") == 0
        res = lab.d.ctctl("release")
        assert res.returncode == 0, res.stderr
    client.wait(timeout=15)
    return lab.bg_logs()


def test_hold_release_udp_clash(lab):
    out = run_two(lab, hold=True)
    assert "first second" in out, out
    assert stat(lab, "clash_resolve") == 1
    assert stat(lab, "insert_failed") == 0
    assert len([e for e in lab.entries() if "dport=7007" in e]) == 1, lab.entries()


def test_without_hold_no_clash(lab):
    out = run_two(lab, hold=False)
    assert "first second" in out, out
    assert stat(lab, "clash_resolve") == 0


def test_hold_errors(lab):
    assert lab.d.ctctl("hold").returncode == 0
    res = lab.d.ctctl("hold")
    assert res.returncode == 1 and "EBUSY" in res.stderr, res.stderr
    # nothing came: release cancels the hold
    assert lab.d.ctctl("release").returncode == 0
    res = lab.d.ctctl("release")
    assert res.returncode == 1 and "ENOENT" in res.stderr, res.stderr
    res = lab.d.ctctl("hold", "now")
    assert res.returncode == 2 and '"hold" takes no arguments' in res.stderr, res.stderr


def test_daemon_without_lab(ctsim):
    res = ctsim.ctctl("hold")
    assert res.returncode == 1 and "EOPNOTSUPP" in res.stderr, res.stderr


ONE = ("import socket,sys\n"
       "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
       "s.sendto(b'x', (sys.argv[1], 7008))\n")


def test_daemon_stops_with_a_held_packet(lab):
    """The held packet (and its unconfirmed entry) is freed at exit: a
    clean exit status (under the sanitizer build: no leak report)."""
    assert lab.d.ctctl("hold").returncode == 0
    lab.run("client", PY, "-c", ONE, SERVER4, check=True)
    time.sleep(0.3)
    res = lab.d.conntrack("-C")
    assert res.returncode == 0 and res.stdout.strip() == "1", res.stdout   # unconfirmed
    assert lab.d.conntrack("-L").stdout.strip() == ""
    assert lab.d.stop() == 0
