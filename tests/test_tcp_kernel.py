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
import math
import os
import re
import subprocess
import time

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


# ---------------------------------------------------------------------------
# The per-packet property test (issue 5): random TCP exchanges, written as
# scenario files, go through the kernel router of ctsim/scenario/kernel_scenarios.py
# (the ct state of EVERY packet read from per-state counters of a probe chain
# at prerouting -150, conntrack -L/-E/-S at the end) and through ctsim's
# scenario runner (the ct state of every packet as its ruleset saw it, the
# same final listing). Each file holds CTSIM_TCP_PROP_CONNS interleaved
# connections (distinct client ports) with random sysctls
# (be_liberal, loose, max_retrans); CTSIM_TCP_PROP_FILES files per run
# (default 32 x 8, about 2800 packets, ~25 s). The agreement rate is printed
# (pytest -s) and every disagreement is listed in the failure.

PROP_FLAGS = ["S", "S.", ".", ".", ".", "P.", "P.", "P.", "F.", "F.", "R", "R", "R.", "U.",
              # combinations no TCP sends (tcp_error()), mixed into the flows
              "F", "SF", "FPU", "", "SR", "FR.", "SF."]


def _prop_exchange(rnd, sport):
    """(lines for one connection: [(flags-less packet text)], ...) The
    handshake is random (full, SYN only, simultaneous, none = pickup), then
    random segments near and far from the tracked edges."""
    cseq, sseq = rnd.choice([1000, 0xfffffe00, rnd.randint(0, 2**32 - 1)]), \
        rnd.choice([5000, 0xffffff00, rnd.randint(0, 2**32 - 1)])
    dport = 5200

    def opts():
        o = []
        if rnd.random() < 0.4:
            o.append(f"wscale {rnd.choice([0, 2, 7, 14, 15])}")
        if rnd.random() < 0.4:
            o.append("sackok")
        if rnd.random() < 0.3:
            o.append("mss 1460")
        return " ".join(o)

    def pkt(from_client, flags, seq, ack, win, ln=0, extra=""):
        a, b = ("c > s", f"{sport} > {dport}") if from_client else ("s > c", f"{dport} > {sport}")
        s = f"{a} tcp {b} [{flags}] seq {seq & 0xffffffff} ack {ack & 0xffffffff} win {win}"
        if ln:
            s += f" len {ln}"
        return s + (" " + extra if extra else "")

    out = []
    hs = rnd.choice(["full", "full", "full", "syn", "simul", "none", "stray", "half_simul"])
    wins = [0, 10, 100, 1000, 65535]
    if hs in ("full", "syn", "simul", "half_simul"):
        out.append(pkt(True, "S", cseq, 0, rnd.choice(wins[1:]), extra=opts()))
        if hs == "half_simul":      # the server's SYN only (issue 17 A)
            out.append(pkt(False, "S", sseq, 0, rnd.choice(wins[1:]), extra=opts()))
        elif hs == "simul":
            out.append(pkt(False, "S", sseq, 0, rnd.choice(wins[1:]), extra=opts()))
            out.append(pkt(True, "S.", cseq, sseq + 1, rnd.choice(wins[1:]), extra=opts()))
            out.append(pkt(False, "S.", sseq, cseq + 1, rnd.choice(wins[1:]), extra=opts()))
        elif hs == "full":
            out.append(pkt(False, "S.", sseq, cseq + 1, rnd.choice(wins[1:]), extra=opts()))
            out.append(pkt(True, ".", cseq + 1, sseq + 1, rnd.choice(wins[1:])))
        cseq += 1
        if hs != "syn":
            sseq += 1
    elif hs == "stray":
        # a SYN, then a SYN/ACK acknowledging something else (issue 17 B)
        out.append(pkt(True, "S", cseq, 0, rnd.choice(wins[1:]), extra=opts()))
        out.append(pkt(False, "S.", sseq, cseq + rnd.choice([1, 2, -25, -100000,
                                                            rnd.randint(0, 2**32)]),
                       rnd.choice(wins[1:]), extra=opts()))
        cseq += 1
        sseq += 1

    def rst_burst():
        """An RST without ACK (ack 0) from either side: exact, at 0 or far
        off; then packets from both sides (issue 17: the kernel checks an
        RST from the side of the SYN it follows against the window)."""
        rc = rnd.random() < 0.5
        rseq = (cseq if rc else sseq) + rnd.choice([0, 1, 70000, rnd.randint(0, 2**32)])
        if rnd.random() < 0.2:
            rseq = 0
        out.append(pkt(rc, "R", rseq, 0, rnd.choice(wins)))
        for _ in range(rnd.randint(0, 2)):
            fc = rnd.random() < 0.5
            out.append(pkt(fc, rnd.choice(["S", ".", "P.", "R", "F."]),
                           cseq if fc else sseq, sseq if fc else cseq, rnd.choice(wins)))

    if rnd.random() < 0.3:                  # right after the handshake
        rst_burst()
    for _ in range(rnd.randint(4, 14)):
        fc = rnd.random() < 0.55
        fl = rnd.choice(PROP_FLAGS)
        mine, theirs = (cseq, sseq) if fc else (sseq, cseq)
        seq = mine + rnd.choice([0, 0, 0, 0, -1, 1, -500, 700, 20000, -70000, 100000,
                                 rnd.randint(0, 2**32)])
        if "R" in fl and rnd.random() < 0.15:
            seq = 0                                     # RST answering a SYN
        ack = theirs + rnd.choice([0, 0, 0, 1, -1, 300, -70000, 100000])
        if "." not in fl and rnd.random() < 0.7:
            ack = 0                                     # no ACK flag: the field is 0
        elif rnd.random() < 0.05:
            ack = 0                                     # a broken stack's ack 0
        ln = rnd.choice([0, 0, 1, 100, 1400]) if "R" not in fl and "S" not in fl else 0
        extra = opts() if "S" in fl else ""
        line = pkt(fc, fl, seq, ack, rnd.choice(wins), ln, extra)
        reps = 1 + (rnd.random() < 0.1) * rnd.randint(1, 4)      # retransmissions
        out.extend([line] * reps)
        if seq == mine and rnd.random() < 0.85:
            adv = ln + ("S" in fl) + ("F" in fl)
            if fc:
                cseq += adv
            else:
                sseq += adv
        if ("S" in fl or "R" in fl) and rnd.random() < 0.3:
            rst_burst()
    return out


def prop_scenario(seed, conns):
    """The text of one random scenario file."""
    import random
    rnd = random.Random(seed)
    lines = [f"# title: random TCP exchanges, seed {seed}", "# shows: property test",
             "# source: tests/test_tcp_kernel.py", "",
             "host c 10.66.1.2 side client", "host s 10.66.2.2 side server",
             "ruleset none"]
    for name, vals in (("nf_conntrack_tcp_be_liberal", [0, 0, 0, 1]),
                       ("nf_conntrack_tcp_loose", [1, 1, 1, 0]),
                       ("nf_conntrack_tcp_max_retrans", [3, 3, 1]),
                       ("nf_conntrack_tcp_ignore_invalid_rst", [0, 0, 0, 1])):
        lines.append(f"set {name} {rnd.choice(vals)}")
    flows = [_prop_exchange(rnd, 41000 + i) for i in range(conns)]
    while any(flows):
        f = rnd.choice([f for f in flows if f])
        gap = rnd.choice(["+0", "+0", "+0.001", "+0.01", "+0.05"])
        lines.append(f"{gap} {f.pop(0)}")
    return "\n".join(lines) + "\n"


def _prop_one(tmp_path, seed, conns):
    import kernel_scenarios as ks
    from conftest import CTSIM_BIN
    path = tmp_path / f"prop{seed}.ct"
    path.write_text(prop_scenario(seed, conns))
    exp = ks.ctsim_json(str(CTSIM_BIN), "export", str(path), "--json")
    sim = ks.ctsim_json(str(CTSIM_BIN), "run", str(path), "--json")["scenarios"][0]
    t0 = time.monotonic()
    kern = ks.kernel_run(exp, 60)
    # the kernel run is slower than the scenario clock (reading the probe
    # after each packet takes ~10 ms): its remaining timeouts may be lower
    # by that much, and no more
    tol = 2 + math.ceil(max(0.0, time.monotonic() - t0 - exp["duration"]))
    src = path.read_text().splitlines()
    bad = []
    for a, b in zip(sim["trace"], kern["trace"]):
        if a["ctinfo"] != b["ctinfo"]:
            bad.append(f"seed {seed} line {a['line']} `{src[a['line'] - 1]}`: "
                       f"ctsim {a['ctinfo']}, kernel {b['ctinfo']}")
    n = len(sim["trace"])
    if len(kern["trace"]) != n:
        bad.append(f"seed {seed}: {n} packets in ctsim, {len(kern['trace'])} in the kernel")
    # conntrack -L and -E: state, flags, tuples exact, the remaining
    # timeouts within the run's drift (tol); -S exact
    rest = []
    eq, d = ks.diff(sim["table"], kern["table"], ordered=False, tol=tol)
    if not eq:
        rest.append(f"conntrack -L (- ctsim, + kernel; timeouts within {tol} s):\n" + d)
    eq, d = ks.diff(sim["events"], kern["events"], ordered=True, tol=tol)
    if not eq:
        rest.append("conntrack -E (- ctsim, + kernel):\n" + d)
    s1, s2 = ks.stats_sum(sim["stats"]), ks.stats_sum(kern["stats"])
    rest += [f"conntrack -S {k}: ctsim {s1[k]}, kernel {s2[k]}" for k in ks.STATS if s1[k] != s2[k]]
    rest = "\n".join(rest)
    return n, n - sum(": ctsim " in x for x in bad), bad, rest, str(path), kern["max_lag"]


def test_tcp_property_per_packet(tmp_path):
    if os.geteuid() != 0 or not os.path.exists(CONNTRACK):
        pytest.skip("needs root, nft and conntrack")
    import concurrent.futures
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    files = int(os.environ.get("CTSIM_TCP_PROP_FILES", "32"))
    conns = int(os.environ.get("CTSIM_TCP_PROP_CONNS", "8"))
    base = int(os.environ.get("CTSIM_TCP_PROP_SEED", "0"))
    seeds = list(range(base, base + files))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        res = list(pool.map(lambda s: _prop_one(tmp_path, s, conns), seeds))
    # A kernel run that fell behind the scenario clock (a loaded machine)
    # lets the kernel's real-time timers expire entries the scenario still
    # has: run such a disagreeing file once more, alone. Its second result
    # counts, and the rerun is reported.
    rerun = [i for i, r in enumerate(res) if (r[2] or r[3]) and r[5] > 2.0]
    for i in rerun:
        res[i] = _prop_one(tmp_path, seeds[i], conns)
    if rerun:
        print(f"\nTCP property test: {len(rerun)} files rerun alone (their kernel run lagged "
              f"> 2 s): seeds {[seeds[i] for i in rerun][:20]}")
    packets = sum(r[0] for r in res)
    agree = sum(r[1] for r in res)
    files_agree = sum(not r[3] for r in res)
    print(f"\nTCP property test: {packets} packets in {files} files x {conns} connections: "
          f"per-packet ct state agreement {agree}/{packets} = {100.0 * agree / max(packets, 1):.2f}%; "
          f"final table/events/stats agree in {files_agree}/{files} files")
    problems = [b for r in res for b in r[2]] + \
        [f"{r[4]}:\n{r[3]}" for r in res if r[3]]
    assert not problems, "\n".join(problems[:40])
