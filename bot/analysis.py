"""Question analysis, done once per question part and read by every later step.

One typed :class:`Question` holds what the answer writer, the scorer and the premise check need to know about a
question: its words, the answer type it expects, the names and numbers it pins down, the subject and act a
"why did X ..." question takes as given, and its language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from kb.text import numbers, tokenize

AnswerType = Literal["date", "amount", "who", "other"]

_WHEN = re.compile(r"^\s*(?:when|what (?:date|day|time|year|month))\b|\bwhen\b", re.I)
_HOW_MUCH = re.compile(
    r"\bhow (?:much|many|big|large|long)\b|\b(?:amount|number|count|percent|fine|total|figure|cost)\b", re.I
)
# "Who ..." and "Which company/agency/court ..." ask for a name.
_WHO = re.compile(
    r"^\s*who\b|^\s*(?:which|what) (?:\w+ )?(?:compan(?:y|ies)|groups?|agenc(?:y|ies)|(?:law )?firms?"
    r"|organi[sz]ations?|courts?|officials?|ministr(?:y|ies)|bod(?:y|ies))\b",
    re.I,
)
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+\b")
#: "Why did Coupang hide ...": a named subject and the act the question takes as given.
_PREMISE_ACT = re.compile(
    r"^\s*(?i:why|how) (?i:did|does|do|has|have|had)(?:n't| not)?\s+(?:the\s+)?"
    r"((?:[A-Z][\w.&'-]*\s+)+(?:(?:founder|chairman|chief|head|president|minister|executive|spokesperson)\s+"
    r"(?:[A-Z][\w.&'-]*\s+)+)?)([a-z]+)\b"
)
_HANGUL = re.compile(r"[가-힣]")


@dataclass(frozen=True)
class Question:
    """What one question (or one part of a two-part question) asks for."""

    text: str
    tokens: tuple[str, ...]
    answer_type: AnswerType
    names: tuple[str, ...]
    numbers: frozenset[str]
    premise_subject: str
    premise_act: str
    language: Literal["en", "ko"]


@lru_cache(maxsize=4096)
def analyse(text: str) -> Question:
    """Analyse a question once (cached: the same text is analysed by several steps)."""
    if _WHEN.search(text):
        answer_type: AnswerType = "date"
    elif _HOW_MUCH.search(text):
        answer_type = "amount"
    elif _WHO.search(text):
        answer_type = "who"
    else:
        answer_type = "other"
    act = _PREMISE_ACT.match(text)
    if act and re.search(r"['’]s$", act.group(1).strip()):
        act = None  # "Why didn't Coupang's security catch ...": the word after a possessive is a noun, not the act
    return Question(
        text=text,
        tokens=tuple(dict.fromkeys(tokenize(text))),
        answer_type=answer_type,
        names=tuple(dict.fromkeys(_NAME.findall(text))),
        numbers=frozenset(n for n in numbers(text) if len(n) > 1),
        premise_subject=act.group(1).strip() if act else "",
        premise_act=act.group(2) if act else "",
        language="ko" if len(_HANGUL.findall(text)) * 3 > len(text.strip()) else "en",
    )
