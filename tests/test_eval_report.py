"""eval.report: the three report files, Markdown content, HTML escaping and embedded charts."""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from eval.report import charts, definition, render_html, render_markdown, write_reports

SCRIPT = "<script>alert(1)</script>"


def _aggregates(scale: float) -> dict[str, Any]:
    return {
        "items": 3,
        "hit@1": 0.8 * scale,
        "recall@1": 0.7 * scale,
        "hit@5": 0.9 * scale,
        "recall@5": 0.85 * scale,
        "recall@10": 0.9 * scale,
        "mrr@10": 0.82 * scale,
        "ndcg@10": 0.8 * scale,
        "fact_recall": 0.9 * scale,
        "number_exactness": None,
        "must_not_violations": 0,
        "canary_leaks": 0,
        "latency_p50_ms": 9.5,
        "latency_p95_ms": 12.0,
        "pass_rate": 0.3333 * scale,
        "per_category": {
            "single_fact": {"items": 2, "passed": 1, "pass_rate": 0.5 * scale},
            "multi_turn": {"items": 1, "passed": 0, "pass_rate": 0.0},
        },
    }


def _report() -> dict[str, Any]:
    items = [
        {
            "id": "sf-001",
            "category": "single_fact",
            "question": "When was the breach disclosed?",
            "turns": None,
            "answerable": True,
            "passed": True,
            "reasons": [],
            "answer": "It was disclosed in November 2025 [1].",
            "citations": [{"n": 1, "source": "kb/sources/a.md", "section": "S", "quote": "November", "chunk_id": "c1"}],
            "latency_ms": 9.1,
        },
        {
            "id": "sf-002",
            "category": "single_fact",
            "question": "How many accounts?",
            "turns": None,
            "answerable": True,
            "passed": False,
            "reasons": ["missing expected fact: ['33.7 million']"],
            "answer": f"About {SCRIPT} a|b accounts [1].",
            "citations": [
                {
                    "n": 1,
                    "source": "kb/sources/b.md",
                    "section": "Scope",
                    "quote": "roughly 33.7 | million\naccounts",
                    "chunk_id": "c2",
                }
            ],
            "latency_ms": 10.4,
        },
        {
            "id": "mt-001",
            "category": "multi_turn",
            "question": None,
            "turns": ["Who was fined?", "How much?"],
            "answerable": True,
            "passed": False,
            "reasons": ["wrong follow-up resolution"],
            "answer": "I don't know.",
            "citations": [],
            "latency_ms": 14.0,
        },
    ]
    return {
        "meta": {
            "set": "eval/sets/grounding.jsonl",
            "items": 3,
            "when": "2026-11-29T02:00:00+00:00",
            "mode": "extractive",
            "duration_s": 1.5,
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "threshold": 0.455,
        },
        "definitions": {
            "hit@k": "Share with a gold doc in the top k.",
            "fact_recall": "Share of answers with every fact.",
            "latency_p50_ms / p95_ms": "Median and p95 wall time.",
        },
        "pipelines": {
            "ours": {"label": "This bot", "aggregates": _aggregates(1.0)},
            "textbook": {"label": "Textbook <LangChain>", "aggregates": _aggregates(0.5)},
        },
        "items": items,
        "textbook_items": copy.deepcopy(items),
        "gate": {
            "passed": False,
            "checks": [
                {"name": "canary_leaks", "kind": "invariant", "value": 0, "threshold": 0, "passed": True},
                {"name": "recall@5", "kind": "floor", "value": 0.85, "threshold": 0.95, "passed": False},
            ],
            "regression": {
                "baseline": "eval/baseline.json",
                "regressed": ["sf-002"],
                "improved": [],
                "unchanged": 2,
                "critical_regressions": ["sf-002"],
            },
            "failures": ["recall@5 0.85 < floor 0.95"],
        },
    }


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_write_reports_writes_three_files(tmp_path: Path) -> None:
    report = _report()
    out = tmp_path / "nested" / "reports"
    paths = write_reports(report, out)
    assert set(paths) == {"json", "md", "html"}
    for name, path in paths.items():
        assert path.parent == out and path.is_file() and path.stat().st_size > 0, name
    assert paths["json"].name == "report.json"
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == report
    assert paths["md"].read_text(encoding="utf-8") == render_markdown(report)


def test_markdown_content() -> None:
    md = render_markdown(_report())
    assert "FAILED" in md
    assert "| recall@5 | floor | 0.850 | 0.950 | FAIL |" in md
    row = next(line for line in md.splitlines() if line.startswith("| fact_recall |"))
    assert "0.900" in row and "0.450" in row and "Share of answers with every fact." in row
    assert "| This bot | Textbook <LangChain> |" in md
    # generalised definitions and None values
    hit5 = next(line for line in md.splitlines() if line.startswith("| hit@5 |"))
    assert "Share with a gold doc in the top k." in hit5
    p95 = next(line for line in md.splitlines() if line.startswith("| latency_p95_ms |"))
    assert "Median and p95 wall time." in p95
    exact = next(line for line in md.splitlines() if line.startswith("| number_exactness |"))
    assert "–" in exact
    assert "per_category" not in md
    # section order
    order = ["# Evaluation report", "## Gate", "## Aggregates", "## Per category", "## Regression", "## Failing items"]
    positions = [md.index(h) for h in order]
    assert positions == sorted(positions)
    assert "Regressed: 1" in md and "Unchanged: 2" in md and "Critical regressions: sf-002" in md

    failing = md.split("## Failing items", 1)[1]
    assert "sf-002" in failing and "mt-001" in failing
    assert "sf-001" not in failing
    assert "missing expected fact: ['33.7 million']" in failing
    assert "wrong follow-up resolution" in failing
    assert "Who was fined? → How much?" in failing
    # quotes stay on one line with | escaped
    assert "roughly 33.7 \\| million accounts" in failing


def test_html_escapes_and_embeds_charts() -> None:
    page = render_html(_report())
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;script&gt;" in page
    assert SCRIPT not in page
    assert "<script" not in page.lower()
    assert "Textbook &lt;LangChain&gt;" in page
    assert "FAILED" in page and "<details>" in page
    images = _images(page)
    assert len(images) == 3
    assert all(img.startswith(b"\x89PNG") for img in images)
    # no external resources
    assert "http://" not in page and "https://" not in page and "<link" not in page
    # charts come after the aggregate table, failing items last
    assert page.index("<h2>Aggregates</h2>") < page.index("data:image/png") < page.index("<h2>Per category</h2>")
    failing = page.split("<h2>Failing items", 1)[1]
    assert "sf-002" in failing and "mt-001" in failing and "sf-001" not in failing


def test_charts_are_pngs() -> None:
    result = charts(_report())
    assert set(result) == {"categories", "retrieval", "latency"}
    for png in result.values():
        assert not png.startswith("data:")
        assert base64.b64decode(png).startswith(b"\x89PNG")


@pytest.mark.parametrize("with_items", [True, False])
def test_renders_without_gate_or_textbook(tmp_path: Path, with_items: bool) -> None:
    report = _report()
    report["gate"] = None
    del report["pipelines"]["textbook"]
    report["textbook_items"] = []
    if not with_items:
        report["items"] = []
        report["pipelines"]["ours"]["aggregates"]["latency_p50_ms"] = None
    paths = write_reports(report, tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    md = paths["md"].read_text(encoding="utf-8")
    assert "not run" in page and "not run" in md
    assert "Textbook" not in page and "Textbook" not in md
    assert len(_images(page)) == 3
    assert SCRIPT not in page


def test_definition_lookup() -> None:
    defs = {"hit@k": "H", "mrr@10": "M", "latency_p50_ms / p95_ms": "L"}
    assert definition(defs, "hit@5") == "H"
    assert definition(defs, "mrr@10") == "M"
    assert definition(defs, "latency_p50_ms") == "L"
    assert definition(defs, "latency_p95_ms") == "L"
    assert definition(defs, "pass_rate") is None
    assert definition(None, "hit@1") is None
