# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctctl ruleset [list|reset]`: the daemon's live ruleset with its counters
(CTSIM_CTL_RULESET on ctsim's socket), against a real daemon.

* a lab with a ruleset file: the listing is the file as `ctsim ruleset show`
  prints it; counters move by exactly the packets sent (ping, a UDP packet
  answered by ICMP port unreachable -> the related rule), in text and JSON;
  `reset` shows the counts and zeroes them;
* a lab without --ruleset: the built-in default;
* a daemon without a lab: no ruleset (EOPNOTSUPP), exit 1;
* a non-root client: EPERM, as the kernel's `nft list ruleset` without
  CAP_NET_ADMIN.
"""
import json
import re
import subprocess

from conftest import CTCTL_BIN
from labutil import CTSIM, SERVER4, lab, lab_factory, lab_prefix  # noqa: F401

RULES = """\
table inet t {
	chain forward {
		type filter hook forward priority filter; policy accept;
		icmp type echo-request counter accept
		icmp type echo-reply counter accept
		ct state related counter accept
		udp dport 7 counter
	}
}
"""

UDP_TRY = ("import socket,sys\n"
           "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)\n"
           "s.connect((sys.argv[1], int(sys.argv[2]))); s.send(b'x')\n"
           "try:\n    s.recv(10); print('answer')\n"
           "except ConnectionRefusedError: print('refused')\n")


def show(path):
    """What `ctsim ruleset show` prints for @path (all counters 0)."""
    res = subprocess.run([CTSIM, "ruleset", "show", str(path)], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return res.stdout


def counter_of(listing, rule_start):
    """(packets, bytes) of the one rule of @listing starting with @rule_start."""
    hits = [ln.strip() for ln in listing.splitlines() if ln.strip().startswith(rule_start)]
    assert len(hits) == 1, (rule_start, listing)
    m = re.search(r"counter packets (\d+) bytes (\d+)", hits[0])
    assert m, hits[0]
    return int(m[1]), int(m[2])


def json_counters(text):
    """{rule text without counter: (packets, bytes)} of a `ctctl -j ruleset`."""
    doc = json.loads(text)
    out = {}
    for item in doc["nftables"]:
        rule = item.get("rule")
        if rule and "counter" in rule:
            key = re.sub(r" counter packets \d+ bytes \d+", " counter", rule["expr_text"])
            out[key] = (rule["counter"]["packets"], rule["counter"]["bytes"])
    return out


def ok(res):
    assert res.returncode == 0, (res.args, res.stdout, res.stderr)
    return res.stdout


def test_help_and_usage():
    res = subprocess.run([str(CTCTL_BIN), "help", "ruleset"], capture_output=True, text=True,
                         timeout=20)
    assert res.returncode == 0 and "Usage: ctctl ruleset [ list | reset ]" in res.stdout
    res = subprocess.run([str(CTCTL_BIN), "help"], capture_output=True, text=True, timeout=20)
    assert re.search(r"^  ruleset +show the daemon's ruleset", res.stdout, re.M), res.stdout
    res = subprocess.run([str(CTCTL_BIN), "ruleset", "flush"], capture_output=True, text=True,
                         timeout=20)
    assert res.returncode == 2
    assert 'unknown "ruleset flush": list or reset' in res.stderr
    assert res.stderr.splitlines()[-1] == "        ^~~~~", res.stderr


def test_daemon_without_lab_has_no_ruleset(ctsim):
    res = ctsim.ctctl("ruleset")
    assert res.returncode == 1 and res.stdout == ""
    assert "has no ruleset (it was started without --lab) (EOPNOTSUPP)" in res.stderr


def test_listing_and_counters(lab_factory, tmp_path):
    rules = tmp_path / "r.nft"
    rules.write_text(RULES)
    lab = lab_factory(["--ruleset", str(rules)])

    # Before any forwarded packet: the file as nft would list it.
    assert ok(lab.d.ctctl("ruleset")) == show(rules)
    assert ok(lab.d.ctctl("ruleset", "list")) == show(rules)

    lab.run("client", "ping", "-c", "2", "-i", "0.2", "-W", "2", SERVER4, check=True)
    # No listener on udp/7 in the server: its kernel answers with ICMP port
    # unreachable, a RELATED packet (20 + 8 + the quoted 20 + 8 + 1 bytes).
    assert lab.run("client", "/usr/bin/python3", "-c", UDP_TRY, SERVER4, "7",
                   check=True).stdout.strip() == "refused"

    text = ok(lab.d.ctctl("ruleset"))
    assert counter_of(text, "icmp type echo-request") == (2, 168)   # 2 x (20 + 8 + 56)
    assert counter_of(text, "icmp type echo-reply") == (2, 168)
    assert counter_of(text, "ct state related") == (1, 57)
    assert counter_of(text, "udp dport 7") == (1, 29)
    # Apart from the counters, still the loaded file.
    zero = re.sub(r"counter packets \d+ bytes \d+", "counter packets 0 bytes 0", text)
    assert zero == show(rules)

    js = json_counters(ok(lab.d.ctctl("-j", "ruleset")))
    assert js == {"icmp type echo-request counter accept": (2, 168),
                  "icmp type echo-reply counter accept": (2, 168),
                  "ct state related counter accept": (1, 57),
                  "udp dport 7 counter": (1, 29)}, js

    # reset: the counts up to now, then zero (nothing lost or counted twice).
    reset = ok(lab.d.ctctl("ruleset", "reset"))
    assert reset == text
    after = ok(lab.d.ctctl("ruleset"))
    assert after == show(rules)
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    assert counter_of(ok(lab.d.ctctl("ruleset")), "icmp type echo-request") == (1, 84)

    # A reload loads fresh counters, as nft -f does.
    ok(lab.d.ctctl("reload"))
    assert ok(lab.d.ctctl("ruleset")) == show(rules)


def test_default_ruleset(lab):
    """Without --ruleset the daemon runs (and shows) the built-in router
    firewall; a forwarded ping counts on its forward chain."""
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    text = ok(lab.d.ctctl("ruleset"))
    zero = re.sub(r"counter packets \d+ bytes \d+", "counter packets 0 bytes 0", text)
    assert zero == show("default")
    fwd = text.split("\tchain forward {\n")[1].split("\n\t}\n")[0]
    # request: ct state new from the client side; reply: established
    assert counter_of(fwd, 'iifname "ct-c*" ct state new')[0] >= 1, text
    assert counter_of(fwd, "ct state established,related")[0] >= 1, text


def test_wire_one_datagram(lab):
    """On the socket: CTSIM_CTL_REPLY and the listing in one datagram, b =
    the listing's length; an unknown flag is refused (EINVAL), not ignored."""
    import wire as W
    with W.CtsimConn(lab.d.socket) as c:
        c.ctl(W.CTSIM_CTL_RULESET, flags=W.CTSIM_RULESET_JSON)
        d = c.recv(5.0)
        rep = W.parse_ctl(d)
        assert (rep["op"], rep["a"], rep["err"]) == (W.CTSIM_CTL_REPLY, W.CTSIM_CTL_RULESET, 0)
        assert rep["b"] == len(d) - W.CTL_LEN > 0
        # (the hosts' own IPv6 chatter may still move the input chain's counters)
        mask = lambda t: re.sub(r'"counter": \{[^}]*\}', "C", t)        # noqa: E731
        assert mask(d[W.CTL_LEN:].decode()) == mask(ok(lab.d.ctctl("-j", "ruleset")))
        assert c.recv(0.2) is None                      # nothing else follows
        c.ctl(W.CTSIM_CTL_RULESET, flags=0x4)
        d = c.recv(5.0)
        rep = W.parse_ctl(d)
        assert (rep["op"], rep["a"], rep["err"], rep["b"], len(d)) == \
            (W.CTSIM_CTL_REPLY, W.CTSIM_CTL_RULESET, 22, 0, W.CTL_LEN)      # EINVAL


NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def test_non_root_gets_eperm(ctsim_factory, kernel_ns):
    from test_lifecycle import traversable
    prefix = lab_prefix("crs")
    d = ctsim_factory(["--lab", "--lab-prefix", prefix], mode="0666")
    try:
        with traversable(d.socket), traversable(CTCTL_BIN):
            res = subprocess.run([*NOBODY, str(CTCTL_BIN), "--socket", d.socket, "ruleset"],
                                 capture_output=True, text=True, timeout=30)
            assert res.returncode == 1 and res.stdout == "", res
            assert res.stderr == ("ctctl: ruleset: permission denied, CAP_NET_ADMIN is "
                                  "needed (EPERM)\n"), res.stderr
            res = subprocess.run([*NOBODY, str(CTCTL_BIN), "--socket", d.socket, "ruleset",
                                  "reset"], capture_output=True, text=True, timeout=30)
            assert res.returncode == 1 and "(EPERM)" in res.stderr
        # ... as the kernel: reading the ruleset needs CAP_NET_ADMIN too.
        ref = kernel_ns.run([*NOBODY, "nft", "list", "ruleset"])
        assert ref.returncode != 0 and "Operation not permitted" in ref.stderr, ref
        # root still reads it
        assert "chain forward" in ok(d.ctctl("ruleset"))
    finally:
        status = d.stop()
        subprocess.run([CTSIM, "lab", "down", "--prefix", prefix], capture_output=True,
                       timeout=30)
    assert status == 0, d.stderr_text()
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                        text=True).stdout
