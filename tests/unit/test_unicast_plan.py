"""The unicast role's planner, pure: what every host's overlay call holds, and every way its input can be wrong."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.overlaynet.vxlan.plugins.filter.overlay import overlay_subnets, vtep_mac
from ansible_collections.overlaynet.vxlan.plugins.filter.unicast import unicast_plan

ZERO = "00:00:00:00:00:00"


def settings(**changes):
    base = {"mode": "point_to_point", "vni": 11, "dstport": 4789, "device": "vxlan11", "bridge": "br0",
            "underlay": "eth1", "mtu": 0, "network": "10.244.0.0/16", "subnet_length": 24, "gateway": "10.233.0.1/16",
            "static_neighbors": False, "peers_group": "", "group_known": True, "members": ["h1", "h2", "h3"]}
    base.update(changes)
    return base


def records(count=3, play=None, host_vars=None, **changes):
    """Published records of h1..h<count>, the play hosts with the same settings."""
    names = ["h%d" % n for n in range(1, count + 1)]
    shared = settings(members=names, **changes)
    out = {}
    for n, name in enumerate(names, 1):
        out[name] = {"overlay_vtep_address": "192.0.2.%d" % (10 + n), "facts_vtep": "", "unicast_vtep_mac": None,
                     "unicast_subnet": None, "unicast_endpoints": []}
        if play is None or name in play:
            out[name]["settings"] = dict(shared)
        out[name].update((host_vars or {}).get(name, {}))
    return out


def test_point_to_point_beyond_two_hosts_is_flannels_pattern():
    plan = unicast_plan(records(), "h1")
    subnets = overlay_subnets({h: {} for h in ("h1", "h2", "h3")}, "10.244.0.0/16", 24)
    h1 = plan["h1"]
    assert h1["remote"] == ""
    assert h1["overlay"]["vxlan"] == [{"name": "vxlan11", "vni": 11, "dstport": 4789, "dev": "eth1", "learning": False,
                                       "up": True, "local": "192.0.2.11", "mac": vtep_mac("h1/11")}]
    peers = [("h2", "192.0.2.12"), ("h3", "192.0.2.13")]
    assert h1["overlay"]["routes"] == [{"dev": "vxlan11", "purge": True, "routes": [
        {"dst": subnets[h], "via": subnets[h].split("/")[0], "onlink": True} for h, _vtep in peers]}]
    assert h1["overlay"]["neigh"] == [{"device": "vxlan11", "purge": True, "entries": [
        {"address": subnets[h].split("/")[0], "lladdr": vtep_mac("%s/11" % h), "state": "permanent"} for h, _vtep in peers]}]
    assert h1["overlay"]["fdb"] == [{"device": "vxlan11", "purge": True, "entries": [
        {"mac": vtep_mac("%s/11" % h), "dst": vtep} for h, vtep in peers]}]
    network = subnets["h1"].split("/")[0]
    gateway = network.rsplit(".", 1)[0] + ".1/24"
    assert h1["overlay"]["addresses"] == [{"dev": "br0", "addresses": [{"address": gateway}], "purge": True},
                                          {"dev": "vxlan11", "addresses": [{"address": network + "/32"}], "purge": True}]
    assert h1["facts"] == {"mode": "point_to_point", "device": "vxlan11", "bridge": "br0", "vni": 11, "dstport": 4789,
                           "vtep": "192.0.2.11", "vtep_mac": vtep_mac("h1/11"), "subnet": subnets["h1"],
                           "gateway": gateway.split("/")[0], "gateway_cidr": gateway, "peers": ["h2", "h3"]}


def test_two_hosts_are_exactly_seed_002():
    plan = unicast_plan(records(2), "h1")
    device = plan["h1"]["overlay"]["vxlan"][0]
    assert (device["remote"], device["local"], device["learning"]) == ("192.0.2.12", "192.0.2.11", True)
    assert plan["h1"]["remote"] == "192.0.2.12"
    assert plan["h1"]["overlay"]["neigh"][0]["entries"] == [] and plan["h1"]["overlay"]["fdb"][0]["entries"] == []
    assert len(plan["h1"]["overlay"]["routes"][0]["routes"]) == 1


def test_head_end_has_one_flood_entry_per_peer_and_static_neighbours_per_endpoint():
    endpoints = {"h2": {"unicast_endpoints": [{"address": "10.233.0.3/16", "mac": "02:AA:00:00:00:03"}]}}
    plan = unicast_plan(records(3, host_vars=endpoints, mode="head_end", vni=42, device="vxlan0",
                                static_neighbors=True, mtu=1400), "h1")
    h1 = plan["h1"]["overlay"]
    assert h1["vxlan"] == [{"name": "vxlan0", "vni": 42, "dstport": 4789, "dev": "eth1", "learning": False, "up": True,
                            "mtu": 1400, "master": "br0"}]
    assert h1["bridges"] == [{"name": "br0", "up": True, "mac": vtep_mac("h1/br0"), "mtu": 1400}]
    assert h1["fdb"][0]["entries"] == [{"mac": ZERO, "dst": "192.0.2.12"}, {"mac": ZERO, "dst": "192.0.2.13"},
                                       {"mac": "02:aa:00:00:00:03", "dst": "192.0.2.12"}]
    assert h1["neigh"] == [{"device": "br0", "purge": True, "entries": [
        {"address": "10.233.0.3", "lladdr": "02:aa:00:00:00:03", "state": "permanent"}]}]
    assert h1["routes"] == [] and h1["addresses"] == [
        {"dev": "br0", "addresses": [{"address": "10.233.0.1/16"}], "purge": True}]
    assert plan["h1"]["facts"]["subnet"] is None and plan["h1"]["facts"]["vtep_mac"] is None
    assert plan["h2"]["overlay"]["fdb"][0]["entries"] == [{"mac": ZERO, "dst": "192.0.2.11"},
                                                          {"mac": ZERO, "dst": "192.0.2.13"}]


def test_members_outside_the_play_are_peers_and_get_no_plan_of_their_own():
    plan = unicast_plan(records(3, play={"h1"}), "h1")
    assert set(plan) == {"h1"}
    assert plan["h1"]["facts"]["peers"] == ["h2", "h3"]


def test_vtep_from_facts_and_asked_subnets_and_macs_are_kept():
    host_vars = {"h2": {"overlay_vtep_address": None, "facts_vtep": "198.51.100.2",
                        "unicast_subnet": "10.244.77.0/24", "unicast_vtep_mac": "02:00:00:00:77:01"}}
    h1 = unicast_plan(records(3, host_vars=host_vars), "h1")["h1"]["overlay"]
    assert {"dst": "10.244.77.0/24", "via": "10.244.77.0", "onlink": True} in h1["routes"][0]["routes"]
    assert {"mac": "02:00:00:00:77:01", "dst": "198.51.100.2"} in h1["fdb"][0]["entries"]


@pytest.mark.parametrize(("changes", "host_vars", "message"), [
    ({"vni": "16777216"}, {}, "unicast_vni must be a VXLAN network identifier, 0 to 16777215 (is 16777216)"),
    ({"vni": "x"}, {}, "unicast_vni must be a VXLAN network identifier"),
    ({"dstport": 0}, {}, "unicast_dstport must be a UDP port, 1 to 65535 (is 0)"),
    ({"device": "a/b"}, {}, 'unicast_device must be an interface name of 1 to 15 characters without "/", ":" or blanks'),
    ({"underlay": "x" * 16}, {}, "unicast_underlay_interface must be an interface name"),
    ({"bridge": "vxlan11"}, {}, "unicast_device and unicast_bridge must differ (both are vxlan11)"),
    ({"mtu": 20}, {}, "unicast_mtu must be 0 (kernel default) or 68 to 65535 (is 20)"),
    ({"network": "10.244.0.1/16"}, {}, "unicast_network 10.244.0.1/16 has host bits set"),
    ({"network": "10.244.0.0"}, {}, "unicast_network must be an IPv4 network in CIDR form"),
    ({"subnet_length": 8}, {}, "unicast_subnet_length must be longer than the prefix of unicast_network (16)"),
    ({"network": "192.0.0.0/16"}, {}, "unicast_network 192.0.0.0/16 overlaps the underlay: it holds the VTEP "
                                      "address 192.0.2.11 of h1"),
    ({}, {"h2": {"unicast_subnet": "10.99.1.0/24"}},
     "h2: unicast_subnet 10.99.1.0/24 must be a /24 network inside unicast_network 10.244.0.0/16"),
    ({}, {"h2": {"unicast_subnet": "ten"}}, "h2: unicast_subnet must be an IPv4 network in CIDR form"),
    ({}, {"h2": {"unicast_subnet": "10.244.5.0/24"}, "h3": {"unicast_subnet": "10.244.5.0/24"}},
     "both claim subnet 10.244.5.0/24"),
    ({}, {"h3": {"unicast_vtep_mac": "01:00:5e:00:00:01"}}, "h3: unicast_vtep_mac must be a unicast MAC address"),
    ({}, {"h2": {"overlay_vtep_address": "192.0.2.300"}}, "h2: overlay_vtep_address must be an IPv4 address"),
    ({}, {"h3": {"overlay_vtep_address": None}}, "No VTEP address for h3: set overlay_vtep_address, or give eth1"),
    ({"mode": "head_end", "gateway": "10.233.0.1"}, {}, "unicast_gateway must be an IPv4 address with its prefix length"),
    ({"mode": "head_end"}, {"h2": {"unicast_endpoints": [{"address": "10.233.0.9", "mac": "01:00:5e:00:00:01"}]}},
     "h2: unicast_endpoints[0].mac must be a unicast MAC address"),
    ({"mode": "head_end"}, {"h2": {"unicast_endpoints": [{"mac": "02:00:00:00:00:01"}]}},
     "h2: unicast_endpoints[0].address must be an IPv4 address (is missing)"),
    ({"group_known": False, "peers_group": "nope"}, {}, "unicast_peers_group nope is not a group of the inventory"),
])
def test_bad_input_fails_with_a_message_naming_the_variable(changes, host_vars, message):
    with pytest.raises(AnsibleFilterError) as caught:
        unicast_plan(records(3, host_vars=host_vars, **changes), "h1")
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(AnsibleFilterError) as caught:
        unicast_plan(records(3, host_vars={"h2": {"unicast_subnet": "x"}}, vni=-1, dstport=70000), "h1")
    text = str(caught.value)
    assert "unicast_vni" in text and "unicast_dstport" in text and "h2: unicast_subnet" in text


def test_play_hosts_with_other_settings_or_outside_the_group_are_refused():
    mixed = records(3)
    mixed["h3"]["settings"] = dict(mixed["h3"]["settings"], vni=12)
    with pytest.raises(AnsibleFilterError, match="h1 and h3 are in one play with different unicast_vni"):
        unicast_plan(mixed, "h1")
    outside = records(2)
    outside["h9"] = dict(outside["h1"], settings=dict(outside["h1"]["settings"]))
    with pytest.raises(AnsibleFilterError, match="h9: this host is not in unicast_peers_group"):
        unicast_plan(outside, "h1")


def test_absent_gives_the_facts_without_checking_anything():
    broken = records(3, host_vars={"h3": {"overlay_vtep_address": None}}, vni="x")
    facts = unicast_plan(broken, "h1", "absent")["h1"]["facts"]
    subnets = overlay_subnets({h: {} for h in ("h1", "h2", "h3")}, "10.244.0.0/16", 24)
    assert (facts["bridge"], facts["vni"], facts["subnet"]) == ("br0", "x", subnets["h1"])
    assert facts["gateway_cidr"] == subnets["h1"].rsplit(".", 2)[0] + "." + subnets["h1"].split(".")[2] + ".1/24"
    head_end = unicast_plan(records(2, mode="head_end"), "h2", "absent")["h2"]["facts"]
    assert (head_end["gateway"], head_end["subnet"], head_end["peers"]) == ("10.233.0.1", None, ["h1"])
