#!/usr/bin/python
# -*- coding: utf-8 -*-  # noqa: UP009 - the Ansible module header convention
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vxlan_link
short_description: Create, change and remove VXLAN links over netlink
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Manages one VXLAN network device, the declarative equivalent of
    C(ip link add NAME type vxlan id VNI ...) and C(ip link set NAME ...), talking netlink through
    pyroute2 (it never runs C(ip)).
  - Options that are not set are not compared ("don't care"), with one exception, O(dstport), which
    defaults to the IANA port 4789 and is always compared; the kernel's own default is 8472.
  - Attributes the kernel can change on a live link are changed in place, keeping the ifindex (and the
    link's FDB entries, addresses and routes) - O(learning), O(ageing), O(ttl) (numbers and
    V(auto)), O(tos), O(dev), O(local), O(remote) and O(group) within one address family, O(mtu),
    O(mac), O(master), O(up). Every other attribute can only be set by creating the link anew, which
    O(recreate) governs.
  - All options are validated before anything changes, and so are the references to the kernel
    (O(dev) and O(master) must exist, an existing link called O(name) must be a VXLAN link).
  - If a step fails, the steps already done are undone (a new link is deleted again, a recreated link
    is restored from what was read before) and the module fails naming what was rolled back.
options:
  name:
    description:
      - Name of the VXLAN link (at most 15 characters, no C(/), C(:) or white space).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the link, V(absent) deletes it (nothing happens when it is not there).
      - A link called O(name) that is not a VXLAN link is never deleted or changed; the module fails.
    type: str
    choices: [present, absent]
    default: present
  create_netns:
    description:
      - Create the link in this network namespace and then move it into O(netns), like
        C(ip link add ...; ip link set NAME netns NS). The link keeps its UDP socket, O(dev) and
        O(local) in the namespace it was created in, so this is how an overlay lives inside a
        namespace while its tunnel traffic leaves through the host's underlay.
      - The empty string means the namespace the module runs in (for example the host's, when
        O(netns) is a container's namespace).
      - Omitted, the link is created in O(netns) itself. Where a link was created is part of what is
        compared (the kernel reports it as the link-netnsid); it cannot change on a live link.
      - O(dev) names an interface in this namespace. O(master) names one in O(netns).
    type: str
  recreate:
    description:
      - What to do when an existing link differs in an attribute the kernel cannot change on a live
        link (O(vni), O(dstport), O(srcport_min)/O(srcport_max), O(proxy), O(rsc), O(l2miss), O(l3miss),
        O(udpcsum), O(udp6zerocsumtx), O(udp6zerocsumrx), O(gbp), O(external), O(ttl) to or from
        V(inherit), an address family change of O(local)/O(remote)/O(group), O(create_netns)).
      - V(never) (the default, the safe choice) fails and lists the differing attributes; nothing is changed.
      - V(always) deletes the link and creates it from the options of this task (what the task does not
        set gets the kernel's default). Addresses, routes, neighbours and FDB entries on the old link
        are lost, and its ifindex changes.
    type: str
    choices: [never, always]
    default: never
  vni:
    description:
      - VXLAN network identifier, 0 to 16777215 (C(id) in C(ip link)).
      - Required to create a link, unless O(external=true). Excludes O(external=true).
    type: int
  dstport:
    description:
      - UDP destination port of the tunnel (C(dstport)), 1 to 65535.
      - Defaults to the IANA port 4789 and is always compared, since the kernel's own default is 8472
        (which is what flannel uses; set it explicitly for flannel-compatible links).
    type: int
    default: 4789
  local:
    description:
      - Source IPv4 or IPv6 address of the tunnel (C(local)), an address of the namespace the link is
        created in. Must be of the same family as O(remote)/O(group).
    type: str
  remote:
    description:
      - Unicast IP address of the single remote VTEP (C(remote)), where packets for unknown destinations go.
      - Excludes O(group).
    type: str
  group:
    description:
      - Multicast group to join (C(group)); unknown destinations are flooded to it. Usually with O(dev).
      - Must be a multicast address. Excludes O(remote).
    type: str
  dev:
    description:
      - Underlay interface (C(dev)) the tunnel's packets leave through and multicast is joined on.
        It must exist in the namespace the link is created in (see O(create_netns)).
    type: str
  learning:
    description: Learn remote MAC addresses into the FDB from received packets (C(learning)/C(nolearning)).
    type: bool
  proxy:
    description: Answer ARP and neighbour discovery from the neighbour table (C(proxy)).
    type: bool
  l2miss:
    description: Notify user space of FDB misses (C(l2miss)).
    type: bool
  l3miss:
    description: Notify user space of neighbour-table misses (C(l3miss)).
    type: bool
  rsc:
    description: Route short-circuit (C(rsc)).
    type: bool
  ttl:
    description:
      - TTL (hop limit) of the outer packets, 1 to 255; V(auto) (or 0) for the route's default, as
        C(ttl auto); V(inherit) to copy it from the inner packet, as C(ttl inherit).
      - Changing to or from V(inherit) needs a new link.
    type: raw
  tos:
    description:
      - TOS of the outer packets, 0 to 255, or V(inherit) (C(tos)).
      - Note that C(ip link) reads a C(tos) number as hexadecimal (C(tos 10) is 16); write V(0x10) in YAML
        for the same value.
    type: raw
  srcport_min:
    description:
      - Lowest UDP source port (C(srcport MIN MAX)); 0 with O(srcport_max=0) is the kernel's default
        (the host's local port range). Goes with O(srcport_max).
    type: int
  srcport_max:
    description: Highest UDP source port; goes with O(srcport_min).
    type: int
  udpcsum:
    description: Compute UDP checksums of outer IPv4 packets (C(udpcsum)).
    type: bool
  udp6zerocsumtx:
    description: Send outer IPv6 packets with a zero UDP checksum (C(udp6zerocsumtx)).
    type: bool
  udp6zerocsumrx:
    description: Accept outer IPv6 packets with a zero UDP checksum (C(udp6zerocsumrx)).
    type: bool
  gbp:
    description: Group Based Policy extension (C(gbp)).
    type: bool
  external:
    description:
      - Collect-metadata mode (C(external)) - one link for all VNIs, the VNI and destination coming from
        routes with C(encap ip id VNI dst ADDR) (lightweight tunnels). Excludes O(vni).
      - Implies O(learning=false) unless O(learning) is set, as C(ip link add ... external) does.
    type: bool
  ageing:
    description: Lifetime in seconds of learned FDB entries (C(ageing)).
    type: int
  mtu:
    description: MTU of the link, 68 to 65535 (the kernel limits it to the underlay's MTU minus 50 with O(dev)).
    type: int
  mac:
    description: The link's unicast MAC address (C(address)), for example a stable VTEP MAC.
    type: str
  master:
    description:
      - Bridge (or other master device) in O(netns) to enslave the link to (C(master)).
      - The empty string releases the link from any master (C(nomaster)).
    type: str
  up:
    description: Administrative state; V(true) sets the link up, V(false) down.
    type: bool
extends_documentation_fragment:
  - overlaynet.vxlan.netns
  - overlaynet.vxlan.netns.attributes
notes:
  - O(netns) is where the link lives (and where it is looked up by O(name)).
  - For a link that was created in O(create_netns) and moved, O(dev) is resolved in O(create_netns)
    and the kernel's link-netnsid of the link must point there; a rerun of the same task is then
    unchanged.
  - Two VXLAN links with the same VNI and port cannot coexist in the namespace they were created in.
  - Changes to the runtime state only; nothing is persisted across reboots.
seealso:
  - name: ip-link(8)
    description: The C(vxlan) section of C(ip link) documents each attribute.
    link: https://man7.org/linux/man-pages/man8/ip-link.8.html
"""

EXAMPLES = r"""
- name: Multicast VXLAN (seed 001) - ip link add vxlan0 type vxlan id 42 dstport 4789 group 239.1.1.1 dev eth1
  overlaynet.vxlan.vxlan_link:
    name: vxlan0
    vni: 42
    group: 239.1.1.1
    dev: eth1
    master: br0
    up: true

- name: Head-end replication without learning - id 42 dstport 4789 dev eth1 nolearning
  overlaynet.vxlan.vxlan_link:
    name: vxlan0
    vni: 42
    dev: eth1
    learning: false
    up: true

- name: Point-to-point (seed 002) - id 11 dstport 4789 remote 198.51.100.12 local 198.51.100.11 dev eth0
  overlaynet.vxlan.vxlan_link:
    name: vxlan11
    vni: 11
    remote: 198.51.100.12
    local: 198.51.100.11
    dev: eth0
    up: true

- name: What flanneld's vxlan backend programs
  overlaynet.vxlan.vxlan_link:
    name: flannel.1
    vni: 1
    dstport: 8472
    local: 192.0.2.11
    dev: eth1
    learning: false
    ttl: auto
    udpcsum: true
    mac: "0e:4c:9e:21:7a:11"
    mtu: 1450
    up: true

- name: Seed 004 - created in this host's namespace, moved into namespace "overlay", enslaved to br0 there
  overlaynet.vxlan.vxlan_link:
    name: vxlan1
    vni: 42
    l2miss: true
    l3miss: true
    proxy: true
    learning: true
    create_netns: ""
    netns: overlay
    master: br0
    up: true

- name: Collect-metadata link for lightweight tunnels (routes with encap ip id VNI dst ADDR)
  overlaynet.vxlan.vxlan_link:
    name: vx0
    external: true
    up: true

- name: Change the VNI, which needs a new link
  overlaynet.vxlan.vxlan_link:
    name: vxlan0
    vni: 43
    dev: eth1
    group: 239.1.1.1
    recreate: always

- name: Remove the link
  overlaynet.vxlan.vxlan_link:
    name: vxlan0
    state: absent
"""

RETURN = r"""
link:
  description:
    - The link as read back from the kernel after the change (before it, in check mode); empty when absent.
    - Keys are the module's option names, plus the ones below. O(dev) is resolved in the namespace the
      link was created in when that is known, else given as C(if<ifindex>).
  returned: always
  type: dict
  sample:
    name: vxlan0
    kind: vxlan
    ifindex: 7
    mac: "8e:2a:4b:00:11:22"
    mtu: 1450
    up: true
    operstate: UNKNOWN
    master: br0
    netns: lab-h1
    create_netns: null
    link_netnsid: null
    vni: 42
    dstport: 4789
    group: 239.1.1.1
    remote: null
    local: null
    dev: eth1
    learning: true
    proxy: false
    rsc: false
    l2miss: false
    l3miss: false
    ttl: auto
    tos: 0
    ageing: 300
    srcport_min: 0
    srcport_max: 0
    udpcsum: true
    udp6zerocsumtx: false
    udp6zerocsumrx: false
    gbp: false
    external: false
    df: 0
    label: 0
    limit: 0
    remcsumtx: 0
    remcsumrx: 0
  contains:
    ifindex:
      description: Interface index in O(netns).
      type: int
    kind:
      description: Link kind (always C(vxlan) for a link this module manages).
      type: str
    operstate:
      description: Operational state as the kernel reports it (C(UNKNOWN) for an up VXLAN link).
      type: str
    netns:
      description: The namespace the link lives in (O(netns)).
      type: str
    create_netns:
      description:
        - Where the link was created, when not where it lives; null when it was created in O(netns),
          C(nsid N) when in a namespace other than O(create_netns).
      type: str
    link_netnsid:
      description: The kernel's id (in O(netns)) of the namespace the link was created in, or null.
      type: int
    df:
      description: Don't-fragment setting of outer IPv4 packets (0 unset, 1 set, 2 inherit).
      type: int
    label:
      description: IPv6 flow label of outer packets.
      type: int
    limit:
      description: Maximum number of FDB entries (C(maxaddress)), 0 for no limit.
      type: int
actions:
  description: What was done (or would be done in check mode), one readable line per step.
  returned: always
  type: list
  elements: str
  sample:
    - "create vxlan link vxlan0 in netns 'lab-h1': id 42 group 239.1.1.1 dev eth1 dstport 4789"
    - "set vxlan0 in netns 'lab-h1' master br0"
    - "set vxlan0 in netns 'lab-h1' up"
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import netlink, vxlan


def main():
    netlink.module_main(vxlan.ARGUMENT_SPEC, lambda module: vxlan.run(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
