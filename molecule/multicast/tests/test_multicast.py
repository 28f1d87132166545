"""The multicast overlay as each host's kernel has it (testinfra, through the scenario's inventory)."""

from __future__ import annotations

import os

import overlay  # molecule/resources/tests, on pytest's pythonpath (pytest.ini)
import testinfra.utils.ansible_runner

# The inventory directory, not Molecule's generated file: the lab's hosts and their netns connection
# come from the lab inventory linked into it.
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])).get_hosts("lab")

EXPECTED_VNI = int(os.environ.get("EXPECTED_VNI", "42"))


def test_the_scenario_has_its_three_hosts():
    assert len(testinfra_hosts) == 3


def test_vxlan_device_is_seed_001s(host):
    info = overlay.vxlan(host, "vxlan0")
    assert (info["id"], info["group"], info["port"], info["link"], info["learning"]) == (
        EXPECTED_VNI, "239.1.1.1", 4789, "eth1", True)
    assert overlay.link(host, "vxlan0")["master"] == "br0"


def test_bridge_carries_the_gateway(host):
    assert "10.233.0.1/16" in host.check_output("ip -br addr show dev br0").split()


def test_endpoint_reaches_every_other_host(host):
    me = host.backend.get_hostname()
    for peer in testinfra_hosts:
        number = int(peer.rsplit("h", 1)[1])
        assert overlay.pings(host, me + "-m1", "10.233.0.%d" % (10 + number)), "%s -> %s" % (me, peer)
