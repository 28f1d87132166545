"""The bad-input matrix: every case must fail before anything changes, with a message naming the bad
value. Each case runs the module for real against a namespace holding an underlay, a vxlan device, a
bridge and a veth; the namespace's full dump (links, addresses, routes, FDB, neighbours, iptables) must
be the same afterwards."""

from __future__ import annotations

import pytest
from kernel import add_netns, delete_netns, dump, quiet, run_module, settled_dump, sh, unique_prefix

TOO_LONG = "x" * 16

CASES = [
    # vxlan_link
    ("vxlan_link", {"name": "vx1", "vni": -1, "dev": "eth1"}, "-1"),
    ("vxlan_link", {"name": "vx1", "vni": 16777216, "dev": "eth1"}, "16777216"),
    ("vxlan_link", {"name": "vx1", "vni": "forty-two", "dev": "eth1"}, "forty-two"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dstport": 0, "dev": "eth1"}, "dstport"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dstport": 65536, "dev": "eth1"}, "65536"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "group": "192.0.2.1", "dev": "eth1"}, "192.0.2.1"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "group": "239.1.1.1", "remote": "192.0.2.2", "dev": "eth1"}, "remote"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "local": "192.0.2.1", "remote": "2001:db8::2"}, "2001:db8::2"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dev": "nosuchdev"}, "nosuchdev"),
    ("vxlan_link", {"name": TOO_LONG, "vni": 7, "dev": "eth1"}, TOO_LONG),
    ("vxlan_link", {"name": "bad/name", "vni": 7, "dev": "eth1"}, "bad/name"),
    ("vxlan_link", {"name": "br0", "vni": 7, "dev": "eth1"}, "br0"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dev": "eth1", "mac": "01:00:5e:00:00:01"}, "01:00:5e:00:00:01"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dev": "eth1", "mac": "02:00:00:00:00"}, "02:00:00:00:00"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dev": "eth1", "ttl": 256}, "256"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dev": "eth1", "no_such_option": 1}, "no_such_option"),
    ("vxlan_link", {"name": "vx1", "vni": 7, "dev": "eth1", "netns": "no-such-netns-x"}, "no-such-netns-x"),
    ("vxlan_link", {"name": "vxlan0", "vni": 43, "dev": "eth1", "recreate": "never"}, "vni"),
    # bridge_fdb
    ("bridge_fdb", {"device": "vxlan0", "entries": [{"mac": "00:00:00:00:00:0", "dst": "192.0.2.2"}]},
     "00:00:00:00:00:0"),
    ("bridge_fdb", {"device": "vxlan0", "entries": [{"mac": "02:00:00:00:00:01", "dst": "192.0.2.300"}]},
     "192.0.2.300"),
    ("bridge_fdb", {"device": "vxlan0", "entries": [{"mac": "02:00:00:00:00:01", "dst": "192.0.2.2", "vni": 16777216}]},
     "16777216"),
    ("bridge_fdb", {"device": "vxlan0", "entries": [{"mac": "02:00:00:00:00:01", "dst": "192.0.2.2", "port": 70000}]},
     "70000"),
    ("bridge_fdb", {"device": "vxlan0", "entries": [{"mac": "02:00:00:00:00:01", "dst": "192.0.2.2"},
                                                    {"mac": "02:00:00:00:00:01", "dst": "192.0.2.2"}]}, "entries[1]"),
    ("bridge_fdb", {"device": "nosuchdev", "entries": [{"mac": "02:00:00:00:00:01", "dst": "192.0.2.2"}]}, "nosuchdev"),
    ("bridge_fdb", {"device": "eth1", "entries": [{"mac": "02:00:00:00:00:01"}]}, "eth1"),
    ("bridge_fdb", {"device": "vxlan0", "entries": [{"mac": "02:00:00:00:00:01", "dst": "192.0.2.2",
                                                     "state": "sometimes"}]}, "sometimes"),
    ("bridge_fdb", {"device": "vxlan0", "entries": [{"mac": "02:00:00:00:00:01", "bogus": 1}]}, "bogus"),
    ("bridge_fdb", {"device": "vxlan0", "state": "absent", "purge": True}, "purge"),
    # ip_neigh
    ("ip_neigh", {"device": "vxlan0", "entries": [{"address": "10.1.1.300", "lladdr": "02:00:00:00:00:01"}]},
     "10.1.1.300"),
    ("ip_neigh", {"device": "vxlan0", "entries": [{"address": "10.1.1.3", "lladdr": "zz:00:00:00:00:01"}]},
     "zz:00:00:00:00:01"),
    ("ip_neigh", {"device": "vxlan0", "entries": [{"address": "10.1.1.3", "lladdr": "02:00:00:00:00:01",
                                                   "state": "forever"}]}, "forever"),
    ("ip_neigh", {"device": "vxlan0", "entries": [{"address": "10.1.1.3", "lladdr": "02:00:00:00:00:01"},
                                                  {"address": "10.1.1.3", "lladdr": "02:00:00:00:00:02"}]},
     "entries[1]"),
    ("ip_neigh", {"device": "nosuchdev", "entries": [{"address": "10.1.1.3", "lladdr": "02:00:00:00:00:01"}]},
     "nosuchdev"),
    # link
    ("link", {"name": TOO_LONG, "kind": "bridge"}, TOO_LONG),
    ("link", {"name": "vb0", "kind": "veth", "peer": {"name": "vb1", "netns": "no-such-netns-y"}}, "no-such-netns-y"),
    ("link", {"name": "br1", "kind": "bridge", "mac": "ff:ff:ff:ff:ff:ff"}, "ff:ff:ff:ff:ff:ff"),
    ("link", {"name": "br1", "kind": "bridge", "mtu": 10}, "10"),
    ("link", {"name": "vxlan0", "kind": "bridge"}, "vxlan0"),
    ("link", {"name": "br1", "kind": "bridge", "master": "nosuchbr"}, "nosuchbr"),
    # address
    ("address", {"dev": "br0", "addresses": [{"address": "10.233.0.1/33"}]}, "10.233.0.1/33"),
    ("address", {"dev": "br0", "addresses": [{"address": "10.233.0.1/24", "scope": "galaxy"}]}, "galaxy"),
    ("address", {"dev": "nosuchdev", "addresses": [{"address": "10.233.0.1/24"}]}, "nosuchdev"),
    ("address", {"dev": "br0", "addresses": [{"address": "not-an-address/24"}]}, "not-an-address"),
    # route
    ("route", {"routes": [{"dst": "10.244.2.0/33", "dev": "vxlan0"}]}, "10.244.2.0/33"),
    ("route", {"routes": [{"dst": "10.244.2.0/24", "via": "10.244.2.300", "dev": "vxlan0"}]}, "10.244.2.300"),
    ("route", {"routes": [{"dst": "10.244.2.0/24", "via": "2001:db8::1", "dev": "vxlan0"}]}, "2001:db8::1"),
    ("route", {"routes": [{"dst": "10.244.2.0/24", "dev": "nosuchdev"}]}, "nosuchdev"),
    ("route", {"routes": [{"dst": "10.244.2.0/24", "dev": "vxlan0", "table": "nosuchtable"}]}, "nosuchtable"),
    ("route", {"routes": [{"dst": "10.40.1.1/32", "dev": "vxlan0", "encap": {"id": 16777216, "dst": "192.0.2.2"}}]},
     "16777216"),
    # netns
    ("netns", {"name": ["bad/netns"]}, "bad/netns"),
    # overlay_facts
    ("overlay_facts", {"devices": [TOO_LONG]}, TOO_LONG),
]


@pytest.fixture(scope="module")
def lab_netns():
    """One namespace with eth1 (a veth standing in for the underlay), vxlan0 (VNI 42), br0 and a spare veth."""
    name = unique_prefix() + "bad"
    peer = name[:5] + "badp"
    add_netns(name)
    add_netns(peer)
    try:
        quiet(name)
        sh("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", peer, netns=name)
        sh("ip", "addr", "add", "192.0.2.1/24", "dev", "eth1", netns=name)
        sh("ip", "link", "set", "eth1", "up", netns=name)
        sh("ip", "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "eth1", netns=name)
        sh("ip", "link", "add", "br0", "type", "bridge", netns=name)
        sh("ip", "link", "set", "vxlan0", "master", "br0", netns=name)
        sh("ip", "link", "set", "br0", "up", netns=name)
        sh("ip", "link", "set", "vxlan0", "up", netns=name)
        sh("iptables", "-A", "INPUT", "-p", "udp", "--dport", "4789", "-j", "ACCEPT", netns=name)
        settled_dump(name)
        yield name
    finally:
        delete_netns(name)
        delete_netns(peer)


def _id(case):
    module, _params, needle = case
    return "%s-%s" % (module, needle)


@pytest.mark.parametrize(("module", "params", "needle"), CASES, ids=[_id(c) for c in CASES])
def test_bad_input_fails_before_any_change_naming_the_value(lab_netns, module, params, needle):
    params = dict(params)
    if module != "netns":
        params.setdefault("netns", lab_netns)
    before = dump(lab_netns)
    result = run_module(module, params)
    assert result.get("failed") is True, "%s accepted %r: %s" % (module, params, result)
    assert needle in result["msg"], "message does not name %r: %s" % (needle, result["msg"])
    assert result.get("changed") is not True
    assert dump(lab_netns) == before, "%s changed the namespace although it failed" % module


def test_the_matrix_is_big_enough():
    assert len({(m, n) for m, _p, n in CASES}) >= 40
