"""The netns planner and its spec: pure tables, no kernel."""

from __future__ import annotations

import pytest

from ansible_collections.overlaynet.vxlan.plugins.module_utils.namespaces import NetnsSpec, plan
from ansible_collections.overlaynet.vxlan.plugins.module_utils.netlink import OverlayError


@pytest.mark.parametrize(("names", "state", "current", "want"), [
    (["a", "b"], "present", {"a": "absent", "b": "present"}, [("create", "a")]),
    (["a"], "present", {"a": "present"}, []),
    (["a"], "present", {"a": "stale"}, [("recreate", "a")]),
    (["a", "b", "c"], "absent", {"a": "present", "b": "absent", "c": "stale"}, [("delete", "a"), ("delete", "c")]),
    (["a"], "absent", {"a": "absent"}, []),
])
def test_plan(names, state, current, want):
    ops = plan(NetnsSpec.from_params({"name": names, "state": state}), current)
    assert [(op.action, op.name) for op in ops] == want


def test_spec_accepts_one_name_and_drops_repeats():
    assert NetnsSpec.from_params({"name": "ns1"}).names == ["ns1"]
    assert NetnsSpec.from_params({"name": ["ns1", "ns2", "ns1"]}).names == ["ns1", "ns2"]


@pytest.mark.parametrize(("names", "message"), [
    ([], "name must list at least one namespace"),
    (["a/b"], "name 'a/b' is not a legal network namespace name"),
    (["ok", ".."], "name '..' is not a legal"),
])
def test_spec_errors(names, message):
    with pytest.raises(OverlayError, match=message):
        NetnsSpec.from_params({"name": names})
