# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VXLAN links as data: spec, kernel read-back, a pure planner and apply with rollback.

The API, shared by the vxlan_link module and by anything that manages links in bulk:

    spec = build_spec(params)                     # validated, normalised; OverlayError names the option
    with open_sessions(spec) as (session, origin):
        current = read_current(session, spec, origin)   # the link (or None) plus what plan() must check
        ops = plan(spec, current)                 # pure: [Op], raises OverlayError before any change
        before, after = diff(spec, current, ops)  # pure: flat dicts for diff mode
        apply(session, ops, origin)               # runs the ops; on failure undoes the ones done
        link = read_link(session, spec.name, origin, spec.create_netns)

`run(params, check_mode)` does all of that and returns the module result.

Attribute names are the module's option names everywhere (spec, read-back, diff, ops), so a
read-back dict can be compared with a spec key by key. What the kernel can change on a live link
was checked on Linux 6.x: learning, ageing, ttl (numbers and auto, not to or from inherit), tos, dev,
local/remote/group within one address family; everything else needs a new link.
"""

from __future__ import annotations

import ipaddress
import os
import re
import struct
from contextlib import contextmanager

from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    IFF_UP,
    OverlayError,
    Session,
    netns_path,
    validate_ifname,
    validate_netns_name,
)

DEFAULT_DSTPORT = 4789  # IANA; the kernel's own default (module parameter vxlan_port) is 8472
VNI_MAX = 0xFFFFFF
OWN_NETNS = ""  # create_netns value meaning "the namespace the module runs in"

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    netns=dict(type="str"),
    create_netns=dict(type="str"),
    recreate=dict(type="str", default="never", choices=["never", "always"]),
    vni=dict(type="int"),
    dstport=dict(type="int", default=DEFAULT_DSTPORT),
    local=dict(type="str"),
    remote=dict(type="str"),
    group=dict(type="str"),
    dev=dict(type="str"),
    learning=dict(type="bool"),
    proxy=dict(type="bool"),
    l2miss=dict(type="bool"),
    l3miss=dict(type="bool"),
    rsc=dict(type="bool"),
    ttl=dict(type="raw"),
    tos=dict(type="raw"),
    srcport_min=dict(type="int"),
    srcport_max=dict(type="int"),
    udpcsum=dict(type="bool"),
    udp6zerocsumtx=dict(type="bool"),
    udp6zerocsumrx=dict(type="bool"),
    gbp=dict(type="bool"),
    external=dict(type="bool"),
    ageing=dict(type="int"),
    mtu=dict(type="int"),
    mac=dict(type="str"),
    master=dict(type="str"),
    up=dict(type="bool"),
)

BOOL_ATTRS = ("learning", "proxy", "l2miss", "l3miss", "rsc", "udpcsum", "udp6zerocsumtx", "udp6zerocsumrx",
              "gbp", "external")
ADDRESS_ATTRS = ("local", "remote", "group")
# The VXLAN options in the order `ip -d link` prints them; the link-level ones follow.
VXLAN_ATTRS = ("vni", "external", "group", "remote", "local", "dev", "srcport_min", "srcport_max", "dstport",
               "learning", "proxy", "rsc", "l2miss", "l3miss", "ttl", "tos", "ageing", "udpcsum",
               "udp6zerocsumtx", "udp6zerocsumrx", "gbp")
LINK_ATTRS = ("mac", "mtu", "master", "up")
# Read back and restorable, but not options.
EXTRA_VXLAN_ATTRS = ("df", "label", "limit", "remcsumtx", "remcsumrx")
# What the kernel changes on a live link (vxlan_nl2conf with changelink); see also _fixed().
MUTABLE_VXLAN = frozenset(("learning", "ageing", "ttl", "tos", "dev", "local", "remote", "group"))
DIFF_KEYS = ("name", "state", "create_netns", *VXLAN_ATTRS, *LINK_ATTRS)

# option name -> (IFLA_VXLAN_* attribute, pyroute2 keyword) for the plain integer/boolean ones
_NLA = {
    "vni": ("IFLA_VXLAN_ID", "vxlan_id"),
    "dstport": ("IFLA_VXLAN_PORT", "vxlan_port"),
    "learning": ("IFLA_VXLAN_LEARNING", "vxlan_learning"),
    "proxy": ("IFLA_VXLAN_PROXY", "vxlan_proxy"),
    "rsc": ("IFLA_VXLAN_RSC", "vxlan_rsc"),
    "l2miss": ("IFLA_VXLAN_L2MISS", "vxlan_l2miss"),
    "l3miss": ("IFLA_VXLAN_L3MISS", "vxlan_l3miss"),
    "udpcsum": ("IFLA_VXLAN_UDP_CSUM", "vxlan_udp_csum"),
    "udp6zerocsumtx": ("IFLA_VXLAN_UDP_ZERO_CSUM6_TX", "vxlan_udp_zero_csum6_tx"),
    "udp6zerocsumrx": ("IFLA_VXLAN_UDP_ZERO_CSUM6_RX", "vxlan_udp_zero_csum6_rx"),
    "external": ("IFLA_VXLAN_COLLECT_METADATA", "vxlan_collect_metadata"),
    "ageing": ("IFLA_VXLAN_AGEING", "vxlan_ageing"),
    "df": ("IFLA_VXLAN_DF", "vxlan_df"),
    "label": ("IFLA_VXLAN_LABEL", "vxlan_label"),
    "limit": ("IFLA_VXLAN_LIMIT", "vxlan_limit"),
    "remcsumtx": ("IFLA_VXLAN_REMCSUM_TX", "vxlan_remcsum_tx"),
    "remcsumrx": ("IFLA_VXLAN_REMCSUM_RX", "vxlan_remcsum_rx"),
}
# pyroute2 declares IFLA_VXLAN_TTL_INHERIT a flag and reports it present whenever the kernel sends
# it, and the kernel sends it always, as a u8 0/1: read its payload ourselves.
_IFLA_VXLAN_TTL_INHERIT = 28
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


# ---------------------------------------------------------------------------------------------
# Spec: the options, validated and normalised before anything touches the kernel


class Spec:
    """What the task asks for. `vxlan` and `link` hold only the options that were set."""

    def __init__(self, name, state="present", *, netns=None, create_netns=None, recreate="never", vxlan=None,
                 link=None):
        self.name = name
        self.state = state
        self.netns = netns
        self.create_netns = create_netns  # None: created in netns itself; "": the module's own namespace
        self.recreate = recreate
        self.vxlan = dict(vxlan or {})
        self.link = dict(link or {})

    @property
    def moves(self):
        return self.create_netns is not None

    def desired(self):
        return dict(self.vxlan, **self.link)

    def __repr__(self):
        return "Spec(%r)" % self.__dict__


def build_spec(params):
    """A Spec from module parameters; OverlayError naming the option on the first bad value."""
    params = dict(params)
    name = params.get("name")
    _check(validate_ifname(name, "name"))
    state = params.get("state") or "present"
    if state not in ("present", "absent"):
        raise OverlayError("state must be present or absent, not %r" % (state,))
    recreate = params.get("recreate") or "never"
    if recreate not in ("never", "always"):
        raise OverlayError("recreate must be never or always, not %r" % (recreate,))
    netns = params.get("netns")
    if netns is not None:
        _check(validate_netns_name(netns, "netns"))
    create_netns = params.get("create_netns")
    if create_netns is not None and create_netns != OWN_NETNS:
        _check(validate_netns_name(create_netns, "create_netns"))
    if create_netns is not None and create_netns == (netns or OWN_NETNS):
        create_netns = None  # created where it lives: nothing to move
    if state == "absent":
        return Spec(name, state, netns=netns, recreate=recreate)

    vxlan = {}
    vni = params.get("vni")
    if vni is not None:
        vxlan["vni"] = _int_in(vni, "vni", 0, VNI_MAX, "a 24-bit VXLAN network identifier")
    dstport = params.get("dstport")
    vxlan["dstport"] = _int_in(DEFAULT_DSTPORT if dstport is None else dstport, "dstport", 1, 65535,
                               "a UDP port")
    for key in BOOL_ATTRS:
        if params.get(key) is not None:
            vxlan[key] = _bool(params[key], key)
    if vxlan.get("external") and "vni" in vxlan:
        raise OverlayError("vni %d and external: true exclude each other: a collect-metadata (external) "
                           "link takes the VNI from each packet's metadata" % vxlan["vni"])
    if vxlan.get("external"):
        vxlan.setdefault("learning", False)  # as `ip link add ... external` does

    families = {}
    for key in ADDRESS_ATTRS:
        if params.get(key) is None:
            continue
        try:
            address = ipaddress.ip_address(str(params[key]).strip())
        except ValueError:
            raise OverlayError("%s %r is not an IPv4 or IPv6 address" % (key, params[key])) from None
        if address.is_unspecified:
            raise OverlayError("%s %s is the unspecified address; omit %s instead" % (key, address, key))
        vxlan[key] = str(address)
        families[key] = address.version
    if "group" in vxlan and "remote" in vxlan:
        raise OverlayError("group %s and remote %s exclude each other: a link sends unknown destinations "
                           "either to one multicast group or to one unicast remote"
                           % (vxlan["group"], vxlan["remote"]))
    if "group" in vxlan and not ipaddress.ip_address(vxlan["group"]).is_multicast:
        raise OverlayError("group %s is not a multicast address (use remote for a unicast peer)" % vxlan["group"])
    if "remote" in vxlan and ipaddress.ip_address(vxlan["remote"]).is_multicast:
        raise OverlayError("remote %s is a multicast address (use group for a multicast group)" % vxlan["remote"])
    if "local" in vxlan and ipaddress.ip_address(vxlan["local"]).is_multicast:
        raise OverlayError("local %s is a multicast address; local is this host's unicast VTEP address"
                           % vxlan["local"])
    if len(set(families.values())) > 1:
        raise OverlayError("local %s and %s %s are of different address families; a VXLAN link is either "
                           "IPv4 or IPv6" % (vxlan["local"], "group" if "group" in vxlan else "remote",
                                             vxlan.get("group") or vxlan.get("remote")))

    if params.get("dev") is not None:
        _check(validate_ifname(params["dev"], "dev"))
        vxlan["dev"] = params["dev"]
    if params.get("ttl") is not None:
        vxlan["ttl"] = _ttl(params["ttl"])
    if params.get("tos") is not None:
        vxlan["tos"] = _tos(params["tos"])
    if params.get("ageing") is not None:
        vxlan["ageing"] = _int_in(params["ageing"], "ageing", 0, 0xFFFFFFFF, "a number of seconds")
    low, high = params.get("srcport_min"), params.get("srcport_max")
    if (low is None) != (high is None):
        raise OverlayError("srcport_min and srcport_max go together (the kernel takes them as one range); "
                           "got only %s" % ("srcport_min" if high is None else "srcport_max"))
    if low is not None:
        vxlan["srcport_min"] = _int_in(low, "srcport_min", 0, 65535, "a UDP port")
        vxlan["srcport_max"] = _int_in(high, "srcport_max", 0, 65535, "a UDP port")
        if vxlan["srcport_min"] > vxlan["srcport_max"]:
            raise OverlayError("srcport_min %d is above srcport_max %d" % (low, high))

    link = {}
    if params.get("mtu") is not None:
        link["mtu"] = _int_in(params["mtu"], "mtu", 68, 65535, "an MTU")
    if params.get("mac") is not None:
        link["mac"] = _mac(params["mac"])
    if params.get("master") is not None:
        if params["master"] != "":
            _check(validate_ifname(params["master"], "master"))
            if params["master"] == name:
                raise OverlayError("master %r is the link itself" % name)
        link["master"] = params["master"]
    if params.get("up") is not None:
        link["up"] = _bool(params["up"], "up")
    return Spec(name, state, netns=netns, create_netns=create_netns, recreate=recreate, vxlan=vxlan, link=link)


def _check(problem):
    if problem:
        raise OverlayError(problem)


def _int_in(value, option, low, high, what):
    if isinstance(value, bool):
        raise OverlayError("%s must be %s (%d..%d), not %r" % (option, what, low, high, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise OverlayError("%s must be %s (%d..%d), not %r" % (option, what, low, high, value)) from None
    if not low <= number <= high:
        raise OverlayError("%s %d is out of range: %s is %d..%d" % (option, number, what, low, high))
    return number


def _bool(value, option):
    if isinstance(value, bool):
        return value
    raise OverlayError("%s must be true or false, not %r" % (option, value))


def _ttl(value):
    text = str(value).strip().lower()
    if text in ("auto", "inherit"):
        return text
    number = _int_in(text if text.isdigit() else value, "ttl", 0, 255, "auto, inherit or a hop limit")
    return number or "auto"  # `ip link ... ttl auto` sends 0: the route's default hop limit


def _tos(value):
    text = str(value).strip().lower()
    if text == "inherit":
        return text
    if text.startswith("0x") and all(c in "0123456789abcdef" for c in text[2:]) and len(text) > 2:
        text = str(int(text, 16))
    number = _int_in(text if text.isdigit() else value, "tos", 0, 255, "inherit or a TOS byte")
    return "inherit" if number == 1 else number  # the kernel's encoding of `tos inherit` is 1


def _mac(value):
    text = str(value).strip().lower().replace("-", ":")
    if not _MAC.match(text):
        raise OverlayError("mac %r is not a MAC address like 02:42:0a:00:00:02" % (value,))
    if int(text[:2], 16) & 1:
        raise OverlayError("mac %s is a multicast address; a link needs a unicast MAC" % text)
    if text == "00:00:00:00:00:00":
        raise OverlayError("mac 00:00:00:00:00:00 is not a usable link address")
    return text


# ---------------------------------------------------------------------------------------------
# Reading the kernel


class Current:
    """What the planner needs to know about the kernel: the link and its neighbours by name.

    `link` is read_link()'s dict or None; `links` maps name -> kind in `netns`; `origin_links` the same
    in the namespace the link is created in (`links` itself when that is `netns`).
    """

    def __init__(self, link=None, links=None, origin_links=None):
        self.link = link
        self.links = dict(links or {})
        self.origin_links = self.links if origin_links is None else dict(origin_links)


@contextmanager
def open_sessions(spec):
    """(session in netns, session in create_netns or None when the link is not moved)."""
    session = Session(spec.netns)
    origin = None
    try:
        if spec.moves and spec.state == "present":
            origin = Session(spec.create_netns or None)
        yield session, origin
    finally:
        if origin is not None:
            origin.close()
        session.close()


def read_current(session, spec, origin=None):
    """Current state for plan(): the link `spec.name` in `session`'s namespace and the links around it.

    `origin` is the session in `spec.create_netns` (None when the link is not moved).
    """
    raw = _dump(session)
    origin_raw = _dump(origin) if origin is not None else None
    link = _find(session, spec.name, raw, origin_raw, spec.create_netns)
    return Current(link, _kinds(raw), _kinds(origin_raw) if origin_raw is not None else None)


def read_link(session, name, origin=None, create_netns=None):
    """The link `name` in the session's namespace as a flat dict of option-named attributes, or None.

    `create_netns`/`origin` say where the caller expects the link to have been created: its `dev` is
    resolved to a name there, and its `create_netns` is reported as that name when the kernel's
    link-netnsid confirms it (None when it was created where it lives, "nsid N" when elsewhere).
    """
    return _find(session, name, _dump(session), _dump(origin) if origin is not None else None, create_netns)


def _dump(session):
    return list(session.call("the links%s" % _in_label(session.netns), "get_links"))


def _kinds(raw):
    return {msg.get_attr("IFLA_IFNAME"): _kind(msg) for msg in raw}


def _kind(msg):
    info = msg.get_attr("IFLA_LINKINFO")
    return info.get_attr("IFLA_INFO_KIND") if info is not None else None


def _find(session, name, raw, origin_raw, create_netns):
    msg = next((m for m in raw if m.get_attr("IFLA_IFNAME") == name), None)
    if msg is None:
        return None
    names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in raw}
    link = link_from_msg(msg, names)
    link["netns"] = session.netns
    if link["kind"] != "vxlan":
        return link
    nsid = link["link_netnsid"]
    if nsid is None:
        link["create_netns"] = None
        dev_names = names
    elif origin_raw is not None and nsid == _nsid(session, create_netns):
        link["create_netns"] = create_netns
        dev_names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in origin_raw}
    else:
        link["create_netns"] = "nsid %d" % nsid
        dev_names = {}
    index = link.pop("dev_ifindex")
    link["dev"] = (dev_names.get(index) or "if%d" % index) if index else None
    return link


def _nsid(session, create_netns):
    """The nsid the session's namespace uses for create_netns (None when it has none)."""
    return session.netns_id(None if create_netns in (None, OWN_NETNS) else create_netns)


def link_from_msg(msg, names=None):
    """One RTM_NEWLINK message as option-named attributes (dev as `dev_ifindex`, unresolved)."""
    names = names or {}
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    master = msg.get_attr("IFLA_MASTER")
    link = {
        "name": msg.get_attr("IFLA_IFNAME"),
        "kind": kind,
        "ifindex": msg["index"],
        "mac": msg.get_attr("IFLA_ADDRESS"),
        "mtu": msg.get_attr("IFLA_MTU"),
        "master": names.get(master, "if%d" % master) if master else None,
        "up": bool(msg["flags"] & IFF_UP),
        "operstate": msg.get_attr("IFLA_OPERSTATE"),
        "link_netnsid": msg.get_attr("IFLA_LINK_NETNSID"),
    }
    if kind != "vxlan":
        return link
    data = info.get_attr("IFLA_INFO_DATA")
    get = data.get_attr
    for key, (nla, _kw) in _NLA.items():
        value = get(nla)
        if value is not None:
            link[key] = bool(value) if key in BOOL_ATTRS else value
    link["gbp"] = bool(get("IFLA_VXLAN_GBP"))
    for key in BOOL_ATTRS:
        link.setdefault(key, False)
    family = 6 if (get("IFLA_VXLAN_LOCAL6") or get("IFLA_VXLAN_GROUP6")) else 4
    link["family"] = family
    remote = get("IFLA_VXLAN_GROUP6") or get("IFLA_VXLAN_GROUP")
    local = get("IFLA_VXLAN_LOCAL6") or get("IFLA_VXLAN_LOCAL")
    link["local"] = _address(local)
    remote = _address(remote)
    multicast = remote is not None and ipaddress.ip_address(remote).is_multicast
    link["group"] = remote if multicast else None
    link["remote"] = None if multicast else remote
    link["dev_ifindex"] = get("IFLA_VXLAN_LINK") or None
    ports = get("IFLA_VXLAN_PORT_RANGE")
    if ports is not None:
        link["srcport_min"], link["srcport_max"] = ports["low"], ports["high"]
    if _raw_u8(data, _IFLA_VXLAN_TTL_INHERIT):
        link["ttl"] = "inherit"
    else:
        link["ttl"] = get("IFLA_VXLAN_TTL") or "auto"
    tos = get("IFLA_VXLAN_TOS")
    link["tos"] = "inherit" if tos == 1 else (tos or 0)
    return link


def _address(value):
    if not value:
        return None
    address = ipaddress.ip_address(value)
    return None if address.is_unspecified else str(address)


def _raw_u8(nla, attr_type):
    """The u8 payload of attribute `attr_type` nested in `nla`, read from the message buffer."""
    buf = bytes(nla.data[nla.offset:nla.offset + nla.length])
    pos = 4
    while pos + 4 <= len(buf):
        length, kind = struct.unpack_from("=HH", buf, pos)
        if length < 4:
            break
        if kind & 0x3FFF == attr_type:
            return buf[pos + 4] if length > 4 else 1
        pos += (length + 3) & ~3
    return 0


# ---------------------------------------------------------------------------------------------
# The planner (pure)


class Op:
    """One step: `action` on link `name` in namespace role `where` ("netns" or "create_netns").

    actions: create (attrs: everything the new link gets), delete, move (into `to`), set_vxlan
    (attrs: the VXLAN attributes to change), set_link (attrs: one of mac/mtu/master/up).
    `old` holds the previous values for the description; `undo` the ops that reverse this one (None:
    it cannot be reversed).
    """

    def __init__(self, action, name, where="netns", *, attrs=None, old=None, to=None, label=None, undo=None):
        self.action = action
        self.name = name
        self.where = where
        self.attrs = dict(attrs or {})
        self.old = dict(old or {})
        self.to = to
        self.label = label or {}
        self.undo = undo

    def describe(self):
        here = self.label.get(self.where, "")
        if self.action == "create":
            return "create vxlan link %s%s: %s" % (self.name, here, ip_words(self.attrs))
        if self.action == "delete":
            return "delete vxlan link %s%s" % (self.name, here)
        if self.action == "move":
            return "move %s%s into %s" % (self.name, here, self.label.get("to", "netns %r" % self.to))
        text = "set %s%s %s" % (self.name, here, ip_words(self.attrs))
        old = {k: v for k, v in self.old.items() if k in self.attrs}
        return text + (" (was: %s)" % ip_words(old) if old else "")

    def __repr__(self):
        return "Op(%s)" % self.describe()

    def __eq__(self, other):
        return isinstance(other, Op) and (self.action, self.name, self.where, self.attrs, self.to) == (
            other.action, other.name, other.where, other.attrs, other.to)

    __hash__ = None


def ip_words(attrs):
    """Attributes in `ip link` words: {'vni': 42, 'learning': False} -> 'id 42 nolearning'."""
    words = []
    for key in (*VXLAN_ATTRS, *EXTRA_VXLAN_ATTRS, *LINK_ATTRS):
        if key not in attrs or key == "srcport_max":
            continue
        value = attrs[key]
        if key == "srcport_min":
            words.append("srcport %s %s" % (value, attrs.get("srcport_max")))
        elif key == "up":
            words.append("up" if value else "down")
        elif key == "master":
            words.append("master %s" % value if value else "nomaster")
        elif key in BOOL_ATTRS:
            words.append(key if value else "no" + key)
        elif value is None:
            words.append("no %s" % key)
        else:
            words.append("%s %s" % ({"vni": "id", "mac": "address"}.get(key, key), value))
    return " ".join(words)


def plan(spec, current):
    """The ordered ops that turn `current` into `spec`; raises OverlayError for what cannot be done."""
    link = current.link
    label = _labels(spec)
    what = "vxlan link %r%s" % (spec.name, label["netns"])
    if link is not None and link.get("kind") != "vxlan":
        raise OverlayError("%s: a link of that name exists with kind %s, not vxlan; it is left alone "
                           "(delete or rename it first)" % (what, link.get("kind") or "unknown"))
    if spec.state == "absent":
        return [Op("delete", spec.name, label=label, undo=_restore(spec, link, label))] if link else []

    dev = spec.vxlan.get("dev")
    if dev is not None and dev not in current.origin_links:
        raise OverlayError("dev %r (the underlay interface for %s) does not exist%s" % (
            dev, what, label["create_netns" if spec.moves else "netns"] or " here"))
    master = spec.link.get("master")
    if master and master not in current.links:
        raise OverlayError("master %r (for %s) does not exist%s" % (master, what, label["netns"] or " here"))

    if link is None:
        return _create(spec, current, label, what)

    fixed, changing = compare(spec, link)
    if fixed:
        if spec.recreate != "always":
            raise OverlayError(
                "%s differs in attributes the kernel cannot change on a live link: %s. Set recreate: always "
                "to delete and recreate it (its FDB entries, addresses and routes go with it)" % (
                    what, ", ".join("%s %s (wanted %s)" % (k, _show(link.get(k)), _show(v))
                                    for k, v in fixed.items())))
        delete = Op("delete", spec.name, label=label, undo=_restore(spec, link, label))
        return [delete, *_create(spec, current, label, what, replacing=True)]

    ops = []
    vxlan = {k: v for k, v in changing.items() if k in MUTABLE_VXLAN}
    if vxlan:
        old = {k: link.get(k) for k in vxlan}
        for key in ("group", "remote"):  # one kernel attribute: setting one replaces the other
            if key in vxlan and link.get("remote" if key == "group" else "group") is not None:
                other = "remote" if key == "group" else "group"
                old[other] = link[other]
        undo_attrs = {k: v for k, v in old.items() if v is not None}
        undo = [Op("set_vxlan", spec.name, attrs=undo_attrs, label=label)] if undo_attrs else []
        ops.append(Op("set_vxlan", spec.name, attrs=vxlan, old=old, label=label, undo=undo))
    for key in LINK_ATTRS:
        if key in changing:
            old = link.get(key)
            undo_value = "" if key == "master" and old is None else old
            ops.append(Op("set_link", spec.name, attrs={key: changing[key]}, old={key: old}, label=label,
                          undo=[Op("set_link", spec.name, attrs={key: undo_value}, label=label)]))
    return ops


def compare(spec, link):
    """({attr: wanted} the kernel cannot change in place, {attr: wanted} it can) for what differs."""
    fixed, changing = {}, {}
    wanted = dict(spec.desired(), create_netns=spec.create_netns)
    family = _family(spec.vxlan)
    for key, value in wanted.items():
        have = link.get(key)
        if key == "master" and (have or "") == (value or ""):
            continue
        if have == value:
            continue
        if key in LINK_ATTRS:
            changing[key] = value
        elif _fixed(key, have, value, family, link):
            fixed[key] = value
        else:
            changing[key] = value
    return fixed, changing


def _fixed(key, have, value, family, link):
    if key not in MUTABLE_VXLAN:
        return True
    if key == "ttl":
        return "inherit" in (have, value)  # TTL_INHERIT can be neither set nor cleared on a live link
    if key in ADDRESS_ATTRS:
        return family is not None and family != link.get("family", 4)
    return False


def _family(vxlan):
    for key in ADDRESS_ATTRS:
        if key in vxlan:
            return ipaddress.ip_address(vxlan[key]).version
    return None


def _create(spec, current, label, what, replacing=False):
    if "vni" not in spec.vxlan and not spec.vxlan.get("external"):
        raise OverlayError("%s does not exist%s and vni is not set: creating it needs vni (or external: true)"
                           % (what, " as wanted" if replacing else ""))
    where = "create_netns" if spec.moves else "netns"
    if spec.moves and spec.name in current.origin_links:
        raise OverlayError("%s is to be created%s and moved, but a link of that name (kind %s) is already there"
                           % (what, label["create_netns"] or " here", current.origin_links[spec.name]))
    attrs = dict(spec.vxlan)
    attrs.update({k: spec.link[k] for k in ("mac", "mtu") if k in spec.link})
    ops = [Op("create", spec.name, where, attrs=attrs, label=label, undo=[Op("delete", spec.name, where, label=label)])]
    if spec.moves:
        back = Op("move", spec.name, "netns", to=spec.create_netns, label=dict(label, to=_to_label(spec.create_netns)))
        ops.append(Op("move", spec.name, where, to=spec.netns, label=dict(label, to=_to_label(spec.netns)),
                      undo=[back]))
    if spec.link.get("master"):
        ops.append(Op("set_link", spec.name, attrs={"master": spec.link["master"]}, label=label))
    if spec.link.get("up"):
        ops.append(Op("set_link", spec.name, attrs={"up": True}, label=label))
    return ops


def _restore(spec, link, label):
    """The ops that bring back a deleted link as it was read, when its origin is known."""
    if link is None:
        return None
    origin = link.get("create_netns")
    if origin is not None and origin != spec.create_netns:
        return None  # created in a namespace we have no session for
    where = "create_netns" if origin is not None else "netns"
    attrs = {k: link[k] for k in (*VXLAN_ATTRS, *EXTRA_VXLAN_ATTRS, "mac", "mtu") if link.get(k) is not None}
    if attrs.get("external"):
        attrs.pop("vni", None)
    ops = [Op("create", spec.name, where, attrs=attrs, label=label)]
    if origin is not None:
        ops.append(Op("move", spec.name, where, to=spec.netns, label=dict(label, to=_to_label(spec.netns))))
    if link.get("master"):
        ops.append(Op("set_link", spec.name, attrs={"master": link["master"]}, label=label))
    if link.get("up"):
        ops.append(Op("set_link", spec.name, attrs={"up": True}, label=label))
    return ops


def diff(spec, current, ops):
    """(before, after) flat dicts of the link's attributes; after is what the ops will leave."""
    link = current.link
    before = _view(link) if link else {"name": spec.name, "state": "absent"}
    if spec.state == "absent":
        return before, {"name": spec.name, "state": "absent"}
    if not ops:
        return before, dict(before)
    if link is None or ops[0].action == "delete":
        after = {"name": spec.name, "state": "present", "create_netns": spec.create_netns}
        after.update(spec.desired())
        after = {k: after[k] for k in DIFF_KEYS if k in after}
        return before, after
    after = dict(before)
    for op in ops:
        after.update(op.attrs)
        if op.action == "set_vxlan":
            if "group" in op.attrs:
                after["remote"] = None
            if "remote" in op.attrs:
                after["group"] = None
    if after.get("master") == "":
        after["master"] = None
    return before, after


def _view(link):
    view = {k: link.get(k) for k in DIFF_KEYS if k in link}
    view["state"] = "present"
    return view


def _show(value):
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _labels(spec):
    label = {"netns": _in_label(spec.netns), "create_netns": _in_label(spec.create_netns or None)}
    if spec.create_netns == OWN_NETNS:
        label["create_netns"] = " in the module's own namespace"
    return label


def _in_label(netns):
    return " in netns %r" % netns if netns else ""


def _to_label(netns):
    return "netns %r" % netns if netns else "the module's own namespace"


# ---------------------------------------------------------------------------------------------
# Apply


def apply(session, ops, origin=None):
    """Run the ops; if one fails, undo the ones done (newest first) and raise OverlayError.

    `session` is in netns, `origin` in create_netns (None when the link is not moved).
    Returns the descriptions of the ops done.
    """
    sessions = {"netns": session, "create_netns": origin or session}
    done = []
    for op in ops:
        try:
            _run(op, sessions)
        except OverlayError as exc:
            raise OverlayError("%s%s" % (exc, _rollback(done, sessions))) from exc
        done.append(op)
    return [op.describe() for op in done]


def _rollback(done, sessions):
    if not done:
        return ""
    undone, failed = [], []
    for op in reversed(done):
        if op.undo is None:
            failed.append("%s (cannot be undone)" % op.describe())
            continue
        for step in op.undo:
            try:
                _run(step, sessions)
                undone.append(step.describe())
            except OverlayError as exc:
                failed.append("%s: %s" % (step.describe(), exc))
    text = "; rolled back: %s" % ("; ".join(undone) or "nothing")
    if failed:
        text += "; NOT rolled back: %s" % "; ".join(failed)
    return text


def _run(op, sessions):
    session = sessions[op.where]
    what = "vxlan link %r%s" % (op.name, op.label.get(op.where, ""))
    if op.action == "create":
        kwargs = vxlan_kwargs(op.attrs, lambda dev: _ifindex(session, dev, what))
        if op.attrs.get("mac"):
            kwargs["address"] = op.attrs["mac"]
        if op.attrs.get("mtu"):
            kwargs["mtu"] = op.attrs["mtu"]
        session.call(what, "link", "add", ifname=op.name, kind="vxlan", **kwargs)
        return
    index = _ifindex(session, op.name, what)
    if op.action == "delete":
        session.call(what, "link", "del", index=index)
    elif op.action == "move":
        fd = os.open("/proc/self/ns/net" if not op.to else netns_path(op.to), os.O_RDONLY)
        try:
            session.call(what, "link", "set", index=index, net_ns_fd=fd)
        finally:
            os.close(fd)
    elif op.action == "set_vxlan":
        origin = sessions["create_netns"]
        kwargs = vxlan_kwargs(op.attrs, lambda dev: _ifindex(origin, dev, what))
        session.call(what, "link", "set", index=index, kind="vxlan", **kwargs)
    elif op.action == "set_link":
        ((key, value),) = op.attrs.items()
        if key == "mac":
            session.call(what, "link", "set", index=index, address=value)
        elif key == "mtu":
            session.call(what, "link", "set", index=index, mtu=value)
        elif key == "master":
            session.call(what, "link", "set", index=index, master=_ifindex(session, value, what) if value else 0)
        elif key == "up":
            session.call(what, "link", "set", index=index, state="up" if value else "down")


def _ifindex(session, name, what):
    found = session.call(what, "link_lookup", ifname=name)
    if not found:
        raise OverlayError("no link named %r%s (needed for %s)" % (name, _in_label(session.netns), what))
    return found[0]


def vxlan_kwargs(attrs, resolve_dev):
    """pyroute2 link() keywords for option-named VXLAN attributes; `resolve_dev(name)` gives an ifindex."""
    kwargs = {}
    for key, value in attrs.items():
        if key in _NLA:
            kwargs[_NLA[key][1]] = int(value)
        elif key == "gbp":
            if value:  # a flag: present means on (and the kernel never clears it)
                kwargs["vxlan_gbp"] = True
        elif key in ADDRESS_ATTRS:
            six = ipaddress.ip_address(value).version == 6
            base = "vxlan_local" if key == "local" else "vxlan_group"
            kwargs[base + ("6" if six else "")] = value
        elif key == "dev":
            kwargs["vxlan_link"] = resolve_dev(value)
        elif key == "ttl":
            if value == "inherit":
                kwargs["vxlan_ttl_inherit"] = True
            else:
                kwargs["vxlan_ttl"] = 0 if value == "auto" else value
        elif key == "tos":
            kwargs["vxlan_tos"] = 1 if value == "inherit" else value
        elif key == "srcport_min":
            kwargs["vxlan_port_range"] = {"low": value, "high": attrs["srcport_max"]}
    return kwargs


# ---------------------------------------------------------------------------------------------
# The whole task, for the module's main()


def run(params, check_mode=False):
    """Validate, read, plan, apply (unless check mode), read back; the module's result dict."""
    spec = build_spec(params)
    with open_sessions(spec) as (session, origin):
        current = read_current(session, spec, origin)
        ops = plan(spec, current)
        before, after = diff(spec, current, ops)
        if ops and not check_mode:
            apply(session, ops, origin)
            link = read_link(session, spec.name, origin, spec.create_netns)
        else:
            link = current.link
    return {
        "changed": bool(ops),
        "actions": [op.describe() for op in ops],
        "diff": {"before": before, "after": after},
        "link": public(link),
    }


def public(link):
    """The read-back dict as the module returns it (internal keys dropped)."""
    if not link:
        return {}
    order = ("name", "kind", "ifindex", "netns", "create_netns", "link_netnsid", "mac", "mtu", "up", "operstate",
             "master", *VXLAN_ATTRS, *EXTRA_VXLAN_ATTRS)
    result = {k: link[k] for k in order if k in link}
    result.update((k, v) for k, v in link.items() if k not in result and k != "family")
    return result
