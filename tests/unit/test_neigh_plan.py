"""The neighbour planner and validator, pure: desired entries, current entries, operations, requests."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils import bulk, neigh
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import IFF_UP, OverlayError

DEV = bulk.DeviceInfo(4, "vxlan1", "vxlan", flags=IFF_UP, mac="aa:aa:aa:aa:aa:04")
NO_MAC = bulk.DeviceInfo(9, "wg0", "wireguard", flags=bulk.IFF_NOARP)
MAC_A = "02:42:0a:00:00:0a"
MAC_B = "02:42:0a:00:00:0b"


def build(entries, state="present", dev=DEV):
    return neigh.build_entries(entries, dev, state)


def have(address, lladdr=MAC_A, *, state="permanent", proxy=False, router=False, kernel=False, flags=()):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    entry = neigh._entry(address, family, lladdr, state=None if proxy else state, proxy=proxy, router=router)
    entry.update(kernel=kernel, flags=list(flags))
    return entry


def actions(entries, current, **kw):
    return [op.describe("vxlan1") for op in neigh.plan(build(entries, kw.get("state", "present")), current, **kw)]


@pytest.mark.parametrize("entry, expected", [
    ({"address": "10.0.0.3", "lladdr": "02:42:0A:00:00:0A"}, ("10.0.0.3", socket.AF_INET, MAC_A, "permanent", False)),
    ({"address": "2001:DB8::0:3", "lladdr": MAC_A, "state": "noarp"},
     ("2001:db8::3", socket.AF_INET6, MAC_A, "noarp", False)),
    ({"address": "10.0.0.3", "proxy": True}, ("10.0.0.3", socket.AF_INET, None, None, True)),
    ({"address": "10.0.0.3", "proxy": "yes"}, ("10.0.0.3", socket.AF_INET, None, None, True)),
])
def test_entries_are_normalised(entry, expected):
    got = build([entry])[0]
    assert (got["address"], got["family"], got["lladdr"], got["state"], got["proxy"]) == expected


@pytest.mark.parametrize("entries, dev, words", [
    ([{"address": "10.0.0.300", "lladdr": MAC_A}], DEV, ["entries[0]", "address '10.0.0.300'"]),
    ([{"address": "10.0.0.3", "lladdr": "02:42:0a"}], DEV, ["entries[0]", "lladdr '02:42:0a'"]),
    ([{"address": "10.0.0.3"}], DEV, ["entries[0]", "lladdr is required"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "proxy": True}], DEV, ["entries[0]", "proxy entry has no lladdr"]),
    ([{"address": "10.0.0.3", "proxy": True, "state": "noarp"}], DEV, ["entries[0]", "proxy entry has no state"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "state": "failed"}], DEV, ["entries[0]", "state 'failed'"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A}], NO_MAC, ["entries[0]", "'wg0' has no MAC address"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A}, {"address": "10.0.0.4", "lladdr": MAC_A},
      {"address": "10.0.0.3", "lladdr": MAC_B}], DEV, ["entries[2] duplicates entries[0] (10.0.0.3)"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "nud": "permanent"}], DEV, ["entries[0]", "unknown key nud"]),
])
def test_problems_name_the_entry_and_the_bad_value(entries, dev, words):
    with pytest.raises(OverlayError) as caught:
        build(entries, dev=dev)
    assert all(word in str(caught.value) for word in words), str(caught.value)


def test_a_proxy_and_a_plain_entry_for_one_address_are_two_entries():
    got = build([{"address": "10.0.0.3", "lladdr": MAC_A}, {"address": "10.0.0.3", "proxy": True}])
    assert len(got) == 2


@pytest.mark.parametrize("entries, current, kw, expected", [
    ([{"address": "10.0.0.3", "lladdr": MAC_A}], [], {}, ["add 10.0.0.3 lladdr 02:42:0a:00:00:0a permanent on vxlan1"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A}], [have("10.0.0.3")], {}, []),
    # a peer's MAC changed: one replace, in place
    ([{"address": "10.0.0.3", "lladdr": MAC_B}], [have("10.0.0.3")], {},
     ["replace 10.0.0.3 lladdr 02:42:0a:00:00:0b permanent on vxlan1 (was 10.0.0.3 lladdr 02:42:0a:00:00:0a "
      "permanent)"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "state": "noarp"}], [have("10.0.0.3")], {},
     ["replace 10.0.0.3 lladdr 02:42:0a:00:00:0a noarp on vxlan1 (was 10.0.0.3 lladdr 02:42:0a:00:00:0a "
      "permanent)"]),
    ([{"address": "fe80::1", "lladdr": MAC_A, "router": True}], [have("fe80::1")], {},
     ["replace fe80::1 lladdr 02:42:0a:00:00:0a router permanent on vxlan1 (was fe80::1 lladdr "
      "02:42:0a:00:00:0a permanent)"]),
    # reachable/stale are met by whatever the kernel moved the entry to, with the right lladdr
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "state": "reachable"}], [have("10.0.0.3", state="delay")], {}, []),
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "state": "stale"}], [have("10.0.0.3", state="reachable")], {}, []),
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "state": "reachable"}], [have("10.0.0.3", state="failed")], {},
     ["replace 10.0.0.3 lladdr 02:42:0a:00:00:0a reachable on vxlan1 (was 10.0.0.3 lladdr 02:42:0a:00:00:0a "
      "failed)"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_A, "state": "reachable"}], [have("10.0.0.3")], {},
     ["replace 10.0.0.3 lladdr 02:42:0a:00:00:0a reachable on vxlan1 (was 10.0.0.3 lladdr 02:42:0a:00:00:0a "
      "permanent)"]),
    ([{"address": "10.0.0.3", "proxy": True}], [have("10.0.0.3", None, proxy=True)], {}, []),
    # purge: static and proxy entries go; kernel, learned, extern_learn and managed ones stay
    ([{"address": "10.0.0.3", "lladdr": MAC_A}],
     [have("10.0.0.3"), have("10.0.0.4", state="noarp"), have("10.0.0.5", None, proxy=True),
      have("10.0.0.6", state="stale"), have("224.0.0.22", "01:00:5e:00:00:16", state="noarp", kernel=True),
      have("10.0.0.7", flags=["extern_learn"]), have("10.0.0.8", flags=["managed"])],
     {"purge": True},
     ["delete 10.0.0.4 lladdr 02:42:0a:00:00:0a noarp from vxlan1", "delete 10.0.0.5 proxy from vxlan1"]),
    ([], [have("10.0.0.6", state="stale"), have("10.0.0.9", None, state="incomplete")],
     {"purge": True, "purge_dynamic": True},
     ["delete 10.0.0.6 lladdr 02:42:0a:00:00:0a stale from vxlan1", "delete 10.0.0.9 incomplete from vxlan1"]),
    # absent matches on what is given
    ([{"address": "10.0.0.3"}], [have("10.0.0.3")], {"state": "absent"},
     ["delete 10.0.0.3 lladdr 02:42:0a:00:00:0a permanent from vxlan1"]),
    ([{"address": "10.0.0.3", "lladdr": MAC_B}], [have("10.0.0.3")], {"state": "absent"}, []),
    ([{"address": "10.0.0.3", "proxy": True}], [have("10.0.0.3")], {"state": "absent"}, []),
])
def test_plan(entries, current, kw, expected):
    assert actions(entries, current, **kw) == expected


def test_adds_and_replacements_come_before_deletions():
    ops = neigh.plan(build([{"address": "10.0.0.9", "lladdr": MAC_A}]), [have("10.0.0.3")], purge=True)
    assert [op.action for op in ops] == ["add", "delete"]


def test_invert_puts_back_the_old_entry():
    current = [have("10.0.0.3"), have("10.0.0.4")]
    ops = neigh.plan(build([{"address": "10.0.0.3", "lladdr": MAC_B}]), current, purge=True)
    assert [op.describe("vxlan1") for op in neigh.invert(ops)] == [
        "add 10.0.0.4 lladdr 02:42:0a:00:00:0a permanent on vxlan1",
        "replace 10.0.0.3 lladdr 02:42:0a:00:00:0a permanent on vxlan1 (was 10.0.0.3 lladdr 02:42:0a:00:00:0b "
        "permanent)",
    ]


def test_requests():
    ops = neigh.plan(build([{"address": "2001:db8::3", "lladdr": MAC_A, "router": True},
                            {"address": "10.0.0.5", "proxy": True}]), [have("10.0.0.4")], purge=True)
    msg_type, flags, payload = neigh.request(ops[0], 4)
    assert (msg_type, flags) == (bulk.RTM_NEWNEIGH, bulk.NLM_F_CREATE | bulk.NLM_F_REPLACE)
    assert bulk.NDMSG.unpack_from(payload, 0) == (socket.AF_INET6, 4, bulk.NUD_PERMANENT, bulk.NTF_ROUTER, 0)
    attrs = {k: payload[a:a + n] for k, (a, n) in bulk.attributes(payload, 12, len(payload)).items()}
    assert attrs[bulk.NDA_DST] == socket.inet_pton(socket.AF_INET6, "2001:db8::3")
    assert attrs[bulk.NDA_LLADDR] == bytes.fromhex("02420a00000a")
    _type, _flags, payload = neigh.request(ops[1], 4)
    assert bulk.NDMSG.unpack_from(payload, 0)[3] == bulk.NTF_PROXY
    assert bulk.NDA_LLADDR not in bulk.attributes(payload, 12, len(payload))
    msg_type, flags, payload = neigh.request(ops[2], 4)
    assert (msg_type, flags) == (bulk.RTM_DELNEIGH, 0)
    assert bulk.NDMSG.unpack_from(payload, 0)[:2] == (socket.AF_INET, 4)


def test_diff_shows_static_and_proxy_entries():
    current = [have("10.0.0.3"), have("10.0.0.6", state="stale"),
               have("224.0.0.22", "01:00:5e:00:00:16", state="noarp", kernel=True)]
    ops = neigh.plan(build([{"address": "10.0.0.3", "lladdr": MAC_B}, {"address": "10.0.0.5", "proxy": True}]),
                     current, purge=True)
    assert neigh.diff("vxlan1", current, ops) == {
        "before": {"device": "vxlan1", "entries": ["10.0.0.3 lladdr 02:42:0a:00:00:0a permanent"]},
        "after": {"device": "vxlan1", "entries": ["10.0.0.3 lladdr 02:42:0a:00:00:0b permanent", "10.0.0.5 proxy"]},
    }
