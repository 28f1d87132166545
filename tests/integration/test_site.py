"""site.yml on the embedded lab inventory: the multicast, unicast, head-end and flannel overlays share three
namespace hosts, each is proven by pings (the verify role), a rerun changes nothing, a host that leaves
the inventory is purged from its peers' tables, and `site_state=absent` restores every host's dump."""

from __future__ import annotations

import pytest
from kernel import (
    capture_vxlan,
    delete_netns,
    dump,
    fdb,
    lab,
    neigh,
    ping,
    recap_changed,
    run_playbook,
    sh_json,
    unique_prefix,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site():
    prefix = unique_prefix()
    hosts = ["%s-h%d" % (prefix, n) for n in (1, 2, 3)]
    with lab(prefix, hosts=3) as env:
        try:
            yield {"prefix": prefix, "env": env, "hosts": hosts, "before": {h: dump(h) for h in hosts}}
        finally:
            for host in hosts:
                for suffix in ("-m1", "-u1", "-e1", "-f1"):
                    delete_netns(host + suffix)


def test_every_overlay_is_built_and_verified(site):
    first = run_playbook("site.yml", env=site["env"])
    for overlay in ("multicast", "unicast", "head_end", "flannel"):
        assert "%s: all 6 endpoint pairs reach each other" % overlay in first.stdout
    again = run_playbook("site.yml", env=site["env"])
    assert set(recap_changed(again.stdout).values()) == {0}


def test_each_overlay_carries_its_own_vni_on_the_underlay(site):
    prefix, h1 = site["prefix"], site["hosts"][0]
    cases = [("-m1", "10.233.0.12", 42), ("-e1", "10.16.0.12", 43)]
    for suffix, address, vni in cases:
        packets = capture_vxlan(prefix + "-sw", prefix + "-p2", 4789, lambda s=suffix, a=address: ping(h1 + s, a))
        assert packets and {p[1] for p in packets} == {vni}, (suffix, packets)
    h2_gateway = sh_json("ip", "-n", site["hosts"][1], "-j", "addr", "show", "dev", "br11")[0]["addr_info"][0]["local"]
    h2_endpoint = h2_gateway.rsplit(".", 1)[0] + ".2"
    packets = capture_vxlan(prefix + "-sw", prefix + "-p2", 4789, lambda: ping(h1 + "-u1", h2_endpoint))
    assert packets and {p[1] for p in packets} == {11}
    h2_pod = sh_json("ip", "-n", site["hosts"][1], "-j", "addr", "show", "dev", "cni0")[0]["addr_info"][0]["local"]
    packets = capture_vxlan(prefix + "-sw", prefix + "-p2", 8472, lambda: ping(h1 + "-f1", h2_pod[:-1] + "2"))
    assert packets and {p[1] for p in packets} == {1}


def test_a_host_that_leaves_the_inventory_is_purged_from_its_peers(site):
    h1 = site["hosts"][0]
    h3_vtep = "192.0.2.13"
    assert len([r for r in sh_json("ip", "-n", h1, "-j", "route", "show", "dev", "vxlan11") if r.get("gateway")]) == 2
    assert any(e.get("dst") == h3_vtep for e in fdb(h1, "vxlan43"))
    smaller = dict(site["env"], OVERLAYNET_LAB_HOSTS="2")
    run_playbook("site.yml", env=smaller)
    for host in site["hosts"][:2]:
        assert not [e for e in fdb(host, "vxlan43") if e.get("dst") == h3_vtep]
        assert not [e for e in fdb(host, "vxlan11") if e.get("dst") == h3_vtep]
        assert len([r for r in sh_json("ip", "-n", host, "-j", "route", "show", "dev", "vxlan11") if r.get("gateway")]) == 1
        assert not [n for n in neigh(host, "br43") if n["dst"].endswith(".13")]
        assert not [e for e in fdb(host, "flannel.1") if e.get("dst") == h3_vtep]
        assert len(sh_json("ip", "-n", host, "-j", "route", "show", "dev", "flannel.1")) == 1
    run_playbook("site.yml", env=site["env"])  # h3 back for the last test
    assert any(e.get("dst") == h3_vtep for e in fdb(h1, "vxlan43"))


def test_absent_restores_every_host(site):
    run_playbook("site.yml", "-e", "site_state=absent", env=site["env"])
    now = {h: dump(h) for h in site["hosts"]}
    for host in site["hosts"]:
        # iptables-save lists the nat and filter tables once flannel's chains used them: compare the rules.
        assert [line for line in now[host].pop("iptables") if line.startswith(("-", ":FLANNEL"))] == []
    assert now == {h: {k: v for k, v in d.items() if k != "iptables"} for h, d in site["before"].items()}
