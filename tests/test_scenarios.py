# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario files (docs/scenarios.md): the catalogue in scenarios/ runs offline
with no failure outside the scenarios marked as waiting; malformed files are
reported with their location and nothing runs; --json parses; and, as root,
the catalogue agrees with a kernel router (ctsim/scenario/kernel_scenarios.py).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT, SANITIZER_ENV

CTSIM = BUILD / "ctsim" / "ctsim"
CATALOGUE = ROOT / "scenarios"


def scenario(*args, check=None, cwd=None):
    env = dict(os.environ, **SANITIZER_ENV)
    res = subprocess.run([str(CTSIM), "scenario", *map(str, args)], capture_output=True,
                         text=True, timeout=120, env=env, cwd=cwd)
    for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert marker not in res.stderr, res.stderr
    if check is not None:
        assert res.returncode == check, res.stdout + res.stderr
    return res


def test_catalogue_passes():
    res = scenario("run", CATALOGUE)
    # shown by pytest on failure: the progress lines, the diffs, the summary
    assert res.returncode == 0, res.stdout + res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert " passed, 0 failed, " in last, res.stdout


def test_catalogue_names_sources():
    for f in sorted(CATALOGUE.glob("*.ct")):
        text = f.read_text()
        assert "# title:" in text and "# source:" in text, f


def test_json_output():
    res = scenario("run", "--json", CATALOGUE, check=0)
    doc = json.loads(res.stdout)
    s = doc["summary"]
    assert s["failed"] == 0
    assert s["passed"] + s["waiting"] + s["unexpectedly_passing"] == len(doc["scenarios"])
    one = next(x for x in doc["scenarios"] if x["file"].endswith("tcp_handshake.ct"))
    assert one["result"] == "passed" and one["failure"] is None
    assert [t["ctinfo"] for t in one["trace"]] == ["new", "established", "established"]
    assert any("ESTABLISHED" in line for line in one["table"])


def test_failure_shows_diff_and_packet(tmp_path):
    f = tmp_path / "wrong.ct"
    f.write_text("# title: wrong on purpose\n# source: test\n"
                 "host c 10.0.1.2\nhost s 10.0.2.2\n"
                 "+0 c > s udp 1000 > 53\n"
                 "expect entry udp c:1000 > s:53 timeout 120 status ASSURED\n")
    res = scenario("run", f, check=1)
    out = res.stdout
    assert f"{f} F" in out
    assert f"{f}:6: expect entry udp c:1000 > s:53 timeout 120 status ASSURED" in out
    assert "after the packet of line 5: +0 c > s udp 1000 > 53" in out
    assert "timeout: expected 120 (±1), got 30" in out
    assert "status: ASSURED expected, not set" in out
    assert out.strip().endswith("0 passed, 1 failed, 0 waiting")


def test_waiting_and_unexpectedly_passing(tmp_path):
    """A waiting scenario that passes fails the run, so that its marker gets
    removed; the waiting ones are listed in the summary, not only counted."""
    base = "host c 10.0.1.2\nhost s 10.0.2.2\n+0 c > s udp 1000 > 53\n"
    (tmp_path / "a.ct").write_text("# waits-for: issue-99\n" + base + "expect ctinfo related\n")
    (tmp_path / "b.ct").write_text("# waits-for: issue-98\n" + base + "expect ctinfo new\n")
    res = scenario("run", tmp_path, check=1)
    assert f"{tmp_path}/a.ct x" in res.stdout
    assert f"{tmp_path}/b.ct X" in res.stdout
    assert (f"unexpectedly passing (it waits for issue-98): {tmp_path}/b.ct: "
            "remove its waits-for line" in res.stdout)
    assert f"waiting: {tmp_path}/a.ct (waits for issue-99)" in res.stdout
    assert "0 passed, 0 failed, 1 waiting, 1 unexpectedly passing" in res.stdout
    doc = json.loads(scenario("run", "--json", tmp_path, check=1).stdout)
    assert doc["summary"]["unexpectedly_passing"] == 1
    # waiting alone is not a failure, and stays visible
    (tmp_path / "b.ct").unlink()
    res = scenario("run", tmp_path, check=0)
    assert f"waiting: {tmp_path}/a.ct (waits for issue-99)" in res.stdout
    assert res.stdout.strip().endswith("0 passed, 0 failed, 1 waiting")


def test_table_setting_after_ruleset_applies(tmp_path):
    """nf_conntrack_buckets after a ruleset line still shapes the table: with one
    bucket the fifth flow finds the four others to early-drop; with the
    262144-bucket default it would find none and be dropped."""
    text = (CATALOGUE / "table_full_early_drop.ct").read_text()
    text = text.replace("set nf_conntrack_max 4\n",
                        "ruleset default\nset nf_conntrack_max 4\n")
    assert text.index("ruleset default") < text.index("set nf_conntrack_buckets 1")
    (tmp_path / "late_set.ct").write_text(text)
    scenario("run", tmp_path / "late_set.ct", check=0)


MALFORMED = [
    ("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > x udp 1 > 2\n",
     'bad.ct:3:8-8: Error: unknown host "x"\n+0 c > x udp 1 > 2\n       ^\n'),
    ("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > s udp 1 - 2\n",
     'bad.ct:3:16-16: Error: expected ">" between the ports (e.g. udp 40000 > 80)\n'
     "+0 c > s udp 1 - 2\n               ^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\nc > s tcp 1 > 2 [SX]\n",
     "bad.ct:3:19-19: Error: unknown TCP flag 'X' (S SYN, F FIN, R RST, P PSH, . ACK, U URG, "
     "E ECE, W CWR)\nc > s tcp 1 > 2 [SX]\n                  ^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\n@2 c > s udp 1 > 2\n@1 c > s udp 1 > 2\n",
     "bad.ct:4:1-2: Error: time goes backwards: @1 is before the previous step (2.000 s)\n"
     "@1 c > s udp 1 > 2\n^^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\nexpect colour blue\n",
     'bad.ct:3:8-13: Error: unknown expectation "colour" (verdict, ctinfo, invalid, entry, '
     "no entry, table, events, expectations, expect-events, stats, count)\n"
     "expect colour blue\n       ^^^^^^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\nexpect expectations\n",
     "bad.ct:3:21-21: Error: expect expectations { ... }: the lines follow, up to a line with "
     "just }\nexpect expectations\n                    ^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\ninsert expect tcp s:0 > c:5000 timeout 3\n",
     "bad.ct:3:42-42: Error: insert expect TUPLE master TUPLE [timeout N]: the master is "
     "missing\ninsert expect tcp s:0 > c:5000 timeout 3\n" + " " * 41 + "^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\ninsert expect icmp s > c master tcp c:1 > s:21\n",
     "bad.ct:3:15-18: Error: expectations here are for TCP/UDP-like tuples with ports (e.g. "
     "tcp s:0 > c:50000)\ninsert expect icmp s > c master tcp c:1 > s:21\n" + " " * 14 +
     "^^^^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\nset nf_bogus 1\n",
     'bad.ct:3:5-12: Error: unknown setting "nf_bogus"\nset nf_bogus 1\n    ^^^^^^^^\n'),
    ("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > s udp 1 > 2\nset nf_conntrack_buckets 16\n",
     "bad.ct:4:5-24: Error: nf_conntrack_buckets shapes the table when it is created: set it "
     "at time 0, before the first packet, advance, insert, delete or flush\n"
     "set nf_conntrack_buckets 16\n    " + "^" * 20 + "\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\nruleset {\ntable inet t {\n\tchain f {\n"
     "\t\ttype filter hook forward priority filter; policy acept;\n\t}\n}\n}\n",
     "bad.ct:6:52-56: Error: policy must be accept or drop\n"
     "\t\ttype filter hook forward priority filter; policy acept;\n"
     "\t\t                                                 ^^^^^\n"),
    # issue 17 robustness 10: data escapes and NUL bytes were taken silently
    ("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > s udp 1 > 2 data \"\\x\"\n",
     "bad.ct:3:26-27: Error: data: \\x needs two hex digits (escapes: \\r \\n \\t \\\\ "
     "\\xHH with two hex digits)\n+0 c > s udp 1 > 2 data \"\\x\"\n" + " " * 25 + "^^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > s udp 1 > 2 data \"a\\qb\"\n",
     "bad.ct:3:27-28: Error: data: unknown escape (escapes: \\r \\n \\t \\\\ "
     "\\xHH with two hex digits)\n+0 c > s udp 1 > 2 data \"a\\qb\"\n" + " " * 26 + "^^\n"),
    ("host c 10.0.0.1\nhost s 10.0.0.2\n# a comment\0 and what follows\n+0 c > s udp 1 > 2\n",
     "bad.ct:3:12-12: Error: a NUL byte: a scenario is text (write bytes in data \"...\" as "
     "\\x00)\n# a comment\n" + " " * 11 + "^\n"),
]


@pytest.mark.parametrize("text,err", MALFORMED,
                         ids=["host", "packet", "tcpflag", "time", "expect", "expect-block",
                              "insert-expect-master", "insert-expect-proto", "set", "set-buckets-late",
                              "ruleset", "data-x", "data-escape", "nul-byte"])
def test_malformed_is_located_and_nothing_runs(tmp_path, text, err):
    (tmp_path / "bad.ct").write_text(text)
    # a good file next to it does not run either
    (tmp_path / "good.ct").write_text("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > s udp 1 > 2\n")
    res = scenario("run", "bad.ct", "good.ct", check=1, cwd=tmp_path)
    assert res.stdout == ""
    assert res.stderr == err + "ctsim scenario: 1 error in 1 file; nothing was run\n"


def test_export_pcap(tmp_path):
    out = tmp_path / "x.pcap"
    scenario("export", CATALOGUE / "tcp_handshake.ct", "--pcap", out, check=0)
    res = subprocess.run([str(CTSIM), "replay", str(out)], capture_output=True, text=True)
    assert "ESTABLISHED" in res.stdout and "ctsim replay: 3 packets" in res.stderr


needs_kernel = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("conntrack"),
    reason="needs root, nft and conntrack")

# One of each kind the lab must carry like the offline run: UDP, ICMP echo (v4
# and v6), an ICMP error RELATED to its flow, a TCP handshake and close, a
# packet dropped before confirmation, a ruleset reload during the run; and one
# that needs virtual time (skipped, with its reason).
LIVE_SUBSET = ["udp_unreplied.ct", "udp_replied_stream.ct", "icmp_echo.ct", "icmpv6_echo.ct",
               "icmp_port_unreach_related.ct", "tcp_handshake.ct", "tcp_fin_timewait.ct",
               "unconfirmed_drop.ct", "ruleset_reload_keeps_entries.ct",
               "tcp_syn_sent_expires.ct"]


def test_live_and_kernel_exclude_each_other():
    res = scenario("run", "--live", "--kernel", CATALOGUE, check=2)
    assert "exclude each other" in res.stderr


@needs_kernel
def test_live_subset_agrees_with_offline():
    """ctsim scenario run --live: the same packets through a lab built from
    each scenario's hosts give the offline run's verdicts, table, events and
    statistics."""
    files = [str(CATALOGUE / f) for f in LIVE_SUBSET]
    p = subprocess.Popen([str(CTSIM), "scenario", "run", "--live", *files],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prefix = "lv%04x" % (p.pid % 0xffff)      # the driver exec()s in place: same pid
    try:
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        left = subprocess.run(["ip", "netns", "list"], capture_output=True,
                              text=True).stdout.split()
        for ns in left:
            if ns.startswith(prefix):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert not [ns for ns in left if ns.startswith(prefix)], left
    assert p.returncode == 0, out + err
    lines = dict(line.split(" ", 1) for line in out.splitlines() if line.startswith("/"))
    for f in files[:-1]:
        assert lines.get(f) == "agree", out + err
    assert lines[files[-1]].startswith("skipped: needs virtual time"), out
    assert out.strip().endswith(f"{len(files) - 1} agree, 0 differ, 0 errors, 1 skipped; "
                                "0 non-waiting differences; 0 waiting, 0 unexpectedly passing"), out


def test_live_compare_reports_differences():
    """The comparison itself: a verdict, an entry and an event that differ
    are all reported (no lab needed)."""
    import live_scenarios   # ctsim/scenario/, on sys.path through conftest.py
    entry = ("udp      17 29 src=10.0.1.2 dst=10.0.2.2 sport=1 dport=2 [UNREPLIED] "
             "src=10.0.2.2 dst=10.0.1.2 sport=2 dport=1 mark=0 use=1")
    exp = ("300 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=5000 mask-src=255.255.255.255 "
           "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.1.2 "
           "master-dst=10.0.2.2 sport=1 dport=21 class=0 helper=ftp")
    sim = {"trace": [{"line": 3, "ctinfo": "new", "verdict": "drop"}], "table": [],
           "events": [], "stats": "cpu=0 found=0 invalid=0 drop=0\n", "expectations": [exp]}
    live = ([{"line": 3, "verdict": "accept"}], [entry], ["[NEW] " + entry],
            "cpu=0 found=0 invalid=0 drop=0\n", [])
    d = live_scenarios.compare(sim, live)
    assert "line 3: verdict: offline drop, live accept" in d
    assert "conntrack -L (- offline, + live):\n+ udp 17 29" in d
    assert "conntrack -L expect (- offline, + live):\n- 300 proto=6" in d
    assert "conntrack -E" in d
    # timeouts within 2 s and the address family column are normalised away
    sim = {"trace": [], "table": [entry], "events": [], "stats": "", "expectations": [exp]}
    assert live_scenarios.compare(sim, ([], ["ipv4     2 " + entry.replace("29", "27", 1)],
                                        [], "", [exp.replace("300", "298", 1)])) == ""


@needs_kernel
def test_catalogue_agrees_with_kernel():
    res = subprocess.run([sys.executable, str(ROOT / "ctsim" / "scenario" / "kernel_scenarios.py"),
                          "--ctsim", str(CTSIM), "--json", str(CATALOGUE)],
                         capture_output=True, text=True, timeout=300)
    doc = json.loads(res.stdout)
    bad = [r for r in doc["scenarios"]
           if r["result"] in ("disagree", "error") and not r["waits_for"]
           or r["unexpectedly_passing"]]
    assert not bad, "\n\n".join(f"{r['file']}:\n{r['why']}" for r in bad)
    skipped = [r for r in doc["scenarios"] if r["result"] == "skipped"]
    assert all(r["why"] for r in skipped)
    assert res.returncode == 0, res.stderr


def test_kernel_unexpected_pass_fails(tmp_path):
    """--kernel: a waiting scenario that passes in ctsim and agrees with the
    kernel has nothing left to wait for: the run fails, and the waiting ones
    are named in the summary."""
    base = ("host c 10.66.1.2 side client\nhost s 10.66.2.2 side server\n"
            "+0 c > s udp 1000 > 53\n")
    (tmp_path / "a.ct").write_text("# waits-for: issue-99\n" + base + "expect ctinfo related\n")
    (tmp_path / "b.ct").write_text("# waits-for: issue-98\n" + base + "expect ctinfo new\n")
    driver = [sys.executable, str(ROOT / "ctsim" / "scenario" / "kernel_scenarios.py"),
              "--ctsim", str(CTSIM)]
    res = subprocess.run(driver + [str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert (f"unexpectedly passing (it waits for issue-98): {tmp_path}/b.ct: "
            "remove its waits-for line") in res.stdout, res.stdout
    assert f"waiting: {tmp_path}/a.ct (waits for issue-99): kernel agree" in res.stdout
    assert "1 waiting, 1 unexpectedly passing" in res.stdout
    res = subprocess.run(driver + ["--json", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert [r["unexpectedly_passing"] for r in doc["scenarios"]] == [False, True]
    assert doc["summary"]["unexpectedly_passing"] == 1 and doc["summary"]["waiting"] == 1


@needs_kernel
def test_live_unexpected_pass_fails(tmp_path):
    """--live: as --kernel, a waiting scenario that ctsim passes and the lab
    agrees with fails the run and is named; the still-waiting ones are
    listed with what the lab made of them."""
    base = ("host c 10.66.1.2 side client\nhost s 10.66.2.2 side server\n"
            "+0 c > s udp 1000 > 53\n")
    (tmp_path / "a.ct").write_text("# waits-for: issue-99\n" + base + "expect ctinfo related\n")
    (tmp_path / "b.ct").write_text("# waits-for: issue-98\n" + base + "expect ctinfo new\n")
    res = subprocess.run([str(CTSIM), "scenario", "run", "--live", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert (f"unexpectedly passing (it waits for issue-98): {tmp_path}/b.ct: "
            "remove its waits-for line") in res.stdout, res.stdout
    assert f"waiting: {tmp_path}/a.ct (waits for issue-99): live agree" in res.stdout
    assert res.stdout.rstrip().endswith("1 waiting, 1 unexpectedly passing"), res.stdout


def test_kernel_verdicts_compared():
    """--kernel compares verdicts through what reached the hosts (a helper's
    drop is invisible to any nft chain of the router): a packet one side
    dropped and the other forwarded is a disagreement, both dropping or
    both sending is not."""
    import kernel_scenarios     # ctsim/scenario/, on sys.path through conftest.py
    sim = {"trace": [{"line": 3, "ctinfo": "established", "verdict": "drop", "out": []},
                     {"line": 4, "ctinfo": "established", "verdict": "accept", "out": ["s:45"]},
                     {"line": 5, "ctinfo": "new", "verdict": "drop", "out": []}],
           "table": [], "events": [], "stats": "", "expectations": [], "exp_events": []}
    kern = {"trace": [{"line": 3, "ctinfo": "established", "out": ["s:45"]},
                      {"line": 4, "ctinfo": "established", "out": []},
                      {"line": 5, "ctinfo": "new", "out": []}],
            "table": [], "events": [], "stats": "", "expectations": [], "exp_events": []}
    d = kernel_scenarios.compare(sim, kern).splitlines()
    assert d == ["line 3: verdict: ctsim drop (0 packet(s) sent), kernel forwarded or "
                 "answered (1 packet(s) sent)",
                 "line 4: verdict: ctsim accept (1 packet(s) sent), kernel dropped "
                 "(0 packet(s) sent)"], d


def test_verbose_shows_what_the_helper_did():
    """-v tells, per packet, what the conntrack helper made of it."""
    res = scenario("run", "-v", CATALOGUE / "ftp_port_partial.ct", check=0)
    lines = res.stdout.splitlines()
    cut = next(x for x in lines if 'data "PORT 10,66,1,2,19"' in x)
    assert "-> drop" in cut and "dropped by the conntrack helper" in cut
    assert "helper ftp: partial matching (packet dropped)" in cut
    whole = next(x for x in lines if 'data "PORT 10,66,1,2,195,80' in x)
    assert "-> accept" in whole and "helper ftp: 1 new expectation" in whole
    res = scenario("run", "-v", CATALOGUE / "ftp_first_command_ignored.ct", check=0)
    first = next(x for x in res.stdout.splitlines() if 'PORT 10,66,1,2,195,80' in x)
    assert "helper ftp: not at a line start, not parsed" in first


def test_verbose_names_the_invalid_reason():
    """-v says why conntrack marked a packet INVALID, not only that the ruleset
    dropped it (the default ruleset drops ct state invalid)."""
    res = scenario("run", "-v", CATALOGUE / "tcp_invalid_flags.ct", check=0)
    line = next(x for x in res.stdout.splitlines() if "[SF]" in x)
    assert "-> drop, ct state invalid (invalid tcp flag combination): dropped by the ruleset" \
        in line, line
