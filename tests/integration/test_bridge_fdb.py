"""bridge_fdb on the real kernel: every check reads `bridge -j fdb show`, not the module's own output."""

from __future__ import annotations

import json
import subprocess

import pytest
import seeds
from kernel import ROOT, VENV_BIN, ansible_env, dump, fdb, quiet, run_module, settled_dump, sh

ZERO = "00:00:00:00:00:00"
PEERS = ["198.51.100.12", "198.51.100.13", "198.51.100.14"]


def four_runs(params, netns, check):
    """check mode (changed, kernel untouched) -> real (changed, `check()` holds) -> rerun -> rerun in check mode."""
    before = settled_dump(netns)
    dry = run_module("bridge_fdb", params, check=True)
    assert not dry.get("failed"), dry
    assert dry["changed"]
    assert dump(netns) == before
    real = run_module("bridge_fdb", params)
    assert not real.get("failed"), real
    assert real["changed"]
    assert real["actions"] == dry["actions"] and real["diff"] == dry["diff"]
    check()
    again = run_module("bridge_fdb", params)
    assert not again.get("failed"), again
    assert not again["changed"], again["actions"]
    assert not run_module("bridge_fdb", params, check=True)["changed"]
    return real


def static(netns, dev):
    """(mac, dst, where, state) of the static/permanent entries `bridge fdb show dev` lists."""
    return sorted((e["mac"], e.get("dst"), "master" if e.get("master") else "self", e["state"])
                  for e in fdb(netns, dev) if e.get("state") in ("permanent", "static"))


def vxlan(netns, name="vxlan0", *args):
    sh("ip", "-n", netns, "link", "add", name, "type", "vxlan", *args)


def test_seed001_head_end_replication_appends_once_per_peer(make_netns):
    """Seed 001, second half: the module gives what `bridge fdb append 00:.. dst <peer>` gives by hand."""
    by_hand, ours = quiet(make_netns("h")), quiet(make_netns("m"))
    for ns in (by_hand, ours):
        sh("ip", "-n", ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
    seeds.seed001_head_end(by_hand, PEERS)
    vxlan(ours, "vxlan0", "id", "42", "dstport", "4789", "dev", "eth1", "nolearning")
    params = {"netns": ours, "device": "vxlan0", "entries": [{"mac": ZERO, "dst": peer} for peer in PEERS]}

    def check():
        zero = [e for e in fdb(ours, "vxlan0") if e["mac"] == ZERO]
        assert sorted(e["dst"] for e in zero) == PEERS  # exactly one entry per peer
        assert all("self" in e["flags"] and e["state"] == "permanent" for e in zero)

    real = four_runs(params, ours, check)
    assert real["summary"] == {"added": 3, "changed": 0, "removed": 0}
    assert real["diff"]["after"]["entries"] == ["%s dst %s self permanent" % (ZERO, p) for p in PEERS]
    assert static(ours, "vxlan0") == [e for e in static(by_hand, "vxlan0") if e[2] == "self"]

    # The rest of the seed: up, enslaved to br0. The bridge's own entry for vxlan0's MAC is the kernel's:
    # purge leaves it, and nothing changes.
    sh("ip", "-n", ours, "link", "set", "vxlan0", "up")
    sh("ip", "-n", ours, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", ours, "link", "set", "vxlan0", "master", "br0")
    kernel_made = [e for e in fdb(ours, "vxlan0") if e.get("master") == "br0"]
    assert kernel_made
    purged = run_module("bridge_fdb", dict(params, purge=True))
    assert not purged["changed"], purged["actions"]
    assert [e for e in fdb(ours, "vxlan0") if e.get("master") == "br0"] == kernel_made
    assert any(e.get("kernel") and e["master"] for e in purged["fdb"])


def test_purge_leaves_exactly_the_listed_entries_and_keeps_learned_ones(make_netns):
    """5 static entries, 3 listed: purge removes 2 and says so in the diff; an entry learned from traffic stays."""
    a, b = quiet(make_netns("a")), quiet(make_netns("b"))
    sh("ip", "-n", a, "link", "add", "u1", "type", "veth", "peer", "name", "u2", "netns", b)
    for ns, dev, num in ((a, "u1", 1), (b, "u2", 2)):
        sh("ip", "-n", ns, "addr", "add", "192.0.2.%d/24" % num, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        vxlan(ns, "vxlan0", "id", "42", "dstport", "4789", "local", "192.0.2.%d" % num, "dev", dev)  # learning on
        sh("ip", "-n", ns, "addr", "add", "10.0.0.%d/24" % num, "dev", "vxlan0")
        sh("ip", "-n", ns, "link", "set", "vxlan0", "up")
    sh("bridge", "-n", b, "fdb", "append", ZERO, "dev", "vxlan0", "dst", "192.0.2.1")
    for args in (("append", ZERO, "dst", "192.0.2.2"), ("append", ZERO, "dst", "198.51.100.7"),
                 ("append", ZERO, "dst", "198.51.100.8"), ("add", "02:00:00:00:aa:01", "dst", "198.51.100.9"),
                 ("add", "02:00:00:00:aa:02", "dst", "198.51.100.10", "static")):
        sh("bridge", "-n", a, "fdb", args[0], args[1], "dev", "vxlan0", *args[2:])
    sh("ping", "-c", "1", "-W", "2", "10.0.0.2", netns=a)  # a learns b's vxlan MAC behind 192.0.2.2
    b_mac = json.loads(sh("ip", "-n", b, "-j", "link", "show", "vxlan0"))[0]["address"]
    learned = [e for e in fdb(a, "vxlan0") if e["mac"] == b_mac]
    assert learned and learned[0]["state"] not in ("permanent", "static")
    assert len(static(a, "vxlan0")) == 5

    listed = [{"mac": ZERO, "dst": "192.0.2.2"}, {"mac": ZERO, "dst": "198.51.100.7"},
              {"mac": "02:00:00:00:aa:01", "dst": "198.51.100.9"}]
    params = {"netns": a, "device": "vxlan0", "entries": listed, "purge": True}

    def check():
        assert static(a, "vxlan0") == sorted([(ZERO, "192.0.2.2", "self", "permanent"),
                                              (ZERO, "198.51.100.7", "self", "permanent"),
                                              ("02:00:00:00:aa:01", "198.51.100.9", "self", "permanent")])
        assert [e["mac"] for e in fdb(a, "vxlan0") if e["mac"] == b_mac] == [b_mac]

    real = four_runs(params, a, check)
    assert real["summary"] == {"added": 0, "changed": 0, "removed": 2}
    removed = set(real["diff"]["before"]["entries"]) - set(real["diff"]["after"]["entries"])
    assert removed == {"00:00:00:00:00:00 dst 198.51.100.8 self permanent",
                       "02:00:00:00:aa:02 dst 198.51.100.10 self static"}
    assert sh("ping", "-c", "1", "-W", "2", "10.0.0.2", netns=a)

    # Only when asked does purge take the learned entry too.
    flushed = run_module("bridge_fdb", dict(params, purge_dynamic=True))
    assert flushed["changed"] and flushed["summary"]["removed"] == 1
    assert not [e for e in fdb(a, "vxlan0") if e["mac"] == b_mac]


def test_purge_never_touches_what_the_kernel_made(make_netns):
    ns, outside = quiet(make_netns("k")), quiet(make_netns("c"))
    vxlan(ns, "vxr", "id", "43", "dstport", "4789", "remote", "198.51.100.9")  # the kernel adds 00:.. dst 198.51.100.9
    sh("ip", "-n", ns, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb", "netns", outside)
    for dev in ("vxr", "pa"):
        sh("ip", "-n", ns, "link", "set", dev, "master", "br0")
    for dev in ("br0", "vxr", "pa"):
        sh("ip", "-n", ns, "link", "set", dev, "up")
    sh("ip", "-n", ns, "addr", "add", "10.0.0.1/24", "dev", "br0")
    sh("ip", "-n", outside, "addr", "add", "10.0.0.2/24", "dev", "pb")
    sh("ip", "-n", outside, "link", "set", "pb", "up")
    sh("bridge", "-n", ns, "fdb", "add", "02:00:00:00:bb:01", "dev", "pa", "master", "static")
    sh("bridge", "-n", ns, "fdb", "add", "02:00:00:00:bb:02", "dev", "br0", "self")
    sh("ping", "-c", "1", "-W", "2", "10.0.0.1", netns=outside)  # the bridge learns pb's MAC on pa
    pb_mac = json.loads(sh("ip", "-n", outside, "-j", "link", "show", "pb"))[0]["address"]
    before = {dev: fdb(ns, dev) for dev in ("vxr", "pa", "br0")}
    assert any(e["mac"] == pb_mac for e in before["pa"])
    assert any(e["mac"] == ZERO and e["dst"] == "198.51.100.9" for e in before["vxr"])

    def without(dev, mac):
        return [e for e in before[dev] if e["mac"] != mac]

    result = run_module("bridge_fdb", {"netns": ns, "device": "pa", "purge": True})
    assert result["actions"] == ["delete 02:00:00:00:bb:01 master static from pa"]
    assert fdb(ns, "pa") == without("pa", "02:00:00:00:bb:01")
    result = run_module("bridge_fdb", {"netns": ns, "device": "br0", "purge": True})
    assert result["actions"] == ["delete 02:00:00:00:bb:02 self permanent from br0"]
    assert fdb(ns, "br0") == without("br0", "02:00:00:00:bb:02")
    result = run_module("bridge_fdb", {"netns": ns, "device": "vxr", "purge": True})
    assert not result["changed"] and fdb(ns, "vxr") == before["vxr"]

    result = run_module("bridge_fdb", {"netns": ns, "device": "pa", "purge": True, "purge_dynamic": True})
    assert [a for a in result["actions"] if pb_mac in a]
    assert not [e for e in fdb(ns, "pa") if e["mac"] == pb_mac]
    assert [e for e in fdb(ns, "pa") if e["state"] == "permanent"] == [
        e for e in before["pa"] if e["state"] == "permanent"]


def test_bridge_port_entries_and_absent(make_netns):
    ns = quiet(make_netns("p"))
    sh("ip", "-n", ns, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb")
    sh("ip", "-n", ns, "link", "set", "pa", "master", "br0")
    listed = [{"mac": "02:00:00:00:cc:01", "state": "static"}, {"mac": "02-00-00-00-CC-02"}]
    params = {"netns": ns, "device": "pa", "entries": listed}

    def check():
        got = {e["mac"]: e for e in fdb(ns, "pa") if e["mac"].startswith("02:00:00:00:cc")}
        assert {mac: (e["master"], e["state"]) for mac, e in got.items()} == {
            "02:00:00:00:cc:01": ("br0", "static"), "02:00:00:00:cc:02": ("br0", "permanent")}

    four_runs(params, ns, check)
    gone = {"netns": ns, "device": "pa", "entries": [{"mac": "02:00:00:00:cc:02"}], "state": "absent"}
    four_runs(gone, ns, lambda: [e["mac"] for e in fdb(ns, "pa") if e["mac"].startswith("02:00:00:00:cc")]
              == ["02:00:00:00:cc:01"])


def test_absent_removes_only_the_named_destination(make_netns):
    ns = quiet(make_netns("d"))
    vxlan(ns, "vxlan0", "id", "42", "dstport", "4789", "nolearning")
    for peer in PEERS:
        sh("bridge", "-n", ns, "fdb", "append", ZERO, "dev", "vxlan0", "dst", peer)
    params = {"netns": ns, "device": "vxlan0", "entries": [{"mac": ZERO, "dst": PEERS[1]}], "state": "absent"}

    def check():
        assert sorted(e["dst"] for e in fdb(ns, "vxlan0")) == [PEERS[0], PEERS[2]]

    real = four_runs(params, ns, check)
    assert real["actions"] == ["delete 00:00:00:00:00:00 dst 198.51.100.13 self permanent from vxlan0"]


def test_vni_port_and_via_equal_to_the_device_s_own_cause_no_change(make_netns):
    ns = quiet(make_netns("v"))
    sh("ip", "-n", ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
    vxlan(ns, "vxlan0", "id", "42", "dstport", "4789", "nolearning")
    entries = [{"mac": "02:00:00:00:dd:01", "dst": "198.51.100.20", "vni": 42, "port": 4789},
               {"mac": "02:00:00:00:dd:02", "dst": "198.51.100.21", "vni": 7, "port": 4790, "via": "eth1"}]

    def check():
        got = {e["mac"]: e for e in fdb(ns, "vxlan0")}
        assert "vni" not in got["02:00:00:00:dd:01"] and "port" not in got["02:00:00:00:dd:01"]
        assert (got["02:00:00:00:dd:02"]["vni"], got["02:00:00:00:dd:02"]["port"],
                got["02:00:00:00:dd:02"]["viaIf"]) == (7, 4790, "eth1")

    real = four_runs({"netns": ns, "device": "vxlan0", "entries": entries}, ns, check)
    assert {"mac": "02:00:00:00:dd:02", "dst": "198.51.100.21", "vni": 7, "port": 4790, "via": "eth1",
            "self": True, "master": False, "state": "permanent"} in real["fdb"]


def test_ten_thousand_entries_in_one_task(make_netns):
    ns = quiet(make_netns("b"))
    vxlan(ns, "vxlan0", "id", "42", "dstport", "4789", "nolearning")
    entries = [{"mac": "02:00:00:%02x:%02x:%02x" % (i >> 16, (i >> 8) & 255, i & 255),
                "dst": "198.51.100.%d" % (1 + i % 250)} for i in range(9990)]
    entries += [{"mac": ZERO, "dst": "203.0.113.%d" % (i + 1)} for i in range(10)]
    params = {"netns": ns, "device": "vxlan0", "entries": entries, "purge": True}
    dry = run_module("bridge_fdb", params, check=True, diff=False)
    assert dry["changed"] and dry["summary"]["added"] == 10000
    assert fdb(ns, "vxlan0") == []
    real = run_module("bridge_fdb", params, diff=False)
    assert not real.get("failed"), real.get("msg")
    assert real["changed"] and real["summary"]["added"] == 10000
    got = {(e["mac"], e["dst"]) for e in fdb(ns, "vxlan0")}
    assert got == {(e["mac"], e["dst"]) for e in entries}
    again = run_module("bridge_fdb", params, diff=False)
    assert not again["changed"], again["actions"][:5]
    assert len(again["fdb"]) == 10000


def test_everything_is_checked_before_anything_changes(make_netns):
    ns = quiet(make_netns("x"))
    vxlan(ns, "vxlan0", "id", "42", "dstport", "4789", "nolearning")
    sh("ip", "-n", ns, "link", "add", "lone", "type", "veth", "peer", "name", "lonep")
    sh("bridge", "-n", ns, "fdb", "append", ZERO, "dev", "vxlan0", "dst", "198.51.100.12")
    before = settled_dump(ns)
    cases = [
        ({"device": "nosuch0", "entries": []}, ["'nosuch0' does not exist in network namespace"]),
        ({"device": "lone", "entries": [{"mac": "02:00:00:00:00:01"}]}, ["'lone'", "not a bridge port"]),
        ({"device": "vxlan0", "entries": [{"mac": ZERO, "dst": "198.51.100.13"}, {"mac": "02:00:00:00:00"}]},
         ["entries[1]: mac '02:00:00:00:00'"]),
        ({"device": "vxlan0", "entries": [{"mac": ZERO, "dst": "2001:db8::1"}]}, ["entries[0]", "IPv6", "IPv4 device"]),
        ({"device": "vxlan0", "entries": [{"mac": ZERO, "dst": "198.51.100.13"}, {"mac": ZERO, "dst": "198.51.100.13"}]},
         ["entries[1] duplicates entries[0]"]),
        ({"device": "vxlan0", "entries": [{"mac": "02:00:00:00:00:01", "dst": "198.51.100.13"},
                                          {"mac": "02:00:00:00:00:01", "dst": "198.51.100.14"}]},
         ["entries[0] and entries[1]", "unicast MAC"]),
        ({"device": "vxlan0", "entries": [], "state": "absent", "purge": True}, ["state=present"]),
    ]
    for params, words in cases:
        result = run_module("bridge_fdb", dict(params, netns=ns))
        assert result["failed"], params
        assert all(word in result["msg"] for word in words), result["msg"]
    assert dump(ns) == before
    missing = run_module("bridge_fdb", {"netns": ns + "-gone", "device": "vxlan0"})
    assert missing["failed"] and "does not exist" in missing["msg"]


def test_a_refused_entry_fails_the_task_and_undoes_the_rest(make_netns):
    ns = quiet(make_netns("r"))
    sh("ip", "-n", ns, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb")
    sh("ip", "-n", ns, "link", "set", "pa", "master", "br0")
    sh("bridge", "-n", ns, "fdb", "add", "02:00:00:00:ee:09", "dev", "pa", "master", "static")
    before = fdb(ns, "pa")
    result = run_module("bridge_fdb", {"netns": ns, "device": "pa", "purge": True, "entries": [
        {"mac": "02:00:00:00:ee:01", "state": "static"},
        {"mac": "02:00:00:00:ee:02", "vlan": 100, "state": "static"}]})  # VLAN 100 is not on the port
    assert result["failed"]
    assert "entries[1]" in result["msg"] and "EINVAL" in result["msg"] and "undone" in result["msg"], result["msg"]
    assert not result["changed"]
    assert fdb(ns, "pa") == before


def test_runs_with_debian_python_and_pyroute2_0_7(make_netns):
    """The managed-host interpreter of Debian 12 (python3.11); this module needs neither pyroute2 nor iproute2."""
    ns = quiet(make_netns("deb"))
    vxlan(ns, "vxlan0", "id", "42", "dstport", "4789", "nolearning")
    args = json.dumps({"netns": ns, "device": "vxlan0", "entries": [{"mac": ZERO, "dst": p} for p in PEERS]})
    for expect in ("CHANGED", "SUCCESS"):
        proc = subprocess.run(
            [str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m",
             "overlaynet.vxlan.bridge_fdb", "-a", args, "-e", "ansible_python_interpreter=/usr/bin/python3"],
            capture_output=True, text=True, cwd=ROOT, env=ansible_env(), check=False)
        assert proc.stdout.startswith("localhost | %s" % expect), proc.stdout + proc.stderr
    assert sorted(e["dst"] for e in fdb(ns, "vxlan0")) == PEERS


@pytest.mark.parametrize("state", ["permanent", "static"])
def test_state_of_all_destinations_of_a_mac_changes_together(make_netns, state):
    ns = quiet(make_netns("s"))
    vxlan(ns, "vxlan0", "id", "42", "dstport", "4789", "nolearning")
    other = "static" if state == "permanent" else "permanent"
    for peer in PEERS[:2]:
        sh("bridge", "-n", ns, "fdb", "append", ZERO, "dev", "vxlan0", "dst", peer, other)
    params = {"netns": ns, "device": "vxlan0", "entries": [{"mac": ZERO, "dst": p, "state": state} for p in PEERS[:2]]}
    four_runs(params, ns, lambda: None)
    assert {e["state"] for e in fdb(ns, "vxlan0")} == {state}


def test_read_back_false_applies_the_entries_and_returns_no_table(make_netns):
    ours = quiet(make_netns("r"))
    vxlan(ours, "vxlan0", "id", "42", "dstport", "4789", "nolearning")
    params = {"netns": ours, "device": "vxlan0", "entries": [{"mac": ZERO, "dst": p} for p in PEERS],
              "read_back": False}
    real = run_module("bridge_fdb", params)
    assert real["changed"] and "fdb" not in real
    assert sorted(e["dst"] for e in fdb(ours, "vxlan0") if e["mac"] == ZERO) == PEERS
    again = run_module("bridge_fdb", params)
    assert not again["changed"] and "fdb" not in again
    assert len(run_module("bridge_fdb", dict(params, read_back=True))["fdb"]) == len(fdb(ours, "vxlan0"))
