"""Give new eval items their split (``python -m eval.split``): by a hash of ``cluster_id``, written into the file.

Items that already have a split keep it: the test split is frozen.
"""

from __future__ import annotations

import json
import sys

from eval import SETS_DIR
from eval.items import split_for


def main() -> None:
    """Fill in ``split`` for every item of ``eval/sets/*.jsonl`` that has none."""
    for path in sorted(SETS_DIR.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        added = 0
        for row in rows:
            if row.get("split") not in ("dev", "test"):
                row["split"] = split_for(row["cluster_id"])
                added += 1
        if added:
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{path.name}: {len(rows)} items, {added} given a split", file=sys.stderr)


if __name__ == "__main__":
    main()
