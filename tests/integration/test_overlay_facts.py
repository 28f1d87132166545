"""overlay_facts on the real kernel: the facts are compared with `ip -d -j link`, `bridge -j fdb`,
`ip -j neigh`, `ip -j addr` and `ip -j route` of the same namespace."""

from __future__ import annotations

import json
import subprocess

from kernel import ROOT, VENV_BIN, ansible_env, fdb, link, run_module, sh, sh_json

PEERS = ["198.51.100.12", "198.51.100.13"]


def build(ns):
    """A head-end vxlan0 on br0 with entries, addresses and routes; an external vxlan with an encap route."""
    def run(*args):
        sh("ip", "-n", ns, *args)

    run("link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
    run("addr", "add", "192.0.2.1/24", "dev", "eth1")
    run("link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "local", "192.0.2.1", "dev", "eth1",
        "nolearning", "l2miss")
    run("link", "add", "br0", "type", "bridge")
    run("link", "set", "vxlan0", "master", "br0")
    run("link", "add", "vx9", "type", "vxlan", "dstport", "4790", "external")
    for dev in ("eth1", "eth1p", "vxlan0", "br0", "vx9"):
        run("link", "set", dev, "up")
    run("addr", "add", "10.233.0.1/16", "dev", "br0")
    run("addr", "add", "10.244.1.0/32", "dev", "vxlan0")
    for peer in PEERS:
        sh("bridge", "-n", ns, "fdb", "append", "00:00:00:00:00:00", "dev", "vxlan0", "dst", peer)
    sh("bridge", "-n", ns, "fdb", "add", "02:42:0a:00:00:03", "dev", "vxlan0", "dst", PEERS[0], "vni", "43")
    run("neigh", "add", "10.233.0.3", "lladdr", "02:42:0a:00:00:03", "dev", "br0", "nud", "permanent")
    run("neigh", "add", "10.244.2.0", "lladdr", "02:42:0a:00:00:04", "dev", "vxlan0", "nud", "permanent")
    run("route", "add", "10.244.2.0/24", "via", "10.244.2.0", "dev", "vxlan0", "onlink")
    run("route", "add", "40.1.1.1/32", "encap", "ip", "id", "10", "dst", "192.0.2.22", "dev", "vx9")


def test_facts_match_what_iproute2_reads(netns):
    build(netns)
    result = run_module("overlay_facts", {"netns": netns})
    assert not result.get("failed"), result
    assert not result["changed"]
    facts = result["ansible_facts"]["overlay"]
    assert facts["netns"] == netns
    assert set(facts["vxlan"]) == {"vxlan0", "vx9"} and set(facts["bridges"]) == {"br0"}

    vx = facts["vxlan"]["vxlan0"]
    kernel = link(netns, "vxlan0")
    data = kernel["linkinfo"]["info_data"]
    assert (vx["vni"], vx["dstport"], vx["local"], vx["dev"], vx["learning"], vx["external"]) == (
        data["id"], data["port"], data["local"], "eth1", data["learning"], False)
    assert vx["attributes"]["l2miss"] in (1, True) and vx["attributes"]["id"] == 42
    assert (vx["mac"], vx["mtu"], vx["master"], vx["ifindex"]) == (
        kernel["address"], kernel["mtu"], "br0", kernel["ifindex"])
    assert facts["vxlan"]["vx9"]["external"] is True

    assert sorted((e["mac"], e.get("dst"), e.get("vni"), e["state"]) for e in vx["fdb"]) == sorted(
        (e["mac"], e.get("dst"), e.get("vni"), e["state"]) for e in fdb(netns, "vxlan0"))
    neighbours = sh_json("ip", "-n", netns, "-j", "neigh", "show", "dev", "vxlan0", "nud", "all")
    assert sorted((e["address"], e["lladdr"]) for e in vx["neigh"]) == sorted(
        (e["dst"], e.get("lladdr")) for e in neighbours)
    addresses = sh_json("ip", "-n", netns, "-j", "addr", "show", "dev", "vxlan0")[0]["addr_info"]
    assert sorted(a["cidr"] for a in vx["addresses"]) == sorted(
        "%s/%d" % (a["local"], a["prefixlen"]) for a in addresses)
    routes = sh_json("ip", "-n", netns, "-j", "route", "show", "table", "all", "dev", "vxlan0")
    assert sorted(r["dst"] for r in vx["routes"]) == sorted(
        r["dst"] if "/" in r["dst"] or r["dst"] == "default" else r["dst"] + ("/128" if ":" in r["dst"] else "/32")
        for r in routes)
    onlink = next(r for r in vx["routes"] if r["dst"] == "10.244.2.0/24")
    assert (onlink["gateway"], onlink.get("onlink"), onlink["table"]) == ("10.244.2.0", True, "main")
    encap = next(r for r in facts["vxlan"]["vx9"]["routes"] if r["dst"] == "40.1.1.1/32")
    assert encap["encap"]["type"] == "ip"
    assert (encap["encap"]["id"], encap["encap"]["dst"]) == (10, "192.0.2.22")

    br = facts["bridges"]["br0"]
    assert [p["name"] for p in br["ports"]] == ["vxlan0"]
    assert br["vlan_filtering"] is False
    table = {(e["mac"], e["device"]) for e in br["fdb"] if e.get("master") or e["device"] == "br0"}
    expected = {(e["mac"], "vxlan0") for e in fdb(netns, "vxlan0") if e.get("master") == "br0"}
    expected |= {(e["mac"], "br0") for e in fdb(netns, "br0")}
    assert table == expected
    assert [(e["address"], e["lladdr"], e["state"]) for e in br["neigh"] if e["address"] == "10.233.0.3"] == [
        ("10.233.0.3", "02:42:0a:00:00:03", "permanent")]
    assert [a["cidr"] for a in br["addresses"] if a["family"] == "ipv4"] == ["10.233.0.1/16"]


def test_devices_filter_missing_names_and_gather_subset(netns):
    build(netns)
    result = run_module("overlay_facts", {"netns": netns, "devices": ["vxlan0", "nosuch0"], "gather": ["fdb"]},
                        check=True)
    facts = result["ansible_facts"]["overlay"]
    assert list(facts["vxlan"]) == ["vxlan0"] and facts["bridges"] == {}
    assert facts["missing"] == ["nosuch0"]
    item = facts["vxlan"]["vxlan0"]
    assert "fdb" in item and not {"neigh", "addresses", "routes"} & set(item)
    zero = sorted(e["dst"] for e in item["fdb"] if e["mac"] == "00:00:00:00:00:00")
    assert zero == PEERS

    wrong = run_module("overlay_facts", {"netns": netns, "devices": ["eth1"]})
    assert wrong["failed"] and "'eth1' is a veth, not a vxlan device or a bridge" in wrong["msg"]
    gone = run_module("overlay_facts", {"netns": netns + "-gone"})
    assert gone["failed"] and "does not exist" in gone["msg"]


def test_an_empty_namespace_has_empty_facts(netns):
    facts = run_module("overlay_facts", {"netns": netns})["ansible_facts"]["overlay"]
    assert facts == {"netns": netns, "vxlan": {}, "bridges": {}, "missing": []}


def test_runs_with_debian_python_and_pyroute2_0_7(netns):
    build(netns)
    proc = subprocess.run(
        [str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m",
         "overlaynet.vxlan.overlay_facts", "-a", json.dumps({"netns": netns, "devices": ["vxlan0"]}),
         "-e", "ansible_python_interpreter=/usr/bin/python3"],
        capture_output=True, text=True, cwd=ROOT, env=ansible_env(), check=False)
    assert proc.stdout.startswith("localhost | SUCCESS"), proc.stdout + proc.stderr
    facts = json.loads(proc.stdout.split("=>", 1)[1])["ansible_facts"]["overlay"]
    assert sorted(e["dst"] for e in facts["vxlan"]["vxlan0"]["fdb"] if e["mac"] == "00:00:00:00:00:00") == PEERS
    assert facts["vxlan"]["vxlan0"]["vni"] == 42
