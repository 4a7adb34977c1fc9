# SPDX-License-Identifier: GPL-2.0-or-later
"""`ctsim ruleset check|show`: the nft-subset ruleset language.

Transcript style, like nftables' tests/py: CASES below is a table of

    *FAMILY                         the table family for the following cases
    :CHAIN HEADER                   the base chain line for the following cases
    RULE ; ok
    RULE ; fail ; EXPECTED ERROR    (substring of ctsim's message)
    RULE ; fail-ctsim ; EXPECTED    ctsim refuses, `nft -c` does not (a check
                                    the kernel makes only when really loading,
                                    or a deliberate ctsim restriction)

Each case is wrapped in a table (with a regular chain `foo` to jump to and a
`ct helper ftp-std` object) and run through `ctsim ruleset check`.

Fidelity: every `ok` case must also be accepted by the real `nft -c -f`, and
every `fail` case rejected by it, so that the subset stays real nft syntax.
nft runs inside `unshare -n` (a throwaway network namespace): the host
ruleset is never touched. Skipped without root or nft.
"""

import os
import shutil
import subprocess
import re

import pytest

from conftest import BUILD, ROOT

CTSIM = BUILD / "ctsim" / "ctsim"
NFT = shutil.which("nft") or "/usr/sbin/nft"
UNSHARE = shutil.which("unshare")

CASES = r"""
*inet
:type filter hook forward priority 0; policy drop;
accept ; ok
drop ; ok
ip saddr 10.0.0.1 accept ; ok
ip saddr 10.0.0.0/8 ip daddr != 192.168.0.0/16 accept ; ok
ip saddr 10.0.0.1/8 accept ; ok
ip saddr 10.0.0.1-10.0.0.9 drop ; ok
ip saddr { 10.0.0.1, 10.1.0.0/16, 10.2.0.1-10.2.0.5 } accept ; ok
ip saddr != { 10.0.0.1, 10.0.0.2 } drop ; ok
ip6 saddr fd77:1::/64 ip6 daddr ::1 accept ; ok
ip saddr 10.0.0.0/33 ; fail ; Prefix length 33 is invalid
ip saddr 10.0.0.256 ; fail ; invalid IPv4 address
ip saddr fe80::1 ; fail ; conflicting protocols
meta l4proto tcp accept ; ok
meta l4proto { tcp, udp, icmp, ipv6-icmp } accept ; ok
meta l4proto icmpv6 accept ; ok
meta l4proto udplite accept ; ok
meta l4proto tcpx ; fail ; unknown protocol "tcpx"
meta nfproto ipv4 accept ; ok
meta nfproto ipv6 meta l4proto ipv6-icmp accept ; ok
meta iifname "ct-c*" accept ; ok
iifname "ct-c0" oifname != "ct-s0" accept ; ok
iifname { "ct-c0", "ct-c1" } accept ; ok
meta iif "lo" accept ; ok
oif lo accept ; ok
iifname "aaaaaaaaaaaaaaaaaaaaaaa" ; fail ; String exceeds maximum length of 16
meta mark 0x10 accept ; ok
mark 3 accept ; ok
meta mark != 0x10 accept ; ok
meta mark 0x100000000 ; fail ; mark 0x100000000 out of range
tcp dport 22 accept ; ok
tcp dport 1-1024 accept ; ok
tcp sport != 1024-65535 drop ; ok
tcp dport { 22, 80, 8000-8080 } accept ; ok
tcp dport 0-65535 accept ; ok
udp sport 53 udp dport 1024-65535 accept ; ok
tcp dport 70000 ; fail ; port 70000 out of range
tcp dport 22,80 accept ; fail ; comma list needs a flag type
tcp dport ssh-bogus ; fail ; expected a port number
tcp flags syn accept ; ok
tcp flags syn,ack accept ; ok
tcp flags != syn accept ; ok
tcp flags { syn, ack } accept ; ok
tcp flags & (syn|ack) == syn accept ; ok
tcp flags & (fin|syn|rst|ack) != syn drop ; ok
tcp flags & syn != 0 accept ; ok
tcp flags syn / syn,ack accept ; ok
tcp flags synn ; fail ; unknown tcp flag "synn"
icmp type echo-request accept ; ok
icmp type { echo-request, echo-reply, destination-unreachable } accept ; ok
icmp type 200 accept ; ok
icmpv6 type { echo-request, nd-neighbor-solicit } accept ; ok
icmp type echo-requestx ; fail ; unknown icmp type "echo-requestx"
ct state new accept ; ok
ct state established,related accept ; ok
ct state { new, invalid } drop ; ok
ct state != established drop ; ok
ct state untracked accept ; ok
ct state newx accept ; fail ; unknown ct state "newx"
ct status assured accept ; ok
ct status assured,dnat accept ; ok
ct status { assured, seen-reply } accept ; ok
ct status snat-done ; fail ; unknown ct status "snat-done"
ct direction original accept ; ok
ct direction reply accept ; ok
ct direction sideways ; fail ; unknown ct direction
ct mark 0x1 accept ; ok
ct mark != 3 accept ; ok
ct zone 3 accept ; ok
ct zone 70000 ; fail ; zone 70000 out of range
ct helper "ftp" accept ; ok
counter ; ok
counter accept ; ok
counter packets 3 bytes 180 accept ; ok
log ; ok
log prefix "dropped: " drop ; ok
log prefix "x" level warn ; ok
log prefix unquoted ; ok
log prefix ; fail ; log prefix must be a string
reject ; ok
reject with icmp type host-unreachable ; ok
reject with icmp host-unreachable ; ok
reject with icmpv6 type admin-prohibited ; ok
reject with icmpx type admin-prohibited ; ok
meta l4proto tcp reject with tcp reset ; ok
reject with icmp type bogus ; fail ; unknown reject code "bogus"
jump foo ; ok
goto foo ; ok
return ; ok
jump nosuchchain ; fail ; chain "nosuchchain" does not exist
notrack ; ok
ct mark set 0x10 ; ok
ct zone set 3 ; ok
ct helper set "ftp-std" ; ok
ct helper set "nope" ; fail ; ct helper "nope" does not exist
meta mark set 7 ; ok
mark set 7 ; ok
meta nftrace set 1 ; ok
meta nftrace set 2 ; fail ; meta nftrace set takes 0 or 1
accept counter ; fail ; Statement after terminal statement has no effect
ip saddr ; fail ; expected a address
frobnicate ; fail ; syntax error
ip protocolx tcp ; fail ; unknown or unsupported expression
snat ip to 1.2.3.4 ; fail-ctsim ; Could not process rule: Operation not supported

:type nat hook postrouting priority srcnat; policy accept;
masquerade ; ok
oifname "ct-s0" masquerade ; ok
snat ip to 10.0.0.1 ; ok
snat ip6 to fd77::1 ; ok
tcp dport 80 snat ip to 10.0.0.1:1024-2048 ; ok
snat ip to 10.0.0.1-10.0.0.9 ; ok
snat ip to 10.0.0.1-10.0.0.1 ; ok
snat ip to 10.0.0.9-10.0.0.1 ; fail ; Range has zero or negative size
tcp dport 80 snat ip to 10.0.0.9-10.0.0.1:80 ; fail ; Range has zero or negative size
snat ip6 to fd77::9-fd77::1 ; fail ; Range has zero or negative size
tcp dport 80 snat ip to 10.0.0.1:90-80 ; fail ; Range has zero or negative size
snat ip to fd77::1 ; fail ; Could not resolve hostname: Address family for hostname not supported
snat ip6 to 10.0.0.1 ; fail ; Could not resolve hostname: Address family for hostname not supported
snat ip to 10.0.0.0/24 ; ok
snat ip6 to fd77::/64 ; ok
tcp dport 80 snat ip6 to [fd77::1]:1024-2048 ; ok
tcp dport 80 snat ip6 to [fd77::1]:2048-1024 ; fail ; Range has zero or negative size
snat ip to 10.0.0.0/33 ; fail ; Prefix length 33 is invalid for type of 32 bits width
snat ip6 to fd77::/129 ; fail ; Prefix length 129 is invalid for type of 128 bits width
snat ip to 10.0.0.1 random,persistent ; ok
masquerade fully-random ; ok
meta l4proto udp masquerade to :1024-2048 random ; ok
meta l4proto udp masquerade to :2048-1024 ; fail ; Range has zero or negative size
snat to 10.0.0.1 ; fail ; ip or ip6 must be specified with address for inet tables
snat ip to 10.0.0.1:80 ; fail ; transport protocol mapping is only valid after transport protocol match
dnat ip to 10.0.0.1 ; fail-ctsim ; dnat is only valid in the prerouting and output hooks

:type nat hook prerouting priority dstnat; policy accept;
dnat ip to 10.0.0.2 ; ok
tcp dport 8080 dnat ip to 10.0.0.2:80 ; ok
tcp dport 8080 redirect to :80 ; ok
udp dport 53 dnat to :2000 ; ok
udp dport 53 dnat ip to :2000 ; fail ; syntax error, unexpected colon
redirect ; ok
redirect to :80 ; fail ; transport protocol mapping is only valid after transport protocol match

:type filter hook prerouting priority raw; policy accept;
notrack ; ok
ct zone set 2 ; ok

:type filter hook output priority dstnat;
accept ; fail ; priority "dstnat" is not valid in the output hook

:type filter hook prerouteing priority 0;
accept ; fail ; unknown hook "prerouteing"

:type filter hook input priority security + 5;
accept ; ok

:type filter hook input priority mangle-5;
accept ; fail ; priority must be a number or one of

:type filter hook input priority -150; policy drop;
accept ; ok

:type route hook input priority 0;
accept ; fail ; unknown chain type "route"

:type nat hook forward priority 0;
accept ; fail ; nat chains cannot use the forward hook

:type filter hook input priority 0; policy maybe;
accept ; fail ; policy must be accept or drop

*ip
:type filter hook forward priority 0;
ip saddr 10.0.0.1 accept ; ok
ip6 saddr ::1 ; fail ; conflicting protocols specified: ip vs. ip6
reject with icmpx type admin-prohibited ; fail ; abstracted ICMP unreachable not supported
reject with icmp type port-unreachable ; ok

*ip6
:type filter hook forward priority 0;
ip6 saddr ::1 accept ; ok
ip saddr 10.0.0.1 ; fail ; conflicting protocols specified: ip6 vs. ip
reject with icmpv6 type no-route ; ok
"""


def parse_cases():
    family, header, out = "inet", "", []
    for raw in CASES.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("*"):
            family = line[1:]
            continue
        if line.startswith(":"):
            header = line[1:]
            continue
        parts = [p.strip() for p in line.split(" ; ")]
        rule, verdict = parts[0], parts[1]
        expected = parts[2] if len(parts) > 2 else None
        out.append((family, header, rule, verdict, expected))
    return out


ALL_CASES = parse_cases()


def wrap(family, header, rule):
    return (f"table {family} t {{\n"
            f"\tct helper ftp-std {{\n\t\ttype \"ftp\" protocol tcp;\n\t}}\n"
            f"\tchain foo {{\n\t}}\n"
            f"\tchain c {{\n\t\t{header}\n\t\t{rule}\n\t}}\n"
            f"}}\n")


def ctsim(*args, stdin=None):
    return subprocess.run([str(CTSIM), "ruleset", *args], input=stdin,
                          capture_output=True, text=True, timeout=20)


def nft_check(path):
    """`nft -c -f` in a throwaway network namespace: returns (rc, stderr)."""
    r = subprocess.run([UNSHARE, "-n", NFT, "-c", "-f", str(path)],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr


def nft_usable():
    if os.geteuid() != 0 or not UNSHARE or not os.path.exists(NFT):
        return False
    r = subprocess.run([UNSHARE, "-n", NFT, "list", "ruleset"], capture_output=True)
    return r.returncode == 0


NFT_OK = nft_usable()
needs_nft = pytest.mark.skipif(not NFT_OK, reason="needs root, unshare and nft")


def case_id(c):
    return f"{c[0]}:{c[2]}"


@pytest.mark.parametrize("case", ALL_CASES, ids=case_id)
def test_case_ctsim(case, tmp_path):
    family, header, rule, verdict, expected = case
    f = tmp_path / "case.nft"
    f.write_text(wrap(family, header, rule))
    r = ctsim("check", str(f))
    if verdict == "ok":
        assert r.returncode == 0, r.stderr
        assert r.stdout == "" and r.stderr == ""
    else:
        assert r.returncode == 1, f"accepted: {rule}"
        assert expected in r.stderr, r.stderr
        # nft shape: FILE:LINE:COL-COL: Error: MSG / source line / carets
        lines = r.stderr.splitlines()
        m = re.match(r"^(.*):(\d+):(\d+)-(\d+): Error: ", lines[0])
        assert m, lines[0]
        assert m.group(1) == str(f)
        src = wrap(family, header, rule).splitlines()[int(m.group(2)) - 1]
        assert lines[1] == src
        c1, c2 = int(m.group(3)), int(m.group(4))
        assert lines[2].strip() == "^" * (c2 - c1 + 1)
        assert len(lines[2]) == c2


@needs_nft
@pytest.mark.parametrize("case", [c for c in ALL_CASES if c[3] in ("ok", "fail")], ids=case_id)
def test_case_fidelity_with_nft(case, tmp_path):
    family, header, rule, verdict, _ = case
    f = tmp_path / "case.nft"
    f.write_text(wrap(family, header, rule))
    rc, err = nft_check(f)
    if verdict == "ok":
        assert rc == 0, f"nft refuses what ctsim accepts:\n{err}"
    else:
        assert rc != 0, "nft accepts what ctsim refuses"


def test_default_show_is_fixed_point(tmp_path):
    r = ctsim("show", "default")
    assert r.returncode == 0, r.stderr
    assert "table inet ctsim {" in r.stdout
    assert "type filter hook forward priority filter; policy drop;" in r.stdout
    f = tmp_path / "d.nft"
    f.write_text(r.stdout)
    r2 = ctsim("show", str(f))
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout == r.stdout


@needs_nft
def test_default_and_examples_accepted_by_nft(tmp_path):
    f = tmp_path / "d.nft"
    f.write_text(ctsim("show", "default").stdout)
    rc, err = nft_check(f)
    assert rc == 0, err
    for ex in sorted((ROOT / "docs" / "examples").glob("*.nft")):
        rc, err = nft_check(ex)
        assert rc == 0, f"{ex}: {err}"


def test_examples_check_and_show():
    examples = sorted((ROOT / "docs" / "examples").glob("*.nft"))
    assert examples, "docs/examples/*.nft"
    for ex in examples:
        r = ctsim("check", str(ex))
        assert r.returncode == 0, f"{ex}: {r.stderr}"
        assert r.stdout == ""


def test_show_json():
    import json
    r = ctsim("show", "-j", "default")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    kinds = [next(iter(o)) for o in doc["nftables"]]
    assert kinds.count("table") == 1
    assert "rule" in kinds
    chains = [o["chain"] for o in doc["nftables"] if "chain" in o]
    fwd = next(c for c in chains if c["name"] == "forward")
    assert fwd["hook"] == "forward" and fwd["policy"] == "drop" and fwd["prio"] == 0


def test_several_errors_and_stdin():
    text = ("table inet t {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n"
            "\t\ttcp dport 70000 accept\n\t\tct state newx drop\n\t}\n}\n")
    r = ctsim("check", "-", stdin=text)
    assert r.returncode == 1
    assert r.stderr.count(": Error: ") == 2
    assert r.stderr.startswith("/dev/stdin:4:13-17: Error: port 70000 out of range")


def test_usage_and_missing_file():
    assert ctsim().returncode == 2
    assert ctsim("frob", "x").returncode == 2
    assert ctsim("check").returncode == 2
    assert ctsim("check", "a", "b").returncode == 2
    r = ctsim("check", "/nonexistent/file.nft")
    assert r.returncode == 1
    assert "Could not open file" in r.stderr


UNKNOWN_HELPER = ("table inet t {\n\tct helper h {\n\t\ttype \"bogus\" protocol tcp\n\t}\n"
                  "\tct helper t69 {\n\t\ttype \"tftp\" protocol tcp\n\t}\n"
                  "\tct helper i6 {\n\t\ttype \"irc\" protocol tcp\n\t\tl3proto ip6\n\t}\n"
                  "\tct helper i46 {\n\t\ttype \"irc\" protocol tcp\n\t\tl3proto inet\n\t}\n}\n")


def test_unknown_helper_type_is_refused(tmp_path):
    """An object for a helper the kernel does not have (or not for that
    protocol: tftp is UDP) cannot be created: nft fails with ENOENT, and so
    does ctsim, at the type, with nothing applied."""
    f = tmp_path / "h.nft"
    f.write_text(UNKNOWN_HELPER)
    r = ctsim("check", str(f))
    assert r.returncode == 1
    assert r.stderr.splitlines()[:3] == [
        f'{f}:3:8-14: Error: Could not process rule: No such file or directory (no conntrack '
        'helper "bogus" for tcp; `ctsim explain helpers` lists them)',
        '\t\ttype "bogus" protocol tcp', '\t\t     ^^^^^^^']
    assert f'{f}:6:8-13: Error: Could not process rule: No such file or directory (no conntrack ' \
           'helper "tftp" for tcp' in r.stderr
    # irc is registered for IPv4 only: an ip6 object cannot exist, an inet one can
    assert f'{f}:9:8-12: Error: Could not process rule: No such file or directory (no conntrack ' \
           'helper "irc" for ip6 tcp' in r.stderr
    assert r.stderr.count(": Error: ") == 3, r.stderr


@needs_nft
def test_unknown_helper_type_is_refused_by_nft(tmp_path):
    f = tmp_path / "h.nft"
    f.write_text(UNKNOWN_HELPER)
    rc, err = nft_check(f)
    assert rc != 0 and "No such file or directory" in err, err


def test_error_on_a_long_line_is_linear(tmp_path):
    """issue 17, robustness 4: the caret line under an error was built with a
    strlen() of the source line per column, quadratic in the line's length
    (a 515 KB one-line ruleset took 35 s on a SIGHUP reload). 2 MB on one
    line, error at its end: well under a second when linear, minutes when
    quadratic, so the timeout separates them on a loaded machine."""
    rule = "tcp dport 22 accept; "
    head = "table inet t { chain c { type filter hook forward priority 0; "
    text = head + rule * (2_000_000 // len(rule)) + "tcp dport 70000 accept; } }\n"
    f = tmp_path / "big.nft"
    f.write_text(text)
    r = subprocess.run([str(CTSIM), "ruleset", "check", str(f)], capture_output=True,
                       text=True, timeout=15)
    assert r.returncode == 1
    col = text.index("70000") + 1
    lines = r.stderr.splitlines()
    assert lines[0] == f"{f}:1:{col}-{col + 4}: Error: port 70000 out of range (0-65535)"
    assert lines[1] == text.rstrip("\n")
    assert lines[2] == " " * (col - 1) + "^^^^^"


def test_a_directory_is_not_a_ruleset(tmp_path):
    """issue 17, robustness 3: fopen() of a directory succeeds and its read
    fails, which was taken for EOF: a directory loaded as the empty ruleset
    (the firewall failed open). Only a regular file is a ruleset file; the
    same reader serves `ruleset check`, --ruleset, SIGHUP and `replay`."""
    r = ctsim("check", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr == f'Error: Could not open file "{tmp_path}": Is a directory\n'
    r = ctsim("check", "/dev/null")
    assert r.returncode == 1
    assert r.stderr == 'Error: Could not open file "/dev/null": not a regular file\n'


def test_a_scenarios_ruleset_directory_is_refused(tmp_path):
    sc = tmp_path / "d.ct"
    sc.write_text("host a 10.66.1.2 side client\nhost b 10.66.2.2 side server\n"
                  f"ruleset {tmp_path}\n")
    r = subprocess.run([str(CTSIM), "scenario", "check", str(sc)], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 1
    assert f'{sc}:3:9-{8 + len(str(tmp_path))}: Error: Could not open file "{tmp_path}": ' \
           'Is a directory' in r.stderr, r.stderr


LONG_NAMES = [
    # (file text, error location, message): the kernel's NFT_NAME_MAXLEN is
    # 256 with the NUL (ERANGE); nft's parser refuses a table name over 256
    ("table ip " + "a" * 256 + " {\n}\n", "1:10-265",
     "Could not process rule: Numerical result out of range"),
    ("table ip " + "a" * 300 + " {\n}\n", "1:10-309", "name too long, 256 characters maximum allowed"),
    ("table ip " + "a" * 1_000_000 + " {\n}\n", "1:10-1000009", "name too long"),
    ("table ip t {\n\tchain " + "c" * 256 + " {\n\t}\n}\n", "2:8-263",
     "Could not process rule: Numerical result out of range"),
    ("table ip t {\n\tct helper " + "h" * 300 + " {\n\t\ttype \"ftp\" protocol tcp\n\t}\n}\n",
     "2:12-311", "Could not process rule: Numerical result out of range"),
]


@pytest.mark.parametrize("text,where,message", LONG_NAMES, ids=["t256", "t300", "t1M", "c256", "h300"])
def test_names_longer_than_nft_allows_are_refused(tmp_path, text, where, message):
    """issue 17, robustness 10: a 1M-character table name was accepted."""
    f = tmp_path / "n.nft"
    f.write_text(text)
    r = ctsim("check", str(f))
    assert r.returncode == 1
    assert r.stderr.startswith(f"{f}:{where}: Error: {message}"), r.stderr[:300]
    assert r.stderr.count(": Error: ") == 1


def test_longest_names_accepted(tmp_path):
    f = tmp_path / "n.nft"
    f.write_text("table ip " + "a" * 255 + " {\n\tchain " + "c" * 255 + " {\n\t}\n}\n")
    r = ctsim("check", str(f))
    assert r.returncode == 0, r.stderr[:300]


@needs_nft
@pytest.mark.parametrize("text,where,message", LONG_NAMES[:2] + LONG_NAMES[3:4], ids=["t256", "t300", "c256"])
def test_names_longer_than_nft_allows_are_refused_by_nft(tmp_path, text, where, message):
    f = tmp_path / "n.nft"
    f.write_text(text)
    rc, err = nft_check(f)
    assert rc != 0 and f"{f}:{where}: Error: {message}" in err, err[:300]


# NAT bad input: ctsim's first error line (message and columns) and caret
# line are nft's. The first rows need a real load (the kernel refuses a NAT
# statement outside a nat chain; `nft -c` does not ask it).
NAT_BAD = [
    ("ip", "type filter hook forward priority filter;", "snat to 1.2.3.4", True),
    ("ip", "type filter hook postrouting priority filter;", "masquerade", True),
    ("ip", "type nat hook postrouting priority srcnat;", "snat to 1.2.3.9-1.2.3.4", False),
    ("ip", "type nat hook prerouting priority dstnat;", "tcp dport 1 dnat to 1.2.3.4:90-80", False),
    ("ip", "type nat hook postrouting priority srcnat;", "snat to fd00::1", False),
    ("ip6", "type nat hook postrouting priority srcnat;", "snat to 1.2.3.4", False),
    ("inet", "type nat hook postrouting priority srcnat;", "snat ip6 to 1.2.3.4", False),
    ("ip", "type nat hook postrouting priority srcnat;", "snat to 1.2.3.0/33", False),
    ("ip6", "type nat hook postrouting priority srcnat;", "snat to fd00::/129", False),
    ("ip", "type nat hook postrouting priority srcnat;",
     "meta l4proto tcp masquerade to :2000-1000", False),
    ("ip", "type nat hook prerouting priority dstnat;", "udp dport 1 dnat ip to :2000", False),
    ("ip", "type nat hook postrouting priority srcnat;",
     "meta l4proto tcp snat to 10.0.0.0/24:1000-2000", False),
    # NAT maps
    ("ip", "type nat hook prerouting priority dstnat;", "dnat to tcp dport map { 80 10.0.0.2 }", False),
    ("ip", "type nat hook prerouting priority dstnat;", "dnat to tcp dport map { 80 : fd00::1 }", False),
    ("ip", "type nat hook prerouting priority dstnat;", "dnat to tcp dport map { }", False),
    ("inet", "type nat hook prerouting priority dstnat;", "dnat to tcp dport map { 80 : 10.0.0.2 }",
     False),
    ("ip", "type nat hook prerouting priority dstnat;",
     "dnat to tcp dport map { 80 : 10.0.0.2, 81 : 10.0.0.3 . 80 }", False),
]


@needs_nft
@pytest.mark.parametrize("family,header,rule,load", NAT_BAD, ids=[r[2] for r in NAT_BAD])
def test_nat_bad_input_as_nft(family, header, rule, load, tmp_path):
    f = tmp_path / "nat.nft"
    f.write_text(f"table {family} t {{\n\tchain c {{\n\t\t{header}\n\t\t{rule}\n\t}}\n}}\n")
    r = ctsim("check", str(f))
    assert r.returncode == 1, f"ctsim accepts: {rule}"
    cmd = [UNSHARE, "-n", NFT, *([] if load else ["-c"]), "-f", str(f)]
    n = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert n.returncode != 0, f"nft accepts: {rule}"
    mine, theirs = r.stderr.splitlines(), n.stderr.splitlines()
    assert mine[0] == theirs[0], (mine, theirs)
    assert mine[1] == theirs[1]
    # nft may add "~~~~" under the statement; the carets are the same
    assert mine[2].replace("~", " ").rstrip() == theirs[2].replace("~", " ").rstrip(), \
        (mine, theirs)
    # nothing loaded: `ruleset show` refuses it too
    assert ctsim("show", str(f)).returncode == 1
