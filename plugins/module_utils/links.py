# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridges, veth pairs and the common attributes of any link: spec, read, plan, apply.

The pieces, for the link module and for callers that drive several object kinds in one
session (an aggregate module):

- ``LinkSpec.from_params(params)`` validates and normalises (raises OverlayError);
- ``read(pool, spec)`` reads what the kernel has (the link, its veth peer wherever it lives,
  the links of the namespaces involved) into a ``LinkState``;
- ``plan(spec, state)`` is pure: it returns a list of ``LinkOp`` (empty when nothing is to do),
  or raises OverlayError for requests that cannot be met (before anything changed);
- ``apply(pool, ops)`` performs them; ``run(pool, spec, check_mode)`` does all of it and
  returns the module result.

This file also holds the small helpers the address and route planners share with it:
``send()`` (one hand-built rtnetlink request, errors as sentences), ``read_links()`` and
``SessionPool`` (sessions in several namespaces at once).
"""

from __future__ import annotations

import contextlib
import os
import re

from ansible_collections.overlaynet.vxlan.plugins.module_utils.bulk import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    RTM_NEWLINK,
)
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    IFF_UP,
    NETNS_RUN_DIR,
    OverlayError,
    Session,
    attrs_to_dict,
    describe_error,
    netlink_error_class,
    netns_path,
    validate_ifname,
    validate_netns_name,
)

# The module's options (the overlay module takes the same ones per part).
ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "kind": {"type": "str", "choices": ["bridge", "veth"]},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "mtu": {"type": "int"},
    "mac": {"type": "str"},
    "up": {"type": "bool"},
    "master": {"type": "str"},
    "bridge": {
        "type": "dict",
        "options": {
            "stp": {"type": "bool"},
            "ageing_time": {"type": "float"},
            "forward_delay": {"type": "float"},
            "vlan_filtering": {"type": "bool"},
            "mcast_snooping": {"type": "bool"},
        },
    },
    "port": {
        "type": "dict",
        "options": {
            "hairpin": {"type": "bool"},
            "learning": {"type": "bool"},
            "neigh_suppress": {"type": "bool"},
        },
    },
    "peer": {
        "type": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "netns": {"type": "str"},
            "mtu": {"type": "int"},
            "mac": {"type": "str"},
            "up": {"type": "bool"},
        },
    },
    "netns": {"type": "str"},
}

try:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
except ImportError:  # reported by netlink.require_pyroute2()
    ifinfmsg = None

RTM_DELLINK = 17
EBUSY = 16

KINDS = ("bridge", "veth")

# option -> (IFLA_BR_* attribute, unit). Times are seconds for the user, centiseconds
# (clock_t at USER_HZ=100) in netlink and in `ip -d -j link`.
BRIDGE_OPTIONS = {
    "stp": ("IFLA_BR_STP_STATE", "bool"),
    "ageing_time": ("IFLA_BR_AGEING_TIME", "seconds"),
    "forward_delay": ("IFLA_BR_FORWARD_DELAY", "seconds"),
    "vlan_filtering": ("IFLA_BR_VLAN_FILTERING", "bool"),
    "mcast_snooping": ("IFLA_BR_MCAST_SNOOPING", "bool"),
}
# option -> IFLA_BRPORT_* attribute (all flags)
PORT_OPTIONS = {
    "hairpin": "IFLA_BRPORT_MODE",
    "learning": "IFLA_BRPORT_LEARNING",
    "neigh_suppress": "IFLA_BRPORT_NEIGH_SUPPRESS",
}

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


# ---------------------------------------------------------------------------------------
# Shared helpers (address and route planners use them too)

def send(session, what, operation, msg, msg_type, *, flags=0):
    """Send one hand-built rtnetlink request on `session` and wait for the kernel's answer.

    pyroute2 0.7 and 0.9 encode hand-built messages the same way, while their high-level
    helpers differ (and neither knows LWTUNNEL_ENCAP_IP); `nlm_request_batch` exists in both.
    A NetlinkError becomes an OverlayError naming `what` and `operation`.
    """
    msg["header"]["type"] = msg_type
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
    try:
        return tuple(session.ipr.nlm_request_batch([msg]))
    except netlink_error_class() as exc:
        exc.operation = operation
        raise OverlayError(describe_error(exc, what)) from exc


def netns_label(name):
    return "this namespace" if name is None else "netns %r" % name


def netns_identity(name):
    """(st_dev, st_ino) of a namespace: None is the one this process runs in."""
    path = "/proc/self/ns/net" if name is None else netns_path(name)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise OverlayError(
            "network namespace %r does not exist (no %s); create it first, e.g. with "
            "overlaynet.vxlan.netns" % (name, path)) from None
    return (st.st_dev, st.st_ino)


def open_netns_fd(name):
    return os.open("/proc/self/ns/net" if name is None else netns_path(name), os.O_RDONLY)


def nsid_of(session, name):
    """The nsid `session`'s namespace uses for namespace `name` (None: not assigned)."""
    return session.netns_id(name)


class SessionPool:
    """Sessions in several namespaces, opened on first use and closed together."""

    def __init__(self, first=None, netns=None):
        self.sessions = {}
        self._ids = {}
        if first is not None:
            self.sessions[self.key(first.netns if netns is None else netns)] = first

    def key(self, name):
        if name not in self._ids:
            self._ids[name] = netns_identity(name)
        return self._ids[name]

    def get(self, name):
        key = self.key(name)
        if key not in self.sessions:
            self.sessions[key] = Session(name)
        return self.sessions[key]

    def same(self, a, b):
        return self.key(a) == self.key(b)

    def close(self):
        for session in self.sessions.values():
            session.close()
        self.sessions = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def link_from_msg(msg, names):
    """Normalise one RTM_NEWLINK message into the dict every planner here compares."""
    info = msg.get_attr("IFLA_LINKINFO")
    kind = slave_kind = data = slave_data = None
    if info is not None:
        kind = info.get_attr("IFLA_INFO_KIND")
        slave_kind = info.get_attr("IFLA_INFO_SLAVE_KIND")
        data = attrs_to_dict(info.get_attr("IFLA_INFO_DATA"))
        slave_data = attrs_to_dict(info.get_attr("IFLA_INFO_SLAVE_DATA"))
    master = msg.get_attr("IFLA_MASTER")
    mac = msg.get_attr("IFLA_ADDRESS")
    link = {
        "name": msg.get_attr("IFLA_IFNAME"),
        "ifindex": msg["index"],
        "kind": kind,
        "mtu": msg.get_attr("IFLA_MTU"),
        "mac": mac.lower() if isinstance(mac, str) else mac,
        "up": bool(msg["flags"] & IFF_UP),
        "master": names.get(master, master) if master else None,
        # IFLA_LINK is an ifindex in the namespace link_netnsid names, when that is set.
        "peer_ifindex": msg.get_attr("IFLA_LINK"),
        "link_netnsid": msg.get_attr("IFLA_LINK_NETNSID"),
        "bridge": None,
        "port": None,
    }
    if kind == "bridge" and data:
        link["bridge"] = {opt: data[attr] for opt, (attr, _unit) in BRIDGE_OPTIONS.items() if attr in data}
    if slave_kind == "bridge" and slave_data:
        link["port"] = {opt: bool(slave_data[attr]) for opt, attr in PORT_OPTIONS.items() if attr in slave_data}
    return link


def read_links(session):
    """{name: link dict} for every link in `session`'s namespace."""
    raw = list(session.call("links", "get_links"))
    names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in raw}
    links = {}
    for msg in raw:
        link = link_from_msg(msg, names)
        links[link["name"]] = link
    return links


def ifindex(session, name, what=None):
    """The ifindex of link `name` in `session`'s namespace; OverlayError when it is missing."""
    found = session.call("link %r" % name, "link_lookup", ifname=name)
    if not found:
        raise OverlayError("%s: no link called %r in %s" % (what or "link lookup", name, netns_label(session.netns)))
    return found[0]


# ---------------------------------------------------------------------------------------
# Spec

def _bool_word(value):
    return "on" if value else "off"


def bridge_user_value(option, value):
    """Kernel value -> what the user writes (seconds for times, bools for flags)."""
    unit = BRIDGE_OPTIONS[option][1]
    if unit == "bool":
        return bool(value)
    seconds = value / 100.0
    return int(seconds) if seconds == int(seconds) else seconds


def normalise_mac(value, option):
    mac = str(value).strip().lower()
    if not _MAC.match(mac):
        raise OverlayError("%s %r is not a MAC address (six hex pairs separated by ':')" % (option, value))
    if int(mac[:2], 16) & 1:
        raise OverlayError("%s %r is a multicast address; a link needs a unicast MAC" % (option, value))
    if mac == "00:00:00:00:00:00":
        raise OverlayError("%s %r is the all-zero address" % (option, value))
    return mac


def _mtu(value, option):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 68 <= value <= 65535:
        raise OverlayError("%s %r is not an MTU (an integer from 68 to 65535)" % (option, value))
    return value


class PeerSpec:
    def __init__(self, name, netns, *, mtu=None, mac=None, up=None):
        self.name = name
        self.netns = netns
        self.mtu = mtu
        self.mac = mac
        self.up = up

    def as_dict(self):
        return {"name": self.name, "netns": self.netns, "mtu": self.mtu, "mac": self.mac, "up": self.up}


class LinkSpec:
    """What the user asked for, validated. Attributes left None are "don't care"."""

    def __init__(self, name, *, netns=None, state="present", kind=None, mtu=None, mac=None, up=None,
                 master=None, bridge=None, port=None, peer=None):
        self.name = name
        self.netns = netns
        self.state = state
        self.kind = kind
        self.mtu = mtu
        self.mac = mac
        self.up = up
        self.master = master  # "" = no master
        self.bridge = bridge or {}  # option -> kernel value
        self.port = port or {}  # option -> bool
        self.peer = peer  # PeerSpec or None

    @classmethod
    def from_params(cls, params):
        errors = []

        def check(fn, *args):
            try:
                return fn(*args)
            except OverlayError as exc:
                errors.append(str(exc))
                return None

        name = params.get("name")
        problem = validate_ifname(name, "name")
        if problem:
            errors.append(problem)
        netns = params.get("netns")
        if netns is not None:
            problem = validate_netns_name(netns)
            if problem:
                errors.append(problem)
        state = params.get("state") or "present"
        kind = params.get("kind")
        if kind is not None and kind not in KINDS:
            errors.append("kind %r is not supported: use one of %s" % (kind, ", ".join(KINDS)))
        mtu = check(_mtu, params.get("mtu"), "mtu")
        mac = check(normalise_mac, params["mac"], "mac") if params.get("mac") is not None else None
        master = params.get("master")
        if master:
            problem = validate_ifname(master, "master")
            if problem:
                errors.append(problem)
            elif master == name:
                errors.append("master %r is the link itself" % master)

        bridge = {}
        for option, value in (params.get("bridge") or {}).items():
            if value is None:
                continue
            if option not in BRIDGE_OPTIONS:
                errors.append("bridge.%s is not a bridge option (%s)" % (option, ", ".join(BRIDGE_OPTIONS)))
                continue
            unit = BRIDGE_OPTIONS[option][1]
            if unit == "bool":
                bridge[option] = int(bool(value))
            else:
                try:
                    seconds = float(value)
                except (TypeError, ValueError):
                    seconds = -1.0
                if isinstance(value, bool) or seconds < 0:
                    errors.append("bridge.%s %r is not a number of seconds" % (option, value))
                    continue
                bridge[option] = round(seconds * 100)
        if bridge and kind not in (None, "bridge"):
            errors.append("bridge options are for kind bridge, not %s" % kind)

        port = {}
        for option, value in (params.get("port") or {}).items():
            if value is None:
                continue
            if option not in PORT_OPTIONS:
                errors.append("port.%s is not a bridge port option (%s)" % (option, ", ".join(PORT_OPTIONS)))
                continue
            port[option] = bool(value)
        if port and master == "":
            errors.append("port options need a bridge master, but master is '' (no master)")

        peer = None
        peer_params = params.get("peer")
        if peer_params:
            if kind not in (None, "veth"):
                errors.append("peer is for kind veth, not %s" % kind)
            peer_name = peer_params.get("name")
            problem = validate_ifname(peer_name, "peer.name")
            if problem:
                errors.append(problem)
            peer_netns = peer_params.get("netns")
            if peer_netns is None:
                peer_netns = netns
            else:
                problem = validate_netns_name(peer_netns, "peer.netns")
                if problem:
                    errors.append(problem)
            peer_mac = peer_params.get("mac")
            if peer_mac is not None:
                peer_mac = check(normalise_mac, peer_mac, "peer.mac")
            peer = PeerSpec(peer_name, peer_netns, mtu=check(_mtu, peer_params.get("mtu"), "peer.mtu"), mac=peer_mac,
                            up=peer_params.get("up"))
        elif kind == "veth" and state == "present":
            errors.append("kind veth needs peer (at least peer.name)")

        if state == "absent":
            extra = [opt for opt in ("mtu", "mac", "up", "master", "bridge", "port", "peer")
                     if params.get(opt) not in (None, {}, [])]
            if extra:
                errors.append("state absent deletes the link; remove %s" % ", ".join(extra))
        if errors:
            raise OverlayError("; ".join(errors))
        return cls(name, netns=netns, state=state, kind=kind, mtu=mtu, mac=mac, up=params.get("up"), master=master,
                   bridge=bridge, port=port, peer=peer)


# ---------------------------------------------------------------------------------------
# Read

class LinkState:
    """What the kernel has, as far as one LinkSpec is concerned."""

    def __init__(self, link=None, links=None, peer=None, *, peer_links=None, peer_netns_same=True):
        self.link = link  # dict or None
        self.links = links or {}  # every link in the link's namespace
        self.peer = peer  # dict with "netns" (name, None, or "?" when unnamed) or None
        self.peer_links = peer_links if peer_links is not None else self.links  # desired peer namespace
        self.peer_netns_same = peer_netns_same  # the desired peer namespace is the link's


def _find_peer(pool, spec, link, links, peer_links):
    """The veth peer of `link` as a link dict plus "netns" (its namespace's name, None for
    this process's namespace, "?" when it has no name) and "in_place" (it is in the namespace
    spec.peer asks for). Compared: the peer is the link with ifindex IFLA_LINK in the namespace
    whose nsid (seen from the link's namespace) is IFLA_LINK_NETNSID, or in the link's own
    namespace when IFLA_LINK_NETNSID is absent."""
    index = link["peer_ifindex"]
    if not index:
        return None
    wanted = spec.peer.netns if spec.peer is not None else spec.netns
    if link["link_netnsid"] is None:
        for other in links.values():
            if other["ifindex"] == index:
                return dict(other, netns=spec.netns, in_place=pool.same(spec.netns, wanted))
        return None
    candidates = [wanted, None]
    with contextlib.suppress(FileNotFoundError):
        candidates.extend(sorted(os.listdir(NETNS_RUN_DIR)))
    seen = set()
    for name in candidates:
        try:
            key = pool.key(name)
        except OverlayError:
            continue
        if key in seen or pool.same(name, spec.netns):
            continue
        seen.add(key)
        if nsid_of(pool.get(spec.netns), name) != link["link_netnsid"]:
            continue
        in_place = pool.same(name, wanted)
        where = peer_links if in_place else read_links(pool.get(name))
        for other in where.values():
            if other["ifindex"] == index:
                return dict(other, netns=name, in_place=in_place)
        return None
    return {"netns": "?", "name": None, "ifindex": index, "nsid": link["link_netnsid"], "in_place": False}


def read(pool, spec):
    session = pool.get(spec.netns)
    links = read_links(session)
    link = links.get(spec.name)
    peer_links, same = links, True
    if spec.peer is not None and not pool.same(spec.peer.netns, spec.netns):
        peer_links, same = read_links(pool.get(spec.peer.netns)), False
    peer = None
    if link is not None and link["kind"] == "veth":
        peer = _find_peer(pool, spec, link, links, peer_links)
    return LinkState(link, links, peer, peer_links=peer_links, peer_netns_same=same)


# ---------------------------------------------------------------------------------------
# Plan

class LinkOp:
    """One change. `netns` is where it is sent; `target` the link's name there."""

    def __init__(self, action, netns, target, attrs=None, text=""):
        self.action = action  # create|delete|set|bridge|port|move|rename|up
        self.netns = netns
        self.target = target
        self.attrs = attrs or {}
        self.text = text

    def __repr__(self):
        return "LinkOp(%r, %r, %r, %r)" % (self.action, self.netns, self.target, self.attrs)

    def describe(self):
        return self.text


def _where(netns, spec_netns):
    return "" if netns == spec_netns else " in %s" % netns_label(netns)


def plan(spec, state):
    """Pure: the ops that take `state` to `spec` ([] when nothing is to do)."""
    link = state.link
    ops = []
    if spec.state == "absent":
        if link is None:
            return []
        if spec.kind and link["kind"] != spec.kind:
            raise OverlayError("link %r is a %s link, not %s; not deleting it"
                               % (spec.name, link["kind"] or "plain", spec.kind))
        return [LinkOp("delete", spec.netns, spec.name, text="delete %s link %s" % (link["kind"] or "", spec.name))]

    kind = link["kind"] if link is not None else spec.kind
    if link is None and spec.kind is None:
        raise OverlayError("link %r does not exist in %s; set kind (%s) to create it"
                           % (spec.name, netns_label(spec.netns), ", ".join(KINDS)))
    if link is not None and spec.kind is not None and link["kind"] != spec.kind:
        raise OverlayError("link %r exists as a %s link, not %s; delete it first (state: absent) to recreate it"
                           % (spec.name, link["kind"] or "plain", spec.kind))
    if spec.bridge and kind != "bridge":
        raise OverlayError("bridge options were given but link %r is a %s link" % (spec.name, kind or "plain"))
    if spec.peer is not None and kind != "veth":
        raise OverlayError("peer was given but link %r is a %s link, not veth" % (spec.name, kind or "plain"))

    # master and port options
    master = spec.master
    if master:
        other = state.links.get(master)
        if other is None:
            raise OverlayError("master %r does not exist in %s; create the bridge first"
                               % (master, netns_label(spec.netns)))
        if spec.port and other["kind"] != "bridge":
            raise OverlayError("port options need a bridge master, but %r is a %s link"
                               % (master, other["kind"] or "plain"))
    elif spec.port and master is None and (link is None or link["master"] is None
                                           or (state.links.get(link["master"]) or {}).get("kind") != "bridge"):
        raise OverlayError("port options need link %r to be a bridge port; set master" % spec.name)

    peer = spec.peer
    if peer is not None:
        if state.peer_netns_same and peer.name == spec.name:
            raise OverlayError("peer.name %r is the link's own name, in the same namespace" % peer.name)
        current_peer = state.peer
        if current_peer is not None and current_peer.get("netns") == "?":
            raise OverlayError(
                "the peer of veth %r lives in a namespace that has no name under /run/netns (nsid %s); "
                "delete the link (state: absent) to recreate it" % (spec.name, current_peer.get("nsid")))
        taken = state.peer_links.get(peer.name)
        ours = (current_peer is not None and current_peer["in_place"] and taken is not None
                and taken["ifindex"] == current_peer["ifindex"])
        if taken is not None and not ours:
            raise OverlayError("peer.name %r is already taken in %s by another %s link"
                               % (peer.name, netns_label(peer.netns), taken["kind"] or "plain"))

    if link is None:
        text = "create %s link %s" % (kind, spec.name)
        attrs = {"kind": kind, "mtu": spec.mtu, "mac": spec.mac, "bridge": spec.bridge}
        if kind == "veth":
            attrs["peer"] = {"name": peer.name, "netns": None if state.peer_netns_same else peer.netns,
                             "mtu": peer.mtu, "mac": peer.mac}
            text += " with peer %s%s" % (peer.name, _where(peer.netns, spec.netns) if not state.peer_netns_same else "")
        for key in ("mtu", "mac"):
            if attrs[key] is not None:
                text += " %s %s" % (key, attrs[key])
        for option, value in sorted(spec.bridge.items()):
            text += " %s %s" % (option, _show_bridge(option, value))
        ops.append(LinkOp("create", spec.netns, spec.name, attrs, text))
        if master:
            ops.append(LinkOp("set", spec.netns, spec.name, {"master": master}, "set %s master %s" % (spec.name, master)))
        if spec.port:
            ops.append(LinkOp("port", spec.netns, spec.name, dict(spec.port), "set %s port %s" % (
                spec.name, _show_flags(spec.port))))
        if spec.up is not None:
            ops.append(_updown(spec.netns, spec.name, spec.up, spec.netns))
        if peer is not None and peer.up is not None:
            ops.append(_updown(peer.netns, peer.name, peer.up, spec.netns))
        return ops

    # The link exists: peer placement first, then attributes, then up/down.
    peer_ops, peer_up_after, peer_now = [], None, None
    if peer is not None:
        current_peer = state.peer
        if current_peer is None:
            raise OverlayError("veth %r has no peer the kernel reports; delete and recreate it" % spec.name)
        peer_now = dict(current_peer)
        if not current_peer["in_place"]:
            peer_ops.append(LinkOp("move", current_peer["netns"], current_peer["name"],
                                   {"netns": peer.netns, "name": peer.name},
                                   "move peer %s from %s into %s as %s" % (
                                       current_peer["name"], netns_label(current_peer["netns"]),
                                       netns_label(peer.netns), peer.name)))
            peer_now["up"] = False  # the kernel brings a link down when it changes namespace
        elif current_peer["name"] != peer.name:
            peer_ops.append(LinkOp("rename", peer.netns, current_peer["name"], {"name": peer.name},
                                   "rename peer %s to %s%s" % (current_peer["name"], peer.name,
                                                               _where(peer.netns, spec.netns))))
        for key in ("mtu", "mac"):
            wanted = getattr(peer, key)
            if wanted is not None and peer_now.get(key) != wanted:
                peer_ops.append(LinkOp("set", peer.netns, peer.name, {key: wanted}, "set peer %s %s %s (was %s)%s" % (
                    peer.name, key, wanted, peer_now.get(key), _where(peer.netns, spec.netns))))
        if peer.up is not None and peer_now.get("up") != peer.up:
            peer_up_after = _updown(peer.netns, peer.name, peer.up, spec.netns)
    ops.extend(peer_ops)

    for key in ("mtu", "mac"):
        wanted = getattr(spec, key)
        if wanted is not None and link[key] != wanted:
            ops.append(LinkOp("set", spec.netns, spec.name, {key: wanted},
                              "set %s %s %s (was %s)" % (spec.name, key, wanted, link[key])))
    if master is not None and (link["master"] or "") != master:
        if master:
            ops.append(LinkOp("set", spec.netns, spec.name, {"master": master}, "set %s master %s (was %s)" % (
                spec.name, master, link["master"] or "none")))
        else:
            ops.append(LinkOp("set", spec.netns, spec.name, {"master": ""}, "release %s from master %s" % (
                spec.name, link["master"])))
    if spec.bridge:
        current = link["bridge"] or {}
        changes = {opt: value for opt, value in spec.bridge.items() if current.get(opt) != value}
        if changes:
            ops.append(LinkOp("bridge", spec.netns, spec.name, changes, "set bridge %s %s" % (
                spec.name, " ".join("%s %s (was %s)" % (opt, _show_bridge(opt, value),
                                                        _show_bridge(opt, current.get(opt)))
                                    for opt, value in sorted(changes.items())))))
    if spec.port:
        new_master = master if master else link["master"]
        current = link["port"] if new_master == link["master"] else None
        current = current or {}
        changes = {opt: value for opt, value in spec.port.items() if current.get(opt) != value}
        if changes:
            ops.append(LinkOp("port", spec.netns, spec.name, changes, "set %s port %s" % (
                spec.name, _show_flags(changes))))
    if spec.up is not None and link["up"] != spec.up:
        ops.append(_updown(spec.netns, spec.name, spec.up, spec.netns))
    if peer_up_after is not None:
        ops.append(peer_up_after)
    return ops


def _updown(netns, name, up, spec_netns):
    return LinkOp("up", netns, name, {"up": up}, "set %s %s%s" % (name, "up" if up else "down",
                                                                  _where(netns, spec_netns)))


def _show_flags(flags):
    return " ".join("%s %s" % (opt, _bool_word(value)) for opt, value in sorted(flags.items()))


def _show_bridge(option, value):
    if value is None:
        return "unset"
    user = bridge_user_value(option, value)
    return _bool_word(user) if isinstance(user, bool) else "%ss" % user


# ---------------------------------------------------------------------------------------
# Expected state (pure) and read-back view

def view(spec, state):
    """The part of the kernel state this spec is about, as a flat dict (diff 'before')."""
    link = state.link
    if link is None:
        return {"name": spec.name, "state": "absent"}
    out = {"name": link["name"], "state": "present", "kind": link["kind"], "mtu": link["mtu"], "mac": link["mac"],
           "up": link["up"], "master": link["master"]}
    if link["bridge"] is not None:
        out["bridge"] = {opt: bridge_user_value(opt, value) for opt, value in sorted(link["bridge"].items())}
    if link["port"] is not None:
        out["port"] = dict(sorted(link["port"].items()))
    if link["kind"] == "veth":
        peer = state.peer
        out["peer"] = None if peer is None else {
            "name": peer.get("name"), "netns": peer.get("netns"), "mtu": peer.get("mtu"),
            "mac": peer.get("mac"), "up": peer.get("up")}
    return out


def expected(spec, state):
    """Pure: the view of `state` with the spec applied: the diff's 'after'."""
    before = view(spec, state)
    if spec.state == "absent":
        return {"name": spec.name, "state": "absent"}
    after = dict(before)
    after["state"] = "present"
    after["kind"] = before.get("kind") or spec.kind
    for key in ("mtu", "mac", "up"):
        if getattr(spec, key) is not None:
            after[key] = getattr(spec, key)
    if spec.master is not None:
        after["master"] = spec.master or None
    after.setdefault("master", None)
    if after["kind"] == "bridge":
        bridge = dict(before.get("bridge") or {})
        bridge.update({opt: bridge_user_value(opt, value) for opt, value in spec.bridge.items()})
        after["bridge"] = dict(sorted(bridge.items()))
    if spec.port:
        port = dict(before.get("port") or {}) if after.get("master") == before.get("master") else {}
        port.update(spec.port)
        after["port"] = dict(sorted(port.items()))
    elif spec.master is not None and after.get("master") != before.get("master"):
        after.pop("port", None)
    if spec.peer is not None:
        peer = dict(before.get("peer") or {})
        moved = state.peer is not None and not state.peer["in_place"]
        peer.update({"name": spec.peer.name, "netns": spec.peer.netns})
        if moved:
            peer["up"] = False
        for key in ("mtu", "mac", "up"):
            if getattr(spec.peer, key) is not None:
                peer[key] = getattr(spec.peer, key)
        after["peer"] = peer
    return after


# ---------------------------------------------------------------------------------------
# Apply

def _linkmsg(index=0):
    msg = ifinfmsg()
    msg["family"] = 0
    msg["index"] = index
    return msg


def _link_what(name, netns):
    return "link %r in %s" % (name, netns_label(netns))


def apply(pool, ops):
    """Perform `ops` in order; stops at the first failure (OverlayError naming the object)."""
    for op in ops:
        _apply_one(pool, op)


def _apply_one(pool, op):
    session = pool.get(op.netns)
    what = _link_what(op.target, op.netns)
    if op.action == "create":
        attrs = op.attrs
        msg = _linkmsg()
        nla = [("IFLA_IFNAME", op.target)]
        if attrs.get("mtu") is not None:
            nla.append(("IFLA_MTU", attrs["mtu"]))
        if attrs.get("mac") is not None:
            nla.append(("IFLA_ADDRESS", attrs["mac"]))
        info = [("IFLA_INFO_KIND", attrs["kind"])]
        data = []
        fd = None
        if attrs["kind"] == "bridge":
            data = [(BRIDGE_OPTIONS[opt][0], value) for opt, value in sorted(attrs.get("bridge", {}).items())]
        elif attrs["kind"] == "veth":
            peer = attrs["peer"]
            peer_nla = [("IFLA_IFNAME", peer["name"])]
            if peer.get("netns") is not None:
                fd = open_netns_fd(peer["netns"])
                peer_nla.append(("IFLA_NET_NS_FD", fd))
            if peer.get("mtu") is not None:
                peer_nla.append(("IFLA_MTU", peer["mtu"]))
            if peer.get("mac") is not None:
                peer_nla.append(("IFLA_ADDRESS", peer["mac"]))
            data = [("VETH_INFO_PEER", {"attrs": peer_nla})]
        if data:
            info.append(("IFLA_INFO_DATA", {"attrs": data}))
        nla.append(("IFLA_LINKINFO", {"attrs": info}))
        msg["attrs"] = nla
        try:
            send(session, "%s link %r in %s" % (attrs["kind"], op.target, netns_label(op.netns)), "create", msg,
                 RTM_NEWLINK, flags=NLM_F_CREATE | NLM_F_EXCL)
        finally:
            if fd is not None:
                os.close(fd)
        return
    index = ifindex(session, op.target, op.describe())
    if op.action == "delete":
        send(session, what, "delete", _linkmsg(index), RTM_DELLINK)
    elif op.action == "set":
        msg = _linkmsg(index)
        key, value = next(iter(op.attrs.items()))
        if key == "mtu":
            msg["attrs"] = [("IFLA_MTU", value)]
        elif key == "mac":
            msg["attrs"] = [("IFLA_ADDRESS", value)]
        elif key == "master":
            msg["attrs"] = [("IFLA_MASTER", ifindex(session, value, op.describe()) if value else 0)]
        send(session, what, "set %s" % key, msg, RTM_NEWLINK)
    elif op.action == "up":
        msg = _linkmsg(index)
        msg["flags"] = IFF_UP if op.attrs["up"] else 0
        msg["change"] = IFF_UP
        send(session, what, "set up" if op.attrs["up"] else "set down", msg, RTM_NEWLINK)
    elif op.action == "bridge":
        msg = _linkmsg(index)
        data = [(BRIDGE_OPTIONS[opt][0], value) for opt, value in sorted(op.attrs.items())]
        msg["attrs"] = [("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge"),
                                                     ("IFLA_INFO_DATA", {"attrs": data})]})]
        send(session, what, "set bridge options", msg, RTM_NEWLINK)
    elif op.action == "port":
        msg = _linkmsg(index)
        data = [(PORT_OPTIONS[opt], int(value)) for opt, value in sorted(op.attrs.items())]
        msg["attrs"] = [("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_SLAVE_KIND", "bridge"),
                                                     ("IFLA_INFO_SLAVE_DATA", {"attrs": data})]})]
        send(session, what, "set bridge port options", msg, RTM_NEWLINK)
    elif op.action == "move":
        # One request moves and renames: the kernel renames inside the target namespace, so
        # the final name may collide with a name here (seed 001's reason for eth-tmp).
        fd = open_netns_fd(op.attrs["netns"])
        try:
            msg = _linkmsg(index)
            msg["attrs"] = [("IFLA_NET_NS_FD", fd), ("IFLA_IFNAME", op.attrs["name"])]
            send(session, what, "move to %s" % netns_label(op.attrs["netns"]), msg, RTM_NEWLINK)
        finally:
            os.close(fd)
    elif op.action == "rename":
        _rename(session, index, op.target, op.attrs["name"], what)
    else:  # pragma: no cover - plan() makes only the actions above
        raise OverlayError("unknown link operation %r" % op.action)


def _rename(session, index, old, new, what):
    msg = _linkmsg(index)
    msg["attrs"] = [("IFLA_IFNAME", new)]
    try:
        send(session, what, "rename to %r" % new, msg, RTM_NEWLINK)
        return
    except OverlayError as exc:
        cause = exc.__cause__
        if getattr(cause, "code", None) != EBUSY:
            raise
    # Kernels before 6.2 refuse to rename a link that is up: down, rename, up again.
    down = _linkmsg(index)
    down["change"] = IFF_UP
    send(session, what, "set down", down, RTM_NEWLINK)
    msg = _linkmsg(index)
    msg["attrs"] = [("IFLA_IFNAME", new)]
    send(session, what, "rename to %r" % new, msg, RTM_NEWLINK)
    up = _linkmsg(index)
    up["flags"] = IFF_UP
    up["change"] = IFF_UP
    send(session, _link_what(new, session.netns), "set up", up, RTM_NEWLINK)


# ---------------------------------------------------------------------------------------
# The whole cycle

def run(pool, spec, check_mode=False):
    """Read, plan, apply (unless check mode), read back. Returns the module result dict."""
    state = read(pool, spec)
    ops = plan(spec, state)
    before = view(spec, state)
    after = expected(spec, state)
    if ops and not check_mode:
        apply(pool, ops)
        state = read(pool, spec)
    return {
        "changed": bool(ops),
        "actions": [op.describe() for op in ops],
        "diff": {"before": before, "after": after},
        "link": view(spec, state),
    }
