# SPDX-License-Identifier: GPL-2.0-or-later
"""The classroom lab: real programs in network namespaces talk through ctsim
(TUN devices, the hook ladder, the default ruleset), and conntrack shows it."""
import os
import re
import signal
import subprocess
import time

import pytest

from labutil import (CTSIM, HTTP_SERVE, ROUTER4, SERVER4, SERVER6, UDP_ASK, UDP_ECHO,  # noqa: F401
                      CLIENT4, lab, lab_factory, wait_port)


def test_namespaces_and_addresses(lab):
    out = lab.run("client", "ip", "-o", "addr", "show", "dev", "ct-c0", check=True).stdout
    assert f"{CLIENT4}/24" in out and "fd77:1::2/64" in out
    routes = lab.run("client", "ip", "route", check=True).stdout
    assert "default dev ct-c0" in routes


def test_ping_through_ctsim(lab):
    lab.run("client", "ping", "-c", "2", "-W", "2", SERVER4, check=True)
    icmp = [e for e in lab.entries() if e.startswith("icmp ") and f"dst={SERVER4}" in e]
    assert len(icmp) == 1, icmp
    assert "[UNREPLIED]" not in icmp[0] and "type=8 code=0" in icmp[0], icmp


def test_ping6_through_ctsim(lab):
    lab.run("client", "ping", "-6", "-c", "1", "-W", "2", SERVER6, check=True)
    assert any(e.startswith("icmpv6") and f"dst={SERVER6}" in e for e in lab.entries())


def test_ctsim_answers_pings_to_itself(lab):
    """Packets for ctsim's own address take the INPUT path; the reply is
    generated locally and runs OUTPUT and POSTROUTING."""
    lab.run("client", "ping", "-c", "1", "-W", "2", ROUTER4, check=True)
    icmp = [e for e in lab.entries() if f"dst={ROUTER4}" in e]
    assert len(icmp) == 1 and "[UNREPLIED]" not in icmp[0], icmp


def test_udp_request_reply(lab):
    lab.start("server", "/usr/bin/python3", "-c", UDP_ECHO, SERVER4, "5353")
    wait_port(lab, "server", "udp", 5353)
    res = lab.run("client", "/usr/bin/python3", "-c", UDP_ASK, SERVER4, "5353", "40000",
                  check=True)
    assert res.stdout.strip() == "hello"
    udp = [e for e in lab.entries("-p", "udp") if "dport=5353" in e]
    assert len(udp) == 1 and "sport=40000" in udp[0] and "[UNREPLIED]" not in udp[0], udp


def test_tcp_http(lab):
    lab.start("server", "/usr/bin/python3", "-c", HTTP_SERVE, SERVER4, "8080")
    wait_port(lab, "server", "tcp", 8080)
    res = lab.run("client", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                  f"http://{SERVER4}:8080/", check=True)
    assert res.stdout == "200"
    tcp = [e for e in lab.entries("-p", "tcp") if "dport=8080" in e]
    assert len(tcp) == 1 and "[ASSURED]" in tcp[0], tcp


def test_default_ruleset_blocks_new_from_outside(lab):
    """The default ruleset lets the client side open connections, not the
    server side (pings aside): a UDP datagram from the server is dropped in
    FORWARD, before confirmation, so it leaves no entry."""
    lab.start("client", "/usr/bin/python3", "-c", UDP_ECHO, CLIENT4, "7000")
    wait_port(lab, "client", "udp", 7000)
    res = lab.run("server", "/usr/bin/python3", "-c", UDP_ASK, CLIENT4, "7000", "40002")
    assert res.returncode != 0 and "timed out" in res.stderr, res
    assert not [e for e in lab.entries() if f"src={SERVER4}" in e]
    # The same exchange started by the client works.
    lab.start("server", "/usr/bin/python3", "-c", UDP_ECHO, SERVER4, "7001")
    wait_port(lab, "server", "udp", 7001)
    lab.run("client", "/usr/bin/python3", "-c", UDP_ASK, SERVER4, "7001", "40003", check=True)


def test_ruleset_drop_leaves_no_entry(lab_factory, tmp_path):
    rules = tmp_path / "r.nft"
    rules.write_text("table inet t {\n"
                     "  chain f { type filter hook forward priority 0; policy accept;\n"
                     "    udp dport 9999 drop\n  }\n}\n")
    lab = lab_factory(["--ruleset", str(rules)])
    lab.run("client", "/usr/bin/python3", "-c", UDP_ASK, SERVER4, "9999", "40001")
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    entries = lab.entries()
    assert not [e for e in entries if "dport=9999" in e], entries
    assert [e for e in entries if e.startswith("icmp")], entries


def test_events_of_lab_traffic(lab):
    mon = lab.d.popen(["conntrack", "-E", "-p", "icmp"])
    time.sleep(0.3)
    try:
        lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
        time.sleep(0.3)
    finally:
        mon.terminate()
        out, _ = mon.communicate(timeout=10)
    lines = [l for l in out.splitlines() if l.strip()]
    assert lines and re.search(r"\[NEW\] icmp\s+1 30 src=10\.77\.1\.2 dst=10\.77\.2\.2 type=8",
                               lines[0]), out
    assert any("[UPDATE]" in l for l in lines[1:]), out


def test_lab_down_after_crash(ctsim_factory):
    prefix = "ctk%04x-" % (os.getpid() % 0xffff)
    d = ctsim_factory(["--lab", "--lab-prefix", prefix])
    d.stop(signal.SIGKILL)          # a crash: nothing cleaned up
    os.unlink(d.socket)
    assert f"{prefix}client" in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                text=True).stdout
    res = subprocess.run([CTSIM, "lab", "down", "--prefix", prefix], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0 and f"removed netns {prefix}client" in res.stdout
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                        text=True).stdout


def test_lab_down_removes_only_dead_labs(ctsim_factory):
    """`ctsim lab down --prefix P` (issue 17 robustness 6) removes only the
    namespaces a ctsim lab made whose process is gone: never a running
    lab's, never a namespace that merely starts with P (not even with an
    empty prefix); starting a lab over a foreign namespace is refused."""
    prefix = "ctd%04x-" % (os.getpid() % 0xffff)
    other = prefix + "other"

    def netns():
        return subprocess.run(["ip", "netns", "list"], capture_output=True,
                              text=True).stdout.split()

    def down(p):
        return subprocess.run([CTSIM, "lab", "down", "--prefix", p], capture_output=True,
                              text=True, timeout=30)

    subprocess.run(["ip", "netns", "add", other], check=True)
    try:
        d = ctsim_factory(["--lab", "--lab-prefix", prefix])
        for p in (prefix, ""):
            res = down(p)
            assert res.returncode == 0, res.stderr
            assert f"left netns {prefix}client: the running lab of process" in res.stderr
            assert {other, prefix + "client", prefix + "server"} <= set(netns()), res.stdout
        assert d.alive
        d.stop(signal.SIGKILL)          # a crash: nothing cleaned up
        os.unlink(d.socket)
        res = down(prefix)
        assert res.returncode == 0 and f"removed netns {prefix}client" in res.stdout, res
        left = netns()
        assert other in left and prefix + "client" not in left, left
        # a foreign namespace under a lab's name: refused, not deleted
        subprocess.run(["ip", "netns", "add", prefix + "client"], check=True)
        res = subprocess.run([CTSIM, "--lab", "--lab-prefix", prefix, "--socket",
                              f"/tmp/ctd{os.getpid()}.sock"], capture_output=True, text=True,
                             timeout=30)
        assert res.returncode != 0 and \
            f"network namespace {prefix}client exists and was not made by ctsim" in \
            res.stderr, res.stderr
        assert prefix + "client" in netns()
    finally:
        for n in (other, prefix + "client", prefix + "server"):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def test_removed_tun_device_does_not_spin(lab_factory):
    """A lab interface deleted under the daemon (`ip -n NS link del ct-c0`,
    issue 17 robustness 5): its reads fail with EBADFD for good; the daemon
    stops polling it, says so once, and keeps serving the rest (it used to
    keep the dead device in its loop)."""
    from test_fd_exhaustion import cpu_ticks
    lab = lab_factory()
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    subprocess.run(["ip", "-n", lab.prefix + "client", "link", "del", "ct-c0"], check=True)
    time.sleep(0.3)
    pid, hz = lab.d.proc.pid, os.sysconf("SC_CLK_TCK")
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(1.0)
    used = (cpu_ticks(pid) - c0) / hz / (time.monotonic() - t0)
    print(f"daemon CPU after the device went: {used:.1%}")
    assert used < 0.3, f"daemon used {used:.0%} CPU after its TUN device went"
    # the other host is still routed to (ctsim answers its ping), ctnetlink serves
    lab.run("server", "ping", "-c", "1", "-W", "2", "10.77.2.1", check=True)
    assert lab.d.conntrack("-L").returncode == 0
    assert lab.d.alive
    log = lab.d.stderr_text()
    assert log.count("ct-c0 of host client failed") == 1, log


def test_capture_write_error_reported_when_it_happens(lab_factory):
    """--capture on a full disk (/dev/full: every write fails with ENOSPC,
    issue 17 robustness 11): the error is reported once while the daemon
    runs, not only at shutdown, and routing goes on."""
    lab = lab_factory(["--capture", "/dev/full"])
    # 4 x 2 x ~1.4 kB: past stdio's buffer, so a write happens
    lab.run("client", "ping", "-c", "4", "-i", "0.2", "-s", "1400", "-W", "2", SERVER4,
            check=True)
    deadline = time.monotonic() + 3
    while "capture stopped" not in lab.d.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = lab.d.stderr_text()
    assert log.count("capture stopped") == 1, log
    assert "No space left on device" in log, log
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    assert lab.d.alive


def test_ruleset_reload_on_sighup(lab_factory, tmp_path):
    """SIGHUP swaps the ruleset atomically and keeps the table; a broken
    file is reported (located) and the old ruleset stays."""
    rules = tmp_path / "r.nft"
    drop = ("table inet t {\n  chain f { type filter hook forward priority 0; policy accept;\n"
            "    icmp type echo-request drop\n  }\n}\n")
    rules.write_text(drop)
    lab = lab_factory(["--ruleset", str(rules)])
    assert lab.run("client", "ping", "-c", "1", "-W", "1", SERVER4).returncode != 0
    lab.run("client", "ping", "-6", "-c", "1", "-W", "2", SERVER6, check=True)
    before = lab.entries()

    rules.write_text(drop.replace("drop\n", "accept\n", 1))
    r = lab.d.ctctl("reload")           # the same as SIGHUP, from ctctl
    assert r.returncode == 0, r.stderr
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    after = lab.entries()
    # The table survived the reload: the IPv6 ping's entry is still there.
    v6 = [e for e in before if e.startswith("icmpv6")]
    assert len(v6) == 1 and v6[0].split()[4:] == \
        [e for e in after if e.startswith("icmpv6")][0].split()[4:], (before, after)
    assert [e for e in after if e.startswith("icmp ")], after

    rules.write_text("table inet t {\n  chain f { type filter hook forwrd priority 0; }\n}\n")
    lab.d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    log = lab.d.stderr_text()
    assert f"{rules}:2:" in log and "old one stays" in log, log
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)


def test_ruleset_replaced_by_a_directory_keeps_the_old_one(lab_factory, tmp_path):
    """issue 17, robustness 3: a ruleset file replaced by a directory reloaded
    as the empty ruleset on SIGHUP, and the firewall failed open. The reload
    is refused (file name: reason) and the old ruleset keeps dropping."""
    rules = tmp_path / "r.nft"
    rules.write_text("table inet t {\n  chain f { type filter hook forward priority 0; "
                     "policy accept;\n    icmp type echo-request drop\n  }\n}\n")
    lab = lab_factory(["--ruleset", str(rules)])
    assert lab.run("client", "ping", "-c", "1", "-W", "1", SERVER4).returncode != 0
    rules.unlink()
    rules.mkdir()
    lab.d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    log = lab.d.stderr_text()
    assert f'Could not open file "{rules}": Is a directory' in log and "old one stays" in log, log
    assert lab.run("client", "ping", "-c", "1", "-W", "1", SERVER4).returncode != 0


def test_capture_then_replay_gives_the_same_table(lab_factory, tmp_path):
    """`--capture` records what the hosts send; `ctsim replay` of that file
    runs the same pipeline offline and ends with the same table."""
    from conftest import assert_conntrack_equal
    cap = tmp_path / "lab.pcap"
    lab = lab_factory(["--capture", str(cap)])
    lab.start("server", "/usr/bin/python3", "-c", UDP_ECHO, SERVER4, "5353")
    lab.start("server", "/usr/bin/python3", "-c", HTTP_SERVE, SERVER4, "8080")
    wait_port(lab, "server", "udp", 5353)
    wait_port(lab, "server", "tcp", 8080)
    lab.run("client", "/usr/bin/python3", "-c", UDP_ASK, SERVER4, "5353", "40010", check=True)
    lab.run("client", "curl", "-s", "-o", "/dev/null", f"http://{SERVER4}:8080/", check=True)
    lab.run("client", "ping", "-c", "1", "-W", "2", SERVER4, check=True)
    lab.run("client", "ping", "-6", "-c", "1", "-W", "2", SERVER6, check=True)
    live = lab.d.conntrack("-L", "-o", "extended")
    assert live.returncode == 0
    assert lab.d.stop() == 0           # flushes the capture file
    res = subprocess.run([CTSIM, "replay", str(cap)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert_conntrack_equal(live.stdout, res.stdout, tolerance=3, exact_use=False,
                           what="live table vs replay of its capture")


REJECT_RULES = """table inet t {
  chain f {
    type filter hook forward priority 0; policy accept;
    tcp dport 9000 reject with tcp reset
    udp dport 9001 reject
    udp dport 9002 reject with icmpx admin-prohibited
  }
}
"""
CONNECT = ("import socket,sys\n"
           "s=socket.socket(); s.settimeout(3)\n"
           "try:\n    s.connect((sys.argv[1], int(sys.argv[2]))); print('connected')\n"
           "except ConnectionRefusedError: print('refused')\n"
           "except OSError as e: print(type(e).__name__, e.errno)\n")
UDP_TRY = ("import socket,sys\n"
           "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)\n"
           "s.connect((sys.argv[1], int(sys.argv[2]))); s.send(b'x')\n"
           "try:\n    s.recv(10); print('answer')\n"
           "except ConnectionRefusedError: print('refused')\n"
           "except OSError as e: print(type(e).__name__, e.errno)\n")


def test_reject_statements(lab_factory, tmp_path):
    """`reject with tcp reset` answers with an RST, `reject` with ICMP port
    unreachable, `icmpx admin-prohibited` with ICMP type 3 code 13: the
    client sees at once what a real router would make it see."""
    rules = tmp_path / "r.nft"
    rules.write_text(REJECT_RULES)
    lab = lab_factory(["--ruleset", str(rules)])
    assert lab.run("client", "/usr/bin/python3", "-c", CONNECT, SERVER4, "9000",
                   check=True).stdout.strip() == "refused"
    assert lab.run("client", "/usr/bin/python3", "-c", UDP_TRY, SERVER4, "9001",
                   check=True).stdout.strip() == "refused"
    # admin-prohibited is EHOSTUNREACH (113) for a connected UDP socket
    assert lab.run("client", "/usr/bin/python3", "-c", UDP_TRY, SERVER4, "9002",
                   check=True).stdout.strip() == "OSError 113"
    # The rejected packets were dropped before confirmation: no entries.
    assert not [e for e in lab.entries() if "dport=900" in e], lab.entries()


def test_topology_file_three_hosts(ctsim_factory, tmp_path):
    topo = tmp_path / "three.topo"
    topo.write_text("# a client, a server and a DMZ host\n"
                    "host client ct-c0 10.77.1.2/24 10.77.1.1 fd77:1::2/64 fd77:1::1\n"
                    "host server ct-s0 10.77.2.2/24 10.77.2.1\n"
                    "host dmz    ct-s1 10.77.3.2/24 10.77.3.1\n")
    prefix = "ctt%04x-" % (os.getpid() % 0xffff)
    d = ctsim_factory(["--lab", "--topology", str(topo), "--lab-prefix", prefix])
    try:
        res = subprocess.run(["ip", "netns", "exec", prefix + "client", "ping", "-c", "1",
                              "-W", "2", "10.77.3.2"], capture_output=True, text=True, timeout=20)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "dst=10.77.3.2" in d.conntrack("-L").stdout
    finally:
        d.stop()
        subprocess.run([CTSIM, "lab", "down", "--prefix", prefix], capture_output=True)
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                        text=True).stdout


@pytest.mark.parametrize("text,where,msg", [
    ("host client ct-c0 10.77.1.2/24\n", "1:1", "expected: host NAME IFNAME"),
    ("host client ct-c0 10.77.1.2 10.77.1.1\n", "1:19", "is not an IPv4 address/prefix"),
    ("hots client ct-c0 10.77.1.2/24 10.77.1.1\n", "1:1", 'unknown keyword "hots"'),
    ("host a ct-c0 10.77.1.2/24 10.77.1.1\nhost b ct-c0 10.77.2.2/24 10.77.2.1\n", "2:6",
     "given twice"),
    # a host name is cut to fit the namespace name nowhere: refused (the
    # second line keeps a build without the check from bringing a lab up)
    ("host " + "h" * 24 + " ct-c0 10.77.1.2/24 10.77.1.1\nhots\n", "1:6",
     "is longer than 23 characters"),
    # issue 17 robustness 10: a name with a '/' made a namespace path
    ("host cl/ient ct-c0 10.77.1.2/24 10.77.1.1\nhots\n", "1:8",
     "use letters, digits, '.', '_' and '-'"),
])
def test_topology_file_errors(tmp_path, text, where, msg):
    topo = tmp_path / "bad.topo"
    topo.write_text(text)
    res = subprocess.run([CTSIM, "--socket", str(tmp_path / "s"), "--lab", "--topology",
                          str(topo)], capture_output=True, text=True, timeout=20)
    assert res.returncode == 2
    assert f"{topo}:{where}: " in res.stderr and msg in res.stderr, res.stderr
    assert not os.path.exists(tmp_path / "s")


def test_python_http_server_and_host_names(lab):
    """The lab's hosts know each other by name (/etc/netns/NS/hosts) and
    name lookups fail at once instead of waiting for an unreachable DNS
    server, so `python3 -m http.server` (which looks its own name up
    before listening) starts at once, and `curl http://server:8080/` works."""
    lab.start("server", "/usr/bin/python3", "-m", "http.server", "8080", "--bind", SERVER4)
    wait_port(lab, "server", "tcp", 8080, limit=5.0)
    res = lab.run("client", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                  "http://server:8080/", check=True)
    assert res.stdout == "200"
    lab.run("client", "ping", "-c", "1", "-W", "2", "server", check=True)
