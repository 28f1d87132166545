#!/usr/bin/env bash
# mmdebstrap customize hook of scripts/vm/box.sh: turns the Debian 12 root file system in $1 into a Vagrant
# base box as Vagrant expects one (user vagrant with the well-known insecure key and passwordless sudo,
# DHCP on the first NIC, sshd) and, because the box boots on libvirt's management network inside the
# namespace of scripts/vm/host.sh, points apt at the proxy on that network's gateway.
set -euo pipefail
root=$1
insecure_key=$(find /usr/share/rubygems-integration -path "*/vagrant-*/keys/vagrant.pub" -print -quit)
[[ -r $insecure_key ]] || { echo "customize: Vagrant's insecure public key not found (is vagrant installed?)" >&2; exit 1; }

chroot "$root" useradd --create-home --shell /bin/bash --user-group vagrant
echo vagrant:vagrant | chroot "$root" chpasswd
install -d -m 0700 "$root/home/vagrant/.ssh"
install -m 0600 "$insecure_key" "$root/home/vagrant/.ssh/authorized_keys"
chroot "$root" chown -R vagrant:vagrant /home/vagrant/.ssh
printf 'vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n' >"$root/etc/sudoers.d/vagrant"
chmod 0440 "$root/etc/sudoers.d/vagrant"

echo bookworm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbookworm\n' >"$root/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
cat >"$root/etc/network/interfaces" <<'IF'
# The first NIC (libvirt's management network) by DHCP; Vagrant appends the private networks.
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
IF

# The same Debian archive a public box uses, reached through scripts/vm/apt-proxy.py on the gateway.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
cat >"$root/etc/apt/apt.conf.d/90overlaynet-vm" <<'APT'
// Locally built box (scripts/vm/box.sh): apt goes through the proxy on the management network's gateway,
// one request per connection; the archive these machines reach may be a dated snapshot.
Acquire::http::Proxy "http://198.51.100.1:3142";
Acquire::http::Pipeline-Depth "0";
Acquire::Check-Valid-Until "false";
APT
# No background apt run may hold the lock while a playbook installs packages.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1

# Each VM makes its own SSH host keys on first boot instead of sharing the image's.
rm -f "$root"/etc/ssh/ssh_host_*
cat >"$root/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable ssh-hostkeys.service >/dev/null 2>&1
: >"$root/etc/machine-id"

# A small initrd with just what a virtio disk needs: it is unpacked in software emulation at every boot.
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/overlaynet-vm"
printf '%s\n' virtio_pci virtio_blk ext4 >>"$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k all >/dev/null 2>&1
