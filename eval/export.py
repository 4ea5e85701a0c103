"""Export the bot's answers and retrieved contexts for LLM-judge tools (ragas, deepeval)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.run import Scored

FORMATS = ("ragas", "deepeval")


def _reference(s: Scored) -> str:
    """What a correct answer must say, from the item's must_include groups ("" for items to decline)."""
    return "; ".join(" / ".join(group) for group in s.item.must_include)


def ragas_rows(results: Sequence[Scored]) -> list[dict[str, Any]]:
    """Rows in ragas' ``SingleTurnSample`` shape (``EvaluationDataset.from_list`` / ``from_jsonl`` read them)."""
    return [
        {
            "user_input": s.item.last,
            "retrieved_contexts": s.run.contexts,
            "response": s.run.answer.text,
            "reference": _reference(s),
            "reference_contexts": [c.quote for c in s.run.answer.citations],
            "id": s.item.id,
            "category": s.item.category,
        }
        for s in results
    ]


def deepeval_rows(results: Sequence[Scored]) -> list[dict[str, Any]]:
    """Rows in deepeval's ``LLMTestCase`` shape (``EvaluationDataset.add_test_cases_from_json_file`` reads them)."""
    return [
        {
            "input": s.item.last,
            "actual_output": s.run.answer.text,
            "expected_output": _reference(s),
            "retrieval_context": s.run.contexts,
            "context": [c.quote for c in s.run.answer.citations],
            "additional_metadata": {"id": s.item.id, "category": s.item.category, "answerable": s.item.answerable},
        }
        for s in results
    ]


def export(results: Sequence[Scored], fmt: str, out: Path) -> Path:
    """Write the export file into ``out``: ``ragas.jsonl`` or ``deepeval.json``.

    Raises:
        ValueError: for an unknown format.

    """
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "ragas":
        path = out / "ragas.jsonl"
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ragas_rows(results)), encoding="utf-8"
        )
    elif fmt == "deepeval":
        path = out / "deepeval.json"
        path.write_text(json.dumps(deepeval_rows(results), indent=2, ensure_ascii=False), encoding="utf-8")
    else:
        raise ValueError(f"Unknown export format '{fmt}': choose from {', '.join(FORMATS)}.")
    return path
