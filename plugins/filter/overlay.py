# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that compute a host's overlay state from the inventory, so roles apply it in few tasks."""

from __future__ import annotations

import hashlib
import ipaddress

from ansible.errors import AnsibleFilterError


def _network(value, name):
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise AnsibleFilterError("%s %r is not a network: %s" % (name, value, exc)) from exc


def _slot(host, count):
    digest = hashlib.sha256(host.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def overlay_subnets(hosts, network, subnet_len=24, subnet_min=None, subnet_max=None):
    """Give every host of `hosts` a subnet of `network`, the same one on every run.

    `hosts` maps a host name to a dict with an optional `subnet` (asked for by the inventory) and an
    optional `lease` (the subnet the host already uses). Asked-for subnets come first, then leases,
    then each remaining host takes the first free subnet from a slot derived from a hash of its
    name. So the result does not depend on inventory order, a host keeps its lease when others come
    or go, and a rebuild of the same hosts gives the same subnets.
    """
    net = _network(network, "network")
    try:
        subnet_len = int(subnet_len)
    except (TypeError, ValueError):
        raise AnsibleFilterError("subnet_len %r is not a number" % (subnet_len,)) from None
    if not net.prefixlen < subnet_len <= net.max_prefixlen:
        raise AnsibleFilterError("subnet_len %d must be longer than %s's prefix and at most %d"
                                 % (subnet_len, net, net.max_prefixlen))
    all_subnets = list(net.subnets(new_prefix=subnet_len)) if subnet_len - net.prefixlen <= 16 else None
    if all_subnets is None:
        raise AnsibleFilterError("%s has more than 65536 subnets of length %d" % (net, subnet_len))
    low = _network(subnet_min, "subnet_min") if subnet_min else all_subnets[1 if len(all_subnets) > 1 else 0]
    high = _network(subnet_max, "subnet_max") if subnet_max else all_subnets[-1]
    pool = [s for s in all_subnets if low.network_address <= s.network_address <= high.network_address]
    if not pool:
        raise AnsibleFilterError("no subnet lies between subnet_min %s and subnet_max %s" % (low, high))

    owner = {}
    result = {}

    def claim(host, subnet, why):
        subnet = _network(subnet, "%s of host %s" % (why, host))
        if subnet.prefixlen != subnet_len or not subnet.subnet_of(net):
            raise AnsibleFilterError("host %s: %s %s is not a /%d inside %s" % (host, why, subnet, subnet_len, net))
        if subnet in owner:
            raise AnsibleFilterError("hosts %s and %s both claim subnet %s" % (owner[subnet], host, subnet))
        owner[subnet] = host
        result[host] = str(subnet)

    for host in sorted(hosts):
        if (hosts[host] or {}).get("subnet"):
            claim(host, hosts[host]["subnet"], "subnet")
    for host in sorted(hosts):
        lease = (hosts[host] or {}).get("lease")
        if host not in result and lease and _network(lease, "lease").subnet_of(net) \
                and _network(lease, "lease").prefixlen == subnet_len and _network(lease, "lease") not in owner:
            claim(host, lease, "lease")
    waiting = sorted((h for h in hosts if h not in result), key=lambda h: (_slot(h, len(pool)), h))
    if len(waiting) > len(pool) - len(owner):
        raise AnsibleFilterError("network %s is exhausted: %d hosts need a /%d but only %d are free"
                                 % (net, len(waiting), subnet_len, len(pool) - len(owner)))
    for host in waiting:
        index = _slot(host, len(pool))
        while pool[index] in owner:
            index = (index + 1) % len(pool)
        claim(host, str(pool[index]), "subnet")
    return result


def vtep_mac(seed):
    """A locally administered unicast MAC derived from `seed` (e.g. the host name and VNI)."""
    digest = bytearray(hashlib.sha256(str(seed).encode()).digest()[:6])
    digest[0] = (digest[0] & 0xFC) | 0x02  # unicast, locally administered
    return ":".join("%02x" % b for b in digest)


class FilterModule:
    def filters(self):
        return {
            "overlay_subnets": overlay_subnets,
            "vtep_mac": vtep_mac,
        }
