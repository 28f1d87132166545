"""overlaynet.vxlan.link on the real kernel: bridges, veth pairs across namespaces, port options."""

from __future__ import annotations

import subprocess
import time

from kernel import delete_netns, dump, link, run_module, sh, sh_json
from seeds import container


def settle(*namespaces, timeout=5.0):
    """Wait until no address is in duplicate address detection any more (it adds routes when it ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(info.get("tentative") for ns in namespaces
                   for entry in sh_json("ip", "-n", ns, "-j", "addr", "show") for info in entry.get("addr_info", [])):
            return
        time.sleep(0.1)
    raise AssertionError("addresses still tentative after %.0f s" % timeout)


def cycle(params, *namespaces):
    """check (changed, nothing moved) -> real (changed) -> again (not changed) -> again in check mode."""
    before = [dump(ns) for ns in namespaces]
    check = run_module("link", params, check=True)
    assert check.get("failed") is not True, check.get("msg")
    assert check["changed"] is True
    assert [dump(ns) for ns in namespaces] == before, "check mode changed the kernel"
    real = run_module("link", params)
    assert real.get("failed") is not True, real.get("msg")
    assert real["changed"] is True
    assert real["actions"] == check["actions"]
    assert real["diff"] == check["diff"]
    again = run_module("link", params)
    assert again["changed"] is False, again["actions"]
    assert run_module("link", params, check=True)["changed"] is False
    return real


def test_bridge_with_options(netns):
    params = {"name": "br0", "kind": "bridge", "mtu": 1450, "up": True, "netns": netns,
              "bridge": {"stp": True, "ageing_time": 123, "forward_delay": 4, "mcast_snooping": False}}
    result = cycle(params, netns)
    got = link(netns, "br0")
    data = got["linkinfo"]["info_data"]
    assert got["linkinfo"]["info_kind"] == "bridge"
    assert got["mtu"] == 1450
    assert "UP" in got["flags"]
    assert (data["stp_state"], data["ageing_time"], data["forward_delay"], data["mcast_snooping"]) == (1, 12300, 400, 0)
    assert result["link"]["bridge"]["ageing_time"] == 123
    assert result["link"]["bridge"]["stp"] is True

    # One option changed: only that one is sent, the others stay.
    changed = run_module("link", dict(params, bridge={"stp": False, "ageing_time": 123}))
    assert changed["actions"] == ["set bridge br0 stp off (was on)"]
    data = link(netns, "br0")["linkinfo"]["info_data"]
    assert (data["stp_state"], data["ageing_time"], data["forward_delay"]) == (0, 12300, 400)


def test_bridge_vlan_filtering_as_far_as_this_kernel_has_it(netns):
    run_module("link", {"name": "br0", "kind": "bridge", "netns": netns})
    off = run_module("link", {"name": "br0", "netns": netns, "bridge": {"vlan_filtering": False}})
    assert off["changed"] is False
    probe = subprocess.run(["ip", "-n", netns, "link", "add", "brprobe", "type", "bridge", "vlan_filtering", "1"],
                           capture_output=True, text=True, check=False)
    on = run_module("link", {"name": "br0", "netns": netns, "bridge": {"vlan_filtering": True}})
    if probe.returncode == 0:
        assert on["changed"] is True
        assert link(netns, "br0")["linkinfo"]["info_data"]["vlan_filtering"] == 1
    else:  # kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse it
        assert on["failed"] is True
        assert on["msg"].startswith("set bridge options failed on link 'br0' in netns %r:" % netns)
        assert "[EOPNOTSUPP]" in on["msg"] or "[ENOTSUP]" in on["msg"]  # one errno, two names


def test_veth_with_peer_in_a_container_namespace_on_a_bridge(make_netns):
    host, box = make_netns("h"), make_netns("c")
    run_module("link", {"name": "br0", "kind": "bridge", "up": True, "netns": host})
    # eth0 exists in the creating namespace: seed 001's reason for eth-tmp; here the peer is made in place.
    sh("ip", "-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    params = {"name": "veth0", "kind": "veth", "netns": host, "master": "br0", "up": True, "mtu": 1450,
              "port": {"hairpin": True, "learning": False, "neigh_suppress": True},
              "peer": {"name": "eth0", "netns": box, "up": True, "mtu": 1450, "mac": "02:00:00:00:10:02"}}
    result = cycle(params, host, box)
    veth = link(host, "veth0")
    assert veth["master"] == "br0"
    assert "UP" in veth["flags"]
    assert veth["mtu"] == 1450
    port = veth["linkinfo"]["info_slave_data"]
    assert (port["hairpin"], port["learning"], port["neigh_suppress"]) == (True, False, True)
    peer = link(box, "eth0")
    assert peer["linkinfo"]["info_kind"] == "veth"
    assert peer["address"] == "02:00:00:00:10:02"
    assert peer["mtu"] == 1450
    assert "UP" in peer["flags"]
    assert peer["link_index"] == veth["ifindex"]
    assert link(host, "eth0")["linkinfo"]["info_kind"] == "veth", "the host's own eth0 was touched"
    assert result["link"]["peer"] == {"name": "eth0", "netns": box, "mtu": 1450, "mac": "02:00:00:00:10:02",
                                      "up": True}
    assert result["link"]["port"] == {"hairpin": True, "learning": False, "neigh_suppress": True}

    # state absent takes both ends
    gone = run_module("link", {"name": "veth0", "state": "absent", "netns": host})
    assert gone["changed"] is True
    assert link(host, "veth0") is None
    assert link(box, "eth0") is None
    assert run_module("link", {"name": "veth0", "state": "absent", "netns": host})["changed"] is False


SEED001 = {"name": "veth0", "kind": "veth", "master": "br0", "up": True, "peer": {"name": "eth0", "up": True}}


def test_seed001_container_made_by_hand_is_recognised(make_netns, prefix):
    host = make_netns("h")
    box = prefix + "s"
    sh("ip", "-n", host, "link", "add", "br0", "type", "bridge")
    try:
        container(host, box, "10.233.0.2/16", "10.233.0.1")
        settle(host, box)  # seeds.container() makes its own namespace, with DAD on
        params = dict(SEED001, netns=host, peer=dict(SEED001["peer"], netns=box))
        before = dump(host), dump(box)
        result = run_module("link", params)
        assert result["changed"] is False, result["actions"]
        assert (dump(host), dump(box)) == before
        assert result["link"]["peer"]["name"] == "eth0"
        assert result["link"]["peer"]["netns"] == box
    finally:
        delete_netns(box)


def test_seed001_half_done_by_hand_is_finished(make_netns):
    host, box = make_netns("h"), make_netns("c")
    sh("ip", "-n", host, "link", "add", "br0", "type", "bridge")
    params = dict(SEED001, netns=host, peer=dict(SEED001["peer"], netns=box))

    # Stopped after `ip link add veth0 type veth peer name eth-tmp`, with an eth0 on the host.
    sh("ip", "-n", host, "link", "add", "veth0", "type", "veth", "peer", "name", "eth-tmp")
    sh("ip", "-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    moved = cycle(params, host, box)
    assert moved["actions"][0] == "move peer eth-tmp from netns %r into netns %r as eth0" % (host, box)
    assert link(host, "eth-tmp") is None
    assert "UP" in link(box, "eth0")["flags"]
    assert link(host, "eth0")["ifname"] == "eth0"

    # Stopped after `ip link set eth-tmp netns ns1`: renamed inside the namespace.
    sh("ip", "-n", box, "link", "set", "eth0", "down")
    sh("ip", "-n", box, "link", "set", "eth0", "name", "eth-tmp")
    renamed = cycle(params, host, box)
    assert renamed["actions"] == ["rename peer eth-tmp to eth0 in netns %r" % box, "set eth0 up in netns %r" % box]
    assert link(box, "eth-tmp") is None
    assert "UP" in link(box, "eth0")["flags"]


def test_existing_link_common_attributes(make_netns):
    host = make_netns("h")
    run_module("link", {"name": "br0", "kind": "bridge", "netns": host})
    sh("ip", "-n", host, "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789")
    params = {"name": "vxlan0", "netns": host, "master": "br0", "up": True, "mtu": 1400,
              "port": {"learning": False, "neigh_suppress": True}}
    cycle(params, host)
    got = link(host, "vxlan0")
    assert (got["master"], got["mtu"], "UP" in got["flags"]) == ("br0", 1400, True)
    assert got["linkinfo"]["info_slave_data"]["learning"] is False
    assert got["linkinfo"]["info_slave_data"]["neigh_suppress"] is True
    assert got["linkinfo"]["info_data"]["id"] == 42, "the vxlan device itself was changed"

    released = run_module("link", {"name": "vxlan0", "netns": host, "master": ""})
    assert released["actions"] == ["release vxlan0 from master br0"]
    assert "master" not in link(host, "vxlan0")

    sh("ip", "-n", host, "link", "set", "lo", "down")
    lo = run_module("link", {"name": "lo", "up": True, "netns": host})
    assert lo["actions"] == ["set lo up"]
    assert "UP" in link(host, "lo")["flags"]


REFUSALS = [
    ({"name": "br0", "kind": "veth", "peer": {"name": "p0"}}, "link 'br0' exists as a bridge link, not veth"),
    ({"name": "v9", "kind": "veth", "master": "br9", "peer": {"name": "p9"}}, "master 'br9' does not exist"),
    ({"name": "v9"}, "link 'v9' does not exist"),
    ({"name": "v9", "kind": "veth", "peer": {"name": "p9", "netns": "nonexistent-ns"}},
     "network namespace 'nonexistent-ns' does not exist"),
    ({"name": "v9", "kind": "veth", "mac": "01:00:00:00:00:01", "peer": {"name": "p9"}}, "multicast address"),
]


def test_refusals_change_nothing(netns):
    run_module("link", {"name": "br0", "kind": "bridge", "netns": netns})
    before = dump(netns)
    for params, message in REFUSALS:
        result = run_module("link", dict(params, netns=netns))
        assert result["failed"] is True, params
        assert message in result["msg"]
    assert dump(netns) == before
