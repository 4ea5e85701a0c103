"""The grounding eval set: items in JSONL (``eval/sets/*.jsonl``), loaded and checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from eval import REFUSALS_DIR, SETS_DIR
from kb.errors import InputError

Category = Literal[
    "single_fact",
    "multi_hop",
    "numeric",
    "unanswerable",
    "personal_data",
    "false_premise",
    "paraphrase",
    "multi_turn",
    "injection",
]
Split = Literal["dev", "test"]
#: Share of clusters that go to the frozen test split when a new item is given its split.
TEST_SHARE = 0.4


def split_for(cluster_id: str) -> Split:
    """The split a cluster belongs to, fixed by a hash of its id so paraphrases stay together.

    Splits are written into the set files when items are added (``python -m eval.split``) and never change.
    """
    h = int(hashlib.sha256(cluster_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if h < TEST_SHARE else "dev"


class GoldSource(BaseModel):
    """A document (and the section in it) that holds the answer."""

    source: str
    section: str = ""


class EvalItem(BaseModel):
    """One hand-written eval item."""

    id: str
    category: Category
    question: str | None = None
    turns: list[str] | None = None
    answerable: bool
    gold_sources: list[GoldSource] = Field(default_factory=list)
    must_include: list[list[str]] = Field(default_factory=list)
    expected_numbers: list[str] = Field(default_factory=list)
    must_not_include: list[str] = Field(default_factory=list)
    cluster_id: str
    canary: str | None = None
    note: str = ""
    split: Split = Field(description="dev (tune on it) or test (frozen: the gate runs on it, nothing is tuned on it).")
    persona: str = ""
    style: str = ""
    language: Literal["en", "ko"] = Field("en", description="The language the question is written in.")

    @model_validator(mode="after")
    def _one_form(self) -> EvalItem:
        if (self.question is None) == (self.turns is None):
            raise ValueError("give exactly one of 'question' or 'turns'")
        if self.turns is not None and not self.turns:
            raise ValueError("'turns' is empty")
        return self

    @property
    def messages(self) -> list[str]:
        """The user messages in order; the last one is scored."""
        return self.turns if self.turns is not None else [self.question or ""]

    @property
    def last(self) -> str:
        """The message whose answer is scored."""
        return self.messages[-1]

    @property
    def gold_docs(self) -> list[str]:
        """Gold documents, each once, in order."""
        return list(dict.fromkeys(g.source for g in self.gold_sources))


def default_set() -> Path:
    """The shipped eval sets: every ``.jsonl`` in ``eval/sets/``."""
    return SETS_DIR


def load_items(path: Path | None = None, split: Split | None = None) -> list[EvalItem]:
    """Read an eval set (a ``.jsonl`` file or a folder of them).

    Args:
        path: File or folder; default the shipped sets.
        split: Only this split.

    Returns:
        The items, in file order.

    Raises:
        InputError: for a missing file, a bad line or a duplicate id, naming the file and line.

    """
    path = path or default_set()
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise InputError(f"No eval set at {path}: give a .jsonl file or a folder of them.")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for f in files:
        for number, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = EvalItem.model_validate(json.loads(line))
            except (json.JSONDecodeError, ValidationError) as exc:
                first = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else _first(exc)
                raise InputError(f"{f}:{number}: {first}") from None
            if item.id in seen:
                raise InputError(f"{f}:{number}: duplicate id '{item.id}'")
            seen.add(item.id)
            if split is None or item.split == split:
                items.append(item)
    return items


def load_refusal_set(split: str) -> list[tuple[str, bool]]:
    """``(question, is_request)`` from ``eval/refusals/*.jsonl`` for one split."""
    rows = []
    for path in sorted(REFUSALS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row["split"] == split:
                    rows.append((row["question"], row["kind"] == "request"))
    return rows


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "item"
    return f"'{where}': {err['msg']}"
