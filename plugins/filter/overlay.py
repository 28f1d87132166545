# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that compute a host's overlay state from the inventory, so roles apply it in few tasks."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re

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


_MAC = re.compile(r"^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$")
_LEASE_KEY = re.compile(r"(?:^|/)(\d{1,3}(?:\.\d{1,3}){3})-(\d{1,2})$")


def _lease_subnet(lease, where):
    if lease.get("subnet"):
        return str(lease["subnet"])
    match = _LEASE_KEY.search(str(lease.get("key", "")))
    if not match:
        raise AnsibleFilterError("%s: give 'subnet' (10.244.9.0/24) or an etcd 'key' ending in <address>-<length> "
                                 "(/coreos.com/network/subnets/10.244.9.0-24)" % where)
    return "%s/%s" % match.groups()


def _external_node(lease, index, vni):
    where = "external lease %d" % index
    if not isinstance(lease, dict):
        raise AnsibleFilterError("%s must be a dict with 'key' or 'subnet' and 'value' (is %r)" % (where, lease))
    value = lease.get("value")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise AnsibleFilterError("%s: value is not JSON: %s" % (where, exc)) from None
    if not isinstance(value, dict):
        raise AnsibleFilterError("%s: value must be the lease as flanneld stores it, a dict with PublicIP, "
                                 "BackendType and BackendData (is %r)" % (where, value))
    subnet = _lease_subnet(lease, where)
    where = "external lease %s" % subnet
    if value.get("BackendType") != "vxlan":
        raise AnsibleFilterError("%s: BackendType must be vxlan (is %r)" % (where, value.get("BackendType")))
    data = value.get("BackendData") or {}
    if str(data.get("VNI")) != str(vni):
        raise AnsibleFilterError("%s: BackendData.VNI %r is not this overlay's VNI %s" % (where, data.get("VNI"), vni))
    mac = str(data.get("VtepMAC", "")).lower()
    if not _MAC.match(mac):
        raise AnsibleFilterError("%s: BackendData.VtepMAC must be a unicast MAC (is %r)" % (where, data.get("VtepMAC")))
    try:
        public_ip = str(ipaddress.IPv4Address(str(value.get("PublicIP"))))
    except ValueError:
        raise AnsibleFilterError("%s: PublicIP must be an IPv4 address (is %r)" % (where, value.get("PublicIP"))) from None
    return subnet, {"public_ip": public_ip, "vtep_mac": mac, "external": True}


def _held_subnet(addresses, network, subnet_len):
    """The subnet whose network address is among `addresses` (a flannel device's /32s), or None."""
    if isinstance(addresses, str):
        addresses = [addresses] if addresses else []
    net = _network(network, "network")
    for address in addresses or []:
        try:
            subnet = ipaddress.ip_network("%s/%s" % (str(address).split("/", maxsplit=1)[0], subnet_len), strict=True)
        except ValueError:
            continue
        if subnet.subnet_of(net) if subnet.version == net.version else False:
            return str(subnet)
    return None


def flannel_nodes(members, network, subnet_len=24, vni=1, subnet_min=None, subnet_max=None,  # noqa: PLR0917 - a filter's positional arguments
                  external_leases=None):
    """Every node of a flannel network, inventory hosts and hosts run by flanneld alike.

    `members` maps an inventory host to its `public_ip`, `vtep_mac`, and optional `subnet` (asked for)
    and `lease` (the subnet its device holds now, or the device's addresses: the one that is a subnet's
    network address is the lease). `external_leases` are leases of nodes outside the
    inventory as flanneld stores them (`key` or `subnet`, and `value`). Returns node name to `subnet`,
    `address` (its network address, on its flannel device), `gateway` (the first address, on its
    bridge), `public_ip`, `vtep_mac` and `external`; external nodes are named "lease <subnet>". Subnets are
    given out as overlay_subnets does, an external lease counting as a subnet asked for. Fails for a member
    without a public IP.
    """
    no_ip = sorted(host for host, given in members.items() if not (given or {}).get("public_ip"))
    if no_ip:
        raise AnsibleFilterError("No public IP for %s: set flannel_public_ip or overlay_vtep_address, or give the "
                                 "underlay interface an IPv4 address." % ", ".join(no_ip))
    nodes = {}
    claims = {}
    for host, given in members.items():
        info = given or {}
        nodes[host] = {"public_ip": str(info.get("public_ip", "")), "vtep_mac": str(info.get("vtep_mac", "")).lower(),
                       "external": False}
        claims[host] = {"subnet": info.get("subnet"), "lease": _held_subnet(info.get("lease"), network, subnet_len)}
    for index, lease in enumerate(external_leases or []):
        subnet, node = _external_node(lease, index, vni)
        name = "lease %s" % subnet
        if name in nodes:
            raise AnsibleFilterError("external lease %s is given twice" % subnet)
        nodes[name] = node
        claims[name] = {"subnet": subnet}
    subnets = overlay_subnets(claims, network, subnet_len, subnet_min, subnet_max)
    seen = {}
    for name in sorted(nodes):
        node = nodes[name]
        subnet = ipaddress.ip_network(subnets[name])
        node.update(subnet=str(subnet), address=str(subnet.network_address), gateway=str(subnet.network_address + 1))
        for key in ("public_ip", "vtep_mac"):
            if node[key] and node[key] in seen.get(key, {}):
                raise AnsibleFilterError("%s and %s have the same %s %s"
                                         % (seen[key][node[key]], name, key.replace("_", " "), node[key]))
            seen.setdefault(key, {})[node[key]] = name
    return nodes


def vtep_mac(seed):
    """A locally administered unicast MAC derived from `seed` (e.g. the host name and VNI)."""
    digest = bytearray(hashlib.sha256(str(seed).encode()).digest()[:6])
    digest[0] = (digest[0] & 0xFC) | 0x02  # unicast, locally administered
    return ":".join("%02x" % b for b in digest)


class FilterModule:
    def filters(self):
        return {
            "flannel_nodes": flannel_nodes,
            "overlay_subnets": overlay_subnets,
            "vtep_mac": vtep_mac,
        }
