# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lab
short_description: Describe a lab of network-namespace hosts joined by one underlay switch
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Generates the inventory of the collection's lab - a C(switch) network namespace holding a Linux
    bridge plus O(hosts) host namespaces, each with an C(eth1) veth into the switch and an underlay
    address from O(underlay_network) - so the lab playbook that builds it and every play that runs on
    it read the same description.
  - Hosts are named C(<prefix>-h<N>) after their namespaces and use the M(overlaynet.vxlan.netns)
    connection. Each gets C(lab_underlay_address), C(lab_underlay_prefix), C(lab_underlay_interface),
    C(lab_switch_port), C(overlay_vtep_address) (the underlay address, which the overlay roles use as
    the host's VTEP address) and a per-host C(lab_state_dir) (lab hosts share the controller's file system).
  - The hosts run the modules with the controller's Python (O(python_interpreter)), which has pyroute2, so
    the group also gets C(prerequisites_install=false) - the overlay roles then install no package on
    them (it would be the controller's own).
  - The file must be named C(*.lab.yml) or C(*.lab.yaml), or be C(lab.yml)/C(lab.yaml), or be a link to such a file.
options:
  plugin:
    description: Marks the file as this plugin's configuration.
    type: str
    required: true
    choices: [overlaynet.vxlan.lab]
  hosts:
    description: How many host namespaces the lab has.
    type: int
    default: 3
    env:
      - name: OVERLAYNET_LAB_HOSTS
  prefix:
    description:
      - Short prefix of every namespace and link the lab makes, so two labs can coexist.
      - At most 8 characters of letters, digits and C(-) (interface names have at most 15).
    type: str
    default: ovl
    env:
      - name: OVERLAYNET_LAB_PREFIX
  underlay_network:
    description: IPv4 network of the underlay; host N gets the address C(network + 10 + N).
    type: str
    default: 192.0.2.0/24
    env:
      - name: OVERLAYNET_LAB_UNDERLAY
  underlay_interface:
    description: Name of each host's underlay interface (the seeds call it C(eth1)).
    type: str
    default: eth1
  state_root:
    description: Directory under which each host gets its own state directory C(<state_root>/<prefix>/<host>).
    type: str
    default: /run/overlaynet
  groups:
    description:
      - Extra inventory groups that every lab host joins, for example one group per overlay kind that
        C(site.yml) builds (C(multicast), C(unicast), C(head_end), C(flannel)).
    type: list
    elements: str
    default: []
    env:
      - name: OVERLAYNET_LAB_GROUPS
  python_interpreter:
    description:
      - Python the modules run with on the lab hosts (it needs pyroute2).
      - Defaults to the Python running Ansible.
    type: str
"""

EXAMPLES = r"""
# inventories/lab/lab.yml
plugin: overlaynet.vxlan.lab
hosts: 3
prefix: ovl
"""

import ipaddress
import os
import re
import sys

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,7}$")


def lab_hosts(count, prefix, network, interface, state_root):
    """The lab's hosts as (name, variables) pairs; pure, so the layout is tested without Ansible."""
    if not _PREFIX.match(prefix):
        raise ValueError("prefix %r must be 1-8 letters, digits or '-'" % prefix)
    net = ipaddress.ip_network(network, strict=True)
    if net.version != 4:
        raise ValueError("underlay_network %s must be IPv4" % network)
    if count < 1 or count + 10 >= net.num_addresses - 1:
        raise ValueError("hosts=%d does not fit in %s (host N takes address N+10)" % (count, network))
    if len("%s-p%d" % (prefix, count)) > 15:
        raise ValueError("prefix %r with %d hosts makes interface names longer than 15 characters" % (prefix, count))
    hosts = []
    for number in range(1, count + 1):
        name = "%s-h%d" % (prefix, number)
        hosts.append((name, {
            "ansible_netns": name,
            "lab_host_number": number,
            "lab_underlay_interface": interface,
            "lab_underlay_address": str(net.network_address + 10 + number),
            "overlay_vtep_address": str(net.network_address + 10 + number),
            "lab_underlay_prefix": net.prefixlen,
            "lab_switch_port": "%s-p%d" % (prefix, number),
            "lab_state_dir": "%s/%s/%s" % (state_root.rstrip("/"), prefix, name),
        }))
    return hosts


class InventoryModule(BaseInventoryPlugin):
    NAME = "overlaynet.vxlan.lab"

    def verify_file(self, path):
        # Also through a link with another name (Molecule links an inventory source in as "hosts").
        named = (path, os.path.realpath(path))
        return super().verify_file(path) and any(re.search(r"(^|[/.])lab\.ya?ml$", p) for p in named)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        prefix = self.get_option("prefix")
        try:
            hosts = lab_hosts(self.get_option("hosts"), prefix, self.get_option("underlay_network"),
                              self.get_option("underlay_interface"), self.get_option("state_root"))
        except ValueError as exc:
            raise AnsibleParserError("%s: %s" % (path, exc)) from exc

        group = self.inventory.add_group("lab")
        self.inventory.set_variable(group, "ansible_connection", "overlaynet.vxlan.netns")
        self.inventory.set_variable(group, "ansible_python_interpreter",
                                    self.get_option("python_interpreter") or sys.executable)
        self.inventory.set_variable(group, "prerequisites_install", False)
        self.inventory.set_variable(group, "lab_prefix", prefix)
        self.inventory.set_variable(group, "lab_switch_netns", "%s-sw" % prefix)
        self.inventory.set_variable(group, "lab_switch_bridge", "br0")
        self.inventory.set_variable(group, "lab_state_root", "%s/%s" % (self.get_option("state_root").rstrip("/"), prefix))
        extra_groups = [self.inventory.add_group(name) for name in self.get_option("groups")]
        for name, variables in hosts:
            self.inventory.add_host(name, group=group)
            for extra in extra_groups:
                self.inventory.add_host(name, group=extra)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
