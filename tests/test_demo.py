# SPDX-License-Identifier: GPL-2.0-or-later
"""README's first line, `./tests/demo.sh`, runs end to end: the lab comes up,
the traffic gets through (and the refused connection does not), ctctl, the
unmodified conntrack and the rule counters show it, ctsim stops cleanly and
leaves no namespace behind. Run against the suite's build (CTSIM_BUILD)."""
import os
import re
import subprocess

from conftest import BUILD, ROOT, SANITIZER_ENV, _sanitizer_report


def test_demo_runs_end_to_end():
    env = dict(os.environ, **SANITIZER_ENV, CTSIM_BUILD=str(BUILD))
    env.pop("DEMO_KEEP", None)
    r = subprocess.run([str(ROOT / "tests" / "demo.sh")], capture_output=True, text=True,
                       env=env, timeout=300)
    out = r.stdout
    assert r.returncode == 0, out[-3000:] + r.stderr[-3000:]
    assert _sanitizer_report(r.stderr) is None, r.stderr[-6000:]
    assert "\n200\n" in out                                  # curl http://server:8080/
    assert "(no answer: dropped in FORWARD, as it should be)" in out
    # ping, ping -6, UDP and the HTTP connection, in ctctl and in conntrack -L alike
    assert "4 flow entries have been shown." in r.stderr     # ctctl list, conntrack -L
    assert re.search(r"^tcp +6 \d+ TIME_WAIT src=10\.77\.1\.2 .* dport=8080 .*\[ASSURED\]", out,
                     re.M), out
    # the forward chain's policy counter caught the refused connection's SYN(s)
    m = re.search(r"^\t\tcounter packets (\d+) bytes \d+$", out, re.M)
    assert m and int(m.group(1)) >= 1, out
    assert "ctsim exited with status 0" in out
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "ctsim-client" not in netns and "ctsim-server" not in netns, netns
