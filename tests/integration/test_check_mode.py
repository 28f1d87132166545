"""The check-mode contract, module by module: on a namespace that needs changes, --check reports
changed=true, a diff and the actions it would take, and the namespace's full dump stays the same.
Then the real run makes exactly the changes check mode announced (a rerun reports none)."""

from __future__ import annotations

import pytest
from kernel import add_netns, delete_netns, dump, quiet, run_module, settled_dump, sh, unique_prefix

CASES = {
    "vxlan_link": {"name": "vx7", "vni": 7, "dev": "eth1", "dstport": 4790, "learning": False, "up": True},
    "vxlan_link-change": {"name": "vxlan0", "vni": 42, "dev": "eth1", "learning": False, "ttl": 9},
    "bridge_fdb": {"device": "vxlan0", "entries": [{"mac": "00:00:00:00:00:00", "dst": "192.0.2.2"},
                                                   {"mac": "00:00:00:00:00:00", "dst": "192.0.2.3"}]},
    "ip_neigh": {"device": "vxlan0", "entries": [{"address": "10.244.2.0", "lladdr": "02:00:00:00:02:00"}]},
    "link": {"name": "br9", "kind": "bridge", "up": True},
    "link-veth": {"name": "ve9", "kind": "veth", "peer": {"name": "ve9p"}, "master": "br0", "up": True},
    "address": {"dev": "vxlan0", "addresses": [{"address": "10.244.1.0/32"}]},
    "route": {"routes": [{"dst": "10.244.2.0/24", "via": "10.244.2.0", "dev": "vxlan0", "onlink": True}]},
}


@pytest.fixture
def host():
    name = unique_prefix() + "chk"
    peer = name[:5] + "chkp"
    add_netns(name)
    add_netns(peer)
    try:
        quiet(name)
        sh("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", peer, netns=name)
        sh("ip", "addr", "add", "192.0.2.1/24", "dev", "eth1", netns=name)
        sh("ip", "link", "set", "eth1", "up", netns=name)
        sh("ip", "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "eth1", netns=name)
        sh("ip", "link", "add", "br0", "type", "bridge", netns=name)
        sh("ip", "link", "set", "br0", "up", netns=name)
        sh("ip", "link", "set", "vxlan0", "up", netns=name)
        settled_dump(name)
        yield name
    finally:
        delete_netns(name)
        delete_netns(peer)


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_mode_reports_and_changes_nothing(host, case):
    module = case.split("-")[0]
    params = dict(CASES[case], netns=host)
    before = settled_dump(host)
    check = run_module(module, params, check=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] is True
    assert check.get("diff") and check["diff"]["before"] != check["diff"]["after"]
    assert check.get("actions")
    assert dump(host) == before, "check mode changed the kernel"
    real = run_module(module, params)
    assert real["changed"] is True
    assert real["actions"] == check["actions"], "the real run did other things than check mode announced"
    assert dump(host) != before
    assert run_module(module, params)["changed"] is False
