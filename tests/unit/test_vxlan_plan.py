"""The vxlan_link spec, planner and diff, without a kernel: tables of cases."""

from __future__ import annotations

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils import vxlan
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError


def params(**kw):
    """Module parameters as AnsibleModule hands them over (defaults filled in)."""
    base = {k: v.get("default") for k, v in vxlan.ARGUMENT_SPEC.items()}
    base.update(name="vxlan0")
    base.update(kw)
    return base


def kernel_link(**kw):
    """What read_link() returns for `ip link add vxlan0 type vxlan id 42 dstport 4789 dev eth1`."""
    link = {
        "name": "vxlan0", "kind": "vxlan", "ifindex": 7, "netns": None, "create_netns": None, "link_netnsid": None,
        "mac": "8e:2a:4b:00:11:22", "mtu": 1450, "up": False, "operstate": "DOWN", "master": None,
        "vni": 42, "external": False, "group": None, "remote": None, "local": None, "dev": "eth1",
        "srcport_min": 0, "srcport_max": 0, "dstport": 4789, "learning": True, "proxy": False, "rsc": False,
        "l2miss": False, "l3miss": False, "ttl": "auto", "tos": 0, "ageing": 300, "udpcsum": True,
        "udp6zerocsumtx": False, "udp6zerocsumrx": False, "gbp": False, "df": 0, "label": 0, "limit": 0,
        "remcsumtx": 0, "remcsumrx": 0, "family": 4,
    }
    link.update(kw)
    return link


def current(link=None, links=("eth1", "br0"), origin_links=None):
    names = {name: "veth" for name in links}
    if link is not None:
        names[link["name"]] = link["kind"]
    origin = None if origin_links is None else {name: "veth" for name in origin_links}
    return vxlan.Current(link, names, origin)


def steps(ops):
    return [(op.action, op.where, op.attrs) for op in ops]


# ---------------------------------------------------------------------------------------------
# build_spec: each bad value is refused with a message naming the option


@pytest.mark.parametrize(("given", "message"), [
    ({"vni": 16777216}, "vni 16777216 is out of range"),
    ({"vni": -1}, "vni -1 is out of range"),
    ({"dstport": 0}, "dstport 0 is out of range"),
    ({"dstport": 65536}, "dstport 65536 is out of range"),
    ({"group": "192.0.2.7"}, "group 192.0.2.7 is not a multicast address"),
    ({"group": "239.1.1.1", "remote": "192.0.2.2"}, "group 239.1.1.1 and remote 192.0.2.2 exclude each other"),
    ({"remote": "239.1.1.1"}, "remote 239.1.1.1 is a multicast address"),
    ({"local": "239.1.1.1"}, "local 239.1.1.1 is a multicast address"),
    ({"remote": "not-an-ip"}, "remote 'not-an-ip' is not an IPv4 or IPv6 address"),
    ({"local": "0.0.0.0"}, "local 0.0.0.0 is the unspecified address"),
    ({"local": "192.0.2.1", "remote": "2001:db8::2"}, "different address families"),
    ({"local": "2001:db8::1", "group": "239.1.1.1"}, "different address families"),
    ({"name": "averyveryverylongname"}, "name 'averyveryverylongname' is 21 characters long"),
    ({"name": "vx/0"}, "name 'vx/0' is not a legal interface name"),
    ({"name": ""}, "name must be a non-empty interface name"),
    ({"dev": "eth 1"}, "dev 'eth 1' is not a legal interface name"),
    ({"master": "br:0"}, "master 'br:0' is not a legal interface name"),
    ({"master": "vxlan0"}, "master 'vxlan0' is the link itself"),
    ({"mac": "01:00:5e:00:00:01"}, "mac 01:00:5e:00:00:01 is a multicast address"),
    ({"mac": "00:00:00:00:00:00"}, "mac 00:00:00:00:00:00 is not a usable"),
    ({"mac": "02:42:0a:00:00"}, "mac '02:42:0a:00:00' is not a MAC address"),
    ({"srcport_min": 1000}, "srcport_min and srcport_max go together"),
    ({"srcport_min": 2000, "srcport_max": 1000}, "srcport_min 2000 is above srcport_max 1000"),
    ({"srcport_min": 0, "srcport_max": 70000}, "srcport_max 70000 is out of range"),
    ({"ttl": 256}, "ttl 256 is out of range"),
    ({"ttl": "sometimes"}, "ttl must be auto, inherit or a hop limit"),
    ({"ttl": True}, "ttl must be auto, inherit or a hop limit"),
    ({"tos": "high"}, "tos must be inherit or a TOS byte"),
    ({"vni": 5, "external": True}, "vni 5 and external: true exclude each other"),
    ({"mtu": 67}, "mtu 67 is out of range"),
    ({"ageing": -1}, "ageing -1 is out of range"),
    ({"netns": "a/b"}, "netns 'a/b' is not a legal network namespace name"),
    ({"create_netns": ".."}, "create_netns '..' is not a legal network namespace name"),
    ({"state": "gone"}, "state must be present or absent"),
    ({"recreate": "sometimes"}, "recreate must be never or always"),
])
def test_bad_values_are_refused_naming_the_option(given, message):
    with pytest.raises(OverlayError) as err:
        vxlan.build_spec(params(**given))
    assert message in str(err.value)


@pytest.mark.parametrize(("given", "key", "value"), [
    ({}, "dstport", 4789),
    ({"dstport": None}, "dstport", 4789),  # called without AnsibleModule's defaults
    ({"dstport": 8472}, "dstport", 8472),
    ({"vni": 0}, "vni", 0),
    ({"vni": 16777215}, "vni", 16777215),
    ({"ttl": 0}, "ttl", "auto"),
    ({"ttl": "0"}, "ttl", "auto"),
    ({"ttl": "AUTO"}, "ttl", "auto"),
    ({"ttl": "64"}, "ttl", 64),
    ({"ttl": 5}, "ttl", 5),
    ({"ttl": "inherit"}, "ttl", "inherit"),
    ({"tos": 1}, "tos", "inherit"),
    ({"tos": "inherit"}, "tos", "inherit"),
    ({"tos": "16"}, "tos", 16),
    ({"tos": "0x16"}, "tos", 22),
    ({"external": True}, "learning", False),  # what `ip link add ... external` implies
    ({"local": "2001:DB8:0::1"}, "local", "2001:db8::1"),
    ({"group": "ff05::2"}, "group", "ff05::2"),
    ({"learning": False}, "learning", False),
])
def test_values_are_normalised_like_the_kernel_reports_them(given, key, value):
    spec = vxlan.build_spec(params(**given))
    assert spec.vxlan[key] == value


@pytest.mark.parametrize(("given", "key", "value"), [
    ({"mac": "0E-4C-9E-21-7A-11"}, "mac", "0e:4c:9e:21:7a:11"),
    ({"master": ""}, "master", ""),
    ({"up": True}, "up", True),
    ({"mtu": 1450}, "mtu", 1450),
])
def test_link_values_are_normalised(given, key, value):
    assert vxlan.build_spec(params(**given)).link[key] == value


def test_unset_options_are_not_in_the_spec():
    spec = vxlan.build_spec(params(vni=42))
    assert spec.vxlan == {"vni": 42, "dstport": 4789}
    assert spec.link == {}


@pytest.mark.parametrize(("netns", "create_netns", "expected"), [
    (None, None, None),
    ("ov", "ov", None),  # created where it lives: no move
    (None, "", None),  # "" is the module's own namespace, which is where netns=None points too
    ("ov", "", ""),
    ("ov", "host", "host"),
    (None, "host", "host"),
])
def test_create_netns_is_kept_only_when_the_link_moves(netns, create_netns, expected):
    spec = vxlan.build_spec(params(vni=1, netns=netns, create_netns=create_netns))
    assert spec.create_netns == expected
    assert spec.moves == (expected is not None)


def test_absent_ignores_the_attribute_options():
    spec = vxlan.build_spec(params(state="absent", vni=99999999, group="192.0.2.1"))
    assert spec.state == "absent"
    assert spec.vxlan == {}


# ---------------------------------------------------------------------------------------------
# plan: desired spec + current kernel state -> ordered ops


PLANS = [
    # (id, spec params, current link, expected [(action, where, attrs)])
    ("create", dict(vni=42, group="239.1.1.1", dev="eth1"), None,
     [("create", "netns", {"vni": 42, "dstport": 4789, "group": "239.1.1.1", "dev": "eth1"})]),
    ("create-master-up-mac-mtu", dict(vni=42, dev="eth1", learning=False, master="br0", up=True,
                                      mac="02:00:00:00:00:01", mtu=1400), None,
     [("create", "netns", {"vni": 42, "dstport": 4789, "dev": "eth1", "learning": False,
                           "mac": "02:00:00:00:00:01", "mtu": 1400}),
      ("set_link", "netns", {"master": "br0"}),
      ("set_link", "netns", {"up": True})]),
    ("create-down-nomaster-adds-nothing", dict(vni=1, up=False, master=""), None,
     [("create", "netns", {"vni": 1, "dstport": 4789})]),
    ("create-external", dict(external=True), None,
     [("create", "netns", {"external": True, "learning": False, "dstport": 4789})]),
    ("create-external-learning", dict(external=True, learning=True), None,
     [("create", "netns", {"external": True, "learning": True, "dstport": 4789})]),
    ("same", dict(vni=42, dev="eth1"), kernel_link(), []),
    ("same-all-flags", dict(vni=42, dev="eth1", learning=True, proxy=False, l2miss=False, l3miss=False,
                            rsc=False, udpcsum=True, udp6zerocsumtx=False, udp6zerocsumrx=False, gbp=False,
                            external=False, ttl="auto", tos=0, ageing=300, srcport_min=0, srcport_max=0,
                            mtu=1450, mac="8E:2A:4B:00:11:22", up=False, master=""),
     kernel_link(), []),
    ("unset-means-dont-care", dict(vni=42), kernel_link(learning=False, ttl=9, mtu=1300, up=True), []),
    ("learning", dict(vni=42, learning=False), kernel_link(), [("set_vxlan", "netns", {"learning": False})]),
    ("ttl-number", dict(vni=42, ttl=5), kernel_link(), [("set_vxlan", "netns", {"ttl": 5})]),
    ("ttl-back-to-auto", dict(vni=42, ttl="auto"), kernel_link(ttl=5), [("set_vxlan", "netns", {"ttl": "auto"})]),
    ("several-in-one-request", dict(vni=42, ageing=100, tos="inherit", learning=False), kernel_link(),
     [("set_vxlan", "netns", {"ageing": 100, "tos": "inherit", "learning": False})]),
    ("local-same-family", dict(vni=42, local="192.0.2.9"), kernel_link(local="192.0.2.1"),
     [("set_vxlan", "netns", {"local": "192.0.2.9"})]),
    ("local-from-none", dict(vni=42, local="192.0.2.9"), kernel_link(),
     [("set_vxlan", "netns", {"local": "192.0.2.9"})]),
    ("group-replaces-remote", dict(vni=42, group="239.1.1.2"), kernel_link(remote="192.0.2.2"),
     [("set_vxlan", "netns", {"group": "239.1.1.2"})]),
    ("dev", dict(vni=42, dev="br0"), kernel_link(), [("set_vxlan", "netns", {"dev": "br0"})]),
    ("link-level-in-order", dict(vni=42, up=True, master="br0", mtu=1400, mac="02:00:00:00:00:02"), kernel_link(),
     [("set_link", "netns", {"mac": "02:00:00:00:00:02"}), ("set_link", "netns", {"mtu": 1400}),
      ("set_link", "netns", {"master": "br0"}), ("set_link", "netns", {"up": True})]),
    ("down", dict(vni=42, up=False), kernel_link(up=True), [("set_link", "netns", {"up": False})]),
    ("nomaster", dict(vni=42, master=""), kernel_link(master="br0"), [("set_link", "netns", {"master": ""})]),
    ("vxlan-before-link", dict(vni=42, learning=False, up=True), kernel_link(),
     [("set_vxlan", "netns", {"learning": False}), ("set_link", "netns", {"up": True})]),
]


@pytest.mark.parametrize(("given", "link", "expected"), [p[1:] for p in PLANS], ids=[p[0] for p in PLANS])
def test_plan(given, link, expected):
    assert steps(vxlan.plan(vxlan.build_spec(params(**given)), current(link))) == expected


# attribute changes the kernel refuses on a live link (checked in tests/integration/test_vxlan_link.py)
FIXED = [  # (id, spec params, current link, the attribute that differs)
    ("vni", dict(vni=43), kernel_link(), "vni"),
    ("dstport-default-is-compared", dict(vni=42), kernel_link(dstport=8472), "dstport"),
    ("srcport", dict(vni=42, srcport_min=1000, srcport_max=2000), kernel_link(), "srcport_min"),
    ("proxy", dict(vni=42, proxy=True), kernel_link(), "proxy"),
    ("rsc", dict(vni=42, rsc=True), kernel_link(), "rsc"),
    ("l2miss", dict(vni=42, l2miss=True), kernel_link(), "l2miss"),
    ("l3miss", dict(vni=42, l3miss=True), kernel_link(), "l3miss"),
    ("udpcsum", dict(vni=42, udpcsum=False), kernel_link(), "udpcsum"),
    ("udp6zerocsumtx", dict(vni=42, udp6zerocsumtx=True), kernel_link(), "udp6zerocsumtx"),
    ("udp6zerocsumrx", dict(vni=42, udp6zerocsumrx=True), kernel_link(), "udp6zerocsumrx"),
    ("gbp", dict(vni=42, gbp=True), kernel_link(), "gbp"),
    ("external", dict(external=True), kernel_link(), "external"),
    ("ttl-to-inherit", dict(vni=42, ttl="inherit"), kernel_link(), "ttl"),
    ("ttl-from-inherit", dict(vni=42, ttl=5), kernel_link(ttl="inherit"), "ttl"),
    ("local-family", dict(vni=42, local="2001:db8::1"), kernel_link(), "local"),
    ("local-family-back", dict(vni=42, local="192.0.2.1"), kernel_link(local="2001:db8::1", family=6), "local"),
    ("group-family", dict(vni=42, group="ff05::2", dev="eth1"), kernel_link(group="239.1.1.1"), "group"),
    ("created-elsewhere", dict(vni=42), kernel_link(create_netns="nsid 0", link_netnsid=0, dev="if3"),
     "create_netns"),
]


@pytest.mark.parametrize(("given", "link", "key"), [p[1:] for p in FIXED], ids=[p[0] for p in FIXED])
def test_attributes_the_kernel_cannot_change_fail_with_recreate_never(given, link, key):
    spec = vxlan.build_spec(params(**given))
    with pytest.raises(OverlayError) as err:
        vxlan.plan(spec, current(link))
    message = str(err.value)
    assert "cannot change on a live link" in message
    assert "recreate: always" in message
    assert "%s %s (wanted " % (key, vxlan._show(link.get(key))) in message


@pytest.mark.parametrize(("given", "link", "key"), [p[1:] for p in FIXED], ids=[p[0] for p in FIXED])
def test_recreate_always_deletes_then_creates_from_the_spec(given, link, key):
    spec = vxlan.build_spec(params(recreate="always", **given))
    ops = vxlan.plan(spec, current(link))
    assert [op.action for op in ops] == ["delete", "create"]
    assert ops[1].attrs == dict(spec.vxlan)
    assert key in ops[1].attrs or key == "create_netns"


def test_the_error_lists_every_differing_attribute_with_both_values():
    with pytest.raises(OverlayError) as err:
        vxlan.plan(vxlan.build_spec(params(vni=43, dstport=8472, l2miss=True, learning=False)),
                   current(kernel_link()))
    message = str(err.value)
    assert "vni 42 (wanted 43)" in message
    assert "dstport 4789 (wanted 8472)" in message
    assert "l2miss false (wanted true)" in message
    assert "learning" not in message  # changeable in place: not a reason to recreate


def test_recreate_keeps_link_level_options_and_restores_the_old_link_on_undo():
    spec = vxlan.build_spec(params(vni=43, dev="eth1", master="br0", up=True, mtu=1400, recreate="always"))
    old = kernel_link(up=True, master="br0", learning=False)
    ops = vxlan.plan(spec, current(old))
    assert steps(ops) == [
        ("delete", "netns", {}),
        ("create", "netns", {"vni": 43, "dstport": 4789, "dev": "eth1", "mtu": 1400}),
        ("set_link", "netns", {"master": "br0"}),
        ("set_link", "netns", {"up": True}),
    ]
    restore = ops[0].undo
    assert [op.action for op in restore] == ["create", "set_link", "set_link"]
    assert restore[0].attrs["vni"] == 42
    assert restore[0].attrs["learning"] is False
    assert restore[0].attrs["mac"] == old["mac"]
    assert ops[1].undo == [vxlan.Op("delete", "vxlan0")]


def test_a_link_of_another_kind_is_never_touched():
    veth = {"name": "vxlan0", "kind": "veth", "ifindex": 3}
    for given in (dict(vni=42), dict(state="absent"), dict(vni=42, recreate="always")):
        with pytest.raises(OverlayError) as err:
            vxlan.plan(vxlan.build_spec(params(**given)), current(veth))
        assert "kind veth, not vxlan" in str(err.value)


@pytest.mark.parametrize(("link", "expected"), [
    (kernel_link(), [("delete", "netns", {})]),
    (None, []),
])
def test_absent(link, expected):
    assert steps(vxlan.plan(vxlan.build_spec(params(state="absent")), current(link))) == expected


@pytest.mark.parametrize(("given", "link", "message"), [
    (dict(vni=42, dev="eth9"), None, "dev 'eth9' (the underlay interface for vxlan link 'vxlan0') does not exist"),
    (dict(vni=42, dev="eth9"), kernel_link(), "dev 'eth9'"),
    (dict(vni=42, master="br9"), None, "master 'br9' (for vxlan link 'vxlan0') does not exist"),
    (dict(dev="eth1"), None, "creating it needs vni (or external: true)"),
    (dict(vni=43, dev="eth1", recreate="always", external=False), kernel_link(external=True, vni=0),
     None),
])
def test_references_and_creation_needs(given, link, message):
    spec = vxlan.build_spec(params(**given))
    if message is None:
        assert vxlan.plan(spec, current(link))
        return
    with pytest.raises(OverlayError) as err:
        vxlan.plan(spec, current(link))
    assert message in str(err.value)


# ---------------------------------------------------------------------------------------------
# create_netns: create in one namespace, move into netns


def moved(**kw):
    return kernel_link(**dict({"netns": "ov", "create_netns": "host", "link_netnsid": 0, "dev": None}, **kw))


def test_create_in_one_namespace_then_move_then_master_and_up():
    spec = vxlan.build_spec(params(vni=42, l2miss=True, netns="ov", create_netns="host", master="br0", up=True))
    ops = vxlan.plan(spec, current(None, links=("br0",), origin_links=("eth1",)))
    assert [(op.action, op.where, op.to) for op in ops] == [
        ("create", "create_netns", None),
        ("move", "create_netns", "ov"),
        ("set_link", "netns", None),
        ("set_link", "netns", None),
    ]
    assert ops[1].undo[0].to == "host"
    assert ops[1].describe() == "move vxlan0 in netns 'host' into netns 'ov'"


def test_dev_is_looked_up_where_the_link_is_created():
    spec = vxlan.build_spec(params(vni=42, dev="eth1", netns="ov", create_netns="host"))
    assert vxlan.plan(spec, current(None, links=("br0",), origin_links=("eth1",)))
    with pytest.raises(OverlayError) as err:
        vxlan.plan(spec, current(None, links=("eth1",), origin_links=("eth2",)))
    assert "dev 'eth1' (the underlay interface for vxlan link 'vxlan0' in netns 'ov') does not exist in " \
           "netns 'host'" in str(err.value)


def test_own_namespace_is_named_in_messages():
    spec = vxlan.build_spec(params(vni=42, netns="ov", create_netns=""))
    ops = vxlan.plan(spec, current(None, links=(), origin_links=("eth1",)))
    assert ops[0].describe().startswith("create vxlan link vxlan0 in the module's own namespace: id 42")
    assert ops[1].describe() == "move vxlan0 in the module's own namespace into netns 'ov'"


def test_a_moved_link_found_in_netns_is_unchanged():
    spec = vxlan.build_spec(params(vni=42, l2miss=False, netns="ov", create_netns="host"))
    assert vxlan.plan(spec, current(moved(), origin_links=("eth1",))) == []


def test_a_moved_link_changes_mutable_attributes_in_place():
    spec = vxlan.build_spec(params(vni=42, learning=False, dev="eth1", netns="ov", create_netns="host"))
    ops = vxlan.plan(spec, current(moved(), origin_links=("eth1",)))
    assert steps(ops) == [("set_vxlan", "netns", {"learning": False, "dev": "eth1"})]


@pytest.mark.parametrize(("given", "link"), [
    (dict(netns="ov", create_netns="host"), kernel_link(netns="ov")),  # was created in ov itself
    (dict(netns="ov", create_netns="host"), moved(create_netns="nsid 3", link_netnsid=3)),  # elsewhere
    (dict(netns="ov"), moved(create_netns="nsid 0")),  # moved in, but the task creates in ov
])
def test_where_a_link_was_created_cannot_change(given, link):
    spec = vxlan.build_spec(params(vni=42, **given))
    with pytest.raises(OverlayError) as err:
        vxlan.plan(spec, current(link, origin_links=("eth1",)))
    assert "create_netns" in str(err.value)


def test_a_name_taken_in_the_creating_namespace_is_refused_before_anything_changes():
    spec = vxlan.build_spec(params(vni=42, netns="ov", create_netns="host"))
    with pytest.raises(OverlayError) as err:
        vxlan.plan(spec, current(None, links=(), origin_links=("eth1", "vxlan0")))
    assert "a link of that name (kind veth) is already there" in str(err.value)


def test_restoring_a_moved_link_creates_it_where_it_was_created():
    spec = vxlan.build_spec(params(vni=43, netns="ov", create_netns="host", recreate="always"))
    ops = vxlan.plan(spec, current(moved(up=True), origin_links=("eth1",)))
    restore = ops[0].undo
    assert [(op.action, op.where, op.to) for op in restore] == [
        ("create", "create_netns", None), ("move", "create_netns", "ov"), ("set_link", "netns", None)]


def test_a_link_moved_from_an_unknown_namespace_cannot_be_restored():
    spec = vxlan.build_spec(params(vni=43, netns="ov", create_netns="host", recreate="always"))
    ops = vxlan.plan(spec, current(moved(create_netns="nsid 3", link_netnsid=3), origin_links=("eth1",)))
    assert ops[0].action == "delete"
    assert ops[0].undo is None


# ---------------------------------------------------------------------------------------------
# diff: before/after from the same data in check mode and real runs


def test_diff_for_a_new_link():
    spec = vxlan.build_spec(params(vni=42, dev="eth1", up=True))
    cur = current(None)
    before, after = vxlan.diff(spec, cur, vxlan.plan(spec, cur))
    assert before == {"name": "vxlan0", "state": "absent"}
    assert after == {"name": "vxlan0", "state": "present", "create_netns": None, "vni": 42, "dev": "eth1",
                     "dstport": 4789, "up": True}


def test_diff_for_an_in_place_change_shows_every_attribute_and_only_the_change_differs():
    spec = vxlan.build_spec(params(vni=42, group="239.1.1.9", learning=False, master="", up=True))
    cur = current(kernel_link(remote="192.0.2.2", master="br0"))
    before, after = vxlan.diff(spec, cur, vxlan.plan(spec, cur))
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed == {"group", "remote", "learning", "master", "up"}
    assert (before["remote"], after["remote"]) == ("192.0.2.2", None)
    assert (before["group"], after["group"]) == (None, "239.1.1.9")
    assert (before["master"], after["master"]) == ("br0", None)
    assert "ifindex" not in before


def test_diff_without_change_is_equal():
    spec = vxlan.build_spec(params(vni=42))
    cur = current(kernel_link())
    before, after = vxlan.diff(spec, cur, vxlan.plan(spec, cur))
    assert before == after
    assert before["state"] == "present"


def test_diff_for_a_recreate_shows_the_new_link_from_the_spec():
    spec = vxlan.build_spec(params(vni=43, recreate="always"))
    cur = current(kernel_link())
    before, after = vxlan.diff(spec, cur, vxlan.plan(spec, cur))
    assert before["vni"] == 42
    assert after == {"name": "vxlan0", "state": "present", "create_netns": None, "vni": 43, "dstport": 4789}


@pytest.mark.parametrize("link", [kernel_link(), None])
def test_diff_for_absent(link):
    spec = vxlan.build_spec(params(state="absent"))
    cur = current(link)
    before, after = vxlan.diff(spec, cur, vxlan.plan(spec, cur))
    assert after == {"name": "vxlan0", "state": "absent"}
    assert before["state"] == ("present" if link else "absent")


# ---------------------------------------------------------------------------------------------
# Rendering and netlink keywords


@pytest.mark.parametrize(("attrs", "words"), [
    ({"vni": 42, "dstport": 4789, "group": "239.1.1.1", "dev": "eth1"}, "id 42 group 239.1.1.1 dev eth1 dstport 4789"),
    ({"learning": False, "proxy": True}, "nolearning proxy"),
    ({"srcport_min": 1000, "srcport_max": 2000}, "srcport 1000 2000"),
    ({"ttl": "auto", "tos": "inherit"}, "ttl auto tos inherit"),
    ({"mac": "02:00:00:00:00:01", "mtu": 1400, "master": "", "up": False},
     "address 02:00:00:00:00:01 mtu 1400 nomaster down"),
    ({"local": None}, "no local"),
])
def test_ip_words(attrs, words):
    assert vxlan.ip_words(attrs) == words


@pytest.mark.parametrize(("attrs", "kwargs"), [
    ({"vni": 42, "dstport": 4789}, {"vxlan_id": 42, "vxlan_port": 4789}),
    ({"learning": False, "l2miss": True}, {"vxlan_learning": 0, "vxlan_l2miss": 1}),
    ({"udpcsum": True, "udp6zerocsumtx": False, "udp6zerocsumrx": True},
     {"vxlan_udp_csum": 1, "vxlan_udp_zero_csum6_tx": 0, "vxlan_udp_zero_csum6_rx": 1}),
    ({"external": True}, {"vxlan_collect_metadata": 1}),
    ({"gbp": True}, {"vxlan_gbp": True}),
    ({"gbp": False}, {}),  # a netlink flag: absent means off
    ({"ttl": "inherit"}, {"vxlan_ttl_inherit": True}),
    ({"ttl": "auto"}, {"vxlan_ttl": 0}),
    ({"ttl": 7}, {"vxlan_ttl": 7}),
    ({"tos": "inherit"}, {"vxlan_tos": 1}),
    ({"local": "192.0.2.1", "remote": "192.0.2.2"}, {"vxlan_local": "192.0.2.1", "vxlan_group": "192.0.2.2"}),
    ({"local": "2001:db8::1", "group": "ff05::2"}, {"vxlan_local6": "2001:db8::1", "vxlan_group6": "ff05::2"}),
    ({"dev": "eth1"}, {"vxlan_link": 3}),
    ({"srcport_min": 1000, "srcport_max": 2000}, {"vxlan_port_range": {"low": 1000, "high": 2000}}),
    ({"ageing": 100, "df": 1, "label": 5, "limit": 10}, {"vxlan_ageing": 100, "vxlan_df": 1, "vxlan_label": 5,
                                                         "vxlan_limit": 10}),
])
def test_netlink_keywords(attrs, kwargs):
    assert vxlan.vxlan_kwargs(attrs, {"eth1": 3}.__getitem__) == kwargs


def test_actions_read_like_ip_commands():
    spec = vxlan.build_spec(params(vni=42, learning=False, mtu=1400, netns="lab"))
    ops = vxlan.plan(spec, current(kernel_link(netns="lab")))
    assert [op.describe() for op in ops] == [
        "set vxlan0 in netns 'lab' nolearning (was: learning)",
        "set vxlan0 in netns 'lab' mtu 1400 (was: mtu 1450)",
    ]
