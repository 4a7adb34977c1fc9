# SPDX-License-Identifier: GPL-2.0-or-later
"""Two packets in flight at once (issue 15 part 2): `hold` and `release`.

* scenarios/clash_nat_harder.ct: the packet released after a differently
  NATed twin confirmed leaves for its own backend (s1), and s1's answer is
  un-DNATed through the hidden NAT_CLASH entry (source 10.66.2.100); after
  its fixed 1 s the same answer is a new flow, untranslated;
* without `hold`, the same packets never clash (the second packet finds the
  first's entry): the counters the scenarios check come from the hold;
* the scenario words are checked: hold twice, release with nothing held, a
  packet never released, release with words after it.
"""
import json
import subprocess

import pytest

from conftest import BUILD, ROOT

CTSIM = str(BUILD / "ctsim" / "ctsim")
scapy = pytest.importorskip("scapy.all")
from scapy.all import IP  # noqa: E402


def run(*args):
    return subprocess.run([CTSIM, *map(str, args)], capture_output=True, text=True, timeout=60)


def trace_of(path):
    r = run("scenario", "run", path, "--json")
    d = json.loads(r.stdout)["scenarios"][0]
    return d, {t["line"]: t for t in d["trace"]}


def line_of(path, text):
    for n, line in enumerate(open(path).read().splitlines(), 1):
        if line.strip().startswith(text):
            return n
    raise AssertionError(text)


def test_nat_clash_harder_packets():
    path = ROOT / "scenarios" / "clash_nat_harder.ct"
    d, tr = trace_of(path)
    assert d["result"] == "passed", d["failure"]
    rel = tr[line_of(path, "+0     release")]
    assert len(rel["out"]) == 1 and rel["out"][0][0] == "s"
    assert IP(bytes.fromhex(rel["out"][0][2:])).dst == "10.66.2.2"
    lines = [n for n, l in enumerate(open(path).read().splitlines(), 1)
             if "s1 > c udp 53 > 40000" in l]
    first, late = tr[lines[0]], tr[lines[1]]
    assert IP(bytes.fromhex(first["out"][0][2:])).src == "10.66.2.100"
    assert first["ctinfo"] == "established"
    assert IP(bytes.fromhex(late["out"][0][2:])).src == "10.66.2.2"
    assert late["ctinfo"] == "new"


@pytest.mark.parametrize("name", ["clash_udp.ct", "clash_tcp.ct", "clash_nat_harder.ct"])
def test_without_hold_no_clash(tmp_path, name):
    src = (ROOT / "scenarios" / name).read_text()
    assert "hold c > " in src
    p = tmp_path / name
    p.write_text(src.replace("hold c > ", "c > ").replace("+0     release", "# no release"))
    r = run("scenario", "run", p)
    # the same packets one after the other: the second finds the first's
    # entry, and the scenario's clash checks fail
    assert r.returncode != 0
    assert "0 passed, 1 failed" in r.stdout, r.stdout + r.stderr
    r = run("scenario", "run", ROOT / "scenarios" / name)
    assert r.returncode == 0, r.stdout


HOSTS = "host c 10.66.1.2 side client\nhost s 10.66.2.2 side server\n"


@pytest.mark.parametrize("body,msg", [
    ("+0 hold c > s udp 1 > 2\n+0 hold c > s udp 1 > 2\nrelease\n",
     "a packet is already held (line 3): release it first"),
    ("release\n", "release: no packet is held"),
    ("+0 hold c > s udp 1 > 2\n", "the packet held here is never released"),
    ("+0 hold c > s udp 1 > 2\nrelease now\n", "release takes nothing"),
    ("+0 hold s\n", "hold HOST > HOST PACKET"),
])
def test_bad_hold_release(tmp_path, body, msg):
    p = tmp_path / "bad.ct"
    p.write_text(HOSTS + body)
    r = run("scenario", "run", p)
    assert r.returncode != 0
    assert msg in r.stderr + r.stdout, r.stderr + r.stdout


def test_release_of_a_packet_that_never_reached_confirmation(tmp_path):
    p = tmp_path / "dropped.ct"
    p.write_text(HOSTS + "ruleset {\ntable inet f {\n\tchain f1 {\n\t\ttype filter hook forward "
                 "priority filter; policy drop;\n\t}\n}\n}\n"
                 "+0 hold c > s udp 1 > 2\nexpect verdict drop\n+0 release\n")
    r = run("scenario", "run", p)
    assert r.returncode != 0
    assert "nothing held" in r.stdout, r.stdout
