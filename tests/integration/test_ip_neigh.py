"""ip_neigh on the real kernel: every check reads `ip -j neigh show` (and `bridge -j fdb show`)."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
from contextlib import contextmanager

from kernel import ROOT, VENV_BIN, ansible_env, dump, fdb, quiet, run_module, settled_dump, sh, sh_json

MAC_A = "02:42:0a:00:00:0a"
MAC_B = "02:42:0a:00:00:0b"


def entries(netns, dev):
    """Every neighbour entry of `dev` (`nud all`: noarp ones too) and its proxy entries."""
    plain = sh_json("ip", "-n", netns, "-j", "neigh", "show", "dev", dev, "nud", "all")
    proxies = sh_json("ip", "-n", netns, "-j", "neigh", "show", "proxy", "dev", dev)
    return plain + [dict(p, proxy=True) for p in proxies]


def static(netns, dev):
    """(address, lladdr, state, router) of the permanent/noarp entries, and (address, 'proxy') of proxies."""
    result = []
    for e in entries(netns, dev):
        if e.get("proxy"):
            result.append((e["dst"], "proxy"))
        elif set(e.get("state", [])) & {"PERMANENT", "NOARP"} and not e["dst"].startswith(("ff", "224.")) \
                and e.get("lladdr") != "ff:ff:ff:ff:ff:ff":
            result.append((e["dst"], e.get("lladdr"), e["state"][0], "router" in e))
    return sorted(result, key=str)


def four_runs(params, netns, check):
    before = settled_dump(netns)
    dry = run_module("ip_neigh", params, check=True)
    assert not dry.get("failed"), dry
    assert dry["changed"]
    assert dump(netns) == before
    real = run_module("ip_neigh", params)
    assert not real.get("failed"), real
    assert real["changed"]
    assert real["actions"] == dry["actions"] and real["diff"] == dry["diff"]
    check()
    again = run_module("ip_neigh", params)
    assert not again.get("failed"), again
    assert not again["changed"], again["actions"]
    assert not run_module("ip_neigh", params, check=True)["changed"]
    return real


def device(netns, name="vxlan1", *args):
    sh("ip", "-n", netns, "link", "add", name, "type", "vxlan", "id", "42", "dstport", "4789", *args)
    sh("ip", "-n", netns, "link", "set", name, "up")


def test_entries_of_both_families_proxies_and_flags(netns):
    device(quiet(netns))
    params = {"netns": netns, "device": "vxlan1", "entries": [
        {"address": "10.0.0.3", "lladdr": MAC_A},
        {"address": "10.0.0.4", "lladdr": MAC_B, "state": "noarp"},
        {"address": "2001:db8::3", "lladdr": "02-42-0A-00-00-0A", "router": True},
        {"address": "10.0.0.5", "proxy": True},
    ]}

    def check():
        assert static(netns, "vxlan1") == sorted([
            ("10.0.0.3", MAC_A, "PERMANENT", False), ("10.0.0.4", MAC_B, "NOARP", False),
            ("2001:db8::3", MAC_A, "PERMANENT", True), ("10.0.0.5", "proxy")], key=str)

    real = four_runs(params, netns, check)
    assert real["summary"] == {"added": 4, "changed": 0, "removed": 0}
    assert {"address": "10.0.0.4", "family": "ipv4", "lladdr": MAC_B, "state": "noarp", "proxy": False,
            "router": False} in real["neigh"]
    gone = {"netns": netns, "device": "vxlan1", "state": "absent",
            "entries": [{"address": "2001:db8::3"}, {"address": "10.0.0.5", "proxy": True},
                        {"address": "10.0.0.3", "lladdr": MAC_B}]}  # another lladdr: not this entry
    four_runs(gone, netns, lambda: None)
    assert static(netns, "vxlan1") == sorted([("10.0.0.3", MAC_A, "PERMANENT", False),
                                              ("10.0.0.4", MAC_B, "NOARP", False)], key=str)


def test_seed004_static_neigh_and_fdb_in_a_namespace(make_netns):
    """Seed 004: `ip neighbor add <ip> lladdr <mac> dev vxlan1 nud permanent` and
    `bridge fdb add <mac> dev vxlan1 self dst <ip> vni 42 port 4789`, by hand and by the modules."""
    by_hand, ours = quiet(make_netns("h")), quiet(make_netns("o"))
    for ns in (by_hand, ours):
        sh("ip", "-n", ns, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", ns, "link", "add", "vxlan1", "type", "vxlan", "id", "42", "l2miss", "l3miss", "proxy",
           "learning", "dstport", "4789")
        sh("ip", "-n", ns, "link", "set", "vxlan1", "master", "br0")
        sh("ip", "-n", ns, "addr", "add", "10.0.0.1/24", "dev", "br0")
        for dev in ("vxlan1", "br0"):
            sh("ip", "-n", ns, "link", "set", dev, "up")
    sh("ip", "neighbor", "add", "10.0.0.3", "lladdr", "02:42:0a:00:00:03", "dev", "vxlan1", "nud", "permanent",
       netns=by_hand)
    sh("bridge", "fdb", "add", "02:42:0a:00:00:03", "dev", "vxlan1", "self", "dst", "192.0.2.22", "vni", "42",
       "port", "4789", netns=by_hand)

    neigh_params = {"netns": ours, "device": "vxlan1",
                    "entries": [{"address": "10.0.0.3", "lladdr": "02:42:0a:00:00:03", "state": "permanent"}]}
    fdb_params = {"netns": ours, "device": "vxlan1",
                  "entries": [{"mac": "02:42:0a:00:00:03", "self": True, "dst": "192.0.2.22", "vni": 42,
                               "port": 4789}]}
    four_runs(neigh_params, ours, lambda: None)
    result = run_module("bridge_fdb", fdb_params)
    assert result["changed"] and not run_module("bridge_fdb", fdb_params)["changed"]

    def ours_and_by_hand(reader):
        return [reader(ns) for ns in (ours, by_hand)]

    mine, theirs = ours_and_by_hand(lambda ns: sh("ip", "-n", ns, "neigh", "show", "dev", "vxlan1"))
    assert mine == theirs == "10.0.0.3 lladdr 02:42:0a:00:00:03 PERMANENT \n"
    mine, theirs = ours_and_by_hand(lambda ns: [e for e in fdb(ns, "vxlan1") if "self" in e["flags"]])
    assert mine == theirs == [{"mac": "02:42:0a:00:00:03", "dst": "192.0.2.22", "flags": ["self"],
                               "state": "permanent"}]


class Events:
    """RTM_NEWNEIGH/RTM_DELNEIGH notifications of one namespace, in the order the kernel sent them."""

    def __init__(self, netns):
        with _inside(netns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.sock.bind((0, 1 << 2))  # RTNLGRP_NEIGH
        self.sock.setblocking(False)

    def read(self):
        """[('new'|'del', family, mac, ip)] sent so far (kernel notifications are queued synchronously)."""
        events = []
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                break
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                family = data[offset + 16]
                attrs, at = {}, offset + 28
                while at + 4 <= offset + length:
                    alen, atype = struct.unpack_from("=HH", data, at)
                    attrs[atype] = data[at + 4:at + alen]
                    at += (alen + 3) & ~3
                mac = attrs.get(2, b"").hex(":") or None
                raw = attrs.get(1, b"")
                ip = socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw) if raw else None
                events.append(("new" if kind == 28 else "del", "fdb" if family == 7 else "neigh", mac, ip))
                offset += (length + 3) & ~3
        return events

    def close(self):
        self.sock.close()


@contextmanager
def _inside(netns):
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + netns, os.O_RDONLY)
    try:
        os.setns(target, os.CLONE_NEWNET)
        yield
    finally:
        os.setns(own, os.CLONE_NEWNET)
        os.close(own)
        os.close(target)


def test_a_peer_s_new_mac_replaces_neigh_and_fdb_without_a_gap(netns):
    """flannel #533/#1788: a peer's VtepMAC changed. The neighbour entry is replaced in place (no delete),
    the FDB entry for the new MAC is added before the old one goes, and no stale entry is left."""
    device(netns, "flannel.1", "nolearning")
    peer_ip, peer_subnet = "198.51.100.22", "10.244.2.0"
    sh("ip", "-n", netns, "neigh", "replace", peer_subnet, "lladdr", MAC_A, "dev", "flannel.1", "nud", "permanent")
    sh("bridge", "-n", netns, "fdb", "replace", MAC_A, "dev", "flannel.1", "dst", peer_ip, "self", "permanent")
    events = Events(netns)
    try:
        neigh_result = run_module("ip_neigh", {"netns": netns, "device": "flannel.1", "purge": True,
                                               "entries": [{"address": peer_subnet, "lladdr": MAC_B}]})
        fdb_result = run_module("bridge_fdb", {"netns": netns, "device": "flannel.1", "purge": True,
                                               "entries": [{"mac": MAC_B, "dst": peer_ip}]})
        seen = events.read()
    finally:
        events.close()
    assert neigh_result["summary"] == {"added": 0, "changed": 1, "removed": 0}
    assert fdb_result["summary"] == {"added": 1, "changed": 0, "removed": 1}
    neigh_events = [e for e in seen if e[1] == "neigh" and e[3] == peer_subnet]
    assert neigh_events == [("new", "neigh", MAC_B, peer_subnet)]  # one replace, never deleted
    fdb_events = [(e[0], e[2]) for e in seen if e[1] == "fdb"]
    assert fdb_events == [("new", MAC_B), ("del", MAC_A)]  # the new entry first: no moment without one
    assert sh("ip", "-n", netns, "neigh", "show", "dev", "flannel.1") == \
        "%s lladdr %s PERMANENT \n" % (peer_subnet, MAC_B)
    assert [(e["mac"], e["dst"]) for e in fdb(netns, "flannel.1")] == [(MAC_B, peer_ip)]

    # The peer moves to another address, same MAC: one replace of the FDB entry.
    events = Events(netns)
    try:
        moved = run_module("bridge_fdb", {"netns": netns, "device": "flannel.1", "purge": True,
                                          "entries": [{"mac": MAC_B, "dst": "198.51.100.23"}]})
        seen = events.read()
    finally:
        events.close()
    assert moved["summary"] == {"added": 0, "changed": 1, "removed": 0}
    assert [(e[0], e[2], e[3]) for e in seen if e[1] == "fdb"] == [("new", MAC_B, "198.51.100.23")]
    assert [(e["mac"], e["dst"]) for e in fdb(netns, "flannel.1")] == [(MAC_B, "198.51.100.23")]


def test_purge_keeps_kernel_and_learned_entries(make_netns):
    ns, peer = quiet(make_netns("p")), quiet(make_netns("q"))
    sh("ip", "-n", ns, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb", "netns", peer)
    sh("ip", "-n", ns, "link", "set", "pa", "master", "br0")
    for dev in ("br0", "pa"):
        sh("ip", "-n", ns, "link", "set", dev, "up")
    sh("ip", "-n", ns, "addr", "add", "10.0.0.1/24", "dev", "br0")
    sh("ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", "br0")
    sh("ip", "-n", peer, "addr", "add", "10.0.0.2/24", "dev", "pb")
    sh("ip", "-n", peer, "link", "set", "pb", "up")
    for args in (("10.0.0.3", "lladdr", MAC_A), ("10.0.0.4", "lladdr", MAC_B), ("10.0.0.5", "lladdr", MAC_A,
                 "nud", "noarp"), ("2001:db8::6", "lladdr", MAC_B)):
        sh("ip", "-n", ns, "neigh", "add", *args, "dev", "br0")
    sh("ip", "-n", ns, "neigh", "add", "proxy", "10.0.0.7", "dev", "br0")
    # What the kernel makes itself: a learned entry, a broadcast and a multicast NOARP entry.
    sh("ping", "-c", "1", "-W", "2", "10.0.0.2", netns=ns)
    sh("ping", "-c", "1", "-W", "1", "-b", "10.0.0.255", netns=ns, check=False)
    sh("ping", "-c", "1", "-W", "1", "224.0.0.9", netns=ns, check=False)
    kernel_made = [e for e in entries(ns, "br0") if e["dst"] in ("10.0.0.2", "10.0.0.255", "224.0.0.9")]
    assert len(kernel_made) == 3, entries(ns, "br0")
    assert len(static(ns, "br0")) == 5

    params = {"netns": ns, "device": "br0", "purge": True, "entries": [
        {"address": "10.0.0.3", "lladdr": MAC_A}, {"address": "10.0.0.5", "lladdr": MAC_A, "state": "noarp"},
        {"address": "10.0.0.7", "proxy": True}]}

    def check():
        assert static(ns, "br0") == sorted([("10.0.0.3", MAC_A, "PERMANENT", False),
                                            ("10.0.0.5", MAC_A, "NOARP", False), ("10.0.0.7", "proxy")], key=str)
        left = {e["dst"] for e in entries(ns, "br0")}
        assert {"10.0.0.2", "10.0.0.255", "224.0.0.9"} <= left

    real = four_runs(params, ns, check)
    assert real["summary"] == {"added": 0, "changed": 0, "removed": 2}
    removed = set(real["diff"]["before"]["entries"]) - set(real["diff"]["after"]["entries"])
    assert removed == {"10.0.0.4 lladdr %s permanent" % MAC_B, "2001:db8::6 lladdr %s permanent" % MAC_B}

    flushed = run_module("ip_neigh", dict(params, purge_dynamic=True))
    assert [a for a in flushed["actions"] if "10.0.0.2 " in a]
    left = {e["dst"] for e in entries(ns, "br0")}
    assert "10.0.0.2" not in left and {"10.0.0.255", "224.0.0.9"} <= left


def test_everything_is_checked_before_anything_changes(netns):
    device(quiet(netns))
    sh("ip", "-n", netns, "neigh", "add", "10.0.0.3", "lladdr", MAC_A, "dev", "vxlan1")
    before = settled_dump(netns)
    cases = [
        ({"device": "nosuch0"}, ["'nosuch0' does not exist"]),
        ({"device": "vxlan1", "entries": [{"address": "10.0.0.4", "lladdr": MAC_A},
                                          {"address": "10.0.0.300", "lladdr": MAC_A}]},
         ["entries[1]: address '10.0.0.300'"]),
        ({"device": "vxlan1", "entries": [{"address": "10.0.0.4", "lladdr": "02:42:0a:00:00"}]},
         ["entries[0]: lladdr '02:42:0a:00:00'"]),
        ({"device": "vxlan1", "entries": [{"address": "10.0.0.4"}]}, ["entries[0]: lladdr is required"]),
        ({"device": "vxlan1", "entries": [{"address": "10.0.0.4", "proxy": True, "lladdr": MAC_A}]},
         ["entries[0]: a proxy entry has no lladdr"]),
        ({"device": "vxlan1", "entries": [{"address": "10.0.0.4", "lladdr": MAC_A},
                                          {"address": "10.0.0.4", "lladdr": MAC_B}]},
         ["entries[1] duplicates entries[0]"]),
        ({"device": "vxlan1", "purge_dynamic": True}, ["needs purge=true"]),
    ]
    for params, words in cases:
        result = run_module("ip_neigh", dict(params, netns=netns))
        assert result["failed"], params
        assert all(word in result["msg"] for word in words), result["msg"]
    assert dump(netns) == before


def test_runs_with_debian_python_and_pyroute2_0_7(netns):
    device(netns)
    args = json.dumps({"netns": netns, "device": "vxlan1", "entries": [{"address": "10.0.0.3", "lladdr": MAC_A}]})
    for expect in ("CHANGED", "SUCCESS"):
        proc = subprocess.run(
            [str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m",
             "overlaynet.vxlan.ip_neigh", "-a", args, "-e", "ansible_python_interpreter=/usr/bin/python3"],
            capture_output=True, text=True, cwd=ROOT, env=ansible_env(), check=False)
        assert proc.stdout.startswith("localhost | %s" % expect), proc.stdout + proc.stderr
    assert static(netns, "vxlan1") == [("10.0.0.3", MAC_A, "PERMANENT", False)]


def test_read_back_false_applies_the_entries_and_returns_no_table(netns):
    device(netns)
    params = {"netns": netns, "device": "vxlan1", "read_back": False,
              "entries": [{"address": "10.244.1.0", "lladdr": MAC_A, "state": "permanent"}]}
    real = run_module("ip_neigh", params)
    assert real["changed"] and "neigh" not in real
    assert ("10.244.1.0", MAC_A, "PERMANENT", False) in static(netns, "vxlan1")
    again = run_module("ip_neigh", params)
    assert not again["changed"] and "neigh" not in again
