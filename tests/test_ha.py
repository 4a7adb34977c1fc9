# SPDX-License-Identifier: GPL-2.0-or-later
"""The high-availability pair (issue 14, docs/ha.md): two ctsim lab routers,
active and backup, each its own daemon and namespaces, with conntrackd FTFW
between them; failover = `conntrackd -c` on the backup.

The two labs use the same addresses (as two routers of one HA pair serve
the same client and server). A TCP connection lives through the active
router; on the backup (nf_conntrack_tcp_loose=0, the stateful default
ruleset) a mid-stream segment of it is INVALID and dropped until the commit,
and forwarded as ESTABLISHED after it; the backup's entry then matches the
active one's. No kernel conntrack table is touched.
"""

import re
import subprocess
import time

import pytest

from conftest import CTSIM_EXEC, KernelNetns
from labutil import PY, SERVER4, CLIENT4, lab_factory, wait_port  # noqa: F401
from test_clients import FTFW_CONF

PORT, SPORT = 8080, 40123

SERVE = ("import socket\n"
         "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         f"s.bind(('{SERVER4}', {PORT})); s.listen(1)\n"
         "c,_=s.accept()\n"
         "while True:\n"
         "    d=c.recv(100)\n"
         "    if not d: break\n"
         "    c.sendall(d)\n")
CLIENT = ("import socket,time\n"
          f"s=socket.create_connection(('{SERVER4}', {PORT}), source_address=('', {SPORT}))\n"
          "s.sendall(b'before'); print(s.recv(100).decode(), flush=True)\n"
          "time.sleep(60)\n")
# Watch for the mid-stream segment at the server (a raw TCP socket sees
# every TCP packet the host receives).
WATCH = ("import socket,struct,sys,time\n"
         "r=socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)\n"
         "r.settimeout(0.2); end=time.time()+float(sys.argv[1])\n"
         "print('ready', flush=True)\n"
         "while time.time()<end:\n"
         "    try: p=r.recv(2000)\n"
         "    except socket.timeout: continue\n"
         "    h=(p[0]&15)*4; sp,dp=struct.unpack('!HH',p[h:h+4])\n"
         f"    if (sp,dp)==({SPORT},{PORT}) and p[h+(p[h+12]>>4)*4:]==b'after':\n"
         "        print('GOT', flush=True); break\n")
SEND = ("from scapy.all import IP,TCP,send\n"
        f"send(IP(src='{CLIENT4}',dst='{SERVER4}')/TCP(sport={SPORT},dport={PORT},"
        "flags='PA',seq=1000000,ack=2000000)/b'after', verbose=0)\n")


def counter(lab, rule):
    """Packets counted by the forward chain's rule containing @rule."""
    res = subprocess.run([CTSIM_EXEC.parent.parent / "ctctl" / "ctctl", "--socket",
                          lab.d.socket, "ruleset"], capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stderr
    fwd = res.stdout.split("chain forward", 1)[1]
    for line in fwd.splitlines():
        if rule in line:
            return int(re.search(r"packets (\d+)", line).group(1))
    raise AssertionError(res.stdout)


def segment_reaches_server(lab):
    w = subprocess.Popen(["ip", "netns", "exec", lab.ns("server"), PY, "-c", WATCH, "3"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert w.stdout.readline().strip() == "ready"
        lab.run("client", PY, "-c", SEND, check=True, timeout=30)
        out, _ = w.communicate(timeout=10)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    return "GOT" in out


def conn_line(lab):
    for line in lab.entries():
        if f"sport={SPORT} dport={PORT}" in line:
            return line
    return None


def norm(line):
    return re.sub(r"^(\S+\s+\d+) \d+", r"\1 T", line)     # the remaining timeout


def test_ha_failover(lab_factory, tmp_path):
    active = lab_factory(tag="haa")
    backup = lab_factory(extra=["--set", "nf_conntrack_tcp_loose=0"], tag="hab")
    sync_ns = KernelNetns()     # conntrackd's sync link: lo, 127.0.0.1 <-> 127.0.0.2
    confs = []
    try:
        for name, lab, me, peer in (("a", active, "127.0.0.1", "127.0.0.2"),
                                    ("b", backup, "127.0.0.2", "127.0.0.1")):
            d = tmp_path / name
            d.mkdir()
            conf = d / "conntrackd.conf"
            conf.write_text(FTFW_CONF.format(d=d, me=me, peer=peer))
            confs.append(conf)
            res = sync_ns.run([CTSIM_EXEC, "--socket", lab.d.socket, "conntrackd", "-d",
                               "-C", conf])
            assert res.returncode == 0, res.stderr
        for conf in confs:
            for _ in range(100):
                if (conf.parent / "conntrackd.sock").exists():
                    break
                time.sleep(0.05)
        time.sleep(0.5)

        # a long-lived connection through the active router
        active.start("server", PY, "-c", SERVE)
        wait_port(active, "server", "tcp", PORT)
        cl = active.start("client", PY, "-c", CLIENT)
        for _ in range(100):
            line = conn_line(active)
            if line and "ASSURED" in line:
                break
            time.sleep(0.05)
        assert line and "ESTABLISHED" in line and "ASSURED" in line, (line, active.bg_logs())
        assert cl.poll() is None

        # the backup's external cache has it; its table does not yet
        ext = ""
        for _ in range(100):
            ext = subprocess.run(["conntrackd", "-C", confs[1], "-e"], capture_output=True,
                                 text=True, timeout=30).stdout
            if f"sport={SPORT}" in ext:
                break
            time.sleep(0.1)
        assert f"sport={SPORT} dport={PORT}" in ext, ext
        assert conn_line(backup) is None

        # control: without the commit the backup drops the mid-stream segment
        inv = counter(backup, "ct state invalid")
        assert not segment_reaches_server(backup)
        assert counter(backup, "ct state invalid") == inv + 1
        assert conn_line(backup) is None

        # failover: commit the external cache into the backup's table
        res = subprocess.run(["conntrackd", "-C", confs[1], "-c"], capture_output=True,
                             text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        for _ in range(50):
            if conn_line(backup):
                break
            time.sleep(0.1)
        b_line, a_line = conn_line(backup), conn_line(active)
        assert b_line and norm(b_line.split(" mark=")[0]) == norm(a_line.split(" mark=")[0]), \
            (a_line, b_line)

        est = counter(backup, "ct state established")
        assert segment_reaches_server(backup)
        # the segment, and the backup server's RST (it has no socket for it)
        assert counter(backup, "ct state established") > est
        assert counter(backup, "ct state invalid") == inv + 1

        # no kernel table was used anywhere
        for ns in [sync_ns.name] + [lab.ns(h) for lab in (active, backup)
                                    for h in ("client", "server")]:
            res = subprocess.run(["ip", "netns", "exec", ns, "conntrack", "-C"],
                                 capture_output=True, text=True)
            assert res.stdout.strip() == "0", (ns, res)
    finally:
        for conf in confs:
            subprocess.run(["conntrackd", "-C", conf, "-k"], capture_output=True, timeout=30)
        sync_ns.delete()
