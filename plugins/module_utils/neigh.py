# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Neighbour (ARP/NDP) entries of one device: validate and normalise, read, plan, apply.

The same pieces as fdb.py, for the ip_neigh module and for anything applying a host's overlay:

    nl = bulk.Netlink(netns)
    device = neigh.device(nl, "vxlan1")
    desired = neigh.build_entries(entries, device)
    current = neigh.read(nl, device)
    ops = neigh.plan(desired, current, purge=True)
    failures = neigh.apply(nl, device, ops)

An entry is a dict: address, family, lladdr, state, proxy, router, and on entries read from the
kernel: flags and kernel (made by the kernel itself, never purged). An entry is keyed by
(proxy, address); a new lladdr, state or router flag for it is one NLM_F_REPLACE, so a peer whose
MAC changed never goes without an entry.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.overlaynet.vxlan.plugins.module_utils import bulk
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError, validate_ifname

STATES = ("permanent", "noarp", "reachable", "stale")
STATE_BITS = {"permanent": bulk.NUD_PERMANENT, "noarp": bulk.NUD_NOARP, "reachable": bulk.NUD_REACHABLE,
              "stale": bulk.NUD_STALE}
# States the kernel moves through by itself once an entry was confirmed: asking for `reachable` or
# `stale` is satisfied by any of them (otherwise every run would report a change).
VALID_DYNAMIC = ("reachable", "stale", "delay", "probe")
STATIC = ("permanent", "noarp")
RTN_BROADCAST = 3
RTN_MULTICAST = 5
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
FLAG_NAMES = ((bulk.NTF_EXT_LEARNED, "extern_learn"), (bulk.NTF_OFFLOADED, "offload"), (bulk.NTF_USE, "use"))

ENTRY_SPEC = {
    "address": {"type": "str", "required": True},
    "lladdr": {"type": "str"},
    "state": {"type": "str", "choices": list(STATES)},
    "proxy": {"type": "bool", "default": False},
    "router": {"type": "bool"},
}


RESULT_KEY = "neigh"


def desired(_nl, dev, entries, state):
    return build_entries(entries, dev, state)


def target(nl, name):
    return device(nl, name)


def device(nl, name):
    """bulk.DeviceInfo of `name`, or an OverlayError when there is no such device."""
    problem = validate_ifname(name, "device")
    if problem:
        raise OverlayError(problem)
    found = nl.device(name)
    if found is None:
        raise OverlayError("device %r does not exist%s" % (
            name, " in network namespace %r" % nl.netns if nl.netns else ""))
    return found


def key(entry):
    return (entry["proxy"], entry["address"])


def _entry(address, family, lladdr=None, *, state="permanent", proxy=False, router=False):
    return {"address": address, "family": family, "lladdr": lladdr, "state": state, "proxy": proxy,
            "router": router}


# What an entry with an lladdr gave, by (state given, router given).
_GIVEN = {(False, False): ("lladdr",), (True, False): ("lladdr", "state"), (False, True): ("lladdr", "router"),
          (True, True): ("lladdr", "state", "router")}


def build_entries(entries, dev, state="present"):
    """Validate and normalise the user's entries; OverlayError lists every problem with entries[i].

    Each entry gets "index" (its position in the input) and "given" (what the user set, which is
    what an `absent` entry must match).
    """
    problems = []
    desired = []
    ethernet = bool(dev.mac) and len(dev.mac) == 17
    ips = {}
    normalise_mac = bulk.normalise_mac
    for index, raw in enumerate(bulk.check_entries(entries, ENTRY_SPEC, problems)):
        if raw is None:
            continue
        parsed = ips.get(raw["address"])
        if parsed is None:
            parsed = ips[raw["address"]] = bulk.normalise_ip(raw["address"])
        if parsed is None:
            problems.append("entries[%d]: address %r is not an IPv4 or IPv6 address" % (index, raw["address"]))
            continue
        address, family = parsed
        proxy = bool(raw["proxy"])
        entry_state = raw["state"]
        lladdr = raw["lladdr"]
        router = raw["router"]
        if not proxy and lladdr is not None and ethernet:
            mac = normalise_mac(lladdr)
            if mac is not None:
                # The common case, an address and its MAC, without the checks that cannot fail here.
                desired.append({"address": address, "family": family, "lladdr": mac,
                                "state": entry_state or "permanent", "proxy": False, "router": bool(router),
                                "index": index, "given": _GIVEN[entry_state is not None, router is not None]})
                continue
        here = "entries[%d]" % index
        count = len(problems)
        if proxy:
            if lladdr is not None:
                problems.append("%s: a proxy entry has no lladdr (got %r)" % (here, lladdr))
            if entry_state is not None:
                problems.append("%s: a proxy entry has no state (got %r)" % (here, entry_state))
        elif lladdr is not None:
            mac = bulk.normalise_mac(lladdr)
            if mac is None:
                problems.append("%s: lladdr %r is not a MAC address like 02:42:0a:00:00:03" % (here, lladdr))
            elif not ethernet:
                problems.append("%s: lladdr %s needs an Ethernet-like device; %r has no MAC address"
                                % (here, mac, dev.name))
            lladdr = mac
        elif state == "present":
            problems.append("%s: lladdr is required for %s (only proxy entries go without one)" % (here, address))
        if len(problems) != count:
            continue
        entry = _entry(address, family, lladdr, state=None if proxy else entry_state or "permanent", proxy=proxy,
                       router=bool(raw["router"]))
        entry["index"] = index
        entry["given"] = tuple(name for name in ("lladdr", "state", "router") if raw[name] is not None)
        desired.append(entry)
    first = {}
    for entry in desired:
        k = key(entry)
        if k in first:
            problems.append("entries[%d] duplicates entries[%d] (%s%s)" % (
                entry["index"], first[k]["index"], "proxy " if entry["proxy"] else "", entry["address"]))
        else:
            first[k] = entry
    if problems:
        raise OverlayError("invalid neighbour entries for device %r: %s" % (dev.name, bulk.join_problems(problems)))
    return desired


# Current state

def read(nl, dev):
    """All neighbour entries of the device (IPv4 and IPv6, proxies included), normalised."""
    entries = []
    noarp_device = bool(dev.flags & (bulk.IFF_NOARP | bulk.IFF_LOOPBACK))
    ifindex = dev.ifindex
    unpack_nd = bulk.NDMSG.unpack_from
    unpack_nla = bulk.NLA.unpack_from
    ip_text = bulk.ip_text
    for dump_flags in (0, bulk.NTF_PROXY):
        payload = bulk.NDMSG.pack(bulk.AF_UNSPEC, 0, 0, dump_flags, 0) + bulk.nla_u32(bulk.NDA_IFINDEX, ifindex)
        for _mtype, data, start, end in nl.dump(bulk.RTM_GETNEIGH, payload):
            family, index, nud, ntf, ntype = unpack_nd(data, start)
            if index != ifindex or family not in (bulk.AF_INET, bulk.AF_INET6):
                continue
            address = lladdr = None
            managed_flag = False
            pos = start + 12
            while pos + 4 <= end:
                alen, atype = unpack_nla(data, pos)
                if alen < 4:
                    break
                atype &= 0x3FFF
                if atype == bulk.NDA_DST:
                    address = ip_text(data[pos + 4:pos + alen])
                elif atype == bulk.NDA_LLADDR:
                    lladdr = data[pos + 4:pos + alen].hex(":") or None
                elif atype == bulk.NDA_FLAGS_EXT:
                    managed_flag = bool(bulk.U32.unpack_from(data, pos + 4)[0] & bulk.NTF_EXT_MANAGED)
                pos += (alen + 3) & ~3
            if address is None:
                continue
            proxy = bool(ntf & bulk.NTF_PROXY)
            state = None if proxy else STATE_NAMES[nud & 0xFF]
            flags = FLAG_LISTS[ntf]
            if managed_flag:
                flags = (*flags, "managed")
            entries.append({
                "address": address, "family": family, "lladdr": lladdr, "state": state, "proxy": proxy,
                "router": bool(ntf & bulk.NTF_ROUTER), "flags": flags,
                # Multicast and broadcast entries (and every entry of a NOARP device) the kernel makes itself.
                "kernel": state == "noarp" and (
                    ntype in (RTN_BROADCAST, RTN_MULTICAST) or lladdr == BROADCAST_MAC or noarp_device
                    or ipaddress.ip_address(address).is_multicast),
            })
    return entries


def _state(nud):
    if nud & bulk.NUD_PERMANENT:
        return "permanent"
    if nud & bulk.NUD_NOARP:
        return "noarp"
    for bit, name in ((bulk.NUD_REACHABLE, "reachable"), (bulk.NUD_STALE, "stale"), (bulk.NUD_DELAY, "delay"),
                      (bulk.NUD_PROBE, "probe"), (bulk.NUD_FAILED, "failed"), (bulk.NUD_INCOMPLETE, "incomplete")):
        if nud & bit:
            return name
    return "none"


STATE_NAMES = tuple(_state(nud) for nud in range(256))
FLAG_LISTS = tuple(tuple(name for bit, name in FLAG_NAMES if flags & bit) for flags in range(256))


# Plan

class Op(bulk.EntryOp):
    """One neighbour change: "add", "change" (same address, other lladdr/state/router) or "delete"."""

    __slots__ = ()

    def render(self, entry):
        return text(entry)


def _satisfied(want, have):
    if want["router"] != have["router"]:
        return False
    if want["proxy"]:
        return True
    if want["lladdr"] != have["lladdr"]:
        return False
    if want["state"] in STATIC:
        return want["state"] == have["state"]
    return have["state"] in VALID_DYNAMIC


def plan(desired, current, state="present", purge=False, purge_dynamic=False):
    """Operations turning `current` into `desired`: adds and replacements first, then deletions.

    With `purge`, entries not listed are deleted, except those the kernel made (multicast and
    broadcast NOARP entries), extern_learn and managed ones, and — unless `purge_dynamic` — the
    ones ARP/NDP learned (any state but permanent and noarp).
    """
    by_key = {key(e): e for e in current}
    ops = []
    if state == "absent":
        for want in desired:
            have = by_key.get(key(want))
            if have is not None and all(have[name] == want[name] for name in want.get("given", ())):
                ops.append(Op("delete", have, have, want["index"]))
        return ops
    wanted = set()
    for want in desired:
        k = key(want)
        wanted.add(k)
        have = by_key.get(k)
        if have is None:
            ops.append(Op("add", want, None, want["index"]))
        elif not _satisfied(want, have):
            ops.append(Op("change", want, have, want["index"]))
    if purge:
        for have in current:
            if key(have) in wanted or have.get("kernel") or set(have.get("flags", ())) & {"extern_learn", "managed"}:
                continue
            if not have["proxy"] and have["state"] not in STATIC and not purge_dynamic:
                continue
            ops.append(Op("delete", have, have))
    return ops


def invert(ops):
    """Operations that undo `ops` (already applied), in reverse order."""
    undo = []
    for op in reversed(ops):
        if op.action == "add":
            undo.append(Op("delete", op.entry, op.entry, op.index))
        elif op.action == "change":
            undo.append(Op("change", _restorable(op.old), op.entry, op.index))
        else:
            undo.append(Op("add", _restorable(op.old), None, op.index))
    return undo


def _restorable(entry):
    """A read entry as something that can be added again (learned states come back as stale)."""
    if entry["proxy"] or entry["state"] in STATES:
        return entry
    return dict(entry, state="stale")


# Apply

def request(op, ifindex):
    entry = op.entry
    flags = (bulk.NTF_PROXY if entry["proxy"] else 0) | (bulk.NTF_ROUTER if entry["router"] else 0)
    deleting = op.action == "delete"
    nud = 0 if deleting or entry["proxy"] else STATE_BITS.get(entry["state"], bulk.NUD_PERMANENT)
    parts = [bulk.NDMSG.pack(entry["family"], ifindex, nud, flags, 0),
             bulk.nla(bulk.NDA_DST, bulk.ip_bytes(entry["address"]))]
    if entry["lladdr"] and not deleting and not entry["proxy"]:
        parts.append(bulk.NLA.pack(10, bulk.NDA_LLADDR) + bulk.mac_bytes(entry["lladdr"]) + b"\0\0")
    payload = b"".join(parts)
    if deleting:
        return bulk.RTM_DELNEIGH, 0, payload
    return bulk.RTM_NEWNEIGH, bulk.NLM_F_CREATE | bulk.NLM_F_REPLACE, payload


def apply(nl, dev, ops):
    """Send the operations pipelined; [(op, errno, kernel message)] for those that failed."""
    return bulk.send_ops(nl, dev.ifindex, ops, request)


def failure_messages(failures, dev, limit=10):
    return bulk.op_failure_messages(failures, dev.name, "neighbour", text, limit)


# Presentation

def text(entry):
    """One entry in `ip neigh` words: 10.1.0.5 lladdr 02:00:00:00:01:05 router permanent."""
    words = [entry["address"]]
    if entry["lladdr"]:
        words += ["lladdr", entry["lladdr"]]
    if entry["router"]:
        words.append("router")
    words.append("proxy" if entry["proxy"] else entry["state"])
    return " ".join(words)


def managed(entries):
    """Entries a user could have added: what diffs show (learned and kernel ones stay out)."""
    return [e for e in entries if not e.get("kernel") and (e["proxy"] or e["state"] in STATIC)]


def diff(device_name, current, ops):
    """before/after for diff mode: one line per permanent/noarp/proxy entry, in `ip neigh` words."""
    return bulk.entries_diff(device_name, managed(current), ops, key, text)


def to_result(entry):
    """An entry as the module returns it."""
    result = {
        "address": entry["address"],
        "family": "ipv6" if entry["family"] == bulk.AF_INET6 else "ipv4",
        "lladdr": entry["lladdr"],
        "state": entry["state"],
        "proxy": entry["proxy"],
        "router": entry["router"],
    }
    if entry.get("flags"):
        result["flags"] = list(entry["flags"])
    if entry.get("kernel"):
        result["kernel"] = True
    return result
