# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unicast role's whole overlay, every host at once: validation, subnets, and each host's overlay call.

The role runs this once per play (run_once) on what every host published about itself, instead of
every host walking every other host's variables (hostvars lookups grow with the square of the hosts).
"""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.overlaynet.vxlan.plugins.filter.overlay import overlay_subnets, vtep_mac

ZERO_MAC = "00:00:00:00:00:00"
_IFNAME = re.compile(r"^[^/:\s]{1,15}$")
_MAC = re.compile(r"^[0-9a-fA-F][02468aceACE](:[0-9a-fA-F]{2}){5}$")
_CIDR = re.compile(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
# The settings a play's hosts must share: one play builds one overlay.
SHARED = ("mode", "vni", "dstport", "device", "bridge", "underlay", "mtu", "network", "subnet_length", "gateway",
          "static_neighbors", "peers_group", "members")


def _int(value):
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _ipv4(value):
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        return None


def _ipv4_interface(value):
    """An IPv4 address with its prefix length (10.233.0.1/16), or None."""
    if not isinstance(value, str) or not _CIDR.match(value):
        return None
    try:
        return ipaddress.IPv4Interface(value)
    except ValueError:
        return None


def _setting_errors(s):
    """Problems with the overlay-wide settings (the play's variables), in the role's words."""
    errors = []
    vni = _int(s["vni"])
    if vni is None or vni > 0xFFFFFF:
        errors.append("unicast_vni must be a VXLAN network identifier, 0 to 16777215 (is %s)" % s["vni"])
    port = _int(s["dstport"])
    if port is None or not 1 <= port <= 65535:
        errors.append("unicast_dstport must be a UDP port, 1 to 65535 (is %s)" % s["dstport"])
    for key, var in (("device", "unicast_device"), ("bridge", "unicast_bridge"),
                     ("underlay", "unicast_underlay_interface")):
        if not _IFNAME.match(str(s[key])):
            errors.append('%s must be an interface name of 1 to 15 characters without "/", ":" or blanks (is "%s")'
                          % (var, s[key]))
    if s["device"] == s["bridge"]:
        errors.append("unicast_device and unicast_bridge must differ (both are %s)" % s["bridge"])
    mtu = _int(s["mtu"])
    if mtu is None or (mtu != 0 and not 68 <= mtu <= 65535):
        errors.append("unicast_mtu must be 0 (kernel default) or 68 to 65535 (is %s)" % s["mtu"])
    if s["mode"] == "point_to_point":
        errors += _network_errors(s)
    elif _ipv4_interface(s["gateway"]) is None:
        errors.append("unicast_gateway must be an IPv4 address with its prefix length, e.g. 10.233.0.1/16 (is %s)"
                      % s["gateway"])
    return errors


def _network_errors(s):
    network = _ipv4_interface(s["network"])
    if network is None:
        return ["unicast_network must be an IPv4 network in CIDR form, e.g. 10.244.0.0/16 (is %s)" % s["network"]]
    errors = []
    if network.ip != network.network.network_address:
        errors.append("unicast_network %s has host bits set" % s["network"])
    length = _int(s["subnet_length"])
    if length is None or not (network.network.prefixlen < length <= 30 and length - network.network.prefixlen <= 16):
        errors.append("unicast_subnet_length must be longer than the prefix of unicast_network (%d), at most 16 bits "
                      "longer, and at most 30 (is %s)" % (network.network.prefixlen, s["subnet_length"]))
    return errors


def _host_errors(host, record, s):
    """Problems with one host's own variables, each naming the host."""
    errors = []
    given = record.get("overlay_vtep_address")
    if given is not None and _ipv4(given) is None:
        errors.append("overlay_vtep_address must be an IPv4 address (is %s)" % given)
    if s["mode"] == "point_to_point":
        subnet = record.get("unicast_subnet")
        if subnet is not None:
            errors += _subnet_errors(subnet, s)
        mac = record.get("unicast_vtep_mac")
        if mac is not None and not _MAC.match(str(mac)):
            errors.append("unicast_vtep_mac must be a unicast MAC address xx:xx:xx:xx:xx:xx (is %s)" % mac)
    else:
        for index, endpoint in enumerate(record.get("unicast_endpoints") or []):
            address = str(endpoint.get("address", "missing"))
            if _ipv4(address.split("/", 1)[0]) is None or ("/" in address and _ipv4_interface(address) is None):
                errors.append("unicast_endpoints[%d].address must be an IPv4 address (is %s)" % (index, address))
            if not _MAC.match(str(endpoint.get("mac", ""))):
                errors.append("unicast_endpoints[%d].mac must be a unicast MAC address (is %s)"
                              % (index, endpoint.get("mac", "missing")))
    return ["%s: %s" % (host, e) for e in errors]


def _subnet_errors(subnet, s):
    parsed = _ipv4_interface(subnet)
    if parsed is None:
        return ["unicast_subnet must be an IPv4 network in CIDR form, e.g. 10.244.1.0/24 (is %s)" % subnet]
    network = _ipv4_interface(s["network"])
    if (parsed.network.prefixlen != _int(s["subnet_length"]) or parsed.ip != parsed.network.network_address
            or (network is not None and not parsed.network.subnet_of(network.network))):
        return ["unicast_subnet %s must be a /%s network inside unicast_network %s"
                % (subnet, s["subnet_length"], s["network"])]
    return []


def _membership_errors(records, first):
    errors = []
    s = records[first]["settings"]
    if not s["group_known"]:
        return ["unicast_peers_group %s is not a group of the inventory" % s["peers_group"]]
    for host, record in sorted(records.items()):
        theirs = record.get("settings")
        if theirs is None:
            continue
        if host not in theirs["members"]:
            errors.append("%s: this host is not in unicast_peers_group %s" % (host, theirs["peers_group"]))
        differ = [key for key in SHARED if theirs[key] != s[key]]
        if differ:
            errors.append("%s and %s are in one play with different %s: one play builds one overlay"
                          % (first, host, ", ".join("unicast_" + key for key in differ)))
    return errors


def _overlap_errors(members, s):
    network = ipaddress.IPv4Network(s["network"])
    return ["unicast_network %s overlaps the underlay: it holds the VTEP address %s of %s" % (s["network"], vtep, host)
            for host, vtep in sorted(members.items()) if vtep and ipaddress.IPv4Address(vtep) in network]


def unicast_plan(records, first, state="present"):
    """Every play host's unicast overlay, from what each host of the overlay published about itself.

    `records` maps a host name to its published variables (overlay_vtep_address, facts_vtep,
    unicast_vtep_mac, unicast_subnet, unicast_endpoints) and, for the hosts of the play, `settings`
    (the role's variables as that host sees them). `first` is the host whose settings are the overlay's.
    Returns {host: {"facts": unicast_facts, "overlay": the overlay module's parts, "remote": seed 002's
    remote or ""}} for the hosts of the play; raises with every problem found, before anything changes.
    With `state` absent only the facts are returned, as far as the input allows, and nothing is checked:
    removing an overlay must not depend on its variables being right.
    """
    if first not in records or not records[first].get("settings"):
        raise AnsibleFilterError("unicast_plan: %s published no settings" % first)
    s = records[first]["settings"]
    if state == "absent":
        return _absent_facts(records, s)
    errors = _membership_errors(records, first) + _setting_errors(s)
    members = sorted(set(s["members"]))
    for host in members:
        errors += _host_errors(host, records.get(host, {}), s)
    if errors:
        raise AnsibleFilterError("; ".join(errors))

    vni, p2p = int(s["vni"]), s["mode"] == "point_to_point"
    info = {}
    for host in members:
        record = records.get(host, {})
        mac = record.get("unicast_vtep_mac") or vtep_mac("%s/%d" % (host, vni))
        info[host] = {"vtep": str(record.get("overlay_vtep_address") or record.get("facts_vtep") or ""),
                      "vtep_mac": str(mac).lower(), "endpoints": record.get("unicast_endpoints") or []}
    missing = [h for h in members if not info[h]["vtep"]]
    if missing:
        raise AnsibleFilterError("No VTEP address for %s: set overlay_vtep_address, or give %s "
                                 "(unicast_underlay_interface) an IPv4 address." % (", ".join(missing), s["underlay"]))
    if p2p:
        overlaps = _overlap_errors({h: info[h]["vtep"] for h in members}, s)
        if overlaps:
            raise AnsibleFilterError("; ".join(overlaps))
        asked = {h: {"subnet": records.get(h, {}).get("unicast_subnet")} for h in members}
        for host, subnet in overlay_subnets(asked, s["network"], int(s["subnet_length"])).items():
            info[host]["subnet"] = ipaddress.IPv4Network(subnet)
    return {host: _host_plan(host, info, members, s) for host, record in records.items()
            if record.get("settings") and host in members}


def _absent_facts(records, s):
    """unicast_facts for the removal (playbooks name the endpoints to remove from them): settings as given,
    the point-to-point subnets if they can be worked out."""
    members, p2p = sorted(set(s["members"])), s["mode"] == "point_to_point"
    subnets = {}
    if p2p:
        try:
            subnets = overlay_subnets({h: {"subnet": records.get(h, {}).get("unicast_subnet")} for h in members},
                                      s["network"], int(s["subnet_length"]))
        except (AnsibleFilterError, ValueError):
            subnets = {}
    result = {}
    for host, record in records.items():
        if not record.get("settings") or host not in members:
            continue
        subnet = subnets.get(host)
        gateway = s["gateway"] if not p2p else (
            "%s/%s" % (ipaddress.IPv4Network(subnet).network_address + 1, s["subnet_length"]) if subnet else None)
        vni, dstport = _int(s["vni"]), _int(s["dstport"])
        result[host] = {"facts": {
            "mode": s["mode"], "device": s["device"], "bridge": s["bridge"],
            "vni": s["vni"] if vni is None else vni, "dstport": s["dstport"] if dstport is None else dstport,
            "vtep": str(record.get("overlay_vtep_address") or record.get("facts_vtep") or ""),
            "vtep_mac": None, "subnet": subnet, "gateway": gateway.split("/", 1)[0] if gateway else None,
            "gateway_cidr": gateway, "peers": [h for h in members if h != host]}}
    return result


def _host_plan(host, info, members, s):
    p2p, me = s["mode"] == "point_to_point", info[host]
    peers = [h for h in members if h != host]
    seed_form = p2p and len(peers) == 1
    mtu = {"mtu": int(s["mtu"])} if int(s["mtu"]) > 0 else {}
    neigh, fdb, routes = [], [], []
    if p2p:
        for peer in peers:
            subnet = info[peer]["subnet"]
            address = str(subnet.network_address)
            routes.append({"dst": str(subnet), "via": address, "onlink": True})
            if not seed_form:
                neigh.append({"address": address, "lladdr": info[peer]["vtep_mac"], "state": "permanent"})
                fdb.append({"mac": info[peer]["vtep_mac"], "dst": info[peer]["vtep"]})
        gateway = "%s/%d" % (me["subnet"].network_address + 1, me["subnet"].prefixlen)
    else:
        fdb = [{"mac": ZERO_MAC, "dst": info[peer]["vtep"]} for peer in peers]
        if s["static_neighbors"]:
            for peer in peers:
                for endpoint in info[peer]["endpoints"]:
                    mac = str(endpoint["mac"]).lower()
                    neigh.append({"address": str(endpoint["address"]).split("/", 1)[0], "lladdr": mac,
                                  "state": "permanent"})
                    fdb.append({"mac": mac, "dst": info[peer]["vtep"]})
        gateway = s["gateway"]
    remote = info[peers[0]]["vtep"] if seed_form else ""
    device = {"name": s["device"], "vni": int(s["vni"]), "dstport": int(s["dstport"]), "dev": s["underlay"],
              "learning": seed_form, "up": True, **mtu}
    device.update({"local": me["vtep"], "mac": me["vtep_mac"]} if p2p else {"master": s["bridge"]})
    if remote:
        device["remote"] = remote
    addresses = [{"dev": s["bridge"], "addresses": [{"address": gateway}], "purge": True}]
    if p2p:
        addresses.append({"dev": s["device"], "addresses": [{"address": "%s/32" % me["subnet"].network_address}],
                          "purge": True})
    return {
        "remote": remote,
        "facts": {"mode": s["mode"], "device": s["device"], "bridge": s["bridge"], "vni": int(s["vni"]),
                  "dstport": int(s["dstport"]), "vtep": me["vtep"], "vtep_mac": me["vtep_mac"] if p2p else None,
                  "subnet": str(me["subnet"]) if p2p else None, "gateway": gateway.split("/", 1)[0],
                  "gateway_cidr": gateway, "peers": peers},
        "overlay": {
            "bridges": [{"name": s["bridge"], "up": True, "mac": vtep_mac("%s/%s" % (host, s["bridge"])), **mtu}],
            "vxlan": [device],
            "addresses": addresses,
            "neigh": [{"device": s["device"] if p2p else s["bridge"], "entries": neigh, "purge": True}],
            "fdb": [{"device": s["device"], "entries": fdb, "purge": True}],
            "routes": [{"dev": s["device"], "routes": routes, "purge": True}] if p2p else [],
        },
    }


class FilterModule:
    def filters(self):
        return {"unicast_plan": unicast_plan}
