#!/usr/bin/python
# -*- coding: utf-8 -*-  # noqa: UP009 - the Ansible module header convention
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ip_neigh
short_description: Manage the neighbour (ARP and NDP) entries of a device
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Adds, changes and removes the entries C(ip neigh) shows for one device, IPv4 and IPv6 alike, a
    whole list in one call (one netlink socket, one dump per table, all requests pipelined).
  - Static entries for an overlay's peers mean no ARP or neighbour solicitation has to cross the
    overlay (flannel's C(ip neigh replace <peer subnet> lladdr <VtepMAC> nud permanent)); proxy
    entries make the device answer for addresses behind it.
  - An entry is identified by its address (and whether it is a proxy entry). A new C(lladdr), state
    or router flag for an existing address is one C(replace) request, so a peer whose MAC changed
    never goes without an entry and no stale entry is left behind.
  - Everything is validated before any change (IP and MAC syntax, that the device exists and has a
    MAC address, duplicates with their positions). If the kernel refuses an entry, the changes this
    task made are undone and the task fails naming each refused entry and the reason.
  - Neither pyroute2 nor iproute2 is needed on the managed host for this module; it talks netlink
    itself.
options:
  device:
    description: The device whose neighbour entries are managed, as C(ip neigh show dev DEVICE) lists them.
    type: str
    required: true
  entries:
    description: The entries.
    type: list
    elements: dict
    default: []
    suboptions:
      address:
        description: The neighbour's IPv4 or IPv6 address.
        type: str
        required: true
      lladdr:
        description:
          - The neighbour's MAC address. Required with O(state=present), except for proxy entries which
            have none.
        type: str
      state:
        description:
          - C(permanent) (the default, never changes), C(noarp) (never checked, but removed on a
            link change), C(reachable) or C(stale) (the kernel confirms and ages them like learned
            ones).
          - An entry asked to be C(reachable) or C(stale) counts as in place in any of the states the
            kernel moves it through by itself (reachable, stale, delay, probe) as long as its C(lladdr)
            is right, so a rerun does not report a change just because time passed.
          - Not for proxy entries.
        type: str
        choices: [permanent, noarp, reachable, stale]
      proxy:
        description: A proxy entry (C(ip neigh add proxy ADDRESS dev DEVICE)); the device answers for it.
        type: bool
        default: false
      router:
        description: The neighbour is a router (the C(router) flag, used by IPv6 neighbour discovery).
        type: bool
  state:
    description:
      - V(present) adds or changes the listed entries; V(absent) removes them.
      - With V(absent) an entry matches on its address and on whatever else it gives, for example its
        O(entries[].lladdr).
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - Also remove the device's entries that are not listed (with O(state=present) only), proxy
        entries included.
      - Only C(permanent) and C(noarp) entries and proxy entries are removed. Never removed are
        entries the kernel learned (unless O(purge_dynamic=true)), C(extern_learn) and C(managed)
        entries, and the C(noarp) entries the kernel makes itself for multicast and broadcast addresses
        (and for every address on a device that does no ARP).
    type: bool
    default: false
  purge_dynamic:
    description:
      - With O(purge=true), also remove entries in the states the kernel moves through itself
        (reachable, stale, delay, probe, failed, incomplete).
    type: bool
    default: false
  read_back:
    description:
      - Return the device's neighbour table after the task as RV(neigh).
      - Set to V(false) for large tables. Returning 10,000 entries costs Ansible about a second (the result is
        sanitised, serialised and parsed again on the controller), several times what applying them costs;
        M(overlaynet.vxlan.overlay_facts) reads the table when it is needed.
    type: bool
    default: true
extends_documentation_fragment:
  - overlaynet.vxlan.netns
  - overlaynet.vxlan.netns.attributes
attributes:
  idempotent:
    description: A second run with the same arguments reports no change.
    support: full
notes:
  - C(ip neigh show) hides C(noarp) entries unless asked (C(ip neigh show nud noarp)); the module
    returns them.
seealso:
  - module: overlaynet.vxlan.bridge_fdb
  - module: overlaynet.vxlan.overlay_facts
"""

EXAMPLES = r"""
- name: A static neighbour behind a vxlan device, inside a namespace (seed 004)
  overlaynet.vxlan.ip_neigh:
    netns: overlay
    device: vxlan1
    entries:
      - address: 10.0.0.3
        lladdr: "02:42:0a:00:00:03"
        state: permanent

- name: Flannel's per-node neighbour entries; a node's new VtepMAC replaces the old one in place
  overlaynet.vxlan.ip_neigh:
    device: flannel.1
    entries:
      - address: 10.244.2.0
        lladdr: "0e:5f:3a:10:22:02"
      - address: 10.244.3.0
        lladdr: "0e:5f:3a:10:22:03"
    purge: true

- name: Answer ARP for an address behind the bridge
  overlaynet.vxlan.ip_neigh:
    device: br0
    entries:
      - address: 10.233.0.3
        proxy: true

- name: Remove a peer's entry
  overlaynet.vxlan.ip_neigh:
    device: br0
    entries:
      - address: 10.233.0.3
    state: absent
"""

RETURN = r"""
neigh:
  description:
    - The device's neighbour entries as the kernel lists them after the task (in check mode, as they
      are now), learned, proxy and kernel-made ones included.
  returned: success, unless O(read_back=false)
  type: list
  elements: dict
  sample:
    - address: 10.0.0.3
      family: ipv4
      lladdr: "02:42:0a:00:00:03"
      state: permanent
      proxy: false
      router: false
  contains:
    address:
      description: The neighbour's address.
      type: str
    family:
      description: C(ipv4) or C(ipv6).
      type: str
    lladdr:
      description: The MAC address; null when the kernel has none yet (or for proxy entries).
      type: str
    state:
      description:
        - C(permanent), C(noarp), C(reachable), C(stale), C(delay), C(probe), C(failed), C(incomplete) or
          C(none); null for proxy entries.
      type: str
    proxy:
      description: Whether it is a proxy entry.
      type: bool
    router:
      description: Whether the router flag is set.
      type: bool
    flags:
      description: Other flags, such as C(extern_learn), C(managed). Left out when none.
      type: list
      elements: str
    kernel:
      description: True for entries the kernel made itself (never purged). Left out when false.
      type: bool
actions:
  description: What was done (or in check mode would be done), one line per request.
  returned: always
  type: list
  elements: str
  sample:
    - replace 10.244.2.0 lladdr 0e:5f:3a:10:22:09 permanent on flannel.1 (was 10.244.2.0 lladdr 0e:5f:3a:10:22:02 permanent)
summary:
  description: How many entries were (or would be) added, changed and removed.
  returned: always
  type: dict
  sample: {added: 0, changed: 1, removed: 0}
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import bulk, neigh
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import module_main

ARGUMENT_SPEC = bulk.ENTRY_TABLE_ARGUMENT_SPEC


def main():
    module_main(ARGUMENT_SPEC, lambda module: bulk.run_entry_table(module.params, neigh, module.check_mode, module._diff),
                needs_pyroute2=False)


if __name__ == "__main__":
    main()
