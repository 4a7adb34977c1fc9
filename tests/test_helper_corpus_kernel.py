# SPDX-License-Identifier: GPL-2.0-or-later
"""The helper corpus (tests/helper_corpus/) through a kernel router too
(issue 17): meta.json says which payloads "the kernel drops"; here the
kernel says it. Each directory's generated scenario (the one
test_helper_corpus.py runs through ctsim) is replayed by
kernel_scenarios.kernel_run(): per payload, whether anything reached the
other host (a helper's drop happens in nf_confirm(), after every nft
chain, so only the receiving host sees it) must match meta.json's "drop"
list, and the whole run must agree with ctsim's (ct states, verdicts,
expectations, events, statistics: kernel_scenarios.compare()).

meta.json's "kernel_differs": {FILE: REASON} names the payloads where ctsim
departs from the kernel on purpose (docs/helpers.md, "Deliberate
differences") or where a difference is known and open. They are left out
of the directory's run and each is run alone instead, where the difference
must show: when the kernel stops differing, the entry has to go.

A helper the machine's kernel does not have loaded (no
/sys/module/nf_conntrack_<helper>; nothing can load it from inside this
test) must be named in its meta.json under "kernel_lacks": the test then
proves the kernel still lacks it instead of comparing."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD
import kernel_scenarios                  # ctsim/scenario/, on sys.path through conftest.py
import test_helper_corpus as hc

CTSIM = BUILD / "ctsim" / "ctsim"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("conntrack"),
    reason="needs root, nft and conntrack")


def ctsim_json(*args):
    res = subprocess.run([str(CTSIM), "scenario", *args, "--json"], capture_output=True,
                         text=True, timeout=300)
    assert res.stdout, res.stderr
    return json.loads(res.stdout)


def both(path, d, meta, files):
    """ctsim's and the kernel's runs of @files; (where, kernel run, diff)."""
    text, where = hc.scenario(d, meta, files)
    # 50 ms between packets instead of 1: the kernel run reads its probe
    # counters after each packet (an nft call); at 1 ms it falls seconds
    # behind on a loaded machine and the remaining timeouts drift apart
    path.write_text(text.replace("\n+0.001 ", "\n+0.05 "))
    exp = ctsim_json("export", str(path))
    sim = ctsim_json("run", str(path))["scenarios"][0]
    for _ in (1, 2):            # a kernel run that fell behind the clock: once more
        kern = kernel_scenarios.kernel_run(exp, max_duration=120)
        diff = kernel_scenarios.compare(sim, kern)
        if not diff or kern["max_lag"] < 1:
            break
    return where, kern, diff


def kernel_attaches(meta):
    """Can nft attach @meta's helper in a fresh namespace of this kernel?"""
    ns = f"hck{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        res = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], text=True,
                             capture_output=True, input=(
                                 f'table inet t {{ ct helper h {{ type "{meta["helper"]}" '
                                 f'protocol {meta["proto"]}; }} }}\n'))
        return res.returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", ns])


def helper_loaded(meta):
    """True when the kernel side can run. A helper this kernel lacks (not
    loaded, and nft cannot attach it) must be named in meta.json's
    "kernel_lacks" with the reason; then the comparison is replaced by the
    proof that the kernel still lacks it (so the entry fails, and must go,
    once the kernel has the helper)."""
    module = "nf_conntrack_" + meta["helper"].replace("-", "_")
    lacks = meta.get("kernel_lacks")
    if Path("/sys/module", module).exists():
        assert not lacks, f"the kernel has {module} now: remove kernel_lacks from meta.json"
        return True
    assert lacks, f"the kernel has no {module} and meta.json does not say so (kernel_lacks)"
    assert not kernel_attaches(meta), (f"nft attaches {meta['helper']} although {module} is "
                                       "not loaded: compare, and remove kernel_lacks")
    return False


@pytest.mark.parametrize("name", [d.name for d in hc.corpus_dirs()])
def test_corpus_dir_against_kernel(name, tmp_path):
    d = hc.CORPUS / name
    meta = hc.load_meta(d)
    if not helper_loaded(meta):
        return          # the kernel lacks the helper: helper_loaded() proved it
    differs = meta.get("kernel_differs", {})
    files = [f for f in hc.payload_files(d) if f not in differs]
    where, kern, diff = both(tmp_path / f"corpus-{name}.ct", d, meta, files)
    trace = {t["line"]: t for t in kern["trace"]}
    wrong = []
    for f in files:
        dropped = not trace[where[f][1]]["out"]
        if dropped != (f in meta.get("drop", [])):
            wrong.append(f"{f}: kernel {'dropped' if dropped else 'forwarded'} it, meta.json "
                         f"says {'drop' if f in meta.get('drop', []) else 'accept'}")
    assert not wrong, "\n".join(wrong) + "\n\nkernel vs ctsim:\n" + diff
    # the positive controls prove the kernel attached the helper at all
    for f in (f for f in files if f.startswith("good-")):
        assert [ln for ln in kern["expectations"] if (m := hc.MASTER_RE.search(ln))
                and int(m.group(1)) == where[f][0]], (f, kern["expectations"])
    assert not diff, diff


def differing():
    out = []
    for d in hc.corpus_dirs():
        for f in hc.load_meta(d).get("kernel_differs", {}):
            out.append(pytest.param(d.name, f, id=f"{d.name}/{f}"))
    return out


@pytest.mark.parametrize("name,payload", differing())
def test_documented_difference_shows(name, payload, tmp_path):
    d = hc.CORPUS / name
    meta = hc.load_meta(d)
    if not helper_loaded(meta):
        return
    assert payload in hc.payload_files(d), f"{name}/meta.json: kernel_differs: no {payload}"
    _, _, diff = both(tmp_path / "one.ct", d, meta, [payload])
    assert diff, (f"{name}/{payload}: the kernel now agrees with ctsim; remove it from "
                  f"kernel_differs ({meta['kernel_differs'][payload]})")
