# SPDX-License-Identifier: GPL-2.0-or-later
"""An installed ctsim works on its own, without the source or build tree.

``ctsim scenario run --kernel`` is a product feature: its driver
(kernel_scenarios.py, installed into LIBEXECDIR/ctsim by meson) must be
found without the source or build tree. The test installs the build with
``meson install --destdir``, then runs the installed ctsim in a mount
namespace where the whole checkout (sources and build trees) is covered by
an empty tmpfs, on a scenario copied out of the checkout.

The same way (issue 15, part 4): the installed ctsim-exec preloads the
installed shim (in the private $libdir/ctsim/) and never the build tree's,
also when the installed tree is moved; the installed tree has the man
pages, the bash completion (found by bash-completion's loader), the systemd
unit, the docs and the scenarios.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, CONNTRACK, ROOT, SANITIZER_ENV, _sanitizer_report

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


def _tree(dest):
    """The installed prefix in @dest (…/usr/local, or whatever prefix the
    build was configured with): the directory holding bin/ctsim."""
    return next(dest.rglob("bin/ctsim")).parent.parent


def test_installed_tree_layout(tmp_path):
    """`meson install`: the shim in a private $libdir/ctsim/, man pages in
    sections 1, 5 and 8, the bash completion for the three programs, the
    systemd unit with /run/ctsim as its RuntimeDirectory, docs and scenarios;
    the installed ctsim-exec names no build or source tree."""
    _install(tmp_path / "dest")
    dest = tmp_path / "dest"
    prefix = _tree(dest)
    shims = [p for p in dest.rglob("libctsim_shim.so*")]
    assert len(shims) == 1, shims
    rel = shims[0].relative_to(prefix).parts    # lib[/TRIPLET]/ctsim/libctsim_shim.so
    assert rel[0].startswith("lib") and rel[-2] == "ctsim", shims
    for page in ("man8/ctsim.8", "man8/ctctl.8", "man1/ctsim-exec.1",
                 "man5/ctsim-scenario.5", "man5/ctsim-ruleset.5"):
        assert (prefix / "share" / "man" / page).is_file(), page
    comp = list(dest.rglob("bash-completion/completions/ctsim"))
    assert len(comp) == 1, comp
    for name in ("ctctl", "ctsim-exec"):
        link = comp[0].parent / name
        assert link.is_symlink() and link.resolve() == comp[0].resolve(), link
    units = list(dest.rglob("systemd/system/ctsim.service"))
    assert len(units) == 1, units
    unit = units[0].read_text()
    assert "RuntimeDirectory=ctsim\n" in unit, unit
    m = re.search(r"^ExecStart=(\S+)", unit, re.M)
    assert m and (dest / m[1].lstrip("/")).is_file(), unit
    assert (prefix / "share" / "doc" / "ctsim" / "lab.md").is_file()
    assert not (prefix / "share" / "doc" / "ctsim" / "meson.build").exists()
    assert (prefix / "share" / "ctsim" / "scenarios" / "icmp_echo.ct").is_file()
    text = (prefix / "bin" / "ctsim-exec").read_text()
    assert str(BUILD) not in text and str(ROOT) not in text, text


@needs_root
def test_installed_ctsim_exec_uses_the_installed_shim(tmp_path):
    """The installed tree moved elsewhere, the checkout (sources and build
    trees) hidden: ctsim-exec preloads the moved tree's shim and the real
    conntrack talks to the installed ctsim through it."""
    _install(tmp_path / "dest")
    moved = tmp_path / "moved"
    shutil.move(str(tmp_path / "dest"), moved)
    prefix = _tree(moved)
    shim = next(moved.rglob("libctsim_shim.so"))
    sock = tmp_path / "ct.sock"
    script = f"""
set -e
{prefix}/bin/ctsim-exec sh -c 'echo "preload=$LD_PRELOAD"'
{prefix}/bin/ctsim --socket {sock} 2>{tmp_path}/ctsim.log &
pid=$!
for i in $(seq 100); do [ -S {sock} ] && break; sleep 0.05; done
{prefix}/bin/ctctl --socket {sock} add tcp src 10.9.0.1 dst 10.9.0.2 sport 1 dport 2 timeout 60
{prefix}/bin/ctsim-exec --socket {sock} {CONNTRACK} -L 2>/dev/null
kill $pid; wait $pid || true
"""
    env = dict(os.environ, **SANITIZER_ENV, CTSIM_EXEC_NOCHECK="1", LD_PRELOAD="")
    env.pop("CTSIM_SHIM", None)
    res = subprocess.run(_hidden_checkout(["sh", "-c", script]), capture_output=True,
                         text=True, timeout=120, env=env)
    assert not _sanitizer_report(res.stderr), res.stderr
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"preload={shim}\n" in res.stdout, res.stdout
    assert "src=10.9.0.1 dst=10.9.0.2 sport=1 dport=2" in res.stdout, res.stdout + res.stderr


def test_installed_completion_is_found_by_bash_completion(tmp_path):
    """bash-completion loads completions/NAME on the first Tab for NAME,
    from DIR/bash-completion/completions for each DIR of $XDG_DATA_DIRS
    (/usr/local/share:/usr/share by default): the installed datadir there
    is enough for all three programs."""
    _install(tmp_path / "dest")
    prefix = _tree(tmp_path / "dest")
    res = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c",
         "source /usr/share/bash-completion/bash_completion\n"
         "for p in ctsim ctctl ctsim-exec; do __load_completion $p; complete -p $p; done"],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PATH=f"{prefix}/bin:{os.environ['PATH']}",
                 XDG_DATA_DIRS=f"{prefix}/share", BASH_COMPLETION_USER_DIR=str(tmp_path / "none")))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["complete -F _ctsim ctsim", "complete -F _ctctl ctctl",
                                       "complete -F _ctsim_exec ctsim-exec"], res.stdout
