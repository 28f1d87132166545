# shellcheck shell=bash
# Sourced by scripts/setup.sh and scripts/vm/install.sh.

# The Debian packages named that dpkg does not list as installed, one per line.
missing_debs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
}

# apt-get install, quietly and without recommends, after refreshing the package lists.
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}
