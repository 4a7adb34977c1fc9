# SPDX-License-Identifier: GPL-2.0-or-later
"""nft `ct timeout` objects (issue 12, item 4): the policy attached to a new
entry by `ct timeout set "NAME"` replaces the timeout sysctls for that entry
(nft_ct_timeout_obj_eval(), nf_ct_timeout_lookup() in the trackers).

* Against the kernel: the same packets through a kernel router netns
  (test_replay.Router) with the same objects and rules; `conntrack -L`
  (timeouts within 1 s) must be equal.
* Errors: each bad object or statement gives nft's message at nft's place
  (`nft -f` in a new network namespace, the message ctsim prints starts
  with nft's and the caret line is the same); nothing is loaded.
* Listing: `ctsim ruleset show` prints the object as `nft list ruleset`
  does (only the values that differ from the defaults).
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import assert_conntrack_equal
from test_replay import C_IP, CTSIM, S_IP, replay, router, split_output, write  # noqa: F401

pytest.importorskip("scapy.all")
from scapy.all import IP, TCP, UDP, Raw  # noqa: E402

OBJECTS = """\
	ct timeout tt {
		protocol tcp;
		l3proto ip;
		policy = { syn_sent: 44, syn_recv: 33, established: 120, close: 5 }
	}
	ct timeout uu {
		protocol udp;
		l3proto ip;
		policy = { unreplied: 20, replied: 50 }
	}
"""

# The kernel router's own filter (test_replay.Router) and, in ctsim, the
# same; the timeout table is loaded in both.
FILTER = """table inet f {
	chain filt {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		ct state new accept
	}
}
"""
TIMEOUTS = """table inet tmo {
%s	chain pre {
		type filter hook prerouting priority -150; policy accept;
		tcp dport 80 ct timeout set "tt"
		udp dport 53 ct timeout set "uu"
	}
	chain fw {
		type filter hook forward priority -10; policy accept;
		tcp dport 82 tcp flags ack ct timeout set "tt"
		tcp dport 83 ct timeout set "uu"
	}
}
""" % OBJECTS


def tcp(sport, dport, flags, seq, ack=0, data=b"", reply=False):
    if reply:
        p = IP(src=S_IP, dst=C_IP) / TCP(sport=dport, dport=sport, flags=flags, seq=seq, ack=ack,
                                         window=1000)
    else:
        p = IP(src=C_IP, dst=S_IP) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                                         window=1000)
    return p / Raw(data) if data else p


def handshake(sport, dport):
    return [tcp(sport, dport, "S", 100), tcp(sport, dport, "SA", 500, 101, reply=True),
            tcp(sport, dport, "A", 101, 501)]


def udp(sport, dport, reply=False):
    if reply:
        return IP(src=S_IP, dst=C_IP) / UDP(sport=dport, dport=sport) / Raw(b"a" * 8)
    return IP(src=C_IP, dst=S_IP) / UDP(sport=sport, dport=dport) / Raw(b"q" * 8)


def packets():
    return (
        # the policy's established value; another flow without policy
        handshake(40000, 80) + handshake(40001, 81)
        # SYN only: syn_sent; SYN + SYN/ACK: syn_recv
        + [tcp(40002, 80, "S", 100)]
        + [tcp(40003, 80, "S", 100), tcp(40003, 80, "SA", 500, 101, reply=True)]
        # RST after the handshake: the policy's close value
        + handshake(40004, 80) + [tcp(40004, 80, "R", 101)]
        # set on a packet of a confirmed entry: no effect (port 82)
        + handshake(40005, 82)
        # a UDP policy on a TCP packet: no effect (port 83)
        + handshake(40006, 83)
        # UDP: unreplied; replied within 2 s (still the unreplied slot)
        + [udp(5000, 53), udp(5001, 53), udp(5001, 53, reply=True), udp(5002, 54)]
    )


def test_same_as_kernel(tmp_path, router):  # noqa: F811
    router.nft(router.rtr, TIMEOUTS)
    pcap = write(tmp_path, "to.pcap", packets())
    k_list, _ = router.run_capture(pcap)
    rs = tmp_path / "rs.nft"
    rs.write_text(FILTER + TIMEOUTS)
    res = replay(pcap, "--ruleset", rs)
    _, table, _, _ = split_output(res.stdout)
    got = "\n".join(table) + "\n"
    # tolerance 3 s: the kernel's listing is read after the sender finished,
    # which takes longer than the capture's gaps on a loaded machine
    assert_conntrack_equal(k_list, got, tolerance=3, what="ct timeout: conntrack -L")
    # and the values are the policy's, not the defaults (so the comparison
    # above is not between two runs that both ignore the policy)
    for sport, want in ((40000, 120), (40001, 432000), (40002, 44), (40003, 33), (40004, 5),
                        (40005, 432000), (40006, 432000), (5000, 20), (5001, 20), (5002, 30)):
        line = next(ln for ln in table if f"sport={sport} " in ln)
        left = int(line.split()[4])
        assert want - 1 <= left <= want, (sport, want, line)


def test_trace_says_which_policy(tmp_path):
    pcap = write(tmp_path, "t.pcap", handshake(40000, 80) + [udp(5000, 53)])
    rs = tmp_path / "rs.nft"
    rs.write_text(FILTER + TIMEOUTS)
    out = replay(pcap, "--ruleset", rs, "--trace").stdout
    assert 'conntrack prerouting timeout: ct timeout policy "tt" attached to entry id' in out
    assert "timeout set to 44 s (the policy's first value)" in out
    assert "tcp 33 s for SYN_RECV (the state's timeout, of the entry's ct timeout policy)" in out
    assert "tcp 120 s for ESTABLISHED (the state's timeout, of the entry's ct timeout policy)" in out
    assert 'ct timeout policy "uu" attached' in out and "timeout set to 20 s" in out


def test_listing_as_nft(tmp_path):
    rs = tmp_path / "rs.nft"
    rs.write_text("table inet t {\n" + OBJECTS + "\tct timeout dd {\n\t\tprotocol tcp;\n"
                  "\t\tpolicy = { established : 432000 , close:10 }\n\t}\n}\n")
    out = subprocess.run([str(CTSIM), "ruleset", "show", str(rs)], capture_output=True,
                         text=True, check=True).stdout
    want = """table inet t {
	ct timeout tt {
		protocol tcp
		l3proto ip
		policy = { syn_sent : 44, syn_recv : 33, established : 120, close : 5 }
	}

	ct timeout uu {
		protocol udp
		l3proto ip
		policy = { unreplied : 20, replied : 50 }
	}

	ct timeout dd {
		protocol tcp
		l3proto inet
		policy = {  }
	}
}
"""
    assert out == want
    if os.geteuid() == 0 and shutil.which("nft") and shutil.which("unshare"):
        k = subprocess.run(["unshare", "-n", "sh", "-c", f"nft -f {rs} && nft list ruleset"],
                           capture_output=True, text=True)
        assert k.returncode == 0, k.stderr
        assert k.stdout == want
        # JSON: nft -j's "ct timeout" objects (ctsim has no object handles)
        kj = subprocess.run(["unshare", "-n", "sh", "-c", f"nft -f {rs} && nft -j list ruleset"],
                            capture_output=True, text=True, check=True).stdout
        cj = subprocess.run([str(CTSIM), "ruleset", "show", "-j", str(rs)], capture_output=True,
                            text=True, check=True).stdout

        def objs(doc):
            out = []
            for item in json.loads(doc)["nftables"]:
                if "ct timeout" in item:
                    o = dict(item["ct timeout"])
                    o.pop("handle", None)
                    out.append(o)
            return out
        assert objs(cj) == objs(kj) and len(objs(cj)) == 3, (cj, kj)


BAD = [
    ("policy = { establishd: 120 }", "invalid state for this protocol"),
    ("policy = { unreplied: 10 }", "invalid state for this protocol"),
    ("policy = { established: 120m }", "syntax error, unexpected string, expecting number"),
    ("protocol sctpx;", "syntax error, unexpected string, expecting udp or tcp"),
    ("l3proto foo;", "syntax error, unexpected string"),
]


def bad_object(line):
    body = "\t\tprotocol tcp;\n\t\tl3proto ip;\n"
    if line.startswith("policy"):
        body += f"\t\t{line}\n"
    elif line.startswith("protocol"):
        body = f"\t\t{line}\n\t\tl3proto ip;\n"
    else:
        body = f"\t\tprotocol tcp;\n\t\t{line}\n"
    return "table ip t {\n\tct timeout x {\n" + body + "\t}\n}\n"


CASES = [bad_object(line) for line, _ in BAD] + [
    # no such object
    'table ip t {\n\tchain c {\n\t\ttype filter hook prerouting priority 0;\n'
    '\t\tct timeout set "nosuch"\n\t}\n}\n',
    # no protocol
    "table ip t {\n\tct timeout x {\n\t\tl3proto ip;\n\t}\n}\n",
    # a match: only a statement
    'table ip t {\n\tchain c {\n\t\ttype filter hook prerouting priority 0;\n'
    '\t\tct timeout "x" accept\n\t}\n}\n',
]


def nft_error(path):
    """nft's first error line and its caret line, loading @path in a new
    network namespace (nothing stays)."""
    k = subprocess.run(["unshare", "-n", "nft", "-f", str(path)], capture_output=True, text=True)
    assert k.returncode == 1, k
    lines = k.stderr.splitlines()
    return lines[0], lines[2]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_errors_as_nft(tmp_path, i):
    f = tmp_path / "bad.nft"
    f.write_text(CASES[i])
    res = subprocess.run([str(CTSIM), "ruleset", "check", str(f)], capture_output=True, text=True)
    assert res.returncode == 1, res
    lines = res.stderr.splitlines()
    if i < len(BAD):
        assert BAD[i][1] in lines[0], lines
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"):
        pytest.fail("needs root, nft and unshare for the comparison with nft")
    k_msg, k_caret = nft_error(f)
    # ctsim may add a parenthesis of its own after nft's message
    assert lines[0] == k_msg or lines[0].startswith(k_msg + " ("), (lines[0], k_msg)
    assert lines[2] == k_caret, (lines, k_caret)
