"""Role unicast on a real 3-host lab, both modes side by side on the same hosts.

point_to_point (seed 002): vxlan11 (VNI 11) + br0 with the host's subnet of 10.244.0.0/16, endpoint "<host>-u1".
head_end (seed 001, second half) with static neighbours: vxlan0 (VNI 42) on br1 carrying 10.233.0.1/16,
endpoint "<host>-e1" at 10.233.0.<N+1>/16.

The tests of this module share one lab and run in file order: converge, rerun, check mode, a host leaving and
coming back, absent, bad input, then interoperation with hosts configured by the seeds' exact commands.
Endpoints are built by the test with seed 001's container commands (tests/integration/seeds.py), so every
assertion is on what the kernel holds, not on the role's output.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from kernel import (
    ROOT,
    capture_vxlan,
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
from seeds import container, seed001_head_end, seed002, seed002_container

from ansible_collections.overlaynet.vxlan.plugins.filter.overlay import overlay_subnets, vtep_mac

pytestmark = pytest.mark.slow

HOSTS = 3
ZERO = "00:00:00:00:00:00"

P2P_PLAY = """
- name: Point-to-point unicast overlay (seed 002)
  hosts: "{{ overlay_hosts | default('lab') }}"
  gather_facts: false
  roles:
    - role: overlaynet.vxlan.unicast
      vars:
        unicast_mode: point_to_point
"""

HEAD_END_PLAY = """
- name: Head-end replication unicast overlay (seed 001), static neighbours
  hosts: "{{ overlay_hosts | default('lab') }}"
  gather_facts: false
  vars:
    unicast_mode: head_end
    unicast_bridge: br1
    unicast_static_neighbors: true
    unicast_endpoints:
      - address: "10.233.0.{{ lab_host_number + 1 }}"
        mac: "{{ (inventory_hostname ~ '-e1') | overlaynet.vxlan.vtep_mac }}"
  roles:
    - role: overlaynet.vxlan.unicast
"""


def host(site, n):
    return "%s-h%d" % (site["prefix"], n)


def vtep(n):
    return "192.0.2.%d" % (10 + n)


def subnets(site, numbers):
    """The subnets the role allocates to the hosts `numbers` (the same filter, the same input)."""
    return {n: overlay_subnets({host(site, m): {} for m in numbers}, "10.244.0.0/16", 24)[host(site, n)]
            for n in numbers}


def net3(subnet):
    return subnet.split("/")[0].rsplit(".", 1)[0]


def run_both(site, *args, env=None, check=True, plays=("p2p", "he")):
    """Run the overlays' playbooks side by side (two processes); return {name: CompletedProcess}."""
    env = env or site["env"]
    with ThreadPoolExecutor(len(plays)) as pool:
        futures = {p: pool.submit(run_playbook, site[p], *args, env=env, check=check) for p in plays}
        return {p: f.result() for p, f in futures.items()}


def changed(results):
    total = {}
    for proc in results.values():
        for name, count in recap_changed(proc.stdout).items():
            total[name] = total.get(name, 0) + count
    return total


def endpoints(site, numbers, nets=None):
    """Seed 001's container per host and overlay (created once; the role never touches them)."""
    nets = nets or subnets(site, range(1, HOSTS + 1))
    for n in numbers:
        h = host(site, n)
        u1, e1 = h + "-u1", h + "-e1"
        if u1 not in site["made"]:
            container(h, u1, net3(nets[n]) + ".2/24", net3(nets[n]) + ".1", bridge="br0", host_veth="veth-u1")
            site["made"].append(u1)
        if e1 not in site["made"]:
            container(h, e1, "10.233.0.%d/16" % (n + 1), "10.233.0.1", bridge="br1", host_veth="veth-e1")
            sh("ip", "link", "set", "eth0", "address", vtep_mac(e1), netns=e1)
            site["made"].append(e1)


def remove_endpoints(site):
    for name in site["made"]:
        delete_netns(name)  # the host ends of the veths go with them
    site["made"].clear()


def pings(site, numbers):
    """Every endpoint of `numbers` pinged from every other one, both overlays; returns the failures."""
    nets = subnets(site, range(1, HOSTS + 1))
    failed = []
    for a in numbers:
        for b in numbers:
            if a == b:
                continue
            for src, dst in (("%s-u1" % host(site, a), net3(nets[b]) + ".2"),
                             ("%s-e1" % host(site, a), "10.233.0.%d" % (b + 1))):
                ok, out = ping(src, dst)
                if not ok:
                    failed.append("%s -> %s: %s" % (src, dst, out[-200:]))
    return failed


def dumps(site, numbers=range(1, HOSTS + 1)):
    return {n: dump(host(site, n)) for n in numbers}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    prefix = unique_prefix()
    work = tmp_path_factory.mktemp("unicast")
    (work / "p2p.yml").write_text(P2P_PLAY)
    (work / "he.yml").write_text(HEAD_END_PLAY)
    made = []
    with lab(prefix, hosts=HOSTS) as env:
        try:
            site = {"prefix": prefix, "env": env, "p2p": work / "p2p.yml", "he": work / "he.yml", "work": work,
                    "made": made}
            for n in range(1, HOSTS + 1):
                quiet(host(site, n))
            site["pristine"] = {n: settled_dump(host(site, n)) for n in range(1, HOSTS + 1)}
            yield site
        finally:
            for name in made + ["%s-h%d-%s" % (prefix, n, s) for n in range(1, HOSTS + 1) for s in ("u1", "e1", "s1")]:
                delete_netns(name)


def assert_p2p(site, numbers):
    nets = subnets(site, numbers)
    for n in numbers:
        h = host(site, n)
        peers = [m for m in numbers if m != n]
        data = link(h, "vxlan11")["linkinfo"]["info_data"]
        assert (data["id"], data["port"], data["local"], data["link"]) == (11, 4789, vtep(n), "eth1")
        assert link(h, "vxlan11")["address"] == vtep_mac("%s/11" % h)
        addrs = {(a["local"], a["prefixlen"]) for a in sh_json("ip", "-j", "addr", "show", "dev", "vxlan11", netns=h)[0]["addr_info"]
                 if a["family"] == "inet"}
        assert addrs == {(nets[n].split("/")[0], 32)}
        br0 = {(a["local"], a["prefixlen"]) for a in sh_json("ip", "-j", "addr", "show", "dev", "br0", netns=h)[0]["addr_info"]
               if a["family"] == "inet"}
        assert br0 == {(net3(nets[n]) + ".1", 24)}
        routes = {(r["dst"], r.get("gateway"), "onlink" in r.get("flags", []))
                  for r in sh_json("ip", "-j", "route", "show", "dev", "vxlan11", netns=h)}
        assert routes == {(nets[m], nets[m].split("/")[0], True) for m in peers}, h
        entries = [(e["mac"], e.get("dst")) for e in fdb(h, "vxlan11") if e.get("state") == "permanent"]
        neighbours = {(e["dst"], e["lladdr"]) for e in neigh(h, "vxlan11") if "PERMANENT" in e["state"]}
        if len(peers) == 1:  # exactly seed 002: remote/local, learning, no static entries
            assert data["remote"] == vtep(peers[0]) and data["learning"] is True
            assert entries == [(ZERO, vtep(peers[0]))]
            assert neighbours == set()
        else:
            assert "remote" not in data and data["learning"] is False
            assert sorted(entries) == sorted((vtep_mac("%s/11" % host(site, m)), vtep(m)) for m in peers)
            assert neighbours == {(nets[m].split("/")[0], vtep_mac("%s/11" % host(site, m))) for m in peers}


def assert_head_end(site, numbers):
    for n in numbers:
        h = host(site, n)
        peers = [m for m in numbers if m != n]
        vx = link(h, "vxlan0")
        data = vx["linkinfo"]["info_data"]
        assert (data["id"], data["port"], data["link"], data["learning"]) == (42, 4789, "eth1", False)
        assert "remote" not in data and "group" not in data and vx["master"] == "br1"
        br1 = {(a["local"], a["prefixlen"]) for a in sh_json("ip", "-j", "addr", "show", "dev", "br1", netns=h)[0]["addr_info"]
               if a["family"] == "inet"}
        assert br1 == {("10.233.0.1", 16)}
        own = [e for e in fdb(h, "vxlan0") if "self" in e.get("flags", [])]
        zeros = [e["dst"] for e in own if e["mac"] == ZERO]
        assert sorted(zeros) == sorted(vtep(m) for m in peers), "exactly one flood entry per peer on %s" % h
        per_mac = {(e["mac"], e["dst"]) for e in own if e["mac"] != ZERO}
        assert per_mac == {(vtep_mac("%s-e1" % host(site, m)), vtep(m)) for m in peers}
        neighbours = {(e["dst"], e["lladdr"]) for e in neigh(h, "br1") if "PERMANENT" in e["state"]}
        assert neighbours == {("10.233.0.%d" % (m + 1), vtep_mac("%s-e1" % host(site, m))) for m in peers}


def test_converge_then_rerun_changes_nothing(site):
    first = run_both(site)
    assert all(changed(first).values())
    endpoints(site, range(1, HOSTS + 1))
    assert_p2p(site, [1, 2, 3])
    assert_head_end(site, [1, 2, 3])
    assert pings(site, [1, 2, 3]) == []
    for n in range(1, HOSTS + 1):
        assert sh("sysctl", "-n", "net.ipv4.ip_forward", netns=host(site, n)).strip() == "1"
    again = run_both(site)
    assert changed(again) == {host(site, n): 0 for n in range(1, HOSTS + 1)}


def test_switch_sees_vxlan_with_the_configured_vni(site):
    """The VNI is read from the VXLAN header of the packets captured on host 2's switch port."""
    nets = subnets(site, [1, 2, 3])
    switch, port = site["prefix"] + "-sw", site["prefix"] + "-p2"
    packets = capture_vxlan(switch, port, 4789, lambda: ping(host(site, 1) + "-u1", net3(nets[2]) + ".2"))
    assert packets and set(packets) == {(4789, 11)}, packets
    packets = capture_vxlan(switch, port, 4789, lambda: ping(host(site, 1) + "-e1", "10.233.0.3"))
    assert packets and set(packets) == {(4789, 42)}, packets


def test_removed_host_is_purged_check_mode_first(site):
    two = dict(site["env"], OVERLAYNET_LAB_HOSTS="2")
    before = dumps(site)
    check = run_both(site, "--check", env=two)
    counts = changed(check)
    assert counts[host(site, 1)] > 0 and counts[host(site, 2)] > 0
    assert dumps(site) == before, "--check changed the kernel"

    run_both(site, env=two)
    assert_p2p(site, [1, 2])  # two hosts left: exactly seed 002 again
    assert_head_end(site, [1, 2])
    gone = {vtep(3), vtep_mac("%s/11" % host(site, 3)), vtep_mac("%s-e1" % host(site, 3))}
    for n in (1, 2):
        h = host(site, n)
        # (the bridge may still hold what it learned from traffic on the vxlan port; that ages out by itself)
        assert not [e for e in fdb(h, "vxlan11") + fdb(h, "vxlan0")
                    if (e["mac"] in gone or e.get("dst") in gone) and e.get("state") != ""]
        assert not [r for r in sh_json("ip", "-j", "route", "show", "dev", "vxlan11", netns=h)
                    if r["dst"] == subnets(site, [1, 2, 3])[3]]
        assert not [e for e in neigh(h, "br1") if e["dst"] == "10.233.0.4"]
    assert list(pings(site, [1, 2])) == []

    back = run_both(site)  # h3 joins again: h1 and h2 leave the seed form (vxlan11 made anew)
    assert changed(back)[host(site, 3)] == 0
    assert_p2p(site, [1, 2, 3])
    assert_head_end(site, [1, 2, 3])
    assert pings(site, [1, 2, 3]) == []


def test_absent_restores_every_host(site):
    remove_endpoints(site)
    run_both(site, "-e", "unicast_state=absent")
    assert dumps(site) == site["pristine"]
    again = run_both(site, "-e", "unicast_state=absent")
    assert set(changed(again).values()) == {0}


@pytest.mark.parametrize(("extra", "message"), [
    ("unicast_vni=16777216", "unicast_vni must be a VXLAN network identifier"),
    ("unicast_mode=multicast", "unicast_mode"),
    ("unicast_network=10.244.0.1/16", "unicast_network 10.244.0.1/16 has host bits set"),
    ("unicast_subnet=10.99.1.0/24", "unicast_subnet 10.99.1.0/24 must be a /24 network inside"),
    ("unicast_dstport=0", "unicast_dstport must be a UDP port"),
    ("unicast_network=192.0.0.0/16", "unicast_network 192.0.0.0/16 overlaps the underlay"),
    ("unicast_subnet=10.244.5.0/24", "both claim subnet 10.244.5.0/24"),
    ('{"unicast_endpoints": [{"address": "10.233.0.9", "mac": "01:00:5e:00:00:01"}]}',
     "unicast_endpoints[0].mac must be a unicast MAC"),
])
def test_bad_input_fails_before_any_change(site, extra, message):
    before = dumps(site)
    play = "he" if "endpoints" in extra else "p2p"
    proc = run_playbook(site[play], "-e", extra, env=site["env"], check=False)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert dumps(site) == before


INTEROP_INVENTORY = """
all:
  children:
    p2p_pair:
      hosts: {{{prefix}-h1: {{}}, {prefix}-h3: {{}}}}
    he_pair:
      hosts: {{{prefix}-h1: {{}}, {prefix}-h2: {{}}}}
"""


def test_interop_with_hosts_built_by_the_seeds_commands(site):
    assert dumps(site) == site["pristine"]  # what test_absent_restores_every_host left
    prefix = site["prefix"]
    h1, h2, h3 = host(site, 1), host(site, 2), host(site, 3)
    inventory = site["work"] / "pairs.yml"
    inventory.write_text(INTEROP_INVENTORY.format(prefix=prefix))
    lab_inventory = str(ROOT / "inventories" / "lab")

    # h3: seed 002 by hand towards h1; h2: seed 001's head-end by hand towards h1.
    nets = {h: overlay_subnets({h1: {}, h3: {}}, "10.244.0.0/16", 24)[h] for h in (h1, h3)}
    seed002(h3, vtep(3), vtep(1), net3(nets[h3]), net3(nets[h1]))
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=h3)
    seed002_container(h3, h3 + "-s1", net3(nets[h3]), net3(nets[h1]))
    seed001_head_end(h2, [vtep(1)])
    container(h2, h2 + "-e1", "10.233.0.3/16", "10.233.0.1", bridge="br0", host_veth="veth-e1")
    site["made"] += [h3 + "-s1", h2 + "-e1"]

    # h1: the role, peers from a group that includes the hand-made host (not in the play).
    common = ("-i", lab_inventory, "-i", str(inventory), "-e", "overlay_hosts=" + h1)
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(run_playbook, site["p2p"], *common, "-e", "unicast_peers_group=p2p_pair", env=site["env"]),
                pool.submit(run_playbook, site["he"], *common, "-e", "unicast_peers_group=he_pair",
                            "-e", "unicast_static_neighbors=false", env=site["env"])]
        for run in runs:
            run.result()
    endpoints(site, [1], nets={1: nets[h1]})

    data = link(h1, "vxlan11")["linkinfo"]["info_data"]
    assert (data["remote"], data["local"], data["id"]) == (vtep(3), vtep(1), 11)
    ok, out = ping(h1 + "-u1", net3(nets[h3]) + ".2")
    assert ok, out
    ok, out = ping(h3 + "-s1", net3(nets[h1]) + ".2")
    assert ok, out
    ok, out = ping(h1 + "-e1", "10.233.0.3")
    assert ok, out
    assert [e["dst"] for e in fdb(h1, "vxlan0") if e["mac"] == ZERO] == [vtep(2)]
