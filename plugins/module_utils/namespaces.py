# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named network namespaces (``/run/netns/<name>``, as ``ip netns`` keeps them).

- ``NetnsSpec.from_params(params)`` validates;
- ``read(names)`` says for each name whether it is present, absent, or a stale file (a file
  under /run/netns that is no namespace mount, e.g. left by a crash);
- ``plan(spec, current)`` is pure; ``apply(ops)`` creates/removes with pyroute2.netns, which
  does what ``ip netns add/delete`` do (a bind mount of a fresh namespace, and its removal).
"""

from __future__ import annotations

import os

from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import (
    NETNS_RUN_DIR,
    OverlayError,
    netns_path,
    validate_netns_name,
)

try:
    from pyroute2 import netns as pyroute2_netns
except ImportError:  # reported by netlink.require_pyroute2()
    pyroute2_netns = None


class NetnsSpec:
    def __init__(self, names, state="present"):
        self.names = names
        self.state = state

    @classmethod
    def from_params(cls, params):
        names = params.get("name")
        if isinstance(names, str):
            names = [names]
        errors = []
        if not names:
            errors.append("name must list at least one namespace")
        seen = set()
        result = []
        for name in names or []:
            problem = validate_netns_name(name, "name")
            if problem:
                errors.append(problem)
            elif name not in seen:
                seen.add(name)
                result.append(name)
        if errors:
            raise OverlayError("; ".join(errors))
        return cls(result, params.get("state") or "present")


def status(name):
    """present (a namespace is mounted there), stale (a plain file) or absent."""
    path = netns_path(name)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "absent"
    # A namespace file is a bind mount from nsfs: its device differs from the directory's.
    return "present" if st.st_dev != os.stat(NETNS_RUN_DIR).st_dev else "stale"


def read(names):
    return {name: status(name) for name in names}


class NetnsOp:
    def __init__(self, action, name):
        self.action = action  # create|delete|recreate
        self.name = name

    def __repr__(self):
        return "NetnsOp(%r, %r)" % (self.action, self.name)

    def describe(self):
        if self.action == "recreate":
            return "replace stale file %s with a new network namespace %s" % (netns_path(self.name), self.name)
        return "%s network namespace %s" % (self.action, self.name)


def plan(spec, current):
    ops = []
    for name in spec.names:
        now = current.get(name, "absent")
        if spec.state == "present":
            if now == "absent":
                ops.append(NetnsOp("create", name))
            elif now == "stale":
                ops.append(NetnsOp("recreate", name))
        elif now != "absent":
            ops.append(NetnsOp("delete", name))
    return ops


def _remove(name):
    path = netns_path(name)
    try:
        pyroute2_netns.remove(path)
    except OSError as exc:
        raise OverlayError("cannot delete network namespace %r (%s): %s" % (name, path, exc.strerror or exc)) from exc


def apply(ops):
    for op in ops:
        if op.action in ("delete", "recreate"):
            _remove(op.name)
        if op.action in ("create", "recreate"):
            path = netns_path(op.name)
            try:
                pyroute2_netns.create(path)
            except OSError as exc:
                if os.path.exists(path) and status(op.name) == "stale":
                    os.unlink(path)  # do not leave a half-made name behind
                raise OverlayError("cannot create network namespace %r (%s): %s"
                                   % (op.name, path, exc.strerror or exc)) from exc


def view(names):
    return [{"name": name, "path": netns_path(name), "state": status(name)} for name in names]


def run(spec, check_mode=False):
    current = read(spec.names)
    ops = plan(spec, current)
    before = {name: current[name] for name in spec.names}
    after = dict(before)
    for op in ops:
        after[op.name] = "absent" if op.action == "delete" else "present"
    if ops and not check_mode:
        apply(ops)
    return {
        "changed": bool(ops),
        "actions": [op.describe() for op in ops],
        "diff": {"before": {"namespaces": before}, "after": {"namespaces": after}},
        "namespaces": view(spec.names),
    }
