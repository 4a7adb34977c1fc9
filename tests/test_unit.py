# SPDX-License-Identifier: GPL-2.0-or-later
"""The C unit tests (cmocka, meson suite 'unit') as one pytest test, so
that they count in the pytest summary."""

import subprocess

from conftest import BUILD


def test_meson_unit_suite():
    assert (BUILD / "build.ninja").exists(), f"{BUILD} is not a meson build tree"
    res = subprocess.run(["meson", "test", "-C", str(BUILD), "--suite", "unit",
                          "--print-errorlogs"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-8000:] + res.stderr[-4000:]
