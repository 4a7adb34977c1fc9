#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Initial fuzzing corpora from the checkout's own test material.

    tests/fuzz/make_seeds.py OUTDIR

writes OUTDIR/{packet,ctnetlink,ruleset,scenario}/: the helper payloads of
tests/helper_corpus/ as fuzz_packet records (with their preambles), the
requests conntrack sent in tests/unit/vectors/kernel_vectors.h as
fuzz_ctnetlink datagrams, every *.nft ruleset and every scenario (whose
inline rulesets are rulesets too). These are starting points for
`fuzz_<t> OUTDIR/<t>`, not the regression corpus (tests/fuzz/corpus/).
"""
import json
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# fuzz_common.h's fz_services[], by (proto, port).
SERVICES = [("tcp", 21), ("udp", 69), ("tcp", 6667), ("tcp", 1723), ("udp", 5060),
            ("tcp", 5060), ("udp", 10080), ("tcp", 6566), ("udp", 137), ("udp", 161)]


def record(svc, reply, payload, v6=False):
    ctl = svc | (0x10 if reply else 0) | (0x20 if v6 else 0)
    return bytes([ctl]) + struct.pack(">H", len(payload)) + payload


def packet_seeds(out):
    for d in sorted((ROOT / "tests/helper_corpus").iterdir()):
        meta = json.loads((d / "meta.json").read_text())
        svc = SERVICES.index((meta["proto"], meta["port"]))
        pre = b""
        if "preamble_steps" in meta:
            for direction, hx in meta["preamble_steps"]:
                pre += record(svc, direction == "reply", bytes.fromhex(hx))
        else:
            if "preamble_reply" in meta:
                pre += record(svc, True, meta["preamble_reply"].encode())
            if "preamble_orig" in meta:
                pre += record(svc, False, meta["preamble_orig"].encode())
        for f in sorted(d.glob("*.bin")):
            reply = "reply-" in f.name
            body = pre + record(svc, reply, f.read_bytes())
            (out / f"{d.name}-{f.stem}").write_bytes(b"\x01" + body)


def netlink_seeds(out):
    text = (ROOT / "tests/unit/vectors/kernel_vectors.h").read_text()
    for m in re.finditer(r"static const uint8_t v_(\w+_tx\d+)\[\][^{]*\{([^}]*)\}", text):
        data = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", m.group(2)))
        (out / m.group(1)).write_bytes(struct.pack(">H", len(data)) + data)


def text_seeds(out_rs, out_sc):
    for f in list(ROOT.glob("docs/examples/*.nft")) + list(ROOT.glob("tests/**/*.nft")):
        (out_rs / f.name).write_bytes(f.read_bytes())
    for f in sorted(ROOT.glob("scenarios/*.ct")):
        text = f.read_text()
        (out_sc / f.name).write_text(text)
        # ruleset { ... } blocks of scenarios: rulesets too
        for i, m in enumerate(re.finditer(r"^ruleset\s*\{\n(.*?)^\}", text, re.S | re.M)):
            (out_rs / f"{f.stem}-{i}.nft").write_text(m.group(1))


def main():
    out = Path(sys.argv[1])
    dirs = {t: out / t for t in ("packet", "ctnetlink", "ruleset", "scenario")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    packet_seeds(dirs["packet"])
    netlink_seeds(dirs["ctnetlink"])
    text_seeds(dirs["ruleset"], dirs["scenario"])
    for t, d in dirs.items():
        print(t, len(list(d.iterdir())))


if __name__ == "__main__":
    main()
