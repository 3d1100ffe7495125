"""Rewrite docs/feed-spec.md and the README's feed summary from the contracts.

Run: .venv/bin/python tools/write_feed_docs.py   (tests/test_feed_spec.py fails while they are stale)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bo_lib.data.feed_spec import write_feed_docs  # noqa: E402

if __name__ == "__main__":
    changed = write_feed_docs(ROOT)
    print("\n".join(str(p) for p in changed) or "feed docs up to date")
