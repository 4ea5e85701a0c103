"""Follow-up rewriting: make "and what was the fine?" a standalone query using earlier turns."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.types import Turn
from kb.text import tokenize

_CONNECTIVE = re.compile(
    r"^\s*(?:and|also|so|then|but|plus|what about|how about|and what|and how|ok(?:ay)?,?|same for)\b", re.I
)
_ANAPHORA = re.compile(
    r"\b(?:it|its|that|this|those|these|they|them|their|he|she|his|her|there|then|the same|the company|the firm)\b",
    re.I,
)
_MAX_CONTEXT_WORDS = 24
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|myself|mine|am i)\b", re.I)


def is_follow_up(question: str) -> bool:
    """True when a question leans on earlier turns (a connective, a pronoun, or too few words of its own)."""
    return bool(_CONNECTIVE.search(question) or _ANAPHORA.search(question) or len(tokenize(question)) <= 2)


def condense(question: str, history: Sequence[Turn]) -> str:
    """Rewrite a follow-up question into a standalone retrieval query.

    The query keeps the new question first (it says what is asked) and adds the content words of
    the conversation's earlier user questions, each itself rewritten, so a chain of follow-ups
    keeps its topic.

    Args:
        question: The new question.
        history: Earlier turns, oldest first.

    Returns:
        The question unchanged when it stands alone, else the question with context appended.

    """
    context = ""
    for turn in history:
        if turn.role != "user":
            continue
        context = _rewrite(turn.content, context)
    query = _rewrite(question, context)
    if _FIRST_PERSON.search(question):
        # The corpus speaks of "customers" and "users", people ask about "me".
        query += " (customers users)"
    return query


def _rewrite(question: str, context: str) -> str:
    if not context or not is_follow_up(question):
        return question
    words = tokenize(context)
    # Newest context words last; keep the tail so the topic of the latest turn dominates.
    tail = " ".join(words[-_MAX_CONTEXT_WORDS:])
    return f"{question.strip()} ({tail})"
