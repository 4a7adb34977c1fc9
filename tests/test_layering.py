# SPDX-License-Identifier: GPL-2.0-or-later
"""The layering stays true (issue 10).

The folders are layers, each one static library, and a folder may use only
what the folders below it define:

    proto/ < ctsim/core/ < helpers/ < ctsim/hooks/ < ctsim/nfnetlink/
           < ctsim/replay/ < ctsim/lab/ < ctsim/scenario/ < ctsim/ (the program)

Two checks:

* symbols (nm): every symbol a layer's library leaves undefined is defined
  by that library, by a library of a lower layer, or by nobody in the build
  tree (libc, libmnl, jansson, libpcap, the sanitizer runtimes). The same
  holds object by object, so that code of one folder built into another
  folder's library (helpers/ inside the core, as once) cannot call upwards
  unseen;
* includes: no file includes a header of a folder above its own; ctctl/
  includes only proto/ (it is a client of the wire, not of the daemon).

The build directory is $CTSIM_BUILD (default <repo>/build), as for the rest
of the suite.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, ROOT

# (layer name, source folder, library path in the build tree)
LAYERS = [
    ("proto", "proto", "proto/libctsimproto.a"),
    ("core", "ctsim/core", "ctsim/core/libctsimcore.a"),
    ("helpers", "helpers", "helpers/libctsimhelpers.a"),
    ("hooks", "ctsim/hooks", "ctsim/hooks/libctsimhooks.a"),
    ("nfnetlink", "ctsim/nfnetlink", "ctsim/nfnetlink/libctsimnfnetlink.a"),
    ("replay", "ctsim/replay", "ctsim/replay/libctsimreplay.a"),
    ("lab", "ctsim/lab", "ctsim/lab/libctsimlab.a"),
    ("scenario", "ctsim/scenario", "ctsim/scenario/libctsimscenario.a"),
]
TOP = len(LAYERS)                       # ctsim/*.c: the program
FOLDER_RANK = {folder: i for i, (_, folder, _) in enumerate(LAYERS)}
FOLDER_RANK["ctsim"] = TOP
LAYER_NAME = [name for name, _, _ in LAYERS] + ["ctsim (program)"]

NM = shutil.which("nm")
pytestmark = pytest.mark.skipif(NM is None, reason="needs nm (binutils)")


def _nm(path):
    """{member: (defined set, undefined set)} of an archive or object."""
    out = subprocess.run([NM, "-A", "--defined-only", "-g", str(path)],
                         capture_output=True, text=True, check=True).stdout
    und = subprocess.run([NM, "-A", "-u", str(path)],
                         capture_output=True, text=True, check=True).stdout
    members = {}
    for text, kind in ((out, 0), (und, 1)):
        for line in text.splitlines():
            # "lib.a:member.o: 0000 T name" / "lib.a:member.o:  U name" / "x.o: ..."
            m = re.match(r"^(.*?):\s*(?:[0-9a-fA-F]+\s+)?([A-Za-z])\s+(\S+)$", line)
            if not m:
                continue
            member = m.group(1)
            members.setdefault(member, (set(), set()))[kind].add(m.group(3))
    return members


def _member_folder(lib_folder, member):
    """The source folder of an archive member: meson names a source of
    another folder after its relative path, `.._.._helpers_ftp.c.o`."""
    base = member.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    m = re.match(r"^((?:\.\._)+)(.*)$", base)
    if not m:
        return lib_folder
    parent = Path(lib_folder)
    for _ in range(m.group(1).count(".._")):
        parent = parent.parent
    flat = m.group(2)
    if parent.as_posix() not in (".", ""):
        flat = parent.as_posix().replace("/", "_") + "_" + flat
    for folder in sorted(FOLDER_RANK, key=len, reverse=True):
        if flat.startswith(folder.replace("/", "_") + "_"):
            return folder
    return lib_folder


def _libraries():
    libs = []
    for rank, (name, folder, rel) in enumerate(LAYERS):
        path = BUILD / rel
        libs.append((rank, name, folder, path))
    return libs


def _executable_objects():
    """Objects of executables (the program, ctctl, tests): *.p folders
    that are not a library's."""
    objs = []
    for pdir in BUILD.rglob("*.p"):
        if pdir.name.endswith((".a.p", ".so.p")) or not pdir.is_dir():
            continue
        objs += sorted(pdir.rglob("*.o"))
    return objs


@pytest.fixture(scope="module")
def symbols():
    """(per object: [(rank, label, defined, undefined)], definers: {symbol:
    set of ranks}, executable-defined symbols)."""
    if not BUILD.is_dir():
        pytest.skip(f"no build tree at {BUILD}")
    objects = []
    definers = {}
    for rank, name, folder, path in _libraries():
        if not path.is_file():
            continue
        for member, (defined, undefined) in _nm(path).items():
            orank = FOLDER_RANK[_member_folder(folder, member)]
            objects.append((rank, orank, f"{path.relative_to(BUILD)}({member.rsplit(':', 1)[-1]})",
                            defined, undefined))
            for s in defined:
                definers.setdefault(s, set()).add(orank)
    exe_defined = set()
    for obj in _executable_objects():
        for _, (defined, _u) in _nm(obj).items():
            exe_defined |= defined
    return objects, definers, exe_defined


def test_every_layer_is_a_library():
    """Each layer is built as its own static library (helpers/ included)."""
    if not BUILD.is_dir():
        pytest.skip(f"no build tree at {BUILD}")
    missing = [str(BUILD / rel) for _, _, rel in LAYERS if not (BUILD / rel).is_file()]
    assert not missing, f"layer libraries missing from the build tree: {missing}"


def _upward(rank, undefined, own_defined, definers, exe_defined):
    bad = []
    for s in sorted(undefined - own_defined):
        ranks = definers.get(s, set())
        if ranks and min(ranks) <= rank:
            continue                     # defined by this layer or a lower one
        if ranks:
            bad.append(f"{s} (defined by {', '.join(LAYER_NAME[r] for r in sorted(ranks))})")
        elif s in exe_defined:
            bad.append(f"{s} (defined only by an executable)")
    return bad


def test_libraries_link_downwards(symbols):
    """nm -u of each layer library: nothing from a higher layer or an
    executable."""
    objects, definers, exe_defined = symbols
    problems = []
    for rank, name, _folder, path in _libraries():
        if not path.is_file():
            continue
        defined, undefined = set(), set()
        for lrank, _orank, _label, d, u in objects:
            if lrank == rank:
                defined |= d
                undefined |= u
        lib_definers = {}
        for lrank, _orank, _label, d, _u in objects:
            for s in d:
                lib_definers.setdefault(s, set()).add(lrank)
        bad = _upward(rank, undefined, defined, lib_definers, exe_defined)
        if bad:
            problems.append(f"{path.relative_to(BUILD)} ({name}) needs: " + "; ".join(bad))
    assert not problems, "upward symbol references:\n" + "\n".join(problems)


def test_objects_link_downwards(symbols):
    """Object by object: code of a folder calls only its own folder and the
    folders below (catches a folder compiled into a lower layer's library)."""
    objects, definers, exe_defined = symbols
    problems = []
    for _lrank, orank, label, d, u in objects:
        bad = _upward(orank, u, d, definers, exe_defined)
        if bad:
            problems.append(f"{label} [{LAYER_NAME[orank]}] needs: " + "; ".join(bad))
    assert not problems, "upward symbol references:\n" + "\n".join(problems)


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def _folder_of_header(inc, src_folder):
    """The folder of an #include "..." (repo-relative, or beside the file)."""
    if "/" not in inc:
        return src_folder
    p = Path(inc).parent.as_posix()
    if p in FOLDER_RANK or p == "ctctl":
        return p
    # a header of a folder that is not a layer (e.g. tests/): not ours to judge
    return None


def _sources():
    for folder in list(FOLDER_RANK) + ["ctctl"]:
        base = ROOT / folder
        for f in sorted(base.glob("*.[ch]")):
            yield folder, f


def test_includes_point_downwards():
    problems = []
    for folder, f in _sources():
        text = f.read_text(errors="replace")
        for inc in INCLUDE.findall(text):
            target = _folder_of_header(inc, folder)
            if target is None:
                continue
            rel = f.relative_to(ROOT)
            if folder == "ctctl":
                if target not in ("ctctl", "proto"):
                    problems.append(f"{rel}: includes \"{inc}\" (ctctl/ may include only proto/)")
                continue
            if target == "ctctl":
                problems.append(f"{rel}: includes \"{inc}\" (ctctl/ is a client, not a layer)")
                continue
            if FOLDER_RANK[target] > FOLDER_RANK[folder]:
                problems.append(f"{rel} [{LAYER_NAME[FOLDER_RANK[folder]]}]: includes \"{inc}\" "
                                f"[{LAYER_NAME[FOLDER_RANK[target]]}]")
    assert not problems, "upward includes:\n" + "\n".join(problems)
