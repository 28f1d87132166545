#!/usr/bin/python
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: route
short_description: Manage IPv4 and IPv6 routes, including onlink and lightweight-tunnel (encap) routes
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Adds, replaces and deletes routes over netlink, like C(ip route add/replace/del), a whole
    list in one call, and optionally removes the routes of a table (or of one device in it) that
    are not listed.
  - A route is identified as the kernel identifies it - family, table, destination prefix and
    metric. The other attributes (O(routes[].via), O(routes[].dev), O(routes[].onlink),
    O(routes[].src), O(routes[].scope), O(routes[].encap)) are compared only where you set
    them; when one differs the route is replaced with exactly what the entry says.
  - O(routes[].encap) makes a lightweight-tunnel route for a vxlan device in C(external)
    (collect metadata) mode, as in seed 004. Seed 004 writes C(encap vxlan id 10 dst ...), which
    iproute2 does not have; the kernel's mechanism is C(encap ip id 10 dst ...) (LWTUNNEL_ENCAP_IP,
    the tunnel id becomes the VNI, dst the remote VTEP). O(routes[].encap.type) accepts V(ip) and,
    as the seed's name for it, V(vxlan). The peer's overlay address also needs a static neighbour
    entry on the device (see M(overlaynet.vxlan.ip_neigh)); no C(ip rule) is needed.
options:
  routes:
    description: The routes.
    type: list
    elements: dict
    default: []
    suboptions:
      dst:
        description:
          - Destination prefix (C(10.244.2.0/24), C(fd00::/64)), a single address (meaning
            C(/32) or C(/128)), or V(default). Host bits must be zero.
          - V(default) is IPv4 unless O(routes[].via) or O(routes[].src) is IPv6.
        type: str
        required: true
      via:
        description: Gateway address (C(ip route ... via)).
        type: str
      dev:
        description: Output device. Defaults to the module's O(dev).
        type: str
      onlink:
        description:
          - Treat the gateway as reachable on O(routes[].dev) even though no address of the
            device covers it (seed 002's C(via 10.244.2.0 dev vxlan11 onlink)).
        type: bool
      metric:
        description:
          - Route metric (priority). Part of the route's identity. Defaults to the kernel's
            default, 0 for IPv4 and 1024 for IPv6.
        type: int
      table:
        description: Routing table (number or name). Defaults to the module's O(table).
        type: str
      src:
        description: Preferred source address (C(ip route ... src)).
        type: str
      scope:
        description:
          - Scope of an IPv4 route (V(global), V(link), V(host), or a number). When not set, a
            new route gets what C(ip route add) gives it - V(link) without a gateway, V(global)
            with one.
        type: str
      encap:
        description: Lightweight tunnel encapsulation (C(ip route ... encap ip id ID dst ADDRESS)).
        type: dict
        suboptions:
          type:
            description:
              - V(ip) (LWTUNNEL_ENCAP_IP, or LWTUNNEL_ENCAP_IP6 for an IPv6 O(routes[].encap.dst)).
              - V(vxlan) is an alias of V(ip), as seed 004 calls it; its id must fit 24 bits.
            type: str
            choices: [ip, vxlan]
            default: ip
          id:
            description: Tunnel id; for a vxlan device the VNI.
            type: int
            required: true
          dst:
            description: Remote tunnel endpoint (the peer's underlay address).
            type: str
            required: true
          src:
            description: Local tunnel source address.
            type: str
          ttl:
            description: Outer TTL (0 = inherit).
            type: int
          tos:
            description: Outer TOS.
            type: int
  table:
    description:
      - Routing table for entries that do not name one, and the table O(purge) works in.
      - A number, V(main), V(local), V(default), or a name from C(/etc/iproute2/rt_tables).
    type: str
    default: main
  dev:
    description:
      - Device for entries that do not name one. When set, O(purge) only looks at routes
        through this device.
    type: str
  state:
    description:
      - V(present) makes sure the listed routes exist as described; V(absent) deletes the
        routes with the listed identities (family, table, prefix, metric).
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also delete the routes of O(table) (and, when O(dev) is set,
        only those through O(dev)) that are not listed - both IPv4 and IPv6.
      - Routes the kernel makes by itself (protocol C(kernel) or C(ra), such as the prefix
        route of an address) and local, broadcast, multicast and anycast routes are never
        purged.
      - Without O(dev) this includes the namespace's default route if it is not listed.
    type: bool
    default: false
extends_documentation_fragment:
  - overlaynet.vxlan.netns
  - overlaynet.vxlan.netns.attributes
attributes:
  idempotent:
    description: Running the module again with the same arguments changes nothing.
    support: full
seealso:
  - module: overlaynet.vxlan.address
  - module: overlaynet.vxlan.vxlan_link
"""

EXAMPLES = r"""
# Seed 002, node 1: ip r a 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink
- name: Peer subnet through the point-to-point vxlan device
  overlaynet.vxlan.route:
    routes:
      - dst: 10.244.2.0/24
        via: 10.244.2.0
        dev: vxlan11
        onlink: true

# Seed 001: ip netns exec ns1 ip route add default via 10.233.0.1 dev eth0
- name: Container default route
  overlaynet.vxlan.route:
    netns: ns1
    routes:
      - dst: default
        via: 10.233.0.1
        dev: eth0

# Seed 004 on a vxlan device made with "external": ip route add 40.1.1.1/32 encap ip id 10 dst 198.51.100.12 dev vx0
- name: Lightweight-tunnel route
  overlaynet.vxlan.route:
    routes:
      - dst: 40.1.1.1/32
        dev: vx0
        encap:
          type: vxlan
          id: 10
          dst: 198.51.100.12

# flannel: one onlink route per peer on flannel.1, and none for nodes that left
- name: Routes to the peers' subnets, stale ones purged
  overlaynet.vxlan.route:
    dev: flannel.1
    purge: true
    routes:
      - {dst: 10.244.2.0/24, via: 10.244.2.0, onlink: true}
      - {dst: 10.244.3.0/24, via: 10.244.3.0, onlink: true}

- name: Remove a route
  overlaynet.vxlan.route:
    routes:
      - dst: 10.244.9.0/24
    state: absent
"""

RETURN = r"""
routes:
  description:
    - The routes the call is about, read back after the run (before it, in check mode) - those
      of O(table) (through O(dev) when set) that O(purge) would consider, plus those matching
      the listed entries.
  returned: always
  type: list
  elements: dict
  contains:
    family:
      description: V(ipv4) or V(ipv6).
      type: str
    dst:
      description: Destination prefix.
      type: str
      sample: 10.244.2.0/24
    table:
      description: Table number.
      type: int
      sample: 254
    metric:
      description: Metric.
      type: int
      sample: 0
    via:
      description: Gateway, or null.
      type: str
      sample: 10.244.2.0
    dev:
      description: Output device.
      type: str
      sample: vxlan11
    onlink:
      description: Whether the route has the onlink flag.
      type: bool
      sample: true
    src:
      description: Preferred source, or null.
      type: str
    scope:
      description: Route scope.
      type: str
      sample: global
    type:
      description: Route type (V(unicast), V(blackhole), ...).
      type: str
      sample: unicast
    protocol:
      description: Who made the route (V(boot), V(kernel), V(static), ...).
      type: str
      sample: boot
    encap:
      description: Lightweight tunnel encapsulation, or null.
      type: dict
      sample: {"type": "ip", "id": 10, "dst": "198.51.100.12", "src": "0.0.0.0", "ttl": 0, "tos": 0}
    multipath:
      description: Whether it is a multipath route (not managed by this module).
      type: bool
    tos:
      description: TOS selector of the route.
      type: int
actions:
  description: What was done (or would be done in check mode), one line per route.
  returned: always
  type: list
  elements: str
  sample: ["add route 10.244.2.0/24 via 10.244.2.0 dev vxlan11 onlink table main metric 0"]
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import routes
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    Session,
    module_main,
)


def run(module):
    spec = routes.RouteSpec.from_params(module.params)
    with Session(spec.netns) as session:
        return routes.run(session, spec, check_mode=module.check_mode)


def main():
    module_main(routes.ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
