"""The answering service: built once per process, shared by the CLI, the web page, the API and eval."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bot.analysis import analyse
from bot.condense import clean_question, condense, is_follow_up, split_parts
from bot.extractive import (
    EVIDENCE_CHUNKS,
    Candidate,
    SentenceCache,
    Unstated,
    candidates,
    citation,
    prefer_language,
    select,
    unstated_focus,
)
from bot.policy import is_personal_data_request
from bot.retrieval import Hit, Index
from bot.scorer import Scorer, load_scorer
from bot.types import Answer, Citation, Decision, Retrieved, Turn
from bot.verify import verify_answer
from kb.embeddings import Embedder, get_embedder, model_for
from kb.errors import InputError
from kb.persisted import load_or_build
from kb.profile import QUOTING_OTHER_LANGUAGE, STORE_KEY, Profile, generic_profile, parse_profile, read_profile
from kb.settings import Settings
from kb.store import Store, open_store
from kb.text import language_of

log = logging.getLogger(__name__)

#: Seconds between checks that the store has not been changed by another process (an ingest).
_RECHECK = 5.0
#: A sentence enters the answer when its probability is at least this share of the best sentence's. On dev, 0.3 and
#: 0.5 gave the same fact recall (0.548 / 0.545) and 0.5 the better citation precision (0.771 / 0.765).
_RELATIVE = 0.5
#: Most documents one answer cites. On dev a third document lowered citation precision (0.765 -> 0.736) and added no
#: fact recall.
_MAX_SOURCES = 2
_YEAR = re.compile(r"(?<![\d,.])(20\d\d)(?!\d|,\d)")
_FUTURE = re.compile(
    r"\b(?:next year|in the future|will .{0,40} (?:in|by) 20\d\d|tomorrow|next week|next month)\b"
    r"|내년|내일|다음\s*(?:주|달|해)",
    re.I,
)

_LATE_IN_YEAR = re.compile(
    r"\b(?:full|whole|entire) year(?: of)? (20\d\d)\b|\b(?:end|second half|last quarter|fourth quarter|Q4) of (20\d\d)\b",
    re.I,
)


@dataclass
class _State:
    question: str
    history: list[Turn]
    k: int
    kind: str | None = None
    topic: str | None = None
    query: str = ""
    clean: str = ""
    #: One ``(text, query, vector, hits)`` per part of a question that asks two things.
    parts: list[tuple[str, str, np.ndarray, list[Hit]]] = field(default_factory=list)
    unstated: Unstated = field(default_factory=lambda: Unstated("", ""))
    hits: list[Hit] = field(default_factory=list)
    chosen: list[Candidate] = field(default_factory=list)
    confidence: float = 0.0
    language: str = "en"


class AnswerService:
    """Answers questions from the knowledge base with verified citations.

    Args:
        settings: Product settings.
        embedder: The loaded model (shared).
        store: The open store (shared).

    """

    def __init__(self, settings: Settings, embedder: Embedder, store: Store) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self._version = store.version
        self.index, self.sentences = self._load_index()
        self._checked = time.monotonic()
        self._reloading = threading.Lock()
        # One answer at a time: the steps share the model and caches, and each takes milliseconds, so the
        # web and API threads queue here rather than oversubscribe two cores.
        self._lock = threading.Lock()
        self.embedder.encode(["warm-up"])  # the first forward pass is slow; pay it at start-up

    @cached_property
    def scorer(self) -> Scorer:
        """The fitted sentence scorer (``bot/scorer.json``, checked against the code by the tests).

        Calibration puts an unfitted one in its place: it reads the candidates' features, never their scores.
        """
        return load_scorer()

    @cached_property
    def threshold(self) -> float:
        """The confidence below which the service abstains: ``KB_ABSTAIN_THRESHOLD``, else the scorer's."""
        return self.settings.abstain_threshold if self.settings.abstain_threshold is not None else self.scorer.threshold

    def _load_index(self) -> tuple[Index, SentenceCache]:
        data = load_or_build(self.settings, self.store, self.embedder)
        # The saved sentence vectors are memory-mapped (workers share one copy); read them in once, in the
        # background, so that the first questions do not wait for the disk.
        threading.Thread(target=_read_through, args=(data.vectors,), daemon=True).start()
        sentences = SentenceCache(self.embedder)
        sentences.seed(data)
        return Index(self.store, self.embedder, data), sentences

    def refresh(self, force: bool = False) -> bool:
        """Take up what another process ingested since start; returns whether it reloaded.

        When the store's content version has changed, the saved index is loaded (or rebuilt) and swapped in. It is
        checked at most every :data:`_RECHECK` seconds; one thread reloads while the others keep answering from the
        old index.
        """
        now = time.monotonic()
        if not force and now - self._checked < _RECHECK:
            return False
        self._checked = now
        if not self._reloading.acquire(blocking=False):
            return False
        try:
            version = self.store.current_version()
            if version == self._version:
                return False
            log.warning("The store changed (content version %s): loading its index.", version[:8])
            index, sentences = self._load_index()
            # Swapped under the answer lock: an answer retrieves and scores from one index, never half of each.
            with self._lock:
                self.index, self.sentences, self._version = index, sentences, version
                for name in ("profile", "common_names", "as_of", "documents"):
                    self.__dict__.pop(name, None)
            return True
        finally:
            self._reloading.release()

    @cached_property
    def profile(self) -> Profile:
        """The corpus profile: ``KB_PROFILE``, else the one ingested with the store, else one built from the titles."""
        if self.settings.profile is not None:
            return parse_profile(read_profile(self.settings.profile), str(self.settings.profile))
        text = self.store.metadata.get(STORE_KEY)
        if isinstance(text, str) and text.strip():
            return parse_profile(text, "recorded with the store")
        return generic_profile([d["title"] for d in self.documents])

    @cached_property
    def common_names(self) -> frozenset[str]:
        """Names that pin nothing down: the profile's, and any capitalised word in over a third of the documents."""
        counts: dict[str, int] = {}
        # Counted over the documents written in Latin script: a Korean translation adds no capitalised words, and
        # must not make the English documents' names look rare.
        latin = [t for t in self.doc_texts().values() if language_of(t) == "en"]
        for text in latin:
            for name in set(re.findall(r"\b[A-Z][A-Za-z]+\b", text)):
                counts[name] = counts.get(name, 0) + 1
        many = len(latin) / 3
        return frozenset(self.profile.common_names) | {n for n, c in counts.items() if c > many}

    @cached_property
    def as_of(self) -> str:
        """The knowledge base's date: the latest ``as_of`` of its documents."""
        return self.index.as_of

    @cached_property
    def documents(self) -> list[dict[str, Any]]:
        """One entry per source document: title, kind, date, topics, link and chunk count, sorted by kind and title."""
        docs: dict[str, dict[str, Any]] = {}
        for c in self.index.chunks:
            m = c.meta
            doc = docs.setdefault(
                str(m["source"]),
                {
                    "source": str(m["source"]),
                    "title": str(m.get("title", "")),
                    "kind": str(m.get("kind", "")),
                    "as_of": str(m.get("as_of", "")),
                    "topics": [t for t in str(m.get("topics", "")).split(",") if t],
                    "url": str(m.get("url", "")),
                    "chunks": 0,
                },
            )
            doc["chunks"] += 1
        return sorted(docs.values(), key=lambda d: (d["kind"], d["title"].lower()))

    def doc_texts(self) -> dict[str, str]:
        """Each document's chunks joined, by source id (for checks that need a whole document's words)."""
        texts: dict[str, list[str]] = {}
        for c in self.index.chunks:
            texts.setdefault(str(c.meta["source"]), []).append(c.text)
        return {k: "\n".join(v) for k, v in texts.items()}

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """Top chunks for a query (the same fused retrieval answers use), for the staff console.

        Raises:
            InputError: for an empty query or ``k`` outside 1..50.

        """
        if not query.strip():
            raise InputError("The search query is empty.")
        if not 1 <= k <= 50:
            raise InputError(f"Invalid k '{k}': choose a whole number from 1 to 50.")
        self.refresh()
        languages = self.index.readable(language_of(query))  # the sources an answer in this language would use
        with self._lock:
            return self.index.retrieve(query.strip(), k, languages=languages)

    @cached_property
    def chain(self) -> Any:
        """The pipeline as a LangChain runnable: ``{"question", "history"}`` -> :class:`Answer`."""
        from bot.chain import build_chain

        return build_chain(self.run)

    def answer(
        self,
        question: str,
        history: Sequence[Turn | dict[str, str]] = (),
        k: int | None = None,
        *,
        kind: str | None = None,
        topic: str | None = None,
    ) -> Answer:
        """Answer a question, with citations, or abstain/refuse.

        Args:
            question: The user's question.
            history: Earlier turns (``Turn`` or ``{"role", "content"}``), oldest first.
            k: Chunks to retrieve (default ``KB_TOP_K``).
            kind: Only use ``article`` or ``law`` documents.
            topic: Only use documents with this topic.

        Returns:
            The :class:`Answer`.

        Raises:
            InputError: for an empty or over-long question, bad history or bad ``k``/``kind``.

        """
        self.refresh()
        answer: Answer = self.chain.invoke(
            {"question": question, "history": list(history), "k": k, "kind": kind, "topic": topic}
        )
        return answer.model_copy(update={"answer_id": self.sign(answer)})

    @cached_property
    def _key(self) -> bytes:
        return (self.settings.secret or home_secret(self.settings)).encode()

    def sign(self, answer: Answer) -> str:
        """The id of an answer this server gave: an HMAC of what it said, so a client cannot forge one."""
        said = [answer.question, answer.text, answer.decision, [(c.source, c.quote) for c in answer.citations]]
        digest = hmac.new(self._key, json.dumps(said, ensure_ascii=False).encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def issued(self, answer: Answer) -> bool:
        """Whether ``answer`` is exactly one this server gave (its ``answer_id`` matches what it says)."""
        return hmac.compare_digest(answer.answer_id, self.sign(answer))

    def run(self, request: dict[str, Any]) -> Answer:
        """The whole pipeline, one step after another, returning as soon as the answer is decided.

        validate -> refuse? -> clean and condense -> after the knowledge base's date? -> retrieve -> score sentences
        -> abstain? -> cite and verify -> (generative mode) let the LLM write from the evidence, guarded.
        """
        state = self.validate(request)
        if is_personal_data_request(state.question):
            return Answer(
                question=state.question,
                text=self.profile.in_language(state.language).refusal,
                language=state.language,  # type: ignore[arg-type]
                abstained=True,
                refused=True,
                decision="refusal",
                reason="personal-data request",
            )
        # Only the steps that share the model and the caches hold the lock, never an LLM call.
        state.clean = self._clean(state.question)
        if not state.clean:
            return self._abstain(state, "instructions_only", "the message gives instructions and asks nothing")
        state.query = self._condense(state)
        later = self._after_knowledge_base(state.question)
        if later:
            return self._abstain(state, "after_date", later)
        with self._lock:
            self._retrieve(state)
            self._write(state)
        answer = self._extractive(state)
        if not self.settings.generative or answer.abstained:
            return answer  # refusals and abstentions (all decided above) never reach the model
        return self._generate(state, answer)

    def validate(self, inp: dict[str, Any]) -> _State:
        """Check the request.

        Raises:
            InputError: for an empty or over-long question, bad history or bad ``k``/``kind``.

        """
        question = inp.get("question")
        if not isinstance(question, str) or not question.strip():
            raise InputError(f"The question is empty: ask something about {self.profile.subject}.")
        question = question.strip()
        if len(question) > self.settings.max_question_chars:
            raise InputError(
                f"The question is too long ({len(question)} characters; the limit is {self.settings.max_question_chars})."
            )
        try:
            history = [t if isinstance(t, Turn) else Turn.model_validate(t) for t in inp.get("history") or []]
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"Invalid history: each turn needs 'role' ('user' or 'assistant') and 'content'. {str(exc).splitlines()[0]}"
            ) from None
        limits = self.settings
        if len(history) > limits.max_history_turns:
            raise InputError(
                f"The history is too long ({len(history)} turns; the limit is {limits.max_history_turns}, "
                "KB_MAX_HISTORY_TURNS)."
            )
        chars = sum(len(t.content) for t in history)
        if chars > limits.max_history_chars:
            raise InputError(
                f"The history is too long ({chars} characters; the limit is {limits.max_history_chars}, "
                "KB_MAX_HISTORY_CHARS)."
            )
        for text in (question, *(t.content for t in history)):
            check_unicode(text)
        k = inp.get("k")
        k = self.settings.top_k if k is None else k
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
            raise InputError(f"Invalid k '{k}': choose a whole number from 1 to 50.")
        kind = inp.get("kind")
        if kind not in (None, "article", "law"):
            raise InputError(f"Invalid kind '{kind}'. Choose from 'article', 'law'.")
        return _State(question, history, k, kind, inp.get("topic"), language=analyse(question).language)

    def query_for(self, question: str, history: Sequence[Turn] = ()) -> str:
        """The retrieval query the pipeline builds for a question: cleaned, in the corpus's words, condensed."""
        return self._prepared(question, history).query

    def _prepared(self, question: str, history: Sequence[Turn]) -> _State:
        state = self.validate({"question": question, "history": list(history)})
        state.clean = self._clean(state.question) or state.question
        state.query = self._condense(state)
        return state

    def scored_parts(self, question: str, history: Sequence[Turn] = ()) -> list[list[Candidate]]:
        """Every candidate sentence, with features and probability, for each part of a question (for calibration)."""
        state = self._prepared(question, history)
        with self._lock:
            self._retrieve(state)
            return [self._candidates(*part) for part in state.parts]

    def _candidates(self, text: str, query: str, vec: np.ndarray, hits: list[Hit]) -> list[Candidate]:
        """One part's evidence sentences with features and probabilities, the same at run time and calibration."""
        return candidates(
            analyse(text),
            query,
            vec,
            hits[:EVIDENCE_CHUNKS],
            self.sentences,
            self.index,
            self.scorer,
            self.common_names,
        )

    def _clean(self, question: str) -> str:
        """The question without orders, personal data, chat-speak and typos, in the corpus's words."""
        return self._corpus_words(clean_question(question, self.index.words, self.index.vocab))

    def _corpus_words(self, text: str) -> str:
        """The words people use replaced by the ones the documents use (the profile's synonyms)."""
        synonyms = self.profile.synonyms
        if not synonyms:
            return text
        return re.sub(r"[A-Za-z]+", lambda m: synonyms.get(m.group(0).lower(), m.group(0)), text)

    def _retrieve(self, state: _State) -> None:
        """Fetch the chunks for the query (for each part, when the question asks two things)."""
        texts = split_parts(state.clean)
        queries = [state.query] if len(texts) == 1 else [condense(t, state.history) for t in texts]
        vectors = self.embedder.encode(queries, query=True)
        for text, query, vec in zip(texts, queries, vectors, strict=True):
            hits = self.index.retrieve(
                query,
                state.k,
                kind=state.kind,
                topic=state.topic,
                query_vector=vec,
                languages=self.index.readable(state.language),
            )
            state.parts.append((text, query, vec, hits))
        state.hits = _merge([hits for *_, hits in state.parts])

    def _write(self, state: _State) -> None:
        """Choose evidence sentences for each part; the best sentence's probability is the confidence."""
        scored = []
        for text, query, vec, hits in state.parts:
            cands = prefer_language(self._candidates(text, query, vec, hits), state.language, _RELATIVE)
            conf = self.scorer.confidence(np.asarray([c.features for c in cands], dtype=np.float64))
            scored.append((text, query, cands, conf))
        confidences = [conf for *_, conf in scored]
        for i, (text, _query, cands, confidence) in enumerate(scored):
            if confidence < self.threshold:
                continue
            # The parts share the answer's length: each gets its share of what is left, and at least two.
            left = self.settings.max_sentences - len(state.chosen)
            share = max(2, -(-left // (len(scored) - i)))
            chosen = select(cands, share, _RELATIVE, _MAX_SOURCES)
            missing = unstated_focus(analyse(text), chosen, self.common_names)
            if missing:
                state.unstated = missing
                continue
            seen = {(o.hit.chunk.id, o.start) for o in state.chosen}
            state.chosen += [c for c in chosen if (c.hit.chunk.id, c.start) not in seen]
        state.confidence = max(confidences, default=0.0)

    def _generate(self, state: _State, answer: Answer) -> Answer:
        """Let the LLM write from the evidence, keep only guarded sentences, else fall back to ``answer``."""
        from bot.generative import LLMError, build_evidence, guard, messages

        evidence = build_evidence(state.hits)
        try:
            reply = self.llm.complete(messages(state.clean, evidence))
        except LLMError as exc:
            log.warning("LLM server failed, answering extractively: %s", exc)
            return answer.model_copy(update={"fallback": True, "fallback_reason": f"LLM error: {exc}"})
        guarded = guard(reply, evidence, self.similarity)
        if not guarded.citations:
            why = (
                "the model found no answer in the evidence"
                if guarded.model_declined
                else "no sentence passed the guard"
            )
            return answer.model_copy(
                update={"fallback": True, "fallback_reason": why, "dropped_sentences": guarded.dropped}
            )
        cited = {c.chunk_id for c in guarded.citations}
        return answer.model_copy(
            update={
                "text": guarded.text,
                "citations": guarded.citations,
                "mode": "generative",
                "dropped_sentences": guarded.dropped,
                "retrieved": self._retrieved(state, cited),
            }
        )

    def similarity(self, a: str, b: str) -> float:
        """Cosine of two texts by the model that serves both their languages (for cross-language checks)."""
        va, vb = model_for(self.embedder, {language_of(a), language_of(b)}).encode([a, b])
        norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
        return float(va @ vb) / norm if norm else 0.0

    @cached_property
    def llm(self) -> Any:
        """The LLM client (generative mode only)."""
        from bot.generative import LLMClient

        return LLMClient(self.settings)

    def _extractive(self, state: _State) -> Answer:
        citations = [self._cite(n, c) for n, c in enumerate(state.chosen, start=1)]
        draft = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        checked = verify_answer(draft, {c.n: c.quote for c in citations})
        kept = {n for v in checked.kept for n in v.cites}
        citations = [c for c in citations if c.n in kept]
        if not citations:
            if state.confidence < self.threshold:
                return self._abstain(state, "low_confidence", f"confidence {state.confidence:.3f} is below the bar")
            if state.unstated.premise:
                return self._abstain(state, "false_premise", state.unstated.detail, premise=state.unstated.premise)
            if state.unstated.detail:
                return self._abstain(state, "unstated_focus", state.unstated.detail)
            return self._abstain(state, "low_confidence", "no sentence of the evidence survived verification")
        renumber = {c.n: i for i, c in enumerate(citations, start=1)}
        for c in citations:
            c.n = renumber[c.n]
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        cited_ids = {c.chunk_id for c in citations}
        other = all(language_of(c.quote) != state.language for c in citations)
        return Answer(
            question=state.question,
            text=text,
            language=state.language,  # type: ignore[arg-type]
            note=QUOTING_OTHER_LANGUAGE.get(state.language, "") if other else "",
            citations=citations,
            confidence=round(state.confidence, 4),
            retrieved=self._retrieved(state, cited_ids),
            rewritten_question=state.query,
            dropped_sentences=checked.dropped,
        )

    # --- helpers ----------------------------------------------------------------------------------

    def _condense(self, state: _State) -> str:
        """The standalone query: the LLM rewrites follow-ups in generative mode, else (or on failure) the rules do."""
        if self.settings.generative and state.history and is_follow_up(state.clean):
            from bot.generative import LLMError, condense_with_llm

            try:
                return condense_with_llm(self.llm, state.clean, state.history)
            except LLMError as exc:
                log.warning("LLM rewrite failed, using the rule-based rewrite: %s", exc)
        return self._corpus_words(condense(state.clean, state.history))

    def _cite(self, n: int, c: Candidate) -> Citation:
        return citation(n, c.hit, c.start, c.end)

    def _retrieved(self, state: _State, cited: set[str]) -> list[Retrieved]:
        return [
            Retrieved(
                id=h.chunk.id,
                score=round(h.score, 6),
                rank=h.rank,
                dense=None if h.dense is None else round(h.dense, 4),
                bm25=None if h.bm25 is None else round(h.bm25, 4),
                source=str(h.chunk.meta.get("source", "")),
                section=str(h.chunk.meta.get("section", "")),
                cited=h.chunk.id in cited,
            )
            for h in state.hits
        ]

    def _after_knowledge_base(self, question: str) -> str:
        last_year = int(self.as_of[:4]) if self.as_of[:4].isdigit() else None
        years = [int(y) for y in _YEAR.findall(question)]
        if last_year and years and max(years) > last_year:
            return f"asks about {max(years)}, after the knowledge base's date ({self.as_of})"
        late = _LATE_IN_YEAR.search(question)
        if late and self.as_of[5:7].isdigit() and int(self.as_of[5:7]) < 12:
            year = int(late.group(1) or late.group(2))
            if last_year and year >= last_year:
                return f"asks about the rest of {year}, after the knowledge base's date ({self.as_of})"
        if _FUTURE.search(question):
            return f"asks about the future; the knowledge base runs to {self.as_of}"
        return ""

    def _abstain(self, state: _State, decision: Decision, detail: str, premise: str = "") -> Answer:
        p = self.profile.in_language(state.language)
        lead = {
            "after_date": p.after_date.format(as_of=self.as_of),
            "false_premise": p.false_premise.format(premise=premise),
            "instructions_only": p.instructions_only,
        }.get(decision, p.no_answer)
        text = f"{lead} {p.scope}".strip()
        return Answer(
            question=state.question,
            text=text,
            abstained=True,
            language=state.language,  # type: ignore[arg-type]
            decision=decision,
            reason=detail,
            premise=premise,
            confidence=round(state.confidence, 4),
            retrieved=self._retrieved(state, set()),
            rewritten_question=state.query,
        )


def _read_through(array: np.ndarray, rows: int = 65536) -> None:
    """Touch every page of a (memory-mapped) array."""
    for i in range(0, len(array), rows):
        float(np.asarray(array[i : i + rows]).sum())


def home_secret(settings: Settings) -> str:
    """The key in ``KB_HOME/secret`` (made on first use, mode 0600), shared by every worker serving that home."""
    path = settings.home / "secret"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    except OSError:
        log.warning("Cannot write %s: answer ids are signed with a key of this process only.", path)
        return secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def check_unicode(text: str) -> None:
    """Raise :class:`InputError` for text that cannot be written as UTF-8 (a lone surrogate, for example)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("The text holds characters that are not valid Unicode (a lone surrogate).", 422) from None


def _merge(rankings: list[list[Hit]]) -> list[Hit]:
    """Interleave several hit lists (one per question part), each chunk once, ranks renumbered."""
    if len(rankings) == 1:
        return rankings[0]
    seen: set[str] = set()
    merged: list[Hit] = []
    for row in itertools.zip_longest(*rankings):
        for hit in row:
            if hit is not None and hit.chunk.id not in seen:
                seen.add(hit.chunk.id)
                merged.append(dataclasses.replace(hit, rank=len(merged) + 1))
    return merged


_SERVICE_LOCK = threading.Lock()
_SERVICES: dict[tuple[str, str, str], AnswerService] = {}


def get_service(settings: Settings) -> AnswerService:
    """Build the answering service once per (store, collection) and reuse it.

    Args:
        settings: Where the store is and how to answer.

    Returns:
        The shared :class:`AnswerService`.

    Raises:
        StoreError: when the store is missing or was built with another model.

    """
    key = (str(settings.chroma_host or settings.chroma_path.resolve()), str(settings.chroma_port), settings.collection)
    with _SERVICE_LOCK:
        if key not in _SERVICES:
            embedder = get_embedder(settings)
            _SERVICES[key] = AnswerService(settings, embedder, open_store(settings, embedder))
        return _SERVICES[key]


def reset_services() -> None:
    """Forget built services (after an ingest changed the store, or between tests)."""
    with _SERVICE_LOCK:
        _SERVICES.clear()
