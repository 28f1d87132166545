"""Role flannel on a real 4-host lab: hosts 1-3 configured by the role, host 4 by flanneld's exact commands
(tests/integration/seeds.py `flanneld`, a random VTEP MAC, port 8472) and described to the role as an external
lease in flanneld's etcd form. Pods are seed-style namespaces on cni0 made by the test.

The tests share one lab and run in file order: converge and pods across all four hosts, the device against
flanneld's, subnet.env and iptables byte for byte, rerun and check mode, a peer's MAC change, a host leaving,
bad input, then tear down and rebuild with identical MACs and subnets.
"""

from __future__ import annotations

import json
import os
import random

import pytest
from kernel import (
    ROOT,
    delete_netns,
    dump,
    fdb,
    lab,
    link,
    neigh,
    ping,
    quiet,
    recap_changed,
    run_playbook,
    settled_dump,
    sh,
    sh_json,
    unique_prefix,
)
from seeds import container, flanneld

from ansible_collections.overlaynet.vxlan.plugins.filter.overlay import flannel_nodes, vtep_mac

pytestmark = pytest.mark.slow

ROLE_HOSTS = (1, 2, 3)
FLANNELD = 4
ALL_HOSTS = (*ROLE_HOSTS, FLANNELD)
NETWORK = "10.244.0.0/16"
EXTERNAL_SUBNET = "10.244.250.0/24"

PLAY = """
- name: Flannel role on the lab hosts the test names
  hosts: "{{ overlay_hosts }}"
  gather_facts: false
  vars:
    flannel_iface: eth1
  roles:
    - role: overlaynet.vxlan.flannel
"""


def host(site, n):
    return "%s-h%d" % (site["prefix"], n)


def vtep(n):
    return "192.0.2.%d" % (10 + n)


def net3(subnet):
    return subnet.split("/")[0].rsplit(".", 1)[0]


def play(site, *args, hosts=ROLE_HOSTS, leases=True, check=True, inventory=None):
    extra = ["-e", "overlay_hosts=" + ",".join(host(site, n) for n in hosts)]
    if leases:
        extra += ["-e", "@%s" % site["leases"]]
    if inventory:
        extra += ["-i", str(ROOT / "inventories" / "lab"), "-i", str(inventory)]
    return run_playbook(site["play"], *extra, *args, env=site["env"], check=check)


def expected_nodes(site, hosts=ROLE_HOSTS):
    """What the role must allocate: the same filter over the same input."""
    members = {host(site, n): {"public_ip": vtep(n), "vtep_mac": vtep_mac("%s/flannel.1" % host(site, n))} for n in hosts}
    return flannel_nodes(members, NETWORK, 24, 1, external_leases=[site["lease"]])


def device_state(site, n):
    """(vtep mac, subnet) of a role host as its kernel holds them."""
    h = host(site, n)
    address = [a["local"] for a in sh_json("ip", "-j", "addr", "show", "dev", "flannel.1", netns=h)[0]["addr_info"]
               if a["family"] == "inet"]
    assert len(address) == 1, address
    return link(h, "flannel.1")["address"], address[0] + "/24"


def subnet_of(site, n):
    return EXTERNAL_SUBNET if n == FLANNELD else device_state(site, n)[1]


def pod(site, n):
    return "%s-p1" % host(site, n)


def pod_address(site, n):
    return net3(subnet_of(site, n)) + ".2"


def make_pods(site, numbers):
    for n in numbers:
        if pod(site, n) not in site["made"]:
            subnet = subnet_of(site, n)
            container(host(site, n), pod(site, n), net3(subnet) + ".2/24", net3(subnet) + ".1", bridge="cni0",
                      host_veth="veth-p1")
            # The CNI bridge plugin gives both ends of a pod's veth FLANNEL_MTU.
            sh("ip", "link", "set", "veth-p1", "mtu", "1450", netns=host(site, n))
            sh("ip", "link", "set", "eth0", "mtu", "1450", netns=pod(site, n))
            site["made"].append(pod(site, n))


def remove_pods(site):
    for name in site["made"]:
        delete_netns(name)
    site["made"].clear()


def failed_pings(site, numbers):
    failed = []
    for a in numbers:
        for b in numbers:
            if a != b:
                ok, out = ping(pod(site, a), pod_address(site, b))
                if not ok:
                    failed.append("%s -> %s: %s" % (pod(site, a), pod_address(site, b), out[-200:]))
    return failed


def program_flanneld_host(site):
    """Host 4 as flanneld programs it, with the role hosts' leases read from their kernels."""
    peers = [(vtep(n), *reversed(device_state(site, n))) for n in ROLE_HOSTS]
    flanneld(host(site, FLANNELD), vtep(FLANNELD), EXTERNAL_SUBNET, site["external_mac"], peers)
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=host(site, FLANNELD))  # flanneld requires it


def flanneld_peer_replace(site, n):
    """What flanneld on host 4 does when host n's lease changes: replace its neighbour, FDB entry and route."""
    mac, subnet = device_state(site, n)
    h4 = host(site, FLANNELD)
    sh("ip", "neigh", "replace", subnet.split("/")[0], "lladdr", mac, "dev", "flannel.1", "nud", "permanent", netns=h4)
    sh("bridge", "fdb", "replace", mac, "dev", "flannel.1", "dst", vtep(n), "self", "permanent", netns=h4)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    prefix = unique_prefix()
    work = tmp_path_factory.mktemp("flannel")
    (work / "flannel.yml").write_text(PLAY)
    mac = [0x02 | (random.randrange(256) & 0xFC), *random.randbytes(5)]
    external_mac = ":".join("%02x" % b for b in mac)
    lease = {"key": "/coreos.com/network/subnets/" + EXTERNAL_SUBNET.replace("/", "-"),
             "value": json.dumps({"PublicIP": vtep(FLANNELD), "PublicIPv6": None, "BackendType": "vxlan",
                                  "BackendData": {"VNI": 1, "VtepMAC": external_mac}})}
    (work / "leases.json").write_text(json.dumps({"flannel_external_leases": [lease]}))
    made = []
    with lab(prefix, hosts=4) as env:
        try:
            site = {"prefix": prefix, "env": env, "play": work / "flannel.yml", "leases": work / "leases.json",
                    "work": work, "lease": lease, "external_mac": external_mac, "made": made}
            for n in ALL_HOSTS:
                quiet(host(site, n))
            site["pristine"] = {n: settled_dump(host(site, n)) for n in ROLE_HOSTS}
            yield site
        finally:
            for name in made + ["%s-h%d-p1" % (prefix, n) for n in ALL_HOSTS]:
                delete_netns(name)


def test_pods_reach_each_other_across_role_and_flanneld_hosts(site):
    play(site)
    nodes = expected_nodes(site)
    for n in ROLE_HOSTS:
        h = host(site, n)
        assert device_state(site, n) == (vtep_mac("%s/flannel.1" % h), nodes[h]["subnet"])
    program_flanneld_host(site)
    make_pods(site, ALL_HOSTS)
    assert failed_pings(site, ALL_HOSTS) == []


def test_device_has_flanneld_attributes(site):
    ours = link(host(site, 1), "flannel.1")
    theirs = link(host(site, FLANNELD), "flannel.1")
    data, reference = ours["linkinfo"]["info_data"], theirs["linkinfo"]["info_data"]
    assert (data["id"], data["port"], data["local"], data["link"], data["learning"]) == (1, 8472, vtep(1), "eth1", False)
    assert ours["mtu"] == theirs["mtu"] == 1450
    for key in set(data) | set(reference):
        if key != "local":
            assert data.get(key) == reference.get(key), key
    cni0 = link(host(site, 1), "cni0")
    assert cni0["mtu"] == 1450 and cni0["linkinfo"]["info_kind"] == "bridge"


def test_every_peer_has_neighbour_fdb_entry_and_route(site):
    nodes = expected_nodes(site)
    for n in ROLE_HOSTS:
        h = host(site, n)
        peers = [node for name, node in nodes.items() if name != h]
        assert {(e["dst"], e["lladdr"]) for e in neigh(h, "flannel.1") if "PERMANENT" in e["state"]} == \
            {(p["address"], p["vtep_mac"]) for p in peers}
        assert sorted((e["mac"], e.get("dst"), e.get("flags", []) == ["self"] or "self" in e.get("flags", []))
                      for e in fdb(h, "flannel.1") if e.get("state") == "permanent") == \
            sorted((p["vtep_mac"], p["public_ip"], True) for p in peers)
        routes = {(r["dst"], r.get("gateway"), "onlink" in r.get("flags", []))
                  for r in sh_json("ip", "-j", "route", "show", "dev", "flannel.1", netns=h)}
        assert routes == {(p["subnet"], p["address"], True) for p in peers}


def test_subnet_env_matches_flanneld_byte_for_byte(site):
    for n in ROLE_HOSTS:
        path = "/run/overlaynet/%s/%s/flannel/subnet.env" % (site["prefix"], host(site, n))
        with open(path, "rb") as handle:
            content = handle.read()
        subnet = device_state(site, n)[1]
        assert content == ("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=%s.1/24\nFLANNEL_MTU=1450\n"
                           "FLANNEL_IPMASQ=true\n" % net3(subnet)).encode()
        assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def flannel_rules(site, n):
    saved = sh("iptables-save", netns=host(site, n)).splitlines()
    return [line for line in saved if "FLANNEL" in line]


def test_iptables_chains_hold_flanneld_rules(site):
    subnet = device_state(site, 1)[1]
    masq, fwd = '-m comment --comment "flanneld masq"', '-m comment --comment "flanneld forward"'
    assert flannel_rules(site, 1) == [
        ":FLANNEL-FWD - [0:0]",
        "-A FORWARD %s -j FLANNEL-FWD" % fwd,
        "-A FLANNEL-FWD -s 10.244.0.0/16 %s -j ACCEPT" % fwd,
        "-A FLANNEL-FWD -d 10.244.0.0/16 %s -j ACCEPT" % fwd,
        ":FLANNEL-POSTRTG - [0:0]",
        "-A POSTROUTING %s -j FLANNEL-POSTRTG" % masq,
        "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 %s -j RETURN" % masq,
        "-A FLANNEL-POSTRTG -s %s -d 10.244.0.0/16 %s -j RETURN" % (subnet, masq),
        "-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d %s %s -j RETURN" % (subnet, masq),
        "-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d %s %s -j RETURN" % (subnet, masq),
        "-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 %s -j MASQUERADE --random-fully" % masq,
        "-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 %s -j MASQUERADE --random-fully" % masq,
    ]


def test_rerun_and_check_mode_change_nothing(site):
    before = {n: dump(host(site, n)) for n in ROLE_HOSTS}
    rules = {n: flannel_rules(site, n) for n in ROLE_HOSTS}
    for args in ((), ("--check", "--diff")):
        proc = play(site, *args)
        assert set(recap_changed(proc.stdout).values()) == {0}, proc.stdout[-3000:]
    assert {n: dump(host(site, n)) for n in ROLE_HOSTS} == before
    assert {n: flannel_rules(site, n) for n in ROLE_HOSTS} == rules


def test_underlay_interface_is_found_from_the_default_route_like_flanneld_iface(site):
    try:
        for n in ROLE_HOSTS:
            sh("ip", "route", "add", "default", "via", "192.0.2.1", "dev", "eth1", netns=host(site, n))
        proc = play(site, "-e", "flannel_iface=")
        assert set(recap_changed(proc.stdout).values()) == {0}, proc.stdout[-3000:]
    finally:
        for n in ROLE_HOSTS:
            sh("ip", "route", "del", "default", netns=host(site, n), check=False)
    before = {n: dump(host(site, n)) for n in ROLE_HOSTS}
    proc = play(site, "-e", "flannel_iface=", check=False)
    assert proc.returncode != 0
    assert "No underlay interface: set flannel_iface (this host has no default IPv4 route)" in proc.stdout
    assert {n: dump(host(site, n)) for n in ROLE_HOSTS} == before


def test_hand_edited_chain_is_rewritten_and_reported(site):
    h = host(site, 2)
    sh("iptables", "-w", "-t", "nat", "-D", "FLANNEL-POSTRTG", "-m", "mark", "--mark", "0x4000/0x4000", "-m", "comment",
       "--comment", "flanneld masq", "-j", "RETURN", netns=h)
    sh("iptables", "-w", "-D", "FORWARD", "-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD", netns=h)
    check = play(site, "--check")
    assert recap_changed(check.stdout)[h] == 1, check.stdout[-3000:]
    assert len(flannel_rules(site, 2)) == len(flannel_rules(site, 1)) - 2
    proc = play(site)
    assert recap_changed(proc.stdout) == {host(site, 1): 0, h: 1, host(site, 3): 0}
    assert [r.replace(device_state(site, 2)[1], "S") for r in flannel_rules(site, 2)] == \
        [r.replace(device_state(site, 1)[1], "S") for r in flannel_rules(site, 1)]


def test_peer_mac_change_replaces_its_entries_without_stale_ones(site, tmp_path):
    h2 = host(site, 2)
    old_mac = device_state(site, 2)[0]
    new_mac = "02:00:5e:00:02:22"
    hostvars = tmp_path / "macs.yml"
    hostvars.write_text("all:\n  hosts:\n    %s:\n      flannel_vtep_mac: %s\n" % (h2, new_mac))
    play(site, inventory=hostvars)
    flanneld_peer_replace(site, 2)
    address = device_state(site, 2)[1].split("/")[0]
    assert device_state(site, 2)[0] == new_mac
    for n in (1, 3):
        h = host(site, n)
        macs = {e["mac"] for e in fdb(h, "flannel.1") if e.get("state") == "permanent"}
        assert new_mac in macs and old_mac not in macs
        assert {e["lladdr"] for e in neigh(h, "flannel.1") if e["dst"] == address} == {new_mac}
    assert failed_pings(site, ALL_HOSTS) == []
    play(site)  # back to the derived MAC
    flanneld_peer_replace(site, 2)
    assert device_state(site, 2)[0] == old_mac
    assert failed_pings(site, (1, 2, FLANNELD)) == []


def test_departed_host_is_purged_and_subnets_stay(site):
    subnets = {n: device_state(site, n)[1] for n in ROLE_HOSTS}
    proc = play(site, hosts=(1, 2))
    assert set(recap_changed(proc.stdout)) == {host(site, 1), host(site, 2)}
    h3_address = subnets[3].split("/")[0]
    for n in (1, 2):
        h = host(site, n)
        assert h3_address not in {e["dst"] for e in neigh(h, "flannel.1")}
        assert vtep(3) not in {e.get("dst") for e in fdb(h, "flannel.1")}
        assert subnets[3] not in {r["dst"] for r in sh_json("ip", "-j", "route", "show", "dev", "flannel.1", netns=h)}
        assert device_state(site, n)[1] == subnets[n]
    assert failed_pings(site, (1, 2, FLANNELD)) == []
    play(site)
    assert {n: device_state(site, n)[1] for n in ROLE_HOSTS} == subnets
    assert failed_pings(site, ALL_HOSTS) == []


@pytest.mark.parametrize("extra, message", [
    ({"flannel_external_leases": [{"subnet": "10.244.9.0/24", "value": {
        "PublicIP": "192.0.2.99", "BackendType": "vxlan", "BackendData": {"VNI": 7, "VtepMAC": "02:00:00:00:00:01"}}}]},
     "is not this overlay's VNI 1"),
    ({"flannel_external_leases": [{"subnet": "10.244.9.0/24", "value": {
        "PublicIP": "192.0.2.99", "BackendType": "host-gw", "BackendData": {}}}]},
     "BackendType must be vxlan"),
    ({"flannel_external_leases": [{"subnet": "10.244.9.0/24", "value": {
        "PublicIP": "192.0.2.11", "BackendType": "vxlan", "BackendData": {"VNI": 1, "VtepMAC": "02:00:00:00:00:01"}}}]},
     "have the same public ip 192.0.2.11"),
    ({"flannel_network": "10.244.0.0/23"}, "is exhausted"),
    ({"flannel_subnet": "10.244.7.0/24"}, "both claim subnet 10.244.7.0/24"),
    ({"flannel_port": 70000}, "flannel_port must be a UDP port"),
    ({"flannel_network": "10.244.1.0/16"}, "has host bits set"),
])
def test_bad_input_fails_before_any_change(site, extra, message, tmp_path):
    before = {n: dump(host(site, n)) for n in ROLE_HOSTS}
    rules = {n: flannel_rules(site, n) for n in ROLE_HOSTS}
    values = tmp_path / "bad.json"
    values.write_text(json.dumps(extra))
    own_leases = "flannel_external_leases" in extra or "flannel_network" in extra
    proc = play(site, "-e", "@%s" % values, leases=not own_leases, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert {n: dump(host(site, n)) for n in ROLE_HOSTS} == before
    assert {n: flannel_rules(site, n) for n in ROLE_HOSTS} == rules


def test_teardown_leaves_nothing_and_rebuild_gives_the_same_macs_and_subnets(site):
    built = {n: device_state(site, n) for n in ROLE_HOSTS}
    remove_pods(site)
    play(site, "-e", "flannel_state=absent")
    for n in ROLE_HOSTS:
        h = host(site, n)
        now = settled_dump(h)
        # iptables-save lists the nat and filter tables once they were used, empty or not: compare the rules.
        assert [line for line in now.pop("iptables") if line.startswith(("-", ":FLANNEL"))] == []
        assert now == {k: v for k, v in site["pristine"][n].items() if k != "iptables"}
        assert flannel_rules(site, n) == []
        assert not os.path.exists("/run/overlaynet/%s/%s/flannel/subnet.env" % (site["prefix"], h))
    rerun = play(site, "-e", "flannel_state=absent")
    assert set(recap_changed(rerun.stdout).values()) == {0}
    play(site)
    assert {n: device_state(site, n) for n in ROLE_HOSTS} == built
    make_pods(site, ALL_HOSTS)
    assert failed_pings(site, ALL_HOSTS) == []
