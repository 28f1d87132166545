# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP addresses on one device: spec, read, plan, apply.

- ``AddressSpec.from_params(params)`` validates (raises OverlayError naming option and value);
- ``read(session, dev)`` returns the device's addresses as normalised dicts, and
  ``promotes_secondaries(session, dev)`` the sysctl the planner needs to know;
- ``plan(spec, current, promote=False)`` is pure and returns ``AddressOp``s (deletes first,
  then adds);
- ``apply(session, ops)`` performs them; ``run(session, spec, check_mode)`` does the cycle.

An address is identified by its IP on the device. When the prefix length, broadcast or scope
asked for differ from the device's, the address is deleted and added again: the kernel keeps
those fixed once an address exists (NLM_F_REPLACE does not change them).

Deleting a primary IPv4 address makes the kernel delete the secondary addresses of its subnet
too, unless net.ipv4.conf.{all,<dev>}.promote_secondaries is set; the plan adds those that are
to stay back right after, so only what the spec removes goes.
"""

from __future__ import annotations

import ipaddress
import os
import socket

from ansible_collections.overlaynet.vxlan.plugins.module_utils.links import (
    NLM_F_CREATE,
    NLM_F_EXCL,
    ifindex,
    netns_label,
    send,
)
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    OverlayError,
    entered_netns,
    validate_ifname,
    validate_netns_name,
)

# The module's options (the overlay module takes the same ones per part).
ARGUMENT_SPEC = {
    "dev": {"type": "str", "required": True},
    "addresses": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "address": {"type": "str", "required": True},
            "broadcast": {"type": "str"},
            "scope": {"type": "str"},
        },
    },
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "purge": {"type": "bool", "default": False},
    "netns": {"type": "str"},
}

try:
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
except ImportError:  # reported by netlink.require_pyroute2()
    ifaddrmsg = None

RTM_NEWADDR = 20
RTM_DELADDR = 21
IFA_F_SECONDARY = 0x01

SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
FAMILIES = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
NO_BROADCAST = ""


def parse_scope(value, option):
    """Scope name or number -> number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise OverlayError("%s %r is not a scope" % (option, value))
    text = str(value).strip().lower()
    if text in SCOPES:
        return SCOPES[text]
    if text.isdigit() and int(text) <= 255:
        return int(text)
    raise OverlayError("%s %r is not a scope (%s, or 0-255)" % (option, value, ", ".join(sorted(SCOPES))))


def scope_name(number):
    return SCOPE_NAMES.get(number, str(number))


class AddressEntry:
    """One address asked for. `broadcast`: None = don't care, "" = none, else an IPv4 address."""

    def __init__(self, ip, prefixlen, *, broadcast=None, scope=None):
        self.ip = ip  # ipaddress.IPv4Address / IPv6Address
        self.prefixlen = prefixlen
        self.broadcast = broadcast
        self.scope = scope

    @property
    def family(self):
        return socket.AF_INET if self.ip.version == 4 else socket.AF_INET6

    @property
    def address(self):
        return "%s/%d" % (self.ip, self.prefixlen)

    @classmethod
    def from_params(cls, item, option):
        if not isinstance(item, dict):
            raise OverlayError("%s must be a dict with at least 'address', got %r" % (option, item))
        raw = item.get("address")
        if not raw:
            raise OverlayError("%s.address is required" % option)
        try:
            iface = ipaddress.ip_interface(str(raw).strip())
        except ValueError:
            raise OverlayError("%s.address %r is not an IP address with an optional /prefix" % (option, raw)) from None
        ip = iface.ip
        if ip.is_multicast or ip.is_unspecified:
            raise OverlayError("%s.address %r cannot be assigned to a device" % (option, raw))
        prefixlen = iface.network.prefixlen
        broadcast = item.get("broadcast")
        if broadcast is not None:
            text = str(broadcast).strip()
            if ip.version == 6:
                raise OverlayError("%s.broadcast is for IPv4 addresses; %s is IPv6" % (option, ip))
            if text.lower() in ("", "none"):
                broadcast = NO_BROADCAST
            elif text == "+":
                broadcast = str(iface.network.broadcast_address)
            elif text == "-":
                broadcast = str(iface.network.network_address)
            else:
                try:
                    broadcast = str(ipaddress.IPv4Address(text))
                except ValueError:
                    raise OverlayError("%s.broadcast %r is not an IPv4 address, '+', '-' or ''"
                                       % (option, broadcast)) from None
        scope = parse_scope(item.get("scope"), option + ".scope")
        if scope is not None and ip.version == 6:
            raise OverlayError("%s.scope: the kernel derives the scope of IPv6 address %s itself" % (option, ip))
        return cls(ip, prefixlen, broadcast=broadcast, scope=scope)

    def as_dict(self):
        return {"address": self.address, "broadcast": self.broadcast, "scope": self.scope}


class AddressSpec:
    def __init__(self, dev, entries, *, state="present", purge=False, netns=None):
        self.dev = dev
        self.entries = entries
        self.state = state
        self.purge = purge
        self.netns = netns

    @classmethod
    def from_params(cls, params):
        errors = []
        dev = params.get("dev")
        problem = validate_ifname(dev, "dev")
        if problem:
            errors.append(problem)
        netns = params.get("netns")
        if netns is not None:
            problem = validate_netns_name(netns)
            if problem:
                errors.append(problem)
        state = params.get("state") or "present"
        purge = bool(params.get("purge"))
        if purge and state == "absent":
            errors.append("purge is for state present (with state absent only the listed addresses go)")
        entries, seen = [], {}
        for number, item in enumerate(params.get("addresses") or []):
            option = "addresses[%d]" % number
            try:
                entry = AddressEntry.from_params(item, option)
            except OverlayError as exc:
                errors.append(str(exc))
                continue
            if entry.ip in seen:
                errors.append("%s: %s is listed twice (also as addresses[%d])" % (option, entry.ip, seen[entry.ip]))
                continue
            seen[entry.ip] = number
            entries.append(entry)
        if errors:
            raise OverlayError("; ".join(errors))
        return cls(dev, entries, state=state, purge=purge, netns=netns)


# ---------------------------------------------------------------------------------------
# Read

def address_from_msg(msg):
    family = msg["family"]
    local = msg.get_attr("IFA_LOCAL")
    other = msg.get_attr("IFA_ADDRESS")
    ip = (local if family == socket.AF_INET else None) or other
    result = {
        "address": "%s/%d" % (ipaddress.ip_address(ip), msg["prefixlen"]),
        "family": FAMILIES.get(family, family),
        "broadcast": (msg.get_attr("IFA_BROADCAST") or NO_BROADCAST) if family == socket.AF_INET else None,
        "scope": scope_name(msg["scope"]),
        "secondary": bool(msg["flags"] & IFA_F_SECONDARY),
    }
    if local and other and local != other:  # point-to-point: IFA_ADDRESS is the peer
        result["peer"] = other
    return result


def promotes_secondaries(session, dev):
    """Whether deleting a primary IPv4 address on `dev` promotes a secondary (else deletes them)."""
    with entered_netns(session.netns):  # /proc/sys/net shows the namespace of the reading thread
        for name in ("all", dev):
            try:
                with open(os.path.join("/proc/sys/net/ipv4/conf", name, "promote_secondaries")) as handle:
                    if handle.read().strip() not in ("", "0"):
                        return True
            except OSError:
                continue
    return False


def read(session, dev):
    """The addresses on `dev` (IPv4 then IPv6, kernel order); OverlayError if dev is missing."""
    index = ifindex(session, dev, "reading addresses")
    result = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in session.call("addresses of %r" % dev, "get_addr", family=family):
            if msg["index"] == index:
                result.append(address_from_msg(msg))
    return result


# ---------------------------------------------------------------------------------------
# Plan

class AddressOp:
    def __init__(self, action, dev, address, *, broadcast=None, scope=None, note=None, peer=None):
        self.action = action  # add|delete
        self.dev = dev
        self.address = address  # "ip/prefixlen"
        self.broadcast = broadcast  # None/"" = none
        self.scope = scope  # number or None
        self.note = note
        self.peer = peer  # the peer of a point-to-point address being deleted

    def __repr__(self):
        return "AddressOp(%r, %r, %r, %r, %r)" % (self.action, self.dev, self.address, self.broadcast, self.scope)

    def describe(self):
        text = "%s %s dev %s" % ("add" if self.action == "add" else "delete", _render(
            self.address, self.broadcast, scope_name(self.scope) if self.scope is not None else None), self.dev)
        return text + (" (%s)" % self.note if self.note else "")


def _render(address, broadcast, scope):
    text = address
    if broadcast:
        text += " brd %s" % broadcast
    if scope and scope != "global":
        text += " scope %s" % scope
    return text


def _ip(address):
    return ipaddress.ip_interface(address).ip


def _differs(entry, current):
    if "%s/%d" % (entry.ip, entry.prefixlen) != current["address"]:
        return "prefix"
    if entry.broadcast is not None and entry.broadcast != (current["broadcast"] or NO_BROADCAST):
        return "broadcast"
    if entry.scope is not None and scope_name(entry.scope) != current["scope"]:
        return "scope"
    return None


def is_kernel_link_local(current):
    """IPv6 link-local addresses the kernel adds by itself; purge leaves them alone."""
    ip = _ip(current["address"])
    return ip.version == 6 and ip.is_link_local


def plan(spec, current, promote=False):
    """Pure: ops that take the device's `current` addresses to `spec`. Deletes come first.

    `promote` is promotes_secondaries(): when it is false, the secondaries of a deleted primary
    IPv4 address that are to stay are added back after the deletes.
    """
    by_ip = {_ip(c["address"]): c for c in current}
    deletes, adds = [], []
    if spec.state == "absent":
        for entry in spec.entries:
            found = by_ip.get(entry.ip)
            if found is not None:
                deletes.append(_delete(spec.dev, found))
    else:
        wanted = {entry.ip for entry in spec.entries}
        for entry in spec.entries:
            found = by_ip.get(entry.ip)
            if found is not None:
                if _differs(entry, found) is None:
                    continue
                deletes.append(_delete(spec.dev, found))
            adds.append(AddressOp("add", spec.dev, entry.address, broadcast=entry.broadcast, scope=entry.scope))
        if spec.purge:
            for item in current:
                if _ip(item["address"]) not in wanted and not is_kernel_link_local(item):
                    deletes.append(_delete(spec.dev, item))
    if not promote:
        adds.extend(_secondaries_to_restore(spec.dev, current, deletes, adds))
    return deletes + adds


def _delete(dev, current):
    return AddressOp("delete", dev, current["address"], broadcast=current["broadcast"], peer=current.get("peer"))


def _secondaries_to_restore(dev, current, deletes, adds):
    gone = {op.address for op in deletes}
    added = {_ip(op.address) for op in adds}
    restore = []
    for op in deletes:
        primary = next((c for c in current if c["address"] == op.address), None)
        if primary is None or primary["family"] != "ipv4" or primary.get("secondary"):
            continue
        network = ipaddress.ip_interface(primary["address"]).network
        for item in current:
            if (item.get("secondary") and item["family"] == "ipv4" and item["address"] not in gone
                    and _ip(item["address"]) not in added
                    and ipaddress.ip_interface(item["address"]).network == network):
                restore.append(AddressOp("add", dev, item["address"], broadcast=item["broadcast"],
                                         scope=SCOPES.get(item["scope"]),
                                         note="again: the kernel deletes it with its primary %s" % primary["address"]))
                added.add(_ip(item["address"]))
    return restore


def render(current):
    """Addresses as `ip addr`-like strings, for diffs."""
    return [_render(c["address"], c["broadcast"], c["scope"]) for c in current]


def expected(spec, current, promote=False):
    """Pure: `current` after plan(spec, current, promote) has been applied (diff 'after')."""
    ops = plan(spec, current, promote)
    gone = {op.address for op in ops if op.action == "delete"}
    result = [dict(c) for c in current if c["address"] not in gone]
    present = {c["address"] for c in result}
    for op in ops:
        if op.action == "add" and op.address not in present:
            ip = _ip(op.address)
            present.add(op.address)
            result.append({
                "address": op.address,
                "family": "ipv4" if ip.version == 4 else "ipv6",
                "broadcast": (op.broadcast or NO_BROADCAST) if ip.version == 4 else None,
                "scope": scope_name(op.scope if op.scope is not None else 0),
                "secondary": False,
            })
    return result


# ---------------------------------------------------------------------------------------
# Apply

def _addrmsg(op, index):
    iface = ipaddress.ip_interface(op.address)
    msg = ifaddrmsg()
    msg["family"] = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    msg["prefixlen"] = iface.network.prefixlen
    msg["index"] = index
    msg["scope"] = op.scope or 0
    attrs = [("IFA_ADDRESS", op.peer or str(iface.ip))]
    if iface.version == 4:
        attrs.append(("IFA_LOCAL", str(iface.ip)))
        if op.action == "add" and op.broadcast:
            attrs.append(("IFA_BROADCAST", op.broadcast))
    msg["attrs"] = attrs
    return msg


def apply(session, ops):
    indexes = {}
    for op in ops:
        if op.dev not in indexes:
            indexes[op.dev] = ifindex(session, op.dev, op.describe())
        what = "address %s on %r in %s" % (op.address, op.dev, netns_label(session.netns))
        if op.action == "add":
            send(session, what, "add", _addrmsg(op, indexes[op.dev]), RTM_NEWADDR, flags=NLM_F_CREATE | NLM_F_EXCL)
        else:
            send(session, what, "delete", _addrmsg(op, indexes[op.dev]), RTM_DELADDR)


def run(session, spec, check_mode=False):
    """Read, plan, apply (unless check mode), read back. Returns the module result dict.

    After applying, any address the plan meant to keep or add that the kernel no longer has
    (a secondary dropped in a way the plan did not foresee) is added back.
    """
    current = read(session, spec.dev)
    promote = promotes_secondaries(session, spec.dev)
    ops = plan(spec, current, promote)
    wanted = expected(spec, current, promote)
    before, after = render(current), render(wanted)
    actions = [op.describe() for op in ops]
    if ops and not check_mode:
        apply(session, ops)
        current = read(session, spec.dev)
        have = {c["address"] for c in current}
        repair = [AddressOp("add", spec.dev, w["address"], broadcast=w["broadcast"], scope=SCOPES.get(w["scope"]),
                            note="again: the kernel had dropped it") for w in wanted if w["address"] not in have]
        if repair:
            apply(session, repair)
            actions.extend(op.describe() for op in repair)
            current = read(session, spec.dev)
    return {
        "changed": bool(ops),
        "actions": actions,
        "diff": {"before": {"dev": spec.dev, "addresses": before}, "after": {"dev": spec.dev, "addresses": after}},
        "addresses": current,
    }
