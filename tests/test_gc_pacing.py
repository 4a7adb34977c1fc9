# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon's GC is paced as the kernel's gc_worker() (ctsim/core/gc.h,
issue 16 part 4): an idle table is walked about once a minute, so an entry
that expired is reaped later, but no client ever sees it: a get answers
ENOENT and a dump kills it (with its DESTROY event) instead of listing it
(____nf_conntrack_find(), ctnetlink_dump_table()).

The visible part is compared with the kernel in a namespace. When the
kernel's worker reaps is not: it is one worker for every namespace, paced by
the host's own entries too."""
import time

UDP = ["-p", "udp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--dport", "53"]


def _insert(side, sport, timeout):
    r = side.conntrack("-I", *UDP, "--sport", str(sport), "-t", str(timeout))
    assert r.returncode == 0, r.stderr


def _visible(side):
    """(get of the expired entry: exit status, sports listed by -L)."""
    g = side.conntrack("-G", *UDP, "--sport", "1000")
    listing = side.conntrack("-L").stdout
    sports = sorted(int(w.split("=")[1]) for line in listing.splitlines()
                    for w in line.split()[:8] if w.startswith("sport="))
    return g.returncode, sports


def test_expired_entry_never_shown_as_kernel(ctsim, kernel_ns):
    for side in (ctsim, kernel_ns):
        _insert(side, 1000, 1)
        _insert(side, 1001, 300)
    time.sleep(2.2)
    k, c = _visible(kernel_ns), _visible(ctsim)
    assert c == k, f"ctsim {c} kernel {k}"
    assert c[0] != 0 and c[1] == [1001], c


def test_idle_table_reaped_lazily_dump_reaps(ctsim):
    """An idle daemon does not reap a 1 s entry within the next seconds (its
    next pass is ~1 minute after the last); the dump does, with the DESTROY
    event, and the count then drops."""
    mon = ctsim.popen(["conntrack", "-E", "-e", "DESTROY", "-o", "timestamp"])
    time.sleep(0.3)
    try:
        _insert(ctsim, 1000, 1)
        _insert(ctsim, 1001, 300)
        time.sleep(2.5)
        # Expired but not reaped yet: nf_conntrack_count still has it.
        assert ctsim.conntrack("-C").stdout.strip() == "2"
        t_list = time.time()
        listing = ctsim.conntrack("-L").stdout
        assert "sport=1000 " not in listing and "sport=1001 " in listing, listing
        assert ctsim.conntrack("-C").stdout.strip() == "1"
        time.sleep(0.3)
    finally:
        mon.terminate()
        out, _ = mon.communicate(timeout=10)
    destroy = [line for line in out.splitlines() if "[DESTROY]" in line]
    assert len(destroy) == 1 and "sport=1000 " in destroy[0], out
    # conntrack stamps events with the time it reads them: the DESTROY came
    # with the dump, not from a GC pass 1-2 s after the expiry.
    stamp = float(destroy[0].split("]")[0].strip("[ "))
    assert stamp >= t_list - 0.05, (stamp, t_list, out)
