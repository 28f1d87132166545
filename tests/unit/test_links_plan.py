"""The link planner and its spec: pure tables, no kernel."""

from __future__ import annotations

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils.links import (
    LinkSpec,
    LinkState,
    bridge_user_value,
    expected,
    plan,
    view,
)
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError


def link(name, ifindex, kind=None, **kw):
    out = {"name": name, "ifindex": ifindex, "kind": kind, "mtu": 1500, "mac": "02:00:00:00:00:%02x" % ifindex,
           "up": False, "master": None, "peer_ifindex": None, "link_netnsid": None, "bridge": None, "port": None}
    out.update(kw)
    return out


def spec(**params):
    return LinkSpec.from_params(params)


def state(links=(), target=None, peer=None, peer_links=None, same=True):
    by_name = {item["name"]: item for item in links}
    return LinkState(by_name.get(target), by_name, peer,
                     peer_links={i["name"]: i for i in peer_links} if peer_links is not None else None,
                     peer_netns_same=same)


def actions(ops):
    return [(op.action, op.netns, op.target, op.attrs) for op in ops]


BR0 = link("br0", 3, "bridge", up=True, bridge={"stp": 0, "ageing_time": 30000, "forward_delay": 1500,
                                                "vlan_filtering": 0, "mcast_snooping": 1})


@pytest.mark.parametrize(("params", "links", "want"), [
    pytest.param({"name": "br0", "kind": "bridge", "up": True, "bridge": {"stp": True, "ageing_time": 123}}, [],
                 [("create", None, "br0", {"kind": "bridge", "mtu": None, "mac": None,
                                           "bridge": {"stp": 1, "ageing_time": 12300}}),
                  ("up", None, "br0", {"up": True})], id="create-bridge-with-options"),
    pytest.param({"name": "br0", "kind": "bridge", "up": True, "bridge": {"stp": False, "ageing_time": 300}},
                 [BR0], [], id="bridge-as-asked"),
    pytest.param({"name": "br0", "bridge": {"stp": True, "ageing_time": 300}}, [BR0],
                 [("bridge", None, "br0", {"stp": 1})], id="only-the-differing-bridge-option"),
    pytest.param({"name": "br0", "mtu": 1450, "up": False}, [BR0],
                 [("set", None, "br0", {"mtu": 1450}), ("up", None, "br0", {"up": False})], id="mtu-then-down"),
    pytest.param({"name": "v0", "master": "br0", "port": {"hairpin": True}}, [BR0, link("v0", 4, "veth")],
                 [("set", None, "v0", {"master": "br0"}), ("port", None, "v0", {"hairpin": True})],
                 id="enslave-then-port-options"),
    pytest.param({"name": "v0", "port": {"hairpin": True, "learning": True}},
                 [BR0, link("v0", 4, "veth", master="br0",
                            port={"hairpin": False, "learning": True, "neigh_suppress": False})],
                 [("port", None, "v0", {"hairpin": True})], id="port-option-on-existing-port"),
    pytest.param({"name": "v0", "master": ""}, [BR0, link("v0", 4, "veth", master="br0")],
                 [("set", None, "v0", {"master": ""})], id="release-from-master"),
    pytest.param({"name": "v0", "master": ""}, [link("v0", 4, "veth")], [], id="no-master-already"),
    pytest.param({"name": "lo", "up": True}, [link("lo", 1)], [("up", None, "lo", {"up": True})], id="lo-up"),
    pytest.param({"name": "v0", "mac": "02:AA:00:00:00:01"}, [link("v0", 4, "veth")],
                 [("set", None, "v0", {"mac": "02:aa:00:00:00:01"})], id="mac-normalised"),
    pytest.param({"name": "br0", "state": "absent"}, [BR0], [("delete", None, "br0", {})], id="delete"),
    pytest.param({"name": "br0", "state": "absent"}, [], [], id="delete-missing"),
])
def test_plan_single_namespace(params, links, want):
    wanted = spec(**params)
    assert actions(plan(wanted, state(links, params["name"]))) == want


VETH = {"name": "veth0", "kind": "veth", "up": True, "master": "br0", "netns": "h",
        "peer": {"name": "eth0", "netns": "c", "up": True}}


def test_plan_creates_veth_with_peer_in_other_namespace_and_orders_the_steps():
    ops = plan(spec(**VETH), state([BR0], "veth0", peer_links=[], same=False))
    assert actions(ops) == [
        ("create", "h", "veth0", {"kind": "veth", "mtu": None, "mac": None, "bridge": {},
                                  "peer": {"name": "eth0", "netns": "c", "mtu": None, "mac": None}}),
        ("set", "h", "veth0", {"master": "br0"}),
        ("up", "h", "veth0", {"up": True}),
        ("up", "c", "eth0", {"up": True}),
    ]
    assert ops[0].describe() == "create veth link veth0 with peer eth0 in netns 'c'"


def test_plan_creates_veth_with_peer_name_that_exists_in_the_creating_namespace():
    # seed 001 needs eth-tmp because eth0 exists on the host; creating the peer in place does not
    ops = plan(spec(**VETH), state([BR0, link("eth0", 2, "veth")], "veth0", peer_links=[], same=False))
    assert ops[0].action == "create"


def _veth_pair(peer_name="eth0", peer_netns="c", in_place=True, peer_up=True):
    veth = link("veth0", 5, "veth", up=True, master="br0", peer_ifindex=2, link_netnsid=0,
                port={"hairpin": False, "learning": True, "neigh_suppress": False})
    peer = link(peer_name, 2, "veth", up=peer_up, peer_ifindex=5, link_netnsid=0)
    return veth, dict(peer, netns=peer_netns, in_place=in_place), peer


def test_plan_seed001_made_by_hand_is_no_change():
    veth, peer, peer_link = _veth_pair()
    assert plan(spec(**VETH), state([BR0, veth], "veth0", peer, [peer_link, link("lo", 1)], same=False)) == []


def test_plan_renames_a_peer_left_with_its_temporary_name():
    veth, peer, peer_link = _veth_pair(peer_name="eth-tmp", peer_up=False)
    ops = plan(spec(**VETH), state([BR0, veth], "veth0", peer, [peer_link], same=False))
    assert actions(ops) == [("rename", "c", "eth-tmp", {"name": "eth0"}), ("up", "c", "eth0", {"up": True})]


def test_plan_moves_a_peer_still_in_the_creating_namespace_and_renames_it_in_one_step():
    veth = link("veth0", 5, "veth", up=True, master="br0", peer_ifindex=6)
    tmp = link("eth-tmp", 6, "veth", up=True, peer_ifindex=5)
    peer = dict(tmp, netns="h", in_place=False)
    ops = plan(spec(**VETH), state([BR0, veth, tmp, link("eth0", 7, "veth")], "veth0", peer, [], same=False))
    # eth0 exists in h, yet eth-tmp goes to c as eth0; moving sets it down, so it is brought up again
    assert actions(ops) == [("move", "h", "eth-tmp", {"netns": "c", "name": "eth0"}),
                            ("up", "c", "eth0", {"up": True})]
    after = expected(spec(**VETH), state([BR0, veth, tmp], "veth0", peer, [], same=False))
    assert after["peer"]["netns"] == "c"
    assert after["peer"]["name"] == "eth0"


def test_plan_refuses_a_peer_name_taken_by_another_link():
    veth, peer, peer_link = _veth_pair(peer_name="eth-tmp")
    other = link("eth0", 9, "veth")
    with pytest.raises(OverlayError, match=r"peer\.name 'eth0' is already taken in netns 'c'"):
        plan(spec(**VETH), state([BR0, veth], "veth0", peer, [peer_link, other], same=False))


def test_plan_refuses_a_peer_in_a_namespace_without_name():
    veth = link("veth0", 5, "veth", peer_ifindex=2, link_netnsid=3)
    peer = {"netns": "?", "name": None, "ifindex": 2, "nsid": 3, "in_place": False}
    with pytest.raises(OverlayError, match="no name under /run/netns"):
        plan(spec(**VETH), state([BR0, veth], "veth0", peer, [], same=False))


def test_plan_peer_attributes_in_its_namespace():
    veth, peer, peer_link = _veth_pair()
    params = dict(VETH)
    params["peer"] = {"name": "eth0", "netns": "c", "mtu": 1450, "up": True}
    wanted = spec(**params)
    ops = plan(wanted, state([BR0, veth], "veth0", peer, [peer_link], same=False))
    assert actions(ops) == [("set", "c", "eth0", {"mtu": 1450})]
    assert ops[0].describe() == "set peer eth0 mtu 1450 (was 1500) in netns 'c'"


@pytest.mark.parametrize(("params", "links", "message"), [
    ({"name": "x0"}, [], "link 'x0' does not exist in this namespace; set kind"),
    ({"name": "br0", "kind": "veth", "peer": {"name": "p"}}, [BR0], "exists as a bridge link, not veth"),
    ({"name": "v0", "kind": "veth", "master": "br9", "peer": {"name": "p"}}, [], "master 'br9' does not exist"),
    ({"name": "v0", "port": {"learning": False}}, [link("v0", 4, "veth")], "set master"),
    ({"name": "v0", "master": "v1", "port": {"learning": False}}, [link("v0", 4, "veth"), link("v1", 5, "veth")],
     "need a bridge master, but 'v1' is a veth link"),
    ({"name": "v0", "bridge": {"stp": True}}, [link("v0", 4, "veth")], "link 'v0' is a veth link"),
    ({"name": "v0", "kind": "veth", "peer": {"name": "v0"}}, [], "is the link's own name"),
    ({"name": "v0", "kind": "veth", "peer": {"name": "v1"}}, [link("v1", 7, "bridge")],
     "peer.name 'v1' is already taken in this namespace by another bridge link"),
    ({"name": "br0", "kind": "veth", "state": "absent"}, [BR0], "not deleting it"),
])
def test_plan_refuses_before_any_change(params, links, message):
    with pytest.raises(OverlayError, match=message):
        plan(spec(**params), state(links, params["name"]))


@pytest.mark.parametrize(("params", "message"), [
    ({"name": "a-name-that-is-too-long"}, "Linux interface names have at most 15"),
    ({"name": "a/b"}, "not a legal interface name"),
    ({"name": "v0", "mac": "01:00:5e:00:00:01"}, "mac '01:00:5e:00:00:01' is a multicast address"),
    ({"name": "v0", "mac": "zz"}, "mac 'zz' is not a MAC address"),
    ({"name": "v0", "mtu": 10}, "mtu 10 is not an MTU"),
    ({"name": "v0", "kind": "veth"}, "kind veth needs peer"),
    ({"name": "v0", "kind": "veth", "bridge": {"stp": True}, "peer": {"name": "p"}}, "bridge options are for kind bridge"),
    ({"name": "v0", "kind": "bridge", "peer": {"name": "p"}}, "peer is for kind veth"),
    ({"name": "v0", "master": "", "port": {"hairpin": True}}, "master is '' (no master)"),
    ({"name": "v0", "state": "absent", "mtu": 1400}, "state absent deletes the link; remove mtu"),
    ({"name": "v0", "bridge": {"ageing_time": -1}}, "bridge.ageing_time -1 is not a number of seconds"),
    ({"name": "v0", "kind": "veth", "peer": {"name": "p", "netns": "a/b"}}, "peer.netns 'a/b'"),
    ({"name": "v0", "kind": "veth", "peer": {"name": "p", "mac": "ff:ff:ff:ff:ff:ff"}}, "peer.mac"),
])
def test_spec_errors_name_the_option_and_value(params, message):
    with pytest.raises(OverlayError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec(**params)


def test_spec_collects_every_error():
    with pytest.raises(OverlayError) as info:
        spec(name="v0", mtu=1, mac="x")
    assert "mtu 1" in str(info.value)
    assert "mac 'x'" in str(info.value)


def test_spec_peer_defaults_to_the_link_namespace():
    wanted = spec(name="v0", kind="veth", netns="h", peer={"name": "p"})
    assert wanted.peer.netns == "h"


@pytest.mark.parametrize(("option", "kernel", "user"), [
    ("stp", 1, True), ("ageing_time", 30000, 300), ("forward_delay", 250, 2.5), ("vlan_filtering", 0, False),
])
def test_bridge_values_in_user_units(option, kernel, user):
    assert bridge_user_value(option, kernel) == user


def test_view_and_expected_render_the_diff():
    wanted = spec(name="br0", mtu=1450, bridge={"stp": True})
    current = state([BR0], "br0")
    before = view(wanted, current)
    after = expected(wanted, current)
    assert before["mtu"] == 1500
    assert before["bridge"]["stp"] is False
    assert after["mtu"] == 1450
    assert after["bridge"]["stp"] is True
    assert after["bridge"]["ageing_time"] == 300
    assert expected(spec(name="br0", state="absent"), current) == {"name": "br0", "state": "absent"}
