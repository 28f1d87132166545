#!/usr/bin/env bash
# Prepare a fresh Debian machine (as root) for the lab and the tests: system tools from apt,
# a venv with the pinned Python packages, and the collection linked into a collections path.
# Safe to rerun: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/.venv
# shellcheck source=scripts/lib/apt.sh
source "$root/scripts/lib/apt.sh"

# vagrant: `molecule syntax` of the Vagrant scenarios needs the executable (no VM is started here).
apt_packages=(iproute2 iputils-ping tcpdump iptables iperf3 python3 python3-venv python3-pyroute2 git shellcheck vagrant)
mapfile -t missing < <(missing_debs "${apt_packages[@]}")
if ((${#missing[@]})); then
  echo "setup: apt-get install ${missing[*]}"
  apt_install "${missing[@]}"
fi

# ansible-core 2.20+ needs Python >= 3.12 on the controller; Debian 12's python3 is 3.11.
find_python() {
  local c
  for c in python3.13 python3.12 /root/.pyenv/versions/3.13*/bin/python3 /root/.pyenv/versions/3.12*/bin/python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  echo "setup: no Python >= 3.12 found (ansible-core 2.20+ needs it on the controller)" >&2
  return 1
}

stamp=$venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  py=$(find_python)
  echo "setup: creating $venv with $py"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  log=$(mktemp)
  if ! "$venv/bin/pip" install -q --disable-pip-version-check -r requirements.txt >"$log" 2>&1; then
    grep -v 'is ignored: it is neither' "$log" >&2; rm -f "$log"; exit 1
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
fi

# ansible.cfg points collections_path here, so overlaynet.vxlan.* resolves from the checkout.
link=$venv/collections/ansible_collections/overlaynet/vxlan
mkdir -p "$(dirname "$link")"
[[ -L $link && $(readlink "$link") == "$root" ]] || ln -sfn "$root" "$link"

# ansible-test bootstraps pip in its venvs with a downloaded get-pip script, which this network
# cannot reach; a stand-in at its cache path does the same job with ensurepip.
getpip_dir=$HOME/.ansible/test/cache
mkdir -p "$getpip_dir"
at_src=$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" "$at_src"/_internal/python_requirements.py | while read -r v; do
  cat > "$getpip_dir/get_pip_${v//./_}.py" <<'PY'
import ensurepip
import subprocess
import sys

ensurepip.bootstrap()
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
PY
done
echo "setup: ready ($("$venv/bin/ansible" --version | head -n1), pyroute2 $("$venv/bin/python" -c 'import pyroute2; print(pyroute2.__version__)'))"
