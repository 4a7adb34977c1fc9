# SPDX-License-Identifier: GPL-2.0-or-later
"""ctsim's own operations through ctctl: the time warp (advance) and reload.
Not kernel features: the teaching tool lets a class watch a 30 s timeout
expire now, with the DESTROY event the kernel would send later."""
import time

import pytest


def test_advance_expires_entries_with_events(ctsim):
    mon = ctsim.popen(["conntrack", "-E"])
    time.sleep(0.3)
    try:
        r = ctsim.conntrack("-I", "-s", "10.0.0.1", "-d", "10.0.0.2", "-p", "udp",
                            "--sport", "1000", "--dport", "53", "-t", "30")
        assert r.returncode == 0, r.stderr
        r = ctsim.conntrack("-I", "-s", "10.0.0.1", "-d", "10.0.0.2", "-p", "udp",
                            "--sport", "1001", "--dport", "53", "-t", "300")
        assert r.returncode == 0, r.stderr
        r = ctsim.ctctl("advance", "31s")
        assert r.returncode == 0, r.stderr
        listing = ctsim.conntrack("-L").stdout
        assert "sport=1000" not in listing and "sport=1001" in listing, listing
        # The survivor's remaining time moved too: 300 - 31 = 269 (or 268).
        assert any(t in listing for t in (" 268 ", " 269 ")), listing
        time.sleep(0.3)
    finally:
        mon.terminate()
        out, _ = mon.communicate(timeout=10)
    destroy = [l for l in out.splitlines() if "[DESTROY]" in l]
    assert len(destroy) == 1 and "sport=1000" in destroy[0], out


@pytest.mark.parametrize("arg,msg", [("soon", "is not a duration"), ("-5s", "is not a duration")])
def test_advance_bad_duration(ctsim, arg, msg):
    r = ctsim.ctctl("advance", arg)
    assert r.returncode == 2 and msg in r.stderr and "^" in r.stderr, r.stderr


def test_reload_without_lab(ctsim):
    """A daemon without a data plane has no ruleset to reload."""
    r = ctsim.ctctl("reload")
    assert r.returncode == 1 and "EOPNOTSUPP" in r.stderr, r.stderr
