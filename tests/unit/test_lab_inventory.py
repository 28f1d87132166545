from __future__ import annotations

import pytest

from ansible_collections.overlaynet.vxlan.plugins.inventory.lab import lab_hosts


def test_three_hosts_get_names_addresses_and_ports():
    hosts = dict(lab_hosts(3, "ovl", "192.0.2.0/24", "eth1", "/run/overlaynet"))
    assert list(hosts) == ["ovl-h1", "ovl-h2", "ovl-h3"]
    assert [h["lab_underlay_address"] for h in hosts.values()] == ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
    assert hosts["ovl-h2"]["lab_switch_port"] == "ovl-p2"
    assert hosts["ovl-h2"]["ansible_netns"] == "ovl-h2"
    assert hosts["ovl-h3"]["lab_state_dir"] == "/run/overlaynet/ovl/ovl-h3"
    assert {h["lab_underlay_prefix"] for h in hosts.values()} == {24}


@pytest.mark.parametrize(
    ("count", "prefix", "network", "message"),
    [
        (3, "much-too-long", "192.0.2.0/24", "prefix"),
        (3, "bad/one", "192.0.2.0/24", "prefix"),
        (0, "ovl", "192.0.2.0/24", "does not fit"),
        (250, "ovl", "192.0.2.0/24", "does not fit"),
        (3, "ovl", "2001:db8::/64", "IPv4"),
        (3, "ovl", "192.0.2.1/24", "host bits"),
    ],
)
def test_bad_layouts_are_refused(count, prefix, network, message):
    with pytest.raises(ValueError, match=message):
        lab_hosts(count, prefix, network, "eth1", "/run/overlaynet")


def test_interface_names_stay_within_15_characters():
    hosts = lab_hosts(99, "abcdefgh", "198.51.100.0/24", "eth1", "/run/overlaynet")
    assert max(len(h["lab_switch_port"]) for _name, h in hosts) <= 15
