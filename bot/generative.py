"""Generative answers through an OpenAI-compatible LLM server, guarded sentence by sentence.

The model sees numbered evidence (the retrieved chunks, with any instruction-like sentences removed, delimited as
data). Its reply is split into sentences; a sentence survives only when every ``[n]`` it carries names evidence
that was given and :func:`bot.verify.verify_sentence` (the same check the extractive writer and the eval use)
finds it supported by that evidence: its numbers, dates, amounts and names all occur there, and enough of its
words. Each kept sentence cites the exact evidence sentence that best backs it, so every citation stays a verbatim
span of its source.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from bot.extractive import EVIDENCE_CHUNKS, citation
from bot.policy import gives_orders
from bot.retrieval import Hit
from bot.types import Citation, Turn
from bot.verify import split_claims, verify_sentence
from kb.errors import KBError
from kb.settings import Settings
from kb.text import split_sentences, tokenize

log = logging.getLogger(__name__)

NOT_IN_KB = re.compile(r"not in the knowledge base", re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)


class LLMError(KBError):
    """The LLM server failed (timeout, refused connection, 5xx, malformed reply)."""


@cache
def prompt(name: str) -> str:
    """A prompt template shipped as package data (``bot/prompts/<name>.md``)."""
    return resources.files("bot").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")


@dataclass
class Evidence:
    """One numbered piece of evidence: a retrieved chunk and the sentence spans the model may rely on."""

    n: int
    hit: Hit
    spans: list[tuple[int, int]]  # offsets into the chunk text of the sentences kept

    @property
    def text(self) -> str:
        """The evidence as the model sees it."""
        return " ".join(self.hit.chunk.text[a:b] for a, b in self.spans)


def _outside_comments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``text[start:end]`` outside HTML comments, trimmed (a comment is never evidence)."""
    pieces, pos = [], start
    for m in _COMMENT.finditer(text, start, end):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, end))
    out = []
    for a, b in pieces:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b - a > 1:
            out.append((a, b))
    return out


def build_evidence(hits: Sequence[Hit], limit: int = EVIDENCE_CHUNKS) -> list[Evidence]:
    """Number the top chunks; sentences that give orders ("ignore previous instructions") are left out."""
    out: list[Evidence] = []
    for hit in hits[:limit]:
        text = hit.chunk.text
        spans = [
            (a, b)
            for span in split_sentences(text)
            for a, b in _outside_comments(text, *span)
            if not gives_orders(text[a:b])
        ]
        if spans:
            out.append(Evidence(len(out) + 1, hit, spans))
    return out


def messages(question: str, evidence: Sequence[Evidence]) -> list[tuple[str, str]]:
    """The chat messages for one question: the rules, then the delimited evidence and the question."""
    blocks = "\n\n".join(
        f'<evidence n="{e.n}" title="{e.hit.chunk.meta.get("title", "")}" section="{e.hit.chunk.meta.get("section", "")}">\n'
        f"{e.text}\n</evidence>"
        for e in evidence
    )
    user = prompt("answer_user").replace("{evidence}", blocks).replace("{question}", question)
    return [("system", prompt("answer_system")), ("user", user)]


class LLMClient:
    """The LangChain OpenAI chat client for the server named by settings."""

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        self.settings = settings
        self.model = ChatOpenAI(
            model=settings.llm_model or "default",
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key or "not-needed",  # type: ignore[arg-type]
            timeout=settings.llm_timeout,
            max_retries=0,
            temperature=0,
            max_tokens=settings.llm_max_tokens,  # type: ignore[call-arg]
        )

    def complete(self, chat: list[tuple[str, str]]) -> str:
        """The model's reply text.

        Raises:
            LLMError: for a timeout, a refused connection, an HTTP error or a reply without text.

        """
        try:
            reply = self.model.invoke(chat)
        except Exception as exc:  # noqa: BLE001 - every client failure degrades the same way
            raise LLMError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}") from None
        content: Any = reply.content
        if isinstance(content, list):
            content = "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
        if not isinstance(content, str):
            raise LLMError("the reply has no text")
        return content.strip()


@dataclass
class Guarded:
    """The guarded generative answer."""

    text: str
    citations: list[Citation]
    dropped: int
    model_declined: bool


def _best_span(sentence: str, e: Evidence) -> tuple[int, int]:
    words = set(tokenize(sentence))
    text = e.hit.chunk.text
    return max(e.spans, key=lambda s: (len(words & set(tokenize(text[s[0] : s[1]]))), -s[0]))


def guard(reply: str, evidence: Sequence[Evidence], similarity: Callable[[str, str], float] | None = None) -> Guarded:
    """Keep only the reply's sentences that cite given evidence and are supported by it.

    Args:
        reply: The model's text.
        evidence: The evidence it was given.
        similarity: Multilingual cosine of two texts, to check a sentence written in another language than its
            evidence (a Korean answer from English sources).

    Returns:
        The kept sentences renumbered ``[1]..[k]`` in order of first citation, with one citation per evidence
        sentence that backs them, and how many sentences were dropped.

    """
    claims = split_claims(reply)
    if NOT_IN_KB.search(reply) and len(claims) <= 1:
        return Guarded("", [], 0, model_declined=True)
    by_n = {e.n: e for e in evidence}
    kept: list[tuple[str, list[Evidence]]] = []
    dropped = 0
    for sentence, cites in claims:
        cited = [by_n[n] for n in dict.fromkeys(cites) if n in by_n]
        ok = (
            bool(cites)
            and len(cited) == len(set(cites))
            and not gives_orders(sentence)
            and not NOT_IN_KB.search(sentence)
            and verify_sentence(sentence, " ".join(e.text for e in cited), similarity).supported
        )
        if ok:
            kept.append((sentence, cited))
        else:
            dropped += max(1, len(split_sentences(sentence)))  # an uncited run of sentences counts each one
    citations: list[Citation] = []
    numbers: dict[tuple[str, int], int] = {}
    parts = []
    for sentence, cited in kept:
        marks = []
        for e in cited:
            a, b = _best_span(sentence, e)
            key = (e.hit.chunk.id, a)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                base = int(e.hit.chunk.meta["char_start"])
                citations.append(citation(numbers[key], e.hit, base + a, base + b))
            marks.append(f"[{numbers[key]}]")
        parts.append(f"{sentence} {''.join(marks)}")
    return Guarded(" ".join(parts), citations, dropped, model_declined=False)


def condense_with_llm(client: LLMClient, question: str, history: Sequence[Turn]) -> str:
    """A standalone version of a follow-up question, written by the model.

    Raises:
        LLMError: when the server fails or the reply is not a usable question.

    """
    conversation = "\n".join(f"{t.role}: {t.content[:600]}" for t in history[-6:])
    text = prompt("condense").replace("{conversation}", conversation).replace("{question}", question)
    rewritten = client.complete([("user", text)]).strip().strip('"')
    if not rewritten or len(rewritten) > 400 or "\n" in rewritten:
        raise LLMError("the rewritten question is empty or not one line")
    return rewritten
