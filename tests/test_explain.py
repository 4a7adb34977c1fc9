# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctsim explain tcp|helpers|hooks`: the TCP transition table, the conntrack
helpers and the hook ladder, as a teacher prints them."""
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
    assert res.returncode == 2 and "Usage: ctsim explain tcp|helpers" in res.stderr


def test_explain_helpers_lists_types_and_policies():
    res = subprocess.run([CTSIM, "explain", "helpers"], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    rows = {tuple(l.split()[:2]): l for l in res.stdout.splitlines()
            if l[:1].isalpha() and len(l.split()) > 3 and l.split()[1] in ("tcp", "udp")}
    # the kernel's types and policies (nf_conntrack_*.c expect policies)
    assert "inet   0 ftp: 1, 300 s" in rows[("ftp", "tcp")]
    assert "ip     0 irc: 8, 300 s" in rows[("irc", "tcp")]     # IPv4 only
    assert "0 tftp: 1, 300 s" in rows[("tftp", "udp")]
    assert "0 irc: 8, 300 s" in rows[("irc", "tcp")]
    assert "0 signalling: 1, 180 s" in rows[("sip", "udp")]
    assert ("sip", "tcp") in rows
    assert "1 audio: 4, 180 s" in res.stdout and "3 image: 2, 180 s" in res.stdout
    # every row says what it reads and which kernel module it emulates
    assert all("(nf_conntrack_" in l for l in rows.values()), rows


def test_explain_hooks_prints_the_ladder_in_priority_order():
    res = subprocess.run([CTSIM, "explain", "hooks"], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["HOOK", "ROW", "PRIORITY"]
    rows = {}
    for l in lines[1:]:
        hook, row, prio = l.split()[:3]
        rows.setdefault(hook, []).append((row, 2**31 - 1 if prio == "INT_MAX" else int(prio)))
        assert len(l) > 80 and l.rstrip()[-1] not in "-|", l     # every row has its reason
    # the kernel's priorities (enum nf_ip_hook_priorities), each hook sorted
    assert rows["prerouting"] == [("raw", -300), ("conntrack", -200), ("mangle", -150),
                                  ("dstnat", -100), ("filter", 0)]
    assert [r for r, _ in rows["output"]] == [r for r, _ in rows["prerouting"]]
    assert rows["postrouting"] == [("filter", 0), ("srcnat", 100), ("confirm", 2**31 - 1)]
    assert rows["input"] == [("filter", 0), ("srcnat", 100), ("confirm", 2**31 - 1)]
    assert rows["forward"] == [("filter", 0)]
    for hook, rs in rows.items():
        assert [p for _, p in rs] == sorted(p for _, p in rs), hook
