# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctsim replay --ruleset R --topology T --output OUT.pcap`: NAT offline.

* the packets of scenarios/nat_masquerade.ct, exported as a capture and
  replayed with the scenario's ruleset and a topology giving the router the
  scenario's addresses, leave the router exactly as the scenario run's
  trace says ("out": the packets `ctsim scenario run --kernel` compares
  byte for byte with a kernel router's), valid checksums included (Scapy
  recomputes them);
* without --topology the router has the lab's addresses (masquerade to
  10.77.2.1);
* a bad topology file or an unwritable output is an error, nothing written.
"""
import json
import subprocess

import pytest

from conftest import BUILD, ROOT

CTSIM = str(BUILD / "ctsim" / "ctsim")
scapy = pytest.importorskip("scapy.all")
from scapy.all import IP, IPv6, rdpcap  # noqa: E402

SCENARIO = ROOT / "scenarios" / "nat_masquerade.ct"
MASQ = """table ip nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "ct-s0" masquerade
	}
}
"""


def run(*args):
    return subprocess.run([CTSIM, *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def capture(tmp_path):
    pcap = tmp_path / "in.pcap"
    assert run("scenario", "export", SCENARIO, "--pcap", pcap).returncode == 0
    rules = tmp_path / "masq.nft"
    rules.write_text(MASQ)
    return pcap, rules


def checksums_ok(raw):
    pkt = IP(raw) if raw[0] >> 4 == 4 else IPv6(raw)
    again = pkt.copy()
    if IP in again:
        del again[IP].chksum
    del again.payload.chksum
    again = again.__class__(bytes(again))
    return (IP not in pkt or pkt[IP].chksum == again[IP].chksum) and \
        pkt.payload.chksum == again.payload.chksum


def test_output_is_the_scenarios_translated_packets(capture, tmp_path):
    pcap, rules = capture
    topo = tmp_path / "topo"
    topo.write_text("host client ct-c0 10.66.1.2/24 10.66.1.1\n"
                    "host server ct-s0 10.66.2.2/24 10.66.2.1\n")
    out = tmp_path / "out.pcap"
    r = run("replay", pcap, "--ruleset", rules, "--topology", topo, "--output", out)
    assert r.returncode == 0, r.stderr
    assert "dst=10.66.2.1 sport=80 dport=40000 [ASSURED]" in r.stdout, r.stdout
    got = [bytes(p) for p in rdpcap(str(out))]
    sim = json.loads(run("scenario", "run", SCENARIO, "--json").stdout)["scenarios"][0]
    want = [bytes.fromhex(o[2:]) for t in sim["trace"] for o in t["out"]]
    assert got == want
    assert got and all(checksums_ok(p) for p in got)
    first = IP(got[0])
    assert (first.src, first.sport) == ("10.66.2.1", 40000)
    answer = IP(got[1])
    assert (answer.dst, answer.dport) == ("10.66.1.2", 40000)


def test_default_topology_is_the_labs(capture, tmp_path):
    pcap, rules = capture
    out = tmp_path / "out.pcap"
    r = run("replay", pcap, "--ruleset", rules, "--output", out)
    assert r.returncode == 0, r.stderr
    assert IP(bytes(rdpcap(str(out))[0])).src == "10.77.2.1"
    assert "dst=10.77.2.1" in r.stdout, r.stdout


def test_bad_topology_and_output(capture, tmp_path):
    pcap, rules = capture
    bad = tmp_path / "bad"
    bad.write_text("host client ct-c0 10.66.1.2 10.66.1.1\n")
    out = tmp_path / "out.pcap"
    r = run("replay", pcap, "--ruleset", rules, "--topology", bad, "--output", out)
    assert r.returncode == 1
    assert f"{bad}:1:" in r.stderr, r.stderr
    assert not out.exists()
    r = run("replay", pcap, "--ruleset", rules, "--output", tmp_path / "no" / "such" / "x.pcap")
    assert r.returncode == 1 and "x.pcap" in r.stderr, r.stderr
