"""The evaluation protocol: blind sets split by cluster, a frozen test split that nothing outside the eval loaders
quotes, and the sizes the protocol promises."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from eval import REFUSALS_DIR, SETS_DIR
from eval.items import load_items, load_refusal_set, split_for

ROOT = Path(__file__).resolve().parent.parent
#: Where test questions may appear: the sets themselves, reports and the baseline written from them.
_ALLOWED = {SETS_DIR, REFUSALS_DIR, ROOT / "eval" / "corpora", ROOT / "eval" / "baseline.json"}
_SCANNED = ("bot", "kb", "ingest", "eval", "tests")
_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".json", ".jsonl", ".txt"}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def _test_questions() -> list[str]:
    items = [m for i in load_items(split="test") for m in i.messages]
    refusals = [q for q, _ in load_refusal_set("test")]
    corpus = [json.loads(line)["question"] for line in (ROOT / "eval/corpora/hanbit/questions.jsonl").open()]
    # Very short questions ("fine?") could occur by chance in any text; they are checked as part of no file.
    return sorted({_norm(q) for q in items + refusals + corpus if len(q) >= 25})


def _files() -> list[Path]:
    out = []
    for top in _SCANNED:
        for path in (ROOT / top).rglob("*"):
            if (
                path.is_file()
                and path.suffix in _SUFFIXES
                and not any(path == a or a in path.parents for a in _ALLOWED)
                and "__pycache__" not in path.parts
            ):
                out.append(path)
    return out


def test_no_test_question_appears_outside_the_eval_sets():
    questions = _test_questions()
    assert len(questions) > 200
    leaks = []
    for path in _files():
        text = _norm(path.read_text(encoding="utf-8", errors="ignore"))
        leaks += [f"{path.relative_to(ROOT)}: {q[:80]}" for q in questions if q in text]
    assert not leaks, "test-split questions quoted outside the eval sets:\n" + "\n".join(leaks)


def test_splits_follow_clusters_so_paraphrases_stay_together():
    items = load_items()
    by_cluster: dict[str, set[str]] = {}
    for i in items:
        by_cluster.setdefault(i.cluster_id, set()).add(i.split)
    assert all(len(s) == 1 for s in by_cluster.values())
    assert all(i.split == split_for(i.cluster_id) for i in items)  # frozen: a split is never edited by hand
    splits = Counter(i.split for i in items)
    assert splits["test"] >= 0.3 * len(items) and splits["dev"] >= 0.5 * len(items)


def test_the_blind_set_is_large_and_mixed():
    blind = [i for i in load_items(SETS_DIR / "blind.jsonl")]
    assert len(blind) >= 400
    unanswerable = sum(not i.answerable for i in blind)
    assert 0.1 * len(blind) <= unanswerable <= 0.4 * len(blind)
    assert len({i.persona for i in blind}) >= 6 and len({i.style for i in blind}) >= 10
    clusters = Counter(i.cluster_id for i in blind)
    assert sum(n >= 4 for n in clusters.values()) >= 60  # 60 clusters with 3+ paraphrases beside the first


def test_the_refusal_set_has_requests_and_lookalikes_in_both_splits():
    for split in ("dev", "test"):
        rows = load_refusal_set(split)
        assert sum(r for _, r in rows) >= 25 and sum(not r for _, r in rows) >= 25
    total = load_refusal_set("dev") + load_refusal_set("test")
    assert sum(r for _, r in total) >= 60 and sum(not r for _, r in total) >= 60
