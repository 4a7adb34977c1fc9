# SPDX-License-Identifier: GPL-2.0-or-later
"""`address del HOST` in scenarios: a router address goes away.

* only the masquerade entries bound to that interface *and* address go
  (device_cmp() and inet_cmp() of nf_nat_masquerade.c): removing the
  router's client-side address leaves the entries masqueraded on the
  server side;
* bad uses are located errors.
(scenarios/nat_masquerade_addr_gone.ct is the kernel-compared case.)
"""
import subprocess

import pytest

from conftest import BUILD

CTSIM = str(BUILD / "ctsim" / "ctsim")

HEAD = """host c 10.66.1.2 side client
host s 10.66.2.2 side server
host rc 10.66.1.1 side client router
host r 10.66.2.1 side server router
ruleset {
table ip nat {
\tchain post {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname "ct-s0" masquerade
\t}
}
}
+0 c > s udp 40000 > 53 len 20
expect entry udp c:40000 > s:53 status SRC_NAT
"""


def run(tmp_path, text):
    p = tmp_path / "a.ct"
    p.write_text(text)
    return subprocess.run([CTSIM, "scenario", "run", str(p)], capture_output=True, text=True,
                          timeout=60)


def test_other_interface_keeps_entries(tmp_path):
    r = run(tmp_path, HEAD + "+0.1 address del rc\nexpect count 1\n")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(tmp_path, HEAD + "+0.1 address del r\nexpect count 1\n")
    assert r.returncode != 0 and "count 0" in r.stdout, r.stdout


@pytest.mark.parametrize("line,msg", [
    ("address del s", "s is not one of the router's addresses"),
    ("address del nobody", "unknown host \"nobody\""),
    ("address del r now", "address del HOST takes nothing more"),
    ("address add r", "address del HOST (a router address goes away"),
])
def test_bad_address(tmp_path, line, msg):
    r = run(tmp_path, HEAD + line + "\n")
    assert r.returncode != 0
    assert msg in r.stderr + r.stdout, r.stderr + r.stdout
