from __future__ import annotations

import ipaddress
import random

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.overlaynet.vxlan.plugins.filter.overlay import overlay_subnets, vtep_mac

NET = "10.244.0.0/16"


def hosts(*names, **extra):
    return {name: dict(extra.get(name, {})) for name in names}


def test_subnets_are_distinct_inside_the_network_and_skip_the_first():
    result = overlay_subnets(hosts(*("node%d" % i for i in range(50))), NET, 24)
    subnets = [ipaddress.ip_network(s) for s in result.values()]
    assert len(set(subnets)) == 50
    assert all(s.subnet_of(ipaddress.ip_network(NET)) and s.prefixlen == 24 for s in subnets)
    assert ipaddress.ip_network("10.244.0.0/24") not in subnets  # flannel's SubnetMin is network + one subnet


def test_inventory_order_does_not_matter():
    names = ["node%d" % i for i in range(20)]
    shuffled = names[:]
    random.Random(7).shuffle(shuffled)
    assert overlay_subnets(hosts(*names), NET) == overlay_subnets(hosts(*shuffled), NET)


def test_adding_or_removing_a_host_moves_nobody_else_when_leases_are_known():
    first = overlay_subnets(hosts("a", "b", "c"), "10.1.0.0/27", 30)  # a tiny pool makes collisions likely
    leased = {h: {"lease": s} for h, s in first.items()}
    grown = overlay_subnets(dict(leased, d={}, e={}), "10.1.0.0/27", 30)
    assert {h: grown[h] for h in first} == first
    shrunk = overlay_subnets({h: leased[h] for h in ("b", "c")}, "10.1.0.0/27", 30)
    assert shrunk == {"b": first["b"], "c": first["c"]}


def test_asked_for_subnet_wins():
    result = overlay_subnets(hosts("a", "b", b={"subnet": "10.244.7.0/24"}), NET)
    assert result["b"] == "10.244.7.0/24"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (hosts("a", "b", a={"subnet": "10.244.7.0/24"}, b={"subnet": "10.244.7.0/24"}), "both claim subnet 10.244.7.0/24"),
        (hosts("a", a={"subnet": "10.245.7.0/24"}), "not a /24 inside"),
        (hosts("a", a={"subnet": "10.244.7.0/25"}), "not a /24 inside"),
        (hosts("a", a={"subnet": "10.244.7.1/24"}), "is not a network"),
    ],
)
def test_bad_claims_fail_with_the_hosts_named(request_, message):
    with pytest.raises(AnsibleFilterError, match=message):
        overlay_subnets(request_, NET)


def test_exhausted_network_fails_clearly():
    with pytest.raises(AnsibleFilterError, match="exhausted: 4 hosts need a /26 but only 3 are free"):
        overlay_subnets(hosts("a", "b", "c", "d"), "10.9.0.0/24", 26)


def test_subnet_range_limits_the_pool():
    result = overlay_subnets(hosts("a", "b"), NET, 24, "10.244.100.0/24", "10.244.101.0/24")
    assert sorted(result.values()) == ["10.244.100.0/24", "10.244.101.0/24"]


@pytest.mark.parametrize("seed", ["node1/1", "node2/1", "x", ""])
def test_vtep_mac_is_stable_unicast_and_locally_administered(seed):
    mac = vtep_mac(seed)
    first = int(mac.split(":", maxsplit=1)[0], 16)
    assert mac == vtep_mac(seed)
    assert first & 0x01 == 0 and first & 0x02 == 0x02
    assert len(mac.split(":")) == 6


def test_vtep_macs_differ_between_hosts():
    assert len({vtep_mac("node%d/1" % i) for i in range(1000)}) == 1000
