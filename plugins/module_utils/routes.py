# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routes, including lightweight-tunnel (``encap ip``) routes: spec, read, plan, apply.

- ``RouteSpec.from_params(params)`` validates (raises OverlayError naming option and value);
- ``read(session)`` returns every route of the namespace (both families, all tables) as
  normalised dicts;
- ``plan(spec, current)`` is pure and returns ``RouteOp``s (deletes first, then adds/replaces);
- ``apply(session, ops)`` performs them; ``run(session, spec, check_mode)`` does the cycle.

A route is identified as the kernel does: family, table, destination prefix and metric. Its
other attributes (via, dev, onlink, src, scope, encap) are compared only where the entry sets
them; a difference replaces the route (NLM_F_REPLACE) with exactly what the entry says.

``encap: {type: ip, id, dst}`` is the kernel's LWTUNNEL_ENCAP_IP (``ip route ... encap ip id N
dst A dev <vxlan external>``), which is what seed 004's ``encap vxlan`` means; ``type: vxlan``
is accepted as its alias. pyroute2 (0.7 and 0.9) has no encoder for it, so the attribute is
built here.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

from ansible_collections.overlaynet.vxlan.plugins.module_utils.addresses import SCOPE_NAMES, parse_scope
from ansible_collections.overlaynet.vxlan.plugins.module_utils.bulk import NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE
from ansible_collections.overlaynet.vxlan.plugins.module_utils.links import (
    ifindex,
    netns_label,
    send,
)
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    OverlayError,
    validate_ifname,
    validate_netns_name,
)

# The module's options (the overlay module takes the same ones per part).
ARGUMENT_SPEC = {
    "routes": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "dst": {"type": "str", "required": True},
            "via": {"type": "str"},
            "dev": {"type": "str"},
            "onlink": {"type": "bool"},
            "metric": {"type": "int"},
            "table": {"type": "str"},
            "src": {"type": "str"},
            "scope": {"type": "str"},
            "encap": {
                "type": "dict",
                "options": {
                    "type": {"type": "str", "choices": ["ip", "vxlan"], "default": "ip"},
                    "id": {"type": "int", "required": True},
                    "dst": {"type": "str", "required": True},
                    "src": {"type": "str"},
                    "ttl": {"type": "int"},
                    "tos": {"type": "int"},
                },
            },
        },
    },
    "table": {"type": "str", "default": "main"},
    "dev": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "purge": {"type": "bool", "default": False},
    "netns": {"type": "str"},
}

try:
    from pyroute2.netlink.rtnl.rtmsg import rtmsg
except ImportError:  # reported by netlink.require_pyroute2()
    rtmsg = None

RTM_NEWROUTE = 24
RTM_DELROUTE = 25
RTNH_F_ONLINK = 4
RTM_F_CLONED = 0x200
RTN_UNICAST = 1
RTPROT_BOOT = 3  # what `ip route add` uses
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
LWTUNNEL_ENCAP_IP = 2
LWTUNNEL_ENCAP_IP6 = 4
# LWTUNNEL_IP_* and LWTUNNEL_IP6_* share these numbers (ttl <-> hoplimit, tos <-> tc).
LWT_ID, LWT_DST, LWT_SRC, LWT_TTL, LWT_TOS = 1, 2, 3, 4, 5
IPV6_DEFAULT_METRIC = 1024  # IP6_RT_PRIO_USER

TABLES = {"main": 254, "local": 255, "default": 253, "unspec": 0}
# Routes the kernel makes by itself (for addresses, router advertisements); purge skips them.
KERNEL_PROTOCOLS = {2: "kernel", 9: "ra"}
PROTOCOL_NAMES = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 9: "ra", 16: "dhcp"}
TYPE_NAMES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole",
              7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}
# Types purge may remove: what a user adds, not what the kernel derives from addresses.
PURGEABLE_TYPES = {1, 6, 7, 8, 9}
ENCAP_TYPES = {"ip": "ip", "vxlan": "ip", "ip6": "ip6"}
RT_TABLES_FILES = ("/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables")


def table_names():
    """Table names from iproute2's rt_tables files, plus the kernel's built-in ones."""
    names = dict(TABLES)
    for path in RT_TABLES_FILES:
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            for line in handle:
                parts = line.split("#", 1)[0].split()
                if len(parts) == 2 and parts[0].isdigit():
                    names.setdefault(parts[1], int(parts[0]))
    return names


def parse_table(value, option, names=None):
    if value is None:
        return None
    if isinstance(value, bool):
        raise OverlayError("%s %r is not a routing table" % (option, value))
    text = str(value).strip()
    if text.isdigit() and 0 < int(text) < 2 ** 32:
        return int(text)
    names = table_names() if names is None else names
    if names.get(text):
        return names[text]
    raise OverlayError("%s %r is not a routing table (a number from 1 to 4294967295, or main, local, default"
                       " or a name from /etc/iproute2/rt_tables)" % (option, value))


def table_name(number):
    for name, value in TABLES.items():
        if value == number and name != "unspec":
            return name
    return str(number)


class RouteEntry:
    """One route asked for. Attributes left None are "don't care" (except the key)."""

    def __init__(self, family, dst, dst_len, table, metric, *, via=None, dev=None, onlink=None, src=None,
                 scope=None, encap=None):
        self.family = family
        self.dst = dst  # network address, str
        self.dst_len = dst_len
        self.table = table
        self.metric = metric
        self.via = via
        self.dev = dev
        self.onlink = onlink
        self.src = src
        self.scope = scope
        self.encap = encap  # {"type": "ip"|"ip6", "id": int, "dst": str, "src"?, "ttl"?, "tos"?}

    @property
    def key(self):
        return (self.family, self.table, self.dst, self.dst_len, self.metric)

    @property
    def prefix(self):
        return "%s/%d" % (self.dst, self.dst_len)

    def as_dict(self):
        return {"dst": self.prefix, "table": self.table, "metric": self.metric, "via": self.via, "dev": self.dev,
                "onlink": self.onlink, "src": self.src, "scope": self.scope, "encap": self.encap}

    @classmethod
    def from_params(cls, item, option, default_table, default_dev, names):
        if not isinstance(item, dict):
            raise OverlayError("%s must be a dict with at least 'dst', got %r" % (option, item))
        raw = item.get("dst")
        if raw is None or str(raw).strip() == "":
            raise OverlayError("%s.dst is required (a prefix such as 10.244.2.0/24, or default)" % option)
        via = _addr(item.get("via"), option + ".via")
        src = _addr(item.get("src"), option + ".src")
        encap = _encap(item.get("encap"), option + ".encap")
        text = str(raw).strip()
        if text == "default":
            hint = via or src
            version = hint.version if hint is not None else 4
            network = ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
        else:
            try:
                network = ipaddress.ip_network(text, strict=True)
            except ValueError as exc:
                raise OverlayError("%s.dst %r is not a network prefix (%s)" % (option, raw, exc)) from None
        family = socket.AF_INET if network.version == 4 else socket.AF_INET6
        for name, value in (("via", via), ("src", src)):
            if value is not None and value.version != network.version:
                raise OverlayError("%s.%s %s is not of the same IP version as dst %s" % (option, name, value, network))
        dev = item.get("dev") or default_dev
        if dev is not None:
            problem = validate_ifname(dev, option + ".dev")
            if problem:
                raise OverlayError(problem)
        onlink = item.get("onlink")
        if onlink and via is None:
            raise OverlayError("%s.onlink needs via (onlink says the gateway is on the link)" % option)
        if (onlink or encap) and dev is None:
            raise OverlayError("%s.%s needs dev" % (option, "onlink" if onlink else "encap"))
        table = parse_table(item.get("table"), option + ".table", names) or default_table
        metric = item.get("metric")
        if metric is None:
            metric = 0 if family == socket.AF_INET else IPV6_DEFAULT_METRIC
        elif isinstance(metric, bool) or not isinstance(metric, int) or not 0 <= metric < 2 ** 32:
            raise OverlayError("%s.metric %r is not a number from 0 to 4294967295" % (option, metric))
        scope = parse_scope(item.get("scope"), option + ".scope")
        if scope is not None and family == socket.AF_INET6:
            raise OverlayError("%s.scope: IPv6 routes have no scope" % option)
        return cls(family, str(network.network_address), network.prefixlen, table, metric,
                   via=str(via) if via is not None else None, dev=dev, onlink=onlink,
                   src=str(src) if src is not None else None, scope=scope, encap=encap)


def _addr(value, option):
    if value is None or str(value).strip() == "":
        return None
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise OverlayError("%s %r is not an IP address" % (option, value)) from None


def _encap(value, option):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise OverlayError("%s must be a dict {type: ip, id: N, dst: ADDRESS}, got %r" % (option, value))
    kind = str(value.get("type") or "ip").strip().lower()
    if kind not in ENCAP_TYPES:
        raise OverlayError("%s.type %r is not supported: use ip (vxlan is its alias)" % (option, value.get("type")))
    tunnel_id = value.get("id")
    if isinstance(tunnel_id, bool) or not isinstance(tunnel_id, int) or not 0 <= tunnel_id < 2 ** 64:
        raise OverlayError("%s.id %r is not a tunnel id (an integer; the VNI for a vxlan device)" % (option, tunnel_id))
    if kind == "vxlan" and tunnel_id >= 2 ** 24:
        raise OverlayError("%s.id %r is larger than a VNI (24 bits)" % (option, tunnel_id))
    dst = _addr(value.get("dst"), option + ".dst")
    if dst is None:
        raise OverlayError("%s.dst is required (the remote tunnel endpoint)" % option)
    src = _addr(value.get("src"), option + ".src")
    if src is not None and src.version != dst.version:
        raise OverlayError("%s.src %s is not of the same IP version as %s.dst %s" % (option, src, option, dst))
    encap = {"type": "ip" if dst.version == 4 else "ip6", "id": tunnel_id, "dst": str(dst)}
    if src is not None:
        encap["src"] = str(src)
    for name in ("ttl", "tos"):
        number = value.get(name)
        if number is None:
            continue
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 255:
            raise OverlayError("%s.%s %r is not a number from 0 to 255" % (option, name, number))
        encap[name] = number
    return encap


class RouteSpec:
    def __init__(self, entries, *, state="present", purge=False, table=254, dev=None, netns=None):
        self.entries = entries
        self.state = state
        self.purge = purge
        self.table = table  # default for entries and the purge scope
        self.dev = dev  # default for entries and, when set, narrows the purge scope
        self.netns = netns

    @classmethod
    def from_params(cls, params):
        errors = []
        netns = params.get("netns")
        if netns is not None:
            problem = validate_netns_name(netns)
            if problem:
                errors.append(problem)
        state = params.get("state") or "present"
        purge = bool(params.get("purge"))
        if purge and state == "absent":
            errors.append("purge is for state present (with state absent only the listed routes go)")
        names = table_names()
        table = 254
        try:
            table = parse_table(params.get("table"), "table", names) or 254
        except OverlayError as exc:
            errors.append(str(exc))
        dev = params.get("dev")
        if dev is not None:
            problem = validate_ifname(dev, "dev")
            if problem:
                errors.append(problem)
                dev = None
        entries, seen = [], {}
        for number, item in enumerate(params.get("routes") or []):
            option = "routes[%d]" % number
            try:
                entry = RouteEntry.from_params(item, option, table, dev, names)
            except OverlayError as exc:
                errors.append(str(exc))
                continue
            if entry.key in seen:
                errors.append("%s: %s (table %s, metric %d) is listed twice (also as routes[%d])" % (
                    option, entry.prefix, table_name(entry.table), entry.metric, seen[entry.key]))
                continue
            seen[entry.key] = number
            entries.append(entry)
        if errors:
            raise OverlayError("; ".join(errors))
        return cls(entries, state=state, purge=purge, table=table, dev=dev, netns=netns)


# ---------------------------------------------------------------------------------------
# Read

def decode_encap(kind, value):
    """RTA_ENCAP of LWTUNNEL_ENCAP_IP/IP6 (pyroute2 hands it over as a hex dump) -> dict."""
    if kind not in (LWTUNNEL_ENCAP_IP, LWTUNNEL_ENCAP_IP6):
        return {"type": kind}
    if isinstance(value, str):
        data = bytes.fromhex(value.replace(":", ""))
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        return {"type": kind}
    family = socket.AF_INET if kind == LWTUNNEL_ENCAP_IP else socket.AF_INET6
    encap = {"type": "ip" if kind == LWTUNNEL_ENCAP_IP else "ip6"}
    offset = 0
    while offset + 4 <= len(data):
        length, number = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        payload = data[offset + 4:offset + length]
        number &= 0x3FFF
        if number == LWT_ID and len(payload) == 8:
            encap["id"] = struct.unpack("!Q", payload)[0]
        elif number in (LWT_DST, LWT_SRC):
            encap["dst" if number == LWT_DST else "src"] = socket.inet_ntop(family, payload)
        elif number in (LWT_TTL, LWT_TOS) and payload:
            encap["ttl" if number == LWT_TTL else "tos"] = payload[0]
        offset += (length + 3) & ~3
    return encap


def encode_encap(encap):
    """dict -> (RTA_ENCAP_TYPE, RTA_ENCAP payload bytes)."""
    family = socket.AF_INET if encap["type"] == "ip" else socket.AF_INET6

    def nla(number, payload):
        head = struct.pack("=HH", 4 + len(payload), number)
        return head + payload + b"\0" * ((4 - len(payload) % 4) % 4)

    data = nla(LWT_ID, struct.pack("!Q", encap["id"])) + nla(LWT_DST, socket.inet_pton(family, encap["dst"]))
    if encap.get("src"):
        data += nla(LWT_SRC, socket.inet_pton(family, encap["src"]))
    for name, number in (("ttl", LWT_TTL), ("tos", LWT_TOS)):
        if encap.get(name) is not None:
            data += nla(number, struct.pack("B", encap[name]))
    return (LWTUNNEL_ENCAP_IP if family == socket.AF_INET else LWTUNNEL_ENCAP_IP6), data


def route_from_msg(msg, names):
    family = msg["family"]
    table = msg.get_attr("RTA_TABLE") or msg["table"]
    dst = msg.get_attr("RTA_DST")
    if dst is None:
        dst = "0.0.0.0" if family == socket.AF_INET else "::"
    metric = msg.get_attr("RTA_PRIORITY") or 0
    oif = msg.get_attr("RTA_OIF")
    encap = None
    encap_type = msg.get_attr("RTA_ENCAP_TYPE")
    if encap_type:
        encap = decode_encap(encap_type, msg.get_attr("RTA_ENCAP"))
    return {
        "family": "ipv4" if family == socket.AF_INET else "ipv6",
        "dst": "%s/%d" % (ipaddress.ip_address(dst), msg["dst_len"]),
        "table": table,
        "metric": metric,
        "via": msg.get_attr("RTA_GATEWAY"),
        "dev": names.get(oif, oif) if oif else None,
        "onlink": bool(msg["flags"] & RTNH_F_ONLINK),
        "src": msg.get_attr("RTA_PREFSRC"),
        "scope": SCOPE_NAMES.get(msg["scope"], msg["scope"]),
        "type": TYPE_NAMES.get(msg["type"], msg["type"]),
        "protocol": PROTOCOL_NAMES.get(msg["proto"], msg["proto"]),
        "encap": encap,
        "multipath": msg.get_attr("RTA_MULTIPATH") is not None,
        "tos": msg["tos"],
    }


def read(session):
    """Every route of the session's namespace (IPv4 then IPv6, all tables), cache entries left out."""
    names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in session.call("links", "get_links")}
    result = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in session.call("routes", "get_routes", family=family):
            if msg["flags"] & RTM_F_CLONED:
                continue
            result.append(route_from_msg(msg, names))
    return result


# ---------------------------------------------------------------------------------------
# Plan

def current_key(route):
    network = ipaddress.ip_network(route["dst"])
    family = socket.AF_INET if network.version == 4 else socket.AF_INET6
    return (family, route["table"], str(network.network_address), network.prefixlen, route["metric"])


def _encap_differs(wanted, current):
    if current is None or current.get("type") != wanted["type"]:
        return True
    for name in ("id", "dst"):
        if current.get(name) != wanted[name]:
            return True
    return any(name in wanted and current.get(name) != wanted[name] for name in ("src", "ttl", "tos"))


def differences(entry, route):
    """Names of the attributes `entry` sets that `route` does not have."""
    out = []
    if entry.via is not None and route["via"] != entry.via:
        out.append("via")
    if entry.dev is not None and route["dev"] != entry.dev:
        out.append("dev")
    if entry.onlink is not None and route["onlink"] != bool(entry.onlink):
        out.append("onlink")
    if entry.src is not None and route["src"] != entry.src:
        out.append("src")
    if entry.scope is not None and route["scope"] != SCOPE_NAMES.get(entry.scope, entry.scope):
        out.append("scope")
    if entry.encap is not None and _encap_differs(entry.encap, route["encap"]):
        out.append("encap")
    if route["type"] != "unicast" or route["multipath"] or route["tos"]:
        out.append("type")
    return out


def in_purge_scope(spec, route):
    return (route["table"] == spec.table
            and (spec.dev is None or route["dev"] == spec.dev)
            and route["protocol"] not in KERNEL_PROTOCOLS.values()
            and route["type"] in [TYPE_NAMES[t] for t in PURGEABLE_TYPES])


class RouteOp:
    def __init__(self, action, entry=None, route=None, reason=None):
        self.action = action  # add|replace|delete
        self.entry = entry  # RouteEntry for add/replace
        self.route = route  # current route dict for replace/delete
        self.reason = reason

    def __repr__(self):
        return "RouteOp(%r, %r)" % (self.action, self.describe())

    def describe(self):
        if self.action == "delete":
            return "delete route %s" % render_route(self.route)
        text = "%s route %s" % (self.action, render_entry(self.entry))
        if self.reason:
            text += " (%s differed)" % ", ".join(self.reason)
        return text


def plan(spec, current):
    """Pure: ops that take `current` (read()) to `spec`. Deletes first, then adds/replaces."""
    by_key = {}
    for route in current:
        by_key.setdefault(current_key(route), route)
    deletes, changes = [], []
    if spec.state == "absent":
        for entry in spec.entries:
            route = by_key.get(entry.key)
            if route is not None:
                deletes.append(RouteOp("delete", route=route))
        return deletes
    for entry in spec.entries:
        route = by_key.get(entry.key)
        if route is None:
            changes.append(RouteOp("add", entry))
            continue
        diff = differences(entry, route)
        if diff:
            changes.append(RouteOp("replace", entry, route, diff))
    if spec.purge:
        wanted = {entry.key for entry in spec.entries}
        for route in current:
            if current_key(route) not in wanted and in_purge_scope(spec, route):
                deletes.append(RouteOp("delete", route=route))
    return deletes + changes


def render_route(route):
    """A read route as an `ip route`-like line."""
    text = "default" if route["dst"] in ("0.0.0.0/0", "::/0") else route["dst"]
    if route["type"] != "unicast":
        text = "%s %s" % (route["type"], text)
    if route["encap"]:
        text += " " + _render_encap(route["encap"])
    if route["via"]:
        text += " via %s" % route["via"]
    if route["dev"]:
        text += " dev %s" % route["dev"]
    if route["onlink"]:
        text += " onlink"
    if route["src"]:
        text += " src %s" % route["src"]
    if route["family"] == "ipv4" and route["scope"] not in ("global", 0):
        text += " scope %s" % route["scope"]
    text += " table %s metric %d" % (table_name(route["table"]), route["metric"])
    return text


def render_entry(entry):
    text = "default" if entry.dst_len == 0 else entry.prefix
    if entry.encap:
        text += " " + _render_encap(entry.encap)
    if entry.via:
        text += " via %s" % entry.via
    if entry.dev:
        text += " dev %s" % entry.dev
    if entry.onlink:
        text += " onlink"
    if entry.src:
        text += " src %s" % entry.src
    if entry.scope is not None:
        text += " scope %s" % SCOPE_NAMES.get(entry.scope, entry.scope)
    text += " table %s metric %d" % (table_name(entry.table), entry.metric)
    return text


def _render_encap(encap):
    text = "encap %s" % encap.get("type")
    for name in ("id", "src", "dst", "ttl", "tos"):
        if encap.get(name) is not None:
            text += " %s %s" % (name, encap[name])
    return text


def view(spec, current):
    """The routes this spec is about: its purge scope plus whatever its entries match."""
    keys = {entry.key for entry in spec.entries}
    return [route for route in current if current_key(route) in keys or in_purge_scope(spec, route)]


def expected_lines(spec, current):
    """Pure: the view after plan(spec, current), as rendered lines (diff 'after')."""
    ops = plan(spec, current)
    gone = {id(op.route) for op in ops if op.route is not None}
    lines = [render_route(route) for route in view(spec, current) if id(route) not in gone]
    lines.extend(render_entry(op.entry) for op in ops if op.action != "delete")
    return sorted(lines)


# ---------------------------------------------------------------------------------------
# Apply

def _routemsg(family, dst, dst_len, table, metric):
    msg = rtmsg()
    msg["family"] = family
    msg["dst_len"] = dst_len
    msg["table"] = table if table < 256 else 0
    attrs = [("RTA_TABLE", table)]
    if dst_len:
        attrs.append(("RTA_DST", dst))
    if metric:
        attrs.append(("RTA_PRIORITY", metric))
    msg["attrs"] = attrs
    return msg


def _add_msg(session, entry, indexes):
    msg = _routemsg(entry.family, entry.dst, entry.dst_len, entry.table, entry.metric)
    msg["proto"] = RTPROT_BOOT
    msg["type"] = RTN_UNICAST
    if entry.family == socket.AF_INET6:
        msg["scope"] = RT_SCOPE_UNIVERSE
    elif entry.scope is not None:
        msg["scope"] = entry.scope
    else:  # as `ip route add`: a route with no gateway is a link route
        msg["scope"] = RT_SCOPE_UNIVERSE if entry.via else RT_SCOPE_LINK
    if entry.onlink:
        msg["flags"] = RTNH_F_ONLINK
    attrs = msg["attrs"]
    if entry.via:
        attrs.append(("RTA_GATEWAY", entry.via))
    if entry.dev:
        if entry.dev not in indexes:
            indexes[entry.dev] = ifindex(session, entry.dev, "route %s" % entry.prefix)
        attrs.append(("RTA_OIF", indexes[entry.dev]))
    if entry.src:
        attrs.append(("RTA_PREFSRC", entry.src))
    if entry.encap:
        kind, payload = encode_encap(entry.encap)
        attrs.append(("RTA_ENCAP_TYPE", kind))
        attrs.append(("RTA_ENCAP", payload))
    return msg


def _delete_msg(session, route, indexes):
    network = ipaddress.ip_network(route["dst"])
    family = socket.AF_INET if network.version == 4 else socket.AF_INET6
    msg = _routemsg(family, str(network.network_address), network.prefixlen, route["table"], route["metric"])
    msg["scope"] = RT_SCOPE_NOWHERE
    attrs = msg["attrs"]
    if route["via"]:
        attrs.append(("RTA_GATEWAY", route["via"]))
    if isinstance(route["dev"], str):
        if route["dev"] not in indexes:
            indexes[route["dev"]] = ifindex(session, route["dev"], "route %s" % route["dst"])
        attrs.append(("RTA_OIF", indexes[route["dev"]]))
    return msg


def apply(session, ops):
    indexes = {}
    for op in ops:
        where = netns_label(session.netns)
        if op.action == "delete":
            send(session, "route %s in %s" % (render_route(op.route), where), "delete",
                 _delete_msg(session, op.route, indexes), RTM_DELROUTE)
        elif op.action == "add":
            send(session, "route %s in %s" % (render_entry(op.entry), where), "add",
                 _add_msg(session, op.entry, indexes), RTM_NEWROUTE, flags=NLM_F_CREATE | NLM_F_EXCL)
        else:
            send(session, "route %s in %s" % (render_entry(op.entry), where), "replace",
                 _add_msg(session, op.entry, indexes), RTM_NEWROUTE, flags=NLM_F_CREATE | NLM_F_REPLACE)


def check_devices(spec, kinds):
    """OverlayError unless every device the entries name is among `kinds` ({name: link kind}), and
    every encap id on a vxlan device fits a VNI (the kernel would silently keep only its low 24 bits)."""
    if spec.state == "absent":
        return
    missing = sorted({entry.dev for entry in spec.entries if entry.dev and entry.dev not in kinds})
    if missing:
        raise OverlayError("no link called %s in %s; the routes through it cannot be added"
                           % (", ".join(repr(name) for name in missing), netns_label(spec.netns)))
    for entry in spec.entries:
        if entry.encap and kinds.get(entry.dev) == "vxlan" and entry.encap["id"] >= 2 ** 24:
            raise OverlayError("route to %s: encap id %d is larger than a VNI (24 bits) and %r is a vxlan device"
                               % ("%s/%d" % (entry.dst, entry.dst_len), entry.encap["id"], entry.dev))


def link_kinds(session):
    """{name: kind (None for plain links)} of every link in the session's namespace."""
    kinds = {}
    for msg in session.call("links", "get_links"):
        info = msg.get_attr("IFLA_LINKINFO")
        kinds[msg.get_attr("IFLA_IFNAME")] = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    return kinds


def run(session, spec, check_mode=False):
    """Read, plan, apply (unless check mode), read back. Returns the module result dict."""
    check_devices(spec, link_kinds(session))
    current = read(session)
    ops = plan(spec, current)
    before = sorted(render_route(route) for route in view(spec, current))
    after = expected_lines(spec, current)
    if ops and not check_mode:
        apply(session, ops)
        current = read(session)
    return {
        "changed": bool(ops),
        "actions": [op.describe() for op in ops],
        "diff": {"before": {"routes": before}, "after": {"routes": after}},
        "routes": view(spec, current),
    }
