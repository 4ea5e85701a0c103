"""One eval run end to end: both pipelines over the set, aggregates, the gate, the report dict."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.gate import BASELINE_FILE, check, load_baseline, load_gate
from eval.items import default_set, load_items
from eval.metrics import DEFINITIONS
from eval.run import Scored, aggregate, eval_stores, evaluate, ours, textbook
from kb.settings import Settings

LABELS = {
    "ours": "This bot (hybrid retrieval, extractive, verified)",
    "textbook": "Textbook LangChain (same model and Chroma, dense top-4, answer = best chunk)",
}


@dataclass
class Suite:
    """The report dict and the scored items behind it."""

    report: dict[str, Any]
    ours: list[Scored]
    textbook: list[Scored]


def _shown(path: Path) -> str:
    """The path relative to the working folder when it is inside it (reports and baselines stay portable)."""
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def run_suite(
    settings: Settings,
    set_path: Path | None = None,
    *,
    with_textbook: bool = True,
    baseline_path: Path | None = BASELINE_FILE,
    show_progress: bool = True,
) -> Suite:
    """Run the eval set through the bot (and the textbook pipeline), score it and check the gate.

    Args:
        settings: Answering settings (the store location is replaced by a temporary one).
        set_path: Eval set file or folder (default ``eval/sets/grounding.jsonl``).
        with_textbook: Also score the textbook LangChain pipeline.
        baseline_path: Baseline for the regression check (``None``: no regression check).
        show_progress: Draw a progress bar on stderr.

    Returns:
        The :class:`Suite`.

    """
    from rich.progress import Progress

    from kb.embeddings import get_embedder

    started = time.perf_counter()
    path = set_path or default_set()
    items = load_items(path)
    embedder = get_embedder(settings)
    with eval_stores(settings, embedder) as stores, Progress(disable=not show_progress, transient=True) as bar:
        task = bar.add_task("eval", total=len(items) * (2 if with_textbook else 1))
        scored = evaluate(items, stores, ours, lambda: bar.advance(task))
        base = evaluate(items, stores, textbook, lambda: bar.advance(task)) if with_textbook else []
        threshold = stores.clean.threshold
    pipelines: dict[str, Any] = {"ours": {"label": LABELS["ours"], "aggregates": aggregate(scored)}}
    if with_textbook:
        pipelines["textbook"] = {"label": LABELS["textbook"], "aggregates": aggregate(base)}
    baseline = load_baseline(baseline_path) if baseline_path else None
    gate = check(pipelines["ours"]["aggregates"], scored, load_gate(), baseline, str(baseline_path or ""))
    report = {
        "meta": {
            "set": _shown(path),
            "items": len(items),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": "extractive",
            "duration_s": round(time.perf_counter() - started, 1),
            "model": embedder.name,
            "threshold": round(threshold, 4),
        },
        "definitions": DEFINITIONS,
        "pipelines": pipelines,
        "items": [s.to_dict() for s in scored],
        "textbook_items": [s.to_dict() for s in base],
        "gate": gate,
    }
    return Suite(report, scored, base)
