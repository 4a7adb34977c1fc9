#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runner for the conntrack-tools 1.4.7 command-line test vectors.

Written from the format description in
shared/compat/conntrack-tools-1.4.7/README.md (sections 2 and 3); no upstream
code.  Every test line becomes one shell command run with ``/bin/sh -c``, so
the environment (e.g. LD_PRELOAD set by ctsim-exec) reaches every stage of a
pipeline.

    ct_testsuite.py [--conntrack CMD] [--dir DIR] [-v] [FILE ...]

CMD is the conntrack command as a shell word list, for example
``/usr/sbin/conntrack`` (the kernel) or
``build/proto/ctsim-exec --socket /tmp/ct.sock /usr/sbin/conntrack`` (ctsim).
FILE restricts the run to some data files (names inside DIR).

Output follows the upstream runner: ``(LINE) Executing: COMMAND``, the
command's own output, ``^----- BAD`` on a mismatch, ``=====``, and finally
``OK: n BAD: m``.  The exit status is 1 if any test was BAD, 2 on a malformed
data file or bad usage, else 0.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DIRS = [
    HERE.parent.parent.parent / "shared/compat/conntrack-tools-1.4.7/testsuite",
    Path("/work/shared/compat/conntrack-tools-1.4.7/testsuite"),
]


class Malformed(Exception):
    pass


def parse_line(line):
    """Classify one data line (without its newline).

    Returns None for ignored lines, else (args, kind, extra) where kind is
    'ok', 'bad', 'other' (any other verdict character: always BAD),
    'pipe' (extra = sed script or ''), or 'stdin'."""
    if line.startswith("#") or line.startswith(" "):
        return None
    if ";" not in line:
        raise Malformed
    args, rest = line.split(";", 1)
    rest = rest.lstrip(" \t")
    if rest == "":
        return args, "stdin", None
    verdict = rest[0]
    if verdict == "O":
        return args, "ok", None
    if verdict == "B":
        return args, "bad", None
    if verdict == "|":
        return args, "pipe", rest[1:].lstrip(" \t")
    return args, "other", verdict


def run_file(path, conntrack, counts, verbose, out):
    """Execute one data file; update counts = [ok, bad]."""
    buf = ""            # the shell command being built
    in_stdin = False    # inside an `echo "...` group
    with open(path, "r", encoding="utf-8", errors="surrogateescape") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw[:-1] if raw.endswith("\n") else raw
            try:
                parsed = parse_line(line)
            except Malformed:
                raise Malformed(f"malformed file {path.name} at line {lineno}")
            if parsed is None:
                continue
            args, kind, extra = parsed
            if kind == "stdin":
                buf += ("\n" if in_stdin else 'echo "') + args
                in_stdin = True
                continue
            if in_stdin:
                buf += '" | '
                in_stdin = False
            if kind == "pipe":
                buf += f"{conntrack} {args} | "
                if extra:
                    buf += f'sed "{extra}" | '
                continue
            buf += f"{conntrack} {args}"
            out.write(f"({lineno}) Executing: {buf}\n")
            out.flush()
            res = subprocess.run(["/bin/sh", "-c", buf], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT)
            status = res.returncode
            if kind == "ok":
                good = status == 0
            elif kind == "bad":
                good = status != 0
            else:
                good = False
            if verbose:
                expect = {"ok": "OK", "bad": "BAD"}.get(kind, f"verdict {extra!r}")
                out.write(f"[{path.name}:{lineno}] exit {status}, expected {expect}\n")
            if good:
                counts[0] += 1
            else:
                counts[1] += 1
                out.write("^----- BAD\n")
            out.write("=====\n")
            out.flush()
            buf = ""
    if buf:
        out.write(f"warning: {path.name}: unterminated command at end of file: {buf}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conntrack", default="/usr/sbin/conntrack",
                    help="conntrack command (shell words), default %(default)s")
    ap.add_argument("--dir", type=Path, default=None,
                    help="directory with the data files")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print each test's exit status and expected verdict")
    ap.add_argument("files", nargs="*", help="run only these data files")
    opts = ap.parse_args(argv)

    d = opts.dir
    if d is None:
        d = next((p for p in DEFAULT_DIRS if p.is_dir()), None)
        if d is None:
            ap.error("no test-suite directory found; use --dir")
    if not d.is_dir():
        ap.error(f"{d}: not a directory")
    names = sorted((p.name for p in d.iterdir()
                    if p.is_file() and not p.name.startswith(".")),
                   key=lambda n: n.encode())
    if opts.files:
        missing = [n for n in opts.files if n not in names]
        if missing:
            ap.error(f"not in {d}: {' '.join(missing)}")
        names = [n for n in names if n in opts.files]

    out = sys.stdout
    counts = [0, 0]
    try:
        for name in names:
            run_file(d / name, opts.conntrack, counts, opts.verbose, out)
    except Malformed as e:
        out.write(f"{e}\n")
        out.write(f"OK: {counts[0]} BAD: {counts[1]}\n")
        return 2
    out.write(f"OK: {counts[0]} BAD: {counts[1]}\n")
    out.flush()
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main())
