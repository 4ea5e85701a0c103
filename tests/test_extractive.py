"""The extractive writer on synthetic sentences: how sentences are chosen, and the premise checks."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis import analyse
from bot.extractive import Candidate, select, unstated_focus
from bot.retrieval import Hit
from kb.store import StoredChunk


def _cand(text: str, source: str, score: float, axis: int, start: int = 0) -> Candidate:
    chunk = StoredChunk(id=f"{source}-{axis}", text=text, meta={"source": source, "char_start": 0})
    vector = np.zeros(16, dtype=np.float32)
    vector[axis] = 1.0  # orthogonal vectors: no two sentences are near-duplicates
    return Candidate(Hit(chunk, score, 1), start, start + len(text), text, vector, score=score)


def _texts(chosen: list[Candidate]) -> list[str]:
    return [c.text for c in chosen]


def test_select_keeps_sentences_above_the_relative_floor_up_to_the_cap():
    texts = [
        "The regulator fined the retailer in June.",
        "Customers received shopping vouchers afterwards.",
        "Lawmakers summoned executives to a hearing.",
        "Police traced the suspect abroad quickly.",
    ]
    cands = [_cand(t, "a.md", s, i, i * 100) for i, (t, s) in enumerate(zip(texts, [0.9, 0.5, 0.3, 0.2], strict=True))]
    assert _texts(select(cands, 5, 0.3, 2)) == _texts(cands[:3])
    assert _texts(select(cands, 2, 0.3, 2)) == _texts(cands[:2])
    assert _texts(select(cands, 5, 0.9, 2)) == _texts(cands[:1])


def test_select_cites_at_most_max_sources_documents_and_groups_by_document():
    a1 = _cand("The regulator fined the retailer in June.", "a.md", 0.9, 0, 10)
    b1 = _cand("Customers received shopping vouchers afterwards.", "b.md", 0.8, 1, 5)
    c1 = _cand("Lawmakers summoned executives to a hearing.", "c.md", 0.7, 2, 0)
    a2 = _cand("Police traced the suspect abroad quickly.", "a.md", 0.6, 3, 0)
    chosen = select([a1, b1, c1, a2], 5, 0.1, 2)
    assert _texts(chosen) == [a1.text, a2.text, b1.text]  # best first, then by document in source order; no c.md


def test_select_skips_near_duplicates_and_sentences_that_add_nothing():
    best = _cand("The regulator fined the company 624.7 billion won in June.", "a.md", 0.9, 0)
    twin = _cand("The regulator fined the company 624.7 billion won in June, officials said.", "b.md", 0.8, 1)
    twin.vector = best.vector.copy()
    repeat = _cand("The regulator fined the company in June.", "a.md", 0.7, 2, 100)
    new = _cand("The company said it would appeal the decision in court.", "a.md", 0.6, 3, 200)
    assert _texts(select([best, twin, repeat, new], 5, 0.1, 3)) == [best.text, new.text]


@pytest.mark.parametrize(
    ("question", "evidence", "detail", "premise"),
    [
        (
            "How did the Martian hackers get into the systems?",
            "A former developer used a stolen signing key to get into accounts.",
            "the evidence does not mention Martian",
            "",
        ),
        ("Why did Acme hide the breach?", "Acme disclosed the breach on November 29, 2025.", "", "Acme did 'hide'"),
        ("Why did Acme disclose the breach late?", "Acme disclosed the breach on November 29, 2025.", "", ""),
        ("Why did Jane Roe say no filing was needed?", 'Jane Roe argued the data was not "sensitive".', "", ""),
        ("What does Section 12 require?", "Section 12 requires a report within 48 hours.", "", ""),
    ],
)
def test_a_why_did_question_needs_its_subject_and_act_in_the_evidence(
    question: str, evidence: str, detail: str, premise: str
):
    got = unstated_focus(analyse(question), [_cand(evidence, "a.md", 1.0, 0)])
    assert got.premise == premise
    if premise:
        assert premise in got.detail
    else:
        assert got.detail == detail


def test_common_names_pin_nothing_down():
    q = analyse("How did Acme get in?")
    evidence = [_cand("A former developer used a stolen key to get in.", "a.md", 1.0, 0)]
    assert unstated_focus(q, evidence)
    assert not unstated_focus(q, evidence, frozenset({"Acme"}))


@pytest.mark.parametrize(
    ("question", "answer_type"),
    [
        ("When did the company announce the leak?", "date"),
        ("How much was the fine?", "amount"),
        ("Who is the suspect?", "who"),
        ("Which agency investigated?", "who"),
        ("What should I do now?", "other"),
    ],
)
def test_question_analysis_finds_the_expected_answer_type(question: str, answer_type: str):
    assert analyse(question).answer_type == answer_type


def test_question_analysis_reads_names_numbers_premise_and_language():
    q = analyse("Why did Acme Corp hide the 4,536 accounts?")
    assert q.names == ("Acme", "Corp")
    assert q.numbers == {"4536"}
    assert (q.premise_subject, q.premise_act) == ("Acme Corp", "hide")
    assert q.language == "en"
    assert analyse("쿠팡 과징금은 얼마인가요?").language == "ko"
    assert analyse("Why didn't Acme's security catch the forged tokens?").premise_act == ""
