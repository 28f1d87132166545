#!/usr/bin/env bash
# Build the Debian 12 Vagrant box for libvirt from Debian's packages and add it to Vagrant as
# debian/bookworm64 (provider libvirt), the name the public box has, so the Molecule scenarios stay as they are.
# The box is cached: it is rebuilt only when its recipe (this file and box/) changes.
#   box.sh           build if needed, then `vagrant box add` if the added box is not this recipe's
#   box.sh --check   validate the recipe without building (packages exist, hook and Vagrantfile parse)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=debian/bookworm64
cache=${OVERLAYNET_VM_CACHE:-/var/cache/overlaynet-vm}
packages=(linux-image-amd64 systemd-sysv udev dbus openssh-server python3 sudo ifupdown isc-dhcp-client iproute2 netbase)
mirrors=("deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main")
hash=$(cat "$here/box.sh" "$here"/box/* | sha256sum | cut -c1-16)
box=$cache/bookworm64-$hash.box
added=${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes/${name//\//-VAGRANTSLASH-}/0/libvirt

check() {
  local p missing=() project
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -q >/dev/null
  for p in "${packages[@]}"; do apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) || { echo "box: not in Debian's archive here: ${missing[*]}" >&2; return 1; }
  bash -n "$here/box/customize.sh"
  python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["provider"] == "libvirt" and m["format"] == "qcow2" and m["virtual_size"] > 0, m' "$here/box/metadata.json"
  # The box's Vagrantfile under a project's, as Vagrant merges them: vagrant-libvirt rejects unknown settings.
  project=$(mktemp -d)
  printf 'load %s\nVagrant.configure("2") { |c| c.vm.box = "%s" }\n' "'$here/box/Vagrantfile'" "$name" >"$project/Vagrantfile"
  (cd "$project" && VAGRANT_DEFAULT_PROVIDER=libvirt vagrant validate >/dev/null) || { rm -rf "$project"; return 1; }
  rm -rf "$project"
  echo "box: recipe $hash is valid"
}

build() {
  mkdir -p "$cache"
  local work
  work=$(mktemp -d "$cache/build.XXXXXX")
  # shellcheck disable=SC2064  # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  echo "box: building recipe $hash (mmdebstrap, Debian 12)"
  mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook="'$here/box/customize.sh' \"\$1\"" \
    bookworm "$work/root" "${mirrors[@]}"
  local kernels initrds
  kernels=("$work"/root/boot/vmlinuz-*) initrds=("$work"/root/boot/initrd.img-*)
  ((${#kernels[@]} == 1 && ${#initrds[@]} == 1)) || { echo "box: expected one kernel and one initrd" >&2; return 1; }
  install -m 0644 "${kernels[0]}" "$work/vmlinuz"
  install -m 0644 "${initrds[0]}" "$work/initrd.img"
  local size
  size=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["virtual_size"])' "$here/box/metadata.json")
  mkfs.ext4 -q -F -L root -d "$work/root" "$work/root.raw" "${size}G"
  qemu-img convert -f raw -O qcow2 "$work/root.raw" "$work/box.img"
  cp "$here/box/Vagrantfile" "$here/box/metadata.json" "$work/"
  echo "$hash" >"$work/overlaynet-recipe"
  tar -C "$work" -cf "$box.part" metadata.json Vagrantfile box.img vmlinuz initrd.img overlaynet-recipe
  mv "$box.part" "$box"
  rm -rf "$work"
  find "$cache" -maxdepth 1 -name 'bookworm64-*.box' ! -name "${box##*/}" -delete
  echo "box: $box ($(du -h "$box" | cut -f1))"
}

if [[ ${1:-} == --check ]]; then
  check
  exit
fi
if [[ -f $added/overlaynet-recipe && $(cat "$added/overlaynet-recipe") == "$hash" ]]; then
  echo "box: $name (libvirt) is recipe $hash already"
  exit 0
fi
if [[ -d $added && ! -f $added/overlaynet-recipe ]]; then
  echo "box: $name (libvirt) in $added was not built here; remove it first (vagrant box remove $name --provider libvirt)" >&2
  exit 1
fi
[[ -f $box ]] || build
vagrant box add --force --name "$name" --provider libvirt "$box"
