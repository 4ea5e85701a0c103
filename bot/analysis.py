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

from kb.text import language_of, numbers, tokenize

AnswerType = Literal["date", "amount", "who", "other"]

_WHEN = re.compile(
    r"^\s*(?:when|what (?:date|day|time|year|month))\b|\bwhen\b|언제|며칠|몇\s*(?:월|년|일)|날짜|시점|기한|마감", re.I
)
_HOW_MUCH = re.compile(
    r"\bhow (?:much|many|big|large|long)\b|\b(?:amount|number|count|percent|fine|total|figure|cost)\b"
    r"|얼마|몇\s*(?:명|개|건|만|억|퍼센트|%)|금액|액수|규모|과징금|벌금|과태료",
    re.I,
)
# "Who ..." and "Which company/agency/court ..." ask for a name.
_WHO = re.compile(
    r"^\s*who\b|^\s*(?:which|what) (?:\w+ )?(?:compan(?:y|ies)|groups?|agenc(?:y|ies)|(?:law )?firms?"
    r"|organi[sz]ations?|courts?|officials?|ministr(?:y|ies)|bod(?:y|ies))\b"
    r"|누가|누구|어느\s*(?:회사|기관|부처|법원|곳)|어떤\s*(?:기관|회사|사람)",
    re.I,
)
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+\b")
#: "Why did Coupang hide ...": a named subject and the act the question takes as given.
_PREMISE_ACT = re.compile(
    r"^\s*(?i:why|how) (?i:did|does|do|has|have|had)(?:n't| not)?\s+(?:the\s+)?"
    r"((?:[A-Z][\w.&'-]*\s+)+(?:(?:founder|chairman|chief|head|president|minister|executive|spokesperson)\s+"
    r"(?:[A-Z][\w.&'-]*\s+)+)?)([a-z]+)\b"
)


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
        language="ko" if language_of(text) == "ko" else "en",
    )
