#!/usr/bin/env bash
# The VM host: libvirtd and virtlogd started by hand inside a network namespace made for them, so libvirt's
# bridges, dnsmasq, iptables rules and the VMs' tap devices exist only there, never in the root namespace.
# apt-proxy.py listens in that namespace and connects out from the root one, so the VMs reach Debian's archive.
#   host.sh start        make the namespace, start virtlogd, libvirtd and the apt proxy
#   host.sh exec CMD...  run CMD inside the namespace (vagrant and molecule must run there)
#   host.sh leftovers    list the scenarios' VMs, networks and VM disks that still exist; fails if there are any
#   host.sh stop         remove the scenarios' VMs, networks and volumes (by their names), stop the daemons,
#                        delete the namespace
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
netns=${OVERLAYNET_VM_NETNS:-ovlvm}
run=/run/overlaynet-vm
uri=qemu:///system

virsh() { command virsh -q -c "$uri" "$@"; }

# What the scenarios make, by name: vagrant-libvirt names a domain <project dir>_<machine> (Molecule's project
# dir is molecule.<random>.vagrant-<scenario>), its disk <domain>.img, a private network <project dir>0, and
# the box's image in the pool debian-VAGRANTSLASH-bookworm64_vagrant_box_image_0_<time>_box.img; the
# management network is named in the box's Vagrantfile.
scenarios=$(for dir in "$repo"/molecule/vagrant-*/; do basename "$dir"; done | paste -sd'|')
project="(molecule\.[A-Za-z0-9_]+\.)?($scenarios)"
domains="^${project}_vm-h[0-9]+\$"
networks="^(${project}0|ovlvm-mgmt)\$"
volumes="^(${project}_vm-h[0-9]+\.img|debian-VAGRANTSLASH-bookworm64_vagrant_box_image_0_([0-9]+_)?box\.img)\$"

# Remove each object `list` names that matches `pattern`, with `remove` (a virsh command prefix).
remove_matching() {
  local list pattern=$2 what=$3 name
  read -ra list <<<"$1"
  shift 3
  for name in $(virsh "${list[@]}" | awk '{print $1}' | grep -E "$pattern"); do
    "$@" "$name" >/dev/null && echo "host: removed $what $name"
  done
}

start() {
  [[ ! -e /run/netns/$netns ]] || { echo "host: namespace $netns exists; run '$0 stop' first" >&2; exit 1; }
  local py=$repo/.venv/bin/python
  "$py" -c 'import os; os.setns' 2>/dev/null || { echo "host: $py needs Python >= 3.12 (os.setns)" >&2; exit 1; }
  # The qemu driver looks its built-in user and group up even when qemu.conf names others.
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd --system --gid libvirt-qemu --home-dir /var/lib/libvirt \
    --no-create-home --shell /usr/sbin/nologin libvirt-qemu
  mkdir -p "$run" /run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/images /var/lib/libvirt/qemu /var/cache/libvirt
  # libvirtd keeps its configuration and every definition (networks, pools, domains) in /etc/libvirt: the
  # daemons get a copy of it of their own, bound over it in their mount namespace only (ip netns exec gives
  # them one), so nothing they define outlives "stop". Root-only socket without polkit; qemu runs as root
  # so it can read the box's kernel under ~/.vagrant.d, and without a /dev namespace of its own.
  rm -rf "${run:?}/etc"
  cp -a /etc/libvirt "$run/etc"
  printf 'unix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n' >"$run/etc/libvirtd.conf"
  printf 'user = "root"\ngroup = "root"\nnamespaces = []\nremember_owner = 0\n' >"$run/etc/qemu.conf"
  ip netns add "$netns"
  ip -n "$netns" link set lo up
  # Bridged frames must not pass iptables (br_netfilter's default is on in every new namespace): libvirt's
  # NAT rules would masquerade the VMs' VXLAN multicast to 239.1.1.1 on its way across their private
  # network, and the peers would learn the bridge's address as every VTEP.
  ip netns exec "$netns" sysctl -eqw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
    net.bridge.bridge-nf-call-arptables=0
  # shellcheck disable=SC2016  # $1 is the inner shell's
  ip netns exec "$netns" sh -c 'mount --bind "$1/etc" /etc/libvirt &&
    virtlogd --daemon --pid-file "$1/virtlogd.pid" &&
    exec libvirtd --daemon --pid-file "$1/libvirtd.pid"' sh "$run"
  local i
  for i in $(seq 60); do
    virsh version >/dev/null 2>&1 && break
    ((i < 60)) || { echo "host: libvirtd did not answer on $uri" >&2; exit 1; }
    sleep 1
  done
  if ! virsh pool-info default >/dev/null 2>&1; then
    virsh pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
    virsh pool-start default >/dev/null
    touch "$run/pool-created"
  fi
  # A box rebuilt since the last run must not meet its predecessor's image in the pool.
  remove_matching "vol-list default" "$volumes" volume virsh vol-delete --pool default
  setsid "$py" "$here/apt-proxy.py" --netns "$netns" --port 3142 --allow deb.debian.org \
    >>"$run/apt-proxy.log" 2>&1 </dev/null &
  echo $! >"$run/apt-proxy.pid"
  echo "host: libvirtd (pid $(cat "$run/libvirtd.pid")) and the apt proxy run in namespace $netns"
}

stop_pid() {
  local file=$run/$1.pid pid i
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if kill "$pid" 2>/dev/null; then
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$file"
}

# What `molecule destroy` must have removed: the scenarios' VMs, their disks and the networks vagrant-libvirt made.
leftovers() {
  virsh version >/dev/null 2>&1 || { echo "host: libvirtd does not answer; run '$0 start' first" >&2; return 2; }
  local found
  found=$( {
    virsh list --all --name | grep -E "$domains" | sed 's/^/VM /'
    virsh net-list --all --name | grep -E "$networks" | sed 's/^/network /'
    if virsh pool-info default >/dev/null 2>&1; then
      virsh vol-list default | awk '{print $1}' | grep -E "^${project}_vm-h[0-9]+\\.img\$" | sed 's/^/disk /'
    fi
  } || true)
  [[ -z $found ]] && return
  echo "host: left behind: $(paste -sd, <<<"$found")" >&2
  return 1
}

stop() {
  if [[ -f $run/libvirtd.pid ]] && virsh version >/dev/null 2>&1; then
    local name
    for name in $(virsh list --name | grep -E "$domains"); do virsh destroy "$name" >/dev/null; done
    remove_matching "list --all --name" "$domains" VM virsh undefine
    for name in $(virsh net-list --name | grep -E "$networks"); do virsh net-destroy "$name" >/dev/null; done
    remove_matching "net-list --all --name" "$networks" network virsh net-undefine
    if virsh pool-info default >/dev/null 2>&1; then
      remove_matching "vol-list default" "$volumes" volume virsh vol-delete --pool default
      if [[ -f $run/pool-created ]]; then
        virsh pool-destroy default >/dev/null && virsh pool-undefine default >/dev/null && rm -f "$run/pool-created"
      fi
    fi
  fi
  stop_pid apt-proxy
  stop_pid libvirtd
  stop_pid virtlogd
  if [[ -e /run/netns/$netns ]]; then
    local left
    left=$(ip netns pids "$netns" | tr '\n' ' ')
    [[ -z $left ]] || { echo "host: processes still in $netns: $left" >&2; exit 1; }
    ip netns delete "$netns"
  fi
  rm -rf "${run:?}/etc"
  echo "host: stopped; namespace $netns deleted"
}

case ${1:-} in
  start) start ;;
  leftovers) leftovers ;;
  stop) stop ;;
  exec) shift; exec ip netns exec "$netns" "$@" ;;
  *) echo "usage: $0 start|leftovers|stop|exec CMD..." >&2; exit 2 ;;
esac
