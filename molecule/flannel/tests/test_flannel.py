"""The flannel-compatible overlay as each host's kernel has it (testinfra, through the scenario's inventory):
flanneld's device, per-peer entries, iptables chains, subnet.env, and pods reaching each other."""

from __future__ import annotations

import hashlib
import json
import os

import overlay  # molecule/resources/tests, on pytest's pythonpath (pytest.ini)
import testinfra.utils.ansible_runner

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("lab")

EXPECTED_VNI = int(os.environ.get("EXPECTED_VNI", "1"))
DEVICE = "flannel.%d" % EXPECTED_VNI


def subnet_gateway(host):
    """The host's pod gateway (the subnet's .1 on cni0)."""
    return json.loads(host.check_output("ip -j addr show dev cni0"))[0]["addr_info"][0]["local"]


def test_the_scenario_has_its_three_hosts():
    assert len(testinfra_hosts) == 3


def test_device_has_flanneld_attributes_and_the_subnets_network_address(host):
    info = overlay.vxlan(host, DEVICE)
    assert (info["id"], info["port"], info["link"], info["learning"]) == (EXPECTED_VNI, 8472, "eth1", False)
    assert overlay.link(host, DEVICE)["mtu"] == overlay.link(host, "eth1")["mtu"] - 50
    network = subnet_gateway(host).rsplit(".", 1)[0] + ".0"
    assert host.check_output("ip -br addr show dev %s", DEVICE).split()[2:3] == ["%s/32" % network]


def test_every_peer_has_a_neighbour_an_fdb_entry_and_an_onlink_route(host):
    peers = len(testinfra_hosts) - 1
    permanent = [n for n in overlay.neigh(host, DEVICE) if "PERMANENT" in n["state"]]
    macs = {n["lladdr"] for n in permanent}
    entries = [e for e in overlay.fdb(host, DEVICE) if e.get("state") == "permanent" and e["mac"] in macs]
    onlink = [r for r in overlay.routes(host, DEVICE) if "onlink" in r.get("flags", [])]
    assert (len(permanent), len(entries), len(onlink)) == (peers, peers, peers)
    assert {r["gateway"] for r in onlink} == {n["dst"] for n in permanent}


def test_iptables_chains_and_subnet_env(host):
    saved = host.check_output("iptables-save")
    assert '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG' in saved
    assert '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD' in saved
    gateway = subnet_gateway(host)
    # The role's default path: lab hosts keep it in their lab_state_dir, other hosts in /run/flannel.
    subnet_file = host.ansible("ansible.builtin.debug", "msg={{ lab_state_dir | default('/run') }}/flannel/subnet.env",
                               check=False)["msg"]
    expected = ("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=%s/24\nFLANNEL_MTU=%d\nFLANNEL_IPMASQ=true\n"
                % (gateway, overlay.link(host, DEVICE)["mtu"])).encode()
    # Byte for byte, trailing newline included (command output through Ansible loses it, a digest does not).
    assert host.check_output("sha256sum %s", subnet_file).split()[0] == hashlib.sha256(expected).hexdigest()
    assert host.file(subnet_file).mode == 0o644


def test_pod_reaches_every_other_hosts_pod(host):
    me = host.backend.get_hostname()
    for peer in testinfra_hosts:
        if peer != me:
            target = subnet_gateway(host.get_host("ansible://%s" % peer, ansible_inventory=INVENTORY))
            target = target.rsplit(".", 1)[0] + ".2"
            assert overlay.pings(host, me + "-p1", target), "%s -> %s (%s)" % (me, peer, target)
