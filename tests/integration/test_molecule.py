"""The Molecule network-namespace scenarios, run as a user runs them: the full sequence (dependency, destroy,
create, converge, idempotence, verify, destroy) must pass, must leave no namespace, and a verifier told
to expect the wrong VNI must fail (the verifiers can fail)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from kernel import ROOT, VENV_BIN, sh

pytestmark = pytest.mark.slow

SCENARIOS = {"multicast": "mmc", "head_end": "mhe", "unicast": "mun", "flannel": "mfl"}


def molecule(*args, **env):
    environ = dict(os.environ, PATH=str(VENV_BIN) + os.pathsep + os.environ.get("PATH", ""), **env)
    environ.pop("ANSIBLE_CONFIG", None)
    return subprocess.run([str(VENV_BIN / "molecule"), *args], capture_output=True, text=True, cwd=ROOT,
                          env=environ, check=False)


def lab_namespaces(prefix):
    return [line.split()[0] for line in sh("ip", "netns", "list").splitlines() if line.startswith(prefix + "-")]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_passes_its_full_sequence_and_leaves_nothing(scenario):
    result = molecule("test", "-s", scenario)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    for step in ("dependency", "create", "converge", "idempotence", "verify", "destroy"):
        assert "%s ➜ %s: Executed: Successful" % (scenario, step) in output, step
    assert lab_namespaces(SCENARIOS[scenario]) == []


def test_a_verifier_expecting_the_wrong_vni_fails():
    try:
        converge = molecule("converge", "-s", "multicast")
        assert converge.returncode == 0, converge.stdout[-3000:]
        wrong = molecule("verify", "-s", "multicast", EXPECTED_VNI="43")
        assert wrong.returncode != 0
        assert "failed" in wrong.stdout + wrong.stderr
    finally:
        molecule("destroy", "-s", "multicast")
    assert lab_namespaces("mmc") == []


def test_destroy_after_a_failed_converge_leaves_nothing():
    try:
        failed = molecule("converge", "-s", "flannel", "--", "-e", "flannel_port=70000")
        assert failed.returncode != 0
        assert "flannel_port must be a UDP port" in failed.stdout + failed.stderr
        assert lab_namespaces("mfl")  # create did build the lab
    finally:
        molecule("destroy", "-s", "flannel")
    assert lab_namespaces("mfl") == []


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_vagrant_scenario_is_valid_for_users(scenario):
    """The Vagrant scenarios cannot boot VMs here; Molecule still checks their config and the converge syntax."""
    result = molecule("syntax", "-s", "vagrant-" + scenario)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, output[-3000:]
    assert "vagrant-%s ➜ syntax: Executed: Successful" % scenario in output
