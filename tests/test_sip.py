# SPDX-License-Identifier: GPL-2.0-or-later
"""The SIP helper (helpers/sip.c) against the kernel's nf_conntrack_sip.

Scapy builds a SIP exchange over UDP (INVITE and 200 OK with SDP, a REGISTER
and its 200 OK) and over TCP (the same messages framed by Content-Length,
several in one segment, one split over two segments, REGISTER with
transport=tcp); the same capture goes through the kernel router namespace of
test_replay.py with `ct helper sip-5060 { type "sip" protocol udp; }` and
`ct helper sip-tcp { type "sip" protocol tcp; }` and through `ctsim replay`
with the same ruleset. `conntrack -L expect` and
`conntrack -L -o extended` must agree (timeouts within 1 s).
"""

import re
import subprocess

import pytest

from conftest import CONNTRACK, assert_conntrack_equal
from test_replay import C_IP, S_IP, Router, replay, split_output, write

from scapy.all import IP, TCP, UDP, Raw  # noqa: E402  (test_replay skips without Scapy)

HELPER_TABLE = """table inet h {
    ct helper sip-5060 { type "sip" protocol udp; }
    ct helper sip-tcp { type "sip" protocol tcp; }
    chain pre { type filter hook prerouting priority 0; policy accept;
        udp dport 5060 ct helper set "sip-5060"
        tcp dport 5060 ct helper set "sip-tcp"
    }
}
"""

# Router's forward chain, for ctsim's side (--ruleset replaces the default).
FILTER_TABLE = """table inet f {
    chain filt { type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        ct state new accept
    }
}
"""


def sip_pkts():
    c, s = dict(src=C_IP, dst=S_IP), dict(src=S_IP, dst=C_IP)
    invite = ("INVITE sip:bob@%s SIP/2.0\r\n"
              "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK776asdhds\r\n"
              "From: <sip:alice@%s>;tag=1\r\nTo: <sip:bob@%s>\r\n"
              "Call-ID: a84b4c76e66710@%s\r\nCSeq: 314159 INVITE\r\n"
              "Contact: <sip:alice@%s>\r\nContent-Type: application/sdp\r\n"
              "Content-Length: 97\r\n\r\n"
              "v=0\r\no=alice 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
              "m=audio 49170 RTP/AVP 0\r\nm=video 51372 RTP/AVP 31\r\n"
              ) % (S_IP, C_IP, C_IP, S_IP, C_IP, C_IP, C_IP, C_IP)
    ok = ("SIP/2.0 200 OK\r\n"
          "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK776asdhds\r\n"
          "From: <sip:alice@%s>;tag=1\r\nTo: <sip:bob@%s>;tag=2\r\n"
          "Call-ID: a84b4c76e66710@%s\r\nCSeq: 314159 INVITE\r\n"
          "Contact: <sip:bob@%s>\r\nContent-Type: application/sdp\r\n"
          "Content-Length: 80\r\n\r\n"
          "v=0\r\no=bob 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
          "m=audio 3457 RTP/AVP 0\r\n") % (C_IP, C_IP, S_IP, C_IP, S_IP, S_IP, S_IP)
    register = ("REGISTER sip:%s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s:5062;branch=z9hG4bKnashds7\r\n"
                "To: <sip:carol@%s>\r\nFrom: <sip:carol@%s>;tag=3\r\n"
                "Call-ID: 843817637684230@%s\r\nCSeq: 1826 REGISTER\r\n"
                "Contact: <sip:carol@%s:5062>\r\nExpires: 7200\r\n"
                "Content-Length: 0\r\n\r\n") % (S_IP, C_IP, S_IP, S_IP, C_IP, C_IP)
    reg_ok = ("SIP/2.0 200 OK\r\nCSeq: 1826 REGISTER\r\n"
              "Contact: <sip:carol@%s:5062>;expires=600\r\n"
              "Content-Length: 0\r\n\r\n") % C_IP
    return [IP(**c) / UDP(sport=5060, dport=5060) / Raw(invite.encode()),
            IP(**s) / UDP(sport=5060, dport=5060) / Raw(ok.encode()),
            IP(**c) / UDP(sport=5062, dport=5060) / Raw(register.encode()),
            IP(**s) / UDP(sport=5060, dport=5062) / Raw(reg_ok.encode())]


def norm_expect(text):
    """`conntrack -L expect` lines, timeouts masked, sorted."""
    lines = [re.sub(r"^\d+ ", "T ", l.strip()) for l in text.splitlines() if l.strip()]
    return sorted(lines)


@pytest.fixture
def sip_router():
    import os
    import shutil
    if os.geteuid() != 0 or not shutil.which("nft") or not os.path.exists(CONNTRACK):
        pytest.skip("needs root, nft and conntrack")
    r = Router()
    try:
        r.nft(r.rtr, HELPER_TABLE)
        yield r
    finally:
        r.delete()


def bye_pkt():
    bye = ("BYE sip:alice@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060\r\n"
           "CSeq: 231 BYE\r\nContent-Length: 0\r\n\r\n") % (C_IP, S_IP)
    return IP(src=S_IP, dst=C_IP) / UDP(sport=5060, dport=5060) / Raw(bye.encode())


class TcpFlow:
    """One TCP connection C_IP:sport -> S_IP:5060: handshake, then data
    segments with the sequence numbers a stack would use."""

    def __init__(self, sport=40000):
        self.cp, self.sp = dict(sport=sport, dport=5060), dict(sport=5060, dport=sport)
        self.cseq, self.sseq = 1000, 5000
        self.pkts = [IP(src=C_IP, dst=S_IP) / TCP(**self.cp, flags="S", seq=999),
                     IP(src=S_IP, dst=C_IP) / TCP(**self.sp, flags="SA", seq=4999, ack=1000),
                     IP(src=C_IP, dst=S_IP) / TCP(**self.cp, flags="A", seq=1000, ack=5000)]

    def send(self, client, data):
        data = data.encode() if isinstance(data, str) else data
        if client:
            p = IP(src=C_IP, dst=S_IP) / TCP(**self.cp, flags="PA", seq=self.cseq, ack=self.sseq)
            self.cseq += len(data)
        else:
            p = IP(src=S_IP, dst=C_IP) / TCP(**self.sp, flags="PA", seq=self.sseq, ack=self.cseq)
            self.sseq += len(data)
        self.pkts.append(p / Raw(data))
        return self


def tcp_msgs():
    """The UDP exchange's messages, for TCP (their Content-Length is exact)."""
    return [bytes(p[Raw].load) for p in sip_pkts()]


def tcp_call(flow=None):
    inv, ok, _, _ = tcp_msgs()
    trying = b"SIP/2.0 100 Trying\r\nCSeq: 314159 INVITE\r\nContent-Length: 0\r\n\r\n"
    return (flow or TcpFlow()).send(True, inv).send(False, trying + ok)


def tcp_call_split():
    inv, ok, _, _ = tcp_msgs()
    return TcpFlow().send(True, inv[:300]).send(True, inv[300:]).send(False, ok).pkts


def tcp_register():
    reg = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s:40001\r\nCSeq: 7 REGISTER\r\n"
           "Contact: <sip:carol@%s:5070;transport=tcp>\r\nExpires: 3600\r\n"
           "Content-Length: 0\r\n\r\n") % (S_IP, C_IP, C_IP)
    ok = ("SIP/2.0 200 OK\r\nCSeq: 7 REGISTER\r\n"
          "Contact: <sip:carol@%s:5070;transport=tcp>;expires=900\r\n"
          "Content-Length: 0\r\n\r\n") % C_IP
    return TcpFlow(40001).send(True, reg).send(False, ok).pkts


def tcp_call_and_bye():
    return tcp_call().send(False, bytes(bye_pkt()[Raw].load)).pkts


# name -> (packets, number of expectations)
CASES = {
    # INVITE: audio + video (RTP, RTCP each), 200 OK: audio; REGISTER + 200 OK
    "call_and_register": (lambda: sip_pkts(), 7),
    # a REGISTER without its answer: PERMANENT,INACTIVE
    "register_unanswered": (lambda: [sip_pkts()[0], sip_pkts()[2]], 5),
    # BYE flushes the media
    "call_and_bye": (lambda: sip_pkts()[:2] + [bye_pkt()], 0),
    # over TCP: INVITE, then 100 Trying + 200 OK in one segment. The
    # INVITE's Content-Length (97) ends its body before `m=video`: over TCP
    # the message stops there, so only audio is expected (over UDP: video too)
    "tcp_call": (lambda: tcp_call().pkts, 4),
    # the INVITE split over two segments is not read; the 200 OK is
    "tcp_call_split": (tcp_call_split, 2),
    # REGISTER with transport=tcp: a TCP signalling expectation, activated
    "tcp_register": (tcp_register, 1),
    "tcp_call_and_bye": (tcp_call_and_bye, 0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_sip_same_as_kernel(tmp_path, sip_router, name):
    pkts, count = CASES[name]
    pcap = write(tmp_path, "sip.pcap", pkts())
    k_list, _ = sip_router.run_capture(pcap)
    k_exp = subprocess.run(["ip", "netns", "exec", sip_router.rtr, CONNTRACK, "-L", "expect"],
                           capture_output=True, text=True).stdout
    # Without the helper the kernel side checks nothing: fail, as test_helpers
    # does for FTP (a skip here turned a missing nf_conntrack_sip green).
    if "helper=sip" not in k_list:
        pytest.fail("the kernel did not attach the sip helper (nf_conntrack_sip missing?)")
    rs = tmp_path / "sip.nft"
    rs.write_text(HELPER_TABLE + FILTER_TABLE)
    res = replay(pcap, "--ruleset", rs, "--expectations")
    _, table, _, rest = split_output(res.stdout)
    c_exp = [l for l in rest if " proto=" in l]
    assert len(norm_expect(k_exp)) == count, k_exp
    assert norm_expect(k_exp) == norm_expect("\n".join(c_exp)), (k_exp, c_exp)
    assert_conntrack_equal(k_list, "\n".join(table) + "\n", what="sip: conntrack -L")
