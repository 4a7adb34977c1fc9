# SPDX-License-Identifier: GPL-2.0-or-later
"""A small, independent raw client for ctsim's socket and the kernel's.

Pure Python (struct + socket), deliberately sharing no code with the C codec
in proto/, so that tests built on it check the daemon against an independent
reading of the protocol (see ../shared/reference/ctnetlink-compat.md).

Two transports with the same interface:

  CtsimConn(path)  -- AF_UNIX SOCK_SEQPACKET to the daemon; performs the
                      CTSIM_CTL_BIND handshake (proto/ctsim_wire.h) first;
  KernelConn()     -- a real AF_NETLINK/NETLINK_NETFILTER socket (run it in
                      a throw-away netns).

Both offer send(bytes), recv(timeout) -> bytes | None, setsockopt(opt, val),
port and close().  exchange() sends one datagram and collects the answer
datagrams until an NLMSG_ERROR or NLMSG_DONE (or a quiet period).

Run as a script, `python3 wire.py session` reads a JSON list of operations on
stdin, runs them against the kernel (in whatever netns it was started in) and
prints the answers as JSON: this is how tests compare ctsim's answer to the
same bytes with the real kernel's.

    [["sockopt", 10, 1], ["send", "<hex>"], ...]  ->  [[<hex datagram>...], ...]
"""

import json
import os
import select
import socket
import struct
import sys

# --- constants (ctnetlink-compat.md section 2) -------------------------------

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_NO_ENOBUFS = 5
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x2, 0x4, 0x8
NLM_F_DUMP_FILTERED = 0x20
NLM_F_ROOT, NLM_F_MATCH = 0x100, 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLA_F_NESTED = 0x8000

SUBSYS_CT, SUBSYS_EXP = 1, 2
CT_NEW, CT_GET, CT_DELETE, CT_GET_CTRZERO, CT_GET_STATS_CPU, CT_GET_STATS = 0, 1, 2, 3, 4, 5
CT_GET_DYING, CT_GET_UNCONFIRMED = 6, 7

AF_UNSPEC, AF_INET, AF_INET6 = 0, 2, 10

CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_STATUS, CTA_PROTOINFO = 1, 2, 3, 4
CTA_TIMEOUT, CTA_MARK, CTA_ID, CTA_ZONE, CTA_MARK_MASK = 7, 8, 12, 18, 21
CTA_FILTER = 25
CTA_TUPLE_IP, CTA_TUPLE_PROTO, CTA_TUPLE_ZONE = 1, 2, 3
CTA_IP_V4_SRC, CTA_IP_V4_DST, CTA_IP_V6_SRC, CTA_IP_V6_DST = 1, 2, 3, 4
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
CTA_STATS_GLOBAL_ENTRIES, CTA_STATS_GLOBAL_MAX_ENTRIES = 1, 2

IPS_CONFIRMED = 0x8

# proto/ctsim_wire.h
CTSIM_CTL_MAGIC = 0x4D535443
CTSIM_CTL_BIND, CTSIM_CTL_BIND_REPLY, CTSIM_CTL_SETSOCKOPT, CTSIM_CTL_ENOBUFS = 1, 2, 3, 4
CTSIM_CTL_ADVANCE, CTSIM_CTL_RELOAD, CTSIM_CTL_REPLY, CTSIM_CTL_RULESET = 5, 6, 7, 8
CTSIM_BIND_AUTO = 0x1
CTSIM_RULESET_JSON, CTSIM_RULESET_RESET = 0x1, 0x2
CTL_FMT = "<IHHIIiI"            # magic, op, flags, a, b, err, pid
CTL_LEN = struct.calcsize(CTL_FMT)

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid (host order)


def align4(n):
    return (n + 3) & ~3


# --- building ----------------------------------------------------------------

def attr(atype, data):
    """One netlink attribute: header, payload, zero padding to 4 bytes."""
    hdr = struct.pack("=HH", 4 + len(data), atype)
    return hdr + data + b"\0" * (align4(len(data)) - len(data))


def nest(atype, *children, flag=True):
    return attr(atype | (NLA_F_NESTED if flag else 0), b"".join(children))


def u8(atype, v):
    return attr(atype, struct.pack("B", v))


def be16(atype, v):
    return attr(atype, struct.pack(">H", v))


def be32(atype, v):
    return attr(atype, struct.pack(">I", v))


def ip_attrs(src, dst):
    if ":" in src:
        return (attr(CTA_IP_V6_SRC, socket.inet_pton(socket.AF_INET6, src)) +
                attr(CTA_IP_V6_DST, socket.inet_pton(socket.AF_INET6, dst)))
    return (attr(CTA_IP_V4_SRC, socket.inet_aton(src)) +
            attr(CTA_IP_V4_DST, socket.inet_aton(dst)))


def tuple_attr(atype, src, dst, proto=17, sport=1000, dport=53):
    """CTA_TUPLE_ORIG/REPLY for a port-based protocol."""
    return nest(atype,
                nest(CTA_TUPLE_IP, ip_attrs(src, dst)),
                nest(CTA_TUPLE_PROTO, u8(CTA_PROTO_NUM, proto),
                     be16(CTA_PROTO_SRC_PORT, sport), be16(CTA_PROTO_DST_PORT, dport)))


def nlmsg(mtype, flags, payload, seq=1234, pid=0, subsys=SUBSYS_CT):
    """nlmsghdr + payload; mtype is the message number within subsys
    (pass subsys=None to use mtype as the full nlmsg_type)."""
    full = mtype if subsys is None else (subsys << 8) | mtype
    return NLMSGHDR.pack(16 + len(payload), full, flags, seq, pid) + payload


def nfgen(family=AF_INET, version=0, res_id=0):
    return struct.pack("=BBH", family, version, socket.htons(res_id))


def ct_msg(mtype, flags, *attrs, family=AF_INET, seq=1234, subsys=SUBSYS_CT, version=0):
    return nlmsg(mtype, flags, nfgen(family, version) + b"".join(attrs), seq=seq, subsys=subsys)


def udp_entry_attrs(src="10.0.0.1", dst="10.1.0.1", sport=1000, dport=53, timeout=300,
                    reply=True, with_timeout=True, mark=None):
    """The attributes of a UDP conntrack create, as `conntrack -I` orders them."""
    out = [tuple_attr(CTA_TUPLE_ORIG, src, dst, 17, sport, dport)]
    if reply:
        out.append(tuple_attr(CTA_TUPLE_REPLY, dst, src, 17, dport, sport))
    out.append(be32(CTA_STATUS, IPS_CONFIRMED))
    if with_timeout:
        out.append(be32(CTA_TIMEOUT, timeout))
    if mark is not None:
        out.append(be32(CTA_MARK, mark))
    return out


def ct_create(seq=1234, flags=NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, **kw):
    return ct_msg(CT_NEW, flags, *udp_entry_attrs(**kw), seq=seq)


def ct_dump(*attrs, seq=1234, family=AF_UNSPEC, flags=NLM_F_REQUEST | NLM_F_DUMP):
    return ct_msg(CT_GET, flags, *attrs, family=family, seq=seq)


def ipv4(i, base=0x0A000000):
    """The i-th IPv4 address counting from 10.0.0.0 (for bulk generation)."""
    return socket.inet_ntoa(struct.pack(">I", base + i))


# --- parsing -----------------------------------------------------------------

class Msg:
    """One netlink message out of a datagram."""

    def __init__(self, raw):
        self.raw = raw
        self.len, self.type, self.flags, self.seq, self.pid = NLMSGHDR.unpack_from(raw)
        self.payload = raw[16:self.len]

    @property
    def error(self):
        """For NLMSG_ERROR: the signed error (0 = ACK, negative errno)."""
        return struct.unpack_from("=i", self.payload)[0]

    @property
    def echoed(self):
        """For NLMSG_ERROR: the echoed request (header only when capped)."""
        return self.payload[4:]

    def attrs(self, offset=4):
        """Top-level attributes after the 4-byte nfgenmsg: {type: bytes}."""
        return parse_attrs(self.payload[offset:])

    def __repr__(self):
        extra = f" error={self.error}" if self.type == NLMSG_ERROR else ""
        return f"<Msg len={self.len} type={self.type:#06x} flags={self.flags:#x} seq={self.seq}{extra}>"


def split(dgram):
    """Split a datagram into netlink messages (stops at a malformed tail)."""
    msgs, off = [], 0
    while off + 16 <= len(dgram):
        n = struct.unpack_from("=I", dgram, off)[0]
        if n < 16 or off + n > len(dgram):
            break
        msgs.append(Msg(dgram[off:off + n]))
        off += align4(n)
    return msgs


def parse_attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or off + alen > len(buf):
            break
        out[atype & 0x3FFF] = buf[off + 4:off + alen]
        off += align4(alen)
    return out


def is_ctl(dgram):
    return len(dgram) >= CTL_LEN and struct.unpack_from("<I", dgram)[0] == CTSIM_CTL_MAGIC


def parse_ctl(dgram):
    magic, op, flags, a, b, err, pid = struct.unpack_from(CTL_FMT, dgram)
    return {"op": op, "flags": flags, "a": a, "b": b, "err": err, "pid": pid}


# --- transports --------------------------------------------------------------

class _Conn:
    sock = None
    port = 0

    def fileno(self):
        return self.sock.fileno()

    def send(self, data):
        return self.sock.send(data)

    def recv(self, timeout=2.0, bufsize=1 << 20):
        """One datagram, or None after `timeout` seconds of silence."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        return self.sock.recv(bufsize)

    def exchange(self, data, timeout=2.0, quiet=0.2):
        """Send one datagram; return the answer datagrams.

        Collects until a datagram contains NLMSG_ERROR or NLMSG_DONE at top
        level; then waits `quiet` seconds more for stragglers (e.g. an ACK
        after an object).  With no terminator, stops after `timeout`
        seconds of silence (requests that get no answer)."""
        self.send(data)
        return self.collect(timeout, quiet)

    def collect(self, timeout=2.0, quiet=0.2):
        out = []
        wait = timeout
        while True:
            d = self.recv(wait)
            if d is None:
                return out
            out.append(d)
            if not is_ctl(d) and any(m.type in (NLMSG_ERROR, NLMSG_DONE) for m in split(d)):
                wait = quiet

    def dump(self, data, timeout=10.0):
        """Send a dump request; return the list of object messages (until DONE)."""
        self.send(data)
        objs = []
        while True:
            d = self.recv(timeout)
            if d is None:
                raise TimeoutError("dump did not end with NLMSG_DONE")
            for m in split(d):
                if m.type == NLMSG_DONE:
                    return objs
                if m.type == NLMSG_ERROR:
                    raise OSError(-m.error, os.strerror(-m.error))
                objs.append(m)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CtsimConn(_Conn):
    """A raw client of the ctsim daemon's SOCK_SEQPACKET socket."""

    def __init__(self, path, groups=0, port=0, bind=True, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        if bind:
            self.bind(groups, port, timeout)

    def ctl(self, op, a=0, b=0, flags=0):
        self.sock.send(struct.pack(CTL_FMT, CTSIM_CTL_MAGIC, op, flags, a, b, 0, os.getpid()))

    def bind(self, groups=0, port=0, timeout=5.0):
        flags = CTSIM_BIND_AUTO if port == 0 else 0
        self.ctl(CTSIM_CTL_BIND, a=port or os.getpid(), b=groups, flags=flags)
        d = self.recv(timeout)
        if d is None or not is_ctl(d):
            raise ConnectionError(f"no CTSIM_CTL_BIND_REPLY (got {d!r})")
        rep = parse_ctl(d)
        if rep["op"] != CTSIM_CTL_BIND_REPLY:
            raise ConnectionError(f"unexpected control reply {rep}")
        if rep["err"]:
            raise OSError(rep["err"], os.strerror(rep["err"]))
        self.port = rep["a"]
        return self.port

    def setsockopt(self, opt, value):
        self.ctl(CTSIM_CTL_SETSOCKOPT, a=opt, b=value)


class KernelConn(_Conn):
    """A real NETLINK_NETFILTER socket (use it inside a throw-away netns)."""

    def __init__(self, groups=0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((0, groups))
        self.port = self.sock.getsockname()[0]

    def setsockopt(self, opt, value):
        self.sock.setsockopt(SOL_NETLINK, opt, value)


# --- bulk loading -------------------------------------------------------------

def drain(conn):
    """Read whatever is queued without blocking; return the NLMSG_ERRORs."""
    errs = []
    while True:
        d = conn.recv(0)
        if d is None:
            return errs
        if not is_ctl(d):
            errs += [m for m in split(d) if m.type == NLMSG_ERROR and m.error != 0]


def _bulk_template(proto):
    """A CT_NEW create for 0.0.0.0:1000 -> 10.255.0.1:53 and the offsets of
    the two address fields that vary (orig source, reply destination)."""
    m = ct_msg(CT_NEW, NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE,
               tuple_attr(CTA_TUPLE_ORIG, "0.0.0.0", "10.255.0.1", proto, 1000, 53),
               tuple_attr(CTA_TUPLE_REPLY, "10.255.0.1", "0.0.0.0", proto, 53, 1000),
               be32(CTA_STATUS, IPS_CONFIRMED), be32(CTA_TIMEOUT, 600), seq=0)
    src, rdst = 32, 92          # see tuple_attr(): hdr 16 + nfgen 4 + 3 nest/attr headers
    assert m[src:src + 4] == bytes(4) and m[rdst:rdst + 4] == bytes(4)
    assert m[rdst - 8:rdst - 4] == socket.inet_aton("10.255.0.1")
    return bytearray(m), src, rdst


def bulk_insert(conn, count, start=0, batch_bytes=16384, timeout=300, proto=17):
    """Create `count` UDP entries <10.0.0.0 + i + 1>:1000 -> 10.255.0.1:53
    (i from `start`), many CT_NEW per datagram, without ACKs except for the
    very last message; the daemon (or kernel) must process every message of
    a datagram.  Returns the number of error answers seen (0 = all created)."""
    tmpl, src, rdst = _bulk_template(proto)
    mlen = len(tmpl)
    per_dgram = max(1, batch_bytes // mlen)
    errors, seq = 0, 0
    end = start + count
    i = start
    while i < end:
        seq += 1
        n = min(per_dgram, end - i)
        buf = bytearray(tmpl * n)
        for k in range(n):
            off = k * mlen
            addr = struct.pack(">I", 0x0A000000 + i + k + 1)
            buf[off + src:off + src + 4] = addr
            buf[off + rdst:off + rdst + 4] = addr
            struct.pack_into("=I", buf, off + 8, seq)
        i += n
        if i == end:      # the last message asks for an ACK
            off = (n - 1) * mlen
            struct.pack_into("=H", buf, off + 6, NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE | NLM_F_ACK)
        conn.send(bytes(buf))
        if i < end:
            errors += len(drain(conn))
    # wait for the answer to the last message: the ACK, or an error whose
    # echoed request header carries NLM_F_ACK (only the last one does)
    while True:
        d = conn.recv(timeout)
        if d is None:
            raise TimeoutError("no answer to the last create")
        if is_ctl(d):
            continue
        for m in split(d):
            if m.type != NLMSG_ERROR:
                continue
            if m.error == 0:
                return errors
            errors += 1
            echoed_flags = struct.unpack_from("=H", m.echoed, 6)[0] if len(m.echoed) >= 8 else 0
            if m.seq == seq and echoed_flags & NLM_F_ACK:
                return errors


def count_entries(conn):
    """CT_GET_STATS -> CTA_STATS_GLOBAL_ENTRIES."""
    ans = conn.exchange(ct_msg(CT_GET_STATS, NLM_F_REQUEST, family=AF_UNSPEC), quiet=0.05)
    for d in ans:
        for m in split(d):
            if m.type == (SUBSYS_CT << 8) | CT_GET_STATS:
                return struct.unpack(">I", m.attrs()[CTA_STATS_GLOBAL_ENTRIES])[0]
    raise RuntimeError(f"no CT_GET_STATS answer: {ans!r}")


# --- sessions: the same operations against either transport -----------------

def run_session(conn, ops, timeout=2.0, quiet=0.2):
    """ops: ["sockopt", opt, val] | ["send", hex] | ["send", hex, timeout];
    returns, per "send", the list of answer datagrams (hex)."""
    answers = []
    for op in ops:
        if op[0] == "sockopt":
            conn.setsockopt(op[1], op[2])
        elif op[0] == "send":
            t = op[2] if len(op) > 2 else timeout
            answers.append([d.hex() for d in conn.exchange(bytes.fromhex(op[1]), t, quiet)])
        else:
            raise ValueError(op)
    return answers


def summarize(answers, port=None):
    """A comparable form of a session's answers: per send, per datagram, per
    message (type, flags, error or None, length for errors, pid=='port')."""
    out = []
    for dgrams in answers:
        per = []
        for h in dgrams:
            d = bytes.fromhex(h) if isinstance(h, str) else h
            if is_ctl(d):
                per.append(("ctl", parse_ctl(d)["op"]))
                continue
            per.append(tuple((m.type, m.flags,
                              m.error if m.type == NLMSG_ERROR else None,
                              m.len if m.type in (NLMSG_ERROR, NLMSG_DONE) else None,
                              m.seq)
                             for m in split(d)))
        out.append(per)
    return out


def main(argv):
    """`session`: stdin is a JSON list of ops (one socket) or an object
    {name: ops} (a fresh socket per name); prints the answers as JSON."""
    if len(argv) >= 2 and argv[1] == "session":
        spec = json.load(sys.stdin)
        groups = int(argv[2], 0) if len(argv) > 2 else 0
        sessions = spec if isinstance(spec, dict) else {"": spec}
        result = {}
        for name, ops in sessions.items():
            with KernelConn(groups) as conn:
                conn.sock.setsockopt(socket.SOL_SOCKET, 32, 4 << 20)   # SO_SNDBUFFORCE
                conn.sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)   # SO_RCVBUFFORCE
                try:
                    result[name] = {"port": conn.port, "answers": run_session(conn, ops)}
                except OSError as e:
                    result[name] = {"port": conn.port, "oserror": e.errno}
        print(json.dumps(result if isinstance(spec, dict) else result[""]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
