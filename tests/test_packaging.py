# SPDX-License-Identifier: GPL-2.0-or-later
"""ctsim installed like a Debian tool (issue 15, part 4).

* Every subcommand's ``--help`` exits 0 on stdout and names every option the
  code accepts: the verbs are read from the C tables (ctsim/main.c's
  ``subcommands[]``, ctctl/main.c's ``ctctl_cmds[]``), the options from the
  ``struct option`` tables and ``strcmp(argv[i], "--x")`` tests of each
  verb's cmd_*.c.
* The man pages (docs/man/*.scd, built by scdoc) render with
  ``man -l --warnings`` silently and name every verb and option.
* The bash completion (docs/packaging/bash-completion/ctsim) is registered
  for the three programs, and completes the verbs of the C tables.
* tests/tools/build-deb.sh builds the .deb (dpkg-buildpackage, about 40 s),
  which holds the whole installed tree and works unpacked with ``dpkg -x``
  anywhere. Installing it on a fresh Debian 12 is
  tests/tools/deb-fresh-check.sh (minutes: outside the suite).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, CTCTL_BIN, CTSIM_BIN, ROOT

MAN_PAGES = ["ctsim.8", "ctctl.8", "ctsim-exec.1", "ctsim-scenario.5", "ctsim-ruleset.5"]
COMPLETION = ROOT / "docs" / "packaging" / "bash-completion" / "ctsim"
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")


def _src(path):
    return (ROOT / path).read_text()


def ctsim_subcommands():
    """(verb, cmd function) rows of ctsim/main.c's subcommands[] table."""
    text = _src("ctsim/main.c")
    table = text[text.index("subcommands[] = {"):]
    table = table[:table.index("\n};")]
    rows = re.findall(r'\{\s*"([a-z-]+)",\s*(cmd_\w+),', table)
    assert len(rows) >= 5, rows
    return rows


def ctctl_verbs():
    """{verb: [aliases], ...} and the shell-only verbs, from ctctl_cmds[]."""
    text = _src("ctctl/main.c")
    table = text[text.index("ctctl_cmds[] = {"):]
    table = table[:table.index("\n};")]
    verbs, shell_only = {}, set()
    for m in re.finditer(r'\{\s*"([a-z-]+)",\s*\{\s*([^}]*)\}, (\w+),(.*?)(true|false)\s*\},',
                         table, re.S):
        verbs[m[1]] = re.findall(r'"([a-z-]+)"', m[2])
        if m[5] == "true":
            shell_only.add(m[1])
    assert {"list", "expect", "advance", "help", "quit"} <= set(verbs), verbs
    return verbs, shell_only


def code_options(path):
    """The options a C file accepts: its struct option tables' long names
    (as --name) and the "-x"/"--xyz" literals it compares argv words with."""
    text = _src(path)
    opts = {"--" + n for n in re.findall(
        r'\{\s*"([a-z][a-z-]*)",\s*(?:no|required|optional)_argument', text)}
    opts |= set(re.findall(r'strcmp\(argv\[[^]]+\],\s*"(--?[a-zA-Z][a-z-]*)"\)', text))
    return opts - {"--help", "-h"}


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=60, **kw)


def usage_subverbs(help_text, verb):
    """The sub-verbs shown by `ctsim VERB --help`'s usage lines
    ("ctsim VERB a|b|c ..."): the all-lowercase alternatives."""
    subs = []
    for m in re.finditer(rf"^(?:[Uu]sage:)?\s*ctsim {verb} (\S+)", help_text, re.M):
        alts = m[1].split("|")
        if all(re.fullmatch(r"[a-z][a-z-]*", a) for a in alts):
            subs += [a for a in alts if a not in subs]
    return subs


# --- --help -------------------------------------------------------------------

def test_ctsim_help_names_every_verb_and_option():
    res = run([CTSIM_BIN, "--help"])
    assert res.returncode == 0 and res.stderr == "", res.stderr
    for verb, _ in ctsim_subcommands():
        assert re.search(rf"^\s*ctsim {verb}\b", res.stdout, re.M), verb
    missing = [o for o in code_options("ctsim/main.c") if not re.search(
        rf"(?<![\w-]){re.escape(o)}(?![\w-])", res.stdout)]
    assert not missing, f"ctsim --help does not show {missing}"


@pytest.mark.parametrize("verb,fn", ctsim_subcommands())
def test_ctsim_subcommand_help(verb, fn):
    """`ctsim VERB --help` and `ctsim VERB SUB --help`: usage on stdout, exit
    0, nothing on stderr; every option of cmd_VERB.c is in it."""
    res = run([CTSIM_BIN, verb, "--help"])
    assert res.returncode == 0, (verb, res.returncode, res.stderr)
    assert res.stderr == "" and f"ctsim {verb}" in res.stdout, (res.stdout, res.stderr)
    for sub in usage_subverbs(res.stdout, verb):
        sres = run([CTSIM_BIN, verb, sub, "--help"])
        assert sres.returncode == 0 and sres.stderr == "", (verb, sub, sres.stderr)
        assert re.search(rf"ctsim {verb} (\S*\|)?{sub}\b", sres.stdout), (verb, sub, sres.stdout)
    src = f"ctsim/{fn}.c"
    assert (ROOT / src).exists(), f"{verb}: its code is not in {src}"
    missing = [o for o in sorted(code_options(src)) if not re.search(
        rf"(?<![\w-]){re.escape(o)}(?![\w-])", res.stdout)]
    assert not missing, f"ctsim {verb} --help does not show {missing}:\n{res.stdout}"


def test_ctctl_help_of_every_verb():
    verbs, shell_only = ctctl_verbs()
    res = run([CTCTL_BIN, "help"])
    assert res.returncode == 0, res.stderr
    top = run([CTCTL_BIN, "--help"])
    assert top.returncode == 0 and top.stderr == "", top.stderr
    for verb, aliases in verbs.items():
        if verb in shell_only:
            continue
        assert re.search(rf"^  {verb}\b", res.stdout, re.M), verb
        assert re.search(rf"\b{verb}\b", top.stdout), verb
        for form in ([verb, "--help"], [verb, "-h"], ["help", verb], *[[a, "--help"] for a in aliases]):
            r = run([CTCTL_BIN, "--socket", "/nonexistent/ct.sock", *form])
            assert r.returncode == 0 and r.stderr == "", (form, r.returncode, r.stderr)
            assert r.stdout.startswith(f"Usage: ctctl {verb}"), (form, r.stdout)
    missing = [o for o in code_options("ctctl/main.c") if o not in top.stdout]
    assert not missing, f"ctctl --help does not show {missing}"


# --- man pages -------------------------------------------------------------------

def _man(page):
    path = BUILD / "docs" / page
    assert path.exists(), f"{path} not built (scdoc missing? tests/setup-deps.sh installs it)"
    res = subprocess.run(["man", "-l", "--warnings", str(path)], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="",
                                              LC_ALL="C.UTF-8"))
    return res


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(page):
    res = _man(page)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", f"man --warnings on {page}:\n{res.stderr}"
    name = page.rsplit(".", 1)[0]
    assert re.search(rf"^NAME\n\s+{re.escape(name)} - ", res.stdout, re.M), res.stdout[:300]
    assert "SEE ALSO" in res.stdout


def test_man_pages_name_every_verb_and_option():
    """ctsim(8) and ctctl(8) follow the C tables: a verb or an option added
    to the code and not to the page fails here."""
    ctsim8 = _man("ctsim.8").stdout
    for verb, fn in ctsim_subcommands():
        assert re.search(rf"^ {{7}}{verb}\b", ctsim8, re.M), f"ctsim(8) COMMANDS lacks {verb}"
        for o in code_options(f"ctsim/{fn}.c") | code_options("ctsim/main.c"):
            assert o in ctsim8, f"ctsim(8) does not mention {o}"
    ctctl8 = _man("ctctl.8").stdout
    verbs, _ = ctctl_verbs()
    for verb, aliases in verbs.items():
        for w in [verb, *aliases]:
            assert re.search(rf"\b{w}\b", ctctl8), f"ctctl(8) does not mention {w}"
    for o in code_options("ctctl/main.c"):
        assert o in ctctl8, f"ctctl(8) does not mention {o}"
    exec1 = _man("ctsim-exec.1").stdout
    for o in ("--socket", "CTSIM_SOCKET", "CTSIM_SHIM", "CTSIM_EXEC_NOCHECK"):
        assert o in exec1, o


# --- bash completion -------------------------------------------------------------

def bash_complete(*words, path=None, script=COMPLETION):
    """COMPREPLY for the command line @words (the last one is being
    completed) as bash-completion computes it, with the build's programs
    first on PATH."""
    assert BASH_COMPLETION.exists(), "bash-completion missing (tests/setup-deps.sh installs it)"
    path = path or os.pathsep.join(str(BUILD / d) for d in ("ctsim", "ctctl", "proto"))
    line = " ".join(words)
    prog = f"""
source {BASH_COMPLETION}
source {script}
COMP_WORDS=({' '.join(f"'{w}'" for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE='{line}'
COMP_POINT={len(line)}
spec=$(complete -p {words[0]}) || exit 3
fn=${{spec#*-F }}; fn=${{fn%% *}}
"$fn" {words[0]} '{words[-1]}' '{words[-2] if len(words) > 1 else ""}'
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    res = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True,
                         text=True, timeout=60, cwd=ROOT,
                         env=dict(os.environ, PATH=path + os.pathsep + os.environ["PATH"]))
    assert res.returncode == 0, res.stderr
    return [w for w in res.stdout.splitlines() if w]


def test_completion_is_registered_for_the_three_programs():
    res = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                          f"source {BASH_COMPLETION}; source {COMPLETION}; "
                          "complete -p ctsim ctctl ctsim-exec"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:3] == ["complete -F _ctsim ctsim",
                                          "complete -F _ctctl ctctl",
                                          "complete -F _ctsim_exec ctsim-exec"], res.stdout


def test_completion_of_ctsim_follows_the_subcommand_table():
    verbs = [v for v, _ in ctsim_subcommands()]
    assert sorted(bash_complete("ctsim", "")) == sorted(verbs)
    assert bash_complete("ctsim", "scen") == ["scenario"]
    # sub-verbs, from each verb's --help: what the C code dispatches on
    explain = re.findall(r'\{\s*"([a-z]+)",\s*\w+,\s*"', _src("ctsim/cmd_explain.c"))
    assert sorted(bash_complete("ctsim", "explain", "")) == sorted(explain)
    assert bash_complete("ctsim", "scenario", "") == ["run", "check", "export"]
    assert bash_complete("ctsim", "ruleset", "") == ["check", "show"]
    # options: the verb's own, and the daemon's when there is no verb
    assert set(bash_complete("ctsim", "scenario", "run", "--")) == {
        "--json", "--report", "--verbose", "--kernel", "--live", "--pcap", "--trace"}
    replay = bash_complete("ctsim", "replay", "--")
    assert set(replay) >= {o for o in code_options("ctsim/cmd_replay.c") if o.startswith("--")}
    daemon = bash_complete("ctsim", "--")
    assert set(daemon) >= {o for o in code_options("ctsim/main.c") if o.startswith("--")}
    assert "--stats" not in daemon    # a replay option, not the daemon's
    # option arguments: setting names, files
    assert bash_complete("ctsim", "--set", "nf_conntrack_ma") == ["nf_conntrack_max="]
    assert "meson.build" in bash_complete("ctsim", "--ruleset", "meson.b")
    assert bash_complete("ctsim", "--seed", "") == []


def test_completion_of_ctctl_is_its_shell_completion():
    verbs, shell_only = ctctl_verbs()
    names = {w for v, a in verbs.items() if v not in shell_only for w in [v, *a]}
    assert set(bash_complete("ctctl", "")) == names
    assert bash_complete("ctctl", "-s", "/tmp/x.sock", "mon") == ["monitor"]
    assert bash_complete("ctctl", "--socket=/tmp/x.sock", "-j", "expe") == ["expect"]
    assert "ESTABLISHED" in bash_complete("ctctl", "list", "tcp", "state", "")
    assert bash_complete("ctctl", "expect", "fl") == ["flush"]
    assert bash_complete("ctctl", "ruleset", "") == ["list", "reset"]
    assert set(bash_complete("ctctl", "--p")) == {"--pretty"}
    # the same answer as ctctl's own table gives
    res = run([CTCTL_BIN, "--complete", "add", "tcp", "s"])
    assert bash_complete("ctctl", "add", "tcp", "s") == res.stdout.split()


def test_completion_of_ctsim_exec_completes_the_wrapped_command():
    assert bash_complete("ctsim-exec", "--so") == ["--socket"]
    # after the options, COMMAND is completed by its own completion
    assert bash_complete("ctsim-exec", "--socket", "/tmp/x.sock", "ctctl", "li") == ["list"]
    assert bash_complete("ctsim-exec", "ctsim", "expl") == ["explain"]


# --- the systemd unit ----------------------------------------------------------------

def test_systemd_unit_verifies(tmp_path):
    """systemd-analyze finds nothing to say about ctsim.service (its
    ExecStart pointed at the build's ctsim). tests/setup-deps.sh installs
    systemd for systemd-analyze: missing, this fails instead of skipping."""
    assert shutil.which("systemd-analyze"), "no systemd-analyze: tests/setup-deps.sh installs systemd"
    unit = (BUILD / "docs" / "ctsim.service").read_text()
    assert "RuntimeDirectory=ctsim\n" in unit
    m = re.search(r"^ExecStart=(\S+) ", unit, re.M)
    assert m and m[1].endswith("/bin/ctsim"), unit
    (tmp_path / "ctsim.service").write_text(unit.replace(m[1], str(CTSIM_BIN)))
    res = run(["systemd-analyze", "verify", "--man=no", tmp_path / "ctsim.service"])
    assert res.returncode == 0 and res.stderr == "" and res.stdout == "", res.stdout + res.stderr


# --- the Debian package ------------------------------------------------------------

def test_deb_version_is_the_project_version():
    meson = re.search(r"^\s*version : '([^']+)'", _src("meson.build"), re.M)[1]
    changelog = _src("docs/packaging/debian/changelog").split("\n", 1)[0]
    assert changelog.startswith(f"ctsim ({meson}"), (meson, changelog)
    assert run([CTSIM_BIN, "--version"]).stdout == f"ctsim {meson}\n"


def test_deb_builds_and_works_unpacked(tmp_path):
    """dpkg-buildpackage through tests/tools/build-deb.sh; the .deb holds the
    installed tree, and unpacked anywhere (dpkg -x) its ctsim-exec preloads
    the shim it was shipped with."""
    for tool in ("dpkg-buildpackage", "dh", "scdoc"):
        assert shutil.which(tool), f"{tool} missing: tests/setup-deps.sh installs it"
    res = subprocess.run([ROOT / "tests" / "tools" / "build-deb.sh", tmp_path / "out"],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr[-4000:]
    deb = Path(res.stdout.strip().splitlines()[-1])
    assert deb.name.startswith("ctsim_") and deb.exists(), res.stdout
    info = run(["dpkg-deb", "-f", deb, "Package", "Depends"]).stdout
    assert "Package: ctsim" in info and "libmnl0" in info and "iproute2" in info, info
    root = tmp_path / "root"
    assert run(["dpkg", "-x", deb, root]).returncode == 0
    shims = list(root.glob("usr/lib/*/ctsim/libctsim_shim.so"))
    assert len(shims) == 1, list(root.rglob("*.so"))
    assert not list(root.glob("usr/lib/*/libctsim_shim.so*")), "the shim is not private"
    for p in ["usr/bin/ctsim", "usr/bin/ctctl", "usr/bin/ctsim-exec",
              "lib/systemd/system/ctsim.service", "etc/default/ctsim",
              "usr/share/bash-completion/completions/ctsim",
              "usr/share/bash-completion/completions/ctctl",
              "usr/share/bash-completion/completions/ctsim-exec",
              "usr/share/ctsim/scenarios/icmp_echo.ct", "usr/share/doc/ctsim/copyright",
              "usr/libexec/ctsim/kernel_scenarios.py",
              *[f"usr/share/man/man{p[-1]}/{p}.gz" for p in MAN_PAGES]]:
        assert (root / p).exists() or (root / p).is_symlink(), p
    unit = (root / "lib/systemd/system/ctsim.service").read_text()
    assert "RuntimeDirectory=ctsim" in unit and "ExecStart=/usr/bin/ctsim " in unit, unit
    exec_text = (root / "usr/bin/ctsim-exec").read_text()
    assert str(ROOT) not in exec_text and "/tmp/ctsim-deb" not in exec_text, exec_text
    res = run([root / "usr/bin/ctsim-exec", "sh", "-c", 'echo "$LD_PRELOAD"'],
              env=dict(os.environ, CTSIM_EXEC_NOCHECK="1", LD_PRELOAD=""))
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()).resolve() == shims[0].resolve(), res.stdout
    res = run([root / "usr/bin/ctsim", "scenario", "run",
               root / "usr/share/ctsim/scenarios/icmp_echo.ct"])
    assert res.returncode == 0 and "1 passed, 0 failed" in res.stdout, res.stdout + res.stderr
