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
import uuid
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


def unique_prefix():
    """A short prefix (5 characters) so two test runs never collide on names."""
    return "t" + uuid.uuid4().hex[:4]


def netns_exists(name):
    return os.path.exists("/run/netns/" + name)


def add_netns(name):
    sh("ip", "netns", "add", name)
    sh("ip", "link", "set", "lo", "up", netns=name)


def delete_netns(name):
    if netns_exists(name):
        sh("ip", "netns", "delete", name, check=False)


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


def dump(netns):
    """The namespace's whole netlink state (and firewall) as data, for "nothing changed" checks.

    Counters and timers are dropped; kernel-learned neighbour states (REACHABLE/STALE/...) are
    dropped too because they move by themselves.
    """
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
