"""One eval run end to end: both pipelines over the set, aggregates, the gate, the report dict."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.service import AnswerService
from eval.gate import BASELINE_FILE, check, load_baseline, load_gate
from eval.items import default_set, load_items, load_refusal_set
from eval.metrics import DEFINITIONS
from eval.run import Scored, aggregate, eval_stores, evaluate, ours, textbook
from kb.errors import InputError
from kb.settings import Settings

LABELS = {
    "generative": "This bot, generative (LLM answer, guarded sentence by sentence), test split",
    "ours": "This bot (hybrid retrieval, fitted scorer, extractive, verified), frozen test split: gated",
    "ours_dev": "This bot, dev split (tuned on)",
    "ours_ko": "This bot, Korean questions, frozen test split: gated",
    "ours_ko_dev": "This bot, Korean questions, dev split (tuned on)",
    "textbook": "Textbook LangChain (same model and Chroma, dense top-4, answer = best chunk), test split",
}
#: Aggregates that are counts or timings, not rates: the report shows no dev -> test difference for them.
_NOT_RATES = {"items", "must_not_violations", "canary_leaks", "latency_p50_ms", "latency_p95_ms"}


@dataclass
class Suite:
    """The report dict and the scored items behind it."""

    report: dict[str, Any]
    ours: list[Scored]


def refusal_rates(service: AnswerService) -> dict[str, dict[str, float]]:
    """Per split, on the blind-written refusal set: the share of requests refused and of look-alikes refused."""
    out: dict[str, dict[str, float]] = {}
    for split in ("dev", "test"):
        rows = load_refusal_set(split)
        refused = [(req, service.answer(q).refused) for q, req in rows]
        requests = [r for req, r in refused if req]
        lookalikes = [r for req, r in refused if not req]
        out[split] = {
            "blind_request_refusal_recall": round(sum(requests) / len(requests), 4) if requests else 1.0,
            "lookalikes_refused": round(sum(lookalikes) / len(lookalikes), 4) if lookalikes else 0.0,
        }
    return out


def _test(results: list[Scored]) -> list[Scored]:
    return [s for s in results if s.item.split == "test"]


def _part(results: list[Scored], language: str, split: str) -> list[Scored]:
    return [s for s in results if s.item.language == language and s.item.split == split]


def stability(results: list[Scored]) -> dict[str, Any]:
    """Paraphrase stability per split, over the clusters with 3 or more items.

    ``same_decision``: the share of clusters whose items all get the same decision (answer or decline);
    ``same_decision_and_document``: ... and the same top retrieved document.
    """
    clusters: dict[str, list[Scored]] = {}
    for s in results:
        clusters.setdefault(s.item.cluster_id, []).append(s)
    out: dict[str, Any] = {}
    for split in ("dev", "test"):
        groups = [g for g in clusters.values() if len(g) >= 3 and g[0].item.split == split]
        same_decision = [len({s.measures["declined"] for s in g}) == 1 for g in groups]
        same_doc = [
            len({(s.run.answer.citations[0].source if s.run.answer.citations else None) for s in g}) == 1 and same
            for g, same in zip(groups, same_decision, strict=True)
        ]
        out[split] = {
            "clusters": len(groups),
            "same_decision": round(sum(same_decision) / len(groups), 4) if groups else None,
            "same_decision_and_document": round(sum(same_doc) / len(groups), 4) if groups else None,
        }
    return out


def _add_checks(gate: dict[str, Any], name: str, extra: dict[str, Any]) -> None:
    """Fold another gate's checks into ``gate``, each named after what it checks (``korean fact_recall``)."""
    for c in extra["checks"]:
        gate["checks"].append(c | {"name": f"{name} {c['name']}"})
    gate["failures"] += [f"{name} {f}" for f in extra["failures"]]
    gate["passed"] = gate["passed"] and extra["passed"]


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
    mode: str = "extractive",
    corpus: Path | None = None,
) -> Suite:
    """Run the eval set through the bot (and the textbook pipeline), score it and check the gate.

    Args:
        settings: Answering settings (the store location is replaced by a temporary one).
        set_path: Eval set file or folder (default ``eval/sets/grounding.jsonl``).
        with_textbook: Also score the textbook LangChain pipeline.
        baseline_path: Baseline for the regression check (``None``: no regression check).
        show_progress: Draw a progress bar on stderr.
        mode: ``extractive``, or ``generative`` to also score the LLM path (needs ``KB_LLM_BASE_URL``).
        corpus: Answer from this folder instead of the shipped corpus; the gate uses the ``[corpus]`` section.

    Returns:
        The :class:`Suite`.

    Raises:
        InputError: for generative mode without an LLM server.

    """
    from rich.progress import Progress

    from kb.embeddings import get_embedder

    started = time.perf_counter()
    path = set_path or default_set()
    items = load_items(path)
    embedder = get_embedder(settings)
    generative = mode == "generative"
    if generative and not settings.llm_base_url:
        raise InputError("kb eval --mode generative needs an LLM server: set KB_LLM_BASE_URL (and KB_LLM_MODEL).")
    extractive = settings.model_copy(update={"answer_mode": "extractive"})
    runs = 1 + int(with_textbook) + int(generative)
    gen: list[Scored] = []
    with (
        eval_stores(extractive, embedder, corpus=corpus) as stores,
        Progress(disable=not show_progress, transient=True) as bar,
    ):
        task = bar.add_task(f"eval ({mode})", total=len(items) * runs)
        scored = evaluate(items, stores, ours, lambda: bar.advance(task))
        base = evaluate(items, stores, textbook, lambda: bar.advance(task)) if with_textbook else []
        if generative:
            for service in (stores.clean, stores.poisoned):
                service.settings = service.settings.model_copy(update={"answer_mode": "generative"})
            gen = evaluate(items, stores, ours, lambda: bar.advance(task))
        threshold = stores.clean.threshold
        refusals = refusal_rates(stores.clean) if corpus is None else {}
    # English and Korean questions are reported and gated apart: one language's gain must not hide the other's loss.
    dev, test = _part(scored, "en", "dev"), _part(scored, "en", "test")
    ko_dev, ko_test = _part(scored, "ko", "dev"), _part(scored, "ko", "test")
    pipelines: dict[str, Any] = {}
    if generative:
        pipelines["generative"] = {"label": LABELS["generative"], "aggregates": aggregate(_test(gen))}
    pipelines["ours"] = {"label": LABELS["ours"], "aggregates": aggregate(test) | refusals.get("test", {})}
    pipelines["ours_dev"] = {"label": LABELS["ours_dev"], "aggregates": aggregate(dev) | refusals.get("dev", {})}
    if ko_test:
        pipelines["ours_ko"] = {"label": LABELS["ours_ko"], "aggregates": aggregate(ko_test)}
        pipelines["ours_ko_dev"] = {"label": LABELS["ours_ko_dev"], "aggregates": aggregate(ko_dev)}
    if with_textbook:
        pipelines["textbook"] = {"label": LABELS["textbook"], "aggregates": aggregate(_part(base, "en", "test"))}
    test_agg, dev_agg = pipelines["ours"]["aggregates"], pipelines["ours_dev"]["aggregates"]
    gap = {
        k: round(v - dev_agg[k], 4)
        for k, v in test_agg.items()
        if k not in _NOT_RATES and isinstance(v, float) and isinstance(dev_agg.get(k), float)
    }
    baseline = load_baseline(baseline_path) if baseline_path else None
    config = load_gate()
    if corpus is not None:
        config = config.get("corpus", {})
    gate = check(pipelines["ours"]["aggregates"], test, config, baseline, str(baseline_path or ""))
    if ko_test and "korean" in config:
        _add_checks(gate, "korean", check(pipelines["ours_ko"]["aggregates"], ko_test, config["korean"]))
    if generative:
        # The hard invariants hold for the generative path too (floors are for the extractive writer).
        _add_checks(
            gate,
            "generative",
            check(pipelines["generative"]["aggregates"], gen, {"invariants": config.get("invariants", {})}),
        )
    report = {
        "meta": {
            "set": _shown(path),
            "items": len(items),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": mode,
            "duration_s": round(time.perf_counter() - started, 1),
            "model": embedder.name,
            "threshold": round(threshold, 4),
        },
        "definitions": DEFINITIONS,
        "pipelines": pipelines,
        "gap": gap,
        "stability": stability(scored),
        "items": [s.to_dict() for s in scored],
        "generative_items": [s.to_dict() for s in gen],
        "textbook_items": [s.to_dict() for s in base],
        "gate": gate,
    }
    return Suite(report, test)
