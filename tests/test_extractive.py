"""The extractive writer's rules on hand-made sentences: what a question pins down, and which sources may enter."""

from __future__ import annotations

import numpy as np
import pytest

from bot.extractive import _PROPER_NAME, _ROLE, _WHO, Candidate, select, unstated_focus
from bot.retrieval import Hit
from kb.store import StoredChunk
from kb.text import tokenize


def _cand(text: str, source: str, score: float, axis: int) -> Candidate:
    chunk = StoredChunk(id=f"{source}-{axis}", text=text, meta={"source": source, "char_start": 0})
    vector = np.zeros(8, dtype=np.float32)
    vector[axis] = 1.0  # orthogonal vectors: no two sentences are near-duplicates
    return Candidate(Hit(chunk, score, 1), 0, len(text), text, vector, score=score)


def _texts(chosen: list[Candidate]) -> list[str]:
    return [c.text for c in chosen]


def test_a_new_document_must_add_a_question_word_unless_it_scores_almost_as_well():
    question = set(tokenize("How much did the PIPC fine Coupang, and will Coupang appeal?"))
    best = _cand("The PIPC fined Coupang 624.7 billion won in June 2026.", "a.md", 1.0, 0)
    same_point = _cand(
        "Korea's privacy regulator set a record penalty for the Coupang case this summer.", "b.md", 0.86, 1
    )
    new_point = _cand("Coupang said it would appeal at the Seoul Administrative Court.", "c.md", 0.86, 2)
    strong = _cand("No company had ever received a larger privacy penalty from Korean regulators.", "d.md", 0.95, 3)
    chosen = select(
        [best, strong, same_point, new_point], 5, other_relative=0.85, max_sources=3, question_tokens=question
    )
    assert _texts(chosen) == [best.text, strong.text, new_point.text]
    # Without the question's words the old rule applies: any document at 0.85 of the best.
    loose = select([best, same_point], 5, other_relative=0.85, max_sources=2)
    assert _texts(loose) == [best.text, same_point.text]


@pytest.mark.parametrize(
    ("question", "evidence", "missing"),
    [
        (
            "What did the Seoul Administrative Court decide on Coupang's appeal?",
            "Coupang said it would appeal the fine at the Seoul Administrative Court.",
            "no sentence states a decision or outcome",
        ),
        (
            "What did the Supreme Court decide in the Happy Campus case?",
            "In the Happy Campus case, the Supreme Court held that a company can defeat the claim.",
            "",
        ),
        (
            "How did the North Korean hackers get into Coupang's systems?",
            "A former Coupang developer used a stolen signing key to get into accounts.",
            "the evidence does not mention North",
        ),
        (
            "Why did Harold Rogers testify in Washington?",
            "Interim CEO Harold Rogers testified before a US Senate committee in Wash. in 2026.",
            "",
        ),
        ("What does PIPA Article 29 require?", "PIPA Article 29 requires safety measures.", ""),
        (
            "Why did Coupang hide the breach?",
            "Coupang disclosed the breach on November 29, 2025.",
            "no sentence says that Coupang did 'hide'",
        ),
        (
            "Why did Coupang founder Bom Kim resign as CEO?",
            "Bom Kim, Coupang's founder, did not appear at the hearing.",
            "no sentence says that Coupang founder Bom Kim did 'resign'",
        ),
        (
            "Why did Harold Rogers say no SEC filing was needed?",
            'Harold Rogers argued that the data taken was not "highly sensitive".',
            "",
        ),
        ("Why did MSIT refer Coupang to the police?", "MSIT referred Coupang to the police over its logs.", ""),
    ],
)
def test_unstated_focus(question: str, evidence: str, missing: str):
    assert unstated_focus(question, [_cand(evidence, "a.md", 1.0, 0)]) == missing


def test_a_strong_restatement_elsewhere_is_skipped_once_the_best_document_gives_two_sentences():
    question = set(tokenize("How much did the PIPC fine Coupang?"))
    best = _cand("The PIPC fined Coupang 624.7 billion won in June 2026.", "a.md", 1.0, 0)
    more = _cand(
        "The 624.7 billion won fine is a record for the privacy regulator, larger than any before.", "a.md", 0.9, 1
    )
    again = _cand(
        "Regulators imposed a record sum on the e-commerce company this summer, officials said.", "b.md", 0.95, 2
    )
    assert _texts(select([best, again], 5, other_relative=0.85, max_sources=2, question_tokens=question)) == [
        best.text,
        again.text,
    ]
    assert _texts(select([best, again, more], 5, other_relative=0.85, max_sources=2, question_tokens=question)) == [
        best.text,
        again.text,
    ]
    assert _texts(select([best, more, again], 5, other_relative=0.85, max_sources=2, question_tokens=question)) == [
        best.text,
        more.text,
    ]


def test_a_sentence_that_announces_detail_brings_the_next_sentences():
    text = (
        "The voucher package is divided four ways across services. The split gives 5,000 won for shopping. "
        "The larger part is 20,000 won for travel. Unrelated closing remark about the weather today."
    )
    chunk = StoredChunk(id="v-0", text=text, meta={"source": "v.md", "char_start": 0})
    spans, start = [], 0
    for sentence in text.split(". "):
        sentence = sentence.rstrip(".") + "."
        spans.append((start, start + len(sentence)))
        start += len(sentence) + 1
    cands = []
    for i, ((a, b), score) in enumerate(zip(spans, [1.0, 0.3, 0.3, 0.3], strict=True)):
        vector = np.zeros(8, dtype=np.float32)
        vector[i] = 1.0
        cands.append(Candidate(Hit(chunk, 1.0, 1), a, b, text[a:b], vector, score=score))
    chosen = select(cands, 5)
    assert _texts(chosen) == [text[a:b] for a, b in spans[:3]]
    # Without the announcement only the best sentence clears the bar.
    plain = [
        Candidate(c.hit, c.start, c.end, c.text.replace("four ways", "at once"), c.vector, score=c.score) for c in cands
    ]
    assert len(select(plain, 5)) == 1


def test_which_questions_ask_for_a_name_and_openers_are_not_names():
    assert _WHO.search("Which coalition declared a boycott of Coupang?")
    assert _WHO.search("Which law firms represent the plaintiffs?")
    assert _WHO.search("Who is the suspect?")
    assert not _WHO.search("Which services are the vouchers for?")
    assert _PROPER_NAME.search("135 groups formed Joint Action for a Safer Coupang.")
    assert not _PROPER_NAME.search("The Coupang data breach runs from 2022 to 2026.")
    assert not _PROPER_NAME.search("In June the fine was imposed.")
    assert _ROLE.search("The suspect is a former Coupang developer of Chinese nationality.")
    assert _ROLE.search("He is a Chinese national.")
    assert not _ROLE.search("The National Assembly held a hearing.")
