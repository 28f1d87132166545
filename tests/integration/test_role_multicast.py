"""Roles multicast + endpoint + verify on a real 3-host lab (seed 001, first half), asserted on the kernel:
`ip -d -j link`, pings between endpoints, the VNI in the packets on the underlay, recaps, and full netlink
dumps before and after `absent`. Also interop with a host built by the seed's own commands."""

from __future__ import annotations

import pytest
import seeds
from kernel import capture_vxlan, delete_netns, dump, lab, link, ping, recap_changed, run_playbook, unique_prefix

pytestmark = pytest.mark.slow

PLAYBOOK = "playbooks/seed001_multicast.yml"


@pytest.fixture(scope="module")
def site():
    prefix = unique_prefix()
    hosts = ["%s-h%d" % (prefix, n) for n in (1, 2, 3)]
    endpoints = [h + "-m1" for h in hosts] + [prefix + "-h3-seed"]
    with lab(prefix, hosts=3) as env:
        try:
            yield {"prefix": prefix, "env": env, "hosts": hosts, "before": {h: dump(h) for h in hosts}}
        finally:
            for name in endpoints:
                delete_netns(name)


def play(site, *args, check=True):
    return run_playbook(PLAYBOOK, *args, env=site["env"], check=check)


def test_converges_verifies_and_is_idempotent(site):
    first = play(site)
    assert "multicast: all 6 endpoint pairs reach each other" in first.stdout
    assert all(recap_changed(first.stdout).values())
    for host in site["hosts"]:
        vxlan = link(host, "vxlan0")
        info = vxlan["linkinfo"]["info_data"]
        assert (info["id"], info["group"], info["port"], info["link"], info["learning"]) == (
            42, "239.1.1.1", 4789, "eth1", True)
        assert vxlan["master"] == "br0" and "UP" in vxlan["flags"]
    reached, output = ping(site["hosts"][0] + "-m1", "10.233.0.13")
    assert reached, output
    again = play(site)
    assert set(recap_changed(again.stdout).values()) == {0}


def test_underlay_carries_udp_4789_with_vni_42(site):
    prefix = site["prefix"]
    packets = capture_vxlan(prefix + "-sw", prefix + "-p2", 4789,
                            lambda: ping(site["hosts"][0] + "-m1", "10.233.0.12"))
    assert packets, "no VXLAN packet seen on the switch port of host 2"
    assert set(packets) == {(4789, 42)}


def test_check_mode_reports_a_change_and_changes_nothing(site):
    before = {h: dump(h) for h in site["hosts"]}
    check = play(site, "--check", "-e", "multicast_vni=43")
    assert all(recap_changed(check.stdout).values())
    assert {h: dump(h) for h in site["hosts"]} == before


@pytest.mark.parametrize(("extra", "message"), [
    ("multicast_vni=16777216", "multicast_vni 16777216"),
    ("multicast_group=192.0.2.1", "multicast_group 192.0.2.1 is not an IPv4 multicast address"),
    ("multicast_gateway=10.233.0.1", "multicast_gateway 10.233.0.1 is not an IPv4 address with prefix"),
    ("multicast_device=a-name-far-too-long", "multicast_device a-name-far-too-long"),
])
def test_bad_input_fails_before_any_change(site, extra, message):
    before = {h: dump(h) for h in site["hosts"]}
    proc = play(site, "-e", extra, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout
    assert {h: dump(h) for h in site["hosts"]} == before


def test_absent_restores_every_host_as_it_was(site):
    gone = play(site, "-e", "multicast_state=absent")
    assert all(recap_changed(gone.stdout).values())
    assert {h: dump(h) for h in site["hosts"]} == site["before"]
    again = play(site, "-e", "multicast_state=absent")
    assert set(recap_changed(again.stdout).values()) == {0}


def test_a_host_built_by_the_seed_commands_reaches_role_endpoints(site):
    role_hosts = ",".join(site["hosts"][:2])
    play(site, "--limit", role_hosts)
    by_hand = site["hosts"][2]
    seeds.seed001_multicast(by_hand)
    seed_endpoint = seeds.container(by_hand, site["prefix"] + "-h3-seed", "10.233.0.99/16", "10.233.0.1")
    for address in ("10.233.0.11", "10.233.0.12"):
        reached, output = ping(seed_endpoint, address)
        assert reached, output
    reached, output = ping(site["hosts"][0] + "-m1", "10.233.0.99")
    assert reached, output
