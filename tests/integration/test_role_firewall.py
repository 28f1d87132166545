"""Role firewall on a real lab: forged VXLAN from a rogue namespace on the underlay reaches a VTEP
without the allow-list and is dropped with it, while the peers' own packets still arrive.

Delivery is read from the kernel: a vxlan device with learning on records the inner source MAC of
every frame it receives in its FDB, with the sender's address as `dst`.
"""

from __future__ import annotations

import pytest
from kernel import delete_netns, fdb, lab, recap_changed, run_playbook, sh, unique_prefix

pytestmark = pytest.mark.slow

PLAY = """
- name: VXLAN allow-list
  hosts: lab
  gather_facts: false
  roles:
    - role: overlaynet.vxlan.firewall
"""

SEND = """
import socket, struct, sys
mac = bytes.fromhex(sys.argv[2].replace(":", ""))
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + bytes([10, 9, 9, 9]) + bytes(6) + bytes([10, 9, 9, 1])
frame = b"\\xff" * 6 + mac + b"\\x08\\x06" + arp
header = struct.pack("!II", 0x08000000, 42 << 8)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    for _ in range(3):
        s.sendto(header + frame, (sys.argv[1], 4789))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    prefix = unique_prefix()
    play = tmp_path_factory.mktemp("firewall") / "firewall.yml"
    play.write_text(PLAY)
    rogue = prefix + "-rogue"
    with lab(prefix, hosts=3) as env:
        try:
            switch = prefix + "-sw"
            sh("ip", "netns", "add", rogue)
            sh("ip", "link", "add", prefix + "-pr", "type", "veth", "peer", "name", "eth1", "netns", rogue, netns=switch)
            sh("ip", "link", "set", prefix + "-pr", "master", "br0", "up", netns=switch)
            sh("ip", "addr", "add", "192.0.2.99/24", "dev", "eth1", netns=rogue)
            sh("ip", "link", "set", "eth1", "up", netns=rogue)
            host = prefix + "-h1"
            sh("ip", "link", "add", "vxlan0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "eth1",
               "local", "192.0.2.11", netns=host)
            sh("ip", "link", "set", "vxlan0", "up", netns=host)
            yield {"prefix": prefix, "env": env, "play": play, "host": host, "rogue": rogue}
        finally:
            delete_netns(rogue)


def forge(netns, mac, target="192.0.2.11"):
    sh("python3", "-c", SEND, target, mac, netns=netns)


def learned(site, mac):
    """The underlay address the VTEP learned `mac` from, or None."""
    for entry in fdb(site["host"], "vxlan0"):
        if entry["mac"] == mac:
            return entry.get("dst")
    return None


def chain(site):
    return sh("iptables", "-S", "OVERLAYNET-VXLAN-4789", netns=site["host"]).splitlines()


def test_allow_list_drops_forged_vxlan_and_passes_the_peers(site):
    before = sh("iptables", "-S", netns=site["host"])
    forge(site["rogue"], "02:00:00:00:0b:01")
    assert learned(site, "02:00:00:00:0b:01") == "192.0.2.99", "without the allow-list the forged frame arrives"

    first = run_playbook(site["play"], env=site["env"])
    assert all(recap_changed(first.stdout).values())
    assert chain(site) == ["-N OVERLAYNET-VXLAN-4789",
                           "-A OVERLAYNET-VXLAN-4789 -s 192.0.2.11/32 -j ACCEPT",
                           "-A OVERLAYNET-VXLAN-4789 -s 192.0.2.12/32 -j ACCEPT",
                           "-A OVERLAYNET-VXLAN-4789 -s 192.0.2.13/32 -j ACCEPT",
                           "-A OVERLAYNET-VXLAN-4789 -j DROP"]
    assert recap_changed(run_playbook(site["play"], env=site["env"]).stdout) == {
        "%s-h%d" % (site["prefix"], n): 0 for n in (1, 2, 3)}

    forge(site["rogue"], "02:00:00:00:0b:02")
    forge(site["prefix"] + "-h2", "02:00:00:00:0c:02")
    assert learned(site, "02:00:00:00:0c:02") == "192.0.2.12", "a peer's frame must still arrive"
    assert learned(site, "02:00:00:00:0b:02") is None, "the forged frame must be dropped"

    # A rule removed by hand comes back; check mode only reports it.
    sh("iptables", "-D", "OVERLAYNET-VXLAN-4789", "-s", "192.0.2.12/32", "-j", "ACCEPT", netns=site["host"])
    edited = chain(site)
    check = run_playbook(site["play"], "--check", env=site["env"])
    assert recap_changed(check.stdout)[site["host"]] > 0
    assert chain(site) == edited
    run_playbook(site["play"], env=site["env"])
    assert "-A OVERLAYNET-VXLAN-4789 -s 192.0.2.12/32 -j ACCEPT" in chain(site)

    # A host that left the inventory loses its rule.
    smaller = dict(site["env"], OVERLAYNET_LAB_HOSTS="2")
    run_playbook(site["play"], env=smaller)
    assert "-A OVERLAYNET-VXLAN-4789 -s 192.0.2.13/32 -j ACCEPT" not in chain(site)
    assert chain(site)[-1] == "-A OVERLAYNET-VXLAN-4789 -j DROP"

    run_playbook(site["play"], "-e", "firewall_state=absent", env=site["env"])
    assert sh("iptables", "-S", netns=site["host"]) == before
    again = run_playbook(site["play"], "-e", "firewall_state=absent", env=site["env"])
    assert set(recap_changed(again.stdout).values()) == {0}


@pytest.mark.parametrize(("extra", "message"), [
    ("firewall_port=70000", "firewall_port must be 1-65535"),
    ('{"firewall_extra_peers": ["192.0.2.300"]}', "every peer an IPv4 address"),
    ("firewall_chain=THIS-CHAIN-NAME-IS-FAR-TOO-LONG-FOR-IPTABLES", "at most 28 characters"),
])
def test_bad_input_fails_before_any_change(site, extra, message):
    before = sh("iptables", "-S", netns=site["host"])
    proc = run_playbook(site["play"], "-e", extra, env=site["env"], check=False)
    assert proc.returncode != 0
    assert message in proc.stdout
    assert sh("iptables", "-S", netns=site["host"]) == before
