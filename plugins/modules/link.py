#!/usr/bin/python
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: link
short_description: Manage bridges, veth pairs and the common attributes of any network link
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Creates, changes and deletes Linux bridges and veth pairs over netlink, and sets the common
    attributes (MTU, MAC, up/down, master, bridge port options) of any existing link, such as a
    vxlan device made by M(overlaynet.vxlan.vxlan_link) or C(lo).
  - Only the options you set are compared and changed; the others are left as they are.
  - A veth pair can have its peer in another namespace (O(peer.netns)). The peer is created
    there directly with its final name, so that name may also exist in this namespace (the
    reason seed 001 creates C(eth-tmp) and renames it to C(eth0) inside the namespace). A veth
    made by hand that way is recognised - its peer is renamed, or moved (and renamed in the same
    request) into O(peer.netns), when it differs.
  - The peer is identified the way the kernel links the two ends - the link's C(IFLA_LINK)
    (peer ifindex) and C(IFLA_LINK_NETNSID) (the peer namespace's id as seen from this one) -
    not by name, so a peer with the wrong name or in the wrong namespace is fixed rather than
    duplicated.
  - The module never deletes and recreates a link to change it. A link that exists with another
    kind, or a veth whose peer sits in a namespace without a name, is an error that names it.
options:
  name:
    description: Name of the link (at most 15 characters).
    type: str
    required: true
  kind:
    description:
      - Kind of link to create. Needed when the link does not exist yet.
      - Omit it to manage an existing link of any kind (common attributes only); the module
        fails if the link does not exist.
      - When set and the link exists with another kind, the module fails.
    type: str
    choices: [bridge, veth]
  state:
    description:
      - V(present) creates or updates the link; V(absent) deletes it (for a veth, both ends).
    type: str
    choices: [present, absent]
    default: present
  mtu:
    description: MTU of the link.
    type: int
  mac:
    description: MAC address of the link (unicast, C(xx:xx:xx:xx:xx:xx)).
    type: str
  up:
    description: V(true) to bring the link up, V(false) to set it down. Omit to leave it.
    type: bool
  master:
    description:
      - Name of the bridge (or other master device) to enslave the link to, in the same
        namespace. It must exist.
      - An empty string releases the link from its master.
    type: str
  bridge:
    description:
      - Bridge options, for O(kind=bridge) (or an existing bridge). Times are in seconds
        (C(ip -d link) shows them in centiseconds).
      - This kernel option set is C(IFLA_BR_*). Some kernels are built without VLAN filtering;
        asking for O(bridge.vlan_filtering) there fails with the kernel's error.
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
        description: Multicast (IGMP/MLD) snooping on or off.
        type: bool
  port:
    description:
      - Bridge port options of this link (C(IFLA_BRPORT_*), shown by C(ip -d link) under
        C(info_slave_data)). The link must be, or be made by O(master), a port of a bridge.
      - Options are set after O(master); a link that changes bridge starts with the kernel's
        defaults (learning on, hairpin and neigh_suppress off).
    type: dict
    suboptions:
      hairpin:
        description: Hairpin mode (send frames back out of the port they came in on).
        type: bool
      learning:
        description: Learn source MACs on this port.
        type: bool
      neigh_suppress:
        description: Answer ARP/ND for the port from the bridge's neighbour table (EVPN-style).
        type: bool
  peer:
    description:
      - The other end of a veth pair. Required to create a veth.
    type: dict
    suboptions:
      name:
        description: Name of the peer, in its namespace.
        type: str
        required: true
      netns:
        description:
          - Namespace the peer lives in (a name under C(/run/netns)). Defaults to the link's
            namespace (O(netns)).
        type: str
      mtu:
        description: MTU of the peer.
        type: int
      mac:
        description: MAC address of the peer.
        type: str
      up:
        description: Bring the peer up (V(true)) or down (V(false)). Moving a link into another namespace sets it down.
        type: bool
extends_documentation_fragment:
  - overlaynet.vxlan.netns
  - overlaynet.vxlan.netns.attributes
attributes:
  idempotent:
    description: Running the module again with the same arguments changes nothing.
    support: full
seealso:
  - module: overlaynet.vxlan.netns
  - module: overlaynet.vxlan.address
  - module: overlaynet.vxlan.vxlan_link
"""

EXAMPLES = r"""
# Seed 001's "container" attachment on a host that has bridge br0
- name: Bridge carrying the gateway
  overlaynet.vxlan.link:
    name: br0
    kind: bridge
    up: true

- name: Container namespace
  overlaynet.vxlan.netns:
    name: ns1

- name: veth0 on br0, its peer eth0 inside ns1
  overlaynet.vxlan.link:
    name: veth0
    kind: veth
    master: br0
    up: true
    peer:
      name: eth0
      netns: ns1
      up: true

- name: Loopback up inside ns1
  overlaynet.vxlan.link:
    name: lo
    netns: ns1
    up: true

# flannel's cni0: MTU 1450, hairpin on for the pods' ports
- name: Bridge cni0
  overlaynet.vxlan.link:
    name: cni0
    kind: bridge
    mtu: 1450
    up: true
    bridge:
      stp: false
      ageing_time: 300

- name: Pod port with hairpin
  overlaynet.vxlan.link:
    name: veth1b
    master: cni0
    port:
      hairpin: true

- name: An existing vxlan device on the bridge, ARP answered locally
  overlaynet.vxlan.link:
    name: vxlan0
    master: br0
    port:
      learning: false
      neigh_suppress: true

- name: Remove a veth pair (both ends)
  overlaynet.vxlan.link:
    name: veth0
    state: absent
"""

RETURN = r"""
link:
  description:
    - The link as read back from the kernel after the run (before it, in check mode).
    - C(state) is V(absent) (and nothing else is returned) when the link does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: Link name.
      type: str
      sample: veth0
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    kind:
      description: Link kind (C(IFLA_INFO_KIND)); null for links without one.
      type: str
      sample: veth
    mtu:
      description: MTU.
      type: int
      sample: 1500
    mac:
      description: MAC address.
      type: str
      sample: "6e:4f:12:9a:00:01"
    up:
      description: Whether the link is administratively up.
      type: bool
      sample: true
    master:
      description: Name of its master device, or null.
      type: str
      sample: br0
    bridge:
      description: Bridge options (bridges only), times in seconds.
      type: dict
      returned: for bridges
      sample: {"ageing_time": 300, "forward_delay": 15, "mcast_snooping": true, "stp": false, "vlan_filtering": false}
    port:
      description: Bridge port options (bridge ports only).
      type: dict
      returned: for bridge ports
      sample: {"hairpin": false, "learning": true, "neigh_suppress": false}
    peer:
      description:
        - The veth peer (veth only); C(netns) is its namespace's name, null for the namespace
          the module runs in, C(?) for a namespace without a name.
      type: dict
      returned: for veth links
      sample: {"name": "eth0", "netns": "ns1", "mtu": 1500, "mac": "1a:2b:3c:4d:5e:6f", "up": true}
actions:
  description: What was done (or would be done in check mode), one line per netlink request.
  returned: always
  type: list
  elements: str
  sample: ["create veth link veth0 with peer eth0 in netns 'ns1'", "set veth0 master br0", "set veth0 up"]
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import links
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    module_main,
)


def run(module):
    spec = links.LinkSpec.from_params(module.params)
    with links.SessionPool() as pool:
        return links.run(pool, spec, check_mode=module.check_mode)


def main():
    module_main(links.ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
