"""The eval gate: hard invariants, floors and per-item regression.

Floors and invariants live in ``eval/gate.toml``; the regression check compares with ``eval/baseline.json``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval import HERE
from eval.run import Scored
from kb.errors import InputError

GATE_FILE = HERE / "gate.toml"
BASELINE_FILE = HERE / "baseline.json"


def load_gate(path: Path = GATE_FILE) -> dict[str, Any]:
    """Read the gate configuration.

    Raises:
        InputError: when the file is missing or not valid TOML.

    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"Cannot read the gate config {path}: {exc}") from None


def load_baseline(path: Path) -> dict[str, Any] | None:
    """The committed baseline, or ``None`` when the file does not exist.

    Raises:
        InputError: when the file exists but is not a baseline.

    """
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data.get("items"), dict):
            raise ValueError("no 'items' object")
        return dict(data)
    except (ValueError, AttributeError) as exc:
        raise InputError(f"{path} is not an eval baseline: {exc}") from None


def baseline_from(results: Sequence[Scored], aggregates: dict[str, Any], set_path: str) -> dict[str, Any]:
    """A baseline document: per-item pass/fail and the aggregates of this run."""
    return {
        "set": set_path,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "aggregates": {k: v for k, v in aggregates.items() if k != "per_category"},
        "items": {s.item.id: {"category": s.item.category, "passed": s.passed} for s in results},
    }


def compare(results: Sequence[Scored], baseline: dict[str, Any], critical: Sequence[str]) -> dict[str, Any]:
    """Paired comparison with the baseline: regressed, improved and unchanged items."""
    before = baseline["items"]
    regressed, improved, unchanged, new = [], [], 0, []
    for s in results:
        old = before.get(s.item.id)
        if old is None:
            new.append(s.item.id)
        elif old["passed"] and not s.passed:
            regressed.append(s.item.id)
        elif not old["passed"] and s.passed:
            improved.append(s.item.id)
        else:
            unchanged += 1
    by_id = {s.item.id: s for s in results}
    return {
        "regressed": regressed,
        "improved": improved,
        "unchanged": unchanged,
        "new": new,
        "critical_regressions": [i for i in regressed if by_id[i].item.category in critical],
    }


def check(
    aggregates: dict[str, Any],
    results: Sequence[Scored],
    config: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    baseline_path: str = "",
) -> dict[str, Any]:
    """Run every check of the gate.

    Args:
        aggregates: The bot's aggregate metrics.
        results: The bot's scored items (for the regression check).
        config: The gate configuration (see ``eval/gate.toml``).
        baseline: The committed baseline, if any.
        baseline_path: Where it came from (for the report).

    Returns:
        ``{"passed", "checks": [{"name", "kind", "value", "threshold", "passed"}], "regression", "failures"}``.

    """
    checks: list[dict[str, Any]] = []
    for name, limit in config.get("invariants", {}).items():
        value = aggregates.get(name)
        ok = value is None or (value <= limit if limit == 0 else value >= limit)
        checks.append({"name": name, "kind": "invariant", "value": value, "threshold": limit, "passed": bool(ok)})
    for name, floor in config.get("floors", {}).items():
        value = aggregates.get(name)
        ok = value is not None and value >= floor - 1e-9
        checks.append({"name": name, "kind": "floor", "value": value, "threshold": floor, "passed": ok})
    for name, ceiling in config.get("ceilings", {}).items():
        value = aggregates.get(name)
        ok = value is not None and value <= ceiling + 1e-9
        checks.append({"name": name, "kind": "ceiling", "value": value, "threshold": ceiling, "passed": ok})
    failures = [
        f"{c['kind']} {c['name']}: {c['value']} (needs "
        f"{'<=' if c['kind'] == 'ceiling' or c['threshold'] == 0 else '>='} {c['threshold']})"
        for c in checks
        if not c["passed"]
    ]
    regression = None
    if baseline is not None:
        regression = compare(results, baseline, config.get("regression", {}).get("critical", []))
        regression["baseline"] = baseline_path
        ok = not regression["critical_regressions"]
        checks.append(
            {
                "name": "critical regressions",
                "kind": "regression",
                "value": len(regression["critical_regressions"]),
                "threshold": 0,
                "passed": ok,
            }
        )
        if not ok:
            failures.append(
                f"regression: items that passed in the baseline now fail: {regression['critical_regressions']}"
            )
    return {"passed": not failures, "checks": checks, "regression": regression, "failures": failures}
