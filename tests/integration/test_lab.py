"""The lab playbook, the lab inventory and the netns connection, end to end on the real kernel."""

from __future__ import annotations

import json
import os
import subprocess

import kernel
import pytest
from kernel import ROOT, VENV_BIN, ansible_env, netns_exists, run_playbook, sh_json

pytestmark = pytest.mark.slow


@pytest.fixture
def lab(prefix):
    env = {"OVERLAYNET_LAB_PREFIX": prefix, "OVERLAYNET_LAB_HOSTS": "3"}
    names = ["%s-h%d" % (prefix, i) for i in (1, 2, 3)] + [prefix + "-sw"]
    try:
        yield env, names
    finally:
        run_playbook("playbooks/lab.yml", "-e", "lab_state=absent", env=env, check=False)
        for name in names:  # by exact name, in case the playbook itself failed
            if netns_exists(name):
                subprocess.run(["ip", "netns", "delete", name], check=False)


def test_lab_builds_idempotently_and_tears_down(lab, prefix):
    env, names = lab
    first = run_playbook("playbooks/lab.yml", env=env)
    assert kernel.recap_changed(first.stdout)["localhost"] > 0
    assert all(netns_exists(n) for n in names)

    for number in (1, 2, 3):
        host = "%s-h%d" % (prefix, number)
        eth1 = sh_json("ip", "-n", host, "-j", "addr", "show", "dev", "eth1")[0]
        assert "UP" in eth1["flags"]
        assert [a["local"] for a in eth1["addr_info"] if a["family"] == "inet"] == ["192.0.2.%d" % (10 + number)]
        assert os.path.isdir("/run/overlaynet/%s/%s" % (prefix, host))
    ports = {p["ifname"]: p for p in sh_json("ip", "-n", prefix + "-sw", "-j", "link", "show")}
    assert {ports["%s-p%d" % (prefix, i)].get("master") for i in (1, 2, 3)} == {"br0"}

    again = run_playbook("playbooks/lab.yml", env=env)
    assert kernel.recap_changed(again.stdout) == {"localhost": 0}

    run_playbook("playbooks/lab.yml", "-e", "lab_state=absent", env=env)
    assert not any(netns_exists(n) for n in names)
    assert not os.path.exists("/run/overlaynet/" + prefix)
    gone_again = run_playbook("playbooks/lab.yml", "-e", "lab_state=absent", env=env)
    assert kernel.recap_changed(gone_again.stdout) == {"localhost": 0}


def test_each_host_runs_inside_its_own_namespace(lab, prefix):
    env = lab[0]
    run_playbook("playbooks/lab.yml", env=env)
    proc = subprocess.run(
        [str(VENV_BIN / "ansible"), "lab", "-m", "ansible.builtin.command", "-a", "ip -j addr show dev eth1",
         "-o"], capture_output=True, text=True, cwd=ROOT, env=ansible_env(**env), check=True)
    seen = {}
    for line in proc.stdout.splitlines():
        host, _sep, output = line.partition(" | CHANGED | rc=0 | (stdout) ")
        seen[host] = [a["local"] for a in json.loads(output.replace("\\n", ""))[0]["addr_info"] if a["family"] == "inet"]
    assert seen == {"%s-h%d" % (prefix, i): ["192.0.2.%d" % (10 + i)] for i in (1, 2, 3)}


def test_missing_namespace_is_a_clear_error(lab, prefix):
    env = lab[0]
    proc = subprocess.run(
        [str(VENV_BIN / "ansible"), "lab", "-m", "ansible.builtin.ping"],
        capture_output=True, text=True, cwd=ROOT, env=ansible_env(**env), check=False)
    assert proc.returncode != 0
    assert "network namespace '%s-h1' does not exist" % prefix in proc.stdout + proc.stderr


def test_a_lab_host_sees_its_own_sys_and_can_create_namespaces_the_controller_sees(prefix):
    endpoint = prefix + "-h1-e"
    with kernel.lab(prefix, hosts=1) as env:
        try:
            listing = subprocess.run([str(VENV_BIN / "ansible"), prefix + "-h1", "-m", "command", "-a", "ls /sys/class/net"],
                                     capture_output=True, text=True, cwd=ROOT, env=ansible_env(**env), check=True)
            assert sorted(listing.stdout.split(">>", 1)[1].split()) == ["eth1", "lo"]
            made = subprocess.run([str(VENV_BIN / "ansible"), prefix + "-h1", "-m", "overlaynet.vxlan.netns", "-a",
                                   "name=" + endpoint], capture_output=True, text=True, cwd=ROOT, env=ansible_env(**env),
                                  check=False)
            assert "CHANGED" in made.stdout, made.stdout + made.stderr
            assert netns_exists(endpoint)
            sh_json("ip", "-n", endpoint, "-j", "link", "show")  # a usable namespace, not just a file
        finally:
            subprocess.run(["ip", "netns", "delete", endpoint], check=False, capture_output=True)
