#!/usr/bin/env bash
# Every test of the project, after the set-up a fresh machine needs: linters, ansible-test sanity,
# the collection build, and pytest (unit tests and real-kernel integration tests in namespaces).
# All steps run; the script fails if any failed. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
bash scripts/setup.sh || exit 1
export PATH=$root/.venv/bin:$PATH ANSIBLE_CONFIG=$root/ansible.cfg

failed=()
step() {
  local name=$1; shift
  echo "=== $name: $*"
  local started=$SECONDS
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - started)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
}

build_check() {
  local out
  out=$(mktemp -d)
  ansible-galaxy collection build --output-path "$out" . >/dev/null &&
    ANSIBLE_COLLECTIONS_PATH=$out/installed \
      ansible-galaxy collection install --offline -p "$out/installed" "$out"/overlaynet-vxlan-*.tar.gz >/dev/null &&
    test -f "$out/installed/ansible_collections/overlaynet/vxlan/plugins/connection/netns.py"
  local rc=$?
  rm -rf "$out"
  return $rc
}

step ruff ruff check .
step ansible-lint ansible-lint
step changelog antsibull-changelog lint
step sanity bash scripts/sanity.sh
step galaxy-build build_check
step pytest python -m pytest "$@"
# The benchmark's quick mode (N = 4, 1,000 entries), so it cannot rot; it prints ratios, it asserts no timing.
step bench bash bench/run --quick

if ((${#failed[@]})); then
  echo "=== steps that failed: ${failed[*]}"
  exit 1
fi
echo "=== every step passed"
