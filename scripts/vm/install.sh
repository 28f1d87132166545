#!/usr/bin/env bash
# What the VM run needs beyond scripts/setup.sh: Debian's libvirt + qemu (software emulation), vagrant-libvirt,
# mmdebstrap for the box, and the Ansible module Molecule's Vagrant driver calls (community.vagrant.vagrant).
# libvirt-daemon-system and libvirt-daemon-config-network are left out on purpose: their scripts would start
# libvirtd and define a network in the root network namespace. While apt runs, a policy-rc.d refuses every
# daemon start, so nothing starts outside the namespace scripts/vm/host.sh makes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib/apt.sh
source "$repo/scripts/lib/apt.sh"
packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients dnsmasq-base qemu-system-x86 qemu-utils
  vagrant vagrant-libvirt mmdebstrap e2fsprogs iptables iproute2 openssh-client)
mapfile -t missing < <(missing_debs "${packages[@]}")
if ((${#missing[@]})); then
  echo "vm install: apt-get install ${missing[*]}"
  policy=/usr/sbin/policy-rc.d
  if [[ -e $policy ]]; then
    # Docker-built machines ship one that already refuses every start; anything else is not ours to change.
    rc=0; "$policy" libvirtd start >/dev/null 2>&1 || rc=$?
    ((rc == 101)) || { echo "vm install: $policy exists and lets daemons start; not installing" >&2; exit 1; }
  else
    printf '#!/bin/sh\n# scripts/vm/install.sh: no daemon starts while it installs\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt_install "${missing[@]}"
fi

# Molecule's Vagrant driver (molecule-plugins) runs community.vagrant.vagrant, a collection that is neither in
# the `ansible` package nor reachable here from Galaxy. Its module was published on PyPI first, as
# molecule-vagrant's modules/vagrant.py (MIT); that file, unchanged, becomes the collection in the venv.
# A user with Galaxy installs the real one: ansible-galaxy collection install community.vagrant -p .venv/collections
shim=$repo/.venv/collections/ansible_collections/community/vagrant
if [[ ! -f $shim/plugins/modules/vagrant.py ]]; then
  echo "vm install: community.vagrant from molecule-vagrant 2.0.0 (PyPI) into $shim"
  tmp=$(mktemp -d)
  "$repo/.venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$tmp" molecule-vagrant==2.0.0 2>&1 |
    grep -v 'is ignored: it is neither' >&2 || true
  mkdir -p "$shim/plugins/modules" "$shim/meta"
  "$repo/.venv/bin/python" - "$tmp"/molecule_vagrant-2.0.0-py3-none-any.whl "$shim/plugins/modules/vagrant.py" <<'PY'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("molecule_vagrant/modules/vagrant.py"))
PY
  printf -- '---\nrequires_ansible: ">=2.15"\n' >"$shim/meta/runtime.yml"
  rm -rf "$tmp"
fi
# Molecule's dependency step installs community.vagrant from Galaxy unless it finds >= 1.0.1 (the driver's
# required_collections), so the stand-in says 1.0.1; its module is molecule-vagrant 2.0.0's, which takes every
# option the driver's create and destroy playbooks pass.
printf '{"collection_info": {"namespace": "community", "name": "vagrant", "version": "1.0.1"}}\n' >"$shim/MANIFEST.json"
