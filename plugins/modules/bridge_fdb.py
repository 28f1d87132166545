#!/usr/bin/python
# -*- coding: utf-8 -*-  # noqa: UP009 - the Ansible module header convention
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge_fdb
short_description: Manage the bridge forwarding database (FDB) entries of a vxlan device, bridge or bridge port
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Adds, changes and removes the entries C(bridge fdb) shows for one device, a whole list in one
    call (one netlink socket, one dump, all requests pipelined). Ten thousand entries take a
    fraction of a second.
  - On a vxlan device the entries of its own table (C(self)) say where to send frames for a MAC
    (C(dst), C(vni), C(port), C(via)). C(00:00:00:00:00:00) entries with several C(dst) are
    head-end replication (flooding to every peer), kept side by side as C(bridge fdb append) does.
  - On a bridge port (including a vxlan device enslaved to a bridge) the entries of the bridge's
    table (C(master)) pin a MAC to that port. On a bridge, C(self) entries are the bridge's own.
  - "Identity: the kernel keeps one destination per unicast MAC on a vxlan device, so listing a
    unicast MAC with a new C(dst) replaces the old destination in one request (no moment without an
    entry). Destinations of C(00:00:00:00:00:00) and multicast MACs are each an entry of their own.
    Bridge table entries are keyed by MAC and VLAN."
  - "A peer whose MAC changed (same C(dst), new MAC): list the new MAC with O(purge=true); the new
    entry is added first, then the old one deleted, in the same call. Without purge, remove the old
    MAC with O(state=absent)."
  - Everything is validated before any change (MAC and IP syntax, the address family of the vxlan
    device, that the device can hold such entries, duplicates with their positions). If the kernel
    refuses an entry, the changes this task made are undone and the task fails naming each
    refused entry and the reason.
  - Neither pyroute2 nor iproute2 is needed on the managed host for this module; it talks netlink
    itself.
options:
  device:
    description:
      - The device whose FDB entries are managed, as C(bridge fdb show dev DEVICE) lists them.
      - A vxlan device, a bridge, or a port of a bridge.
    type: str
    required: true
  entries:
    description:
      - The entries. Values equal to the vxlan device's own VNI and destination port may be given or
        left out; they mean the same.
    type: list
    elements: dict
    default: []
    suboptions:
      mac:
        description:
          - The MAC address, C(02:42:0a:00:00:03) (or with C(-)). C(00:00:00:00:00:00) is the default
            (flood) entry of a vxlan device; give it once per peer to replicate to every peer.
        type: str
        required: true
      dst:
        description:
          - The remote VTEP's IP address (vxlan C(self) entries only; required there with
            O(state=present)). Must be of the vxlan device's address family.
        type: str
      vni:
        description: The VNI to send with (vxlan C(self) entries only); default the device's own.
        type: int
      port:
        description: The remote UDP port (vxlan C(self) entries only); default the device's C(dstport).
        type: int
      via:
        description:
          - The underlay device to reach O(entries[].dst) through (vxlan C(self) entries only), a name
            or an interface index.
        type: str
      src_vni:
        description:
          - The source VNI the entry belongs to, for vxlan devices in C(external) (collect_metadata)
            mode only.
        type: int
      vlan:
        description:
          - The VLAN of a bridge table entry. Without it the kernel adds the entry for VLAN 0 and for
            every VLAN configured on the port, and removes it from all of them; the module treats those
            copies as one entry.
        type: int
      self:
        description:
          - The entry belongs to the device's own table (a vxlan device's remotes, a bridge's own
            entries), like C(bridge fdb ... self).
          - When neither O(entries[].self) nor O(entries[].master) is true, vxlan devices and bridges
            take C(self) and other bridge ports C(master). Both true adds the entry to both tables.
        type: bool
      master:
        description: The entry belongs to the bridge's table for this port, like C(bridge fdb ... master).
        type: bool
      state:
        description:
          - C(permanent) (C(bridge fdb ... permanent)) or C(static) (C(bridge fdb ... static)); both
            are never aged out. For a vxlan MAC with several destinations the kernel keeps one state for
            all of them, so they must agree.
        type: str
        choices: [permanent, static]
        default: permanent
  state:
    description:
      - V(present) adds or changes the listed entries; V(absent) removes them.
      - With V(absent) an entry matches on what it gives. A vxlan entry without O(entries[].dst) removes
        all destinations of the MAC, a bridge entry without O(entries[].vlan) all its VLAN copies.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - Also remove the device's entries that are not listed (with O(state=present) only), in its own
        table and, for a bridge port, in the bridge's table for the port.
      - Only C(permanent) and C(static) entries are removed. Never removed are entries learned from traffic
        (unless O(purge_dynamic=true)), C(extern_learn) entries, and the entries the kernel makes itself
        (the bridge's entries for its own and its ports' MAC addresses, the vxlan device's
        C(00:00:00:00:00:00) entry for the C(group)/C(remote) it was created with, and the
        multicast address lists shown as C(self) on bridges and ports).
    type: bool
    default: false
  purge_dynamic:
    description:
      - With O(purge=true), also remove entries the kernel learned from traffic (C(dynamic), C(stale)).
    type: bool
    default: false
  read_back:
    description:
      - Return the device's FDB table after the task as RV(fdb).
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
  - The kernel omits an entry's C(vni) and C(port) when they equal the vxlan device's own; the module
    compares in the same terms, so giving them explicitly does not cause a change on every run.
seealso:
  - module: overlaynet.vxlan.ip_neigh
  - module: overlaynet.vxlan.overlay_facts
"""

EXAMPLES = r"""
- name: Head-end replication to every peer (seed 001, second half), stale peers removed
  overlaynet.vxlan.bridge_fdb:
    device: vxlan0
    entries:
      - mac: "00:00:00:00:00:00"
        dst: 198.51.100.12
      - mac: "00:00:00:00:00:00"
        dst: 198.51.100.13
    purge: true

- name: A container's MAC behind a remote VTEP, inside a namespace (seed 004)
  overlaynet.vxlan.bridge_fdb:
    netns: overlay
    device: vxlan1
    entries:
      - mac: "02:42:0a:00:00:03"
        dst: 192.0.2.22
        vni: 42
        port: 4789

- name: One entry per flannel node (its VtepMAC behind its public IP); a node's old MAC goes when it changes
  overlaynet.vxlan.bridge_fdb:
    device: flannel.1
    entries:
      - mac: "0e:5f:3a:10:22:01"
        dst: 198.51.100.21
      - mac: "0e:5f:3a:10:22:02"
        dst: 198.51.100.22
    purge: true

- name: Pin a MAC to a bridge port (bridge table, never aged)
  overlaynet.vxlan.bridge_fdb:
    device: veth0
    entries:
      - mac: "02:42:0a:00:00:02"
        master: true
        state: static

- name: Stop replicating to a peer that left
  overlaynet.vxlan.bridge_fdb:
    device: vxlan0
    entries:
      - mac: "00:00:00:00:00:00"
        dst: 198.51.100.13
    state: absent
"""

RETURN = r"""
fdb:
  description:
    - The device's FDB entries as the kernel lists them after the task (in check mode, as they are now),
      learned and kernel-made ones included. Keys that do not apply are left out.
  returned: success, unless O(read_back=false)
  type: list
  elements: dict
  sample:
    - mac: "00:00:00:00:00:00"
      dst: 198.51.100.12
      self: true
      master: false
      state: permanent
  contains:
    mac:
      description: The MAC address.
      type: str
    dst:
      description: The remote VTEP (vxlan entries).
      type: str
    vni:
      description: The VNI, when it differs from the device's own.
      type: int
    port:
      description: The remote UDP port, when it differs from the device's own.
      type: int
    via:
      description: The underlay device's name.
      type: str
    src_vni:
      description: The source VNI (external vxlan devices).
      type: int
    vlan:
      description: The VLAN of a bridge table entry.
      type: int
    self:
      description: The entry is in the device's own table.
      type: bool
    master:
      description: The entry is in the bridge's table for this port.
      type: bool
    bridge:
      description: The bridge holding the entry (bridge table entries).
      type: str
    state:
      description: C(permanent), C(static), or for learned entries C(dynamic) or C(stale).
      type: str
    flags:
      description: Other flags, such as C(extern_learn), C(sticky), C(offload). Left out when none.
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
    - append 00:00:00:00:00:00 dst 198.51.100.13 self permanent on vxlan0
    - delete 00:00:00:00:00:00 dst 198.51.100.14 self permanent from vxlan0
summary:
  description: How many entries were (or would be) added, changed and removed.
  returned: always
  type: dict
  sample: {added: 1, changed: 0, removed: 1}
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import bulk, fdb
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import module_main

ARGUMENT_SPEC = bulk.ENTRY_TABLE_ARGUMENT_SPEC


def main():
    module_main(ARGUMENT_SPEC, lambda module: bulk.run_entry_table(module.params, fdb, module.check_mode, module._diff),
                needs_pyroute2=False)


if __name__ == "__main__":
    main()
