# SPDX-License-Identifier: GPL-2.0-or-later
"""Random NAT differential test: random flows through random NAT rulesets,
a kernel router netns against ctsim (``ctsim scenario run --kernel``).

Each case is a generated scenario file: hosts on both sides, the router's
own addresses, a ruleset drawn from masquerade, SNAT to one address or to a
range (with `persistent` / `random` / port ranges), DNAT port forwards and
port-only DNAT, and flows drawn from TCP handshakes, UDP exchanges, ICMP and
ICMPv6 echo and ICMP errors about a flow, IPv4 and IPv6, source ports from a
small pool so that tuples clash and ports get reallocated. Answers are sent
where the translation is expected to send them (the router's address for
SNAT, the real server for DNAT); an answer the translation does not expect
is still traffic both worlds must treat alike.

The driver compares per-packet ct state, ``conntrack -L`` (reply tuples
included; a reallocated port compared by class), ``conntrack -E`` and the
statistics. The seed is printed with every failure; CTSIM_NAT_RANDOM_RUNS
(default 12) and CTSIM_NAT_RANDOM_SEED choose how many and which.
"""
import os
import random
import subprocess

import pytest

from conftest import BUILD

CTSIM = str(BUILD / "ctsim" / "ctsim")
RUNS = int(os.environ.get("CTSIM_NAT_RANDOM_RUNS", "12"))
SEED = int(os.environ.get("CTSIM_NAT_RANDOM_SEED", "1105"))

CLIENTS = [("c1", "10.66.1.2", "fd66:1::2"), ("c2", "10.66.1.3", "fd66:1::3"),
           ("c3", "10.66.1.4", "fd66:1::4")]
SERVERS = [("s1", "10.66.2.2", "fd66:2::2"), ("s2", "10.66.2.3", "fd66:2::3")]
ROUTER_S = ("r", "10.66.2.1", "fd66:2::1")
ROUTER_C = ("rc", "10.66.1.1", "fd66:1::1")

# (rule, families it translates, which source ports it keeps: "all", a
# (lo, hi) range for TCP/UDP, or None: random, the answer's port unknown)
SNAT_RULES = [
    ('oifname "ct-s0" masquerade', "46", "all"),
    # a range none of the source ports below is in: every flow is remapped
    # (a range holding one of them would make a later flow's "kept or not"
    # depend on the ports random choices took before)
    ('oifname "ct-s0" meta l4proto { tcp, udp } masquerade to :30000-30010', "46",
     (30000, 30010)),
    ('oifname "ct-s0" masquerade random', "46", None),
    ("ip daddr 10.66.2.0/24 snat ip to 10.66.2.1", "4", "all"),
    ("ip daddr 10.66.2.0/24 snat ip to 10.66.2.40-10.66.2.45", "4", "range"),
    ("ip daddr 10.66.2.0/24 snat ip to 10.66.2.40-10.66.2.45 persistent", "4", "range"),
    ("ip6 daddr fd66:2::/64 snat ip6 to fd66:2::1", "6", "all"),
]
# (rule, the flow kind it serves)
DNAT_RULES = [
    ("ip daddr 10.66.1.1 tcp dport 8080 dnat ip to 10.66.2.2:80", "dnat-tcp"),
    ("ip daddr 10.66.1.1 udp dport 5300 dnat ip to 10.66.2.3:53", "dnat-udp"),
    ("ip daddr 10.66.2.3 udp dport 53 dnat to :5353", "dnat-port"),
    ("ip6 daddr fd66:1::1 tcp dport 8080 dnat ip6 to [fd66:2::2]:80", "dnat-tcp6"),
]


def answer_to(snat, v6, proto, sport, client):
    """Where the answer to a flow from @client goes, or None when the
    translation is random (the answer would miss in both worlds)."""
    fam = "6" if v6 else "4"
    for rule, fams, keeps in snat:
        if fam not in fams:
            continue
        if "l4proto" in rule and proto not in ("tcp", "udp"):
            continue
        if keeps == "all":
            return ROUTER_S[0]
        if keeps == "range":
            return None         # an address of the range: no host answers there
        if keeps is None:
            return None
        return ROUTER_S[0] if keeps[0] <= sport <= keeps[1] else None
    return client


def scenario(rng):
    snat = rng.sample(SNAT_RULES, rng.randint(0, 2))
    dnat = rng.sample(DNAT_RULES, rng.randint(0, 3))
    if not snat and not dnat:
        snat = [SNAT_RULES[0]]
    lines = [f"# title: random NAT case (seed {rng.seed_value})",
             "# source: tests/test_nat_random.py", ""]
    for n, a4, a6 in CLIENTS:
        lines.append(f"host {n} {a4} {a6} side client")
    for n, a4, a6 in SERVERS:
        lines.append(f"host {n} {a4} {a6} side server")
    lines.append(f"host {ROUTER_S[0]} {ROUTER_S[1]} {ROUTER_S[2]} side server router")
    lines.append(f"host {ROUTER_C[0]} {ROUTER_C[1]} {ROUTER_C[2]} side client router")
    lines += ["ruleset {", "table inet nat {",
              "\tchain pre {", "\t\ttype nat hook prerouting priority dstnat; policy accept;"]
    lines += [f"\t\t{r}" for r, _ in dnat]
    lines += ["\t}", "\tchain post {",
              "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
    lines += [f"\t\t{r}" for r, _, _ in snat]
    lines += ["\t}", "}", "}", ""]
    kinds = ["tcp", "udp", "echo", "error"] + [k for _, k in dnat]
    ports = [1405, 20000, 40000, 40001]
    for _ in range(rng.randint(4, 10)):
        c = rng.choice(CLIENTS)
        kind = rng.choice(kinds)
        v6 = kind == "dnat-tcp6" or (kind in ("tcp", "udp", "echo", "error") and
                                     rng.random() < 0.3)
        ip6 = " ip6" if v6 else ""
        sport = rng.choice(ports)
        s = rng.choice(SERVERS)
        proto = {"tcp": "tcp", "dnat-tcp": "tcp", "dnat-tcp6": "tcp", "echo": "icmp"}.get(
            kind, "udp")
        back = answer_to(snat, v6, proto, sport, c[0])
        step = lambda: f"+{rng.choice(['0', '0.01', '0.1'])}"  # noqa: E731
        if kind == "tcp":
            lines.append(f"{step()} {c[0]} > {s[0]}{ip6} tcp {sport} > 80 [S]")
            if back:
                lines.append(f"{step()} {s[0]} > {back}{ip6} tcp 80 > {sport} [S.]")
                lines.append(f"{step()} {c[0]} > {s[0]}{ip6} tcp {sport} > 80 [.]")
        elif kind == "udp":
            lines.append(f"{step()} {c[0]} > {s[0]}{ip6} udp {sport} > 53 len 12")
            if back and rng.random() < 0.7:
                lines.append(f"{step()} {s[0]} > {back}{ip6} udp 53 > {sport} len 12")
        elif kind == "echo":
            p = "icmpv6" if v6 else "icmp"
            i = rng.choice([7, 8])
            lines.append(f"{step()} {c[0]} > {s[0]}{ip6} {p} echo-request id {i} seq 1 len 16")
            if back:
                lines.append(f"{step()} {s[0]} > {back}{ip6} {p} echo-reply id {i} seq 1 len 16")
        elif kind in ("dnat-tcp", "dnat-tcp6"):
            lines.append(f"{step()} {c[0]} > {ROUTER_C[0]}{ip6} tcp {sport} > 8080 [S]")
            real = 80
            if back:
                lines.append(f"{step()} s1 > {back}{ip6} tcp {real} > {sport} [S.]")
        elif kind in ("dnat-udp", "dnat-port"):
            dst, dport, real = (ROUTER_C[0], 5300, 53) if kind == "dnat-udp" else ("s2", 53, 5353)
            lines.append(f"{step()} {c[0]} > {dst} udp {sport} > {dport} len 12")
            if back:
                lines.append(f"{step()} s2 > {back} udp {real} > {sport} len 12")
        else:
            err = "icmpv6 port-unreachable" if v6 else "icmp port-unreachable"
            lines.append(f"{step()} {c[0]} > {s[0]}{ip6} udp {sport} > 53 len 12")
            if back:
                src = ROUTER_S[0] if back == ROUTER_S[0] else c[0]
                lines.append(f"{step()} {s[0]} > {back}{ip6} {err} quoting {src} > {s[0]}{ip6} "
                             f"udp {sport} > 53 len 12")
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")
def test_random_nat_against_kernel(tmp_path):
    files = []
    for k in range(RUNS):
        rng = random.Random(SEED + k)
        rng.seed_value = SEED + k
        f = tmp_path / f"nat_random_{SEED + k}.ct"
        f.write_text(scenario(rng))
        files.append(f)
    off = subprocess.run([CTSIM, "scenario", "run", *map(str, files)], capture_output=True,
                         text=True, timeout=120)
    assert off.returncode == 0, off.stdout + off.stderr
    res = subprocess.run([CTSIM, "scenario", "run", "--kernel", "-v", *map(str, files)],
                         capture_output=True, text=True, timeout=600)
    bad = [f.read_text() for f in files if f"{f} disagree" in res.stdout or
           f"{f} error" in res.stdout]
    assert res.returncode == 0 and "0 disagree, 0 errors" in res.stdout, \
        res.stdout[-6000:] + res.stderr[-2000:] + "\n\n".join(bad[:2])
