#!/usr/bin/python
# -*- coding: utf-8 -*-  # noqa: UP009 - the Ansible module header convention
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: overlay_facts
short_description: Read back vxlan links, bridges, their FDB and neighbour entries, addresses and routes as facts
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Returns the overlay state of a host (or of a network namespace) as the fact C(overlay) -
    every vxlan link with all its attributes, every bridge with its ports, and on each of them the
    FDB entries, neighbour entries, addresses and routes.
  - FDB and neighbour entries are read exactly as M(overlaynet.vxlan.bridge_fdb) and
    M(overlaynet.vxlan.ip_neigh) read them, in the same shape as their options, so facts can be fed
    back into those modules or compared with what a play asked for.
  - Changes nothing.
options:
  devices:
    description:
      - Only these devices (vxlan links or bridges). Names that do not exist are listed in
        C(overlay.missing) instead of failing the task, so a play can check that a device is gone.
      - Default is every vxlan link and bridge.
    type: list
    elements: str
    aliases: [device]
  gather:
    description:
      - What to read besides the links themselves. Leave out C(fdb) on devices with very many entries
        when they are not needed.
    type: list
    elements: str
    choices: [fdb, neigh, addresses, routes]
    default: [fdb, neigh, addresses, routes]
extends_documentation_fragment:
  - overlaynet.vxlan.netns
  - overlaynet.vxlan.netns.attributes
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    details: Changes nothing, so there is nothing to diff.
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
seealso:
  - module: overlaynet.vxlan.bridge_fdb
  - module: overlaynet.vxlan.ip_neigh
"""

EXAMPLES = r"""
- name: Read the overlay of a lab host's namespace
  overlaynet.vxlan.overlay_facts:
    netns: overlay

- name: Check that head-end replication reaches every peer exactly once
  ansible.builtin.assert:
    that:
      - (ansible_facts.overlay.vxlan.vxlan0.fdb | selectattr('mac', 'eq', '00:00:00:00:00:00')
         | map(attribute='dst') | sort) == (peers | sort)
  vars:
    peers: [198.51.100.12, 198.51.100.13]

- name: Only vxlan0, links and FDB
  overlaynet.vxlan.overlay_facts:
    devices: [vxlan0]
    gather: [fdb]

- name: The device must be gone
  overlaynet.vxlan.overlay_facts:
    devices: [vxlan9]
- name: Assert it
  ansible.builtin.assert:
    that: "'vxlan9' in ansible_facts.overlay.missing"
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    overlay:
      description: The overlay state.
      returned: always
      type: dict
      contains:
        netns:
          description: The namespace read, or null for the module's own.
          type: str
        vxlan:
          description:
            - vxlan links by name. Each has C(name), C(ifindex), C(kind), C(mtu), C(mac), C(up),
              C(operstate), C(master) (the bridge), C(link), C(link_netnsid), C(attributes) (every
              IFLA_VXLAN attribute the kernel reports, lower case without the prefix, for example C(id),
              C(port), C(learning), C(l2miss), C(ttl)); the summary C(vni), C(dstport), C(local),
              C(group), C(remote), C(dev), C(learning), C(external); and, as gathered, C(fdb) (as
              M(overlaynet.vxlan.bridge_fdb) returns them), C(neigh) (as M(overlaynet.vxlan.ip_neigh)
              returns them), C(addresses) and C(routes).
          type: dict
          sample:
            vxlan0:
              name: vxlan0
              vni: 42
              dstport: 4789
              learning: false
              fdb:
                - {mac: "00:00:00:00:00:00", dst: 198.51.100.12, self: true, master: false, state: permanent}
              addresses: [{address: 10.233.0.1, prefixlen: 16, cidr: 10.233.0.1/16, family: ipv4, scope: global}]
              routes:
                - {dst: 10.244.2.0/24, gateway: 10.244.2.0, dev: vxlan0, onlink: true, table: main}
        bridges:
          description:
            - Bridges by name, with the same link keys, C(vlan_filtering), C(stp), C(ports) (name,
              ifindex, kind, mac, up), and as gathered C(fdb) (the whole bridge table, each entry with
              the C(device) it is on), C(neigh), C(addresses), C(routes).
          type: dict
        missing:
          description: Names given in O(devices) that do not exist.
          type: list
          elements: str
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import facts, netlink
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError

ARGUMENT_SPEC = {
    "devices": {"type": "list", "elements": "str", "aliases": ["device"]},
    "gather": {"type": "list", "elements": "str", "choices": list(facts.GATHER), "default": list(facts.GATHER)},
    "netns": {"type": "str"},
}


def run(module):
    params = module.params
    for name in params["devices"] or ():
        problem = netlink.validate_ifname(name, "devices")
        if problem:
            raise OverlayError(problem)
    overlay = facts.gather(params["netns"], params["devices"], params["gather"])
    return {"changed": False, "ansible_facts": {"overlay": overlay}}


def main():
    netlink.module_main(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
