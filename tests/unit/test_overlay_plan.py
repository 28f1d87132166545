"""The aggregate overlay planner, pure: option paths, cross-part checks, planning against devices the
call creates, apply order, and the inverses the undo uses. No kernel."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils import addresses, bulk, links, overlay, routes, vxlan
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError

ETH1 = {"name": "eth1", "ifindex": 2, "kind": "veth", "mtu": 1500, "mac": "aa:aa:aa:aa:aa:02", "up": True,
        "master": None, "peer_ifindex": 3, "link_netnsid": None, "bridge": None, "port": None}


def params(**parts):
    """The module's parameters as AnsibleModule hands them over (defaults filled in)."""
    result = {"netns": "lab", "state": parts.pop("state", "present")}
    for part in overlay.PARTS:
        items = []
        for item in parts.get(part, []):
            full = {name: option.get("default") for name, option in overlay.ARGUMENT_SPEC[part]["options"].items()}
            full.update(item)
            items.append(full)
        result[part] = items
    return result


def empty_host(**extra):
    """A namespace holding only the underlay eth1."""
    return overlay.Current(links={"eth1": ETH1}, **extra)


SEED002 = {
    "bridges": [{"name": "br0", "up": True}],
    "vxlan": [{"name": "vxlan11", "vni": 11, "remote": "198.51.100.12", "local": "198.51.100.11", "dev": "eth1",
               "up": True, "master": "br0"}],
    "addresses": [{"dev": "br0", "addresses": [{"address": "10.244.1.1/24"}]},
                  {"dev": "vxlan11", "addresses": [{"address": "10.244.1.0/32"}]}],
    "neigh": [{"device": "vxlan11", "entries": [{"address": "10.244.2.0", "lladdr": "02:00:00:00:02:00"}]}],
    "fdb": [{"device": "vxlan11", "entries": [{"mac": "02:00:00:00:02:00", "dst": "198.51.100.12"},
                                              {"mac": "00:00:00:00:00:00", "dst": "198.51.100.13"}]}],
    "routes": [{"routes": [{"dst": "10.244.2.0/24", "via": "10.244.2.0", "dev": "vxlan11", "onlink": True}]}],
}


# ---------------------------------------------------------------------------------------------
# The argument spec mirrors the single modules


def test_each_part_takes_its_single_modules_options_less_netns_and_state():
    assert set(overlay.VXLAN_SPEC) == set(vxlan.ARGUMENT_SPEC) - {"netns", "state"}
    assert set(overlay.BRIDGE_SPEC) == {"name", "mtu", "mac", "up", "bridge"}
    assert set(overlay.ADDRESSES_SPEC) == {"dev", "addresses", "purge"}
    assert set(overlay.ROUTES_SPEC) == {"routes", "dev", "table", "purge"}
    assert set(overlay.ENTRY_TABLE_SPEC) == {"device", "entries", "purge", "purge_dynamic"}


# ---------------------------------------------------------------------------------------------
# Option paths


@pytest.mark.parametrize("part, message, expected", [
    ("bridges", "mtu 5 is not an MTU (an integer from 68 to 65535)",
     ["bridges[0].mtu 5 is not an MTU (an integer from 68 to 65535)"]),
    ("fdb", "invalid FDB entries for device 'vxlan0': entries[3]: mac 'zz' is not a MAC address like 02:42:0a:00:00:03",
     ["fdb[0].entries[3].mac 'zz' is not a MAC address like 02:42:0a:00:00:03"]),
    ("fdb", "invalid FDB entries for device 'vxlan0': entries[1] duplicates entries[0] (x self permanent)",
     ["fdb[0].entries[1] duplicates fdb[0].entries[0] (x self permanent)"]),
    ("neigh", "invalid neighbour entries for device 'v': entries[0]: lladdr 'q' is not a MAC; entries[2]: unknown key x",
     ["neigh[0].entries[0].lladdr 'q' is not a MAC", "neigh[0].entries[2]: unknown key x"]),
    ("addresses", "addresses[1].address 'x' is not an IP address; dev 'a/b' is not a legal interface name",
     ["addresses[0].addresses[1].address 'x' is not an IP address", "addresses[0].dev 'a/b' is not a legal interface name"]),
    ("routes", "routes[2].via '1.2.3' is not an IP address",
     ["routes[0].routes[2].via '1.2.3' is not an IP address"]),
    ("vxlan", "vni 16777216 is out of range: a 24-bit VXLAN network identifier is 0..16777215",
     ["vxlan[0].vni 16777216 is out of range: a 24-bit VXLAN network identifier is 0..16777215"]),
    ("vxlan", "no link named 'eth9' here", ["vxlan[0]: no link named 'eth9' here"]),
])
def test_messages_name_the_option_path(part, message, expected):
    assert overlay.at(part, 0, message) == expected


def test_build_spec_reports_every_bad_part_with_its_path():
    bad = dict(SEED002)
    bad["bridges"] = [{"name": "br0", "mtu": 5}]
    bad["vxlan"] = [{"name": "vxlan11", "vni": 1 << 24}]
    bad["addresses"] = [{"dev": "br0", "addresses": [{"address": "10.0.0.1/24"}, {"address": "nope"}]}]
    bad["routes"] = [{"routes": [{"dst": "10.9.0.0/16", "via": "1.2.3"}]}]
    with pytest.raises(OverlayError) as caught:
        overlay.build_spec(params(**bad))
    text = str(caught.value)
    for path in ("bridges[0].mtu", "vxlan[0].vni", "addresses[0].addresses[1].address", "routes[0].routes[0].via"):
        assert path in text, text


@pytest.mark.parametrize("change, message", [
    ({"bridges": [{"name": "vxlan11"}]}, "vxlan[0].name 'vxlan11' is also bridges[0].name"),
    ({"addresses": [{"dev": "br0", "addresses": []}, {"dev": "br0", "addresses": []}]},
     "addresses[1].dev 'br0' is also addresses[0].dev"),
    ({"fdb": [{"device": "vxlan11"}, {"device": "vxlan11"}]}, "fdb[1].device 'vxlan11' is also fdb[0].device"),
    ({"routes": [{"routes": [{"dst": "10.1.0.0/16", "dev": "br0"}]}, {"routes": [{"dst": "10.1.0.0/16"}]}]},
     "routes[1].routes[0]: 10.1.0.0/16 (table main, metric 0) is also routes[0].routes[0]"),
    ({"neigh": [{"device": "vxlan11", "purge_dynamic": True}]}, "neigh[0]: purge_dynamic=true needs purge=true"),
])
def test_cross_part_problems(change, message):
    with pytest.raises(OverlayError, match=r".*") as caught:
        overlay.build_spec(params(**{**SEED002, **change}))
    assert message in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Planning against devices this call creates


def test_everything_planned_on_an_empty_host_in_dependency_order():
    spec = overlay.build_spec(params(**SEED002))
    the_plan = overlay.plan(spec, empty_host())
    assert [step.label for step in the_plan.steps] == [
        "bridges[0]", "vxlan[0]", "addresses[0]", "addresses[1]", "neigh[0]", "fdb[0]", "routes[0]"]
    assert the_plan.fresh == {"br0": "bridge", "vxlan11": "vxlan"}
    actions = the_plan.actions()
    assert actions[:2] == ["create bridge link br0", "set br0 up"]
    assert actions[2].startswith("create vxlan link vxlan11 in netns 'lab': id 11 remote 198.51.100.12")
    assert "set vxlan11 in netns 'lab' master br0" in actions
    assert actions[-4:] == [
        "add 10.244.2.0 lladdr 02:00:00:00:02:00 permanent on vxlan11",
        "add 02:00:00:00:02:00 dst 198.51.100.12 self permanent on vxlan11",
        "append 00:00:00:00:00:00 dst 198.51.100.13 self permanent on vxlan11",
        "add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0",
    ]
    assert the_plan.changed


def test_a_device_neither_there_nor_created_fails_with_the_path():
    spec = overlay.build_spec(params(addresses=[{"dev": "vx9", "addresses": [{"address": "10.0.0.1/32"}]}],
                                     fdb=[{"device": "vx9", "entries": [{"mac": "02:00:00:00:00:01", "dst": "1.1.1.1"}]}],
                                     routes=[{"routes": [{"dst": "10.2.0.0/16", "dev": "vx9"}]}]))
    with pytest.raises(OverlayError) as caught:
        overlay.plan(spec, empty_host())
    text = str(caught.value)
    assert "addresses[0].dev 'vx9' does not exist in network namespace 'lab' and is not created by this call" in text
    assert "fdb[0].device 'vx9' does not exist" in text
    assert "routes[0]: no link called 'vx9'" in text


def test_fdb_entries_are_validated_against_the_vxlan_link_to_be_created():
    six = {**SEED002, "fdb": [{"device": "vxlan11", "entries": [
        {"mac": "02:00:00:00:02:00", "dst": "198.51.100.12"},
        {"mac": "02:00:00:00:02:01", "dst": "2001:db8::1"},
        {"mac": "02:00:00:00:02:02", "dst": "198.51.100.12", "vni": 11, "port": 4789}]}]}
    with pytest.raises(OverlayError) as caught:
        overlay.plan(overlay.build_spec(params(**six)), empty_host())
    assert "fdb[0].entries[1].dst 2001:db8::1 is IPv6 but vxlan 'vxlan11' is an IPv4 device" in str(caught.value)
    # the device's own VNI and port are normalised away, as the kernel dumps them
    ok = {**six, "fdb": [{"device": "vxlan11", "entries": [six["fdb"][0]["entries"][2]]}]}
    (step,) = [s for s in overlay.plan(overlay.build_spec(params(**ok)), empty_host()).steps if s.part == "fdb"]
    assert step.actions() == ["add 02:00:00:00:02:02 dst 198.51.100.12 self permanent on vxlan11"]


def test_master_entries_on_a_new_port_of_a_new_bridge():
    spec = overlay.build_spec(params(**{**SEED002, "fdb": [{"device": "vxlan11", "entries": [
        {"mac": "02:00:00:00:02:09", "master": True, "state": "static"}]}]}))
    (step,) = [s for s in overlay.plan(spec, empty_host()).steps if s.part == "fdb"]
    assert step.actions() == ["add 02:00:00:00:02:09 master static on vxlan11"]


def test_absent_plans_in_reverse_and_skips_what_is_not_there():
    spec = overlay.build_spec(params(state="absent", **SEED002))
    the_plan = overlay.plan(spec, empty_host())
    assert [step.part for step in the_plan.steps] == [
        "routes", "fdb", "neigh", "addresses", "addresses", "vxlan", "bridges"]
    assert not the_plan.changed
    assert the_plan.actions() == []


def test_a_purge_leaves_the_routes_another_part_lists():
    spec = overlay.build_spec(params(routes=[
        {"routes": [{"dst": "10.1.0.0/16", "via": "192.0.2.1", "dev": "eth1"}]},
        {"purge": True, "routes": [{"dst": "10.2.0.0/16", "via": "192.0.2.1", "dev": "eth1"}]}]))

    def route(dst):
        return {"family": "ipv4", "dst": dst, "table": 254, "metric": 0, "via": "192.0.2.1", "dev": "eth1",
                "onlink": False, "src": None, "scope": "global", "type": "unicast", "protocol": "boot",
                "encap": None, "multipath": False, "tos": 0}

    current = empty_host(routes=[route("10.1.0.0/16"), route("10.3.0.0/16")])
    steps = overlay.plan(spec, current).steps
    assert [step.actions() for step in steps] == [
        [], ["delete route 10.3.0.0/16 via 192.0.2.1 dev eth1 table main metric 0",
             "add route 10.2.0.0/16 via 192.0.2.1 dev eth1 table main metric 0"]]


def test_diff_views_per_part():
    the_plan = overlay.plan(overlay.build_spec(params(**SEED002)), empty_host())
    before, after = overlay.views(the_plan)
    assert set(before) == set(after) == set(overlay.PARTS)
    assert before["bridges"] == [{"name": "br0", "state": "absent"}]
    assert after["addresses"][1] == {"dev": "vxlan11", "addresses": ["10.244.1.0/32"]}
    assert after["fdb"][0]["entries"] == ["00:00:00:00:00:00 dst 198.51.100.13 self permanent",
                                          "02:00:00:00:02:00 dst 198.51.100.12 self permanent"]


# ---------------------------------------------------------------------------------------------
# Inverses


def test_route_inverses():
    entry = routes.RouteSpec.from_params({"routes": [{"dst": "10.244.2.0/24", "via": "10.244.2.0", "dev": "vxlan11",
                                                      "onlink": True}]}).entries[0]
    (undo,) = overlay.invert_route_op(routes.RouteOp("add", entry))
    assert undo.describe() == "delete route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0"
    old = overlay.entry_route(entry)
    (undo,) = overlay.invert_route_op(routes.RouteOp("delete", route=old))
    assert undo.describe() == "add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink scope global table main metric 0"
    assert (undo.entry.family, undo.entry.key) == (socket.AF_INET, entry.key)
    (undo,) = overlay.invert_route_op(routes.RouteOp("replace", entry, dict(old, via="10.244.2.9", onlink=False)))
    assert undo.describe() == "replace route 10.244.2.0/24 via 10.244.2.9 dev vxlan11 scope global table main metric 0"


def test_link_inverses():
    bridge = {"name": "br0", "kind": "bridge", "mtu": 1450, "mac": "02:00:00:00:00:0b", "up": True,
              "bridge": {"stp": 0, "ageing_time": 30000}}
    create = links.LinkOp("create", "lab", "br0", {"kind": "bridge"})
    assert [op.action for op in overlay.invert_link_op(create, None)] == ["delete"]
    (undo,) = overlay.invert_link_op(links.LinkOp("set", "lab", "br0", {"mtu": 1400}), bridge)
    assert undo.attrs == {"mtu": 1450}
    (undo,) = overlay.invert_link_op(links.LinkOp("up", "lab", "br0", {"up": False}), bridge)
    assert undo.attrs == {"up": True}
    (undo,) = overlay.invert_link_op(links.LinkOp("bridge", "lab", "br0", {"ageing_time": 100}), bridge)
    assert undo.attrs == {"ageing_time": 30000}
    restore = overlay.invert_link_op(links.LinkOp("delete", "lab", "br0"), bridge, ["veth0"])
    assert [(op.action, op.target, op.attrs.get("master")) for op in restore] == [
        ("create", "br0", None), ("set", "veth0", "br0"), ("up", "br0", None)]
    assert restore[0].attrs == {"kind": "bridge", "mtu": 1450, "mac": "02:00:00:00:00:0b",
                                "bridge": {"stp": 0, "ageing_time": 30000}}


def test_address_restore_spec_takes_a_device_back():
    before = [{"address": "10.244.1.0/32", "family": "ipv4", "broadcast": "", "scope": "global", "secondary": False}]
    now = [{"address": "10.244.1.5/32", "family": "ipv4", "broadcast": "", "scope": "global", "secondary": False}]
    ops = addresses.plan(overlay.restore_spec("vxlan11", before), now)
    assert [op.describe() for op in ops] == ["delete 10.244.1.5/32 dev vxlan11", "add 10.244.1.0/32 dev vxlan11"]
    assert addresses.plan(overlay.restore_spec("vxlan11", before), before) == []


def test_vxlan_info_of_a_link_to_be_created():
    spec = vxlan.build_spec({"name": "flannel.1", "vni": 1, "dstport": 8472, "local": "2001:db8::1", "learning": False})
    assert overlay._vxlan_info(spec) == {"vni": 1, "port": 8472, "family": bulk.AF_INET6, "external": False,
                                         "learning": False, "default_dst": None, "default_via": 0}
