"""overlaynet.vxlan.netns on the real kernel: namespaces are made and removed under /run/netns."""

from __future__ import annotations

import os
import subprocess

import pytest
from kernel import delete_netns, netns_exists, run_module, sh


@pytest.fixture
def names(prefix):
    """Names the module under test creates; deleted by exact name afterwards, also on failure."""
    made = [prefix + "m1", prefix + "m2"]
    yield made
    for name in made:
        delete_netns(name)
        if os.path.lexists("/run/netns/" + name):  # a stale file a test made
            os.unlink("/run/netns/" + name)


def _is_namespace(name):
    proc = subprocess.run(["ip", "-n", name, "-j", "link", "show"], capture_output=True, text=True, check=False)
    return proc.returncode == 0 and '"lo"' in proc.stdout


def test_create_check_real_idempotent(names):
    params = {"name": names}
    check = run_module("netns", params, check=True)
    assert check["changed"] is True
    assert check["actions"] == ["create network namespace %s" % n for n in names]
    assert not any(os.path.lexists("/run/netns/" + n) for n in names), "check mode created something"

    real = run_module("netns", params)
    assert real["changed"] is True
    assert real["diff"] == check["diff"]
    assert all(_is_namespace(n) for n in names)
    assert set(names) <= set(sh("ip", "netns", "list").split())
    assert [ns["state"] for ns in real["namespaces"]] == ["present", "present"]

    assert run_module("netns", params)["changed"] is False
    assert run_module("netns", params, check=True)["changed"] is False


def test_delete_check_real_idempotent(names):
    run_module("netns", {"name": names})
    params = {"name": names[:1], "state": "absent"}
    check = run_module("netns", params, check=True)
    assert check["changed"] is True
    assert _is_namespace(names[0])

    real = run_module("netns", params)
    assert real["changed"] is True
    assert not netns_exists(names[0])
    assert _is_namespace(names[1]), "deleted more than it was asked"

    assert run_module("netns", params)["changed"] is False
    assert run_module("netns", params, check=True)["changed"] is False


def test_a_stale_file_is_replaced_by_a_namespace(names):
    os.makedirs("/run/netns", exist_ok=True)
    with open("/run/netns/" + names[0], "w"):
        pass
    result = run_module("netns", {"name": names[0]})
    assert result["changed"] is True
    assert result["actions"] == ["replace stale file /run/netns/%s with a new network namespace %s"
                                 % (names[0], names[0])]
    assert _is_namespace(names[0])


def test_a_bad_name_fails_before_anything_happens(names):
    result = run_module("netns", {"name": [names[0], "a/b"]})
    assert result["failed"] is True
    assert "name 'a/b' is not a legal network namespace name" in result["msg"]
    assert not os.path.lexists("/run/netns/" + names[0])
