"""The grounding check: each answer sentence must be supported by the evidence it cites.

The extractive writer, the generative guard and the eval all call :func:`verify_answer`, so what
is checked at run time is exactly what is scored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kb.text import amounts, language_of, numbers, tokenize

#: Share of a sentence's content words that must occur in its cited evidence.
MIN_COVERAGE = 0.8
#: A sentence in another language than its evidence (a Korean sentence citing an English source) cannot be checked
#: word by word; its numbers must match by value and the multilingual model must find it this similar to the evidence.
#: multilingual-e5-small put Korean renderings of English corpus sentences at 0.815-0.823 and unrelated pairs at
#: 0.71-0.73. It does not see negation (a Korean sentence saying the opposite scored 0.813); numbers and this are
#: all the check has, which is why extractive answers quote instead.
MIN_CROSS_LANGUAGE_SIMILARITY = 0.80
_MARKERS = re.compile(r"\s*\[(\d+)\]")
_CLAIM = re.compile(r"(.+?)((?:\s*\[\d+\])+)(?=\s|$)", re.DOTALL)
_ENTITY = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zA-Z]+(?:[- ][A-Z][a-zA-Z]+)*)")


@dataclass
class Verdict:
    """The check's result for one sentence."""

    sentence: str
    cites: list[int]
    supported: bool
    reason: str = ""
    coverage: float = 0.0


@dataclass
class Verification:
    """All sentences' verdicts and the answer text rebuilt from the supported ones."""

    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def kept(self) -> list[Verdict]:
        """Supported sentences, in order."""
        return [v for v in self.verdicts if v.supported]

    @property
    def dropped(self) -> int:
        """How many sentences were removed."""
        return sum(not v.supported for v in self.verdicts)

    @property
    def text(self) -> str:
        """The answer made of supported sentences with their markers."""
        return " ".join(f"{v.sentence} " + "".join(f"[{n}]" for n in v.cites) for v in self.kept)


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """Split answer text into ``(sentence, cited numbers)``; a trailing uncited part gets no numbers."""
    claims: list[tuple[str, list[int]]] = []
    pos = 0
    for m in _CLAIM.finditer(text):
        sentence = m.group(1).strip()
        if sentence:
            claims.append((sentence, [int(n) for n in _MARKERS.findall(m.group(2))]))
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        claims.append((rest, []))
    return claims


def _unsupported_numbers(sentence: str, evidence: str) -> list[str]:
    """The sentence's numbers whose value the evidence does not state (6,247억 원 matches 624.7 billion won)."""
    have = {v for _, v in amounts(evidence)}
    for n in numbers(evidence):
        try:
            have.add(float(n))
        except ValueError:
            continue
    return [raw for raw, v in amounts(sentence) if not any(math.isclose(v, h, rel_tol=1e-9) for h in have)]


def verify_sentence(sentence: str, evidence: str, similarity: Callable[[str, str], float] | None = None) -> Verdict:
    """Check one sentence against the text it cites.

    A sentence is supported when every number in it states a value the evidence states, every capitalised name
    occurs in the evidence, and at least :data:`MIN_COVERAGE` of its content words do. A sentence in another
    language than its evidence is checked by its numbers and by ``similarity`` (the multilingual model's cosine),
    and is unsupported when no similarity is given.

    Args:
        sentence: The answer sentence without its markers.
        evidence: The cited evidence, concatenated.
        similarity: Cosine of two texts in a multilingual space, for sentences in another language.

    Returns:
        A :class:`Verdict` (``cites`` left empty for the caller to fill).

    """
    if not evidence.strip():
        return Verdict(sentence, [], False, "cites no evidence")
    missing_numbers = _unsupported_numbers(sentence, evidence)
    if missing_numbers:
        return Verdict(sentence, [], False, f"numbers not in evidence: {', '.join(missing_numbers)}")
    if language_of(sentence) != language_of(evidence):
        if similarity is None:
            return Verdict(sentence, [], False, "in another language than its evidence, with no model to compare")
        score = similarity(sentence, evidence)
        if score < MIN_CROSS_LANGUAGE_SIMILARITY:
            return Verdict(sentence, [], False, f"in another language and only {score:.2f} similar to its evidence")
        return Verdict(sentence, [], True, "", score)
    low_evidence = evidence.lower()
    missing_names = [e for e in _ENTITY.findall(sentence) if e.lower() not in low_evidence]
    if missing_names:
        return Verdict(sentence, [], False, f"names not in evidence: {', '.join(missing_names)}")
    words = tokenize(sentence)
    if not words:
        return Verdict(sentence, [], False, "no content")
    have = set(tokenize(evidence))
    coverage = sum(w in have for w in words) / len(words)
    if coverage < MIN_COVERAGE:
        return Verdict(sentence, [], False, f"only {coverage:.0%} of its words are in the evidence", coverage)
    return Verdict(sentence, [], True, "", coverage)


def verify_answer(text: str, evidence: Mapping[int, str]) -> Verification:
    """Check every sentence of an answer against the evidence its ``[n]`` markers point to.

    Args:
        text: Answer text with ``[n]`` markers after sentences.
        evidence: Citation number to the evidence text given for it.

    Returns:
        A :class:`Verification`; its ``text`` keeps only supported sentences.

    """
    result = Verification()
    for sentence, cites in split_claims(text):
        if not cites:
            verdict = Verdict(sentence, cites, False, "no citation")
        elif unknown := [n for n in cites if n not in evidence]:
            verdict = Verdict(sentence, cites, False, f"cites evidence that was not given: {unknown}")
        else:
            verdict = verify_sentence(sentence, "\n".join(evidence[n] for n in cites))
            verdict.cites = cites
        result.verdicts.append(verdict)
    return result
