"""The walkthroughs' exact commands (shared/seeds), run inside a lab host's namespace.

Interoperability tests configure one host by hand with these and the others with the collection,
then ping across. Each function takes the host's namespace and returns what it made, so the test can
clean up by exact name. Only names and addresses are parameters; the commands are the seeds'.
"""

from __future__ import annotations

from kernel import add_netns, sh


def _in(host, *cmd):
    return sh(*cmd, netns=host)


def container(host, netns, address, gateway, *, bridge="br0", host_veth="veth0"):
    """Seed 001's "container": a namespace with eth0 (renamed from eth-tmp), an address, a default route."""
    add_netns(netns)
    _in(host, "ip", "link", "add", host_veth, "type", "veth", "peer", "name", "eth-tmp")
    _in(host, "ip", "link", "set", "eth-tmp", "netns", netns)
    sh("ip", "link", "set", "eth-tmp", "name", "eth0", netns=netns)
    sh("ip", "link", "set", "eth0", "up", netns=netns)
    sh("ip", "link", "set", "lo", "up", netns=netns)
    _in(host, "ip", "link", "set", host_veth, "up")
    _in(host, "ip", "link", "set", host_veth, "master", bridge)
    sh("ip", "address", "add", address, "dev", "eth0", netns=netns)
    if gateway:
        sh("ip", "route", "add", "default", "via", gateway, "dev", "eth0", netns=netns)
    return netns


def seed001_multicast(host, gateway_cidr="10.233.0.1/16", vni=42, group="239.1.1.1", dev="eth1"):
    """Seed 001, first half: vxlan0 in a multicast group, enslaved to br0 that carries the gateway."""
    _in(host, "ip", "link", "add", "vxlan0", "type", "vxlan", "id", str(vni), "dstport", "4789",
        "group", group, "dev", dev)
    _in(host, "ip", "link", "set", "vxlan0", "up")
    _in(host, "ip", "link", "add", "name", "br0", "type", "bridge")
    _in(host, "ip", "link", "set", "br0", "up")
    _in(host, "ip", "link", "set", "vxlan0", "master", "br0")
    _in(host, "ip", "addr", "add", gateway_cidr, "dev", "br0")


def seed001_head_end(host, peers, gateway_cidr="10.233.0.1/16", vni=42, dev="eth1"):
    """Seed 001, second half: nolearning vxlan0 and one all-zero FDB entry appended per peer."""
    _in(host, "ip", "link", "add", "vxlan0", "type", "vxlan", "id", str(vni), "dstport", "4789", "dev", dev,
        "nolearning")
    for peer in peers:
        _in(host, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vxlan0", "dst", peer)
    _in(host, "ip", "link", "set", "vxlan0", "up")
    _in(host, "ip", "link", "add", "name", "br0", "type", "bridge")
    _in(host, "ip", "link", "set", "br0", "up")
    _in(host, "ip", "link", "set", "vxlan0", "master", "br0")
    _in(host, "ip", "addr", "add", gateway_cidr, "dev", "br0")


def seed002(host, local, remote, subnet_prefix, peer_prefix, *, vni=11, dev="eth1"):
    """Seed 002 on one side: br0 with <subnet>.1/24, vxlan11 point-to-point with <subnet>.0/32, onlink route.

    `subnet_prefix`/`peer_prefix` are the first three octets, e.g. "10.244.1" and "10.244.2".
    """
    _in(host, "ip", "link", "add", "br0", "type", "bridge")
    _in(host, "ip", "addr", "add", subnet_prefix + ".1/24", "dev", "br0")
    _in(host, "ip", "link", "set", "br0", "up")
    _in(host, "ip", "link", "add", "vxlan" + str(vni), "type", "vxlan", "id", str(vni), "dstport", "4789",
        "remote", remote, "local", local, "dev", dev)
    _in(host, "ip", "addr", "add", subnet_prefix + ".0/32", "dev", "vxlan" + str(vni))
    _in(host, "ip", "link", "set", "vxlan" + str(vni), "up")
    _in(host, "ip", "r", "a", peer_prefix + ".0/24", "via", peer_prefix + ".0", "dev", "vxlan" + str(vni), "onlink")


def seed002_container(host, netns, subnet_prefix, peer_prefix, index=1):
    """Seed 002's namespace: veth<i>a inside with <subnet>.2/24, veth<i>b on br0, route to the peer subnet."""
    inner, outer = "veth%da" % index, "veth%db" % index
    add_netns(netns)
    _in(host, "ip", "link", "add", inner, "type", "veth", "peer", "name", outer)
    _in(host, "ip", "link", "set", inner, "netns", netns)
    sh("ip", "address", "add", subnet_prefix + ".2/24", "dev", inner, netns=netns)
    sh("ip", "link", "set", inner, "up", netns=netns)
    _in(host, "ip", "link", "set", outer, "master", "br0")
    _in(host, "ip", "link", "set", outer, "up")
    sh("ip", "link", "set", "lo", "up", netns=netns)
    sh("ip", "route", "add", peer_prefix + ".0/24", "via", subnet_prefix + ".1", "dev", inner, netns=netns)
    return netns


def flanneld(host, public_ip, subnet, vtep_mac, peers, *, network="10.244.0.0/16", vni=1, dev="eth1", mtu=1450):
    """What flanneld's vxlan backend programs (DESIGN.md), with port 8472 and the given random MAC.

    `subnet` is this node's "10.244.N.0/24"; `peers` is a list of (public_ip, subnet, vtep_mac).
    """
    name = "flannel.%d" % vni
    net_addr = subnet.split("/")[0]
    _in(host, "ip", "link", "add", name, "address", vtep_mac, "type", "vxlan", "id", str(vni), "local", public_ip,
        "dev", dev, "nolearning", "dstport", "8472", "ttl", "auto", "udpcsum")
    _in(host, "ip", "link", "set", name, "mtu", str(mtu))
    _in(host, "ip", "addr", "add", net_addr + "/32", "dev", name)
    _in(host, "ip", "link", "set", name, "up")
    for peer_ip, peer_subnet, peer_mac in peers:
        peer_net = peer_subnet.split("/")[0]
        _in(host, "ip", "neigh", "replace", peer_net, "lladdr", peer_mac, "dev", name, "nud", "permanent")
        _in(host, "bridge", "fdb", "replace", peer_mac, "dev", name, "dst", peer_ip, "self", "permanent")
        _in(host, "ip", "route", "replace", peer_subnet, "via", peer_net, "dev", name, "onlink")
    first = net_addr.rsplit(".", 1)[0] + ".1/24"
    _in(host, "ip", "link", "add", "cni0", "type", "bridge")
    _in(host, "ip", "link", "set", "cni0", "mtu", str(mtu))
    _in(host, "ip", "addr", "add", first, "dev", "cni0")
    _in(host, "ip", "link", "set", "cni0", "up")
    return {"network": network, "subnet": subnet, "mtu": mtu}
