"""overlaynet.vxlan.address on the real kernel: seed 002's /32 on a vxlan device, broadcast, IPv6, purge."""

from __future__ import annotations

import pytest
from kernel import dump, run_module, sh, sh_json


def addrs(netns, dev):
    """{address/prefix: broadcast or None} of dev, as `ip -j addr` reports them."""
    entry = sh_json("ip", "-n", netns, "-j", "addr", "show", "dev", dev)[0]
    return {"%s/%d" % (a["local"], a["prefixlen"]): a.get("broadcast") for a in entry["addr_info"]}


def cycle(params):
    before = dump(params["netns"])
    check = run_module("address", params, check=True)
    assert check.get("failed") is not True, check.get("msg")
    assert check["changed"] is True
    assert dump(params["netns"]) == before, "check mode changed the kernel"
    real = run_module("address", params)
    assert real["changed"] is True
    assert real["actions"] == check["actions"]
    assert real["diff"] == check["diff"]
    assert run_module("address", params)["changed"] is False
    assert run_module("address", params, check=True)["changed"] is False
    return real


@pytest.fixture
def vxlan11(netns):
    sh("ip", "-n", netns, "link", "add", "vxlan11", "type", "vxlan", "id", "11", "dstport", "4789",
       "remote", "192.0.2.12", "local", "192.0.2.11")
    return netns


def test_seed002_vtep_address_and_its_broadcast_variants(vxlan11):
    netns = vxlan11
    params = {"dev": "vxlan11", "netns": netns, "addresses": [{"address": "10.244.1.0/32"}]}
    result = cycle(params)
    assert addrs(netns, "vxlan11") == {"10.244.1.0/32": None}
    assert result["addresses"] == [{"address": "10.244.1.0/32", "family": "ipv4", "broadcast": "", "scope": "global",
                                    "secondary": False}]

    # the seed's second version: broadcast 10.244.1.255
    cycle(dict(params, addresses=[{"address": "10.244.1.0/32", "broadcast": "10.244.1.255"}]))
    assert addrs(netns, "vxlan11") == {"10.244.1.0/32": "10.244.1.255"}
    # its third version: broadcast 10.244.1.0 (host bits cleared, "-")
    cycle(dict(params, addresses=[{"address": "10.244.1.0/32", "broadcast": "-"}]))
    assert addrs(netns, "vxlan11") == {"10.244.1.0/32": "10.244.1.0"}
    # an entry without broadcast accepts whatever is there
    assert run_module("address", params)["changed"] is False
    # and back to none
    cycle(dict(params, addresses=[{"address": "10.244.1.0/32", "broadcast": ""}]))
    assert addrs(netns, "vxlan11") == {"10.244.1.0/32": None}


def test_seed002_address_made_by_hand_is_recognised(vxlan11):
    netns = vxlan11
    sh("ip", "-n", netns, "addr", "add", "10.244.1.0/32", "dev", "vxlan11")
    before = dump(netns)
    result = run_module("address", {"dev": "vxlan11", "netns": netns, "addresses": [{"address": "10.244.1.0/32"}]})
    assert result["changed"] is False
    assert dump(netns) == before


def test_ipv4_and_ipv6_with_purge_removes_exactly_the_unlisted(netns):
    sh("ip", "-n", netns, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", netns, "link", "set", "br0", "up")  # gives it an fe80:: address
    for address in ("10.9.0.1/24", "10.9.0.2/24", "fd00:9::9/64", "10.244.1.1/16"):
        sh("ip", "-n", netns, "addr", "add", address, "dev", "br0")
    sh("ip", "-n", netns, "addr", "add", "10.5.0.1", "peer", "10.5.0.2/32", "dev", "br0")  # point-to-point
    link_local = [a for a in addrs(netns, "br0") if a.startswith("fe80:")]
    assert link_local
    params = {"dev": "br0", "netns": netns, "purge": True,
              "addresses": [{"address": "10.9.0.1/24"}, {"address": "10.244.1.1/24", "broadcast": "+"},
                            {"address": "fd00:244:1::1/64"}]}
    result = cycle(params)
    assert sorted(result["actions"]) == sorted([
        "delete 10.9.0.2/24 dev br0", "delete fd00:9::9/64 dev br0", "delete 10.244.1.1/16 dev br0",
        "delete 10.5.0.1/32 dev br0",
        "add 10.244.1.1/24 brd 10.244.1.255 dev br0", "add fd00:244:1::1/64 dev br0"])
    assert addrs(netns, "br0") == dict({"10.9.0.1/24": None, "10.244.1.1/24": "10.244.1.255",
                                        "fd00:244:1::1/64": None}, **{a: None for a in link_local})


def test_deleting_a_primary_keeps_the_secondaries_that_stay(netns):
    sh("ip", "-n", netns, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", netns, "addr", "add", "10.7.0.1/24", "dev", "br0")
    sh("ip", "-n", netns, "addr", "add", "10.7.0.2/24", "dev", "br0")  # secondary of 10.7.0.1
    sh("ip", "-n", netns, "addr", "add", "10.7.0.3/24", "dev", "br0")  # another, not listed below
    params = {"dev": "br0", "netns": netns,
              "addresses": [{"address": "10.7.0.1/24", "broadcast": "+"}, {"address": "10.7.0.2/24"}]}
    result = cycle(params)
    assert result["actions"][-2:] == [
        "add %s/24 dev br0 (again: the kernel deletes it with its primary 10.7.0.1/24)" % ip
        for ip in ("10.7.0.2", "10.7.0.3")]
    assert addrs(netns, "br0") == {"10.7.0.1/24": "10.7.0.255", "10.7.0.2/24": None, "10.7.0.3/24": None}

    # with promote_secondaries the kernel keeps them, and the plan knows it
    sh("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv4.conf.br0.promote_secondaries=1")
    promoted = run_module("address", dict(params, addresses=[{"address": "10.7.0.1/24", "broadcast": ""}]))
    assert promoted["actions"] == ["delete 10.7.0.1/24 brd 10.7.0.255 dev br0", "add 10.7.0.1/24 dev br0"]
    assert addrs(netns, "br0") == {"10.7.0.1/24": None, "10.7.0.2/24": None, "10.7.0.3/24": None}


def test_state_absent_removes_only_the_listed(netns):
    sh("ip", "-n", netns, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", netns, "addr", "add", "10.16.0.1/16", "dev", "br0")
    sh("ip", "-n", netns, "addr", "add", "10.16.0.9/16", "dev", "br0")
    params = {"dev": "br0", "netns": netns, "state": "absent",
              "addresses": [{"address": "10.16.0.1/16"}, {"address": "10.99.0.1/16"}]}
    cycle(params)
    assert addrs(netns, "br0") == {"10.16.0.9/16": None}


def test_refusals_change_nothing(netns):
    before = dump(netns)
    missing = run_module("address", {"dev": "nosuchdev", "netns": netns, "addresses": [{"address": "10.0.0.1/24"}]})
    assert missing["failed"] is True
    assert "no link called 'nosuchdev'" in missing["msg"]
    bad = run_module("address", {"dev": "lo", "netns": netns, "addresses": [{"address": "10.0.0.1/33"}]})
    assert bad["failed"] is True
    assert "addresses[0].address '10.0.0.1/33' is not an IP address" in bad["msg"]
    assert dump(netns) == before
