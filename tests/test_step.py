# SPDX-License-Identifier: GPL-2.0-or-later
"""Step and quiz modes (issue 12, item 3): `ctsim replay FILE --step | --quiz`.

Transcripts through a pipe (the commands on stdin, the expected lines
asserted in order), and the same driven in a real terminal: a tmux session
of its own (a private server socket, killed even on failure), keys sent with
send-keys, the screen read with capture-pane.
"""
import os
import shutil
import subprocess
import time
import uuid

import pytest

from test_replay import CTSIM, SANITIZER_ENV, write
from test_trace import packets

pytest.importorskip("scapy.all")


def run(pcap, mode, stdin, *args, rc=0):
    res = subprocess.run([str(CTSIM), "replay", str(pcap), mode, *map(str, args)], input=stdin,
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, **SANITIZER_ENV))
    for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert marker not in res.stderr, res.stderr
    assert res.returncode == rc, res.stderr
    return res


def in_order(text, *want):
    """Each of @want is found in @text, after the previous one."""
    at = 0
    for w in want:
        k = text.find(w, at)
        assert k >= 0, f"not found after offset {at}: {w!r}\n---\n{text}"
        at = k + len(w)


@pytest.fixture
def pcap(tmp_path):
    return write(tmp_path, "t.pcap", packets())


def test_step_transcript(pcap):
    out = run(pcap, "--step", "\nnext 2\nexplain\nback\nexplain\nshow\nbogus\nnext 0\nq\n").stdout
    in_order(out,
             "14 packets; step mode",
             "step 1> packet 1/14 at +0.000000 s: TCP 10.66.1.2:40000 > 10.66.2.2:80 [S] "
             "seq=1000 ack=0 win=1000 len=0",
             "entry before: no entry",
             "trace:",
             "conntrack prerouting tracker: tcp NONE --syn/orig--> SYN_SENT: SYN opens a connection",
             "entry after:", "state SYN_SENT", "status: CONFIRMED", "timeout: 120 s left",
             "window original td_end=1001 td_maxend=1001 td_maxwin=1000",
             "window reply    td_end=0 td_maxend=1000 td_maxwin=0",
             # next 2: the SYN/ACK (entry before = after the SYN), then the ACK
             "step 2> packet 2/14", "entry before:", "state SYN_SENT", "trace:",
             "tcp SYN_SENT --synack/reply--> SYN_RECV", "entry after:", "state SYN_RECV",
             "status: SEEN_REPLY,CONFIRMED",
             "window reply    td_end=5001 td_maxend=5001 td_maxwin=1000 td_maxack=1001 "
             "td_scale=0 flags=MAXACK_SET",
             "packet 3/14", "tcp SYN_RECV --ack/orig--> ESTABLISHED", "entry after:",
             "state ESTABLISHED", "status: SEEN_REPLY,ASSURED,CONFIRMED",
             "timeout: 432000 s left",
             # explain: the last packet's entry, now
             "step 4> entry:", "state ESTABLISHED",
             # back: replayed silently up to packet 2; the entry is as after it
             "step 4> back: 2 packets fed; next is packet 3",
             "step 3> entry:", "state SYN_RECV", "timeout: 60 s left",
             "step 3> ipv4     2 tcp      6 60 SYN_RECV src=10.66.1.2",
             "1 flow entries have been shown.",
             'step 3> unknown command "bogus"', "commands: next [N]",
             'step 3> next: expected a count of 1 or more, not "0"',
             "step 3> ")
    # the trace is the one --trace prints (same ids after back)
    assert out.count("trace id 00000003 conntrack prerouting tracker: tcp SYN_RECV") == 1


def test_step_invalid_packet_shows_window(pcap):
    out = run(pcap, "--step", "next 6\n").stdout
    in_order(out, "packet 6/14", "TCP 10.66.1.2:40000 > 10.66.2.2:80 [PA] seq=901011",
             "conntrack prerouting window: failed: SEQ is over upper bound",
             "conntrack prerouting invalid: SEQ is over upper bound",
             "rule ct state invalid counter drop (verdict drop)",
             "entry after:", "state ESTABLISHED")


def test_step_end_of_capture(tmp_path):
    p = write(tmp_path, "one.pcap", packets()[:1])
    out = run(p, "--step", "\n\nexplain\n").stdout
    in_order(out, "packet 1/1", "entry after:", "(end of capture: back, show, explain or quit)",
             "step 2> (end of capture", "step 2> entry:", "state SYN_SENT")


def test_quiz_transcript(pcap):
    answers = ["new", "SYN_SENT",          # right, right
               "established", "syn_recv",  # right, right (case does not matter)
               "maybe",                    # not an answer: asked again
               "new", "ESTABLISHED",       # wrong, right
               "established", "ESTABLISHED", "established", "ESTABLISHED",
               "established", "ESTABLISHED",   # packet 6 is INVALID: wrong, right
               "quit"]
    out = run(pcap, "--quiz", "\n".join(answers) + "\n").stdout
    in_order(out,
             "packet 1/14", "ct state: new — right", "TCP state: SYN_SENT — right",
             "why:", "no entry; new entry id", "IP_CT_NEW (ct state new)",
             "tcp NONE --syn/orig--> SYN_SENT: SYN opens a connection", "score: 2/2",
             "packet 2/14", "TCP state: SYN_RECV — right", "score: 4/4",
             "packet 3/14", "answer one of: new established related invalid untracked",
             "ct state: established — wrong",
             "ACK completes the three-way handshake", "score: 5/6",
             "packet 6/14", "ct state: invalid — wrong", "TCP state: ESTABLISHED — right",
             "failed: SEQ is over upper bound", "score: 10/12",
             "packet 7/14", "quiz: 10 of 12 right")
    assert "packet 8/14" not in out


def test_quiz_udp_and_icmp_ask_one_question(pcap):
    answers = ["new", "SYN_SENT", "established", "SYN_RECV", "established", "ESTABLISHED",
               "established", "ESTABLISHED", "established", "ESTABLISHED",
               "invalid", "ESTABLISHED", "established", "FIN_WAIT", "established",
               "LAST_ACK", "established", "TIME_WAIT", "invalid", "none",
               "new", "established", "new", "new"]
    out = run(pcap, "--quiz", "\n".join(answers) + "\n").stdout
    in_order(out, "packet 10/14", "[SA]", "ct state: invalid — right", "TCP state: none — right",
             "packet 11/14: UDP".replace(": UDP", " at +0.100000 s: UDP 10.66.1.2:1234"),
             "ct state: new — right", "packet 12/14", "ct state: established — right",
             "packet 14/14", "ICMP 10.66.1.2 > 10.66.2.2 type 8 code 0",
             "ct state: new — right", "quiz: 24 of 24 right")
    # one question per non-TCP packet
    assert out.count("TCP state of the entry") == 10


def test_usage(pcap):
    res = run(pcap, "--step", "", "-j", rc=2)
    assert "--step takes only --ruleset, --set and --topology" in res.stderr
    res = run(pcap, "--quiz", "", "--trace", rc=2)
    assert "--quiz takes only" in res.stderr
    res = run(str(pcap) + ".missing", "--step", "", rc=1)
    assert "ctsim replay:" in res.stderr


# --------------------------------------------------------------------------
# In a real terminal
# --------------------------------------------------------------------------

@pytest.fixture
def tmux():
    if not shutil.which("tmux"):
        pytest.fail("tmux is not installed (tests/setup-deps.sh installs it)")
    sock = f"ctsim-step-{uuid.uuid4().hex[:10]}"
    base = ["tmux", "-L", sock, "-f", "/dev/null"]
    try:
        yield base
    finally:
        subprocess.run(base + ["kill-server"], capture_output=True)


def screen_until(base, want, timeout=20, target="s"):
    end = time.time() + timeout
    text = ""
    while time.time() < end:
        text = subprocess.run(base + ["capture-pane", "-p", "-J", "-S", "-2000", "-t", target],
                              capture_output=True, text=True).stdout
        if all(w in text for w in want):
            return text
        time.sleep(0.2)
    raise AssertionError(f"not on the screen: {want}\n---\n{text}")


def test_step_and_quiz_in_a_terminal(pcap, tmux):
    env = " ".join(f"{k}={v}" for k, v in SANITIZER_ENV.items())
    cmd = f"env {env} {CTSIM} replay {pcap} --step; echo STEP-EXIT=$?; sleep 60"
    subprocess.run(tmux + ["new-session", "-d", "-s", "s", "-x", "200", "-y", "50", cmd],
                   check=True)
    screen_until(tmux, ["step 1> "])
    subprocess.run(tmux + ["send-keys", "-t", "s", "Enter"], check=True)
    screen_until(tmux, ["state SYN_SENT", "step 2> "])
    subprocess.run(tmux + ["send-keys", "-t", "s", "next 2", "Enter"], check=True)
    screen_until(tmux, ["state ESTABLISHED", "step 4> "])
    subprocess.run(tmux + ["send-keys", "-t", "s", "back", "Enter"], check=True)
    screen_until(tmux, ["back: 2 packets fed; next is packet 3", "step 3> "])
    subprocess.run(tmux + ["send-keys", "-t", "s", "quit", "Enter"], check=True)
    screen_until(tmux, ["STEP-EXIT=0"])

    cmd = f"env {env} {CTSIM} replay {pcap} --quiz; echo QUIZ-EXIT=$?; sleep 60"
    # a session of its own: the pane read is the quiz's, whatever tmux
    # considers the current window
    subprocess.run(tmux + ["new-session", "-d", "-s", "q", "-x", "200", "-y", "50", cmd],
                   check=True)
    screen_until(tmux, ["packet 1/14", "ct state (new, established"], target="q")
    subprocess.run(tmux + ["send-keys", "-t", "q", "new", "Enter"], check=True)
    screen_until(tmux, ["TCP state of the entry after it"], target="q")
    subprocess.run(tmux + ["send-keys", "-t", "q", "SYN_RECV", "Enter"], check=True)
    screen_until(tmux, ["ct state: new — right", "TCP state: SYN_SENT — wrong", "score: 1/2",
                        "packet 2/14"], target="q")
    subprocess.run(tmux + ["send-keys", "-t", "q", "quit", "Enter"], check=True)
    screen_until(tmux, ["quiz: 1 of 2 right", "QUIZ-EXIT=0"], target="q")
