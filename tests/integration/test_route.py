"""overlaynet.vxlan.route on the real kernel: seed 002's onlink route, seed 004's encap route, tables, purge."""

from __future__ import annotations

import json

import pytest
from kernel import dump, run_module, sh, sh_json


def _keep_both(pairs):
    # iproute2 prints an encap route's tunnel "src"/"dst" under the same keys as the route's own
    # ("dst":"10.40.1.2","encap":"ip","id":10,"src":...,"dst":"198.51.100.2"): keep both.
    out = {}
    for key, value in pairs:
        out["encap_" + key if key in out else key] = value
    return out


def routes(netns, *args):
    """`ip -d -j route show table all` (or the given selector), as data."""
    out = sh("ip", "-n", netns, "-d", "-j", "route", "show", *(args or ("table", "all")))
    return json.loads(out, object_pairs_hook=_keep_both) if out.strip() else []


def find(netns, dst, table="main"):
    found = [r for r in routes(netns, "table", str(table)) if r["dst"] == dst]
    return found


def cycle(params):
    netns = params["netns"]
    before = dump(netns)
    check = run_module("route", params, check=True)
    assert check.get("failed") is not True, check.get("msg")
    assert check["changed"] is True
    assert dump(netns) == before, "check mode changed the kernel"
    real = run_module("route", params)
    assert real.get("failed") is not True, real.get("msg")
    assert real["changed"] is True
    assert real["actions"] == check["actions"]
    assert real["diff"] == check["diff"]
    again = run_module("route", params)
    assert again["changed"] is False, again["actions"]
    assert run_module("route", params, check=True)["changed"] is False
    return real


@pytest.fixture
def vxlan11(netns):
    """Seed 002's device (made by the test, as the brief says), up, with its /32."""
    sh("ip", "-n", netns, "link", "add", "vxlan11", "type", "vxlan", "id", "11", "dstport", "4789",
       "remote", "192.0.2.12", "local", "192.0.2.11")
    sh("ip", "-n", netns, "addr", "add", "10.244.1.0/32", "dev", "vxlan11")
    sh("ip", "-n", netns, "link", "set", "vxlan11", "up")
    return netns


SEED002 = {"dst": "10.244.2.0/24", "via": "10.244.2.0", "dev": "vxlan11", "onlink": True}


def test_seed002_onlink_route(vxlan11):
    netns = vxlan11
    result = cycle({"netns": netns, "routes": [SEED002]})
    (got,) = find(netns, "10.244.2.0/24")
    assert (got["gateway"], got["dev"], got["flags"]) == ("10.244.2.0", "vxlan11", ["onlink"])
    assert result["actions"] == ["add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0"]
    assert [r["dst"] for r in result["routes"]] == ["10.244.2.0/24"]


def test_seed002_route_made_by_hand_is_recognised(vxlan11):
    netns = vxlan11
    sh("ip", "-n", netns, "r", "a", "10.244.2.0/24", "via", "10.244.2.0", "dev", "vxlan11", "onlink")
    before = dump(netns)
    assert run_module("route", {"netns": netns, "routes": [SEED002]})["changed"] is False
    assert dump(netns) == before


def test_a_differing_gateway_is_replaced_in_place(vxlan11):
    netns = vxlan11
    sh("ip", "-n", netns, "r", "a", "10.244.2.0/24", "via", "10.244.2.9", "dev", "vxlan11", "onlink")
    result = cycle({"netns": netns, "routes": [SEED002]})
    assert result["actions"] == [
        "replace route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0 (via differed)"]
    (got,) = find(netns, "10.244.2.0/24")
    assert got["gateway"] == "10.244.2.0"


def test_tables_metrics_ipv6_and_default(netns):
    sh("ip", "-n", netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    sh("ip", "-n", netns, "link", "set", "eth0", "up")
    sh("ip", "-n", netns, "link", "set", "eth0p", "up")
    sh("ip", "-n", netns, "addr", "add", "10.233.0.2/16", "dev", "eth0")
    sh("ip", "-n", netns, "addr", "add", "fd00:233::2/64", "dev", "eth0", "nodad")
    params = {"netns": netns, "dev": "eth0", "routes": [
        {"dst": "default", "via": "10.233.0.1"},
        {"dst": "10.50.0.0/16", "via": "10.233.0.9", "metric": 20, "table": "100", "src": "10.233.0.2"},
        {"dst": "fd00:50::/64", "via": "fd00:233::1"},
        {"dst": "10.60.0.0/16", "scope": "link"},
    ]}
    cycle(params)
    (default,) = find(netns, "default")
    assert (default["gateway"], default["dev"]) == ("10.233.0.1", "eth0")
    (table100,) = find(netns, "10.50.0.0/16", 100)
    assert (table100["gateway"], table100["metric"], table100["prefsrc"]) == ("10.233.0.9", 20, "10.233.0.2")
    (six,) = [r for r in sh_json("ip", "-n", netns, "-6", "-j", "route", "show") if r["dst"] == "fd00:50::/64"]
    assert (six["gateway"], six["metric"]) == ("fd00:233::1", 1024)
    (link_route,) = find(netns, "10.60.0.0/16")
    assert link_route["scope"] == "link"


def test_purge_within_a_device_removes_exactly_the_unlisted(vxlan11):
    netns = vxlan11
    sh("ip", "-n", netns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
    sh("ip", "-n", netns, "link", "set", "eth1", "up")
    sh("ip", "-n", netns, "addr", "add", "192.0.2.11/24", "dev", "eth1")
    for dst in ("10.244.2.0", "10.244.3.0", "10.244.4.0"):
        sh("ip", "-n", netns, "r", "a", dst + "/24", "via", dst, "dev", "vxlan11", "onlink")
    sh("ip", "-n", netns, "r", "a", "10.244.9.0/24", "via", "10.244.9.0", "dev", "vxlan11", "onlink", "table", "7")
    sh("ip", "-n", netns, "r", "a", "default", "via", "192.0.2.1", "dev", "eth1")
    before = routes(netns)
    params = {"netns": netns, "dev": "vxlan11", "purge": True,
              "routes": [dict(SEED002), {"dst": "10.244.4.0/24", "via": "10.244.4.0", "onlink": True}]}
    result = cycle(params)
    assert result["actions"] == ["delete route 10.244.3.0/24 via 10.244.3.0 dev vxlan11 onlink table main metric 0"]
    after = routes(netns)
    assert [r for r in before if r not in after] == [r for r in before if r["dst"] == "10.244.3.0/24"]
    assert [r for r in after if r not in before] == []


SEED004 = {"dst": "10.40.1.2/32", "dev": "vx0", "encap": {"type": "vxlan", "id": 10, "dst": "198.51.100.2"}}


@pytest.fixture
def vx0(netns):
    sh("ip", "-n", netns, "link", "add", "vx0", "type", "vxlan", "dstport", "4789", "external")
    sh("ip", "-n", netns, "link", "set", "vx0", "up")
    return netns


def test_seed004_encap_route_on_an_external_vxlan(vx0):
    netns = vx0
    result = cycle({"netns": netns, "routes": [SEED004]})
    (got,) = find(netns, "10.40.1.2")
    assert (got["encap"], got["id"], got["encap_dst"], got["dev"]) == ("ip", 10, "198.51.100.2", "vx0")
    assert result["routes"][0]["encap"] == {"type": "ip", "id": 10, "dst": "198.51.100.2", "src": "0.0.0.0",
                                            "ttl": 0, "tos": 0}
    # another VNI for the same destination: replaced, not duplicated
    other = dict(SEED004, encap={"type": "ip", "id": 20, "dst": "198.51.100.2", "ttl": 64})
    cycle({"netns": netns, "routes": [other]})
    (got,) = find(netns, "10.40.1.2")
    assert (got["id"], got["ttl"], got["encap_dst"]) == (20, 64, "198.51.100.2")


def test_seed004_route_made_by_hand_is_recognised(vx0):
    netns = vx0
    sh("ip", "-n", netns, "route", "add", "10.40.1.2/32", "encap", "ip", "id", "10", "dst", "198.51.100.2",
       "dev", "vx0")
    before = dump(netns)
    result = run_module("route", {"netns": netns, "routes": [SEED004]})
    assert result["changed"] is False, result["actions"]
    assert dump(netns) == before


def test_state_absent(vxlan11):
    netns = vxlan11
    sh("ip", "-n", netns, "r", "a", "10.244.2.0/24", "via", "10.244.2.0", "dev", "vxlan11", "onlink")
    sh("ip", "-n", netns, "r", "a", "10.244.3.0/24", "via", "10.244.3.0", "dev", "vxlan11", "onlink")
    cycle({"netns": netns, "state": "absent", "routes": [{"dst": "10.244.2.0/24"}, {"dst": "10.244.8.0/24"}]})
    assert find(netns, "10.244.2.0/24") == []
    assert len(find(netns, "10.244.3.0/24")) == 1


def test_refusals_change_nothing(vxlan11):
    netns = vxlan11
    before = dump(netns)
    missing = run_module("route", {"netns": netns, "routes": [SEED002, dict(SEED002, dst="10.244.3.0/24",
                                                                            dev="nosuchdev")]})
    assert missing["failed"] is True
    assert "no link called 'nosuchdev' in netns %r; the routes through it cannot be added" % netns in missing["msg"]
    bad = run_module("route", {"netns": netns, "routes": [{"dst": "10.244.2.1/24", "via": "10.244.2.0"}]})
    assert bad["failed"] is True
    assert "routes[0].dst '10.244.2.1/24' is not a network prefix" in bad["msg"]
    assert dump(netns) == before
