from __future__ import annotations

import types
from pathlib import Path

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils import netlink


@pytest.mark.parametrize(("reported", "installed", "expected"), [
    ("0.9.7", None, (0, 9, 7)),
    ("0.7.12.post3", None, (0, 7, 12)),
    ("unknown", "0.7.2", (0, 7, 2)),  # Debian 12's python3-pyroute2
    ("", "0.9.1", (0, 9, 1)),
])
def test_pyroute2_version_falls_back_to_package_metadata(monkeypatch, reported, installed, expected):
    monkeypatch.setattr(netlink, "_pyroute2", lambda: types.SimpleNamespace(__version__=reported))
    monkeypatch.setattr(netlink, "installed_version", lambda _name: installed)
    assert netlink.pyroute2_version() == expected


def test_pyroute2_version_without_any_metadata_assumes_the_minimum(monkeypatch):
    def missing(_name):
        raise netlink.importlib.metadata.PackageNotFoundError("pyroute2")
    monkeypatch.setattr(netlink, "_pyroute2", lambda: types.SimpleNamespace(__version__="unknown"))
    monkeypatch.setattr(netlink, "installed_version", missing)
    assert netlink.pyroute2_version() == netlink.MIN_PYROUTE2


@pytest.mark.parametrize(("name", "ok"), [
    ("vxlan0", True), ("a" * 15, True), ("a" * 16, False), ("", False), ("bad/name", False),
    ("bad name", False), ("a:b", False), (".", False), ("..", False),
])
def test_validate_ifname(name, ok):
    assert (netlink.validate_ifname(name) is None) is ok


def test_describe_error_names_object_errno_and_hint():
    exc = OSError(17, "File exists")
    exc.operation = "link add"
    text = netlink.describe_error(exc, "vxlan link 'vxlan0'")
    assert text == "link add failed on vxlan link 'vxlan0': it already exists [EEXIST]"


def test_no_module_runs_a_command():
    """Modules talk netlink only: nothing a user passes can end up in a shell or a command line."""
    root = Path(__file__).resolve().parents[2] / "plugins"
    sources = sorted((root / "modules").glob("*.py")) + sorted((root / "module_utils").glob("*.py"))
    offenders = [str(path.relative_to(root)) for path in sources
                 if any(word in path.read_text() for word in ("run_command", "subprocess", "os.system", "os.popen"))]
    assert sources and not offenders
