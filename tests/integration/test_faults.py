"""Faults at module level, on the real kernel: a device edited by hand, the underlay pulled away, the
module killed in the middle of a 10,000-entry apply, pyroute2 missing on the target."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from kernel import COLLECTIONS, delete_netns, fdb, lab, link, ping, run_module, run_playbook, sh, unique_prefix

ZERO = "00:00:00:00:00:00"


def underlay(ns):
    sh("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p", netns=ns)
    sh("ip", "addr", "add", "192.0.2.1/24", "dev", "eth1", netns=ns)
    sh("ip", "link", "set", "eth1", "up", netns=ns)
    sh("ip", "link", "set", "eth1p", "up", netns=ns)


def seed_vxlan(ns, **extra):
    params = {"netns": ns, "name": "vxlan0", "vni": 42, "dev": "eth1", "local": "192.0.2.1", "learning": False,
              "ttl": 16, "ageing": 300, "mtu": 1450, "up": True}
    params.update(extra)
    return params


def test_a_device_edited_by_hand_is_put_back(netns):
    underlay(netns)
    params = seed_vxlan(netns)
    assert run_module("vxlan_link", params)["changed"]
    index = link(netns, "vxlan0")["ifindex"]
    sh("ip", "link", "set", "vxlan0", "type", "vxlan", "learning", "ttl", "3", netns=netns)
    sh("ip", "link", "set", "vxlan0", "down", "mtu", "1300", netns=netns)
    rerun = run_module("vxlan_link", params)
    assert rerun["changed"], rerun
    now = link(netns, "vxlan0")
    assert now["ifindex"] == index
    assert now["linkinfo"]["info_data"]["learning"] is False
    assert now["linkinfo"]["info_data"]["ttl"] == 16
    assert "UP" in now["flags"]
    assert now["mtu"] == 1450
    assert not run_module("vxlan_link", params)["changed"]


def test_underlay_removed_then_back_is_reported_and_repaired(netns):
    underlay(netns)
    params = seed_vxlan(netns)
    run_module("vxlan_link", params)
    sh("ip", "link", "delete", "eth1", netns=netns)
    gone = run_module("vxlan_link", params)
    assert gone["failed"] and "eth1" in gone["msg"], gone
    underlay(netns)
    kept = run_module("vxlan_link", params)  # recreate: never (the default) names what differs
    if kept.get("failed"):
        assert "dev" in kept["msg"], kept["msg"]
        repaired = run_module("vxlan_link", dict(params, recreate="always"))
        assert not repaired.get("failed"), repaired.get("msg")
    info = link(netns, "vxlan0")["linkinfo"]["info_data"]
    assert info["link"] == "eth1" or info.get("link_index") is not None
    assert not run_module("vxlan_link", params)["changed"]


def first_entry_in(netns):
    proc = subprocess.run(["bridge", "-n", netns, "fdb", "show", "dev", "vxlan0"], capture_output=True, text=True,
                          check=False)
    return bool(proc.stdout.strip())


def test_killed_in_the_middle_of_ten_thousand_entries_then_rerun_converges(netns):
    sh("ip", "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "nolearning", netns=netns)
    entries = [{"mac": "02:00:00:%02x:%02x:%02x" % (i >> 16, (i >> 8) & 255, i & 255),
                "dst": "198.51.100.%d" % (1 + i % 250)} for i in range(9990)]
    entries += [{"mac": ZERO, "dst": "203.0.113.%d" % (i + 1)} for i in range(10)]
    params = {"netns": netns, "device": "vxlan0", "entries": entries, "purge": True}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": params}, fh)
    try:
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        killed_at = None
        for _attempt in range(10):
            run_module("bridge_fdb", {"netns": netns, "device": "vxlan0", "entries": [], "purge": True}, diff=False)
            proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.overlaynet.vxlan.plugins.modules.bridge_fdb",
                                     fh.name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Kill it as soon as the first entries show up in the kernel (the apply takes ~0.2 s).
            while proc.poll() is None and not first_entry_in(netns):
                time.sleep(0.002)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            count = len(fdb(netns, "vxlan0"))
            if 0 < count < 10000:
                killed_at = count
                break
    finally:
        os.unlink(fh.name)
    assert killed_at is not None, "could not kill the module in the middle of its apply"
    rerun = run_module("bridge_fdb", params, diff=False)
    assert not rerun.get("failed"), rerun.get("msg")
    assert rerun["changed"]
    table = [(e["mac"], e["dst"]) for e in fdb(netns, "vxlan0")]
    assert len(table) == len(set(table)) == 10000, "entries duplicated or missing after the rerun"
    assert set(table) == {(e["mac"], e["dst"]) for e in entries}
    assert not run_module("bridge_fdb", params, diff=False)["changed"]


def test_pyroute2_missing_on_the_target_says_how_to_install_it(netns, tmp_path):
    fake = tmp_path / "pyroute2"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named pyroute2')\n")
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"netns": netns, "name": "vxlan0", "vni": 42}}))
    env = dict(os.environ, PYTHONPATH="%s:%s" % (tmp_path, COLLECTIONS))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.overlaynet.vxlan.plugins.modules.vxlan_link",
                           str(args)], capture_output=True, text=True, env=env, check=False)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["failed"]
    assert "pyroute2" in result["msg"] and "apt-get install python3-pyroute2" in result["msg"]
    assert link(netns, "vxlan0") is None


def test_an_unreachable_host_is_reported_and_the_others_still_converge():
    prefix = unique_prefix()
    with lab(prefix, hosts=3) as env:
        try:
            delete_netns(prefix + "-h3")  # the host is gone from under the play
            proc = run_playbook("playbooks/seed001_multicast.yml", env=env, check=False)
            recap = {line.split()[0]: line for line in proc.stdout.splitlines() if line.startswith(prefix + "-h")}
            assert proc.returncode != 0
            assert "unreachable=1" in recap[prefix + "-h3"]
            for number in (1, 2):
                assert "failed=0" in recap["%s-h%d" % (prefix, number)]
                assert "unreachable=0" in recap["%s-h%d" % (prefix, number)]
                assert link("%s-h%d" % (prefix, number), "vxlan0") is not None
            reached, output = ping(prefix + "-h1-m1", "10.233.0.12")
            assert reached, output
        finally:
            for number in (1, 2, 3):
                delete_netns("%s-h%d-m1" % (prefix, number))
