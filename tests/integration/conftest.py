"""Fixtures that make uniquely named network namespaces and always delete them."""

from __future__ import annotations

import pytest
from kernel import ISSUED_PREFIXES, add_netns, delete_netns, sh, sh_json, unique_prefix


@pytest.fixture
def prefix():
    return unique_prefix()


@pytest.fixture
def make_netns(prefix):
    """make_netns("a") -> "<prefix>a", a fresh namespace deleted (by exact name) after the test."""
    made = []

    def make(suffix):
        name = prefix + suffix
        add_netns(name)
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        delete_netns(name)


@pytest.fixture
def netns(make_netns):
    return make_netns("n")


def _root_state():
    """What the tests must never change in the root namespace (read-only look)."""
    links = sorted((link["ifname"], link.get("address"), tuple(sorted(link.get("flags", []))), link.get("mtu"))
                   for link in sh_json("ip", "-j", "link", "show"))
    return {
        "links": links,
        "addresses": sh("ip", "-br", "addr", "show"),
        "routes": sh("ip", "route", "show", "table", "all"),
        "iptables": [line for line in sh("iptables-save", check=False).splitlines() if not line.startswith("#")],
    }


@pytest.fixture(scope="session", autouse=True)
def root_namespace_untouched():
    """Fail the run if any test changed the root namespace or left a namespace behind."""
    before = _root_state()
    namespaces_before = set(sh("ip", "netns", "list").split())
    yield
    after = _root_state()
    for key in before:
        assert after[key] == before[key], "the tests changed the root namespace's %s" % key
    # Only this run's prefixes count: other test runs may be working on the same machine.
    left = [name for name in (line.split()[0] for line in sh("ip", "netns", "list").splitlines())
            if name[:5] in ISSUED_PREFIXES and name not in namespaces_before]
    assert not left, "the tests left namespaces behind: %s" % left
