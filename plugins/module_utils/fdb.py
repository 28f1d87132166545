# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge FDB entries of one device: validate and normalise, read, plan, apply.

The pieces, for the bridge_fdb module and for anything that applies a host's whole overlay in one
session:

    nl = bulk.Netlink(netns)                                 # one socket in the namespace
    target = fdb.target(nl, "vxlan0")                        # the device, its bridge; error if unusable
    desired = fdb.build_entries(entries, target, nl.device)  # validated, normalised; OverlayError lists all
    current = fdb.read(nl, target)                           # one dump
    ops = fdb.plan(desired, current, purge=True)             # pure; op.describe(name) for `actions`
    diff = fdb.diff(target.name, current, ops)               # before/after for diff mode
    failures = fdb.apply(nl, target, ops)                    # pipelined; [(op, errno, message)], [] when done
    fdb.apply(nl, target, fdb.invert(done_ops))              # undo what was done
    bulk.apply_or_undo(fdb, nl, target, ops)                 # the last two together, ApplyFailed on failure

An entry is a dict: mac, where ("self": the device's own table — a vxlan's remotes, or a bridge's
own entries; "master": the bridge's table for this port), dst, vni, port, via (ifindex), via_name,
src_vni, vlan, state, and on entries read from the kernel: flags, bridge, kernel (made by the
kernel itself, never purged). Values equal to the vxlan device's own VNI/port are None, as the
kernel omits them in dumps.

How the kernel keys its tables decides what "the same entry" means here:
- vxlan, unicast MAC: one destination per (mac, src_vni); a new dst for the same MAC is one
  NLM_F_REPLACE, never a delete and an add.
- vxlan, 00:00:00:00:00:00 or a multicast MAC: a list of destinations (`bridge fdb append`); each
  (mac, src_vni, dst, port, vni, via) is an entry of its own, added with NLM_F_APPEND and deleted
  with its dst so only that one goes. The state belongs to the MAC, shared by its destinations.
- bridge table: (mac, vlan). Without a vlan the kernel also adds the entry to every VLAN of the
  port, and deletes it from all of them; such copies count as part of the entry.
"""

from __future__ import annotations

from ansible_collections.overlaynet.vxlan.plugins.module_utils import bulk
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError, validate_ifname

ZERO_MAC = "00:00:00:00:00:00"
STATES = ("permanent", "static")
# iproute2's encoding: `permanent` = NOARP|PERMANENT, `static` = NOARP|REACHABLE (never aged).
STATE_BITS = {"permanent": bulk.NUD_NOARP | bulk.NUD_PERMANENT, "static": bulk.NUD_NOARP | bulk.NUD_REACHABLE,
              # only to put back a learned entry when undoing a change
              "dynamic": bulk.NUD_REACHABLE, "stale": bulk.NUD_REACHABLE}
LEARNED_STATES = ("dynamic", "stale")
FLAG_NAMES = ((bulk.NTF_EXT_LEARNED, "extern_learn"), (bulk.NTF_OFFLOADED, "offload"),
              (bulk.NTF_STICKY, "sticky"), (bulk.NTF_ROUTER, "router"), (bulk.NTF_USE, "use"))

# The suboptions of one entry, shared by the bridge_fdb module and whatever else takes FDB entries.
ENTRY_SPEC = {
    "mac": {"type": "str", "required": True},
    "dst": {"type": "str"},
    "vni": {"type": "int"},
    "port": {"type": "int"},
    "via": {"type": "raw"},
    "src_vni": {"type": "int"},
    "vlan": {"type": "int"},
    "self": {"type": "bool"},
    "master": {"type": "bool"},
    "state": {"type": "str", "choices": list(STATES), "default": "permanent"},
}


class Target:
    """The device whose FDB is managed, and the bridge it is a port of (None if it is not one)."""

    def __init__(self, device, bridge=None):
        self.device = device
        self.bridge = bridge

    @property
    def name(self):
        return self.device.name

    @property
    def kind(self):
        return self.device.kind

    def takes_self(self):
        return self.device.kind in ("vxlan", "bridge")


def target(nl, name):
    """The Target for device `name`, or an OverlayError saying why it cannot hold FDB entries."""
    problem = validate_ifname(name, "device")
    if problem:
        raise OverlayError(problem)
    device = nl.device(name)
    if device is None:
        raise OverlayError("device %r does not exist%s" % (name, _where(nl)))
    bridge = None
    if device.master:
        master = nl.device(ifindex=device.master)
        if master is not None and master.kind == "bridge":
            bridge = master
    found = Target(device, bridge)
    if not found.takes_self() and bridge is None:
        raise OverlayError("device %r is a %s that is not a bridge port: only vxlan devices, bridges and "
                           "bridge ports hold FDB entries" % (name, device.kind or "plain link"))
    return found


def _where(nl):
    return " in network namespace %r" % nl.netns if nl.netns else ""


def is_multi(mac):
    """MACs whose vxlan entry is a list of destinations: all-zero and multicast (group bit set)."""
    return mac == ZERO_MAC or mac[1] in "13579bdf"


def key(entry):
    """What the kernel keys the entry by (see the module docstring)."""
    if entry["vxlan"]:
        if is_multi(entry["mac"]):
            return ("self", entry["mac"], entry["src_vni"], entry["dst"], entry["port"], entry["vni"], entry["via"])
        return ("self", entry["mac"], entry["src_vni"])
    return (entry["where"], entry["mac"], entry["vlan"])


def make_entry(mac, where="self", *, dst=None, vni=None, port=None, via=None, via_name=None, src_vni=None,
               vlan=None, state="permanent", vxlan=False, **extra):
    """A normalised entry (values as the kernel dumps them), with its key."""
    entry = {"mac": mac, "where": where, "dst": dst, "vni": vni, "port": port, "via": via, "via_name": via_name,
             "src_vni": src_vni, "vlan": vlan, "state": state, "vxlan": vxlan}
    entry["key"] = key(entry)
    entry.update(extra)
    return entry


# Desired state

RESULT_KEY = "fdb"


def desired(nl, tgt, entries, state):
    return build_entries(entries, tgt, nl.device, state)


def build_entries(entries, tgt, lookup, state="present"):
    """Validate the user's entries against the device and normalise them; every problem is reported.

    `lookup(name=None, ifindex=None)` returns a bulk.DeviceInfo or None (Netlink.device; for `via`).
    Raises OverlayError listing all problems, each naming entries[i] and the bad value; returns the
    normalised entries, each with "index" (its position in the input) and "given" (what the user set,
    which is what an `absent` entry must match).
    """
    problems = []
    desired = []
    device = tgt.device
    vxlan = device.kind == "vxlan"
    context = _Context(tgt, lookup, state, problems)
    default_places = ("self",) if tgt.takes_self() else ("master",)
    for index, raw in enumerate(bulk.check_entries(entries, ENTRY_SPEC, problems)):
        if raw is None:
            continue
        mac = context.mac(raw["mac"])
        if mac is None:
            problems.append("entries[%d]: mac %r is not a MAC address like 02:42:0a:00:00:03" % (index, raw["mac"]))
            continue
        wants_self, wants_master = raw["self"], raw["master"]
        if wants_self or wants_master:
            places = ("self",) * bool(wants_self) + ("master",) * bool(wants_master)
        else:
            places = default_places
        entry_state = raw["state"] or "permanent"
        for where in places:
            if where == "self" and vxlan:
                entry = context.vxlan_entry(index, raw, mac, entry_state)
            else:
                entry = context.bridge_entry(index, raw, mac, where, entry_state)
            if entry is not None:
                desired.append(entry)
    problems.extend(_duplicates(desired, state))
    if problems:
        raise OverlayError("invalid FDB entries for device %r: %s" % (device.name, bulk.join_problems(problems)))
    return desired


REMOTE = ("dst", "vni", "port", "via", "src_vni")


class _Context:
    """Per-call caches and the checks that need the device (a MAC or a peer repeats thousands of times)."""

    def __init__(self, tgt, lookup, state, problems):
        self.tgt = tgt
        self.device = tgt.device
        self.info = tgt.device.info
        self.lookup = lookup
        self.state = state
        self.problems = problems
        self.macs = {}
        self.ips = {}
        self.vias = {}

    def mac(self, value):
        try:
            return self.macs[value]
        except KeyError:
            pass
        except TypeError:
            return None
        found = self.macs[value] = bulk.normalise_mac(value)
        return found

    def ip(self, value):
        try:
            return self.ips[value]
        except KeyError:
            pass
        except TypeError:
            return None
        found = self.ips[value] = bulk.normalise_ip(value)
        return found

    def find_via(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return self.lookup(ifindex=value) if value > 0 else None
        if not isinstance(value, str) or validate_ifname(value, "via"):
            return None
        found = self.lookup(value)
        if found is None and value.isdigit():
            found = self.lookup(ifindex=int(value))
        return found

    def bridge_entry(self, index, raw, mac, where, entry_state):
        problems = self.problems
        here = "entries[%d]" % index
        device = self.device
        if where == "self" and not self.tgt.takes_self():
            problems.append("%s: self entries need a vxlan or bridge device; %r is a %s port of bridge %r, use "
                            "master: true" % (here, device.name, device.kind, self.tgt.bridge.name))
            return None
        if where == "master" and self.tgt.bridge is None:
            problems.append("%s: master: true needs a bridge port; %r is not enslaved to a bridge"
                            % (here, device.name))
            return None
        given = [name for name in REMOTE if raw[name] is not None]
        if given:
            problems.append("%s: %s only apply to a vxlan device's own (self) entries, not to %s"
                            % (here, "/".join(given), "the bridge table (master)" if where == "master"
                               else "bridge %r" % device.name))
            return None
        vlan = raw["vlan"]
        if vlan is not None and not 1 <= vlan <= 4094:
            problems.append("%s: vlan %r is not between 1 and 4094" % (here, vlan))
            return None
        return make_entry(mac, where, vlan=vlan, state=entry_state, index=index,
                          given=["vlan"] if vlan is not None else [])

    def vxlan_entry(self, index, raw, mac, entry_state):
        dst = raw["dst"]
        if (dst is not None and raw["vni"] is None and raw["port"] is None and raw["via"] is None
                and raw["src_vni"] is None and raw["vlan"] is None):
            # The common case, a MAC behind a VTEP, without the checks that cannot fail here.
            parsed = self.ips.get(dst) or self.ip(dst)
            if parsed is not None and parsed[1] == self.info["family"]:
                dst = parsed[0]
                if mac == ZERO_MAC or mac[1] in "13579bdf":
                    key_ = ("self", mac, None, dst, None, None, None)
                else:
                    key_ = ("self", mac, None)
                return {"mac": mac, "where": "self", "dst": dst, "vni": None, "port": None, "via": None,
                        "via_name": None, "src_vni": None, "vlan": None, "state": entry_state, "vxlan": True,
                        "key": key_, "index": index, "given": ["dst"]}
        return self.vxlan_entry_checked(index, raw, mac, entry_state)

    def vxlan_entry_checked(self, index, raw, mac, entry_state):
        problems = self.problems
        device, info = self.device, self.info
        here = "entries[%d]" % index
        count = len(problems)
        if raw["vlan"] is not None:
            problems.append("%s: vlan applies to bridge entries (master, or on a bridge), not to the own entries "
                            "of vxlan %r" % (here, device.name))
        dst = raw["dst"]
        if dst is None:
            if self.state == "present":
                problems.append("%s: dst (the remote VTEP's address) is required for the own entries of vxlan %r"
                                % (here, device.name))
        else:
            parsed = self.ip(dst)
            if parsed is None:
                problems.append("%s: dst %r is not an IPv4 or IPv6 address" % (here, dst))
            else:
                dst, family = parsed
                if family != info["family"]:
                    problems.append("%s: dst %s is %s but vxlan %r is an %s device (its local/group/remote decide)"
                                    % (here, dst, _family(family), device.name, _family(info["family"])))
        vni = raw["vni"]
        if vni is not None and not 0 <= vni < 1 << 24:
            problems.append("%s: vni %r is not between 0 and 16777215" % (here, vni))
        src_vni = raw["src_vni"]
        if src_vni is not None:
            if not info["external"]:
                problems.append("%s: src_vni needs a vxlan device in external (collect_metadata) mode; %r is not"
                                % (here, device.name))
            elif not 0 <= src_vni < 1 << 24:
                problems.append("%s: src_vni %r is not between 0 and 16777215" % (here, src_vni))
        port = raw["port"]
        if port is not None and not 0 <= port <= 65535:
            problems.append("%s: port %r is not between 0 and 65535" % (here, port))
        via = via_name = None
        given_via = raw["via"]
        if given_via is not None:
            found = None
            if isinstance(given_via, (str, int)):
                if given_via not in self.vias:
                    self.vias[given_via] = self.find_via(given_via)
                found = self.vias[given_via]
            if found is None:
                problems.append("%s: via %r is not a device here (give a name or an interface index)"
                                % (here, given_via))
            else:
                via, via_name = found.ifindex, found.name
        if len(problems) != count:
            return None
        # The kernel omits what equals the device's own VNI/port; compare in the same terms.
        if vni == info["vni"]:
            vni = None
        if port == 0 or port == info["port"]:
            port = None
        if src_vni == 0:
            src_vni = None
        given = [name for name in REMOTE if raw[name] is not None]
        return make_entry(mac, "self", dst=dst, vni=vni, port=port, via=via, via_name=via_name, src_vni=src_vni,
                          state=entry_state, vxlan=True, index=index, given=given)


def _family(family):
    return "IPv6" if family == bulk.AF_INET6 else "IPv4"


def _duplicates(desired, state):
    problems = []
    first = {}
    mac_state = {}
    for entry in desired:
        k = entry["key"]
        other = first.get(k)
        if other is not None:
            if other["index"] == entry["index"]:
                continue
            if entry["vxlan"] and not is_multi(entry["mac"]):
                if state == "present":
                    problems.append(
                        "entries[%d] and entries[%d] both give unicast MAC %s (dst %s and %s): the kernel keeps "
                        "one destination per unicast MAC; only 00:00:00:00:00:00 and multicast MACs take several"
                        % (other["index"], entry["index"], entry["mac"], other["dst"], entry["dst"]))
            else:
                problems.append("entries[%d] duplicates entries[%d] (%s)" % (entry["index"], other["index"],
                                                                             text(entry)))
            continue
        first[k] = entry
        if state == "present" and entry["vxlan"] and is_multi(entry["mac"]):
            seen = mac_state.setdefault((entry["mac"], entry["src_vni"]), entry)
            if seen["state"] != entry["state"]:
                problems.append("entries[%d] (%s) and entries[%d] (%s) give MAC %s different states: the kernel "
                                "keeps one state for all destinations of a MAC"
                                % (seen["index"], seen["state"], entry["index"], entry["state"], entry["mac"]))
    return problems


# Current state

def dump_request(nl, ifindex):
    if nl.strict:
        return bulk.NDMSG.pack(bulk.AF_BRIDGE, ifindex, 0, 0, 0)
    # Before Linux 4.20 (no strict checking) the kernel reads the filter as an ifinfomsg.
    return bulk.IFINFOMSG.pack(bulk.AF_BRIDGE, 0, ifindex, 0, 0)


def _state_name(nud):
    if nud & bulk.NUD_PERMANENT:
        return "permanent"
    if nud & bulk.NUD_NOARP:
        return "static"
    if nud & bulk.NUD_STALE:
        return "stale"
    return "dynamic"


STATE_NAMES = tuple(_state_name(nud) for nud in range(256))
FLAG_LISTS = tuple(tuple(name for bit, name in FLAG_NAMES if flags & bit) for flags in range(256))


def read(nl, tgt):
    """All FDB entries of the device, as the kernel dumps them (`bridge fdb show dev X`), normalised."""
    device = tgt.device
    ifindex = device.ifindex
    vxlan = device.kind == "vxlan"
    default_dst = device.info.get("default_dst") if vxlan else None
    own_mac = device.mac
    entries = []
    unpack_nd = bulk.NDMSG.unpack_from
    unpack_nla = bulk.NLA.unpack_from
    u32 = bulk.U32.unpack_from
    ip_text = bulk.ip_text
    ips = {}
    link_name = nl.link_name
    for _mtype, data, start, end in nl.dump(bulk.RTM_GETNEIGH, dump_request(nl, ifindex)):
        family, index, nud, flags, _type = unpack_nd(data, start)
        if index != ifindex or family != bulk.AF_BRIDGE:
            continue
        mac = dst = vni = port = via = src_vni = vlan = nhid = None
        master = 0
        pos = start + 12
        while pos + 4 <= end:
            alen, atype = unpack_nla(data, pos)
            if alen < 4:
                break
            atype &= 0x3FFF
            if atype == 2:  # NDA_LLADDR
                mac = data[pos + 4:pos + alen].hex(":")
            elif atype == 1:  # NDA_DST
                raw = data[pos + 4:pos + alen]
                dst = ips.get(raw)
                if dst is None:
                    dst = ips[raw] = ip_text(raw)
            elif atype == 9:  # NDA_MASTER
                master = u32(data, pos + 4)[0]
            elif atype == 7:  # NDA_VNI
                vni = u32(data, pos + 4)[0]
            elif atype == 6:  # NDA_PORT, network byte order
                port = data[pos + 4] << 8 | data[pos + 5]
            elif atype == 8:  # NDA_IFINDEX
                via = u32(data, pos + 4)[0]
            elif atype == 11:  # NDA_SRC_VNI
                src_vni = u32(data, pos + 4)[0]
            elif atype == 5:  # NDA_VLAN
                vlan = (data[pos + 4] | data[pos + 5] << 8) or None
            elif atype == 13:  # NDA_NH_ID
                nhid = u32(data, pos + 4)[0]
            pos += (alen + 3) & ~3
        if mac is None:
            continue
        state = STATE_NAMES[nud & 0xFF]
        if master:
            # The bridge's table; on the bridge itself these are the ones added with `self`.
            where = "self" if master == ifindex else "master"
            # The bridge's own entries for its ports' and its own MAC addresses.
            kernel = state == "permanent" and mac == own_mac
            on_vxlan = False
            key_ = (where, mac, vlan)
        else:
            where = "self"
            on_vxlan = vxlan
            if vxlan:
                # The remote the device was created with (group/remote) is the kernel's own entry.
                kernel = (mac == ZERO_MAC and dst is not None and dst == default_dst and port is None
                          and vni is None)
                if mac == ZERO_MAC or mac[1] in "13579bdf":
                    key_ = ("self", mac, src_vni, dst, port, vni, via)
                else:
                    key_ = ("self", mac, src_vni)
            else:
                # A bridge's or port's unicast/multicast address list, not a forwarding entry: its
                # own key, so no entry asked for can be mistaken for it.
                kernel = True
                key_ = ("address-list", mac, vlan)
        entry = {"mac": mac, "where": where, "dst": dst, "vni": vni, "port": port, "via": via,
                 "via_name": link_name(via) if via else None, "src_vni": src_vni, "vlan": vlan, "state": state,
                 "vxlan": on_vxlan, "key": key_, "kernel": kernel, "bridge": link_name(master) if master else None,
                 "flags": FLAG_LISTS[flags]}
        if nhid is not None:
            entry["nhid"] = nhid
        entries.append(entry)
    return entries


# Plan

class Op(bulk.EntryOp):
    """One FDB change: "add" (new entry), "change" (same entry, other attributes) or "delete"."""

    __slots__ = ()

    def render(self, entry):
        return text(entry)

    def verb(self):
        if self.entry["vxlan"] and is_multi(self.entry["mac"]):
            return "append"
        return super().verb()


def _differs(want, have):
    if want["state"] != have["state"]:
        return True
    if want["vxlan"] and not is_multi(want["mac"]):
        return (want["dst"], want["port"], want["vni"], want["via"]) != (
            have["dst"], have["port"], have["vni"], have["via"])
    return False


def plan(desired, current, state="present", purge=False, purge_dynamic=False):
    """The operations that turn `current` into `desired`: adds and replacements first, then deletions.

    Adding before deleting means a peer whose MAC or address moved is never without an entry.
    With `purge`, entries not listed are deleted, except those the kernel made (the bridge's entries
    for its own and its ports' MACs, the vxlan device's group/remote entry, address lists),
    extern_learn ones, and — unless `purge_dynamic` — learned (dynamic/stale) ones.
    """
    ops = []
    if state == "absent":
        for want in desired:
            for have in _matches(want, current):
                ops.append(Op("delete", have, have, want["index"]))
        return _unique(ops)
    by_key = {}
    for entry in current:
        by_key.setdefault(entry["key"], entry)
    wanted = set()
    whole_mac = set()  # bridge entries given without a vlan also stand for their per-VLAN copies
    for want in desired:
        k = want["key"]
        wanted.add(k)
        if not want["vxlan"] and want["vlan"] is None:
            whole_mac.add((want["where"], want["mac"]))
        have = by_key.get(k)
        if have is None:
            ops.append(Op("add", want, None, want["index"]))
        elif _differs(want, have):
            ops.append(Op("change", want, have, want["index"]))
    if purge:
        for have in current:
            if have["key"] in wanted or have["kernel"] or "extern_learn" in have["flags"]:
                continue
            if have["state"] in LEARNED_STATES and not purge_dynamic:
                continue
            if not have["vxlan"] and (have["where"], have["mac"]) in whole_mac:
                continue
            ops.append(Op("delete", have, have))
    return ops


def _matches(want, current):
    """Current entries that an `absent` entry names: same table and MAC, and equal in what the user gave.

    A bridge entry without a vlan names all its per-VLAN copies; a vxlan entry without a dst names
    all destinations of the MAC, as `bridge fdb del` does.
    """
    if not want["vxlan"]:
        return [c for c in current if not c["vxlan"] and c["key"][0] == want["where"] and c["mac"] == want["mac"]
                and (want["vlan"] is None or c["vlan"] == want["vlan"])]
    given = want.get("given", ())
    return [c for c in current if c["vxlan"] and c["mac"] == want["mac"] and c["src_vni"] == want["src_vni"]
            and all(c[name] == want[name] for name in given if name != "src_vni")]


def _unique(ops):
    seen = set()
    result = []
    for op in ops:
        k = op.entry["key"]
        if k not in seen:
            seen.add(k)
            result.append(op)
    return result


def invert(ops):
    """Operations that undo `ops` (already applied), in reverse order."""
    undo = []
    for op in reversed(ops):
        if op.action == "add":
            undo.append(Op("delete", op.entry, op.entry, op.index))
        elif op.action == "change":
            undo.append(Op("change", op.old, op.entry, op.index))
        else:
            undo.append(Op("add", op.old, None, op.index))
    return undo


# Apply

def request(op, ifindex):
    """(msg_type, nlmsg flags, payload) for one operation on device `ifindex`."""
    entry = op.entry
    where = bulk.NTF_MASTER if entry["where"] == "master" else bulk.NTF_SELF
    deleting = op.action == "delete"
    nud = 0 if deleting else STATE_BITS.get(entry["state"], STATE_BITS["permanent"])
    parts = [bulk.NDMSG.pack(bulk.AF_BRIDGE, ifindex, nud, where, 0),
             bulk.NLA.pack(10, bulk.NDA_LLADDR), bulk.mac_bytes(entry["mac"]), b"\0\0"]
    if entry["dst"] is not None:
        parts.append(bulk.nla(bulk.NDA_DST, bulk.ip_bytes(entry["dst"])))
    if entry["port"] is not None:
        parts.append(bulk.nla_be16(bulk.NDA_PORT, entry["port"]))
    if entry["vni"] is not None:
        parts.append(bulk.nla_u32(bulk.NDA_VNI, entry["vni"]))
    if entry["via"] is not None:
        parts.append(bulk.nla_u32(bulk.NDA_IFINDEX, entry["via"]))
    if entry["src_vni"] is not None:
        parts.append(bulk.nla_u32(bulk.NDA_SRC_VNI, entry["src_vni"]))
    if entry["vlan"] is not None:
        parts.append(bulk.nla_u16(bulk.NDA_VLAN, entry["vlan"]))
    payload = b"".join(parts)
    if deleting:
        return bulk.RTM_DELNEIGH, 0, payload
    if entry["vxlan"] and is_multi(entry["mac"]):
        # The kernel refuses NLM_F_REPLACE for these; APPEND adds a destination or updates the state.
        return bulk.RTM_NEWNEIGH, bulk.NLM_F_CREATE | bulk.NLM_F_APPEND, payload
    return bulk.RTM_NEWNEIGH, bulk.NLM_F_CREATE | bulk.NLM_F_REPLACE, payload


def apply(nl, tgt, ops):
    """Send the operations pipelined; [(op, errno, kernel message)] for those that failed."""
    return bulk.send_ops(nl, tgt.device.ifindex, ops, request)


def failure_messages(failures, tgt, limit=10):
    return bulk.op_failure_messages(failures, tgt.name, "FDB entry", text, limit)


# Presentation

def text(entry):
    """One entry in `bridge fdb show` words: 00:00:00:00:00:00 dst 198.51.100.12 self permanent."""
    words = [entry["mac"]]
    if entry["vlan"] is not None:
        words += ["vlan", str(entry["vlan"])]
    if entry["dst"] is not None:
        words += ["dst", entry["dst"]]
    if entry["port"] is not None:
        words += ["port", str(entry["port"])]
    if entry["vni"] is not None:
        words += ["vni", str(entry["vni"])]
    if entry["src_vni"] is not None:
        words += ["src_vni", str(entry["src_vni"])]
    if entry["via"] is not None:
        words += ["via", entry.get("via_name") or str(entry["via"])]
    words.append(entry["where"])
    words.append(entry["state"])
    return " ".join(words)


def managed(entries):
    """Entries a user could have added: what diffs show (learned and kernel ones stay out)."""
    return [e for e in entries if not e.get("kernel") and e["state"] not in LEARNED_STATES]


def diff(device_name, current, ops):
    """before/after for diff mode: one line per static/permanent entry, as `bridge fdb show` words."""
    return bulk.entries_diff(device_name, managed(current), ops, key, text)


def to_result(entry):
    """An entry as the module returns it: the entry option names, left out where they do not apply."""
    result = {"mac": entry["mac"], "self": entry["where"] == "self", "master": entry["where"] == "master",
              "state": entry["state"]}
    for name in ("dst", "vni", "port", "src_vni", "vlan", "bridge", "nhid"):
        if entry.get(name) is not None:
            result[name] = entry[name]
    if entry["via"] is not None:
        result["via"] = entry.get("via_name") or str(entry["via"])
    if entry.get("flags"):
        result["flags"] = list(entry["flags"])
    if entry.get("kernel"):
        result["kernel"] = True
    return result
