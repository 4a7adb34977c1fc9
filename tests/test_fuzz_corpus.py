# SPDX-License-Identifier: GPL-2.0-or-later
"""The fuzzing regression corpus (docs/testing.md, "Fuzzing").

Every target of ``tests/fuzz/`` (``fuzz_<t>.c``) is built by meson, with any
compiler, as ``tests/fuzz/replay_<t>``: its ``LLVMFuzzerTestOneInput()`` run
once per file given.  Here each replay executable of the ASan+UBSan build
runs over ``tests/fuzz/corpus/<t>/`` (inputs that once crashed, leaked or
over-read, and a small set of inputs with interesting coverage); asserted:
exit 0 and no sanitizer report.  A new target needs no edit here, only its
corpus directory.
"""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, SANITIZER_ENV, _sanitizer_report

CORPUS = Path(__file__).resolve().parent / "fuzz" / "corpus"
# The ASan+UBSan tree, as in test_helper_corpus.py.
ASAN_BUILD = Path(os.environ.get("CTSIM_ASAN_BUILD",
                                 BUILD if "asan" in BUILD.name else ROOT / "build-asan"))

TARGETS = sorted(p.stem[len("fuzz_"):]
                 for p in (ROOT / "tests" / "fuzz").glob("fuzz_*.c"))


def test_every_target_has_a_corpus():
    assert TARGETS, "no tests/fuzz/fuzz_*.c"
    for t in TARGETS:
        assert any((CORPUS / t).glob("*")), f"tests/fuzz/corpus/{t}/ is empty"


@pytest.mark.parametrize("target", TARGETS)
def test_replay(target):
    exe = ASAN_BUILD / "tests" / "fuzz" / f"replay_{target}"
    assert exe.exists(), f"{exe} not built (meson compile -C {ASAN_BUILD})"
    files = sorted(str(p) for p in (CORPUS / target).iterdir() if p.is_file())
    env = dict(os.environ, **SANITIZER_ENV)
    # Halt on the first UBSan report too, so the failing file is the last named.
    env["UBSAN_OPTIONS"] = env.get("UBSAN_OPTIONS", "") + ":halt_on_error=1"
    r = subprocess.run([str(exe)] + files, capture_output=True, text=True,
                       errors="replace", env=env, timeout=300)
    report = _sanitizer_report(r.stderr)
    last = [l for l in r.stderr.splitlines() if l.startswith("replay ")][-1:]
    assert r.returncode == 0 and report is None, (
        f"replay_{target} exit {r.returncode}, last input {last}:\n{r.stderr[-6000:]}")
    assert sum(1 for l in r.stderr.splitlines() if l.startswith("replay ")) == len(files)
