"""Load the hand-written question sets (in-scope with expected facts, and out-of-scope)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from eval import QUESTIONS_DIR


@dataclass(frozen=True)
class Question:
    """A question with what a correct answer must contain (empty for out-of-scope)."""

    question: str
    split: str
    expect_any: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def in_scope(self) -> bool:
        """Whether the knowledge base answers it."""
        return bool(self.expect_any)


def load_questions(split: str | None = None) -> tuple[list[Question], list[Question]]:
    """In-scope and out-of-scope questions, optionally only one split (``calib`` or ``test``).

    Args:
        split: ``calib`` (for tuning), ``test`` (for tests), or ``None`` for both.

    Returns:
        ``(in_scope, out_of_scope)``.

    """
    ins: list[Question] = []
    outs: list[Question] = []
    for path in sorted(QUESTIONS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            q = Question(row["question"], row["split"], list(row.get("expect_any", [])), row.get("source", ""))
            if split is None or q.split == split:
                (ins if q.in_scope else outs).append(q)
    return ins, outs
