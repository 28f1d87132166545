# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a namespace's overlay back as plain data: vxlan links, bridges and their ports, and on each
of them the FDB and neighbour entries, addresses and routes.

Links, addresses and routes come through netlink.Session (pyroute2 decodes every link attribute);
FDB and neighbour entries through bulk.Netlink, the same readers the bridge_fdb and ip_neigh
modules compare against, so facts and modules never disagree about an entry.
"""

from __future__ import annotations

import socket
import struct

from ansible_collections.overlaynet.vxlan.plugins.module_utils import bulk, fdb, neigh
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError, Session
from ansible_collections.overlaynet.vxlan.plugins.module_utils.routes import RTM_F_CLONED, RTNH_F_ONLINK

GATHER = ("fdb", "neigh", "addresses", "routes")
OVERLAY_KINDS = ("vxlan", "bridge")
SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
TABLES = {253: "default", 254: "main", 255: "local"}
PROTOCOLS = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 16: "dhcp"}
ROUTE_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole",
               7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}
ENCAP_TYPES = {1: "mpls", 2: "ip", 3: "ila", 4: "ip6", 5: "seg6", 6: "bpf", 7: "seg6local", 8: "rpl",
               9: "ioam6", 10: "xfrm"}


def jsonable(value):
    """Plain JSON data from what pyroute2 decodes (nested attribute sets, tuples, bytes)."""
    if isinstance(value, dict):
        if "attrs" in value and isinstance(value.get("attrs"), list):
            return {_short(k): jsonable(v) for k, v in ((item[0], item[1]) for item in value["attrs"])
                    if k != "UNKNOWN"}
        return {str(k): jsonable(v) for k, v in value.items() if k not in ("header",)}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex(":")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _short(name):
    """'IFLA_VXLAN_L2MISS' -> 'l2miss', 'IFLA_BR_VLAN_FILTERING' -> 'vlan_filtering'."""
    for prefix in ("IFLA_VXLAN_", "IFLA_BR_", "LWTUNNEL_IP6_", "LWTUNNEL_IP_", "IFLA_"):
        if name.startswith(prefix):
            return name[len(prefix):].lower()
    return name.lower()


def gather(netns=None, devices=None, subset=GATHER):
    """The overlay facts of namespace `netns` (None: this one), for `devices` (None: every vxlan and bridge)."""
    with Session(netns) as session, bulk.Netlink(netns) as nl:
        links = session.links()
        by_name = {link["name"]: link for link in links}
        overlay = [link for link in links if link["kind"] in OVERLAY_KINDS]
        missing = []
        if devices:
            chosen = []
            for name in devices:
                link = by_name.get(name)
                if link is None:
                    missing.append(name)
                elif link["kind"] not in OVERLAY_KINDS:
                    raise OverlayError("devices: %r is a %s, not a vxlan device or a bridge" % (
                        name, link["kind"] or "plain link"))
                elif link not in chosen:
                    chosen.append(link)
            overlay = chosen
        indexes = {link["ifindex"] for link in overlay}
        addresses = _addresses(session, indexes) if "addresses" in subset else {}
        routes = _routes(session, indexes, {link["ifindex"]: link["name"] for link in links}) \
            if "routes" in subset else {}
        facts = {"netns": netns, "vxlan": {}, "bridges": {}, "missing": missing}
        for link in overlay:
            item = _link(link, by_name)
            info = nl.device(ifindex=link["ifindex"])
            if info is None:  # gone meanwhile
                continue
            if link["kind"] == "bridge":
                item["ports"] = [_port(port) for port in links if port["master"] == link["name"]]
            if "fdb" in subset:
                item["fdb"] = _fdb(nl, info, link, links)
            if "neigh" in subset:
                item["neigh"] = [neigh.to_result(entry) for entry in neigh.read(nl, info)]
            if "addresses" in subset:
                item["addresses"] = addresses.get(link["ifindex"], [])
            if "routes" in subset:
                item["routes"] = routes.get(link["ifindex"], [])
            facts["vxlan" if link["kind"] == "vxlan" else "bridges"][link["name"]] = item
    return facts


def _link(link, by_name):
    attributes = {_short(k): jsonable(v) for k, v in link["info_data"].items()}
    item = {
        "name": link["name"],
        "ifindex": link["ifindex"],
        "kind": link["kind"],
        "mtu": link["mtu"],
        "mac": link["mac"],
        "up": link["up"],
        "operstate": link["operstate"],
        "master": link["master"],
        "link": link["link"],
        "link_netnsid": link["link_netnsid"],
        "attributes": attributes,
    }
    if link["kind"] == "vxlan":
        item.update(_vxlan_summary(attributes, by_name))
    else:
        item["vlan_filtering"] = bool(attributes.get("vlan_filtering"))
        item["stp"] = bool(attributes.get("stp_state"))
    return item


def _vxlan_summary(attributes, by_name):
    """The attributes people look for, under the names `ip link add ... type vxlan` uses."""
    group = attributes.get("group6") or attributes.get("group")
    multicast = bool(group) and _is_multicast(group)
    lower = attributes.get("link")
    names = {link["ifindex"]: name for name, link in by_name.items()}
    return {
        "vni": attributes.get("id"),
        "dstport": attributes.get("port"),
        "local": attributes.get("local6") or attributes.get("local"),
        "group": group if multicast else None,
        "remote": group if group and not multicast else None,
        "dev": names.get(lower, lower) if lower else None,
        "learning": bool(attributes.get("learning")),
        "external": bool(attributes.get("collect_metadata")),
    }


def _is_multicast(address):
    packed = bulk.ip_bytes(address)
    return packed[0] >= 224 and packed[0] <= 239 if len(packed) == 4 else packed[0] == 0xFF


def _port(link):
    return {"name": link["name"], "ifindex": link["ifindex"], "kind": link["kind"], "mac": link["mac"],
            "up": link["up"]}


def _fdb(nl, info, link, links):
    """A vxlan device: its entries (`bridge fdb show dev X`). A bridge: its whole table, every port's
    entries and its own, each naming the device it is on."""
    if link["kind"] == "vxlan":
        bridge = nl.device(ifindex=info.master) if info.master else None
        target = fdb.Target(info, bridge if bridge is not None and bridge.kind == "bridge" else None)
        return [fdb.to_result(entry) for entry in fdb.read(nl, target)]
    result = []
    for entry in fdb.read(nl, fdb.Target(info)):
        item = fdb.to_result(entry)
        item["device"] = link["name"]
        result.append(item)
    for port in links:
        if port["master"] != link["name"]:
            continue
        port_info = nl.device(ifindex=port["ifindex"])
        if port_info is None:
            continue
        for entry in fdb.read(nl, fdb.Target(port_info, info)):
            if entry["where"] == "master":
                item = fdb.to_result(entry)
                item["device"] = port["name"]
                result.append(item)
    return result


def _addresses(session, indexes):
    found = {}
    for msg in session.call("addresses", "get_addr"):
        if msg["index"] not in indexes:
            continue
        local = msg.get_attr("IFA_LOCAL")
        address = msg.get_attr("IFA_ADDRESS")
        item = {
            "address": local or address,
            "prefixlen": msg["prefixlen"],
            "family": "ipv6" if msg["family"] == socket.AF_INET6 else "ipv4",
            "scope": SCOPES.get(msg["scope"], msg["scope"]),
        }
        item["cidr"] = "%s/%d" % (item["address"], msg["prefixlen"])
        if local and address and local != address:
            item["peer"] = address
        if msg.get_attr("IFA_BROADCAST"):
            item["broadcast"] = msg.get_attr("IFA_BROADCAST")
        if msg.get_attr("IFA_LABEL") and msg["family"] == socket.AF_INET:
            item["label"] = msg.get_attr("IFA_LABEL")
        found.setdefault(msg["index"], []).append(item)
    return found


def _routes(session, indexes, names):
    found = {}
    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in session.call("routes", "get_routes", family=family):
            if msg["flags"] & RTM_F_CLONED:
                continue
            oif = msg.get_attr("RTA_OIF")
            hops = msg.get_attr("RTA_MULTIPATH") or []
            devices = {oif} | {hop["oif"] for hop in hops}
            matched = devices & indexes
            if not matched:
                continue
            item = _route(msg, family, oif, hops, names)
            for index in matched:
                found.setdefault(index, []).append(item)
    return found


def _route(msg, family, oif, hops, names):
    dst = msg.get_attr("RTA_DST")
    table = msg.get_attr("RTA_TABLE") or msg["table"]
    item = {
        "dst": "%s/%d" % (dst, msg["dst_len"]) if dst else ("default" if msg["dst_len"] == 0 else None),
        "family": "ipv6" if family == socket.AF_INET6 else "ipv4",
        "table": TABLES.get(table, table),
        "type": ROUTE_TYPES.get(msg["type"], msg["type"]),
        "protocol": PROTOCOLS.get(msg["proto"], msg["proto"]),
        "scope": SCOPES.get(msg["scope"], msg["scope"]),
    }
    if oif:
        item["dev"] = names.get(oif, oif)
    for attr, name in (("RTA_GATEWAY", "gateway"), ("RTA_PRIORITY", "metric"), ("RTA_PREFSRC", "prefsrc")):
        if msg.get_attr(attr) is not None:
            item[name] = msg.get_attr(attr)
    if msg["flags"] & RTNH_F_ONLINK:
        item["onlink"] = True
    if hops:
        item["nexthops"] = []
        for hop in hops:
            attrs = dict(hop.get("attrs", []))
            nexthop = {"dev": names.get(hop["oif"], hop["oif"]), "weight": hop.get("hops", 0) + 1}
            if attrs.get("RTA_GATEWAY"):
                nexthop["gateway"] = attrs["RTA_GATEWAY"]
            if hop.get("flags", 0) & RTNH_F_ONLINK:
                nexthop["onlink"] = True
            item["nexthops"].append(nexthop)
    encap_type = msg.get_attr("RTA_ENCAP_TYPE")
    if encap_type:
        item["encap"] = _encap(encap_type, msg.get_attr("RTA_ENCAP"))
    return item


_IP_ENCAP = {1: ("id", "be64"), 2: ("dst", "ip"), 3: ("src", "ip"), 4: ("ttl", "u8"), 5: ("tos", "u8"),
             6: ("flags", "u16")}


def _encap(encap_type, value):
    """Lightweight tunnel encapsulation (`ip route ... encap ip id 10 dst 192.0.2.2`) as a dict."""
    name = ENCAP_TYPES.get(encap_type, encap_type)
    result = {"type": name}
    raw = None
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value.replace(":", ""))
        except ValueError:
            raw = None
    elif isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, dict):
        result.update(jsonable(value))
        return result
    if raw is None or name not in ("ip", "ip6"):
        if raw is not None:
            result["raw"] = raw.hex(":")
        return result
    for kind, (at, size) in bulk.attributes(raw, 0, len(raw)).items():
        field, form = _IP_ENCAP.get(kind, (None, None))
        if field is None:
            continue
        chunk = raw[at:at + size]
        if form == "be64" and size == 8:
            result[field] = struct.unpack("!Q", chunk)[0]
        elif form == "ip":
            result[field] = bulk.ip_text(chunk)
        elif form == "u8" and size >= 1:
            result[field] = chunk[0]
        elif form == "u16" and size >= 2:
            result[field] = struct.unpack("=H", chunk[:2])[0]
    return result
