"""Real-kernel helpers for the integration tests: namespaces, state dumps, module runs.

Everything here acts only inside namespaces whose names the caller passes in; nothing touches
the root namespace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
COLLECTIONS = ROOT / ".venv" / "collections"


def sh(*args, netns=None, check=True, input=None):
    """Run a command (inside `netns` when given) and return its stdout."""
    cmd = list(args)
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, input=input, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def sh_json(*args, netns=None):
    out = sh(*args, netns=netns)
    return json.loads(out) if out.strip() else []


ISSUED_PREFIXES = set()


def unique_prefix():
    """A short prefix (5 characters) so two test runs never collide on names."""
    prefix = "t" + uuid.uuid4().hex[:4]
    ISSUED_PREFIXES.add(prefix)
    return prefix


def netns_exists(name):
    return os.path.exists("/run/netns/" + name)


def add_netns(name):
    """A fresh namespace with lo up and IPv6 duplicate address detection off: DAD finishing (and the
    local routes it then adds) would otherwise change the kernel state in the middle of a test."""
    sh("ip", "netns", "add", name)
    sh("ip", "link", "set", "lo", "up", netns=name)
    sh("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", netns=name)


def quiet(netns):
    """No IPv6 link-local addresses on links made from now on: they would appear while a test compares dumps."""
    sh("sysctl", "-qw", "net.ipv6.conf.default.addr_gen_mode=1", netns=netns)
    return netns


def delete_netns(name):
    if netns_exists(name):
        sh("ip", "netns", "delete", name, check=False)


def ping(netns, address):
    """(reached, ping output) for two echo requests from inside netns."""
    proc = subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "2", "-i", "0.2", "-W", "2", address],
                          capture_output=True, text=True, check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


def link(netns, name):
    """`ip -d -j link show NAME` inside netns, as one dict (None when absent)."""
    proc = subprocess.run(["ip", "-n", netns, "-d", "-j", "link", "show", "dev", name],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0]


def fdb(netns, dev=None):
    args = ["bridge", "-n", netns, "-j", "fdb", "show"]
    if dev:
        args += ["dev", dev]
    return sh_json(*args)


def neigh(netns, dev=None):
    args = ["ip", "-n", netns, "-j", "neigh", "show"]
    if dev:
        args += ["dev", dev]
    return sh_json(*args)


_VOLATILE_LINK_KEYS = {"stats64", "stats", "operstate", "linkmode", "qdisc"}


def _strip(entries, keys):
    return [{k: v for k, v in e.items() if k not in keys} for e in entries]


def _without_moving_parts(value):
    """Drop what moves by itself: bridge and port timers (gc_timer, hold_timer, ...) and the
    "tentative" mark of IPv6 addresses still in duplicate address detection."""
    if isinstance(value, dict):
        return {k: _without_moving_parts(v) for k, v in value.items() if not k.endswith("_timer") and k != "tentative"}
    if isinstance(value, list):
        return [_without_moving_parts(v) for v in value]
    return value


def dump(netns):
    """The namespace's whole netlink state (and firewall) as data, for "nothing changed" checks.

    Counters and timers are dropped; kernel-learned neighbour states (REACHABLE/STALE/...) are
    dropped too because they move by themselves.
    """
    return _without_moving_parts(_raw_dump(netns))


def settled_dump(netns):
    """dump() once the namespace stopped changing by itself (a bridge's carrier comes up a moment later)."""
    state = dump(netns)
    for _attempt in range(30):
        time.sleep(0.1)
        again = dump(netns)
        if again == state:
            return state
        state = again
    raise AssertionError("namespace %s keeps changing by itself" % netns)


def _raw_dump(netns):
    links = _strip(sh_json("ip", "-n", netns, "-d", "-j", "link", "show"), _VOLATILE_LINK_KEYS)
    neighs = [n for n in sh_json("ip", "-n", netns, "-j", "neigh", "show")
              if set(n.get("state", [])) & {"PERMANENT", "NOARP"}]
    return {
        "links": links,
        "addresses": _strip(sh_json("ip", "-n", netns, "-j", "addr", "show"), {"stats64", "operstate"}),
        "routes": sh_json("ip", "-n", netns, "-j", "route", "show", "table", "all"),
        "fdb": _strip([f for f in fdb(netns) if "permanent" in f.get("state", "") or "static" in f.get("state", "")
                       or f.get("mac") == "00:00:00:00:00:00"], {"updated", "used"}),
        "neigh": neighs,
        "iptables": [line for line in sh("iptables-save", netns=netns, check=False).splitlines()
                     if line and not line.startswith("#")],
    }


def run_module(name, params, check=False, diff=True, python=None):
    """Run one of the collection's modules directly (Ansible's debug entry point) and return its result.

    The module code path is the one AnsiballZ runs; only the transport differs.
    """
    args = dict(params, _ansible_check_mode=check, _ansible_diff=diff)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
        path = fh.name
    try:
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        proc = subprocess.run(
            [python or sys.executable, "-m", "ansible_collections.overlaynet.vxlan.plugins.modules." + name, path],
            capture_output=True, text=True, env=env, check=False)
    finally:
        os.unlink(path)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise AssertionError("module %s printed no result (rc %d): %s %s" % (name, proc.returncode, proc.stdout, proc.stderr)) from exc
    result.setdefault("failed", proc.returncode != 0 and result.get("failed", False))
    return result


def ansible_env(**extra):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PATH": str(VENV_BIN) + os.pathsep + env.get("PATH", ""),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_playbook(playbook, *args, env=None, check=True):
    """ansible-playbook from the venv with the project's ansible.cfg; returns the CompletedProcess."""
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(playbook), *args],
                          capture_output=True, text=True, cwd=ROOT, env=ansible_env(**(env or {})), check=False)
    if check and proc.returncode != 0:
        raise AssertionError("ansible-playbook %s failed (%d):\n%s\n%s" % (playbook, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    return proc


def recap_changed(stdout):
    """{'host': changed count} from ansible-playbook's PLAY RECAP."""
    counts = {}
    for line in stdout.splitlines():
        if "changed=" in line and " : " in line:
            host, rest = line.split(" : ", 1)
            counts[host.strip()] = int(rest.split("changed=")[1].split()[0])
    return counts


@contextmanager
def lab(prefix, hosts=3, **extra_env):
    """A lab of `hosts` namespace hosts named after `prefix`, built by playbooks/lab.yml and deleted
    (by the playbook, then by exact name) on the way out. Yields the env that selects it."""
    env = {"OVERLAYNET_LAB_PREFIX": prefix, "OVERLAYNET_LAB_HOSTS": str(hosts), **extra_env}
    names = ["%s-h%d" % (prefix, i) for i in range(1, hosts + 1)] + [prefix + "-sw"]
    try:
        run_playbook("playbooks/lab.yml", env=env)
        yield env
    finally:
        run_playbook("playbooks/lab.yml", "-e", "lab_state=absent", env=env, check=False)
        for name in names:
            delete_netns(name)


def capture_vxlan(netns, interface, port, action, *, count=4, timeout=10):
    """Run `action()` while tcpdump in `netns` captures UDP to `port` on `interface`; return the
    (udp destination port, VNI) of each captured packet, read from the VXLAN header itself.

    Only VXLAN packets that carry an IPv4 ICMP packet (the pings of `action`) are captured: the lab's
    other overlays flood neighbour discovery and IGMP/MLD now and then, which would fill `count` and
    name another VNI. After the UDP header (8 bytes) and the VXLAN header (8), the inner Ethernet
    frame's type is at udp[28:2] and its IPv4 protocol at udp[39]."""
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "capture.pcap")
        proc = subprocess.Popen(["ip", "netns", "exec", netns, "tcpdump", "-i", interface, "-nn", "-U", "-c", str(count),
                                 "-w", pcap, "udp dst port %d and udp[28:2] = 0x0800 and udp[39] = 1" % port],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 5
            while "listening on" not in (proc.stderr.readline() or "") and time.monotonic() < deadline:
                pass
            action()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
        with open(pcap, "rb") as fh:
            data = fh.read()
    return _vxlan_headers(data)


def _vxlan_headers(pcap):
    """(udp dport, VNI) of each Ethernet/IPv4/UDP/VXLAN packet in a classic pcap file."""
    found = []
    offset = 24  # global header
    while offset + 16 <= len(pcap):
        length = int.from_bytes(pcap[offset + 8:offset + 12], "little")
        frame = pcap[offset + 16:offset + 16 + length]
        offset += 16 + length
        if len(frame) < 14 + 20 + 8 + 8 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 0x0F) * 4
        udp = 14 + ihl
        dport = int.from_bytes(frame[udp + 2:udp + 4], "big")
        vxlan = frame[udp + 8:udp + 16]
        if vxlan[0] & 0x08:
            found.append((dport, int.from_bytes(vxlan[4:7], "big")))
    return found
