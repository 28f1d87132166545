"""The route planner, its spec and the LWTUNNEL_ENCAP_IP codec: pure tables, no kernel."""

from __future__ import annotations

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError
from ansible_collections.overlaynet.vxlan.plugins.module_utils.routes import (
    LWTUNNEL_ENCAP_IP,
    LWTUNNEL_ENCAP_IP6,
    RouteSpec,
    decode_encap,
    encode_encap,
    expected_lines,
    parse_table,
    plan,
)


def route(dst, via=None, *, dev="vxlan11", table=254, metric=0, onlink=False, protocol="boot", rtype="unicast",
          encap=None, src=None, scope=None):
    family = "ipv6" if ":" in dst else "ipv4"
    return {"family": family, "dst": dst, "table": table, "metric": metric, "via": via, "dev": dev,
            "onlink": onlink, "src": src, "scope": scope or ("global" if via else "link"), "type": rtype,
            "protocol": protocol, "encap": encap, "multipath": False, "tos": 0}


def spec(*entries, **kw):
    params = {"routes": list(entries)}
    params.update(kw)
    return RouteSpec.from_params(params)


def steps(ops):
    return [op.describe() for op in ops]


SEED002 = {"dst": "10.244.2.0/24", "via": "10.244.2.0", "dev": "vxlan11", "onlink": True}
SEED004 = {"dst": "40.1.1.1/32", "dev": "vx0", "encap": {"type": "vxlan", "id": 10, "dst": "198.51.100.12"}}
ENCAP = {"type": "ip", "id": 10, "dst": "198.51.100.12", "src": "0.0.0.0", "ttl": 0, "tos": 0}
CONNECTED = route("10.244.1.0/24", dev="br0", protocol="kernel")


@pytest.mark.parametrize(("wanted", "current", "want"), [
    pytest.param(spec(SEED002), [CONNECTED],
                 ["add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0"], id="seed002-add"),
    pytest.param(spec(SEED002), [route("10.244.2.0/24", "10.244.2.0", onlink=True)], [], id="seed002-present"),
    pytest.param(spec(SEED002), [route("10.244.2.0/24", "10.244.2.9", onlink=True)],
                 ["replace route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0 (via differed)"],
                 id="gateway-changed"),
    pytest.param(spec(SEED002), [route("10.244.2.0/24", "10.244.2.0")],
                 ["replace route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0 (onlink differed)"],
                 id="onlink-missing"),
    pytest.param(spec({"dst": "10.244.2.0/24", "via": "10.244.2.0"}), [route("10.244.2.0/24", "10.244.2.0",
                                                                             onlink=True, src="10.0.0.1")],
                 [], id="unset-attributes-not-compared"),
    pytest.param(spec(dict(SEED002, metric=100)), [route("10.244.2.0/24", "10.244.2.0", onlink=True)],
                 ["add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 100"],
                 id="metric-is-identity"),
    pytest.param(spec(dict(SEED002, table="100")), [route("10.244.2.0/24", "10.244.2.0", onlink=True)],
                 ["add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table 100 metric 0"],
                 id="table-is-identity"),
    pytest.param(spec(SEED004), [route("40.1.1.1/32", dev="vx0", encap=ENCAP)], [], id="seed004-present"),
    pytest.param(spec(SEED004), [route("40.1.1.1/32", dev="vx0", encap=dict(ENCAP, id=11))],
                 ["replace route 40.1.1.1/32 encap ip id 10 dst 198.51.100.12 dev vx0 table main metric 0 "
                  "(encap differed)"], id="seed004-other-vni"),
    pytest.param(spec(SEED004), [route("40.1.1.1/32", dev="vx0")],
                 ["replace route 40.1.1.1/32 encap ip id 10 dst 198.51.100.12 dev vx0 table main metric 0 "
                  "(encap differed)"], id="seed004-encap-missing"),
    pytest.param(spec({"dst": "10.9.0.0/16", "via": "10.1.0.1"}), [route("10.9.0.0/16", rtype="blackhole", dev=None)],
                 ["replace route 10.9.0.0/16 via 10.1.0.1 table main metric 0 (via, type differed)"], id="blackhole-replaced"),
    pytest.param(spec({"dst": "fd00:2::/64", "dev": "vxlan11"}), [route("fd00:2::/64", metric=1024)], [],
                 id="ipv6-default-metric"),
    pytest.param(spec(SEED002, dev="vxlan11", purge=True),
                 [CONNECTED, route("10.244.2.0/24", "10.244.2.0", onlink=True),
                  route("10.244.3.0/24", "10.244.3.0", onlink=True), route("10.8.0.0/16", "10.1.0.1", dev="eth1"),
                  route("10.244.4.0/24", "10.244.4.0", onlink=True, table=100),
                  route("10.244.1.0/32", dev="vxlan11", protocol="kernel"),
                  route("10.244.1.0/32", dev="vxlan11", rtype="local", table=255)],
                 ["delete route 10.244.3.0/24 via 10.244.3.0 dev vxlan11 onlink table main metric 0"],
                 id="purge-within-table-and-dev"),
    pytest.param(spec(purge=True), [CONNECTED, route("0.0.0.0/0", "192.0.2.1", dev="eth1"),
                                    route("fe80::/64", dev="eth1", metric=256, protocol="kernel")],
                 ["delete route default via 192.0.2.1 dev eth1 table main metric 0"], id="purge-table-keeps-kernel"),
    pytest.param(spec({"dst": "10.244.2.0/24"}, {"dst": "10.244.9.0/24"}, state="absent"),
                 [route("10.244.2.0/24", "10.244.2.0", onlink=True)],
                 ["delete route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0"], id="absent"),
])
def test_plan(wanted, current, want):
    assert steps(plan(wanted, current)) == want


def test_expected_lines_predict_the_view_after_the_plan():
    wanted = spec(SEED002, dev="vxlan11", purge=True)
    current = [route("10.244.3.0/24", "10.244.3.0", onlink=True)]
    assert expected_lines(wanted, current) == [
        "10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0"]


@pytest.mark.parametrize(("entry", "message"), [
    ({"dst": "10.244.2.1/24"}, "routes[0].dst '10.244.2.1/24' is not a network prefix"),
    ({"dst": "10.244.2.0/24", "onlink": True, "dev": "x"}, "routes[0].onlink needs via"),
    ({"dst": "10.244.2.0/24", "via": "10.0.0.1", "onlink": True}, "routes[0].onlink needs dev"),
    ({"dst": "40.1.1.1/32", "encap": {"id": 10, "dst": "198.51.100.12"}}, "routes[0].encap needs dev"),
    ({"dst": "40.1.1.1/32", "dev": "vx0", "encap": {"type": "vxlan", "id": 2 ** 24, "dst": "198.51.100.12"}},
     "larger than a VNI"),
    ({"dst": "40.1.1.1/32", "dev": "vx0", "encap": {"type": "gre", "id": 1, "dst": "198.51.100.12"}},
     "routes[0].encap.type 'gre' is not supported"),
    ({"dst": "40.1.1.1/32", "dev": "vx0", "encap": {"id": 1}}, "routes[0].encap.dst is required"),
    ({"dst": "40.1.1.1/32", "dev": "vx0", "encap": {"id": 1, "dst": "x"}}, "routes[0].encap.dst 'x' is not an IP"),
    ({"dst": "10.0.0.0/8", "via": "fd00::1"}, "routes[0].via fd00::1 is not of the same IP version"),
    ({"dst": "10.0.0.0/8", "table": "nosuchtable"}, "routes[0].table 'nosuchtable' is not a routing table"),
    ({"dst": "10.0.0.0/8", "metric": -1}, "routes[0].metric -1"),
    ({"dst": "fd00::/64", "scope": "link"}, "IPv6 routes have no scope"),
    ({"dst": ""}, "routes[0].dst is required"),
])
def test_spec_errors_name_the_option_and_value(entry, message):
    with pytest.raises(OverlayError) as info:
        spec(entry)
    assert message in str(info.value)


def test_spec_defaults_and_duplicates():
    wanted = spec({"dst": "default", "via": "fd00::1"}, {"dst": "10.0.0.1"}, dev="eth0", table="default")
    first, second = wanted.entries
    assert (first.dst, first.dst_len, first.metric, first.table, first.dev) == ("::", 0, 1024, 253, "eth0")
    assert (second.dst, second.dst_len, second.metric) == ("10.0.0.1", 32, 0)
    with pytest.raises(OverlayError, match="listed twice"):
        spec({"dst": "10.0.0.0/8"}, {"dst": "10.0.0.0/8", "via": "10.1.1.1"})


@pytest.mark.parametrize(("value", "number"), [("main", 254), ("local", 255), ("default", 253), ("100", 100),
                                               (100, 100)])
def test_parse_table(value, number):
    assert parse_table(value, "table") == number


# What pyroute2 (0.7.2 and 0.9.7 alike) hands over for `encap ip id 10 dst 198.51.100.2`, read from this kernel.
KERNEL_DUMP = ("0c:00:01:00:00:00:00:00:00:00:00:0a:08:00:02:00:c6:33:64:02:08:00:03:00:00:00:00:00:05:00:05:"
               "00:00:00:00:00:05:00:04:00:00:00:00:00:06:00:06:00:00:00:00:00")


def test_decode_encap_from_a_kernel_dump():
    assert decode_encap(LWTUNNEL_ENCAP_IP, KERNEL_DUMP) == {
        "type": "ip", "id": 10, "dst": "198.51.100.2", "src": "0.0.0.0", "ttl": 0, "tos": 0}


@pytest.mark.parametrize("encap", [
    {"type": "ip", "id": 10, "dst": "198.51.100.12"},
    {"type": "ip", "id": 2 ** 40, "dst": "203.0.113.1", "src": "192.0.2.1", "ttl": 64, "tos": 16},
    {"type": "ip6", "id": 7, "dst": "2001:db8::2", "src": "2001:db8::1"},
])
def test_encap_roundtrip(encap):
    kind, payload = encode_encap(encap)
    assert kind == (LWTUNNEL_ENCAP_IP if encap["type"] == "ip" else LWTUNNEL_ENCAP_IP6)
    assert len(payload) % 4 == 0
    assert decode_encap(kind, payload) == encap
    assert decode_encap(kind, ":".join("%02x" % b for b in payload)) == encap


def test_decode_unknown_encap_type_is_reported_not_guessed():
    assert decode_encap(1, "00") == {"type": 1}
