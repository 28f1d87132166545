"""The address planner and its spec: pure tables, no kernel."""

from __future__ import annotations

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils.addresses import AddressSpec, expected, plan, render
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError


def addr(address, broadcast="", scope="global", secondary=False):
    family = "ipv6" if ":" in address else "ipv4"
    return {"address": address, "family": family, "broadcast": broadcast if family == "ipv4" else None,
            "scope": scope, "secondary": secondary}


def spec(*entries, **kw):
    params = {"dev": "vxlan11", "addresses": [e if isinstance(e, dict) else {"address": e} for e in entries]}
    params.update(kw)
    return AddressSpec.from_params(params)


def steps(ops):
    return [op.describe() for op in ops]


LINK_LOCAL = addr("fe80::1/64", scope="link")


@pytest.mark.parametrize(("wanted", "current", "want"), [
    pytest.param(spec("10.244.1.0/32"), [], ["add 10.244.1.0/32 dev vxlan11"], id="seed002-add"),
    pytest.param(spec("10.244.1.0/32"), [addr("10.244.1.0/32")], [], id="seed002-present"),
    pytest.param(spec("10.244.1.0"), [addr("10.244.1.0/32")], [], id="bare-address-is-32"),
    pytest.param(spec("10.244.1.0/32"), [addr("10.244.1.0/32", "10.244.1.255")], [],
                 id="broadcast-not-set-is-not-compared"),
    pytest.param(spec({"address": "10.244.1.0/32", "broadcast": "10.244.1.255"}), [addr("10.244.1.0/32")],
                 ["delete 10.244.1.0/32 dev vxlan11", "add 10.244.1.0/32 brd 10.244.1.255 dev vxlan11"],
                 id="seed002-broadcast-added"),
    pytest.param(spec({"address": "10.244.1.0/32", "broadcast": "none"}), [addr("10.244.1.0/32", "10.244.1.0")],
                 ["delete 10.244.1.0/32 brd 10.244.1.0 dev vxlan11", "add 10.244.1.0/32 dev vxlan11"],
                 id="broadcast-removed"),
    pytest.param(spec({"address": "10.244.1.0/32", "broadcast": "-"}), [addr("10.244.1.0/32", "10.244.1.0")], [],
                 id="broadcast-minus-is-the-network-address"),
    pytest.param(spec({"address": "10.244.1.1/24", "broadcast": "+"}), [addr("10.244.1.1/24", "10.244.1.255")], [],
                 id="broadcast-plus"),
    pytest.param(spec("10.244.1.1/16"), [addr("10.244.1.1/24")],
                 ["delete 10.244.1.1/24 dev vxlan11", "add 10.244.1.1/16 dev vxlan11"], id="prefix-changed"),
    pytest.param(spec({"address": "127.0.0.2/8", "scope": "host"}), [addr("127.0.0.2/8")],
                 ["delete 127.0.0.2/8 dev vxlan11", "add 127.0.0.2/8 scope host dev vxlan11"], id="scope-changed"),
    pytest.param(spec("10.1.0.1/24", purge=True), [addr("10.9.0.1/24"), addr("10.1.0.1/24"), addr("fd00::1/64"),
                                                   LINK_LOCAL],
                 ["delete 10.9.0.1/24 dev vxlan11", "delete fd00::1/64 dev vxlan11"], id="purge-keeps-link-local"),
    pytest.param(spec("fe80::1/64", purge=True), [LINK_LOCAL], [], id="listed-link-local"),
    pytest.param(spec(purge=True), [addr("10.9.0.1/24")], ["delete 10.9.0.1/24 dev vxlan11"], id="purge-all"),
    pytest.param(spec("10.9.0.1/24", "10.9.0.2/24", state="absent"), [addr("10.9.0.1/24"), addr("10.3.0.1/24")],
                 ["delete 10.9.0.1/24 dev vxlan11"], id="absent-only-listed"),
    pytest.param(spec("FD00:0::1/64"), [addr("fd00::1/64")], [], id="ipv6-normalised"),
])
def test_plan(wanted, current, want):
    assert steps(plan(wanted, current)) == want


PRIMARY, SECONDARY = addr("10.7.0.1/24"), addr("10.7.0.2/24", secondary=True)
OTHER_SUBNET = addr("10.8.0.2/24", secondary=True)


@pytest.mark.parametrize(("wanted", "promote", "want"), [
    pytest.param(spec("10.7.0.1/24", "10.7.0.2/24", "10.8.0.2/24", purge=True), False, [], id="nothing-deleted"),
    pytest.param(spec("10.7.0.2/24", "10.8.0.2/24", purge=True), False,
                 ["delete 10.7.0.1/24 dev vxlan11",
                  "add 10.7.0.2/24 dev vxlan11 (again: the kernel deletes it with its primary 10.7.0.1/24)"],
                 id="purge-primary-keeps-listed-secondary"),
    pytest.param(spec("10.7.0.2/24", "10.8.0.2/24", purge=True), True, ["delete 10.7.0.1/24 dev vxlan11"],
                 id="promote-secondaries"),
    pytest.param(spec("10.7.0.1/24", state="absent"), False,
                 ["delete 10.7.0.1/24 dev vxlan11",
                  "add 10.7.0.2/24 dev vxlan11 (again: the kernel deletes it with its primary 10.7.0.1/24)"],
                 id="absent-primary-keeps-unlisted-secondary"),
    pytest.param(spec({"address": "10.7.0.1/24", "broadcast": "+"}), False,
                 ["delete 10.7.0.1/24 dev vxlan11", "add 10.7.0.1/24 brd 10.7.0.255 dev vxlan11",
                  "add 10.7.0.2/24 dev vxlan11 (again: the kernel deletes it with its primary 10.7.0.1/24)"],
                 id="replaced-primary-then-its-secondary"),
    pytest.param(spec("10.7.0.1/24", "10.7.0.2/24", state="absent"), False,
                 ["delete 10.7.0.1/24 dev vxlan11", "delete 10.7.0.2/24 dev vxlan11"], id="both-go"),
])
def test_plan_keeps_secondaries_the_kernel_would_take_with_their_primary(wanted, promote, want):
    current = [PRIMARY, SECONDARY, OTHER_SUBNET]
    assert steps(plan(wanted, current, promote)) == want
    assert [a["address"] for a in expected(wanted, current, promote)] == [
        a["address"] for a in expected(wanted, current, True)]


def test_expected_is_current_with_the_plan_applied():
    wanted = spec("10.1.0.1/24", {"address": "10.2.0.1/32", "broadcast": "+"}, purge=True)
    current = [addr("10.9.0.1/24"), addr("10.1.0.1/24")]
    assert render(expected(wanted, current)) == ["10.1.0.1/24", "10.2.0.1/32 brd 10.2.0.1"]
    assert expected(wanted, expected(wanted, current)) == expected(wanted, current)
    assert plan(wanted, expected(wanted, current)) == []


@pytest.mark.parametrize(("params", "message"), [
    ({"addresses": [{"address": "10.0.0.256/24"}]}, "addresses[0].address '10.0.0.256/24' is not an IP address"),
    ({"addresses": [{"address": "224.0.0.1/32"}]}, "cannot be assigned"),
    ({"addresses": [{"address": "fd00::1/64", "broadcast": "+"}]}, "broadcast is for IPv4"),
    ({"addresses": [{"address": "10.0.0.1/24", "broadcast": "x"}]}, "addresses[0].broadcast 'x' is not an IPv4"),
    ({"addresses": [{"address": "10.0.0.1/24", "scope": "planet"}]}, "addresses[0].scope 'planet' is not a scope"),
    ({"addresses": [{"address": "fd00::1/64", "scope": "link"}]}, "derives the scope of IPv6"),
    ({"addresses": [{"address": "10.0.0.1/24"}, {"address": "10.0.0.1/16"}]}, "listed twice"),
    ({"addresses": [], "purge": True, "state": "absent"}, "purge is for state present"),
    ({"dev": "much-too-long-name", "addresses": []}, "dev 'much-too-long-name'"),
])
def test_spec_errors_name_the_option_and_value(params, message):
    full = {"dev": "vxlan11"}
    full.update(params)
    with pytest.raises(OverlayError) as info:
        AddressSpec.from_params(full)
    assert message in str(info.value)
