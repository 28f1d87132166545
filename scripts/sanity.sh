#!/usr/bin/env bash
# ansible-test sanity on the collection. ansible-test wants the collection at a path that ends in
# ansible_collections/<namespace>/<name>, so the tracked files (plus new, not ignored ones) are copied there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/overlaynet/vxlan
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [[ -e $f ]] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$dest"
cd "$dest"
git init -q && git add -A
export PATH=$root/.venv/bin:$PATH
py=$("$root/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --local --python "$py" --requirements --color no "$@"
