# SPDX-License-Identifier: GPL-2.0-or-later
"""An installed ctsim runs the kernel differential on its own.

``ctsim scenario run --kernel`` is a product feature: its driver
(kernel_scenarios.py, installed into LIBEXECDIR/ctsim by meson) must be
found without the source or build tree. The test installs the build with
``meson install --destdir``, then runs the installed ctsim in a mount
namespace where the whole checkout (sources and build trees) is covered by
an empty tmpfs, on a scenario copied out of the checkout.
"""

import os
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, SANITIZER_ENV, _sanitizer_report

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("conntrack")
    or not shutil.which("unshare"),
    reason="needs root, nft, conntrack and unshare (mount namespaces)")


def _install(destdir):
    res = subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(destdir),
                          "--quiet"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    bins = list(destdir.rglob("bin/ctsim"))
    drivers = list(destdir.rglob("libexec/ctsim/kernel_scenarios.py"))
    assert len(bins) == 1 and len(drivers) == 1, (bins, drivers)
    return bins[0]


def _hidden_checkout(cmd):
    """Run @cmd (a list) with the checkout unreachable: a private mount
    namespace with a tmpfs over ROOT (which holds the build trees too)."""
    script = 'mount -t tmpfs ctsim-hidden "$1" && shift && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            str(ROOT), *cmd]


@needs_root
def test_installed_scenario_run_kernel(tmp_path):
    ctsim = _install(tmp_path / "dest")
    # the installed tree elsewhere still works (a relocated prefix)
    moved = tmp_path / "moved"
    shutil.move(str(tmp_path / "dest"), moved)
    ctsim = moved / ctsim.relative_to(tmp_path / "dest")
    sc = tmp_path / "icmp_echo.ct"
    shutil.copy(ROOT / "scenarios" / "icmp_echo.ct", sc)
    env = dict(os.environ, **SANITIZER_ENV)
    # the checkout is out of sight: ls on it shows nothing
    res = subprocess.run(_hidden_checkout(["ls", "-A", str(ROOT)]), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and res.stdout == "", res.stdout + res.stderr
    res = subprocess.run(_hidden_checkout([str(ctsim), "scenario", "run", "--kernel", str(sc)]),
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert not _sanitizer_report(res.stderr), res.stderr
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{sc} agree" in res.stdout, res.stdout
    assert "1 agree, 0 disagree, 0 errors" in res.stdout, res.stdout


@needs_root
@pytest.mark.skipif(os.path.exists("/usr/local/libexec/ctsim"),
                    reason="a ctsim is installed in /usr/local: its drivers would be found")
def test_installed_without_driver_says_where(tmp_path):
    """No driver next to the binary nor in the configured libexecdir: one
    clear line naming the file and the places looked at, exit 1."""
    ctsim = _install(tmp_path / "dest")
    for d in (tmp_path / "dest").rglob("libexec/ctsim"):
        shutil.rmtree(d)
    sc = tmp_path / "icmp_echo.ct"
    shutil.copy(ROOT / "scenarios" / "icmp_echo.ct", sc)
    res = subprocess.run(_hidden_checkout([str(ctsim), "scenario", "run", "--kernel", str(sc)]),
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, **SANITIZER_ENV))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "kernel_scenarios.py" in res.stderr and "libexec/ctsim" in res.stderr, res.stderr
