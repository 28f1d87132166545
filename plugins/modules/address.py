#!/usr/bin/python
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: address
short_description: Manage the IPv4 and IPv6 addresses of a network device
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Adds and deletes IP addresses on one device over netlink, like C(ip address add/del), in one
    call for a whole list, and optionally removes the addresses of the device that are not listed.
  - An address is identified by its IP. When the prefix length, broadcast or scope you set
    differ from the device's, the address is deleted and added again (the kernel does not change
    them in place). Options you do not set are not compared.
  - Deleting a primary IPv4 address makes the kernel drop the secondary addresses of the same
    subnet (unless C(promote_secondaries) is set); listed addresses dropped that way are added
    again in the same run.
options:
  dev:
    description: Name of the device.
    type: str
    required: true
  addresses:
    description: The addresses.
    type: list
    elements: dict
    default: []
    suboptions:
      address:
        description:
          - IPv4 or IPv6 address with its prefix length, for example C(10.244.1.0/32) or
            C(fd00::1/64). Without a prefix length, C(/32) or C(/128) is meant.
        type: str
        required: true
      broadcast:
        description:
          - IPv4 broadcast address (C(ip address add ... broadcast ADDRESS)).
          - V(+) sets the host bits (C(brd +)), V(-) clears them (C(brd -)), an empty string
            or V(none) means no broadcast address at all (what C(ip address add) does when none
            is given).
          - Omit it to accept whatever the device has; a new address then gets none.
        type: str
      scope:
        description:
          - Scope of an IPv4 address - V(global), V(site), V(link), V(host), or a number.
            Omit it to accept whatever the device has; a new address is V(global).
          - IPv6 scopes follow from the address; setting one is an error.
        type: str
  state:
    description:
      - V(present) makes sure the listed addresses are on the device; V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also delete every address of the device that is not listed,
        both IPv4 and IPv6, except the IPv6 link-local (C(fe80::/10)) addresses the kernel
        configures by itself.
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
  - module: overlaynet.vxlan.link
  - module: overlaynet.vxlan.route
"""

EXAMPLES = r"""
# Seed 002, node 1: ip addr add 10.244.1.0/32 dev vxlan11
- name: The VTEP address, a /32 with no broadcast
  overlaynet.vxlan.address:
    dev: vxlan11
    addresses:
      - address: 10.244.1.0/32

# Seed 002, "new version": ... broadcast 10.244.1.255 dev vxlan11
- name: The same with the broadcast address the seed's later version sets
  overlaynet.vxlan.address:
    dev: vxlan11
    addresses:
      - address: 10.244.1.0/32
        broadcast: 10.244.1.255

- name: Gateway on the bridge, nothing else on it (flannel's rule for its device)
  overlaynet.vxlan.address:
    dev: br0
    addresses:
      - address: 10.244.1.1/24
        broadcast: "+"
      - address: fd00:244:1::1/64
    purge: true

- name: Container address inside its namespace
  overlaynet.vxlan.address:
    dev: eth0
    netns: ns1
    addresses:
      - address: 10.233.0.2/16

- name: Remove one address
  overlaynet.vxlan.address:
    dev: vxlan0
    addresses:
      - address: 10.16.0.1/16
    state: absent
"""

RETURN = r"""
addresses:
  description: The device's addresses as read back after the run (before it, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: Address and prefix length.
      type: str
      sample: 10.244.1.0/32
    family:
      description: V(ipv4) or V(ipv6).
      type: str
      sample: ipv4
    broadcast:
      description: IPv4 broadcast address, an empty string when there is none; null for IPv6.
      type: str
      sample: ""
    scope:
      description: Scope name (V(global), V(link), V(host), ...).
      type: str
      sample: global
actions:
  description: What was done (or would be done in check mode), one line per address.
  returned: always
  type: list
  elements: str
  sample: ["add 10.244.1.0/32 dev vxlan11"]
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import addresses
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    Session,
    module_main,
)


def run(module):
    spec = addresses.AddressSpec.from_params(module.params)
    with Session(spec.netns) as session:
        return addresses.run(session, spec, check_mode=module.check_mode)


def main():
    module_main(addresses.ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
