#!/usr/bin/python
# -*- coding: utf-8 -*-  # noqa: UP009 - the Ansible module header convention
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: overlay
short_description: Apply one host's whole VXLAN overlay state (links, addresses, neighbours, FDB, routes) in one call
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Applies in one task what M(overlaynet.vxlan.link) (bridges), M(overlaynet.vxlan.vxlan_link),
    M(overlaynet.vxlan.address), M(overlaynet.vxlan.ip_neigh), M(overlaynet.vxlan.bridge_fdb) and
    M(overlaynet.vxlan.route) apply one task each, with the same option names and the same planners, so a
    role's rerun on a host is one task (each extra task round over many hosts costs seconds, whatever it
    does) and a failure leaves the host as it was.
  - Every part is validated and planned before anything changes. Bad input anywhere fails with the option
    path (for example C(fdb[0].entries[3].mac)) and nothing is changed. A part may name a device that an
    earlier part of the same call creates (an address on a vxlan link listed under O(vxlan), a vxlan link
    whose O(vxlan[].master) is listed under O(bridges)).
  - "Order with O(state=present): O(bridges), O(vxlan) (enslaved to its O(vxlan[].master)), O(addresses),
    O(neigh), O(fdb), O(routes) - for a peer that is flanneld's own order (neighbour, FDB entry, route)."
  - If a step fails, the steps already applied are undone, newest first (links deleted again or set back,
    addresses restored to what was read, entries inverted, routes deleted or put back), and the task fails
    saying what failed and that the host was restored - or exactly what could not be undone (then
    C(changed) is true).
  - With O(state=absent), what the spec names is removed and nothing else - the listed routes, FDB and
    neighbour entries and addresses entry by entry, then the vxlan links and the bridges (which takes the
    rest of their entries with them). Options that only describe a link (vni, mtu, ...) are validated but
    not compared.
options:
  state:
    description:
      - V(present) makes the host match every part; V(absent) removes what the parts name.
    type: str
    choices: [present, absent]
    default: present
  bridges:
    description:
      - Bridges, as M(overlaynet.vxlan.link) with O(bridges[].name) and C(kind=bridge).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the bridge (at most 15 characters).
        type: str
        required: true
      mtu:
        description: MTU of the bridge.
        type: int
      mac:
        description: MAC address of the bridge (unicast).
        type: str
      up:
        description: V(true) to bring the bridge up, V(false) to set it down. Omit to leave it.
        type: bool
      bridge:
        description: Bridge options (C(IFLA_BR_*)); times in seconds.
        type: dict
        suboptions:
          stp:
            description: Spanning tree protocol on or off.
            type: bool
          ageing_time:
            description: How long a learned MAC stays in the FDB, in seconds.
            type: float
          forward_delay:
            description: STP forward delay, in seconds.
            type: float
          vlan_filtering:
            description: VLAN filtering on or off.
            type: bool
          mcast_snooping:
            description: Multicast snooping on or off.
            type: bool
  vxlan:
    description:
      - VXLAN links, each as M(overlaynet.vxlan.vxlan_link) takes it (its options, less O(netns) and
        O(state) which are this module's). See that module for the details of each option.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the VXLAN link.
        type: str
        required: true
      create_netns:
        description:
          - Create the link in this namespace and move it into O(netns) (the empty string - the
            namespace the module runs in). O(vxlan[].dev) is resolved there.
        type: str
      recreate:
        description:
          - V(never) fails when the link differs in an attribute the kernel cannot change on a live link;
            V(always) deletes and recreates it (its addresses, entries and routes are planned anew).
        type: str
        choices: [never, always]
        default: never
      vni:
        description: VXLAN network identifier, 0 to 16777215; required to create a link unless O(vxlan[].external).
        type: int
      dstport:
        description: UDP destination port; always compared (the kernel's own default is 8472).
        type: int
        default: 4789
      local:
        description: Source address of the tunnel.
        type: str
      remote:
        description: Unicast remote VTEP. Excludes O(vxlan[].group).
        type: str
      group:
        description: Multicast group. Excludes O(vxlan[].remote).
        type: str
      dev:
        description: Underlay interface.
        type: str
      learning:
        description: Learn remote MACs from received packets.
        type: bool
      proxy:
        description: Answer ARP/ND from the neighbour table.
        type: bool
      l2miss:
        description: Notify user space of FDB misses.
        type: bool
      l3miss:
        description: Notify user space of neighbour misses.
        type: bool
      rsc:
        description: Route short-circuit.
        type: bool
      ttl:
        description: Outer TTL, 1 to 255, V(auto) or V(inherit).
        type: raw
      tos:
        description: Outer TOS, 0 to 255, or V(inherit).
        type: raw
      srcport_min:
        description: Lowest UDP source port; goes with O(vxlan[].srcport_max).
        type: int
      srcport_max:
        description: Highest UDP source port; goes with O(vxlan[].srcport_min).
        type: int
      udpcsum:
        description: UDP checksums of outer IPv4 packets.
        type: bool
      udp6zerocsumtx:
        description: Send outer IPv6 packets with a zero UDP checksum.
        type: bool
      udp6zerocsumrx:
        description: Accept outer IPv6 packets with a zero UDP checksum.
        type: bool
      gbp:
        description: Group Based Policy extension.
        type: bool
      external:
        description: Collect-metadata mode. Excludes O(vxlan[].vni).
        type: bool
      ageing:
        description: Lifetime in seconds of learned FDB entries.
        type: int
      mtu:
        description: MTU of the link.
        type: int
      mac:
        description: The link's unicast MAC address.
        type: str
      master:
        description:
          - Bridge to enslave the link to; it may be one listed in O(bridges). The empty string releases it.
        type: str
      up:
        description: Administrative state.
        type: bool
  addresses:
    description:
      - Addresses of one device per item, as M(overlaynet.vxlan.address) takes them. A device is listed once.
    type: list
    elements: dict
    default: []
    suboptions:
      dev:
        description: Name of the device; it may be one this call creates.
        type: str
        required: true
      addresses:
        description: The addresses.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description: Address with its prefix length, for example C(10.244.1.0/32).
            type: str
            required: true
          broadcast:
            description: IPv4 broadcast address; V(+), V(-), or an empty string for none.
            type: str
          scope:
            description: Scope of an IPv4 address (V(global), V(link), V(host), ... or a number).
            type: str
      purge:
        description: Also delete the device's addresses that are not listed (IPv6 link-local ones excepted).
        type: bool
        default: false
  neigh:
    description:
      - Neighbour (ARP/NDP) entries of one device per item, as M(overlaynet.vxlan.ip_neigh) takes them. A device is
        listed once.
    type: list
    elements: dict
    default: []
    suboptions:
      device:
        description: The device; it may be one this call creates.
        type: str
        required: true
      entries:
        description:
          - The entries, each with C(address) (required), C(lladdr), C(state) (C(permanent), C(noarp), C(reachable),
            C(stale)), C(proxy) and C(router), exactly as M(overlaynet.vxlan.ip_neigh) takes them.
        type: list
        elements: dict
        default: []
      purge:
        description: Also remove the device's permanent, noarp and proxy entries that are not listed.
        type: bool
        default: false
      purge_dynamic:
        description: With O(neigh[].purge), remove learned entries too.
        type: bool
        default: false
  fdb:
    description:
      - Forwarding database entries of one device per item, as M(overlaynet.vxlan.bridge_fdb) takes them. A device
        is listed once.
    type: list
    elements: dict
    default: []
    suboptions:
      device:
        description: A vxlan device, a bridge or a bridge port; it may be one this call creates.
        type: str
        required: true
      entries:
        description:
          - The entries, each with C(mac) (required), C(dst), C(vni), C(port), C(via), C(src_vni), C(vlan), C(self),
            C(master) and C(state) (C(permanent) or C(static)), exactly as M(overlaynet.vxlan.bridge_fdb) takes them.
          - For head-end replication give C(00:00:00:00:00:00) once per peer, each with its C(dst).
        type: list
        elements: dict
        default: []
      purge:
        description: Also remove the device's static and permanent entries that are not listed.
        type: bool
        default: false
      purge_dynamic:
        description: With O(fdb[].purge), remove learned entries too.
        type: bool
        default: false
  routes:
    description:
      - Routes, as M(overlaynet.vxlan.route) takes them; each item has its own O(routes[].dev), O(routes[].table)
        and O(routes[].purge). A route is listed in one item only, and no item's purge removes a route another
        item lists.
    type: list
    elements: dict
    default: []
    suboptions:
      routes:
        description: The routes.
        type: list
        elements: dict
        default: []
        suboptions:
          dst:
            description: Destination prefix, a single address, or V(default).
            type: str
            required: true
          via:
            description: Gateway address.
            type: str
          dev:
            description: Output device (it may be one this call creates). Defaults to the item's O(routes[].dev).
            type: str
          onlink:
            description: Treat the gateway as reachable on the device (seed 002's C(onlink)).
            type: bool
          metric:
            description: Route metric; part of the route's identity. Defaults to 0 (IPv4) or 1024 (IPv6).
            type: int
          table:
            description: Routing table (number or name). Defaults to the item's O(routes[].table).
            type: str
          src:
            description: Preferred source address.
            type: str
          scope:
            description: Scope of an IPv4 route.
            type: str
          encap:
            description: Lightweight tunnel encapsulation (C(encap ip id ID dst ADDRESS)).
            type: dict
            suboptions:
              type:
                description: V(ip), or its alias V(vxlan).
                type: str
                choices: [ip, vxlan]
                default: ip
              id:
                description: Tunnel id (the VNI on a vxlan device).
                type: int
                required: true
              dst:
                description: Remote tunnel endpoint.
                type: str
                required: true
              src:
                description: Local tunnel source address.
                type: str
              ttl:
                description: Outer TTL.
                type: int
              tos:
                description: Outer TOS.
                type: int
      dev:
        description: Device for routes that name none; with O(routes[].purge), narrows the purge to it.
        type: str
      table:
        description: Table for routes that name none, and the table O(routes[].purge) works in.
        type: str
        default: main
      purge:
        description: Also delete the routes of the table (through O(routes[].dev) when set) that are not listed.
        type: bool
        default: false
extends_documentation_fragment:
  - overlaynet.vxlan.netns
  - overlaynet.vxlan.netns.attributes
attributes:
  idempotent:
    description: Running the module again with the same arguments changes nothing.
    support: full
notes:
  - Everything lives in O(netns); a vxlan link may be created elsewhere (O(vxlan[].create_netns)).
  - Changes the runtime state only; nothing is persisted across reboots.
  - The undo of a deleted vxlan link or bridge recreates it from the attributes read before (and puts its
    ports back); entries on it that the task did not name are not restored.
seealso:
  - module: overlaynet.vxlan.vxlan_link
  - module: overlaynet.vxlan.link
  - module: overlaynet.vxlan.address
  - module: overlaynet.vxlan.ip_neigh
  - module: overlaynet.vxlan.bridge_fdb
  - module: overlaynet.vxlan.route
"""

EXAMPLES = r"""
# Seed 002, node 1, in one task: bridge, point-to-point vxlan11, its /32 and the onlink route to the peer
- name: Point-to-point overlay of this host
  overlaynet.vxlan.overlay:
    bridges:
      - name: br0
        up: true
    vxlan:
      - name: vxlan11
        vni: 11
        remote: 198.51.100.12
        local: 198.51.100.11
        dev: eth0
        up: true
    addresses:
      - dev: br0
        addresses:
          - address: 10.244.1.1/24
      - dev: vxlan11
        addresses:
          - address: 10.244.1.0/32
    routes:
      - routes:
          - dst: 10.244.2.0/24
            via: 10.244.2.0
            dev: vxlan11
            onlink: true

# Head-end replication (seed 001): no learning, one all-zero FDB entry per peer
- name: Head-end replication
  overlaynet.vxlan.overlay:
    vxlan:
      - name: vxlan0
        vni: 42
        dev: eth1
        learning: false
        master: br0
        up: true
    bridges:
      - name: br0
        up: true
    fdb:
      - device: vxlan0
        purge: true
        entries:
          - {mac: "00:00:00:00:00:00", dst: 198.51.100.12}
          - {mac: "00:00:00:00:00:00", dst: 198.51.100.13}

# What flanneld programs, peers in its order (neighbour, FDB entry, route)
- name: Flannel-compatible host
  overlaynet.vxlan.overlay:
    bridges:
      - name: cni0
        mtu: 1450
        up: true
    vxlan:
      - name: flannel.1
        vni: 1
        dstport: 8472
        local: 192.0.2.11
        dev: eth1
        learning: false
        mac: "0e:4c:9e:21:7a:11"
        mtu: 1450
        up: true
    addresses:
      - dev: flannel.1
        addresses: [{address: 10.244.1.0/32}]
        purge: true
      - dev: cni0
        addresses: [{address: 10.244.1.1/24}]
    neigh:
      - device: flannel.1
        purge: true
        entries:
          - {address: 10.244.2.0, lladdr: "0e:4c:9e:21:7a:12"}
    fdb:
      - device: flannel.1
        purge: true
        entries:
          - {mac: "0e:4c:9e:21:7a:12", dst: 192.0.2.12}
    routes:
      - dev: flannel.1
        purge: true
        routes:
          - {dst: 10.244.2.0/24, via: 10.244.2.0, onlink: true}

- name: Remove it all again
  overlaynet.vxlan.overlay:
    state: absent
    bridges: [{name: cni0}]
    vxlan: [{name: flannel.1}]
"""

RETURN = r"""
bridges:
  description: Per item of O(bridges), the bridge as M(overlaynet.vxlan.link) returns it (C(link)), read back.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "br0", "state": "present", "kind": "bridge", "mtu": 1500, "mac": "6e:4f:12:9a:00:01", "up": true,
            "master": null, "bridge": {"stp": false}}]
vxlan:
  description:
    - Per item of O(vxlan), the link as M(overlaynet.vxlan.vxlan_link) returns it (C(link)), read back; empty when
      absent.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "vxlan11", "kind": "vxlan", "vni": 11, "dstport": 4789, "remote": "198.51.100.12", "up": true}]
addresses:
  description: Per item of O(addresses), C(dev) and its C(addresses) as M(overlaynet.vxlan.address) returns them.
  returned: always
  type: list
  elements: dict
  sample: [{"dev": "vxlan11", "addresses": [{"address": "10.244.1.0/32", "family": "ipv4", "broadcast": "",
                                              "scope": "global", "secondary": false}]}]
neigh:
  description: Per item of O(neigh), C(device) and its entries (C(neigh)) as M(overlaynet.vxlan.ip_neigh) returns them.
  returned: always
  type: list
  elements: dict
  sample: [{"device": "flannel.1", "neigh": [{"address": "10.244.2.0", "family": "ipv4", "lladdr": "0e:4c:9e:21:7a:12",
                                              "state": "permanent", "proxy": false, "router": false}]}]
fdb:
  description: Per item of O(fdb), C(device) and its entries (C(fdb)) as M(overlaynet.vxlan.bridge_fdb) returns them.
  returned: always
  type: list
  elements: dict
  sample: [{"device": "vxlan0", "fdb": [{"mac": "00:00:00:00:00:00", "dst": "198.51.100.12", "self": true,
                                         "master": false, "state": "permanent"}]}]
routes:
  description:
    - Per item of O(routes), the C(routes) M(overlaynet.vxlan.route) returns (its purge scope plus the listed ones).
  returned: always
  type: list
  elements: dict
  sample: [{"routes": [{"dst": "10.244.2.0/24", "via": "10.244.2.0", "dev": "vxlan11", "onlink": true, "table": 254,
                        "metric": 0, "family": "ipv4", "protocol": "boot", "scope": "global", "type": "unicast",
                        "src": null, "encap": null, "multipath": false, "tos": 0}]}]
actions:
  description: What was done (or would be done in check mode), in order, one line per netlink request.
  returned: always
  type: list
  elements: str
  sample:
    - create bridge link br0
    - set br0 up
    - "create vxlan link vxlan11: id 11 remote 198.51.100.12 local 198.51.100.11 dev eth0 dstport 4789"
    - set vxlan11 up
    - add 10.244.1.0/32 dev vxlan11
    - add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import overlay
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import module_main


def main():
    module_main(overlay.ARGUMENT_SPEC, lambda module: overlay.run(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
