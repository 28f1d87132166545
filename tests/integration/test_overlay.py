"""The overlay module on the real kernel: a host's whole overlay in one call, in namespaces the tests make.

Each scenario runs check mode -> real -> rerun -> rerun in check mode, compares kernel.dump() where
nothing may change (check mode, a failed run, state absent), and proves the overlay carries a ping.
"""

from __future__ import annotations

import difflib
import json
import subprocess

import pytest
from kernel import (
    ROOT,
    VENV_BIN,
    ansible_env,
    dump,
    fdb,
    link,
    neigh,
    ping,
    quiet,
    run_module,
    settled_dump,
    sh,
    sh_json,
)

MODULE = "overlay"
DEBIAN_PYTHON = "/usr/bin/python3"
UNDERLAY = {1: "192.0.2.11", 2: "192.0.2.12", 3: "192.0.2.13"}
VTEP_MAC = {1: "02:00:c0:00:02:0b", 2: "02:00:c0:00:02:0c", 3: "02:00:c0:00:02:0d"}


def two_hosts(make_netns):
    """Two namespace hosts joined by a veth underlay eth1 (192.0.2.11 and .12), IPv6 kept quiet."""
    h1, h2 = quiet(make_netns("h1")), quiet(make_netns("h2"))
    sh("ip", "-n", h1, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", h2)
    for number, host in ((1, h1), (2, h2)):
        sh("ip", "-n", host, "addr", "add", UNDERLAY[number] + "/24", "dev", "eth1")
        sh("ip", "-n", host, "link", "set", "eth1", "up")
    return h1, h2


def one_host(make_netns):
    """One namespace host with an underlay eth1 (192.0.2.11/24) on a veth whose other end stays inside."""
    host = quiet(make_netns("h"))
    sh("ip", "-n", host, "link", "add", "eth1", "type", "veth", "peer", "name", "wire")
    sh("ip", "-n", host, "addr", "add", UNDERLAY[1] + "/24", "dev", "eth1")
    sh("ip", "-n", host, "link", "set", "eth1", "up")
    sh("ip", "-n", host, "link", "set", "wire", "up")
    return host


def seed002(host, number, peer):
    """Seed 002 for one host in one call: br0 with the gateway, vxlan11 with a /32, the onlink route."""
    return {
        "netns": host,
        "bridges": [{"name": "br0", "up": True}],
        "vxlan": [{"name": "vxlan11", "vni": 11, "dstport": 4789, "remote": UNDERLAY[peer], "local": UNDERLAY[number],
                   "dev": "eth1", "up": True}],
        "addresses": [{"dev": "br0", "addresses": [{"address": "10.244.%d.1/24" % number}]},
                      {"dev": "vxlan11", "addresses": [{"address": "10.244.%d.0/32" % number}]}],
        "routes": [{"routes": [{"dst": "10.244.%d.0/24" % peer, "via": "10.244.%d.0" % peer, "dev": "vxlan11",
                                "onlink": True}]}],
    }


def flannel(host, number, peers):
    """What flanneld programs on a host: flannel.1, cni0, and per peer neigh -> fdb -> route."""
    return {
        "netns": host,
        "bridges": [{"name": "cni0", "mtu": 1450, "up": True}],
        "vxlan": [{"name": "flannel.1", "vni": 1, "dstport": 8472, "local": UNDERLAY[number], "dev": "eth1",
                   "learning": False, "ttl": "auto", "udpcsum": True, "mac": VTEP_MAC[number], "mtu": 1450,
                   "up": True}],
        "addresses": [{"dev": "flannel.1", "addresses": [{"address": "10.244.%d.0/32" % number, "broadcast": ""}],
                       "purge": True},
                      {"dev": "cni0", "addresses": [{"address": "10.244.%d.1/24" % number}]}],
        "neigh": [{"device": "flannel.1", "purge": True,
                   "entries": [{"address": "10.244.%d.0" % p, "lladdr": VTEP_MAC[p]} for p in peers]}],
        "fdb": [{"device": "flannel.1", "purge": True,
                 "entries": [{"mac": VTEP_MAC[p], "dst": UNDERLAY[p]} for p in peers]}],
        "routes": [{"dev": "flannel.1", "purge": True,
                    "routes": [{"dst": "10.244.%d.0/24" % p, "via": "10.244.%d.0" % p, "onlink": True}
                               for p in peers]}],
    }


def same(now, before):
    """Dumps equal, compared section by section so a failure shows the lines that differ."""
    for ns in before:
        for section in before[ns]:
            if now[ns][section] != before[ns][section]:
                lines = difflib.unified_diff(json.dumps(before[ns][section], indent=1, sort_keys=True).splitlines(),
                                             json.dumps(now[ns][section], indent=1, sort_keys=True).splitlines(),
                                             lineterm="", n=2)
                raise AssertionError("%s: %s differs:\n%s" % (ns, section, "\n".join(lines)))


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def converge(params, namespaces):
    """check -> real -> rerun -> rerun in check mode; returns the real run's result."""
    before = {ns: settled_dump(ns) for ns in namespaces}
    checked = ok(run_module(MODULE, params, check=True))
    assert checked["changed"] is True
    assert checked["diff"]["before"] != checked["diff"]["after"]
    assert {ns: dump(ns) for ns in namespaces} == before, "check mode changed the kernel"
    real = ok(run_module(MODULE, params))
    assert real["changed"] is True
    assert real["actions"] == checked["actions"]
    assert real["diff"] == checked["diff"]
    after = {ns: settled_dump(ns) for ns in namespaces}
    for check in (False, True):
        again = ok(run_module(MODULE, params, check=check))
        assert again["changed"] is False, again["actions"]
        assert again["actions"] == []
    assert {ns: dump(ns) for ns in namespaces} == after
    return real


def test_seed002_host_state_in_one_call_pings_across_and_absent_restores(make_netns):
    h1, h2 = two_hosts(make_netns)
    pristine = {h1: settled_dump(h1), h2: settled_dump(h2)}
    for host, number, peer in ((h1, 1, 2), (h2, 2, 1)):
        result = converge(seed002(host, number, peer), [host])
        assert [line.split(" ")[0] for line in result["actions"]] == [
            "create", "set", "create", "set", "add", "add", "add"]
        (vx,) = result["vxlan"]
        wanted = (11, UNDERLAY[peer], UNDERLAY[number], "eth1", True)
        assert (vx["vni"], vx["remote"], vx["local"], vx["dev"], vx["up"]) == wanted
        assert result["addresses"][1]["addresses"][0]["address"] == "10.244.%d.0/32" % number
        assert result["routes"][0]["routes"][0]["onlink"] is True
        assert set(result["diff"]["after"]) == {"bridges", "vxlan", "addresses", "routes"}

    # what seed 002 shows by hand
    (onlink,) = sh_json("ip", "-n", h1, "-j", "route", "show", "10.244.2.0/24")
    assert (onlink["gateway"], onlink["dev"], onlink["flags"]) == ("10.244.2.0", "vxlan11", ["onlink"])
    assert link(h1, "vxlan11")["linkinfo"]["info_data"]["remote"] == "192.0.2.12"
    reached, output = ping(h1, "10.244.2.1")
    assert reached, output

    for host, number, peer in ((h1, 1, 2), (h2, 2, 1)):
        absent = ok(run_module(MODULE, dict(seed002(host, number, peer), state="absent")))
        assert absent["changed"] is True
        assert absent["actions"][-2:] == ["delete vxlan link vxlan11 in netns %r" % host, "delete bridge link br0"]
        assert absent["vxlan"] == [{}]
        assert absent["bridges"] == [{"name": "br0", "state": "absent"}]
        assert ok(run_module(MODULE, dict(seed002(host, number, peer), state="absent")))["changed"] is False
    same({h1: settled_dump(h1), h2: settled_dump(h2)}, pristine)


def test_flannel_like_peers_ping_and_a_peer_leaving_is_purged(make_netns):
    h1, h2 = two_hosts(make_netns)
    for host, number, peer in ((h1, 1, 2), (h2, 2, 1)):
        result = converge(flannel(host, number, [peer]), [host])
        per_peer = [line for line in result["actions"] if "10.244.%d" % peer in line or VTEP_MAC[peer] in line]
        assert [line.split(" ")[0] for line in per_peer] == ["add", "add", "add"]
        assert "lladdr" in per_peer[0]
        assert "dst %s self permanent" % UNDERLAY[peer] in per_peer[1]
        assert per_peer[2].startswith("add route 10.244.%d.0/24 via 10.244.%d.0 dev flannel.1 onlink" % (peer, peer))
    assert [n["lladdr"] for n in neigh(h1, "flannel.1") if n["dst"] == "10.244.2.0"] == [VTEP_MAC[2]]
    assert [f["dst"] for f in fdb(h1, "flannel.1") if f["mac"] == VTEP_MAC[2]] == ["192.0.2.12"]
    info = link(h1, "flannel.1")["linkinfo"]["info_data"]
    assert (info["id"], info["port"], info["learning"]) == (1, 8472, False)
    reached, output = ping(h1, "10.244.2.1")
    assert reached, output

    # A peer joins and another leaves: one call adds the new peer's three entries and purges the old's.
    result = ok(run_module(MODULE, flannel(h1, 1, [3])))
    assert result["changed"] is True
    verbs = sorted(line.split(" ")[0] for line in result["actions"])
    assert verbs == ["add", "add", "add", "delete", "delete", "delete"]
    assert [n["dst"] for n in neigh(h1, "flannel.1")] == ["10.244.3.0"]
    assert [f["dst"] for f in fdb(h1, "flannel.1") if "self" in f.get("flags", [])] == ["192.0.2.13"]
    assert [r["dst"] for r in sh_json("ip", "-n", h1, "-j", "route", "show", "dev", "flannel.1")] == ["10.244.3.0/24"]


def test_a_mac_change_re_adds_the_neighbours_the_kernel_flushes(make_netns):
    """Setting a link's MAC makes the kernel flush its neighbour entries, permanent ones too: the same call
    must put them back (flannel's VTEP MAC changing under static entries)."""
    h1 = two_hosts(make_netns)[0]
    converge(flannel(h1, 1, [2, 3]), [h1])
    moved = flannel(h1, 1, [2, 3])
    moved["vxlan"][0]["mac"] = "02:00:c0:00:02:99"
    result = ok(run_module(MODULE, moved))
    assert result["changed"] is True
    assert link(h1, "flannel.1")["address"] == "02:00:c0:00:02:99"
    assert sorted((n["dst"], n["lladdr"], n["state"]) for n in neigh(h1, "flannel.1")) == [
        ("10.244.2.0", VTEP_MAC[2], ["PERMANENT"]), ("10.244.3.0", VTEP_MAC[3], ["PERMANENT"])]
    assert ok(run_module(MODULE, moved))["changed"] is False


def test_head_end_replication_state(make_netns):
    host = one_host(make_netns)
    peers = ["198.51.100.12", "198.51.100.13", "198.51.100.14"]
    params = {
        "netns": host,
        "bridges": [{"name": "br0", "up": True, "bridge": {"stp": False}}],
        "vxlan": [{"name": "vxlan0", "vni": 42, "dev": "eth1", "local": UNDERLAY[1], "learning": False,
                   "master": "br0", "up": True}],
        "addresses": [{"dev": "br0", "addresses": [{"address": "10.233.1.1/24"}]}],
        "fdb": [{"device": "vxlan0", "purge": True,
                 "entries": [{"mac": "00:00:00:00:00:00", "dst": dst} for dst in peers]
                 + [{"mac": "02:00:00:00:00:42", "master": True, "state": "static"}]}],
        "neigh": [{"device": "br0", "entries": [{"address": "10.233.2.2", "lladdr": "02:00:00:00:00:42"}]}],
    }
    result = converge(params, [host])
    assert sum(line.startswith("append 00:00:00:00:00:00 dst ") for line in result["actions"]) == 3
    zero = sorted(f["dst"] for f in fdb(host, "vxlan0") if f["mac"] == "00:00:00:00:00:00")
    assert zero == peers
    assert link(host, "vxlan0")["linkinfo"]["info_data"]["learning"] is False
    assert link(host, "vxlan0")["master"] == "br0"
    assert any(f["mac"] == "02:00:00:00:00:42" and f.get("master") == "br0" for f in fdb(host, "vxlan0"))
    # the read-back is what bridge_fdb returns
    assert sorted(e["dst"] for e in result["fdb"][0]["fdb"] if e["mac"] == "00:00:00:00:00:00") == peers

    params["fdb"][0]["entries"] = [{"mac": "00:00:00:00:00:00", "dst": dst} for dst in peers[1:]]
    changed = ok(run_module(MODULE, params))
    assert sorted(changed["actions"]) == [
        "delete 00:00:00:00:00:00 dst 198.51.100.12 self permanent from vxlan0",
        "delete 02:00:00:00:00:42 master static from vxlan0"]


def test_a_failure_in_a_late_step_leaves_the_namespace_as_it_was(make_netns):
    host = one_host(make_netns)
    params = seed002(host, 1, 2)
    params["vxlan"][0]["master"] = "br0"
    params["neigh"] = [{"device": "vxlan11", "entries": [{"address": "10.244.2.0", "lladdr": VTEP_MAC[2]}]}]
    params["fdb"] = [{"device": "vxlan11", "entries": [{"mac": VTEP_MAC[2], "dst": UNDERLAY[2]}]}]
    unreachable = {"dst": "10.244.3.0/24", "via": "10.9.9.9", "dev": "vxlan11"}  # no onlink: ENETUNREACH
    params["routes"][0]["routes"].append(unreachable)

    before = settled_dump(host)
    result = run_module(MODULE, params)
    assert result["failed"] is True
    assert result["changed"] is False
    assert "routes[0] failed" in result["msg"] and "ENETUNREACH" in result["msg"]
    assert "undone: fdb[0], neigh[0], addresses[1], addresses[0], vxlan[0], bridges[0]" in result["msg"]
    assert "the host is as it was before this task" in result["msg"]
    assert settled_dump(host) == before

    # On a host that has the overlay already: changes in several parts, then the kernel refuses an FDB entry.
    params["routes"][0]["routes"].pop()
    ok(run_module(MODULE, params))
    before = settled_dump(host)
    changing = json.loads(json.dumps(params))
    changing["bridges"][0]["mtu"] = 1400
    changing["vxlan"][0]["mtu"] = 1400
    changing["vxlan"][0]["learning"] = False
    changing["addresses"][1]["addresses"] = [{"address": "10.244.1.0/32"}, {"address": "10.244.1.9/32"}]
    changing["addresses"][1]["purge"] = True
    changing["neigh"][0]["entries"].append({"address": "10.244.3.0", "lladdr": VTEP_MAC[3]})
    changing["fdb"][0]["entries"] = [{"mac": VTEP_MAC[3], "dst": UNDERLAY[3]},
                                     # a VLAN the bridge port does not have: EINVAL
                                     {"mac": "02:00:00:00:00:99", "master": True, "vlan": 100, "state": "static"}]
    changing["fdb"][0]["purge"] = True
    result = run_module(MODULE, changing)
    assert result["failed"] is True
    assert result["changed"] is False
    assert "fdb[0] failed" in result["msg"] and "EINVAL" in result["msg"]
    assert "undone: neigh[0], addresses[1], vxlan[0], bridges[0]" in result["msg"]
    assert settled_dump(host) == before


@pytest.mark.parametrize("change, path", [
    ({"fdb": [{"device": "vxlan11", "entries": [{"mac": "02:00:00:00:00:0%d" % i, "dst": UNDERLAY[2]} for i in range(3)]
               + [{"mac": "02:00:00:00:00:zz", "dst": UNDERLAY[2]}]}]}, "fdb[0].entries[3].mac '02:00:00:00:00:zz'"),
    ({"neigh": [{"device": "vxlan11", "entries": [{"address": "10.244.2.0"}]}]}, "neigh[0].entries[0].lladdr is required"),
    ({"neigh": [{"device": "nosuch", "entries": []}]}, "neigh[0].device 'nosuch' does not exist"),
    ({"routes": [{"routes": [{"dst": "10.244.2.0/24", "via": "10.244.2.0", "dev": "vxlan12", "onlink": True}]}]},
     "routes[0]: no link called 'vxlan12'"),
    ({"addresses": [{"dev": "vxlan11", "addresses": [{"address": "10.244.1.0/33"}]}]},
     "addresses[0].addresses[0].address '10.244.1.0/33'"),
    ({"vxlan": [{"name": "vxlan11", "vni": 11, "dev": "eth1", "master": "br9"}]}, "master 'br9' (for vxlan link"),
])
def test_bad_input_anywhere_fails_with_its_path_and_changes_nothing(make_netns, change, path):
    host = one_host(make_netns)
    params = dict(seed002(host, 1, 2), **change)
    before = settled_dump(host)
    result = run_module(MODULE, params)
    assert result["failed"] is True
    assert path in result["msg"]
    assert dump(host) == before


def test_runs_with_debian_python_and_pyroute2_0_7(make_netns):
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import pyroute2"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no pyroute2 for %s" % DEBIAN_PYTHON)
    h1, h2 = two_hosts(make_netns)
    for expected in (True, False):
        for host, number, peer in ((h1, 1, 2), (h2, 2, 1)):
            proc = subprocess.run(
                [str(VENV_BIN / "ansible"), "localhost", "-c", "local", "-m", "overlaynet.vxlan." + MODULE,
                 "-a", json.dumps(flannel(host, number, [peer])), "-e", "ansible_python_interpreter=" + DEBIAN_PYTHON],
                capture_output=True, text=True, cwd=ROOT, env=ansible_env(), check=False)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            result = json.loads(proc.stdout.split("=>", 1)[1])
            assert result["changed"] is expected, result["actions"]
    reached, output = ping(h1, "10.244.2.1")
    assert reached, output


def test_recreate_plans_the_later_parts_against_the_new_link(make_netns):
    host = one_host(make_netns)
    params = seed002(host, 1, 2)
    params["fdb"] = [{"device": "vxlan11", "entries": [{"mac": "00:00:00:00:00:00", "dst": UNDERLAY[3]}]}]
    ok(run_module(MODULE, params))
    params["vxlan"][0].update(vni=12, recreate="always")
    result = ok(run_module(MODULE, params))
    assert result["actions"][:2] == ["delete vxlan link vxlan11 in netns %r" % host,
                                     "create vxlan link vxlan11 in netns %r: id 12 remote 192.0.2.12 local 192.0.2.11 "
                                     "dev eth1 dstport 4789" % host]
    # the /32, the extra flood entry and the onlink route went with the old link and come back on the new one
    assert "add 10.244.1.0/32 dev vxlan11" in result["actions"]
    assert "append 00:00:00:00:00:00 dst 192.0.2.13 self permanent on vxlan11" in result["actions"]
    assert result["actions"][-1].startswith("add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink")
    assert link(host, "vxlan11")["linkinfo"]["info_data"]["id"] == 12
    assert ok(run_module(MODULE, params))["changed"] is False
