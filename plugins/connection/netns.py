# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: netns
short_description: Run a host's tasks inside a named network namespace on the controller
version_added: 0.1.0
author: overlaynet.vxlan contributors (@overlaynet)
description:
  - Runs every command of a host inside a named network namespace on the controller, so that one
    machine can stand in for many hosts, each with its own interfaces, addresses, routes, neighbour
    tables and firewall. This is how the collection's lab, tests and Molecule scenarios run a
    multi-host overlay on one machine.
  - Like C(ip netns exec), each command gets its own mount namespace with C(/sys) showing the host's own
    interfaces; unlike it, mounts under C(/run/netns) still reach the controller, so a task on such a host
    can create further named namespaces (endpoints, "containers") that every other host sees.
  - Only the network namespace differs between such hosts. Files, processes, users and Python are the
    controller's, so anything a role writes to disk must go to a per-host directory.
  - Needs root on the controller, and C(nsenter) and C(unshare) (util-linux).
options:
  netns:
    description:
      - Name of the network namespace (a file under C(/run/netns)) the host's tasks run in.
      - Defaults to C(ansible_host), and then to the inventory host name.
    type: str
    vars:
      - name: ansible_netns
  become_success_timeout:
    description:
      - Number of seconds to wait for become to succeed when enabled (as for the local connection).
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description:
      - Strip internal become output preceding command execution (as for the local connection).
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
extends_documentation_fragment:
  - connection_pipelining
notes:
  - The namespace must exist before the first task runs; the collection's C(lab) role creates them.
  - File transfers are plain local copies, since all such hosts share the controller's file system.
"""

EXAMPLES = r"""
# inventory.yml: three "hosts" that are network namespaces on the controller
all:
  vars:
    ansible_connection: overlaynet.vxlan.netns
  hosts:
    host1: {ansible_netns: lab-h1}
    host2: {ansible_netns: lab-h2}
    host3: {ansible_netns: lab-h3}
"""

import os
import shlex
import shutil

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection

NETNS_RUN_DIR = "/run/netns"


class Connection(LocalConnection):
    """The local connection, with each command run inside the host's network namespace."""

    transport = "overlaynet.vxlan.netns"
    has_pipelining = True

    def _namespace(self):
        return self.get_option("netns") or self._play_context.remote_addr

    def _connect(self):
        name = self._namespace()
        if not name or "/" in name or name in (".", ".."):
            raise AnsibleConnectionFailure("netns connection: %r is not a network namespace name" % (name,))
        if not os.path.exists(os.path.join(NETNS_RUN_DIR, name)):
            raise AnsibleConnectionFailure(
                "netns connection: network namespace %r does not exist (no %s/%s). Create it first, e.g. "
                "with the lab playbook (playbooks/lab.yml)." % (name, NETNS_RUN_DIR, name))
        self._nsenter = shutil.which("nsenter") or "nsenter"
        self._unshare = shutil.which("unshare") or "unshare"
        return super()._connect()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        if not self._connected:
            self._connect()
        shell = self._play_context.executable or "/bin/sh"
        # `ip netns exec` makes every mount a slave, so a namespace created by the task (a bind mount
        # under /run/netns) would never reach the controller. Here only /sys is made private and
        # remounted; /run/netns stays a shared mount.
        setup = ('mount --make-rprivate /sys && umount -l /sys && mount -t sysfs "$1" /sys && '
                 'shift && exec "$@"')
        wrapped = " ".join(shlex.quote(part) for part in (
            self._nsenter, "--net=" + os.path.join(NETNS_RUN_DIR, self._namespace()),
            self._unshare, "--mount", "--propagation", "unchanged",
            "/bin/sh", "-c", setup, "netns-sysfs", self._namespace(), shell, "-c", cmd))
        return super().exec_command(wrapped, in_data=in_data, sudoable=sudoable)
