# SPDX-License-Identifier: GPL-2.0-or-later
"""The TCP tracker against the kernel's: TCP sequences with fixed ports and
sequence numbers, written with Scapy, go (a) through a kernel router
namespace (test_replay.Router: conntrack in the router only, hosts that never
answer) and (b) through `ctsim replay`; `conntrack -L -o extended` (state,
timeout within 1 s, status), the `conntrack -E` event sequence and the
`invalid` counter must agree.

Each scenario exercises one part of tcp_in_window()/nf_conntrack_tcp_packet()
(docs/tcp.md): simultaneous open, out-of-window data, window scaling, SACK,
RST checks, challenge ACKs, the SYN/ACK resync, reopen, pickup, retransmissions.
"""
import os
import subprocess

import pytest

from conftest import CONNTRACK, assert_conntrack_equal
from test_replay import C_IP, S_IP, replay, router, split_output, write  # noqa: F401

scapy = pytest.importorskip("scapy.all")
from scapy.all import IP, TCP, Raw  # noqa: E402

CP = 43210      # the client's port; the server listens on 80


def c(flags, seq, ack=0, data=b"", win=1000, opts=None, sport=CP):
    """A client -> server segment."""
    p = IP(src=C_IP, dst=S_IP) / TCP(sport=sport, dport=80, flags=flags, seq=seq, ack=ack,
                                     window=win, options=opts or [])
    return p / Raw(data) if data else p


def s(flags, seq, ack=0, data=b"", win=1000, opts=None, dport=CP):
    """A server -> client segment."""
    p = IP(src=S_IP, dst=C_IP) / TCP(sport=80, dport=dport, flags=flags, seq=seq, ack=ack,
                                     window=win, options=opts or [])
    return p / Raw(data) if data else p


def handshake(win=1000):
    return [c("S", 1000, win=win), s("SA", 5000, 1001, win=win), c("A", 1001, 5001, win=win)]


# name -> (packets, sysctls for both sides)
SCENARIOS = {
    # active close FW -> LA -> TW
    "close_active": lambda: handshake() + [
        c("PA", 1001, 5001, b"x" * 100), s("A", 5001, 1101),
        c("FA", 1101, 5001), s("FA", 5001, 1102), c("A", 1102, 5002)],
    # passive path FW -> CW -> LA -> TW
    "close_wait": lambda: handshake() + [
        c("FA", 1001, 5001), s("A", 5001, 1002), s("FA", 5001, 1002), c("A", 1002, 5002)],
    "simultaneous_open": lambda: [
        c("S", 1000), s("S", 5000), c("SA", 1000, 5001), s("SA", 5000, 1001),
        s("A", 5001, 1001), c("A", 1001, 5001)],
    "syn_retransmit": lambda: [c("S", 1000), c("S", 1000), c("S", 1000)],
    "out_of_window_both": lambda: handshake() + [
        c("PA", 101001, 5001, b"x" * 10), s("PA", 105001, 1001, b"y" * 10),
        s("A", 5001, 99999), c("PA", 1001, 5001, b"z" * 100), s("A", 5001, 1101)],
    "wscale": lambda: [
        c("S", 1000, win=64240, opts=[("WScale", 7)]),
        s("SA", 5000, 1001, win=100, opts=[("WScale", 2)]),
        c("A", 1001, 5001, win=100), s("A", 5001, 1001, win=4000),
        c("PA", 16001, 5001, b"x" * 100, win=100)],
    "wscale_one_sided": lambda: [
        c("S", 1000, win=64240, opts=[("WScale", 7)]),
        s("SA", 5000, 1001, win=100),
        c("A", 1001, 5001, win=100), s("A", 5001, 1001, win=4000),
        c("PA", 16001, 5001, b"x" * 100, win=100)],
    "sack": lambda: [
        c("S", 1000, opts=[("SAckOK", b"")]), s("SA", 5000, 1001, opts=[("SAckOK", b"")]),
        c("A", 1001, 5001), c("PA", 1001, 5001, b"x" * 300),
        s("A", 5001, 1001, opts=[("NOP", None), ("NOP", None), ("SAck", (1101, 1301))]),
        s("A", 5001, 1001, opts=[("NOP", None), ("NOP", None), ("SAck", (1101, 1401))])],
    "rst_invalid_then_exact": lambda: handshake() + [
        c("PA", 1001, 5001, b"x" * 1000), s("A", 5001, 2001),
        s("R", 0), c("R", 1000000), c("R", 42), c("RA", 2000, 5001), c("RA", 2001, 5001)],
    "rst_inexact_challenge": lambda: handshake() + [
        c("R", 1301), s("A", 5001, 1001)],
    "rst_refused": lambda: [c("S", 1000), s("RA", 0, 1001)],
    "syn_challenge_ack": lambda: [
        c("S", 1000), s("A", 7777, 3333), c("R", 3333), c("S", 1000),
        s("SA", 5000, 1001), c("A", 1001, 5001)],
    "synack_reuse": lambda: handshake() + [
        c("S", 900000, opts=[("WScale", 5)]), s("SA", 123456, 900001),
        c("A", 900001, 123457)],
    "synack_old": lambda: [
        c("S", 7000), s("SA", 9000, 99999), c("S", 7000), s("SA", 9000, 7001),
        c("A", 7001, 9001)],
    "last_ack_challenge": lambda: handshake() + [
        c("FA", 1001, 5001), s("FA", 5001, 1002), c("S", 777777), s("A", 5002, 1002)],
    "reopen_time_wait": lambda: handshake() + [
        c("FA", 1001, 5001), s("FA", 5001, 1002), c("A", 1002, 5002), c("S", 50000)],
    "syn_in_close_after_peer_rst": lambda: handshake() + [
        s("RA", 5001, 1001), c("S", 90000)],
    "midstream_pickup": lambda: [
        c("A", 123456, 654321), c("PA", 123456, 654321, b"x" * 10), s("A", 654321, 123466),
        c("A", 123466, 654321)],
    "retrans_storm": lambda: handshake() + [c("A", 1001, 5001)] * 3,
    "zero_window": lambda: handshake() + [s("A", 5001, 1001, win=0)],
    "overshoot": lambda: handshake() + [c("PA", 2002, 5001, b"x" * 10), s("A", 5001, 2012)],
    "fin_rst_out_of_window": lambda: handshake() + [
        c("FA", 101001, 5001), s("RA", 105001, 1001)],
    "seq_wraparound": lambda: [
        c("S", 0xfffffff0), s("SA", 0xffffff00, 0xfffffff1), c("A", 0xfffffff1, 0xffffff01),
        c("PA", 0xfffffff1, 0xffffff01, b"x" * 500), s("A", 0xffffff01, (0xfffffff1 + 500) & 0xffffffff)],
}

SETTINGS = {
    "loose0_midstream": ("midstream_pickup", {"nf_conntrack_tcp_loose": 0}),
    "be_liberal_out_of_window": ("out_of_window_both", {"nf_conntrack_tcp_be_liberal": 1}),
    "ignore_invalid_rst": ("rst_invalid_then_exact", {"nf_conntrack_tcp_ignore_invalid_rst": 1}),
    "max_retrans_1": ("retrans_storm", {"nf_conntrack_tcp_max_retrans": 1}),
}

CASES = {name: (name, {}) for name in SCENARIOS}
CASES.update(SETTINGS)


def invalid_count(stats_text):
    """Sum of invalid= over the `conntrack -S` lines."""
    n = 0
    for line in stats_text.splitlines():
        for field in line.split():
            if field.startswith("invalid="):
                n += int(field.split("=", 1)[1])
    return n


@pytest.mark.parametrize("case", sorted(CASES))
def test_tcp_same_as_kernel(tmp_path, router, case):  # noqa: F811
    scenario, sysctls = CASES[case]
    for k, v in sysctls.items():
        router.sh(f"ip netns exec {router.rtr} sysctl -qw net.netfilter.{k}={v}")
    pcap = write(tmp_path, f"{case}.pcap", SCENARIOS[scenario]())
    k_list, k_events = router.run_capture(pcap)
    k_stats = subprocess.run(["ip", "netns", "exec", router.rtr, CONNTRACK, "-S"],
                             capture_output=True, text=True).stdout
    args = ["--events", "--stats"]
    for k, v in sysctls.items():
        args += ["--set", f"{k}={v}"]
    res = replay(pcap, *args)
    events, table, stats, _ = split_output(res.stdout)
    assert_conntrack_equal(k_list, "\n".join(table) + "\n", what=f"{case}: conntrack -L")
    assert_conntrack_equal(k_events, "\n".join(events) + "\n", sort=False,
                           what=f"{case}: conntrack -E")
    assert invalid_count("\n".join(stats)) == invalid_count(k_stats), \
        f"{case}: invalid counter: kernel\n{k_stats}\nctsim\n" + "\n".join(stats)


def random_exchange(seed, n=60):
    """A handshake, then @n random segments: flags from the valid (and a few
    invalid) combinations, sequence and ack numbers near the tracked edges
    or far from them, windows, SACK blocks, both directions."""
    import random
    rnd = random.Random(seed)
    cseq, sseq = 1000, 5000
    pk = [c("S", 1000, win=rnd.choice([0, 100, 1000, 65535]),
            opts=rnd.choice([[], [("WScale", rnd.randint(0, 14))], [("SAckOK", b"")]])),
          s("SA", 5000, 1001, win=rnd.choice([100, 1000, 65535]),
            opts=rnd.choice([[], [("WScale", rnd.randint(0, 14))], [("SAckOK", b"")]]))]
    cseq, sseq = 1001, 5001
    flags = ["A", "A", "PA", "PA", "FA", "R", "RA", "S", "SA", "A", "PA", "F", "SF"]
    for _ in range(n):
        from_client = rnd.random() < 0.5
        fl = rnd.choice(flags)
        mine, theirs = (cseq, sseq) if from_client else (sseq, cseq)
        seq = (mine + rnd.choice([0, 0, 0, -1, 1, -500, 700, -70000, 100000, rnd.randint(0, 2**32)])) & 0xffffffff
        ack = (theirs + rnd.choice([0, 0, 0, 1, -1, 300, -70000, 100000])) & 0xffffffff
        data = b"d" * rnd.choice([0, 0, 1, 100, 1400]) if "R" not in fl and "S" not in fl else b""
        win = rnd.choice([0, 10, 1000, 65535])
        opts = []
        if rnd.random() < 0.15:
            opts = [("NOP", None), ("NOP", None),
                    ("SAck", ((ack + 10) & 0xffffffff, (ack + rnd.choice([20, 5000])) & 0xffffffff))]
        pk.append((c if from_client else s)(fl, seq, ack, data, win, opts))
        if seq == mine and rnd.random() < 0.8:
            adv = len(data) + ("S" in fl) + ("F" in fl)
            if from_client:
                cseq = (cseq + adv) & 0xffffffff
            else:
                sseq = (sseq + adv) & 0xffffffff
    return pk


@pytest.mark.parametrize("seed", range(int(os.environ.get("CTSIM_TCP_SEEDS", "24"))))
def test_tcp_random_same_as_kernel(tmp_path, router, seed):  # noqa: F811
    pcap = write(tmp_path, f"random{seed}.pcap", random_exchange(seed))
    k_list, k_events = router.run_capture(pcap)
    k_stats = subprocess.run(["ip", "netns", "exec", router.rtr, CONNTRACK, "-S"],
                             capture_output=True, text=True).stdout
    res = replay(pcap, "--events", "--stats")
    events, table, stats, _ = split_output(res.stdout)
    assert_conntrack_equal(k_list, "\n".join(table) + "\n", what=f"seed {seed}: conntrack -L")
    assert_conntrack_equal(k_events, "\n".join(events) + "\n", sort=False,
                           what=f"seed {seed}: conntrack -E")
    assert invalid_count("\n".join(stats)) == invalid_count(k_stats), \
        f"seed {seed}: invalid counter: kernel\n{k_stats}\nctsim\n" + "\n".join(stats)
