# SPDX-License-Identifier: GPL-2.0-or-later
"""Raw cttimeout/cthelper requests on a NETLINK_NETFILTER socket; prints one
line per reply message: LABEL TYPE FLAGS PAYLOAD-HEX (the header's length,
seq and port id left out, so that a kernel's and ctsim's answers compare
byte for byte). Run directly against a kernel netns, or under ctsim-exec."""
import socket
import struct

NETLINK_NETFILTER = 12
TIMEOUT = 8 << 8
HELPER = 9 << 8


def attr(t, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, t) + data + b"\0" * ((4 - n % 4) % 4)


def msg(typ, flags, attrs=b""):
    body = struct.pack("=BBH", 0, 0, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), typ, flags, 1, 0) + body


def talk(m):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.send(m)
    out = []
    done = False
    while not done:
        d = s.recv(65536)
        i = 0
        while i < len(d):
            n, t, f, _seq, _pid = struct.unpack_from("=IHHII", d, i)
            out.append("%04x %04x %s" % (t, f, d[i + 16:i + n].hex()))
            if t in (2, 3) or not f & 2:
                done = True
            i += (n + 3) & ~3
    s.close()
    return out


def l34(l3, l4):
    return attr(2, struct.pack(">H", l3)) + attr(3, bytes([l4]))


def u32(t, v):
    return attr(t, struct.pack(">I", v))


REQ, ACK, DUMP, EXCL, CREATE, REPLACE = 1, 4, 0x300, 0x200, 0x400, 0x100
reqs = [
    ("dump-empty", msg(TIMEOUT | 1, REQ | DUMP)),
    ("get-missing", msg(TIMEOUT | 1, REQ | ACK, attr(1, b"t1\0"))),
    ("get-noname", msg(TIMEOUT | 1, REQ | ACK)),
    ("del-missing", msg(TIMEOUT | 2, REQ | ACK, attr(1, b"zz\0"))),
    ("name-nonul", msg(TIMEOUT | 1, REQ | ACK, attr(1, b"abcd"))),
    ("name-long", msg(TIMEOUT | 1, REQ | ACK, attr(1, b"x" * 40 + b"\0"))),
    ("l3-short", msg(TIMEOUT | 4, REQ | ACK, attr(2, b"\2") + attr(3, b"\6"))),
]
for p in (1, 6, 17, 47, 58, 132, 136, 255, 0, 33, 50):
    reqs.append(("dget%d" % p, msg(TIMEOUT | 4, REQ | ACK, l34(2, p))))
reqs += [
    ("new-nodata", msg(TIMEOUT | 0, REQ | ACK | CREATE | EXCL, attr(1, b"n1\0") + l34(2, 6))),
    ("new-empty", msg(TIMEOUT | 0, REQ | ACK | CREATE | EXCL,
                      attr(1, b"n1\0") + l34(2, 6) + attr(0x8004, b""))),
    ("get-n1", msg(TIMEOUT | 1, REQ | ACK, attr(1, b"n1\0"))),
    ("new-excl", msg(TIMEOUT | 0, REQ | ACK | CREATE | EXCL,
                     attr(1, b"n1\0") + l34(2, 6) + attr(0x8004, b""))),
    ("new-again", msg(TIMEOUT | 0, REQ | ACK | CREATE,
                      attr(1, b"n1\0") + l34(2, 6) + attr(0x8004, b""))),
    ("new-proto50", msg(TIMEOUT | 0, REQ | ACK | CREATE | EXCL,
                        attr(1, b"n2\0") + l34(2, 50) + attr(0x8004, b""))),
    ("new-short-value", msg(TIMEOUT | 0, REQ | ACK | CREATE | EXCL,
                            attr(1, b"n3\0") + l34(2, 17) + attr(0x8004, attr(1, b"\1\2")))),
    ("repl-kind", msg(TIMEOUT | 0, REQ | ACK | REPLACE,
                      attr(1, b"n1\0") + l34(2, 17) + attr(0x8004, b""))),
    ("repl-tcp", msg(TIMEOUT | 0, REQ | ACK | REPLACE,
                     attr(1, b"n1\0") + l34(2, 6) + attr(0x8004, u32(3, 77) + u32(11, 9)))),
    ("get-n1-replaced", msg(TIMEOUT | 1, REQ | ACK, attr(1, b"n1\0"))),
    ("new-sctp", msg(TIMEOUT | 0, REQ | ACK | CREATE | EXCL,
                     attr(1, b"s\0") + l34(10, 132) + attr(0x8004, u32(4, 7) + u32(9, 5)))),
    ("new-udp", msg(TIMEOUT | 0, REQ | ACK | CREATE | EXCL,
                    attr(1, b"u\0") + l34(2, 17) + attr(0x8004, u32(2, 9) + u32(7, 1)))),
    ("dump-three", msg(TIMEOUT | 1, REQ | DUMP)),
    ("dset-udp", msg(TIMEOUT | 3, REQ | ACK, l34(2, 17) + attr(0x8004, u32(1, 44)))),
    ("dget-udp-after", msg(TIMEOUT | 4, REQ | ACK, l34(2, 17))),
    ("dset-udp-back", msg(TIMEOUT | 3, REQ | ACK, l34(2, 17) + attr(0x8004, u32(1, 30)))),
    ("dset-nodata", msg(TIMEOUT | 3, REQ | ACK, l34(2, 17))),
    ("del-n1", msg(TIMEOUT | 2, REQ | ACK, attr(1, b"n1\0"))),
    ("del-all", msg(TIMEOUT | 2, REQ | ACK)),
    ("dump-after", msg(TIMEOUT | 1, REQ | DUMP)),
]
for label, m in reqs:
    for line in talk(m):
        print(label, line)
