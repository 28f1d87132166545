# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pipelined raw netlink for the neighbour tables (bridge FDB and ARP/NDP), packed and parsed by hand.

pyroute2 builds an object per message, which costs milliseconds per thousand entries and, with one
request per call, a round trip each: 15-30 times slower than `bridge -batch`. Here requests are
packed with `struct`, sent many per `sendmsg` with NLM_F_ACK, and their acks are matched back to
the request by sequence number; dumps are read with `struct.unpack_from` over the raw buffers.
Only what the FDB and neighbour modules need is here: neighbour messages (ndmsg), and enough of
RTM_GETLINK to learn a device's kind, addresses and vxlan defaults.

The socket opens inside a named network namespace (netlink.entered_netns) and stays bound to it.

For one session applying a host's whole overlay (links through netlink.Session, entries here):

    with bulk.Netlink(netns) as nl:
        target = fdb.target(nl, "vxlan0")                       # or neigh.device(nl, "vxlan0")
        ops = fdb.plan(fdb.build_entries(entries, target, nl.device), fdb.read(nl, target), purge=True)
        bulk.apply_or_undo(fdb, nl, target, ops)                # ApplyFailed (an OverlayError) on refusal
        ...                                                      # a later step failed: undo this one too
        fdb.apply(nl, target, fdb.invert(ops))
"""

from __future__ import annotations

import errno
import re
import socket
import struct

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    OverlayError,
    describe_error,
    entered_netns,
)

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800
NLM_F_ACK_TLVS = 0x200  # in an NLMSG_ERROR reply: extended-ack attributes follow
NLM_F_CAPPED = 0x100  # in an NLMSG_ERROR reply: only the header of the request is echoed
NLMSGERR_ATTR_MSG = 1

RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWNEIGH = 28
RTM_DELNEIGH = 29
RTM_GETNEIGH = 30

AF_UNSPEC = 0
AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
AF_BRIDGE = 7

# struct ndmsg attributes (linux/neighbour.h)
NDA_DST = 1
NDA_LLADDR = 2
NDA_CACHEINFO = 3
NDA_PROBES = 4
NDA_VLAN = 5
NDA_PORT = 6
NDA_VNI = 7
NDA_IFINDEX = 8
NDA_MASTER = 9
NDA_LINK_NETNSID = 10
NDA_SRC_VNI = 11
NDA_PROTOCOL = 12
NDA_NH_ID = 13
NDA_FLAGS_EXT = 15

NTF_USE = 0x01
NTF_SELF = 0x02
NTF_MASTER = 0x04
NTF_PROXY = 0x08
NTF_EXT_LEARNED = 0x10
NTF_OFFLOADED = 0x20
NTF_STICKY = 0x40
NTF_ROUTER = 0x80
NTF_EXT_MANAGED = 0x1  # in NDA_FLAGS_EXT

NUD_INCOMPLETE = 0x01
NUD_REACHABLE = 0x02
NUD_STALE = 0x04
NUD_DELAY = 0x08
NUD_PROBE = 0x10
NUD_FAILED = 0x20
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80

NUD_NAMES = (
    (NUD_INCOMPLETE, "incomplete"), (NUD_REACHABLE, "reachable"), (NUD_STALE, "stale"), (NUD_DELAY, "delay"),
    (NUD_PROBE, "probe"), (NUD_FAILED, "failed"), (NUD_NOARP, "noarp"), (NUD_PERMANENT, "permanent"),
)

# struct ifinfomsg attributes (linux/if_link.h)
IFLA_ADDRESS = 1
IFLA_BROADCAST = 2
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINK = 5
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_EXT_MASK = 29
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_NOARP = 0x80

IFLA_VXLAN_ID = 1
IFLA_VXLAN_GROUP = 2
IFLA_VXLAN_LINK = 3
IFLA_VXLAN_LOCAL = 4
IFLA_VXLAN_LEARNING = 7
IFLA_VXLAN_PORT = 15
IFLA_VXLAN_GROUP6 = 16
IFLA_VXLAN_LOCAL6 = 17
IFLA_VXLAN_COLLECT_METADATA = 25
VXLAN_DEFAULT_PORT = 8472  # what the kernel uses when no dstport is given

HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
NLA = struct.Struct("=HH")  # nlattr: len, type
U16 = struct.Struct("=H")
U32 = struct.Struct("=I")
I32 = struct.Struct("=i")
BE16 = struct.Struct("!H")

# The kernel fills replies of at most 32 KiB; a larger buffer never truncates one.
RECV_BUFFER = 1 << 20
# Bytes of requests per sendmsg; each request's ack must fit the receive buffer meanwhile.
SEND_BATCH_BYTES = 1 << 18
RCVBUF_WANTED = 32 << 20
SNDBUF_WANTED = 4 << 20
# How many requests may wait for their acks when the receive buffer could not be enlarged.
SMALL_RCVBUF_REQUESTS = 150


def nla(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return NLA.pack(length, kind) + payload + b"\0" * (-length & 3)


def nla_u32(kind, value):
    return NLA.pack(8, kind) + U32.pack(value)


def nla_u16(kind, value):
    return NLA.pack(6, kind) + U16.pack(value) + b"\0\0"


def nla_be16(kind, value):
    return NLA.pack(6, kind) + BE16.pack(value) + b"\0\0"


def attributes(buf, start, end):
    """{type: (offset, length)} of the attributes in buf[start:end] (payload offsets)."""
    found = {}
    unpack = NLA.unpack_from
    while start + 4 <= end:
        alen, atype = unpack(buf, start)
        if alen < 4:
            break
        found[atype & 0x3FFF] = (start + 4, alen - 4)
        start += (alen + 3) & ~3
    return found


_MAC = re.compile(r"[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}")
_CANONICAL_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}").fullmatch


def normalise_mac(value):
    """'02:42:0a:00:00:03' from '02:42:0A:00:00:03' or '02-42-0a-00-00-03'; None when it is no MAC."""
    if not isinstance(value, str):
        return None
    if _CANONICAL_MAC(value):
        return value
    if not _MAC.fullmatch(value):
        return None
    return value.replace("-", ":").lower()


def normalise_ip(value):
    """(canonical text, family) or None; the text is what a kernel dump gives back (inet_ntop)."""
    if not isinstance(value, str):
        return None
    for family in (AF_INET, AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, value)), family
        except OSError:
            continue
    return None


def mac_text(raw):
    return raw.hex(":") if raw else None


def mac_bytes(text):
    return bytes.fromhex(text.replace(":", ""))


def ip_text(raw):
    if len(raw) == 4:
        return socket.inet_ntop(AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(AF_INET6, raw)
    return None


def ip_bytes(text):
    return socket.inet_pton(AF_INET6 if ":" in text else AF_INET, text)


def nud_names(state):
    return [name for bit, name in NUD_NAMES if state & bit] or ["none"]


class RequestFailed:
    """A failed request as describe_error() wants it: .code (errno), .args, .operation."""

    def __init__(self, code, message, operation):
        self.code = code
        self.args = (code, message) if message else (code,)
        self.operation = operation


class DeviceInfo:
    """What the FDB and neighbour code needs to know about one link."""

    __slots__ = ("flags", "ifindex", "info", "kind", "link", "mac", "master", "name")

    def __init__(self, ifindex, name, kind, *, flags=0, mac=None, master=0, link=0, info=None):
        self.ifindex = ifindex
        self.name = name
        self.kind = kind
        self.flags = flags
        self.mac = mac
        self.master = master  # ifindex of the bridge (or other master), 0 when none
        self.link = link
        self.info = info or {}  # vxlan: vni, port, family, external, learning, default_dst, default_via

    def __repr__(self):
        return "DeviceInfo(%r, %r, kind=%r)" % (self.ifindex, self.name, self.kind)


class Netlink:
    """One NETLINK_ROUTE socket (inside `netns` when given) that pipelines requests and parses dumps."""

    def __init__(self, netns=None):
        self.netns = netns
        with entered_netns(netns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            self.sock.bind((0, 0))
            for option in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
                self._try_option(SOL_NETLINK, option, 1)
            # Strict checking makes the kernel filter dumps by device (Linux 4.20+); without it we filter here.
            self.strict = self._try_option(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            self.big_rcvbuf = self._grow(SO_RCVBUFFORCE, socket.SO_RCVBUF, RCVBUF_WANTED)
            self._grow(SO_SNDBUFFORCE, socket.SO_SNDBUF, SNDBUF_WANTED)
        except OSError:
            self.sock.close()
            raise
        self.buf = bytearray(RECV_BUFFER)
        self.view = memoryview(self.buf)
        self.seq = 1
        self._names = {}
        self._interrupted = False

    def _try_option(self, level, option, value):
        try:
            self.sock.setsockopt(level, option, value)
        except OSError:
            return False
        return True

    def _grow(self, forced, plain, size):
        """Enlarge a socket buffer (forcing past the sysctl limit needs CAP_NET_ADMIN)."""
        if not self._try_option(socket.SOL_SOCKET, forced, size):
            self._try_option(socket.SOL_SOCKET, plain, size)
        return self.sock.getsockopt(socket.SOL_SOCKET, plain) >= size

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _next_seq(self, count=1):
        """The first of `count` fresh sequence numbers (kept increasing within a batch)."""
        if self.seq + count >= 0x7FFFFFFF:
            self.seq = 1
        first = self.seq
        self.seq += count
        return first

    # Dumps

    def dump(self, msg_type, payload):
        """[(msg_type, buffer, start, end)] for each message of a dump; an interrupted dump is read again."""
        for _attempt in range(5):
            messages = list(self._dump_once(msg_type, payload))
            if not self._interrupted:
                return messages
        raise OverlayError("the kernel kept changing the table while it was being read (dump interrupted "
                           "five times); try again")

    def _dump_once(self, msg_type, payload):
        seq = self._next_seq()
        self._interrupted = False
        self.sock.send(HDR.pack(16 + len(payload), msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + payload)
        unpack = HDR.unpack_from
        while True:
            size = self.sock.recv_into(self.buf)
            data = bytes(self.view[:size])
            offset = 0
            while offset + 16 <= size:
                length, mtype, mflags, mseq, _pid = unpack(data, offset)
                if length < 16:
                    return
                if mseq == seq:
                    if mflags & NLM_F_DUMP_INTR:
                        self._interrupted = True
                    if mtype == NLMSG_DONE:
                        code = I32.unpack_from(data, offset + 16)[0] if length >= 20 else 0
                        if code < 0:
                            self._raise(-code, data, offset, length, "dump")
                        return
                    if mtype == NLMSG_ERROR:
                        code = I32.unpack_from(data, offset + 16)[0]
                        if code:
                            self._raise(-code, data, offset, length, "dump")
                        return
                    yield mtype, data, offset + 16, offset + length
                offset += (length + 3) & ~3

    def _raise(self, code, data, offset, length, operation):
        failure = RequestFailed(code, self._extack(data, offset, length), operation)
        raise OverlayError(describe_error(failure, "the netlink socket"))

    @staticmethod
    def _extack(data, offset, length):
        """The kernel's extended-ack message of an NLMSG_ERROR reply, or None."""
        flags = HDR.unpack_from(data, offset)[2]
        if not flags & NLM_F_ACK_TLVS:
            return None
        echoed = 16 if flags & NLM_F_CAPPED else HDR.unpack_from(data, offset + 20)[0]
        start = offset + 20 + ((echoed + 3) & ~3)
        attrs = attributes(data, start, offset + length)
        if NLMSGERR_ATTR_MSG not in attrs:
            return None
        at, size = attrs[NLMSGERR_ATTR_MSG]
        return bytes(data[at:at + size]).rstrip(b"\0").decode("utf-8", "replace") or None

    # Requests

    def transact(self, requests):
        """Send [(msg_type, flags, payload), ...] pipelined with NLM_F_ACK; return [(index, errno, message)].

        Requests go out in order, many per sendmsg; each ack is matched to its request by sequence
        number. Requests after a failed one are still sent: the caller decides what a failure means.
        """
        failures = []
        limit = None if self.big_rcvbuf else SMALL_RCVBUF_REQUESTS
        total = len(requests)
        done = 0
        while done < total:
            chunk = []
            size = 0
            room = min(total - done, limit or total)
            first_seq = self._next_seq(room)
            seq = first_seq
            index = done
            while index < done + room and size < SEND_BATCH_BYTES:
                msg_type, flags, payload = requests[index]
                chunk.append(HDR.pack(16 + len(payload), msg_type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0))
                chunk.append(payload)
                size += 16 + len(payload)
                seq += 1
                index += 1
            try:
                self.sock.sendall(b"".join(chunk))
            except OSError as exc:
                raise OverlayError("sending %d netlink requests failed: %s" % (index - done, exc.strerror)) from exc
            self._collect_acks(first_seq, index - done, done, failures)
            done = index
        return failures

    def _collect_acks(self, first_seq, count, base, failures):
        pending = count
        unpack = HDR.unpack_from
        last_seq = first_seq + count
        while pending:
            try:
                size = self.sock.recv_into(self.buf)
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    raise OverlayError("the kernel dropped netlink acks (receive buffer full); the requests "
                                       "may or may not have been applied: run again") from exc
                raise
            offset = 0
            while offset + 16 <= size:
                length, mtype, _flags, mseq, _pid = unpack(self.buf, offset)
                if length < 16:
                    break
                if mtype == NLMSG_ERROR and first_seq <= mseq < last_seq:
                    pending -= 1
                    code = I32.unpack_from(self.buf, offset + 16)[0]
                    if code:
                        failures.append((base + mseq - first_seq, -code, self._extack(self.buf, offset, length)))
                offset += (length + 3) & ~3

    # Links

    def device(self, name=None, ifindex=None):
        """DeviceInfo for one link by name or index, or None when there is no such link."""
        attrs = b""
        if name is not None:
            attrs = nla(IFLA_IFNAME, name.encode() + b"\0")
        attrs += nla_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
        payload = IFINFOMSG.pack(AF_UNSPEC, 0, ifindex or 0, 0, 0) + attrs
        seq = self._next_seq()
        self.sock.send(HDR.pack(16 + len(payload), RTM_GETLINK, NLM_F_REQUEST, seq, 0) + payload)
        while True:
            size = self.sock.recv_into(self.buf)
            data = bytes(self.view[:size])
            offset = 0
            while offset + 16 <= size:
                length, mtype, _flags, mseq, _pid = HDR.unpack_from(data, offset)
                if mseq == seq:
                    if mtype == NLMSG_ERROR:
                        code = -I32.unpack_from(data, offset + 16)[0]
                        if code in (errno.ENODEV, errno.ENOENT, errno.EINVAL):
                            return None
                        self._raise(code, data, offset, length, "get link")
                    if mtype == RTM_NEWLINK:
                        info = parse_link(data, offset + 16, offset + length)
                        self._names[info.ifindex] = info.name
                        return info
                offset += (length + 3) & ~3

    def link_name(self, ifindex):
        """The name of link `ifindex` (cached), or the number as text when it is gone."""
        if not ifindex:
            return None
        if ifindex not in self._names:
            info = self.device(ifindex=ifindex)
            self._names[ifindex] = info.name if info else str(ifindex)
        return self._names[ifindex]


def parse_link(data, start, end):
    _family, _type, ifindex, flags, _change = IFINFOMSG.unpack_from(data, start)
    attrs = attributes(data, start + IFINFOMSG.size, end)

    def raw(table, key):
        at, size = table[key]
        return bytes(data[at:at + size])

    def u32(table, key, default=0):
        return U32.unpack_from(data, table[key][0])[0] if key in table else default

    name = raw(attrs, IFLA_IFNAME).rstrip(b"\0").decode() if IFLA_IFNAME in attrs else None
    mac = mac_text(raw(attrs, IFLA_ADDRESS)) if IFLA_ADDRESS in attrs else None
    kind = None
    info = {}
    if IFLA_LINKINFO in attrs:
        at, size = attrs[IFLA_LINKINFO]
        linkinfo = attributes(data, at, at + size)
        if IFLA_INFO_KIND in linkinfo:
            kind = raw(linkinfo, IFLA_INFO_KIND).rstrip(b"\0").decode()
        if kind == "vxlan" and IFLA_INFO_DATA in linkinfo:
            at, size = linkinfo[IFLA_INFO_DATA]
            vx = attributes(data, at, at + size)
            ipv6 = IFLA_VXLAN_GROUP6 in vx or IFLA_VXLAN_LOCAL6 in vx
            group = raw(vx, IFLA_VXLAN_GROUP6 if ipv6 else IFLA_VXLAN_GROUP) if (
                IFLA_VXLAN_GROUP6 if ipv6 else IFLA_VXLAN_GROUP) in vx else None
            info = {
                "vni": u32(vx, IFLA_VXLAN_ID),
                "port": BE16.unpack_from(data, vx[IFLA_VXLAN_PORT][0])[0] if IFLA_VXLAN_PORT in vx
                else VXLAN_DEFAULT_PORT,
                "family": AF_INET6 if ipv6 else AF_INET,
                "external": IFLA_VXLAN_COLLECT_METADATA in vx and data[vx[IFLA_VXLAN_COLLECT_METADATA][0]] != 0,
                "learning": IFLA_VXLAN_LEARNING in vx and data[vx[IFLA_VXLAN_LEARNING][0]] != 0,
                # group or remote: the kernel's own all-zero FDB entry points there
                "default_dst": ip_text(group) if group and any(group) else None,
                "default_via": u32(vx, IFLA_VXLAN_LINK),
            }
    return DeviceInfo(ifindex, name, kind, flags=flags, mac=mac, master=u32(attrs, IFLA_MASTER),
                      link=u32(attrs, IFLA_LINK), info=info)


def describe_failures(failures, describe, limit=10):
    """Sentences for [(index, errno, kernel message)], `describe(index)` naming the object and operation."""
    lines = []
    for index, code, message in failures[:limit]:
        operation, what = describe(index)
        lines.append(describe_error(RequestFailed(code, message, operation), what))
    if len(failures) > limit:
        lines.append("... and %d more failed the same way or another" % (len(failures) - limit))
    return lines


def _to_int(value):
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return int(str(value).strip(), 0)


def _to_bool(value):
    return boolean(value, strict=True)


def _to_str(value):
    if isinstance(value, (dict, list, tuple, set)):
        raise ValueError
    return str(value)


def _to_raw(value):
    return value


_CONVERT = {"int": _to_int, "bool": _to_bool, "str": _to_str, "raw": _to_raw}
_EXACT = {"int": int, "bool": bool, "str": str, "raw": None}
_TYPE_WORDS = {"int": "an integer", "bool": "a boolean", "str": "a string", "raw": "a value"}


def check_entries(entries, spec, problems, option="entries"):
    """Type-check a list of dicts against `spec` (AnsibleModule's argument-spec format) at bulk speed.

    AnsibleModule's validation of `options` costs about 27 microseconds per element: 0.27 s for
    10,000 FDB entries, more than `bridge -batch` needs to apply them. This does the same job for
    flat suboptions (unknown keys, required keys, types, choices, defaults) in a few microseconds.
    Returns one dict per element with every key of `spec` (None when unset), or None for an element
    that had a problem; problems are appended as sentences naming entries[i].
    """
    known = frozenset(spec)
    names = tuple(spec)
    required = [name for name in names if spec[name].get("required")]
    template = {name: spec[name].get("default") for name in names}
    kinds = {name: spec[name].get("type", "str") for name in names}
    # The class a value may have as it is (a bool is not an int); None: anything goes.
    expected = {name: _EXACT[kind] for name, kind in kinds.items()}
    choices = {name: spec[name]["choices"] for name in names if spec[name].get("choices")}
    checked = []
    if entries is None:
        return checked
    if not isinstance(entries, list):
        problems.append("%s must be a list of dicts, got %r" % (option, entries))
        return checked
    for index, raw in enumerate(entries):
        if not isinstance(raw, dict):
            problems.append("%s[%d] must be a dict, got %r" % (option, index, raw))
            checked.append(None)
            continue
        count = len(problems)
        if not known.issuperset(raw):
            unknown = raw.keys() - known
            problems.append("%s[%d]: unknown key%s %s (known: %s)" % (
                option, index, "s" if len(unknown) > 1 else "", ", ".join(sorted(map(str, unknown))),
                ", ".join(names)))
        entry = template.copy()
        for name, given in raw.items():
            if given is None or name not in known:
                continue
            value = given
            exact = expected[name]
            if exact is not None and given.__class__ is not exact:
                try:
                    value = _CONVERT[kinds[name]](given)
                except (TypeError, ValueError):
                    problems.append("%s[%d]: %s %r is not %s" % (
                        option, index, name, given, _TYPE_WORDS[kinds[name]]))
                    continue
            if name in choices and value not in choices[name]:
                problems.append("%s[%d]: %s %r is not one of %s" % (
                    option, index, name, value, ", ".join(map(str, choices[name]))))
                continue
            entry[name] = value
        for name in required:
            if entry[name] is None:
                problems.append("%s[%d]: %s is required" % (option, index, name))
        checked.append(entry if len(problems) == count else None)
    return checked


class EntryOp:
    """One change to a table of entries: "add", "change" (same key, other attributes) or "delete".

    Subclasses say how an entry reads (`render`) and which iproute2 verb adds it (`verb`).
    """

    __slots__ = ("action", "entry", "index", "old")

    def __init__(self, action, entry, old=None, index=None):
        self.action = action
        self.entry = entry
        self.old = old
        self.index = index

    def render(self, entry):
        raise NotImplementedError

    def verb(self):
        return "add" if self.action == "add" else "replace"

    def __repr__(self):
        return "Op(%s %s)" % (self.action, self.render(self.entry))

    def describe(self, device_name):
        if self.action == "delete":
            return "delete %s from %s" % (self.render(self.entry), device_name)
        line = "%s %s on %s" % (self.verb(), self.render(self.entry), device_name)
        if self.old is not None:
            line += " (was %s)" % self.render(self.old)
        return line


class ApplyFailed(OverlayError):
    """Some requests were refused; `changed` says whether the kernel was left changed."""

    def __init__(self, message, changed):
        super().__init__(message)
        self.changed = changed


def apply_or_undo(kind, nl, target, ops):
    """Apply `ops` with `kind` (the fdb or neigh module_utils); if any is refused, undo the others.

    Raises ApplyFailed naming each refused entry and why; its `changed` is False when the undo
    went through (the kernel is as it was), True when the undo failed too.
    """
    failures = kind.apply(nl, target, ops)
    if not failures:
        return
    failed = {id(op) for op, _code, _message in failures}
    done = [op for op in ops if id(op) not in failed]
    lines = kind.failure_messages(failures, target)
    undo_failures = kind.apply(nl, target, kind.invert(done))
    if undo_failures:
        lines.append("undoing the %d changes made before failed too, so they are partly in place:" % len(done))
        lines.extend(kind.failure_messages(undo_failures, target))
        raise ApplyFailed("; ".join(lines), True)
    if done:
        lines.append("the %d change%s made before %s undone" % (
            len(done), "" if len(done) == 1 else "s", "was" if len(done) == 1 else "were"))
    else:
        lines.append("nothing was changed")
    raise ApplyFailed("; ".join(lines), False)


def send_ops(nl, ifindex, ops, request):
    """Send the operations pipelined; [(op, errno, kernel message)] for those that failed.

    A delete that finds nothing (ENOENT) counts as done: the entry is gone either way (learned
    entries age out by themselves, and the kernel removes an FDB entry's per-VLAN copies with it).
    """
    failures = nl.transact([request(op, ifindex) for op in ops])
    return [(ops[i], code, message) for i, code, message in failures
            if not (code == errno.ENOENT and ops[i].action == "delete")]


def op_failure_messages(failures, device_name, noun, text, limit=10):
    """One sentence per refused operation: what, on which device, from which entries[i], and why."""
    def describe(position):
        op = failures[position][0]
        operation = op.describe(device_name).split(" ", 1)[0]
        what = "%s %s on %r%s" % (noun, text(op.entry), device_name,
                                  "" if op.index is None else " (entries[%d])" % op.index)
        return operation, what
    return describe_failures([(i, code, message) for i, (_op, code, message) in enumerate(failures)],
                             describe, limit)


def entries_diff(device_name, current, ops, key, text):
    """before/after for diff mode: one line per entry of `current` (managed ones only) after `ops`."""
    before = {key(e): e for e in current}
    after = dict(before)
    for op in ops:
        k = key(op.entry)
        if op.action == "delete":
            after.pop(k, None)
            before.setdefault(k, op.entry)
        else:
            after[k] = op.entry
            if op.old is not None:
                before.setdefault(k, op.old)
    return {
        "before": {"device": device_name, "entries": sorted(text(e) for e in before.values())},
        "after": {"device": device_name, "entries": sorted(text(e) for e in after.values())},
    }


ENTRY_TABLE_ARGUMENT_SPEC = {
    "device": {"type": "str", "required": True},
    # The entries are type-checked by the kind's build_entries (check_entries against its ENTRY_SPEC):
    # AnsibleModule's own suboption checks cost 0.27 s per 10,000 entries, more than applying them.
    "entries": {"type": "list", "elements": "dict", "default": []},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "purge": {"type": "bool", "default": False},
    "purge_dynamic": {"type": "bool", "default": False},
    "read_back": {"type": "bool", "default": True},
    "netns": {"type": "str"},
}


def run_entry_table(params, kind, check_mode, diff_mode):
    """The whole of bridge_fdb / ip_neigh: one session, one dump, plan, apply or undo, read back.

    `kind` is the fdb or neigh module_utils: target(), desired(), read(), plan(), diff(), apply(),
    invert(), failure_messages(), to_result() and RESULT_KEY.
    """
    if params["state"] == "absent" and (params["purge"] or params["purge_dynamic"]):
        raise OverlayError("purge and purge_dynamic apply to state=present only")
    if params["purge_dynamic"] and not params["purge"]:
        raise OverlayError("purge_dynamic=true needs purge=true")
    with Netlink(params["netns"]) as nl:
        target = kind.target(nl, params["device"])
        desired = kind.desired(nl, target, params["entries"], params["state"])
        current = kind.read(nl, target)
        ops = kind.plan(desired, current, params["state"], params["purge"], params["purge_dynamic"])
        result = {
            "changed": bool(ops),
            "actions": [op.describe(target.name) for op in ops],
            "summary": summary(ops),
        }
        if diff_mode:
            result["diff"] = kind.diff(target.name, current, ops)
        if ops and not check_mode:
            apply_or_undo(kind, nl, target, ops)
            if params["read_back"]:
                current = kind.read(nl, target)
        if params["read_back"]:
            result[kind.RESULT_KEY] = [kind.to_result(entry) for entry in current]
    return result


def summary(ops):
    """{'added': n, 'changed': n, 'removed': n} for a plan of fdb or neigh operations."""
    counts = {"added": 0, "changed": 0, "removed": 0}
    for op in ops:
        counts["added" if op.action == "add" else "changed" if op.action == "change" else "removed"] += 1
    return counts


def join_problems(problems, limit=20):
    """The first `limit` problems as one message (ten thousand bad entries make no readable message)."""
    text = "; ".join(problems[:limit])
    if len(problems) > limit:
        text += "; ... and %d more problems" % (len(problems) - limit)
    return text
