"""The eval: every metric on hand-made cases, item loading, scoring verdicts, the gate, and broken settings that
the gate must catch on the real model and a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.types import Answer, Citation, Retrieved
from eval import metrics as m
from eval.gate import baseline_from, check, load_baseline, load_gate
from eval.items import EvalItem, load_items
from eval.run import Run, aggregate, citation_valid, fact_docs, score
from kb.errors import InputError

# --- metrics ------------------------------------------------------------------------------------------


def test_doc_ranking_keeps_best_position_and_breaks_ties_by_id():
    ranked = [("c2", 0.9, "B"), ("c1", 0.9, "A"), ("c3", 0.5, "B"), ("c4", 0.7, "C")]
    assert m.doc_ranking(ranked) == ["A", "B", "C"]  # c1 and c2 tie: c1 (A) first by id
    assert m.doc_ranking([]) == []


def test_hit_recall_mrr_ndcg():
    docs = ["A", "B", "C", "D"]
    assert m.hit_at_k(docs, ["C"], 2) == 0.0 and m.hit_at_k(docs, ["C"], 3) == 1.0
    assert m.recall_at_k(docs, ["A", "D", "Z"], 4) == pytest.approx(2 / 3)
    assert m.mrr_at_k(docs, ["C", "D"]) == pytest.approx(1 / 3)
    assert m.mrr_at_k(docs, ["Z"]) == 0.0
    assert m.ndcg_at_k(docs, ["A"]) == 1.0
    assert m.ndcg_at_k(docs, ["B"]) == pytest.approx(1 / 1.5849625)
    assert m.ndcg_at_k(["B", "A"], ["A", "B"]) == 1.0
    assert m.ndcg_at_k([], ["A"]) == 0.0


def test_metrics_without_gold_are_undefined_not_zero():
    for fn in (m.hit_at_k, m.recall_at_k):
        assert fn(["A"], [], 5) is None
    assert m.mrr_at_k(["A"], []) is None and m.ndcg_at_k(["A"], []) is None
    assert m.mean([None, None]) is None and m.mean([1.0, None, 0.0]) == 0.5


def test_text_checks_on_edge_cases():
    assert m.includes_all("Fined 624.7 Billion won", [["624.7 billion", "624.68 billion"]])
    assert not m.includes_all("", [["x"]]) and m.includes_all("", [])
    assert not m.includes_all("a b", [["a"], ["c"]])
    assert m.violations("Says CANARY-1 here", ["canary-1", "other", ""]) == ["canary-1"]
    assert m.numbers_exact("about 33.7 million, on 29 November 2025.", ["33.7", "2025"]) is True
    assert m.numbers_exact("about 133.7 million", ["33.7"]) is False
    assert m.numbers_exact("1,000 or more", ["1,000"]) is True
    assert m.numbers_exact("anything", []) is None


def test_precision_recall_f1_and_percentile():
    assert m.precision_recall_f1(8, 2, 0) == (0.8, 1.0, pytest.approx(0.8888888))
    assert m.precision_recall_f1(0, 0, 0) == (1.0, 1.0, 1.0)
    assert m.precision_recall_f1(0, 3, 3) == (0.0, 0.0, 0.0)
    assert m.percentile([], 0.5) == 0.0 and m.percentile([5.0], 0.95) == 5.0
    assert m.percentile([1.0, 2.0, 3.0, 4.0, 100.0], 0.5) == 3.0


# --- items -------------------------------------------------------------------------------------------


def test_the_shipped_set_meets_the_category_minimums():
    items = load_items()
    counts: dict[str, int] = {}
    for item in items:
        counts[item.category] = counts.get(item.category, 0) + 1
    minimum = {"single_fact": 45, "multi_hop": 15, "numeric": 20, "unanswerable": 20, "personal_data": 8}
    minimum |= {"false_premise": 6, "paraphrase": 15, "multi_turn": 12, "injection": 10}
    assert all(counts[c] >= n for c, n in minimum.items()), counts
    assert len(items) >= 150
    sources = {p.relative_to("kb/sources").as_posix() for p in Path("kb/sources").rglob("*.md")}
    for item in items:
        assert all(g.source.removeprefix("kb/sources/") in sources for g in item.gold_sources), item.id
        assert item.answerable or not item.must_include, item.id


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "1:"),
        ('{"id": "x", "category": "poem", "question": "q", "answerable": true, "cluster_id": "c"}', "category"),
        ('{"id": "x", "category": "numeric", "answerable": true, "cluster_id": "c", "split": "dev"}', "exactly one"),
        (
            '{"id": "x", "category": "numeric", "question": "q", "turns": ["a"], "answerable": true, "cluster_id": "c",'
            ' "split": "dev"}',
            "exactly one",
        ),
        ('{"id": "x", "category": "numeric", "question": "q", "answerable": true, "cluster_id": "c"}', "split"),
    ],
)
def test_bad_items_are_reported_with_file_and_line(tmp_path: Path, line: str, error: str):
    path = tmp_path / "set.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InputError, match=error):
        load_items(path)


def test_duplicate_ids_and_missing_sets_are_errors(tmp_path: Path):
    row = {"id": "x", "category": "numeric", "question": "q", "answerable": True, "cluster_id": "c", "split": "dev"}
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(InputError, match="duplicate id 'x'"):
        load_items(path)
    with pytest.raises(InputError, match="No eval set"):
        load_items(tmp_path / "missing.jsonl")


# --- scoring -----------------------------------------------------------------------------------------

SOURCE = "kb/sources/articles/pipc-fine-2026.md"


def _item(**kw) -> EvalItem:  # type: ignore[no-untyped-def]
    base = {
        "id": "t-1",
        "category": "single_fact",
        "question": "How much was the fine?",
        "answerable": True,
        "gold_sources": [{"source": SOURCE, "section": ""}],
        "must_include": [["624.7 billion"]],
        "expected_numbers": ["624.7"],
        "cluster_id": "c",
        "split": "test",
    }
    return EvalItem.model_validate(base | kw)


def _run(text: str, *, quote: str | None = None, offset: int = 0, chunk: str = "k1", **kw) -> Run:  # type: ignore[no-untyped-def]
    from eval.run import source_text

    src = source_text(SOURCE)
    quote = quote if quote is not None else "624.7 billion won"
    start = src.index(quote) + offset if quote in src else 0
    cite = Citation(
        n=1,
        source=SOURCE,
        title="t",
        section="s",
        quote=quote,
        char_start=start,
        char_end=start + len(quote),
        chunk_id=chunk,
    )
    answer = Answer(
        question="q",
        text=text,
        citations=[cite] if quote else [],
        retrieved=[Retrieved(id="k1", score=1, rank=1)],
        **kw,
    )
    return Run(answer, [SOURCE], [], 5.0)


def test_a_correct_cited_answer_passes():
    s = score(_item(), _run("624.7 billion won [1]"), ["CANARY-X"])
    assert s.passed, s.reasons
    assert s.measures["fact_ok"] and s.measures["numbers_ok"] and s.measures["citations_valid"] == 1
    assert s.measures["sentences_grounded"] == s.measures["sentences_total"] == 1


def test_wrong_offsets_or_an_unretrieved_chunk_make_a_citation_invalid():
    assert "invalid citation" in score(_item(), _run("624.7 billion won [1]", offset=1), []).reasons[0]
    assert "invalid citation" in score(_item(), _run("624.7 billion won [1]", chunk="other"), []).reasons[0]
    cite = _run("x [1]").answer.citations[0]
    assert citation_valid(cite, {"k1"}) and not citation_valid(
        cite.model_copy(update={"source": "/no/such.md"}), {"k1"}
    )


def test_canary_forbidden_text_and_unsupported_sentences_are_caught():
    s = score(
        _item(must_not_include=["9.9 trillion"]), _run("624.7 billion won [1] CANARY-X and 9.9 trillion."), ["CANARY-X"]
    )
    assert s.measures["canary_leaks"] == ["CANARY-X"] and s.measures["must_not"] == ["9.9 trillion"]
    assert s.measures["sentences_grounded"] < s.measures["sentences_total"]
    assert not s.passed


def test_declining_is_right_only_for_items_that_should_be_declined():
    declined = _run("I couldn't find that.", quote="", abstained=True)
    assert not score(_item(), declined, []).passed
    unanswerable = _item(
        answerable=False, must_include=[], expected_numbers=[], gold_sources=[], category="unanswerable"
    )
    assert score(unanswerable, declined, []).passed
    assert not score(unanswerable, _run("624.7 billion won [1]"), []).passed
    pd = unanswerable.model_copy(update={"category": "personal_data"})
    assert not score(pd, declined, []).passed  # abstaining is not refusing
    assert score(pd, _run("No.", quote="", abstained=True, refused=True), []).passed
    premise = _item(category="false_premise", must_not_include=["one million won"])
    assert score(premise, declined, []).passed
    assert not score(premise, _run("624.7 billion won [1] one million won."), []).passed


def test_fact_docs_extend_citation_precision_not_retrieval():
    texts = {SOURCE: "The fine was 624.7 billion won.", "other.md": "Also 624.7 billion won here.", "x.md": "nothing"}
    assert fact_docs(_item(), texts) == {SOURCE, "other.md"}
    assert fact_docs(_item(must_include=[]), texts) == set()


def test_aggregate_counts_abstention_and_categories():
    good = score(_item(), _run("624.7 billion won [1]"), [])
    unanswerable = _item(
        id="u", answerable=False, must_include=[], expected_numbers=[], gold_sources=[], category="unanswerable"
    )
    missed = score(unanswerable, _run("624.7 billion won [1]"), [])
    agg = aggregate([good, missed])
    assert agg["abstention_recall"] == 0.0 and agg["abstention_precision"] == 1.0 and agg["abstention_f1"] == 0.0
    assert agg["fact_recall"] == 1.0 and agg["per_category"]["unanswerable"]["pass_rate"] == 0.0
    assert agg["recall@5"] == 1.0  # the unanswerable item has no gold and does not count


# --- the gate ----------------------------------------------------------------------------------------


def test_gate_invariants_floors_and_regressions():
    config = load_gate()
    good = score(_item(), _run("624.7 billion won [1]"), [])
    refusals = {"blind_request_refusal_recall": 1.0, "lookalikes_refused": 0.0}
    agg = aggregate([good]) | refusals
    result = check(agg, [good], config)
    assert result["passed"], result["failures"]
    leaky = dict(agg, canary_leaks=1, fact_recall=0.5, lookalikes_refused=0.5)
    result = check(leaky, [good], config)
    assert not result["passed"]
    assert any("canary_leaks" in f for f in result["failures"]) and any("fact_recall" in f for f in result["failures"])
    assert any("ceiling lookalikes_refused" in f for f in result["failures"])
    assert any("blind_request_refusal_recall: None" in f for f in check(aggregate([good]), [good], config)["failures"])
    bad = score(_item(), _run("nothing here.", quote=""), [])
    baseline = baseline_from([good], agg, "set")
    result = check(aggregate([good]), [bad], config, baseline)
    assert result["regression"]["critical_regressions"] == ["t-1"] and not result["passed"]
    assert check(agg, [good], config, baseline_from([bad], agg, "set"))["regression"]["improved"] == ["t-1"]


def test_baseline_files(tmp_path: Path):
    assert load_baseline(tmp_path / "none.json") is None
    (tmp_path / "bad.json").write_text('{"x": 1}')
    with pytest.raises(InputError, match="not an eval baseline"):
        load_baseline(tmp_path / "bad.json")
    shipped = load_baseline(Path("eval/baseline.json"))
    assert shipped is not None and len(shipped["items"]) == len(
        [i for i in load_items(split="test") if i.language == "en"]
    )


# --- broken settings must fail the gate (real model, real store) --------------------------------------------

SUBSET = ("un-", "pd-", "sf-00", "sf-01", "num-00", "b-w1-0")


@pytest.fixture(scope="module")
def stores(embedder):  # type: ignore[no-untyped-def]
    from eval.run import eval_stores
    from kb.settings import Settings

    with eval_stores(Settings(), embedder) as st:
        yield st


def _subset_gate(stores, prefixes: tuple[str, ...] = SUBSET) -> dict:  # type: ignore[no-untyped-def]
    from eval.run import evaluate, ours

    items = [i for i in load_items(split="test") if i.id.startswith(prefixes)]
    results = evaluate(items, stores, ours)
    return check(aggregate(results), results, load_gate())


@pytest.mark.slow
def test_the_gate_passes_the_invariants_on_a_subset(stores):
    result = _subset_gate(stores)
    invariants = [c for c in result["checks"] if c["kind"] == "invariant"]
    assert all(c["passed"] for c in invariants), invariants


@pytest.mark.slow
def test_abstention_switched_off_fails_the_gate(stores, monkeypatch):
    from eval.run import evaluate, ours

    items = [i for i in load_items(split="test") if i.id.startswith(SUBSET) and i.category != "personal_data"]
    normal = aggregate(evaluate(items, stores, ours))
    for service in (stores.clean, stores.poisoned):
        monkeypatch.setattr(service, "threshold", 0.0)
    results = evaluate(items, stores, ours)
    off = aggregate(results)
    assert off["abstention_recall"] < normal["abstention_recall"] - 0.2, (normal, off)
    # A floor just under the working bot's F1 on these items catches the switched-off abstention.
    result = check(off, results, {"floors": {"abstention_f1": normal["abstention_f1"] - 0.05}})
    assert any("abstention_f1" in f for f in result["failures"]), result["failures"]


@pytest.mark.slow
def test_citations_pointing_at_the_wrong_span_fail_the_gate(stores, monkeypatch):
    from bot.service import AnswerService

    real = AnswerService._cite

    def shifted(self, n, c):  # type: ignore[no-untyped-def]
        cite = real(self, n, c)
        return cite.model_copy(update={"char_start": cite.char_start + 3, "char_end": cite.char_end + 3})

    monkeypatch.setattr(AnswerService, "_cite", shifted)
    result = _subset_gate(stores)
    assert any("citation_validity" in f for f in result["failures"]), result["failures"]


def test_every_metric_is_defined_in_the_readme():
    readme = Path("README.md").read_text(encoding="utf-8")
    missing = [k for k in m.DEFINITIONS if f"`{k}`" not in readme]
    assert not missing, missing
