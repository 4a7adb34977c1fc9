# SPDX-License-Identifier: GPL-2.0-or-later
"""Programs for the helper exercises of the lab (tests/test_lab_helpers.py),
run with ``/usr/bin/python3 tests/lib/lab_servers.py COMMAND ...`` inside a
namespace of ``ctsim --lab`` or of tests/lib/kernel_router.py:

* ``ftp ADDR DIR [DELAY]`` -- Debian's pyftpdlib (python3-pyftpdlib), a real
  FTP server (PORT, PASV, EPRT, EPSV, IPv4 and IPv6) on ADDR port 21,
  anonymous, serving DIR.  With DELAY > 0 it waits DELAY seconds after a
  PORT/EPRT command before it connects to the client, so the expectation
  the command created can be listed (the client cannot connect earlier
  either: it listens and waits).  Prints ``ready`` once listening.
* ``masters [SOCKET]`` -- dump the conntrack table with raw ctnetlink
  (``wire.py``) and print, for every entry that has a master, its
  original tuple and its master's (``CTA_TUPLE_MASTER``; conntrack(8) does
  not print it).  Without SOCKET: the kernel of the current namespace;
  with SOCKET: a ctsim daemon.

The same code runs in both worlds, so what differs is conntrack's doing.
"""
import os
import socket
import struct
import sys
import time

# Run as a script (in a namespace), this file's folder is on sys.path, but
# wire.py, the raw ctnetlink client, is the product's (ctsim/scenario/).
sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "ctsim", "scenario"))


def serve_ftp(addr, root, delay=0.0, foreign=False):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    class Handler(FTPHandler):
        # blocking on purpose: one client, and the pause keeps the
        # expectation alive while the test lists it
        def ftp_PORT(self, line):
            time.sleep(delay)
            return super().ftp_PORT(line)

        def ftp_EPRT(self, line):
            time.sleep(delay)
            return super().ftp_EPRT(line)

    # pyftpdlib compares the PORT/EPRT address with the peer's as strings;
    # the kernel's FTP NAT writes IPv6 in the long form (%pI6), which then
    # looks foreign although it is the peer's own address
    Handler.permit_foreign_addresses = foreign
    auth = DummyAuthorizer()
    auth.add_anonymous(root, perm="elrw")
    Handler.authorizer = auth
    Handler.timeout = 30
    server = FTPServer((addr, 21), Handler)
    print("ready", flush=True)
    server.serve_forever()


# --- master tuples through raw ctnetlink --------------------------------------

CTA_TUPLE_MASTER = 14


def _tuple_text(raw):
    import wire
    t = wire.parse_attrs(raw)
    ip = wire.parse_attrs(t.get(wire.CTA_TUPLE_IP, b""))
    pr = wire.parse_attrs(t.get(wire.CTA_TUPLE_PROTO, b""))
    if wire.CTA_IP_V4_SRC in ip:
        src = socket.inet_ntop(socket.AF_INET, ip[wire.CTA_IP_V4_SRC])
        dst = socket.inet_ntop(socket.AF_INET, ip[wire.CTA_IP_V4_DST])
    else:
        src = socket.inet_ntop(socket.AF_INET6, ip[wire.CTA_IP_V6_SRC])
        dst = socket.inet_ntop(socket.AF_INET6, ip[wire.CTA_IP_V6_DST])
    num = pr[wire.CTA_PROTO_NUM][0]
    text = f"proto={num} src={src} dst={dst}"
    if wire.CTA_PROTO_SRC_PORT in pr:
        text += " sport=%d dport=%d" % (struct.unpack(">H", pr[wire.CTA_PROTO_SRC_PORT])[0],
                                        struct.unpack(">H", pr[wire.CTA_PROTO_DST_PORT])[0])
    return text


def masters(conn):
    """[(original tuple, master tuple)] of the entries that have a master."""
    import wire
    out = []
    for m in conn.dump(wire.ct_dump()):
        a = m.attrs()
        if CTA_TUPLE_MASTER in a:
            out.append((_tuple_text(a[wire.CTA_TUPLE_ORIG]), _tuple_text(a[CTA_TUPLE_MASTER])))
    return sorted(out)


CTA_SEQ_ADJ_ORIG, CTA_SEQ_ADJ_REPLY = 15, 16
CTA_EXPECT_TUPLE, CTA_EXPECT_NAT, CTA_EXPECT_FN = 2, 10, 11
CTA_EXPECT_NAT_DIR, CTA_EXPECT_NAT_TUPLE = 1, 2
IPCTNL_MSG_EXP_GET = 1


def natinfo(conn):
    """What NAT helpers leave in ctnetlink, as raw attributes decoded: each
    entry's CTA_SEQ_ADJ_ORIG / _REPLY (correction position, offsets before
    and after) and each expectation's CTA_EXPECT_NAT (direction, tuple)
    and CTA_EXPECT_FN. Sorted lines."""
    import wire
    out = []
    for m in conn.dump(wire.ct_dump()):
        a = m.attrs()
        for t, name in ((CTA_SEQ_ADJ_ORIG, "orig"), (CTA_SEQ_ADJ_REPLY, "reply")):
            if t in a:
                s = wire.parse_attrs(a[t])
                vals = "/".join(str(struct.unpack(">I", s[k])[0]) for k in (1, 2, 3))
                out.append(f"{_tuple_text(a[wire.CTA_TUPLE_ORIG])} seqadj-{name}={vals}")
    req = wire.ct_msg(IPCTNL_MSG_EXP_GET, wire.NLM_F_REQUEST | wire.NLM_F_DUMP,
                      family=wire.AF_UNSPEC, subsys=wire.SUBSYS_EXP)
    for m in conn.dump(req):
        a = m.attrs()
        line = "expect " + _tuple_text(a[CTA_EXPECT_TUPLE])
        if CTA_EXPECT_NAT in a:
            n = wire.parse_attrs(a[CTA_EXPECT_NAT])
            line += " nat-dir=%d" % struct.unpack(">I", n[CTA_EXPECT_NAT_DIR])[0]
            line += " nat-tuple=[" + _tuple_text(n[CTA_EXPECT_NAT_TUPLE]) + "]"
        if CTA_EXPECT_FN in a:
            line += " fn=" + a[CTA_EXPECT_FN].rstrip(b"\0").decode()
        out.append(line)
    return sorted(out)


def expnat(conn):
    """Expectations with CTA_EXPECT_NAT / CTA_EXPECT_FN created through
    ctnetlink for the FTP master 127.0.0.1:40000 -> :21: the errno of each
    request, then natinfo()."""
    import wire
    flags = wire.NLM_F_REQUEST | wire.NLM_F_ACK | wire.NLM_F_CREATE

    def req(dport, nat=None, fn=None):
        attrs = [wire.tuple_attr(2, "127.0.0.1", "127.0.0.1", 6, 0, dport),
                 wire.tuple_attr(3, "255.255.255.255", "255.255.255.255", 6, 0, 0xffff),
                 wire.tuple_attr(1, "127.0.0.1", "127.0.0.1", 6, 40000, 21),
                 wire.be32(4, 100)]
        if nat is not None:
            attrs.append(wire.nest(CTA_EXPECT_NAT, *nat))
        if fn is not None:
            attrs.append(wire.attr(CTA_EXPECT_FN, fn.encode() + b"\0"))
        msgs = [m for d in conn.exchange(wire.ct_msg(0, flags, *attrs, subsys=wire.SUBSYS_EXP))
                for m in wire.split(d)]
        errs = [m.error for m in msgs if m.type == wire.NLMSG_ERROR]
        return errs[0] if errs else None

    whole = [wire.be32(CTA_EXPECT_NAT_DIR, 1),
             wire.tuple_attr(CTA_EXPECT_NAT_TUPLE, "0.0.0.0", "0.0.0.0", 6, 5000, 0)]
    # the ftp policy keeps one expectation per master: the last one created
    # (with both attributes) is the one dumped
    out = [f"fn only {req(10243, None, 'nat-follow-master')}",
           f"nat only {req(10242, whole)}",
           f"unknown fn {req(10244, whole, 'no-such-fn')}",
           f"nat without tuple {req(10245, whole[:1])}",
           f"nat without dir {req(10246, whole[1:])}",
           f"nat+fn {req(10241, whole, 'nat-follow-master')}"]
    return out + natinfo(conn)


def main(argv):
    if argv[0] == "ftp":
        serve_ftp(argv[1], argv[2], float(argv[3]) if len(argv) > 3 else 0.0,
                  len(argv) > 4 and argv[4] == "foreign")
    elif argv[0] == "expnat":
        import wire
        conn = wire.CtsimConn(argv[1]) if len(argv) > 1 else wire.KernelConn()
        with conn:
            for line in expnat(conn):
                print(line)
    elif argv[0] == "natinfo":
        import wire
        conn = wire.CtsimConn(argv[1]) if len(argv) > 1 else wire.KernelConn()
        with conn:
            for line in natinfo(conn):
                print(line)
    elif argv[0] == "masters":
        import wire
        conn = wire.CtsimConn(argv[1]) if len(argv) > 1 else wire.KernelConn()
        with conn:
            for orig, master in masters(conn):
                print(f"{orig} master {master}")
    else:
        raise SystemExit(f"unknown command {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
