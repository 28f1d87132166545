#!/usr/bin/env bash
# The main job on the embedded lab: set up, build the network-namespace lab, run site.yml against
# it, and show that traffic crosses. The lab stays up afterwards for a look around; delete the overlays
# (their endpoint namespaces) and then the lab with
#   .venv/bin/ansible-playbook site.yml -e site_state=absent
#   .venv/bin/ansible-playbook playbooks/lab.yml -e lab_state=absent
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
ansible-playbook playbooks/lab.yml
ansible-playbook site.yml
# site.yml's verify role already pinged every endpoint from every other; show one ping per overlay.
hosts=$(ansible-inventory --list | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["lab"]["hosts"]))')
read -r -a hosts <<<"$hosts"
first=${hosts[0]}
last=${hosts[-1]}
last_number=${#hosts[@]}
echo "== multicast overlay: ${first}-m1 -> ${last}-m1"
ip netns exec "${first}-m1" ping -c 2 -W 2 "10.233.0.$((10 + last_number))"
echo "== head-end overlay: ${first}-e1 -> ${last}-e1"
ip netns exec "${first}-e1" ping -c 2 -W 2 "10.16.0.$((10 + last_number))"
last_gateway=$(ip -n "$last" -j addr show dev br11 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["addr_info"][0]["local"])')
echo "== routed unicast overlay: ${first}-u1 -> ${last}-u1"
ip netns exec "${first}-u1" ping -c 2 -W 2 "${last_gateway%.*}.2"
last_pod_gateway=$(ip -n "$last" -j addr show dev cni0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["addr_info"][0]["local"])')
echo "== flannel-compatible overlay: ${first}-f1 -> ${last}-f1"
ip netns exec "${first}-f1" ping -c 2 -W 2 "${last_pod_gateway%.*}.2"
