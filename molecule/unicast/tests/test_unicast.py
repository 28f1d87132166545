"""The routed point-to-point overlay as each host's kernel has it (testinfra, through the scenario's inventory)."""

from __future__ import annotations

import json
import os

import overlay  # molecule/resources/tests, on pytest's pythonpath (pytest.ini)
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])).get_hosts("lab")

EXPECTED_VNI = int(os.environ.get("EXPECTED_VNI", "11"))


def gateway(host):
    """The host's subnet gateway (.1 on the bridge)."""
    return json.loads(host.check_output("ip -j addr show dev br0"))[0]["addr_info"][0]["local"]


def test_the_scenario_has_its_three_hosts():
    assert len(testinfra_hosts) == 3


def test_vxlan_device_carries_the_subnets_network_address(host):
    info = overlay.vxlan(host, "vxlan11")
    assert (info["id"], info["port"], info["link"]) == (EXPECTED_VNI, 4789, "eth1")
    network = gateway(host).rsplit(".", 1)[0] + ".0"
    assert "%s/32" % network in host.check_output("ip -br addr show dev vxlan11").split()


def test_one_onlink_route_per_peer(host):
    onlink = [r for r in overlay.routes(host, "vxlan11") if "onlink" in r.get("flags", [])]
    assert len(onlink) == len(testinfra_hosts) - 1
    assert all(r["gateway"] == r["dst"].split("/")[0] for r in onlink)


def test_endpoint_reaches_every_other_hosts_endpoint(host):
    me = host.backend.get_hostname()
    for peer in testinfra_hosts:
        if peer != me:
            target = gateway(host.get_host("ansible://%s" % peer, ansible_inventory=os.path.dirname(
                os.environ["MOLECULE_INVENTORY_FILE"]))).rsplit(".", 1)[0] + ".2"
            assert overlay.pings(host, me + "-u1", target), "%s -> %s (%s)" % (me, peer, target)
