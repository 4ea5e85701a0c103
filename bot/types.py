"""The one ``Answer`` and ``Citation`` shape every surface (CLI, web, API, eval) uses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """One numbered source span. ``quote`` is ``extracted_text[char_start:char_end]`` of ``source``."""

    n: int = Field(description="The number shown as [n] in the answer text.")
    source: str = Field(description="Source id: kb/sources/... or an absolute path.")
    title: str
    section: str = Field(description="Heading path or 'Article N (Title)'.")
    quote: str = Field(description="The exact cited span of the source's extracted text.")
    char_start: int
    char_end: int
    url: str = ""
    chunk_id: str = ""
    as_of: str = ""


class Retrieved(BaseModel):
    """A chunk the retriever returned, with its fused score and rank."""

    id: str
    score: float
    rank: int
    dense: float | None = None
    bm25: float | None = None
    source: str = ""
    section: str = ""
    cited: bool = False


class Turn(BaseModel):
    """One message of a conversation."""

    role: Literal["user", "assistant"]
    content: str


#: What the bot decided: answer, or decline for one of these reasons (presentation switches on it).
Decision = Literal[
    "answered", "low_confidence", "unstated_focus", "false_premise", "after_date", "instructions_only", "refusal"
]


class Answer(BaseModel):
    """What the bot says and everything that backs it."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = False
    refused: bool = False
    decision: Decision = Field("answered", description="Answered, or the kind of abstention or refusal.")
    reason: str = Field("", description="Detail of the decision for people (why it abstained or refused).")
    premise: str = Field("", description="For a false_premise decision: what the question takes as given.")
    language: Literal["en", "ko"] = Field("en", description="The question's language; the answer's wording follows it.")
    note: str = Field(
        "", description="Said before the quotes, e.g. that a Korean question is answered from English sources."
    )
    confidence: float = 0.0
    retrieved: list[Retrieved] = Field(default_factory=list)
    rewritten_question: str = Field("", description="The question used for retrieval after follow-up rewriting.")
    mode: str = Field("extractive", description="Which writer produced the text: extractive or generative.")
    dropped_sentences: int = Field(0, description="Sentences removed because their evidence did not support them.")
    fallback: bool = Field(False, description="Generative mode fell back to the extractive answer.")
    answer_id: str = Field(
        "", description="The server's signature of this answer; feedback must carry it (forged answers are refused)."
    )
    fallback_reason: str = ""
