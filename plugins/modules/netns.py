#!/usr/bin/python
# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Create or delete named network namespaces
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Creates or deletes named network namespaces, kept as C(/run/netns/<name>) the way
    C(ip netns add) and C(ip netns delete) keep them, so C(ip netns exec) and the other modules'
    O(ignore:netns) option find them.
  - A new namespace has only a C(lo) link, and it is down; bring it up with
    M(overlaynet.vxlan.link) (O(overlaynet.vxlan.link#module:name=lo), O(overlaynet.vxlan.link#module:up=true)).
  - A file under C(/run/netns) that is not a namespace mount (left behind by a crash) is replaced
    by a new namespace when O(state=present) and removed when O(state=absent).
  - Deleting a namespace removes its name. The kernel destroys the namespace, with its links
    (and the veth peers of those links), when no process uses it any more.
options:
  name:
    description:
      - Name of the namespace, or a list of names.
      - Names are files under C(/run/netns); they may not contain C(/).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) creates the namespaces that do not exist; V(absent) deletes those that do.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - overlaynet.vxlan.netns.attributes
attributes:
  idempotent:
    description: Running the module again with the same arguments changes nothing.
    support: full
requirements:
  - pyroute2 >= 0.7.2 on the managed host (Debian/Ubuntu package C(python3-pyroute2))
  - Linux, and root (mounting under C(/run/netns) needs CAP_SYS_ADMIN)
seealso:
  - module: overlaynet.vxlan.link
  - plugin: overlaynet.vxlan.netns
    plugin_type: connection
"""

EXAMPLES = r"""
- name: Create the "container" namespaces of seed 001 and 002
  overlaynet.vxlan.netns:
    name:
      - ns1
      - ns2

- name: Bring up their loopback
  overlaynet.vxlan.link:
    name: lo
    up: true
    netns: "{{ item }}"
  loop: [ns1, ns2]

- name: Delete one
  overlaynet.vxlan.netns:
    name: ns2
    state: absent
"""

RETURN = r"""
namespaces:
  description: Each namespace named in O(name), as found after the run (before it, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The namespace's name.
      type: str
      sample: ns1
    path:
      description: Its file.
      type: str
      sample: /run/netns/ns1
    state:
      description: V(present), V(absent), or V(stale) (a file that is no namespace).
      type: str
      sample: present
actions:
  description: What was done (or would be done in check mode), one line per namespace.
  returned: always
  type: list
  elements: str
  sample: ["create network namespace ns1"]
"""

from ansible_collections.overlaynet.vxlan.plugins.module_utils import namespaces
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    module_main,
)

ARGUMENT_SPEC = {
    "name": {"type": "list", "elements": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}


def run(module):
    return namespaces.run(namespaces.NetnsSpec.from_params(module.params), check_mode=module.check_mode)


def main():
    module_main(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
