"""Make the collection importable as ansible_collections.overlaynet.vxlan from the checkout."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".venv" / "collections"

if not (COLLECTIONS / "ansible_collections" / "overlaynet" / "vxlan").exists():
    raise RuntimeError("run scripts/setup.sh first: %s is missing" % COLLECTIONS)
sys.path.insert(0, str(COLLECTIONS))
