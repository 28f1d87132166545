# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The netns option every netlink module takes.
    DOCUMENTATION = r"""
options:
  netns:
    description:
      - Name of the network namespace (as in C(ip netns list), a file under C(/run/netns)) to
        work in. Omit it to work in the namespace the module runs in.
      - The namespace must exist; the module never creates it (use M(overlaynet.vxlan.netns)).
    type: str
requirements:
  - pyroute2 >= 0.7.2 on the managed host (Debian/Ubuntu package C(python3-pyroute2))
  - Linux, and root or CAP_NET_ADMIN
"""

    # Check mode, diff mode and platform, stated once for every module.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: linux
"""
