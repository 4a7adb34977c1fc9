# SPDX-License-Identifier: GPL-2.0-or-later
"""ctsim's settings: kernel defaults, --set, config files and their errors."""
import subprocess

import pytest

from conftest import BUILD

CTSIM = str(BUILD / "ctsim" / "ctsim")


def ctsim(*args, timeout=30):
    return subprocess.run([CTSIM, *args], text=True, capture_output=True, timeout=timeout)


def listed(*args):
    res = ctsim(*args, "--list-settings")
    assert res.returncode == 0, res.stderr
    out = {}
    for line in res.stdout.splitlines():
        name, _, rest = line.partition(" = ")
        value = rest.split()[0]
        out[name] = int(value) if value.isdigit() else value    # named values: a name
    return out


def test_defaults_are_the_kernels(kernel_ns):
    """Every setting ctsim shares with the kernel has the value a fresh
    network namespace shows in /proc/sys/net/netfilter."""
    ours = listed()
    res = kernel_ns.run(["sh", "-c", "cd /proc/sys/net/netfilter && grep -r . nf_conntrack_* || true"])
    kernel = {}
    for line in res.stdout.splitlines():
        name, _, value = line.partition(":")
        if value.strip().lstrip("-").isdigit():
            kernel[name] = int(value)
    # Global limits depend on the machine's memory; the rest must agree.
    machine_dependent = {"nf_conntrack_max", "nf_conntrack_buckets", "nf_conntrack_expect_max"}
    shared = sorted(set(ours) & set(kernel) - machine_dependent)
    assert len(shared) >= 25, shared
    diff = {n: (ours[n], kernel[n]) for n in shared if ours[n] != kernel[n]}
    assert not diff, f"ctsim vs kernel defaults: {diff}"


def test_set_and_prefix():
    s = listed("--set", "nf_conntrack_max=1000", "--set", "net.netfilter.nf_conntrack_acct=1")
    assert s["nf_conntrack_max"] == 1000 and s["nf_conntrack_acct"] == 1


@pytest.mark.parametrize("arg,message", [
    ("nf_conntrack_nope=1", 'unknown setting "nf_conntrack_nope"'),
    ("nf_conntrack_events=3", "nf_conntrack_events: 3 is out of range 0..2"),
    ("nf_conntrack_acct=yes", 'nf_conntrack_acct: "yes" is not a number'),
    ("nf_conntrack_acct", "expected NAME=VALUE"),
    ("ctsim_overflow_policy=fifo", 'ctsim_overflow_policy: "fifo" is not one of kernel, '
     'wait-first, min-lifetime, adaptive, no-nat-first, lru, emergency'),
    ("ctsim_overflow_policy=0", 'ctsim_overflow_policy: "0" is not one of kernel'),
    ("ctsim_overflow_emergency_recovery=0", "out of range 1..99"),
])
def test_bad_set(arg, message):
    res = ctsim("--set", arg, "--list-settings")
    assert res.returncode == 2
    assert message in res.stderr, res.stderr
    assert res.stdout == ""


def test_config_file(tmp_path):
    cfg = tmp_path / "ctsim.conf"
    cfg.write_text("# comment\n; another\n\nnet.netfilter.nf_conntrack_max = 77\n"
                   "  nf_conntrack_timestamp=1  \n")
    s = listed("--config", str(cfg))
    assert s["nf_conntrack_max"] == 77 and s["nf_conntrack_timestamp"] == 1


@pytest.mark.parametrize("text,where,message", [
    ("nf_conntrack_max = 5\n  nf_conntrack_bogus = 1\n", "2:3", 'unknown setting "nf_conntrack_bogus"'),
    ("nf_conntrack_max = 5\nnf_conntrack_acct\n", "2:1", 'expected "name = value"'),
    ("\n\nnf_conntrack_max = -4\n", "3:20", 'nf_conntrack_max: "-4" is not a number'),
    ("nf_conntrack_events =  7 \n", "1:24", "nf_conntrack_events: 7 is out of range 0..2"),
])
def test_config_file_errors_are_located_and_apply_nothing(tmp_path, text, where, message):
    cfg = tmp_path / "bad.conf"
    cfg.write_text(text)
    res = ctsim("--config", str(cfg), "--list-settings")
    assert res.returncode == 2
    assert f"{cfg}:{where}: {message}" in res.stderr, res.stderr
    assert res.stdout == ""


def test_settings_take_effect(ctsim_factory):
    """nf_conntrack_max and acct/timestamp as the kernel applies them to
    ctnetlink-created entries."""
    d = ctsim_factory(["--set", "nf_conntrack_max=2", "--set", "nf_conntrack_acct=1",
                       "--set", "nf_conntrack_timestamp=1"])
    for port in (1, 2):
        r = d.conntrack("-I", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "udp", "--sport", str(port),
                        "--dport", "53", "-t", "30", "-u", "ASSURED")
        assert r.returncode == 0, r.stderr
    # Full, and nothing can be early-dropped (ASSURED): ENOMEM.
    r = d.conntrack("-I", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "udp", "--sport", "3",
                    "--dport", "53", "-t", "30")
    assert r.returncode == 1 and "not enough memory" in r.stderr, r.stderr
    r = d.conntrack("-L", "-o", "ktimestamp")
    assert r.stdout.count("packets=0 bytes=0") == 4, r.stdout
    assert r.stdout.count("[start=") == 2, r.stdout


def test_config_directory_is_refused(tmp_path):
    """issue 17, robustness 3: fopen() of a directory succeeds and fgets()
    fails at once, which was taken for an empty file: --config DIR ran with
    the defaults. Only a regular file is a settings file."""
    res = ctsim("--config", str(tmp_path), "--list-settings")
    assert res.returncode == 2
    assert f"{tmp_path}: Is a directory" in res.stderr, res.stderr
    assert res.stdout == ""


def test_overflow_policy_by_name():
    assert listed()["ctsim_overflow_policy"] == "kernel"
    s = listed("--set", "ctsim_overflow_policy=wait-first", "--set",
               "ctsim_overflow_adaptive_start=100", "--set", "ctsim_overflow_adaptive_end=200")
    assert s["ctsim_overflow_policy"] == "wait-first"
    assert (s["ctsim_overflow_adaptive_start"], s["ctsim_overflow_adaptive_end"]) == (100, 200)


def test_adaptive_pair_rejected(tmp_path):
    """pf's slope needs adaptive.start below adaptive.end: refused, located,
    nothing applied."""
    res = ctsim("--set", "ctsim_overflow_adaptive_end=100", "--set",
                "ctsim_overflow_adaptive_start=150", "--list-settings")
    assert res.returncode == 2
    assert "ctsim_overflow_adaptive_start (150) must be below ctsim_overflow_adaptive_end (100)" \
        in res.stderr, res.stderr
    conf = tmp_path / "c.conf"
    conf.write_text("ctsim_overflow_adaptive_start = 500\nctsim_overflow_adaptive_end = 400\n")
    res = ctsim("--config", str(conf), "--list-settings")
    assert res.returncode != 0
    assert f"{conf}:2:31: ctsim_overflow_adaptive_end: 400:" in res.stderr, res.stderr
