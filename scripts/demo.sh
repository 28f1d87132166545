#!/usr/bin/env bash
# The main job on the embedded lab: set up, build the network-namespace lab, run site.yml against
# it, and show that traffic crosses. The lab stays up afterwards for a look around; delete it with
#   .venv/bin/ansible-playbook playbooks/lab.yml -e lab_state=absent
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
ansible-playbook playbooks/lab.yml
ansible-playbook site.yml
first=$(ansible-inventory --list | python3 -c 'import json,sys; print(json.load(sys.stdin)["lab"]["hosts"][0])')
last=$(ansible-inventory --list | python3 -c 'import json,sys; print(json.load(sys.stdin)["lab"]["hosts"][-1])')
last_addr=$(ansible-inventory --host "$last" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lab_underlay_address"])')
echo "== underlay: ping from $first to $last ($last_addr)"
ip netns exec "$first" ping -c 3 -W 2 "$last_addr"
