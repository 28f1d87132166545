"""vxlan_link on the real kernel, in namespaces made by the tests; assertions read `ip -d -j link`."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile

import pytest
from kernel import COLLECTIONS, ROOT, VENV_BIN, ansible_env, dump, link, run_module, sh

from ansible_collections.overlaynet.vxlan.plugins.module_utils import vxlan
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError, Session

MODULE = "vxlan_link"


def underlay(ns, address="192.0.2.1/24", dev="eth1", peer="peer"):
    """A veth pair standing in for the host's underlay interface."""
    sh("ip", "link", "add", dev, "type", "veth", "peer", "name", peer, netns=ns)
    sh("ip", "addr", "add", address, "dev", dev, netns=ns)
    sh("ip", "link", "set", dev, "up", netns=ns)
    sh("ip", "link", "set", peer, "up", netns=ns)


def ip(ns, *args):
    sh("ip", *args, netns=ns)


def view(found, mac=False):
    """What `ip -d -j link show` says about a vxlan device, minus what differs between any two links."""
    assert found is not None, "the link is missing"
    assert found["linkinfo"]["info_kind"] == "vxlan"
    result = {
        "info_data": found["linkinfo"]["info_data"],
        "mtu": found["mtu"],
        "up": "UP" in found["flags"],
        "master": found.get("master"),
        "moved": "link_netnsid" in found,
    }
    if mac:
        result["address"] = found["address"]
    return result


def info(ns, name):
    return link(ns, name)["linkinfo"]["info_data"]


def run_module_in(ns, params, check=False):
    """Run the module with its process inside namespace `ns` (as the netns connection does)."""
    args = dict(params, _ansible_check_mode=check, _ansible_diff=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    try:
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-m",
             "ansible_collections.overlaynet.vxlan.plugins.modules." + MODULE, fh.name],
            capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)), check=False)
    finally:
        os.unlink(fh.name)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def converge(params, namespaces, runner=None):
    """check mode -> real -> rerun -> rerun in check mode; returns the real run's result.

    Check mode must report changed and leave every namespace's netlink dump as it was.
    """
    runner = runner or (lambda p, check: run_module(MODULE, p, check=check))
    before = {ns: dump(ns) for ns in namespaces}
    result = runner(params, True)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["diff"]["before"] != result["diff"]["after"]
    assert {ns: dump(ns) for ns in namespaces} == before, "check mode changed the kernel"
    real = runner(params, False)
    assert not real.get("failed"), real
    assert real["changed"] is True
    assert real["actions"] == result["actions"]
    assert real["diff"] == result["diff"]
    for check in (False, True):
        again = runner(params, check)
        assert not again.get("failed"), again
        assert again["changed"] is False, again["actions"]
        assert again["actions"] == []
    return real


# ---------------------------------------------------------------------------------------------
# Each seed's device, reproduced by one task, equals what the seed's `ip` commands make


SEEDS = {
    "001-multicast": (
        [["link", "add", "br0", "type", "bridge"],
         ["link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "group", "239.1.1.1", "dev", "eth1"],
         ["link", "set", "vxlan0", "up"], ["link", "set", "vxlan0", "master", "br0"]],
        dict(name="vxlan0", vni=42, group="239.1.1.1", dev="eth1", master="br0", up=True), False),
    "001-head-end": (
        [["link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "eth1", "nolearning"]],
        dict(name="vxlan0", vni=42, dev="eth1", learning=False), False),
    "002-point-to-point": (
        [["link", "add", "vxlan11", "type", "vxlan", "id", "11", "dstport", "4789", "remote", "192.0.2.12",
          "local", "192.0.2.1", "dev", "eth1"], ["link", "set", "vxlan11", "up"]],
        dict(name="vxlan11", vni=11, remote="192.0.2.12", local="192.0.2.1", dev="eth1", up=True), False),
    "003-flannel": (
        [["link", "add", "flannel.1", "address", "0e:4c:9e:21:7a:11", "type", "vxlan", "id", "1", "local",
          "192.0.2.1", "dev", "eth1", "nolearning", "dstport", "8472", "ttl", "auto", "udpcsum"],
         ["link", "set", "flannel.1", "mtu", "1450"], ["link", "set", "flannel.1", "up"]],
        dict(name="flannel.1", vni=1, local="192.0.2.1", dev="eth1", learning=False, dstport=8472, ttl="auto",
             udpcsum=True, mac="0e:4c:9e:21:7a:11", mtu=1450, up=True), True),
    "004-external": (
        [["link", "add", "vx0", "type", "vxlan", "dstport", "4789", "external"], ["link", "set", "vx0", "up"]],
        dict(name="vx0", external=True, up=True), False),
    "ipv6": (
        [["link", "add", "vx6", "type", "vxlan", "id", "7", "dstport", "4789", "local", "2001:db8::1", "remote",
          "2001:db8::2", "dev", "eth1", "ttl", "inherit", "tos", "inherit", "udp6zerocsumtx", "udp6zerocsumrx"]],
        dict(name="vx6", vni=7, local="2001:db8::1", remote="2001:db8::2", dev="eth1", ttl="inherit", tos="inherit",
             udp6zerocsumtx=True, udp6zerocsumrx=True), False),
    "ipv6-multicast-and-the-rest": (
        [["link", "add", "vx7", "type", "vxlan", "id", "16777215", "dstport", "4790", "group", "ff05::2", "dev",
          "eth1", "srcport", "1000", "2000", "gbp", "noudpcsum", "rsc", "ttl", "9", "tos", "0x16", "ageing", "77"]],
        dict(name="vx7", vni=16777215, dstport=4790, group="ff05::2", dev="eth1", srcport_min=1000, srcport_max=2000,
             gbp=True, udpcsum=False, rsc=True, ttl=9, tos=0x16, ageing=77), False),
}


@pytest.mark.parametrize("case", list(SEEDS))
def test_seed_device_is_reproduced_attribute_by_attribute(make_netns, case):
    commands, params, mac = SEEDS[case]
    ref, ns = make_netns("r"), make_netns("m")
    for each in (ref, ns):
        underlay(each)
    if params.get("master"):
        ip(ns, "link", "add", "br0", "type", "bridge")
    for command in commands:
        ip(ref, *command)
    result = converge(dict(params, netns=ns), [ns])
    name = params["name"]
    assert view(link(ns, name), mac) == view(link(ref, name), mac)
    assert result["link"]["ifindex"] == link(ns, name)["ifindex"]
    assert result["link"]["mac"] == link(ns, name)["address"]


def test_seed_004_created_in_the_host_namespace_and_moved(make_netns):
    """ip li add dev vxlan212 type vxlan id 42 l2miss l3miss proxy learning dstport 4789; ip link set ... netns"""
    ref_host, ref_ov, host, ov = make_netns("rh"), make_netns("ro"), make_netns("h"), make_netns("o")
    ip(ref_host, "link", "add", "dev", "vxlan212", "type", "vxlan", "id", "42", "l2miss", "l3miss", "proxy",
       "learning", "dstport", "4789")
    ip(ref_host, "link", "set", "vxlan212", "netns", ref_ov)
    for each in (ref_ov, ov):
        ip(each, "link", "add", "br0", "type", "bridge")
    ip(ref_ov, "link", "set", "vxlan212", "master", "br0")
    ip(ref_ov, "link", "set", "vxlan212", "up")
    params = dict(name="vxlan212", vni=42, l2miss=True, l3miss=True, proxy=True, learning=True,
                  create_netns="", netns=ov, master="br0", up=True)
    result = converge(params, [host, ov], runner=lambda p, check: run_module_in(host, p, check))
    assert view(link(ov, "vxlan212")) == view(link(ref_ov, "vxlan212"))
    assert view(link(ov, "vxlan212"))["moved"] is True
    assert link(host, "vxlan212") is None
    assert result["actions"][:2] == [
        "create vxlan link vxlan212 in the module's own namespace: id 42 dstport 4789 learning proxy l2miss l3miss",
        "move vxlan212 in the module's own namespace into netns %r" % ov]
    assert result["link"]["create_netns"] == ""
    assert result["link"]["link_netnsid"] == link(ov, "vxlan212")["link_netnsid"]


def test_moved_link_keeps_its_underlay_in_the_creating_namespace(make_netns):
    host, ov = make_netns("h"), make_netns("o")
    underlay(host)
    underlay(host, "198.51.100.1/24", dev="eth2", peer="peer2")
    params = dict(name="vxlan1", vni=42, dev="eth1", local="192.0.2.1", netns=ov, create_netns=host, up=True)
    converge(params, [host, ov])
    found = link(ov, "vxlan1")
    eth1 = link(host, "eth1")["ifindex"]
    assert found["linkinfo"]["info_data"]["link"] in ("eth1", "if%d" % eth1)  # an ifindex in the host namespace
    assert "link_netnsid" in found
    assert "UP" in found["flags"]
    # in place on the moved link: the ifindex stays, dev resolves in the creating namespace
    changed = run_module(MODULE, dict(params, learning=False, dev="eth2", local="198.51.100.1", ttl=5))
    assert changed["changed"] is True, changed
    after = link(ov, "vxlan1")
    assert after["ifindex"] == found["ifindex"]
    assert after["linkinfo"]["info_data"]["learning"] is False
    assert after["linkinfo"]["info_data"]["local"] == "198.51.100.1"
    assert after["linkinfo"]["info_data"]["link"] == "if%d" % link(host, "eth2")["ifindex"]
    assert changed["link"]["dev"] == "eth2"
    assert run_module(MODULE, dict(params, learning=False, dev="eth2", local="198.51.100.1", ttl=5))["changed"] is False


def test_a_link_created_in_another_namespace_is_not_the_one_asked_for(make_netns):
    host, other, ov = make_netns("h"), make_netns("x"), make_netns("o")
    ip(other, "link", "add", "vxlan1", "type", "vxlan", "id", "42", "dstport", "4789")
    ip(other, "link", "set", "vxlan1", "netns", ov)
    before = dump(ov)
    result = run_module(MODULE, dict(name="vxlan1", vni=42, netns=ov, create_netns=host))
    assert result["failed"]
    assert "create_netns" in result["msg"] and "cannot change on a live link" in result["msg"]
    assert dump(ov) == before
    # without create_netns the task means "created in ov itself", which this link was not either
    assert run_module(MODULE, dict(name="vxlan1", vni=42, netns=ov))["failed"]


# ---------------------------------------------------------------------------------------------
# Changes in place keep the ifindex; changes the kernel refuses follow `recreate`


def _data(j):
    return j["linkinfo"]["info_data"]


IN_PLACE = {  # (enslaved to br0 and up before, change, what `ip -d -j link` must show after)
    "vxlan-attributes": (False, dict(learning=False, ttl=5, ageing=100, tos="inherit"),
                         lambda j: (_data(j)["learning"], _data(j)["ttl"], _data(j)["ageing"], _data(j).get("tos"))
                         == (False, 5, 100, "0x1")),
    "link-attributes": (False, dict(mtu=1400, mac="02:00:00:00:00:42", master="br0", up=True),
                        lambda j: (j["mtu"], j["address"], j.get("master"), "UP" in j["flags"])
                        == (1400, "02:00:00:00:00:42", "br0", True)),
    "down-and-nomaster": (True, dict(up=False, master=""), lambda j: "UP" not in j["flags"] and "master" not in j),
    "underlay-and-ttl-auto": (True, dict(dev="eth2", local="198.51.100.1", group="239.1.1.9", ttl="auto"),
                              lambda j: (_data(j)["link"], _data(j).get("local"), _data(j)["group"], _data(j)["ttl"])
                              == ("eth2", "198.51.100.1", "239.1.1.9", 0)),
    "remote-replaces-group": (False, dict(remote="192.0.2.77"),
                              lambda j: _data(j).get("remote") == "192.0.2.77" and "group" not in _data(j)),
}


@pytest.mark.parametrize("case", list(IN_PLACE))
def test_mutable_attributes_change_in_place(netns, case):
    enslaved, change, check = IN_PLACE[case]
    underlay(netns)
    underlay(netns, "198.51.100.1/24", dev="eth2", peer="peer2")
    ip(netns, "link", "add", "br0", "type", "bridge")
    ip(netns, "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "group", "239.1.1.1",
       "dev", "eth1", "ttl", "7")
    if enslaved:
        ip(netns, "link", "set", "vxlan0", "master", "br0", "up")
    ifindex = link(netns, "vxlan0")["ifindex"]
    assert not check(link(netns, "vxlan0"))
    params = dict(name="vxlan0", netns=netns, vni=42, **change)
    before = dump(netns)
    result = run_module(MODULE, params, check=True)
    assert result["changed"] is True, result
    assert dump(netns) == before
    result = run_module(MODULE, params)
    assert result["changed"] is True, result
    assert [a.split()[0] for a in result["actions"]] == ["set"] * len(result["actions"])
    found = link(netns, "vxlan0")
    assert found["ifindex"] == ifindex
    assert check(found), found
    assert run_module(MODULE, params)["changed"] is False


def test_immutable_change_fails_with_the_differences_and_changes_nothing(netns):
    underlay(netns)
    ip(netns, "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "8472", "dev", "eth1")
    before = dump(netns)
    for check in (True, False):
        result = run_module(MODULE, dict(name="vxlan0", netns=netns, vni=43, l2miss=True, learning=False),
                            check=check)
        assert result["failed"] and not result.get("changed")
        assert "vni 42 (wanted 43)" in result["msg"]
        assert "dstport 8472 (wanted 4789)" in result["msg"]
        assert "l2miss false (wanted true)" in result["msg"]
        assert "recreate: always" in result["msg"]
        assert dump(netns) == before


def test_recreate_always_makes_a_new_link(netns):
    underlay(netns)
    ip(netns, "link", "add", "br0", "type", "bridge")
    ip(netns, "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "eth1")
    old = link(netns, "vxlan0")["ifindex"]
    params = dict(name="vxlan0", netns=netns, vni=43, dev="eth1", l2miss=True, master="br0", up=True,
                  recreate="always")
    result = converge(params, [netns])
    assert result["actions"][0] == "delete vxlan link vxlan0 in netns %r" % netns
    found = link(netns, "vxlan0")
    assert found["ifindex"] != old
    assert found["linkinfo"]["info_data"]["id"] == 43
    assert found["linkinfo"]["info_data"]["l2miss"] is True
    assert found.get("master") == "br0" and "UP" in found["flags"]


def test_a_failed_recreate_restores_the_old_link(netns):
    underlay(netns)
    ip(netns, "link", "add", "br0", "type", "bridge")
    ip(netns, "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "eth1", "nolearning",
       "ttl", "9", "ageing", "55")
    ip(netns, "link", "set", "vxlan0", "address", "02:00:00:00:00:10", "mtu", "1400", "master", "br0", "up")
    ip(netns, "link", "add", "vxlan1", "type", "vxlan", "id", "43", "dstport", "4789")
    before = view(link(netns, "vxlan0"), mac=True)
    # VNI 43 on port 4789 is taken by vxlan1: the create after the delete fails
    result = run_module(MODULE, dict(name="vxlan0", netns=netns, vni=43, dev="eth1", recreate="always"))
    assert result["failed"]
    assert "rolled back: create vxlan link vxlan0" in result["msg"], result["msg"]
    assert "NOT rolled back" not in result["msg"]
    assert view(link(netns, "vxlan0"), mac=True) == before


def test_the_kernel_refuses_exactly_what_the_planner_calls_immutable(netns):
    """Each attribute, changed on a live link over netlink: accepted iff plan() changes it in place."""
    underlay(netns)
    underlay(netns, "198.51.100.1/24", dev="eth2", peer="peer2")
    cases = [  # (created with, changed to)
        ({}, {"learning": False}), ({}, {"ageing": 100}), ({}, {"ttl": 5}), ({"ttl": 5}, {"ttl": "auto"}),
        ({}, {"tos": "inherit"}), ({}, {"tos": 0x16}), ({}, {"dev": "eth2"}), ({"dev": "eth1"}, {"dev": "eth2"}),
        ({}, {"local": "192.0.2.1"}), ({"local": "192.0.2.1"}, {"local": "198.51.100.1"}),
        ({"remote": "192.0.2.2"}, {"group": "239.1.1.1", "dev": "eth1"}), ({}, {"remote": "192.0.2.2"}),
        ({}, {"vni": 43}), ({}, {"dstport": 4790}), ({}, {"srcport_min": 1000, "srcport_max": 2000}),
        ({}, {"proxy": True}), ({}, {"rsc": True}), ({}, {"l2miss": True}), ({}, {"l3miss": True}),
        ({}, {"udpcsum": False}), ({}, {"udp6zerocsumtx": True}), ({}, {"udp6zerocsumrx": True}),
        ({}, {"gbp": True}), ({}, {"ttl": "inherit"}), ({"ttl": "inherit"}, {"ttl": 5}),
        ({}, {"local": "2001:db8::1"}), ({"local": "2001:db8::1"}, {"local": "192.0.2.1"}),
        ({"remote": "192.0.2.2"}, {"remote": "2001:db8::2"}),
    ]
    with Session(netns) as session:
        for created, changed in cases:
            existing = session.link("vxlan0")
            if existing:
                session.call("vxlan0", "link", "del", index=existing["ifindex"])
            spec = vxlan.build_spec(dict(name="vxlan0", netns=netns, vni=42, **created))
            vxlan.apply(session, vxlan.plan(spec, vxlan.read_current(session, spec)))
            wanted = {k: v for k, v in created.items() if not ({k, *changed} >= {"remote", "group"})}
            spec = vxlan.build_spec(dict(dict(name="vxlan0", netns=netns, vni=42, **wanted), **changed))
            current = vxlan.read_current(session, spec)
            try:
                ops = vxlan.plan(spec, current)
            except OverlayError as exc:
                assert "cannot change on a live link" in str(exc)
                # the planner refuses, so the kernel must either refuse the change or not make it
                kwargs = vxlan.vxlan_kwargs(changed, lambda name: session.link(name)["ifindex"])
                try:
                    session.call("vxlan0", "link", "set", index=current.link["ifindex"], kind="vxlan", **kwargs)
                except OverlayError as err:
                    assert err.__cause__.code == errno.EOPNOTSUPP, (created, changed, err)
                else:
                    after = vxlan.read_link(session, "vxlan0")
                    assert {k: after[k] for k in changed} != {k: spec.vxlan[k] for k in changed}, (created, changed)
                continue
            assert [op.action for op in ops] == ["set_vxlan"], (created, changed, ops)
            index = current.link["ifindex"]
            vxlan.apply(session, ops)
            after = vxlan.read_link(session, "vxlan0")
            assert after["ifindex"] == index
            assert {k: after[k] for k in changed} == {k: spec.vxlan[k] for k in changed}, (created, changed)


# ---------------------------------------------------------------------------------------------
# absent, other kinds, validation


def test_absent_removes_the_link_and_is_idempotent(netns):
    underlay(netns)
    ip(netns, "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "eth1")
    converge(dict(name="vxlan0", netns=netns, state="absent"), [netns])
    assert link(netns, "vxlan0") is None
    assert link(netns, "eth1") is not None


def test_a_link_of_another_kind_is_an_error_and_is_never_deleted(netns):
    underlay(netns)
    for params in (dict(vni=42, recreate="always"), dict(state="absent")):
        result = run_module(MODULE, dict(name="eth1", netns=netns, **params))
        assert result["failed"]
        assert "kind veth, not vxlan" in result["msg"]
    assert link(netns, "eth1")["linkinfo"]["info_kind"] == "veth"


@pytest.mark.parametrize(("params", "message"), [
    # the rest of the option checks are unit-tested (tests/unit/test_vxlan_plan.py)
    (dict(vni=16777216, dev="eth1"), "vni 16777216 is out of range"),
    (dict(vni=42, dev="eth9"), "dev 'eth9' (the underlay interface for vxlan link 'vxlan0'"),
    (dict(vni=42, dev="eth1", master="br9"), "master 'br9'"),
])
def test_invalid_requests_change_nothing(netns, params, message):
    underlay(netns)
    before = dump(netns)
    result = run_module(MODULE, dict(name="vxlan0", netns=netns, **params))
    assert result["failed"]
    assert message in result["msg"]
    assert dump(netns) == before


def test_runs_with_debian_python_and_pyroute2_0_7(netns):
    """The managed-host case: /usr/bin/python3 (3.11) with Debian's python3-pyroute2 0.7."""
    python = "/usr/bin/python3"
    probe = subprocess.run([python, "-c", "import pyroute2"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no pyroute2 for %s" % python)
    underlay(netns)
    params = dict(name="vxlan0", netns=netns, vni=42, dev="eth1", learning=False, ttl=5, mac="02:00:00:00:00:07")
    for expected in (True, False):
        proc = subprocess.run(
            [str(VENV_BIN / "ansible"), "localhost", "-c", "local", "-m", "overlaynet.vxlan." + MODULE,
             "-a", json.dumps(params), "-e", "ansible_python_interpreter=" + python],
            capture_output=True, text=True, cwd=ROOT, env=ansible_env(), check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads(proc.stdout.split("=>", 1)[1])
        assert result["changed"] is expected
    found = info(netns, "vxlan0")
    assert (found["id"], found["learning"], found["ttl"], found["link"]) == (42, False, 5, "eth1")
    assert link(netns, "vxlan0")["address"] == "02:00:00:00:00:07"
