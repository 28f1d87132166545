"""The head-end replication overlay as each host's kernel has it (testinfra, through the scenario's inventory)."""

from __future__ import annotations

import os

import overlay  # molecule/resources/tests, on pytest's pythonpath (pytest.ini)
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])).get_hosts("lab")

EXPECTED_VNI = int(os.environ.get("EXPECTED_VNI", "42"))


def number(name):
    return int(name.rsplit("h", 1)[1])


def test_the_scenario_has_its_three_hosts():
    assert len(testinfra_hosts) == 3


def test_vxlan_device_is_nolearning_on_the_bridge(host):
    info = overlay.vxlan(host, "vxlan0")
    assert (info["id"], info["port"], info["link"], info["learning"]) == (EXPECTED_VNI, 4789, "eth1", False)
    assert overlay.link(host, "vxlan0")["master"] == "br0"


def test_one_all_zero_entry_per_peer(host):
    me = number(host.backend.get_hostname())
    zero = sorted(e["dst"] for e in overlay.fdb(host, "vxlan0") if e["mac"] == "00:00:00:00:00:00")
    assert zero == sorted("192.0.2.%d" % (10 + number(peer)) for peer in testinfra_hosts if number(peer) != me)


def test_endpoint_reaches_every_other_host(host):
    me = host.backend.get_hostname()
    for peer in testinfra_hosts:
        if peer != me:
            assert overlay.pings(host, me + "-e1", "10.233.0.%d" % (1 + number(peer))), "%s -> %s" % (me, peer)
