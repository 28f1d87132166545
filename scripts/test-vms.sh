#!/usr/bin/env bash
# The Vagrant Molecule scenarios on real VMs: libvirt + qemu in software emulation inside a network namespace
# of their own (scripts/vm/host.sh), three Debian 12 VMs per scenario from a locally built debian/bookworm64
# box (scripts/vm/box.sh). Does its own set-up, and leaves no VM, libvirt network or namespace behind.
#   bash scripts/test-vms.sh                     multicast and head_end
#   bash scripts/test-vms.sh unicast flannel     the scenarios named (multicast head_end unicast flannel)
#   bash scripts/test-vms.sh --check             fast checks only (no VM): shellcheck, the box recipe and its
#                                                Vagrantfile as Vagrant merges it, the scenarios' syntax
# Booting VMs waits while $OVERLAYNET_VM_GATE (default: none) names a file that does not exist, so a shared
# machine can hold VM runs back; a scenario already running is finished.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
export PATH=$root/.venv/bin:$PATH
unset ANSIBLE_CONFIG  # Molecule writes its own

check() {
  local rc=0 s
  shellcheck scripts/test-vms.sh scripts/vm/*.sh scripts/vm/box/*.sh || rc=1
  bash scripts/vm/box.sh --check || rc=1
  for s in multicast head_end unicast flannel; do
    molecule syntax -s "vagrant-$s" >/dev/null 2>&1 || { echo "test-vms: molecule syntax -s vagrant-$s failed" >&2; rc=1; }
  done
  ((rc == 0)) && echo "test-vms: fast checks passed"
  return $rc
}

root_state() {
  ip link show
  iptables-save | grep -v '^#'
}

wait_for_gate() {
  local gate=${OVERLAYNET_VM_GATE:-}
  [[ -z $gate || -e $gate ]] && return
  echo "test-vms: waiting for $gate before booting VMs"
  until [[ -e $gate ]]; do sleep 30; done
}

if [[ ${1:-} == --check ]]; then
  bash scripts/setup.sh >/dev/null && bash scripts/vm/install.sh || exit 1
  check
  exit
fi
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(multicast head_end)
for s in "${scenarios[@]}"; do
  [[ -f molecule/vagrant-$s/molecule.yml ]] || { echo "test-vms: no scenario vagrant-$s" >&2; exit 2; }
done

started=$SECONDS
bash scripts/setup.sh || exit 1
bash scripts/vm/install.sh || exit 1
bash scripts/vm/box.sh || exit 1
echo "test-vms: set-up and box ready ($((SECONDS - started)) s)"

before=$(mktemp)
root_state >"$before"
finish() {
  trap - INT TERM
  bash scripts/vm/host.sh stop
  if diff -u "$before" <(root_state); then
    echo "test-vms: the root namespace's links and iptables are as before"
  else
    echo "test-vms: THE ROOT NAMESPACE CHANGED (diff above)" >&2
    failed+=(root-namespace)
  fi
  rm -f "$before"
}
failed=()
trap 'finish; exit 130' INT TERM
bash scripts/vm/host.sh start || { finish; exit 1; }
for s in "${scenarios[@]}"; do
  wait_for_gate
  echo "=== vagrant-$s: molecule test"
  t=$SECONDS
  if bash scripts/vm/host.sh exec molecule test -s "vagrant-$s"; then
    echo "=== vagrant-$s: ok ($((SECONDS - t)) s)"
  else
    echo "=== vagrant-$s: FAILED ($((SECONDS - t)) s)"
    bash scripts/vm/host.sh exec molecule destroy -s "vagrant-$s" || true
    failed+=("vagrant-$s")
  fi
  # molecule destroy (the scenario's last step) must leave no VM, disk or network; host.sh stop would hide it.
  bash scripts/vm/host.sh leftovers || failed+=("vagrant-$s-leftovers")
done
finish
echo "test-vms: $((SECONDS - started)) s in all"
if ((${#failed[@]})); then
  echo "test-vms: failed: ${failed[*]}"
  exit 1
fi
echo "test-vms: every scenario passed"
