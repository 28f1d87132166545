"""The seeds' plumbing built by the netns/link/address/route modules, and traffic across it.

Seed 001: containers (namespaces with eth0 on a veth into bridge br0, an address, a default route),
applied as an Ansible playbook, also with Debian's python3 and its pyroute2 0.7.
Seed 002: the two-host point-to-point lab (vxlan11 made by the test with `ip link add`).
Seed 004: an `external` vxlan device and `encap` routes between two namespaces.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest
from kernel import ROOT, VENV_BIN, ansible_env, delete_netns, dump, link, ping, run_module, sh, sh_json

DEBIAN_PYTHON = "/usr/bin/python3"


@pytest.fixture
def module_made(prefix):
    """Names of namespaces the modules create; deleted by exact name afterwards."""
    names = []

    def name(suffix):
        names.append(prefix + suffix)
        return prefix + suffix

    yield name
    for made in names:
        delete_netns(made)


def apply(tasks, check=False):
    """Run (module, params) in order; return how many reported a change. Fails on the first failure."""
    changed = 0
    for module, params in tasks:
        result = run_module(module, params, check=check)
        assert result.get("failed") is not True, "%s %s: %s" % (module, params, result.get("msg"))
        changed += bool(result["changed"])
    return changed


# ---------------------------------------------------------------------------------------------
# Seed 001: containers on a bridge, as a playbook

SEED001_PLAYBOOK = textwrap.dedent("""\
    - name: Seed 001's container attachment, from the collection's modules only
      hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: Bridge br0 carrying the gateway
          overlaynet.vxlan.link:
            name: br0
            kind: bridge
            up: true
            netns: "{{ host }}"

        - name: Gateway address on br0
          overlaynet.vxlan.address:
            dev: br0
            addresses:
              - address: 10.233.0.1/16
            netns: "{{ host }}"

        - name: Container namespaces
          overlaynet.vxlan.netns:
            name: "{{ containers | map(attribute='netns') }}"

        - name: One veth per container, eth0 inside it, the host end on br0
          overlaynet.vxlan.link:
            name: "{{ item.veth }}"
            kind: veth
            master: br0
            up: true
            netns: "{{ host }}"
            peer:
              name: eth0
              netns: "{{ item.netns }}"
              up: true
          loop: "{{ containers }}"

        - name: Loopback up in each container
          overlaynet.vxlan.link:
            name: lo
            up: true
            netns: "{{ item.netns }}"
          loop: "{{ containers }}"

        - name: Container address
          overlaynet.vxlan.address:
            dev: eth0
            addresses:
              - address: "{{ item.address }}"
            netns: "{{ item.netns }}"
          loop: "{{ containers }}"

        - name: Default route through the gateway
          overlaynet.vxlan.route:
            routes:
              - dst: default
                via: 10.233.0.1
                dev: eth0
            netns: "{{ item.netns }}"
          loop: "{{ containers }}"
""")


def _recap(stdout):
    for line in stdout.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            fields = dict(part.split("=") for part in line.split(":", 1)[1].split())
            return {key: int(value) for key, value in fields.items()}
    raise AssertionError("no PLAY RECAP in:\n" + stdout)


def _playbook(path, extra, *args):
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(path), "-e", json.dumps(extra), *args],
                          capture_output=True, text=True, cwd=ROOT, env=ansible_env(), check=False)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    return _recap(proc.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("python", [
    pytest.param(str(VENV_BIN / "python"), id="venv-pyroute2-0.9"),
    pytest.param(DEBIAN_PYTHON, id="debian-python3-pyroute2-0.7",
                 marks=pytest.mark.skipif(not os.path.exists(DEBIAN_PYTHON), reason="no Debian python3")),
])
def test_seed001_containers_on_a_bridge_ping_each_other(make_netns, module_made, tmp_path, python):
    host = make_netns("h")
    containers = [{"netns": module_made("c1"), "veth": "veth0", "address": "10.233.0.2/16"},
                  {"netns": module_made("c2"), "veth": "veth1", "address": "10.233.0.3/16"}]
    playbook = tmp_path / "seed001.yml"
    playbook.write_text(SEED001_PLAYBOOK)
    extra = {"host": host, "containers": containers, "ansible_python_interpreter": python}

    first = _playbook(playbook, extra)
    assert first["changed"] > 0
    assert first["failed"] == 0
    for container in containers:
        eth0 = link(container["netns"], "eth0")
        assert "UP" in eth0["flags"]
        assert link(host, container["veth"])["master"] == "br0"
        address = sh_json("ip", "-n", container["netns"], "-j", "addr", "show", "dev", "eth0")[0]["addr_info"][0]
        assert "%s/%d" % (address["local"], address["prefixlen"]) == container["address"]
        (default,) = sh_json("ip", "-n", container["netns"], "-j", "route", "show", "default")
        assert (default["gateway"], default["dev"]) == ("10.233.0.1", "eth0")

    ok, output = ping(containers[0]["netns"], "10.233.0.3")
    assert ok, output
    ok, output = ping(containers[1]["netns"], "10.233.0.1")
    assert ok, output

    before = [dump(ns) for ns in [host] + [c["netns"] for c in containers]]
    if python != DEBIAN_PYTHON:  # the check-mode rerun once is enough; playbook runs are the slow part
        assert _playbook(playbook, extra, "--check")["changed"] == 0
    assert _playbook(playbook, extra)["changed"] == 0
    assert [dump(ns) for ns in [host] + [c["netns"] for c in containers]] == before


# ---------------------------------------------------------------------------------------------
# Seed 002: two hosts, point-to-point vxlan11, onlink routes

def _seed002_host(host, number, peer_number, container):
    """The tasks that build seed 002 on one host (what its section 9 does by hand)."""
    mine, peer = "10.244.%d" % number, "10.244.%d" % peer_number
    inner, outer = "veth%da" % number, "veth%db" % number
    return [
        ("link", {"netns": host, "name": "br0", "kind": "bridge", "up": True}),
        ("address", {"netns": host, "dev": "br0", "addresses": [{"address": mine + ".1/24"}]}),
        ("netns", {"name": [container]}),
        ("link", {"netns": host, "name": outer, "kind": "veth", "master": "br0", "up": True,
                  "peer": {"name": inner, "netns": container, "up": True}}),
        ("link", {"netns": container, "name": "lo", "up": True}),
        ("address", {"netns": container, "dev": inner, "addresses": [{"address": mine + ".2/24"}]}),
        ("address", {"netns": host, "dev": "vxlan11", "addresses": [{"address": mine + ".0/32"}]}),
        ("link", {"netns": host, "name": "vxlan11", "up": True}),
        ("route", {"netns": container, "routes": [{"dst": peer + ".0/24", "via": mine + ".1", "dev": inner}]}),
        ("route", {"netns": host, "routes": [{"dst": peer + ".0/24", "via": peer + ".0", "dev": "vxlan11",
                                              "onlink": True}]}),
    ]


def test_seed002_two_host_lab_pings_across(make_netns, module_made):
    h1, h2 = make_netns("h1"), make_netns("h2")
    ns1, ns2 = module_made("n1"), module_made("n2")
    underlay = [
        ("link", {"netns": h1, "name": "eth1", "kind": "veth", "up": True,
                  "peer": {"name": "eth1", "netns": h2, "up": True}}),
        ("address", {"netns": h1, "dev": "eth1", "addresses": [{"address": "192.0.2.11/24"}]}),
        ("address", {"netns": h2, "dev": "eth1", "addresses": [{"address": "192.0.2.12/24"}]}),
    ]
    assert apply(underlay) == 3
    for host, local, remote in ((h1, "192.0.2.11", "192.0.2.12"), (h2, "192.0.2.12", "192.0.2.11")):
        sh("ip", "-n", host, "link", "add", "vxlan11", "type", "vxlan", "id", "11", "dstport", "4789",
           "remote", remote, "local", local, "dev", "eth1")
        sh("ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    overlay = _seed002_host(h1, 1, 2, ns1) + _seed002_host(h2, 2, 1, ns2)
    assert apply(overlay) == len(overlay)

    # seed 002's own two lines, as the kernel shows them
    assert {"local": "10.244.1.0", "prefixlen": 32} in [
        {k: a[k] for k in ("local", "prefixlen")}
        for a in sh_json("ip", "-n", h1, "-j", "addr", "show", "dev", "vxlan11")[0]["addr_info"]]
    (onlink,) = sh_json("ip", "-n", h1, "-j", "route", "show", "10.244.2.0/24")
    assert (onlink["gateway"], onlink["dev"], onlink["flags"]) == ("10.244.2.0", "vxlan11", ["onlink"])

    ok, output = ping(ns1, "10.244.2.2")
    assert ok, output

    everything = [h1, h2, ns1, ns2]
    before = [dump(ns) for ns in everything]
    assert apply(underlay + overlay) == 0
    assert [dump(ns) for ns in everything] == before


# ---------------------------------------------------------------------------------------------
# Seed 004: external vxlan and lightweight-tunnel routes

def test_seed004_encap_routes_carry_a_ping(make_netns):
    a, b = make_netns("a"), make_netns("b")
    assert apply([
        ("link", {"netns": a, "name": "eth1", "kind": "veth", "up": True,
                  "peer": {"name": "eth1", "netns": b, "up": True}}),
        ("address", {"netns": a, "dev": "eth1", "addresses": [{"address": "198.51.100.1/24"}]}),
        ("address", {"netns": b, "dev": "eth1", "addresses": [{"address": "198.51.100.2/24"}]}),
    ]) == 3
    for host in (a, b):
        sh("ip", "-n", host, "link", "add", "vx0", "type", "vxlan", "dstport", "4789", "external")
    macs = {host: link(host, "vx0")["address"] for host in (a, b)}
    overlay = []
    for host, mine, peer, underlay_peer in ((a, "10.40.1.1", "10.40.1.2", "198.51.100.2"),
                                            (b, "10.40.1.2", "10.40.1.1", "198.51.100.1")):
        overlay += [
            ("link", {"netns": host, "name": "vx0", "up": True}),
            ("address", {"netns": host, "dev": "vx0", "addresses": [{"address": mine + "/32"}]}),
            # seed 004: ip route add 40.1.1.1/32 encap vxlan id 10 dst 50.1.1.2 dev vxlan0
            ("route", {"netns": host, "routes": [{"dst": peer + "/32", "dev": "vx0",
                                                  "encap": {"type": "vxlan", "id": 10, "dst": underlay_peer}}]}),
        ]
    assert apply(overlay) == len(overlay)
    # the static neighbour the encap case needs (the ip_neigh module's job; made here by hand)
    sh("ip", "-n", a, "neigh", "add", "10.40.1.2", "lladdr", macs[b], "dev", "vx0", "nud", "permanent")
    sh("ip", "-n", b, "neigh", "add", "10.40.1.1", "lladdr", macs[a], "dev", "vx0", "nud", "permanent")

    assert "encap ip id 10" in sh("ip", "-n", a, "-d", "route", "show", "10.40.1.2")
    ok, output = ping(a, "10.40.1.2")
    assert ok, output

    before = [dump(a), dump(b)]
    assert apply(overlay, check=True) == 0
    assert apply(overlay) == 0
    assert [dump(a), dump(b)] == before
