# Copyright: overlaynet.vxlan contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one netlink layer every module of the collection goes through.

It opens pyroute2 sessions (optionally inside a named network namespace), turns kernel
messages into plain normalised dicts, and turns NetlinkError into sentences that name the
object and the errno. It hides the differences between pyroute2 0.7 (Debian 12) and 0.9.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import os
import re
from contextlib import contextmanager
from importlib.metadata import version as installed_version

from ansible.module_utils.basic import AnsibleModule, missing_required_lib


class _NoNetlinkError(Exception):
    """Stands in for pyroute2's NetlinkError when pyroute2 is missing: nothing raises it."""

    code = 0


def _pyroute2():
    """pyroute2, imported on first use (None when missing).

    Importing it costs a quarter of a second per module run, and the bulk modules
    (bridge_fdb, ip_neigh) talk raw netlink without it.
    """
    try:
        return importlib.import_module("pyroute2")
    except ImportError:
        return None


def netlink_error_class():
    """pyroute2's NetlinkError, for `except netlink_error_class():` (evaluated only on an exception)."""
    try:
        return importlib.import_module("pyroute2.netlink.exceptions").NetlinkError
    except ImportError:
        return _NoNetlinkError


NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MIN_PYROUTE2 = (0, 7, 2)
IFNAMSIZ = 16  # including the trailing NUL: names have at most 15 characters
IFF_UP = 0x1

# What `ip link` forbids in a name: '/', white space, ':' and the names '.' and '..'.
_BAD_IFNAME = re.compile(r"[/\s:]")
# `ip netns` keeps namespaces as files under /run/netns.
_BAD_NETNS = re.compile(r"[/\x00]")


class OverlayError(Exception):
    """An error whose message is meant for the user as it stands."""


def require_pyroute2(module):
    """Fail the module with install instructions when pyroute2 is missing or too old."""
    if _pyroute2() is None:
        module.fail_json(
            msg=missing_required_lib(
                "pyroute2",
                reason="to talk netlink",
                url="https://pypi.org/project/pyroute2/ (Debian/Ubuntu: apt-get install python3-pyroute2)",
            )
        )
    version = pyroute2_version()
    if version < MIN_PYROUTE2:
        module.fail_json(
            msg="pyroute2 %s is too old: this collection needs %s or newer"
            % (".".join(map(str, version)), ".".join(map(str, MIN_PYROUTE2)))
        )


def module_main(argument_spec, run, needs_pyroute2=True):
    """The body every module of the collection shares: parse, run, turn errors into fail_json.

    `run(module)` returns the result dict; its "diff" is dropped unless diff mode is on.
    An OverlayError may carry `changed` (True when an undo could not restore the kernel).
    """
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if needs_pyroute2:
        require_pyroute2(module)
    try:
        result = run(module)
    except OverlayError as exc:
        module.fail_json(msg=str(exc), changed=getattr(exc, "changed", False))
    except OSError as exc:
        module.fail_json(msg="netlink socket error: %s" % exc)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


def pyroute2_version():
    """(major, minor, patch) of the imported pyroute2.

    Debian's python3-pyroute2 0.7.2 reports ``__version__ == "unknown"``; the installed
    package metadata still knows the real version.
    """
    text = getattr(_pyroute2(), "__version__", "") or ""
    if not re.match(r"\d", text):
        try:
            text = installed_version("pyroute2")
        except Exception:  # no metadata either: assume the oldest we support rather than refuse
            text = ".".join(map(str, MIN_PYROUTE2))
    numbers = re.findall(r"\d+", text)[:3]
    return tuple(int(n) for n in numbers + ["0"] * (3 - len(numbers)))


def validate_ifname(name, option="name"):
    """Return an error sentence for an interface name the kernel would refuse, else None."""
    if not isinstance(name, str) or not name:
        return "%s must be a non-empty interface name" % option
    if len(name.encode()) >= IFNAMSIZ:
        return "%s %r is %d characters long; Linux interface names have at most %d" % (
            option, name, len(name.encode()), IFNAMSIZ - 1)
    if name in (".", "..") or _BAD_IFNAME.search(name):
        return "%s %r is not a legal interface name (no '/', ':' or white space)" % (option, name)
    return None


def validate_netns_name(name, option="netns"):
    if not isinstance(name, str) or not name or name in (".", "..") or _BAD_NETNS.search(name):
        return "%s %r is not a legal network namespace name" % (option, name)
    return None


def netns_path(name):
    return os.path.join(NETNS_RUN_DIR, name)


def _setns(fd):
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@contextmanager
def entered_netns(name):
    """Run the body with this thread inside network namespace `name` (None: stay where we are).

    Sockets opened inside stay bound to that namespace after we switch back, which is how a
    session in one namespace and a session in another can live in one process.
    """
    if name is None:
        yield
        return
    problem = validate_netns_name(name)
    if problem:
        raise OverlayError(problem)
    try:
        target = os.open(netns_path(name), os.O_RDONLY)
    except FileNotFoundError:
        raise OverlayError(
            "network namespace %r does not exist (no %s); create it first, e.g. with "
            "overlaynet.vxlan.netns" % (name, netns_path(name))) from None
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        try:
            _setns(target)
        except OSError as exc:
            raise OverlayError("cannot enter network namespace %r: %s" % (name, exc.strerror)) from exc
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


ERRNO_HINTS = {
    errno.EEXIST: "it already exists",
    errno.ENODEV: "no such device",
    errno.ENOENT: "no such object",
    errno.EPERM: "operation not permitted (CAP_NET_ADMIN is needed: run as root or with become)",
    errno.EACCES: "permission denied",
    errno.EINVAL: "the kernel rejected the attributes as invalid",
    errno.EOPNOTSUPP: "the kernel does not support this change on a live link",
    errno.EBUSY: "the device or resource is busy",
    errno.EADDRINUSE: "the address or port is already in use",
    errno.EADDRNOTAVAIL: "the address is not available on this host",
    errno.ENETUNREACH: "the network is unreachable (no route to the gateway)",
    errno.ERANGE: "a value is out of range",
    errno.ENOBUFS: "the kernel ran out of buffer space",
    errno.EAFNOSUPPORT: "address family not supported",
}


def describe_error(exc, what):
    """One sentence for a failed netlink request on `what` ("vxlan link 'vxlan0'", ...)."""
    code = getattr(exc, "code", None)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
    name = errno.errorcode.get(code, "errno %s" % code)
    hint = ERRNO_HINTS.get(code) or (os.strerror(code) if isinstance(code, int) else str(exc))
    extra = ""
    if len(getattr(exc, "args", ())) > 1 and exc.args[1] and str(exc.args[1]) != os.strerror(code or 0):
        extra = " (kernel says: %s)" % exc.args[1]
    return "%s failed on %s: %s [%s]%s" % (getattr(exc, "operation", "netlink request"), what, hint, name, extra)


class Session:
    """One pyroute2 IPRoute socket, opened inside `netns` when given."""

    def __init__(self, netns=None):
        self.netns = netns
        with entered_netns(netns):
            self.ipr = _pyroute2().IPRoute()

    def close(self):
        self.ipr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def call(self, what, method, *args, **kwargs):
        """Run one IPRoute request; a NetlinkError becomes an OverlayError naming `what`."""
        try:
            return getattr(self.ipr, method)(*args, **kwargs)
        except netlink_error_class() as exc:
            exc.operation = "%s %s" % (method, args[0] if args and isinstance(args[0], str) else "")
            exc.operation = exc.operation.strip()
            raise OverlayError(describe_error(exc, what)) from exc

    # Readers: plain dicts, the same for pyroute2 0.7 and 0.9.

    def links(self):
        raw = list(self.call("links", "get_links"))
        names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in raw}
        return [link_to_dict(msg, names) for msg in raw]

    def link(self, name):
        """The link called `name` as a dict, or None."""
        for link in self.links():
            if link["name"] == name:
                return link
        return None

    def netns_id(self, name):
        """The nsid this session's namespace uses for namespace `name` (None: own namespace's
        fd is used; returns None when no nsid is assigned or the namespace is gone)."""
        try:
            fd = os.open("/proc/self/ns/net" if name is None else netns_path(name), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            reply = self.ipr.get_netnsid(fd=fd)
        except netlink_error_class():
            return None
        finally:
            os.close(fd)
        nsid = reply.get("nsid") if isinstance(reply, dict) else None
        # "no nsid" is -1, which some pyroute2 versions decode as an unsigned 32-bit value
        return None if nsid is None or nsid < 0 or nsid >= 2**31 else nsid


def link_to_dict(msg, names=None):
    """Normalise one RTM_NEWLINK message."""
    names = names or {}
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    data = info.get_attr("IFLA_INFO_DATA") if info is not None else None
    master = msg.get_attr("IFLA_MASTER")
    lower = msg.get_attr("IFLA_LINK")
    return {
        "ifindex": msg["index"],
        "name": msg.get_attr("IFLA_IFNAME"),
        "kind": kind,
        "mtu": msg.get_attr("IFLA_MTU"),
        "mac": msg.get_attr("IFLA_ADDRESS"),
        "up": bool(msg["flags"] & IFF_UP),
        "operstate": msg.get_attr("IFLA_OPERSTATE"),
        "master": names.get(master, master) if master else None,
        "link": names.get(lower, lower) if lower else None,
        "link_netnsid": msg.get_attr("IFLA_LINK_NETNSID"),
        "info_data": attrs_to_dict(data),
    }


def attrs_to_dict(nla):
    """{'IFLA_VXLAN_ID': 42, ...} from a nested attribute set; unknown attributes are dropped."""
    if nla is None or isinstance(nla, (str, bytes)):
        return {}
    result = {}
    for item in nla.get("attrs", []):
        key, value = item[0], item[1]
        if key == "UNKNOWN":
            continue
        result[key] = value
    return result
