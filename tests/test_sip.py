# SPDX-License-Identifier: GPL-2.0-or-later
"""The SIP helper (helpers/sip.c) against the kernel's nf_conntrack_sip.

Scapy builds a SIP exchange over UDP (INVITE and 200 OK with SDP, a REGISTER
and its 200 OK); the same capture goes through the kernel router namespace of
test_replay.py with `ct helper sip-5060 { type "sip" protocol udp; }` and
through `ctsim replay` with the same ruleset. `conntrack -L expect` and
`conntrack -L -o extended` must agree (timeouts within 1 s).
"""

import re
import subprocess

import pytest

from conftest import CONNTRACK, assert_conntrack_equal
from test_replay import C_IP, S_IP, Router, replay, split_output, write

from scapy.all import IP, UDP, Raw  # noqa: E402  (test_replay skips without Scapy)

HELPER_TABLE = """table inet h {
    ct helper sip-5060 { type "sip" protocol udp; }
    chain pre { type filter hook prerouting priority 0; policy accept;
        udp dport 5060 ct helper set "sip-5060"
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


# name -> (packets, number of expectations)
CASES = {
    # INVITE: audio + video (RTP, RTCP each), 200 OK: audio; REGISTER + 200 OK
    "call_and_register": (lambda: sip_pkts(), 7),
    # a REGISTER without its answer: PERMANENT,INACTIVE
    "register_unanswered": (lambda: [sip_pkts()[0], sip_pkts()[2]], 5),
    # BYE flushes the media
    "call_and_bye": (lambda: sip_pkts()[:2] + [bye_pkt()], 0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_sip_same_as_kernel(tmp_path, sip_router, name):
    pkts, count = CASES[name]
    pcap = write(tmp_path, "sip.pcap", pkts())
    k_list, _ = sip_router.run_capture(pcap)
    k_exp = subprocess.run(["ip", "netns", "exec", sip_router.rtr, CONNTRACK, "-L", "expect"],
                           capture_output=True, text=True).stdout
    if "helper=sip" not in k_list:
        pytest.skip("the kernel did not attach the sip helper")
    rs = tmp_path / "sip.nft"
    rs.write_text(HELPER_TABLE + FILTER_TABLE)
    res = replay(pcap, "--ruleset", rs, "--expectations")
    _, table, _, rest = split_output(res.stdout)
    c_exp = [l for l in rest if " proto=" in l]
    assert len(norm_expect(k_exp)) == count, k_exp
    assert norm_expect(k_exp) == norm_expect("\n".join(c_exp)), (k_exp, c_exp)
    assert_conntrack_equal(k_list, "\n".join(table) + "\n", what="sip: conntrack -L")
