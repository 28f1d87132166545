"""Shared testinfra helpers for the overlay scenarios: read kernel state from a host as JSON, and ping
across the overlay from an endpoint. Work with any connection (netns hosts here, VMs over SSH)."""

from __future__ import annotations

import json


def link(host, name):
    """`ip -d -j link show <name>` on the host, as one dict."""
    return json.loads(host.check_output("ip -d -j link show dev %s", name))[0]


def vxlan(host, name):
    return link(host, name)["linkinfo"]["info_data"]


def fdb(host, dev):
    return json.loads(host.check_output("bridge -j fdb show dev %s", dev))


def neigh(host, dev):
    return json.loads(host.check_output("ip -j neigh show dev %s nud all", dev))


def routes(host, dev):
    return json.loads(host.check_output("ip -j route show dev %s", dev))


def pings(host, netns, address):
    """True when the endpoint namespace `netns` on the host reaches `address`."""
    return host.run("ip netns exec %s ping -c 2 -W 2 %s", netns, address).rc == 0
