# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: the overflow policy of a running daemon, changed and read
back live (`ctctl set/get ctsim_overflow_...`), and the table's own view
(`ctctl stats buckets`: size, policy, chain histogram, what the table-full
path did). The table is filled through ctnetlink (conntrack -I into a full
table runs early_drop() and then the policy, as a packet does)."""


def insert(d, n, state, timeout=1000):
    return d.conntrack("-I", "-p", "tcp", "-s", f"10.9.0.{n}", "-d", "10.9.1.1",
                       "--sport", "1000", "--dport", "22", "--state", state,
                       "-t", str(timeout), "-u", "ASSURED")


def test_policy_set_live_and_table_view(ctsim_factory):
    d = ctsim_factory(["--set", "nf_conntrack_max=3", "--set", "nf_conntrack_buckets=1"])
    for n, state in ((1, "ESTABLISHED"), (2, "ESTABLISHED"), (3, "TIME_WAIT")):
        assert insert(d, n, state).returncode == 0
    res = d.ctctl("get", "ctsim_overflow_policy")
    assert (res.returncode, res.stdout) == (0, "ctsim_overflow_policy = kernel\n"), res.stderr

    # kernel policy: only ASSURED entries, early_drop() finds nothing
    res = insert(d, 4, "ESTABLISHED")
    assert res.returncode != 0 and "not enough memory" in res.stderr, res.stderr
    view = d.ctctl("stats", "buckets")
    assert view.returncode == 0, view.stderr
    lines = view.stdout.splitlines()
    assert lines[:2] == ["entries 3 (nf_conntrack_count), max 3 (nf_conntrack_max)",
                         "buckets 1 (nf_conntrack_buckets); nodes per bucket (2 per entry): 6:1; "
                         "longest chain 6"], lines
    assert "policy kernel (ctsim_overflow_policy)" in lines, lines
    assert d.ctctl("table").stdout == view.stdout       # one view, two names
    assert "table full 1 times, 1 packets dropped, 1 log lines, 0 suppressed" in lines, lines
    assert not any(ln.startswith("evicted") for ln in lines), lines

    # wait-first from now on, no restart: the TIME_WAIT entry makes room
    res = d.ctctl("set", "ctsim_overflow_policy", "wait-first")
    assert res.returncode == 0, res.stderr
    assert d.ctctl("get", "ctsim_overflow_policy").stdout == "ctsim_overflow_policy = wait-first\n"
    assert insert(d, 4, "ESTABLISHED").returncode == 0
    listing = d.conntrack("-L").stdout
    assert "TIME_WAIT" not in listing and "src=10.9.0.4 " in listing, listing
    lines = d.ctctl("stats", "buckets").stdout.splitlines()
    assert "policy wait-first (ctsim_overflow_policy)" in lines, lines
    assert "table full 2 times, 1 packets dropped, 1 log lines, 0 suppressed" in lines, lines
    assert "evicted 1: tcp-time-wait 1" in lines and "evicted live 1 nat 0" in lines, lines

    # a bad name is refused with the valid ones, the policy stays
    res = d.ctctl("set", "ctsim_overflow_policy", "random")
    assert res.returncode == 1 and "EINVAL" in res.stderr and "wait-first" in res.stderr, res.stderr
    assert d.ctctl("get", "ctsim_overflow_policy").stdout == "ctsim_overflow_policy = wait-first\n"
    # the companions are live too, their cross-check included
    assert d.ctctl("set", "ctsim_overflow_adaptive_end", "10").returncode == 0
    res = d.ctctl("set", "ctsim_overflow_adaptive_start", "20")
    assert res.returncode == 1 and "must be below" in res.stderr, res.stderr
    assert d.ctctl("get", "ctsim_overflow_adaptive_start").stdout == \
        "ctsim_overflow_adaptive_start = 0\n"


def test_stats_rejects_other_words(ctsim):
    res = ctsim.ctctl("stats", "chains")
    assert res.returncode != 0 and "buckets" in res.stderr, res.stderr


def test_gc_policy_starts_at_once(ctsim_factory):
    """adaptive acts through the GC: set live, it starts within a second even
    with the kernel's pacing (whose next pass is up to 60 s away). 9 UDP
    entries of 30 s in a table of 10, 20 s idle: pf's factor at 9 of
    [6, 12) is 1/2 (15 s), so entries go until the factor's timeout exceeds
    their idle time: at 7, (12 - 7) / 6 * 30 = 25 s > 20 s."""
    import time
    d = ctsim_factory(["--set", "nf_conntrack_max=10", "--set", "nf_conntrack_buckets=1",
                       "--set", "ctsim_gc_pacing=kernel"])
    for n in range(1, 10):
        assert d.conntrack("-I", "-p", "udp", "-s", f"10.9.0.{n}", "-d", "10.9.1.1", "--sport",
                           "1000", "--dport", "53", "-t", "30").returncode == 0
    assert d.ctctl("advance", "20s").returncode == 0
    time.sleep(1.5)
    assert d.ctctl("count").stdout.strip() == "9"      # kernel policy: nothing early
    assert d.ctctl("set", "ctsim_overflow_policy", "adaptive").returncode == 0
    deadline = time.monotonic() + 5
    while d.ctctl("count").stdout.strip() != "7" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert d.ctctl("count").stdout.strip() == "7"
    assert "expired early 2, emergency entered 0" in d.ctctl("stats", "buckets").stdout
