# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's whole overlay in one call: bridges, vxlan links, addresses, neighbours, FDB, routes.

The aggregate the `overlay` module runs, built from the single-object planners (links, vxlan,
addresses, neigh, fdb, routes) without changing them:

    spec = build_spec(params)            # every part validated; OverlayError names each option path
    with Host(spec.netns) as host:       # one pyroute2 session, one bulk.Netlink socket
        current = read(host, spec)       # what the kernel has, as far as the spec is concerned
        steps = plan(spec, current)      # pure: one Step per part, [] ops when nothing to do
        execute(host, steps)             # in order; a failure undoes the steps done, newest first
        result(host, spec, steps)        # per part what the single module returns, read back

Apply order (state present): bridges -> vxlan (master set) -> addresses -> neigh -> fdb -> routes,
flanneld's own per-peer order being neigh -> fdb -> route. State absent walks it backwards and
removes, entry by entry, what each part names (entries on a device that is deleted as well are
deleted explicitly first, so that an undo can put them back), then the vxlan links and bridges.

Planning a later part may depend on a device an earlier part creates: the planner knows which
devices the call creates (or recreates) and plans their addresses, entries and routes against an
empty device rather than failing.

Each kind has its inverse here: links and routes per operation, addresses by restoring the list
read before, FDB/neighbour entries with fdb/neigh.invert, vxlan with the undo ops its planner
attaches to each op.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from ansible_collections.overlaynet.vxlan.plugins.module_utils import addresses, bulk, fdb, links, neigh, routes, vxlan
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    OverlayError,
    Session,
    validate_ifname,
    validate_netns_name,
)

PARTS = ("bridges", "vxlan", "addresses", "neigh", "fdb", "routes")

# ---------------------------------------------------------------------------------------------
# Argument spec: the single modules' option names, so a task moves between them unchanged.


def _options(spec, keep=None, drop=("netns", "state")):
    """A module's options for one part: those named in `keep`, or all but `drop` (set for the whole call)."""
    return {name: dict(option) for name, option in spec.items()
            if (name in keep if keep else name not in drop)}


BRIDGE_SPEC = _options(links.ARGUMENT_SPEC, keep=("name", "mtu", "mac", "up", "bridge"))
VXLAN_SPEC = _options(vxlan.ARGUMENT_SPEC)
ADDRESSES_SPEC = _options(addresses.ARGUMENT_SPEC)
# Entries are type-checked by the kind's build_entries (bulk.check_entries) at bulk speed, as in bridge_fdb.
ENTRY_TABLE_SPEC = _options(bulk.ENTRY_TABLE_ARGUMENT_SPEC, drop=("netns", "state", "read_back"))
ROUTES_SPEC = _options(routes.ARGUMENT_SPEC)


def _list_of(options):
    return {"type": "list", "elements": "dict", "default": [], "options": options}


ARGUMENT_SPEC = {
    "netns": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "bridges": _list_of(BRIDGE_SPEC),
    "vxlan": _list_of(VXLAN_SPEC),
    "addresses": _list_of(ADDRESSES_SPEC),
    "neigh": _list_of(ENTRY_TABLE_SPEC),
    "fdb": _list_of(ENTRY_TABLE_SPEC),
    "routes": _list_of(ROUTES_SPEC),
}

# A MAC for devices that do not exist yet: only its shape (Ethernet) matters to the planners.
PLACEHOLDER_MAC = "02:00:00:00:00:00"


# ---------------------------------------------------------------------------------------------
# Spec


class EntryTable:
    """One neigh or fdb part: the device and its entries as given (validated against the device when planning)."""

    def __init__(self, device, entries, purge=False, purge_dynamic=False):
        self.device = device
        self.entries = entries
        self.purge = purge
        self.purge_dynamic = purge_dynamic


class Spec:
    """The whole request; each part is a list of (index, spec of that kind)."""

    def __init__(self, netns=None, state="present", **parts):
        self.netns = netns
        self.state = state
        for part in PARTS:
            setattr(self, part, list(parts.get(part) or []))


_OPTION_WORD = re.compile(r"^([a-z_]+)([ .\[]|$)")
_ENTRY_PREAMBLE = re.compile(r"^invalid (?:FDB|neighbour) entries for device '[^']*': ")
_ENTRY_KEYS = {"neigh": tuple(neigh.ENTRY_SPEC), "fdb": tuple(fdb.ENTRY_SPEC)}
_PART_OPTIONS = {
    "bridges": (*BRIDGE_SPEC, "name", "master"),
    "vxlan": (*VXLAN_SPEC, "group", "remote", "local"),
    "addresses": tuple(ADDRESSES_SPEC),
    "neigh": (*ENTRY_TABLE_SPEC, "device"),
    "fdb": (*ENTRY_TABLE_SPEC, "device"),
    "routes": tuple(ROUTES_SPEC),
}
_INNER_LIST = {"addresses": "addresses", "routes": "routes", "neigh": "entries", "fdb": "entries"}


def at(part, index, message):
    """The sentences of a single planner's message, each naming its option path in the aggregate.

    "mac 'x' is ..." -> "bridges[0].mac 'x' is ..."; "entries[3]: mac 'zz' ..." -> "fdb[0].entries[3].mac 'zz' ...";
    "routes[1].via ..." -> "routes[0].routes[1].via ...".
    """
    path = "%s[%d]" % (part, index)
    inner = _INNER_LIST.get(part)
    sentences = []
    for sentence in _ENTRY_PREAMBLE.sub("", message).split("; "):
        text = sentence
        if inner:
            text = re.sub(r"(?<![\w.\]])%s\[" % inner, "%s.%s[" % (path, inner), text)
            if part in _ENTRY_KEYS:
                text = re.sub(r"(\.entries\[\d+\]): (%s)\b" % "|".join(_ENTRY_KEYS[part]), r"\1.\2", text)
        if not text.startswith(path):
            word = _OPTION_WORD.match(text)
            text = ("%s.%s" if word and word.group(1) in _PART_OPTIONS[part] else "%s: %s") % (path, text)
        sentences.append(text)
    return sentences


def build_spec(params):
    """A Spec from the module's parameters; OverlayError listing every problem with its option path."""
    problems = []
    netns = params.get("netns")
    if netns is not None:
        problem = validate_netns_name(netns)
        if problem:
            problems.append(problem)
    state = params.get("state") or "present"
    if state not in ("present", "absent"):
        problems.append("state must be present or absent, not %r" % (state,))
    absent = state == "absent"
    parts = {part: [] for part in PARTS}

    def collect(part, index, make):
        try:
            parts[part].append((index, make()))
        except OverlayError as exc:
            problems.extend(at(part, index, str(exc)))

    def bridge(item):
        wanted = links.LinkSpec.from_params(dict(item, netns=netns, kind="bridge", state="present"))
        if absent:
            return links.LinkSpec(wanted.name, netns=netns, state="absent", kind="bridge")
        return wanted

    def vxlan_link(item):
        wanted = vxlan.build_spec(dict(item, netns=netns, state="present"))
        if absent:
            return vxlan.build_spec({"name": wanted.name, "netns": netns, "state": "absent"})
        return wanted

    def address(item):
        return addresses.AddressSpec.from_params(dict(item, netns=netns, state=state, purge=bool(item.get("purge"))
                                                      and not absent))

    def entry_table(item):
        device = item.get("device")
        problem = validate_ifname(device, "device")
        if problem:
            raise OverlayError(problem)
        if item.get("purge_dynamic") and not item.get("purge"):
            raise OverlayError("purge_dynamic=true needs purge=true")
        if item.get("entries") is not None and not isinstance(item["entries"], list):
            raise OverlayError("entries must be a list of dicts, got %r" % (item["entries"],))
        return EntryTable(device, item.get("entries") or [], bool(item.get("purge")) and not absent,
                          bool(item.get("purge_dynamic")) and not absent)

    def route(item):
        return routes.RouteSpec.from_params(dict(item, netns=netns, state=state, purge=bool(item.get("purge"))
                                                 and not absent))

    makers = {"bridges": bridge, "vxlan": vxlan_link, "addresses": address, "neigh": entry_table,
              "fdb": entry_table, "routes": route}
    for part in PARTS:
        items = params.get(part) or []
        if not isinstance(items, list):
            problems.append("%s must be a list of dicts" % part)
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append("%s[%d] must be a dict, got %r" % (part, index, item))
                continue
            collect(part, index, lambda make=makers[part], item=item: make(item))
    problems.extend(_cross_checks(parts))
    if problems:
        raise OverlayError("; ".join(problems))
    return Spec(netns, state, **parts)


def _cross_checks(parts):
    """What no single planner can see: a device named twice, a route in two parts."""
    problems = []
    names = {}
    for part in ("bridges", "vxlan"):
        for index, spec in parts[part]:
            other = names.get(spec.name)
            if other is not None:
                problems.append("%s[%d].name %r is also %s.name; a link is listed once" % (part, index, spec.name, other))
            else:
                names[spec.name] = "%s[%d]" % (part, index)
    for part, attr in (("addresses", "dev"), ("neigh", "device"), ("fdb", "device")):
        seen = {}
        for index, spec in parts[part]:
            name = getattr(spec, attr)
            if name in seen:
                problems.append("%s[%d].%s %r is also %s[%d].%s; list each device once (its entries together)"
                                % (part, index, attr, name, part, seen[name], attr))
            else:
                seen[name] = index
    keys = {}
    for index, spec in parts["routes"]:
        for number, entry in enumerate(spec.entries):
            other = keys.get(entry.key)
            if other is not None and other[0] != index:
                problems.append("routes[%d].routes[%d]: %s (table %s, metric %d) is also routes[%d].routes[%d]" % (
                    index, number, entry.prefix, routes.table_name(entry.table), entry.metric, other[0], other[1]))
            else:
                keys.setdefault(entry.key, (index, number))
    return problems


# ---------------------------------------------------------------------------------------------
# Reading the kernel


class Host:
    """The sessions of one run: pyroute2 (links, addresses, routes, vxlan) and bulk.Netlink (FDB, neigh)."""

    def __init__(self, netns=None):
        self.netns = netns
        self.session = Session(netns)
        self.pool = links.SessionPool(self.session)
        self._nl = None
        self._origins = {}

    @property
    def nl(self):
        if self._nl is None:
            self._nl = bulk.Netlink(self.netns)
        return self._nl

    def origin(self, spec):
        """The session in a vxlan spec's create_netns (None when the link is not moved)."""
        if not spec.moves or spec.state != "present":
            return None
        if spec.create_netns not in self._origins:
            self._origins[spec.create_netns] = Session(spec.create_netns or None)
        return self._origins[spec.create_netns]

    def close(self):
        for session in self._origins.values():
            session.close()
        if self._nl is not None:
            self._nl.close()
        self.pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class Current:
    """What the kernel has, as far as the spec is concerned (plain data; unit tests build it by hand).

    links: {name: links.read_links() dict}; vxlans: {name: vxlan.Current}; addresses: {dev: [address
    dicts]} and promote: {dev: bool} for existing devices; devices: {name: (bulk.DeviceInfo, master
    DeviceInfo or None)} for the existing devices neigh/fdb parts name; neigh/fdb: {device: [entries]};
    routes: every route (routes.read()); lookup: bulk.Netlink.device for fdb `via`.
    """

    def __init__(self, *, links=None, vxlans=None, addresses=None, promote=None, devices=None, neigh=None, fdb=None,
                 routes=None, lookup=None):
        self.links = dict(links or {})
        self.vxlans = dict(vxlans or {})
        self.addresses = dict(addresses or {})
        self.promote = dict(promote or {})
        self.devices = dict(devices or {})
        self.neigh = dict(neigh or {})
        self.fdb = dict(fdb or {})
        self.routes = list(routes or [])
        self.lookup = lookup or (lambda name=None, ifindex=None: None)


def read(host, spec):
    """Current for `spec`: one link dump, and per named device its addresses and entries."""
    session = host.session
    found = links.read_links(session)
    current = Current(links=found, lookup=host.nl.device)
    for _index, item in spec.vxlan:
        current.vxlans[item.name] = vxlan.read_current(session, item, host.origin(item))
    for _index, item in spec.addresses:
        if item.dev in found:
            current.addresses[item.dev] = addresses.read(session, item.dev)
            current.promote[item.dev] = addresses.promotes_secondaries(session, item.dev)
    nl = host.nl
    for part in ("neigh", "fdb"):
        for _index, item in getattr(spec, part):
            if item.device not in current.devices:
                device = nl.device(item.device)
                master = nl.device(ifindex=device.master) if device is not None and device.master else None
                current.devices[item.device] = (device, master)
            device, master = current.devices[item.device]
            if device is None:
                continue
            if part == "neigh":
                current.neigh[item.device] = neigh.read(nl, device)
            elif device.kind in ("vxlan", "bridge") or (master is not None and master.kind == "bridge"):
                current.fdb[item.device] = fdb.read(nl, fdb.Target(device, master if master and master.kind == "bridge"
                                                                   else None))
    if spec.routes:
        current.routes = routes.read(session)
    return current


# ---------------------------------------------------------------------------------------------
# Steps: one part, planned (pure) and applied with its inverse


class StepFailed(OverlayError):
    """A step failed; `undone` says whether its own partial changes were undone."""

    def __init__(self, message, undone=True):
        super().__init__(message)
        self.undone = undone


class Step:
    part = ""

    def __init__(self, index, name, ops, before, after):
        self.index = index
        self.name = name  # the device (or "" for routes) the step is about
        self.ops = ops
        self.before = before
        self.after = after
        self.done = []

    @property
    def label(self):
        return "%s[%d]" % (self.part, self.index)

    def actions(self):
        return [op.describe() for op in self.ops]

    def apply(self, host):
        """Run every op; on a failure undo this step's own ops and raise StepFailed."""
        self.done = []
        for op in self.ops:
            try:
                self.run(host, op)
            except OverlayError as exc:
                problems = self.undo(host)
                raise StepFailed(_failed(str(exc), problems), undone=not problems) from exc
            self.done.append(op)

    def run(self, host, op):
        raise NotImplementedError

    def undo(self, host):
        """Reverse what this step did; [sentences] for what could not be reversed."""
        problems = []
        for op in reversed(self.done):
            for step in self.inverse(op):
                try:
                    self.run(host, step)
                except OverlayError as exc:
                    problems.append("%s: %s" % (self.label, exc))
        self.done = []
        return problems

    def inverse(self, op):
        raise NotImplementedError


def _failed(message, problems):
    if not problems:
        return message
    return "%s; undoing its own changes failed too: %s" % (message, "; ".join(problems))


class BridgeStep(Step):
    part = "bridges"

    def __init__(self, index, spec, state):
        ops = links.plan(spec, state)
        super().__init__(index, spec.name, ops, links.view(spec, state), links.expected(spec, state))
        self.spec = spec
        self.state = state
        # The ports a bridge had, to enslave again when its deletion is undone.
        self.ports = sorted(name for name, link in state.links.items() if state.link and link["master"] == spec.name)

    def run(self, host, op):
        links.apply(host.pool, [op])

    def inverse(self, op):
        return invert_link_op(op, self.state.link, self.ports)

    def read_back(self, host):
        return links.view(self.spec, links.LinkState(links.read_links(host.session).get(self.spec.name)))


def invert_link_op(op, link, ports=()):
    """The LinkOps that undo `op`, a bridge op planned against `link` (the link as read, or None)."""
    name, netns = op.target, op.netns
    if op.action == "create":
        return [links.LinkOp("delete", netns, name, text="delete bridge link %s" % name)]
    if op.action == "up":
        up = not op.attrs["up"]
        return [links.LinkOp("up", netns, name, {"up": up}, "set %s %s" % (name, "up" if up else "down"))]
    if op.action == "set":
        ((key, _value),) = op.attrs.items()
        old = link.get(key) if link else None
        if key == "master":
            old = old or ""
        return [links.LinkOp("set", netns, name, {key: old}, "set %s %s %s" % (name, key, old or "none"))]
    if op.action == "bridge":
        old = {opt: (link.get("bridge") or {}).get(opt) for opt in op.attrs}
        old = {opt: value for opt, value in old.items() if value is not None}
        return [links.LinkOp("bridge", netns, name, old, "set bridge %s back" % name)] if old else []
    if op.action == "delete" and link is not None:
        attrs = {"kind": link["kind"] or "bridge", "mtu": link["mtu"], "mac": link["mac"],
                 "bridge": dict(link.get("bridge") or {})}
        restore = [links.LinkOp("create", netns, name, attrs, "create bridge link %s again" % name)]
        restore += [links.LinkOp("set", netns, port, {"master": name}, "set %s master %s again" % (port, name))
                    for port in ports]
        if link["up"]:
            restore.append(links.LinkOp("up", netns, name, {"up": True}, "set %s up" % name))
        return restore
    raise OverlayError("no inverse for link operation %s" % op.describe())


class VxlanStep(Step):
    part = "vxlan"

    def __init__(self, index, spec, current):
        ops = vxlan.plan(spec, current)
        before, after = vxlan.diff(spec, current, ops)
        super().__init__(index, spec.name, ops, before, after)
        self.spec = spec

    @property
    def fresh(self):
        """The link is created (or deleted and created anew) by this step: it starts out empty."""
        return any(op.action == "create" for op in self.ops)

    def run(self, host, op):
        vxlan.apply(host.session, [op], host.origin(self.spec))

    def undo(self, host):
        problems = []
        created = {op.name for op in self.done if op.action == "create"}
        for op in reversed(self.done):
            if op.undo is None:
                if op.name not in created:
                    problems.append("%s: %s cannot be undone" % (self.label, op.describe()))
                continue
            for step in op.undo:
                try:
                    self.run(host, step)
                except OverlayError as exc:
                    problems.append("%s: %s" % (self.label, exc))
        self.done = []
        return problems

    def read_back(self, host):
        return vxlan.public(vxlan.read_link(host.session, self.spec.name, host.origin(self.spec),
                                            self.spec.create_netns))


class AddressStep(Step):
    part = "addresses"

    def __init__(self, index, spec, current, promote):
        ops = addresses.plan(spec, current, promote)
        super().__init__(index, spec.dev, ops, {"dev": spec.dev, "addresses": addresses.render(current)},
                         {"dev": spec.dev, "addresses": addresses.render(addresses.expected(spec, current, promote))})
        self.spec = spec
        self.current = current

    def run(self, host, op):
        addresses.apply(host.session, [op])

    def undo(self, host):
        """Put back the addresses read before (whatever subset of the ops went through)."""
        if not self.done and not self.ops:
            return []
        try:
            now = addresses.read(host.session, self.spec.dev)
            ops = addresses.plan(restore_spec(self.spec.dev, self.current), now,
                                 addresses.promotes_secondaries(host.session, self.spec.dev))
            for op in ops:
                self.run(host, op)
        except OverlayError as exc:
            return ["%s: %s" % (self.label, exc)]
        finally:
            self.done = []
        return []

    def read_back(self, host):
        if links.read_links(host.session).get(self.spec.dev) is None:
            return {"dev": self.spec.dev, "addresses": []}
        return {"dev": self.spec.dev, "addresses": addresses.read(host.session, self.spec.dev)}


def restore_spec(dev, current):
    """An AddressSpec (purge) that takes a device back to the addresses `current` lists."""
    entries = []
    for item in current:
        iface = ipaddress.ip_interface(item["address"])
        broadcast = None
        if item["family"] == "ipv4":
            broadcast = item["broadcast"] or addresses.NO_BROADCAST
        scope = addresses.SCOPES.get(item["scope"]) if item["family"] == "ipv4" else None
        entries.append(addresses.AddressEntry(iface.ip, iface.network.prefixlen, broadcast=broadcast, scope=scope))
    return addresses.AddressSpec(dev, entries, purge=True)


class EntryStep(Step):
    """neigh or fdb entries of one device, applied pipelined through bulk.Netlink."""

    def __init__(self, part, index, kind, table, *, device, desired, current, state):
        ops = kind.plan(desired, current, state, table.purge, table.purge_dynamic)
        diff = kind.diff(table.device, current, ops)
        super().__init__(index, table.device, ops, diff["before"], diff["after"])
        self.part = part
        self.kind = kind
        self.table = table
        self.device = device  # DeviceInfo at planning (ifindex 0 for a device this call creates)
        self._target = None

    def actions(self):
        return [op.describe(self.name) for op in self.ops]

    def target(self, host):
        """The device as it is now (it may have been created by an earlier step)."""
        return self.kind.target(host.nl, self.name)

    def apply(self, host):
        self.done = []
        self._target = self.target(host)
        try:
            bulk.apply_or_undo(self.kind, host.nl, self._target, self.ops)
        except bulk.ApplyFailed as exc:
            raise StepFailed(str(exc), undone=not exc.changed) from exc
        self.done = list(self.ops)

    def undo(self, host):
        if not self.done:
            return []
        try:
            failures = self.kind.apply(host.nl, self._target, self.kind.invert(self.done))
        except OverlayError as exc:
            return ["%s: %s" % (self.label, exc)]
        finally:
            self.done = []
        return ["%s: %s" % (self.label, line) for line in self.kind.failure_messages(failures, self._target)]

    def read_back(self, host):
        device = host.nl.device(self.name)
        if device is None:
            return {"device": self.name, self.kind.RESULT_KEY: []}
        return {"device": self.name,
                self.kind.RESULT_KEY: [self.kind.to_result(e) for e in self.kind.read(host.nl, self.target(host))]}


class RouteStep(Step):
    part = "routes"

    def __init__(self, index, spec, current):
        ops = routes.plan(spec, current)
        super().__init__(index, "", ops, {"routes": sorted(routes.render_route(r) for r in routes.view(spec, current))},
                         {"routes": routes.expected_lines(spec, current)})
        self.spec = spec

    def run(self, host, op):
        routes.apply(host.session, [op])

    def inverse(self, op):
        return invert_route_op(op)

    def read_back(self, host):
        return {"routes": routes.view(self.spec, routes.read(host.session))}


def route_entry(route):
    """A routes.RouteEntry that adds `route` (a read route dict) back as it was."""
    network = ipaddress.ip_network(route["dst"])
    family = socket.AF_INET if network.version == 4 else socket.AF_INET6
    scope = None
    if family == socket.AF_INET and route.get("scope") is not None:
        scope = addresses.parse_scope(route["scope"], "scope")
    encap = route.get("encap")
    if encap is not None and encap.get("type") not in ("ip", "ip6"):
        encap = None
    return routes.RouteEntry(family, str(network.network_address), network.prefixlen, route["table"], route["metric"],
                             via=route.get("via"), dev=route.get("dev") if isinstance(route.get("dev"), str) else None,
                             onlink=route.get("onlink") or None, src=route.get("src"), scope=scope, encap=encap)


def entry_route(entry):
    """The route dict routes' delete operation wants, for an entry that was added."""
    return {"family": "ipv4" if entry.family == socket.AF_INET else "ipv6", "dst": entry.prefix,
            "table": entry.table, "metric": entry.metric, "via": entry.via, "dev": entry.dev,
            "onlink": bool(entry.onlink), "src": entry.src,
            "scope": addresses.SCOPE_NAMES.get(entry.scope, entry.scope) if entry.scope is not None
            else ("global" if entry.via or entry.family == socket.AF_INET6 else "link"), "type": "unicast",
            "protocol": "boot", "encap": entry.encap, "multipath": False, "tos": 0}


def invert_route_op(op):
    """The RouteOps that undo `op`."""
    if op.action == "add":
        return [routes.RouteOp("delete", route=entry_route(op.entry))]
    if op.action == "replace":
        return [routes.RouteOp("replace", route_entry(op.route))]
    return [routes.RouteOp("add", route_entry(op.route))]


# ---------------------------------------------------------------------------------------------
# The planner (pure)


def _vxlan_info(spec):
    """bulk.DeviceInfo.info for a vxlan link this call creates, as parse_link would read it."""
    family = bulk.AF_INET
    for key in vxlan.ADDRESS_ATTRS:
        if key in spec.vxlan and ipaddress.ip_address(spec.vxlan[key]).version == 6:
            family = bulk.AF_INET6
    external = bool(spec.vxlan.get("external"))
    return {"vni": spec.vxlan.get("vni", 0), "port": spec.vxlan.get("dstport", vxlan.DEFAULT_DSTPORT),
            "family": family, "external": external, "learning": spec.vxlan.get("learning", not external),
            "default_dst": spec.vxlan.get("group") or spec.vxlan.get("remote"), "default_via": 0}


class Plan:
    """The steps in the order they run, and what the call creates."""

    def __init__(self, steps, fresh):
        self.steps = steps
        self.fresh = fresh  # {name: kind} of the links created by this call

    @property
    def changed(self):
        return any(step.ops for step in self.steps)

    def actions(self):
        return [line for step in self.steps for line in step.actions()]


def plan(spec, current):
    """Every part planned against `current`, in apply order; OverlayError naming every problem."""
    planner = _Planner(spec, current)
    for part in PARTS:
        for index, item in getattr(spec, part):
            try:
                step = getattr(planner, part)(index, item)
            except OverlayError as exc:
                planner.problems.extend(at(part, index, str(exc)))
                continue
            planner.made[part].append(step)
    if planner.problems:
        raise OverlayError("; ".join(planner.problems))
    made = planner.made
    deleted = {step.name for step in made["vxlan"] if any(op.action == "delete" for op in step.ops)}
    for step in made["bridges"]:  # a port deleted by this call comes back with its own undo
        step.ports = [port for port in step.ports if port not in deleted]
    order = reversed(PARTS) if spec.state == "absent" else PARTS
    return Plan([step for part in order for step in made[part]], {n: d.kind for n, d in planner.fresh.items()})


class _Planner:
    """Plans the parts in apply order, remembering what the links parts create for the later parts."""

    def __init__(self, spec, current):
        self.spec = spec
        self.current = current
        self.absent = spec.state == "absent"
        self.problems = []
        self.made = {part: [] for part in PARTS}
        self.fresh = {}  # name -> DeviceInfo of a link this call creates (or deletes and creates anew)
        self.kinds = {name: link["kind"] for name, link in current.links.items()}
        self.masters = {}  # vxlan name -> the master it will have (None: none), where the spec sets one
        # Links whose MAC this call changes: the kernel then flushes their neighbour entries, permanent
        # ones included, so those are planned against an empty table.
        self.readdressed = set()
        self.wanted_by = {}  # route key -> index of the routes part that lists it
        for index, item in spec.routes:
            for entry in item.entries:
                self.wanted_by.setdefault(entry.key, index)

    def missing(self, option, name):
        netns = self.spec.netns
        return OverlayError("%s %r does not exist%s and is not created by this call (bridges, vxlan)"
                            % (option, name, " in network namespace %r" % netns if netns else ""))

    def note_mac_change(self, step):
        if any(op.action in ("set", "set_link") and (op.attrs or {}).get("mac") is not None for op in step.ops):
            self.readdressed.add(step.name)

    def bridges(self, index, item):
        step = BridgeStep(index, item, links.LinkState(self.current.links.get(item.name), self.current.links))
        self.note_mac_change(step)
        if any(op.action == "create" for op in step.ops):
            self.fresh[item.name] = bulk.DeviceInfo(0, item.name, "bridge", mac=item.mac or PLACEHOLDER_MAC)
            self.kinds[item.name] = "bridge"
        return step

    def vxlan(self, index, item):
        state = self.current.vxlans.get(item.name) or vxlan.Current(None, self.kinds)
        for name, info in self.fresh.items():  # a master (or dev) this call creates
            state.links.setdefault(name, info.kind)
        step = VxlanStep(index, item, state)
        self.note_mac_change(step)
        if item.link.get("master") is not None:
            self.masters[item.name] = item.link["master"] or None
        if step.fresh:
            self.fresh[item.name] = bulk.DeviceInfo(0, item.name, "vxlan", mac=item.link.get("mac") or PLACEHOLDER_MAC,
                                                    master=1 if item.link.get("master") else 0,
                                                    info=_vxlan_info(item))
            self.kinds[item.name] = "vxlan"
        return step

    def addresses(self, index, item):
        if item.dev in self.fresh:
            return AddressStep(index, item, [], False)
        if item.dev not in self.current.addresses:
            if self.absent:
                return AddressStep(index, item, [], False)
            raise self.missing("dev", item.dev)
        return AddressStep(index, item, self.current.addresses[item.dev], self.current.promote.get(item.dev, False))

    def neigh(self, index, table):
        return self._entries("neigh", neigh, index, table)

    def fdb(self, index, table):
        return self._entries("fdb", fdb, index, table)

    def _entries(self, part, kind, index, table):
        state = self.spec.state
        device, bridge, entries = _device_for(table.device, self.fresh, self.current, self.masters, part)
        if device is None:
            if self.absent:
                return EntryStep(part, index, kind, table, device=None, desired=[], current=[], state=state)
            raise self.missing("device", table.device)
        if kind is neigh:
            desired = neigh.build_entries(table.entries, device, state)
            if table.device in self.readdressed:
                entries = []
        else:
            target = fdb.Target(device, bridge)
            if not target.takes_self() and bridge is None:
                raise OverlayError("device %r is a %s that is not a bridge port: only vxlan devices, bridges and "
                                   "bridge ports hold FDB entries" % (table.device, device.kind or "plain link"))
            desired = fdb.build_entries(table.entries, target, self.current.lookup, state)
        return EntryStep(part, index, kind, table, device=device, desired=desired, current=entries, state=state)

    def routes(self, index, item):
        if not self.absent:
            routes.check_devices(item, self.kinds)
        # Routes on a link this call (re)creates start from nothing; a route another part lists is not purged.
        current = [r for r in self.current.routes if r.get("dev") not in self.fresh
                   and self.wanted_by.get(routes.current_key(r), index) == index]
        return RouteStep(index, item, current)


def _device_for(name, fresh, current, masters, part):
    """(DeviceInfo, bridge DeviceInfo or None, current entries) of a neigh/fdb device as it will be."""
    if name in fresh:
        device, entries = fresh[name], []
        master_name = masters.get(name)
    else:
        device, master = current.devices.get(name, (None, None))
        if device is None:
            return None, None, []
        entries = (current.neigh if part == "neigh" else current.fdb).get(name, [])
        master_name = masters.get(name, master.name if master is not None else None)
    bridge = None
    if master_name:
        bridge = fresh.get(master_name)
        if bridge is None:
            link = current.links.get(master_name)
            if link is not None:
                bridge = bulk.DeviceInfo(link["ifindex"], master_name, link["kind"], mac=link["mac"])
        if bridge is not None and bridge.kind != "bridge":
            bridge = None
    return device, bridge, entries


# ---------------------------------------------------------------------------------------------
# Apply, with undo of the steps done when one fails


def execute(host, the_plan):
    """Run the steps in order. When one fails, undo the steps done (newest first) and raise an
    OverlayError saying what failed and whether the host is as it was; its `changed` is True only
    when something could not be undone."""
    done = []
    for step in the_plan.steps:
        if not step.ops:
            continue
        try:
            step.apply(host)
        except OverlayError as exc:
            own_undone = getattr(exc, "undone", not getattr(exc, "changed", False))
            problems = [] if own_undone else ["%s: its own changes were only partly undone" % step.label]
            for previous in reversed(done):
                problems.extend(previous.undo(host))
            message = "%s failed: %s" % (step.label, exc)
            if problems:
                error = OverlayError("%s; the host could NOT be fully restored: %s" % (message, "; ".join(problems)))
                error.changed = True
            else:
                undone = [previous.label for previous in reversed(done)]
                if undone:
                    error = OverlayError("%s; undone: %s; the host is as it was before this task"
                                         % (message, ", ".join(undone)))
                else:
                    error = OverlayError("%s; no step before it had changed anything; the host is as it was "
                                         "before this task" % message)
                error.changed = False
            raise error from exc
        done.append(step)
    return done


def views(the_plan):
    """diff before/after: per part, one entry per item, from the same data the plan was made from."""
    before = {part: [] for part in PARTS}
    after = {part: [] for part in PARTS}
    for step in sorted(the_plan.steps, key=lambda s: (PARTS.index(s.part), s.index)):
        before[step.part].append(step.before)
        after[step.part].append(step.after)
    return ({k: v for k, v in before.items() if v}, {k: v for k, v in after.items() if v})


def run(params, check_mode=False):
    """Validate, read, plan every part, apply (unless check mode), read back: the module's result."""
    spec = build_spec(params)
    with Host(spec.netns) as host:
        current = read(host, spec)
        the_plan = plan(spec, current)
        before, after = views(the_plan)
        if the_plan.changed and not check_mode:
            execute(host, the_plan)
        result = {
            "changed": the_plan.changed,
            "actions": the_plan.actions(),
            "diff": {"before": before, "after": after},
        }
        ordered = sorted(the_plan.steps, key=lambda s: (PARTS.index(s.part), s.index))
        for part in PARTS:
            result[part] = []
        for step in ordered:  # read back (in check mode: what is there, unchanged)
            result[step.part].append(step.read_back(host))
    return result
