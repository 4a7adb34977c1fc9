#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctsim replay` of the benchmark workload with a masquerade ruleset, as a
ratio to the same replay without NAT (target <= 1.2).

The workload is bench_replay.py's: ../shared/bench/gen_tcp_pcap.py N W
(100 000 TCP connections of 9 packets, client 10.0.x.y -> server
192.168.0.z:80). With NAT the server's packets must go to the masqueraded
address and port, as they would on a real wire, so the NAT run replays a
derived capture:

1. the client's packets alone are replayed with the NAT ruleset and
   ``--output``: the k-th SYN leaving the router carries the k-th
   connection's translated source port (the replay is deterministic and the
   ports chosen depend only on which reply tuples are taken, the same in
   both passes: nothing expires within the capture's second);
2. the capture is rewritten: every server packet goes to the router's
   address on ct-s0 (10.77.2.1, the lab's default that replay uses) and the
   connection's translated port, checksums recomputed.

Then, alternating, --runs times each:

    ctsim replay tcp100k.pcap --ruleset base.nft          (no NAT)
    ctsim replay tcp100k-nat.pcap --ruleset masq.nft      (base + masquerade)

base.nft is the built-in default ruleset (`ctsim ruleset show default`);
masq.nft adds `table ip nat { chain post { type nat hook postrouting
priority srcnat; oifname "ct-s0" masquerade } }`. Both runs must end with
the same number of entries, all TIME_WAIT (checked: a NAT run whose replies
miss would be cheaper and meaningless). Prints the medians and their ratio.

Usage:
    tests/bench/bench_replay_nat.py --ctsim-build DIR [--runs 5] [--conns 100000]
        [--window 10000] [--workdir DIR]
Needs no root.
"""

import argparse
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_replay import ROOT, make_pcap  # noqa: E402

ROUTER = bytes([10, 77, 2, 1])
NAT_TABLE = """
table ip benchnat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "ct-s0" masquerade
	}
}
"""


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def read_pcap(path):
    """(header, [(record header, frame bytes)], link type)."""
    raw = Path(path).read_bytes()
    hdr, off, out = raw[:24], 24, []
    linktype = struct.unpack("<I", hdr[20:24])[0]
    while off < len(raw):
        rec = raw[off:off + 16]
        incl = struct.unpack("<I", rec[8:12])[0]
        out.append((rec, raw[off + 16:off + 16 + incl]))
        off += 16 + incl
    return hdr, out, linktype


def write_pcap(path, hdr, recs):
    with open(path, "wb") as f:
        f.write(hdr)
        for rec, frame in recs:
            f.write(rec[:8] + struct.pack("<II", len(frame), len(frame)) + frame)


def l3_of(frame, linktype):
    return 14 if linktype == 1 else 0


def derive(ctsim, pcap, masq, workdir):
    out = Path(workdir) / (pcap.stem + "-nat.pcap")
    if out.exists() and out.stat().st_mtime > pcap.stat().st_mtime:
        return out
    hdr, recs, lt = read_pcap(pcap)
    off = l3_of(None, lt)
    client = [(r, f) for r, f in recs if f[off + 12] == 10]
    c2s = Path(workdir) / (pcap.stem + "-c2s.pcap")
    first = Path(workdir) / (pcap.stem + "-c2s-out.pcap")
    write_pcap(c2s, hdr, client)
    subprocess.run([str(ctsim), "replay", str(c2s), "--ruleset", str(masq), "--output",
                    str(first)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    _, outs, olt = read_pcap(first)
    syn_ports = [struct.unpack("!H", f[20:22])[0] for _, f in outs
                 if f[9] == 6 and f[33] == 0x02]
    conns = {}
    for r, f in client:
        ihl = (f[off] & 15) * 4
        if f[off + ihl + 13] == 0x02:
            key = (f[off + 12:off + 16], f[off + ihl:off + ihl + 2])
            conns[key] = syn_ports[len(conns)]
    assert len(conns) == len(syn_ports), (len(conns), len(syn_ports))
    new = []
    for r, f in recs:
        if f[off + 12] != 10:           # server -> client: to the router's address and port
            f = bytearray(f)
            ihl = (f[off] & 15) * 4
            key = (bytes(f[off + 16:off + 20]), bytes(f[off + ihl + 2:off + ihl + 4]))
            f[off + 16:off + 20] = ROUTER
            f[off + ihl + 2:off + ihl + 4] = struct.pack("!H", conns[key])
            f[off + 10:off + 12] = b"\0\0"
            f[off + 10:off + 12] = struct.pack("!H", csum(bytes(f[off:off + ihl])))
            tlen = struct.unpack("!H", f[off + 2:off + 4])[0]
            seg = f[off + ihl:off + tlen]
            seg[16:18] = b"\0\0"
            pseudo = bytes(f[off + 12:off + 20]) + struct.pack("!BBH", 0, 6, len(seg))
            seg[16:18] = struct.pack("!H", csum(pseudo + bytes(seg)))
            f[off + ihl:off + tlen] = seg
            f = bytes(f)
        new.append((r, f))
    write_pcap(out, hdr, new)
    return out


def run_once(ctsim, pcap, ruleset):
    t0 = time.perf_counter()
    res = subprocess.run([str(ctsim), "replay", str(pcap), "--ruleset", str(ruleset)],
                         capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"ctsim replay failed: {res.stderr}")
    lines = [x for x in res.stdout.splitlines() if x.startswith("ipv4")]
    tw = sum(" TIME_WAIT " in x for x in lines)
    return dt, len(lines), tw, res.stderr.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ctsim-build", default=os.environ.get("CTSIM_BUILD", ROOT / "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=100000)
    ap.add_argument("--window", type=int, default=10000)
    ap.add_argument("--workdir", default="/tmp")
    args = ap.parse_args()

    ctsim = Path(args.ctsim_build) / "ctsim" / "ctsim"
    pcap = make_pcap(args.workdir, args.conns, args.window)
    base = Path(args.workdir) / "bench-nat-base.nft"
    masq = Path(args.workdir) / "bench-nat-masq.nft"
    text = subprocess.run([str(ctsim), "ruleset", "show", "default"], capture_output=True,
                          text=True, check=True).stdout
    base.write_text(text)
    masq.write_text(text + NAT_TABLE)
    natpcap = derive(ctsim, pcap, masq, args.workdir)

    run_once(ctsim, pcap, base)                 # warm the page cache
    run_once(ctsim, natpcap, masq)
    t_base, t_nat = [], []
    for _ in range(args.runs):
        dt, n0, tw0, s0 = run_once(ctsim, pcap, base)
        t_base.append(dt)
        dt, n1, tw1, s1 = run_once(ctsim, natpcap, masq)
        t_nat.append(dt)
        if not (n0 == n1 == tw0 == tw1 == args.conns):
            sys.exit(f"the runs disagree: without NAT {n0} entries ({tw0} TIME_WAIT), "
                     f"with NAT {n1} ({tw1} TIME_WAIT); expected {args.conns}")
    mb, mn = statistics.median(t_base), statistics.median(t_nat)
    print(f"ctsim replay, {9 * args.conns} packets, {args.conns} connections "
          f"(load avg {os.getloadavg()[0]:.2f})")
    print(f"  without NAT (s): {' '.join(f'{t:.3f}' for t in t_base)}   median {mb:.3f}")
    print(f"  masquerade  (s): {' '.join(f'{t:.3f}' for t in t_nat)}   median {mn:.3f}")
    print(f"  ratio: {mn / mb:.3f}   target <= 1.2 -> {'met' if mn / mb <= 1.2 else 'NOT met'}")
    print(f"  {s1}")


if __name__ == "__main__":
    main()
