"""The FDB planner and validator, pure: desired entries, current entries, operations, requests."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils import bulk, fdb
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError

VXLAN_INFO = {"vni": 42, "port": 4789, "family": bulk.AF_INET, "external": False, "learning": False,
              "default_dst": None, "default_via": 0}
VXLAN = bulk.DeviceInfo(5, "vxlan0", "vxlan", mac="aa:aa:aa:aa:aa:05", info=VXLAN_INFO)
VXLAN_PORT = bulk.DeviceInfo(5, "vxlan0", "vxlan", mac="aa:aa:aa:aa:aa:05", master=3, info=VXLAN_INFO)
EXTERNAL = bulk.DeviceInfo(6, "vx6", "vxlan", mac="aa:aa:aa:aa:aa:06", info=dict(VXLAN_INFO, vni=0, external=True))
VXLAN6 = bulk.DeviceInfo(7, "vx7", "vxlan", mac="aa:aa:aa:aa:aa:07", info=dict(VXLAN_INFO, family=bulk.AF_INET6))
BRIDGE = bulk.DeviceInfo(3, "br0", "bridge", mac="aa:aa:aa:aa:aa:03")
VETH_PORT = bulk.DeviceInfo(4, "veth0", "veth", mac="aa:aa:aa:aa:aa:04", master=3)
VETH = bulk.DeviceInfo(8, "veth1", "veth", mac="aa:aa:aa:aa:aa:08")
ETH1 = bulk.DeviceInfo(2, "eth1", "veth", mac="aa:aa:aa:aa:aa:02")
LINKS = {d.name: d for d in (VXLAN, BRIDGE, VETH_PORT, ETH1)}

ZERO = fdb.ZERO_MAC
MAC_A = "02:42:0a:00:00:0a"
MAC_B = "02:42:0a:00:00:0b"


def lookup(name=None, ifindex=None):
    if name is not None:
        return LINKS.get(name)
    return next((d for d in LINKS.values() if d.ifindex == ifindex), None)


def target(device):
    return fdb.Target(device, BRIDGE if device.master == BRIDGE.ifindex else None)


def build(entries, device=VXLAN, state="present"):
    return fdb.build_entries(entries, target(device), lookup, state)


def remote(mac, dst, state="permanent", **kw):
    """A current vxlan entry as fdb.read() gives it."""
    return fdb.make_entry(mac, "self", dst=dst, vxlan=True, state=state, kernel=kw.pop("kernel", False),
                          flags=kw.pop("flags", []), bridge=None, **kw)


def bridged(mac, where="master", *, state="static", vlan=None, kernel=False, flags=()):
    return fdb.make_entry(mac, where, vlan=vlan, state=state, kernel=kernel, flags=list(flags), bridge="br0")


def actions(ops):
    return [op.describe("vxlan0") for op in ops]


# Validation and normalisation

@pytest.mark.parametrize("entries, device, expected", [
    ([{"mac": "02:42:0A:00:00:0A", "dst": "198.51.100.12"}], VXLAN,
     [("self", MAC_A, "198.51.100.12", None, None, None, "permanent")]),
    ([{"mac": "02-42-0a-00-00-0a", "dst": "198.51.100.12", "vni": 42, "port": 4789}], VXLAN,
     [("self", MAC_A, "198.51.100.12", None, None, None, "permanent")]),  # the device's own vni/port
    ([{"mac": MAC_A, "dst": "198.51.100.12", "vni": 7, "port": 4790, "via": "eth1"}], VXLAN,
     [("self", MAC_A, "198.51.100.12", 7, 4790, 2, "permanent")]),
    ([{"mac": MAC_A, "dst": "198.51.100.12", "via": 2}], VXLAN,  # via as an interface index
     [("self", MAC_A, "198.51.100.12", None, None, 2, "permanent")]),
    ([{"mac": MAC_A, "dst": "198.51.100.12", "port": "4790", "state": "static"}], VXLAN,  # strings coerced
     [("self", MAC_A, "198.51.100.12", None, 4790, None, "static")]),
    ([{"mac": MAC_A}], VETH_PORT, [("master", MAC_A, None, None, None, None, "permanent")]),
    ([{"mac": MAC_A}], BRIDGE, [("self", MAC_A, None, None, None, None, "permanent")]),
    ([{"mac": MAC_A, "vlan": 10, "master": True}], VETH_PORT, [("master", MAC_A, None, None, None, None, "permanent")]),
    ([{"mac": MAC_A, "dst": "198.51.100.12", "self": True, "master": True}], VXLAN_PORT, None),  # dst on master
    ([{"mac": MAC_A, "self": True, "master": True, "state": "static"}], VETH_PORT, None),  # self on a veth
    ([{"mac": MAC_A, "dst": "2001:db8::1"}], VXLAN6, [("self", MAC_A, "2001:db8::1", None, None, None, "permanent")]),
    ([{"mac": MAC_A, "dst": "2001:DB8:0::1"}], VXLAN6, [("self", MAC_A, "2001:db8::1", None, None, None, "permanent")]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "src_vni": 7, "vni": 9}], EXTERNAL,
     [("self", MAC_A, "192.0.2.1", 9, None, None, "permanent")]),
])
def test_entries_are_normalised_as_the_kernel_dumps_them(entries, device, expected):
    if expected is None:
        with pytest.raises(OverlayError):
            build(entries, device)
        return
    got = [(e["where"], e["mac"], e["dst"], e["vni"], e["port"], e["via"], e["state"]) for e in build(entries, device)]
    assert got == expected


def test_self_and_master_together_make_two_entries_on_a_bridged_vxlan():
    got = build([{"mac": MAC_A, "self": True, "master": True, "dst": None}], VXLAN_PORT, state="absent")
    assert [e["where"] for e in got] == ["self", "master"]
    assert {e["index"] for e in got} == {0}


@pytest.mark.parametrize("entries, device, words", [
    ([{"mac": "02:42:0a:00:00"}], VXLAN, ["entries[0]", "mac", "02:42:0a:00:00"]),
    ([{"mac": MAC_A, "dst": "198.51.100.300"}], VXLAN, ["entries[0]", "dst", "198.51.100.300"]),
    ([{"mac": MAC_A, "dst": "2001:db8::1"}], VXLAN, ["entries[0]", "IPv6", "IPv4 device"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1"}], VXLAN6, ["entries[0]", "IPv4", "IPv6 device"]),
    ([{"mac": MAC_A}], VXLAN, ["entries[0]", "dst", "required"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "vni": 1 << 24}], VXLAN, ["entries[0]", "vni", "16777216"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "port": 70000}], VXLAN, ["entries[0]", "port", "70000"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "via": "nosuch0"}], VXLAN, ["entries[0]", "via", "nosuch0"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "src_vni": 3}], VXLAN, ["entries[0]", "src_vni", "external"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "vlan": 10}], VXLAN, ["entries[0]", "vlan"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1"}], VETH_PORT, ["entries[0]", "dst", "bridge table"]),
    ([{"mac": MAC_A, "vlan": 4095}], VETH_PORT, ["entries[0]", "vlan 4095"]),
    ([{"mac": MAC_A, "self": True}], VETH_PORT, ["entries[0]", "self entries need a vxlan or bridge"]),
    ([{"mac": MAC_A, "master": True, "dst": "192.0.2.1"}], VXLAN, ["entries[0]", "master: true needs a bridge port"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "colour": "red"}], VXLAN, ["entries[0]", "unknown key colour"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "vni": "many"}], VXLAN, ["entries[0]", "vni 'many' is not an integer"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "self": "maybe"}], VXLAN, ["entries[0]", "self 'maybe' is not a boolean"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1", "state": "dynamic"}], VXLAN, ["entries[0]", "state 'dynamic'"]),
    ([{"dst": "192.0.2.1"}], VXLAN, ["entries[0]", "mac is required"]),
    (["02:42:0a:00:00:0a"], VXLAN, ["entries[0] must be a dict"]),
    ([{"mac": ZERO, "dst": "192.0.2.1"}, {"mac": ZERO, "dst": "192.0.2.2"}, {"mac": ZERO, "dst": "192.0.2.1"}], VXLAN,
     ["entries[2] duplicates entries[0]", "00:00:00:00:00:00 dst 192.0.2.1"]),
    ([{"mac": MAC_A, "dst": "192.0.2.1"}, {"mac": MAC_A, "dst": "192.0.2.2"}], VXLAN,
     ["entries[0] and entries[1]", "unicast MAC", "one destination"]),
    ([{"mac": ZERO, "dst": "192.0.2.1"}, {"mac": ZERO, "dst": "192.0.2.2", "state": "static"}], VXLAN,
     ["entries[0] (permanent) and entries[1] (static)", "one state"]),
    ([{"mac": MAC_A, "vlan": 10}, {"mac": MAC_A, "vlan": 10, "state": "static"}], VETH_PORT,
     ["entries[1] duplicates entries[0]"]),
])
def test_problems_name_the_entry_and_the_bad_value(entries, device, words):
    with pytest.raises(OverlayError) as caught:
        build(entries, device)
    message = str(caught.value)
    assert all(word in message for word in words), message


def test_every_problem_is_reported_at_once():
    with pytest.raises(OverlayError) as caught:
        build([{"mac": "x"}, {"mac": MAC_A, "dst": "nope"}, {"mac": MAC_B, "dst": "192.0.2.1", "port": -1}])
    message = str(caught.value)
    assert "entries[0]" in message and "entries[1]" in message and "entries[2]" in message


def test_absent_entries_need_no_dst_and_may_repeat_a_unicast_mac():
    got = build([{"mac": MAC_A}, {"mac": MAC_A, "dst": "192.0.2.1"}, {"mac": MAC_A, "dst": "192.0.2.2"}],
                state="absent")
    assert [e["given"] for e in got] == [[], ["dst"], ["dst"]]


def test_a_device_that_holds_no_fdb_is_refused_by_target():
    class Links:
        netns = "ns1"

        def device(self, name=None, ifindex=None):
            return VETH if name == "veth1" else None

    with pytest.raises(OverlayError, match="not a bridge port"):
        fdb.target(Links(), "veth1")
    with pytest.raises(OverlayError, match="'nosuch0' does not exist in network namespace 'ns1'"):
        fdb.target(Links(), "nosuch0")
    with pytest.raises(OverlayError, match="at most 15"):
        fdb.target(Links(), "a-very-long-name0")


# Planning

def plan(entries, current, device=VXLAN, **kw):
    return fdb.plan(build(entries, device, kw.get("state", "present")), current, **kw)


PEERS = [{"mac": ZERO, "dst": "198.51.100.%d" % n} for n in (12, 13)]


@pytest.mark.parametrize("entries, current, kw, expected", [
    # seed 001: one append per peer, nothing when they are there
    (PEERS, [], {}, ["append 00:00:00:00:00:00 dst 198.51.100.12 self permanent on vxlan0",
                     "append 00:00:00:00:00:00 dst 198.51.100.13 self permanent on vxlan0"]),
    (PEERS, [remote(ZERO, "198.51.100.12"), remote(ZERO, "198.51.100.13")], {}, []),
    (PEERS, [remote(ZERO, "198.51.100.12")], {},
     ["append 00:00:00:00:00:00 dst 198.51.100.13 self permanent on vxlan0"]),
    # a peer that left goes only with purge, and only that destination
    (PEERS, [remote(ZERO, "198.51.100.12"), remote(ZERO, "198.51.100.13"), remote(ZERO, "198.51.100.14")], {}, []),
    (PEERS, [remote(ZERO, "198.51.100.12"), remote(ZERO, "198.51.100.13"), remote(ZERO, "198.51.100.14")],
     {"purge": True}, ["delete 00:00:00:00:00:00 dst 198.51.100.14 self permanent from vxlan0"]),
    # the state is the MAC's: a new state is one append (it updates the state)
    (PEERS, [remote(ZERO, "198.51.100.12", "static"), remote(ZERO, "198.51.100.13", "static")], {},
     ["append 00:00:00:00:00:00 dst 198.51.100.12 self permanent on vxlan0 (was 00:00:00:00:00:00 dst "
      "198.51.100.12 self static)",
      "append 00:00:00:00:00:00 dst 198.51.100.13 self permanent on vxlan0 (was 00:00:00:00:00:00 dst "
      "198.51.100.13 self static)"]),
    # unicast MAC, new dst: one replace
    ([{"mac": MAC_A, "dst": "198.51.100.13"}], [remote(MAC_A, "198.51.100.12")], {"purge": True},
     ["replace 02:42:0a:00:00:0a dst 198.51.100.13 self permanent on vxlan0 (was 02:42:0a:00:00:0a dst "
      "198.51.100.12 self permanent)"]),
    ([{"mac": MAC_A, "dst": "198.51.100.12", "vni": 7}], [remote(MAC_A, "198.51.100.12")], {},
     ["replace 02:42:0a:00:00:0a dst 198.51.100.12 vni 7 self permanent on vxlan0 (was 02:42:0a:00:00:0a dst "
      "198.51.100.12 self permanent)"]),
    ([{"mac": MAC_A, "dst": "198.51.100.12", "vni": 42, "port": 4789}], [remote(MAC_A, "198.51.100.12")], {}, []),
    # a peer's MAC changed (flannel #533/#1788): the new one is added before the old one goes
    ([{"mac": MAC_B, "dst": "198.51.100.12"}], [remote(MAC_A, "198.51.100.12")], {"purge": True},
     ["add 02:42:0a:00:00:0b dst 198.51.100.12 self permanent on vxlan0",
      "delete 02:42:0a:00:00:0a dst 198.51.100.12 self permanent from vxlan0"]),
    # learned, extern_learn and kernel-made entries survive purge
    ([], [remote(MAC_A, "198.51.100.12", "dynamic"), remote(MAC_B, "198.51.100.12", flags=["extern_learn"]),
          remote(ZERO, "239.1.1.1", kernel=True)], {"purge": True}, []),
    ([], [remote(MAC_A, "198.51.100.12", "dynamic"), remote(ZERO, "239.1.1.1", kernel=True)],
     {"purge": True, "purge_dynamic": True}, ["delete 02:42:0a:00:00:0a dst 198.51.100.12 self dynamic from vxlan0"]),
    # a listed learned entry becomes the listed state
    ([{"mac": MAC_A, "dst": "198.51.100.12"}], [remote(MAC_A, "198.51.100.12", "dynamic")], {},
     ["replace 02:42:0a:00:00:0a dst 198.51.100.12 self permanent on vxlan0 (was 02:42:0a:00:00:0a dst "
      "198.51.100.12 self dynamic)"]),
])
def test_plan_vxlan(entries, current, kw, expected):
    assert actions(plan(entries, current, **kw)) == expected


@pytest.mark.parametrize("entries, current, kw, expected", [
    ([{"mac": MAC_A, "state": "static"}], [bridged(MAC_A)], {}, []),
    ([{"mac": MAC_A}], [bridged(MAC_A)], {},
     ["replace 02:42:0a:00:00:0a master permanent on vxlan0 (was 02:42:0a:00:00:0a master static)"]),
    # the port's own MAC (kernel), learned entries and the address list stay; a static one goes
    ([], [bridged("aa:aa:aa:aa:aa:04", state="permanent", kernel=True), bridged(MAC_A, state="dynamic"),
          bridged("33:33:00:00:00:01", where="self", state="permanent", kernel=True), bridged(MAC_B)],
     {"purge": True}, ["delete 02:42:0a:00:00:0b master static from vxlan0"]),
    # an entry listed without a vlan stands for its per-VLAN copies
    ([{"mac": MAC_A, "state": "static"}], [bridged(MAC_A), bridged(MAC_A, vlan=1)], {"purge": True}, []),
    ([{"mac": MAC_A, "state": "static", "vlan": 1}], [bridged(MAC_A), bridged(MAC_A, vlan=1)], {"purge": True},
     ["delete 02:42:0a:00:00:0a master static from vxlan0"]),
    ([{"mac": MAC_A, "vlan": 10}], [bridged(MAC_A, vlan=1)], {},
     ["add 02:42:0a:00:00:0a vlan 10 master permanent on vxlan0"]),
])
def test_plan_bridge_port(entries, current, kw, expected):
    assert actions(plan(entries, current, device=VETH_PORT, **kw)) == expected


@pytest.mark.parametrize("entries, current, expected", [
    ([{"mac": ZERO, "dst": "198.51.100.12"}], [remote(ZERO, "198.51.100.12"), remote(ZERO, "198.51.100.13")],
     ["delete 00:00:00:00:00:00 dst 198.51.100.12 self permanent from vxlan0"]),
    ([{"mac": ZERO}], [remote(ZERO, "198.51.100.12"), remote(ZERO, "198.51.100.13")],
     ["delete 00:00:00:00:00:00 dst 198.51.100.12 self permanent from vxlan0",
      "delete 00:00:00:00:00:00 dst 198.51.100.13 self permanent from vxlan0"]),
    ([{"mac": MAC_A, "dst": "198.51.100.99"}], [remote(MAC_A, "198.51.100.12")], []),  # another dst: not this one
    ([{"mac": MAC_A}], [remote(MAC_A, "198.51.100.12")],
     ["delete 02:42:0a:00:00:0a dst 198.51.100.12 self permanent from vxlan0"]),
    ([{"mac": MAC_B}], [remote(MAC_A, "198.51.100.12")], []),
])
def test_plan_absent(entries, current, expected):
    assert actions(plan(entries, current, state="absent")) == expected


def test_invert_restores_what_was_there():
    current = [remote(MAC_A, "198.51.100.12"), remote(ZERO, "198.51.100.14")]
    ops = plan([{"mac": MAC_A, "dst": "198.51.100.13"}, {"mac": ZERO, "dst": "198.51.100.15"}], current, purge=True)
    undo = fdb.invert(ops)
    assert actions(undo) == [
        "append 00:00:00:00:00:00 dst 198.51.100.14 self permanent on vxlan0",
        "delete 00:00:00:00:00:00 dst 198.51.100.15 self permanent from vxlan0",
        "replace 02:42:0a:00:00:0a dst 198.51.100.12 self permanent on vxlan0 (was 02:42:0a:00:00:0a dst "
        "198.51.100.13 self permanent)",
    ]


def test_diff_lists_static_entries_before_and_after():
    current = [remote(ZERO, "198.51.100.12"), remote(ZERO, "198.51.100.14"), remote(MAC_A, "198.51.100.12", "dynamic"),
               remote(ZERO, "239.1.1.1", kernel=True)]
    ops = plan(PEERS, current, purge=True)
    assert fdb.diff("vxlan0", current, ops) == {
        "before": {"device": "vxlan0", "entries": ["00:00:00:00:00:00 dst 198.51.100.12 self permanent",
                                                   "00:00:00:00:00:00 dst 198.51.100.14 self permanent"]},
        "after": {"device": "vxlan0", "entries": ["00:00:00:00:00:00 dst 198.51.100.12 self permanent",
                                                  "00:00:00:00:00:00 dst 198.51.100.13 self permanent"]},
    }


# Requests, byte for byte

def attrs_of(payload):
    found = bulk.attributes(payload, bulk.NDMSG.size, len(payload))
    return {kind: payload[at:at + size] for kind, (at, size) in found.items()}


def test_append_request_carries_the_destination_and_the_append_flag():
    op = plan([{"mac": ZERO, "dst": "198.51.100.12", "vni": 7, "port": 4790, "via": "eth1"}], [])[0]
    msg_type, flags, payload = fdb.request(op, 5)
    assert msg_type == bulk.RTM_NEWNEIGH
    assert flags == bulk.NLM_F_CREATE | bulk.NLM_F_APPEND
    family, ifindex, state, ntf, _type = bulk.NDMSG.unpack_from(payload, 0)
    assert (family, ifindex, state, ntf) == (bulk.AF_BRIDGE, 5, bulk.NUD_PERMANENT | bulk.NUD_NOARP, bulk.NTF_SELF)
    attrs = attrs_of(payload)
    assert attrs[bulk.NDA_LLADDR] == bytes(6)
    assert attrs[bulk.NDA_DST] == bytes([198, 51, 100, 12])
    assert attrs[bulk.NDA_PORT] == struct.pack("!H", 4790)  # network byte order
    assert attrs[bulk.NDA_VNI] == struct.pack("=I", 7)
    assert attrs[bulk.NDA_IFINDEX] == struct.pack("=I", 2)
    assert len(payload) % 4 == 0


def test_unicast_and_bridge_requests_replace_and_deletes_name_the_destination():
    op = plan([{"mac": MAC_A, "dst": "198.51.100.12", "state": "static"}], [])[0]
    _type, flags, payload = fdb.request(op, 5)
    assert flags == bulk.NLM_F_CREATE | bulk.NLM_F_REPLACE
    assert bulk.NDMSG.unpack_from(payload, 0)[2] == bulk.NUD_NOARP | bulk.NUD_REACHABLE
    op = plan([{"mac": MAC_A, "vlan": 10, "state": "static"}], [], device=VETH_PORT)[0]
    _type, flags, payload = fdb.request(op, 4)
    assert bulk.NDMSG.unpack_from(payload, 0)[3] == bulk.NTF_MASTER
    assert attrs_of(payload)[bulk.NDA_VLAN][:2] == struct.pack("=H", 10)
    op = plan([], [remote(ZERO, "198.51.100.14")], purge=True)[0]
    msg_type, flags, payload = fdb.request(op, 5)
    assert (msg_type, flags) == (bulk.RTM_DELNEIGH, 0)
    assert attrs_of(payload)[bulk.NDA_DST] == bytes([198, 51, 100, 14])


def test_check_entries_fills_defaults_and_coerces():
    problems = []
    got = bulk.check_entries([{"mac": MAC_A, "vni": "0x10", "self": "yes"}], fdb.ENTRY_SPEC, problems)
    assert problems == []
    assert got[0]["vni"] == 16 and got[0]["self"] is True and got[0]["state"] == "permanent"
    assert got[0]["dst"] is None
    got = bulk.check_entries([{"mac": MAC_A, "vni": True}], fdb.ENTRY_SPEC, problems)
    assert got == [None] and "vni True is not an integer" in problems[0]


@pytest.mark.parametrize("mac", [MAC_A, ZERO, "01:00:5e:00:00:01"])
def test_the_fast_path_for_a_mac_behind_a_vtep_builds_the_same_entry(mac):
    fast = build([{"mac": mac, "dst": "198.51.100.12"}])[0]
    checked = fdb._Context(target(VXLAN), lookup, "present", []).vxlan_entry_checked(
        0, dict(dict.fromkeys(fdb.ENTRY_SPEC), mac=mac, dst="198.51.100.12"), mac, "permanent")
    assert fast == checked == fdb.make_entry(mac, "self", dst="198.51.100.12", vxlan=True, index=0, given=["dst"])
