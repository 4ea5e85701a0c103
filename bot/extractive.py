"""The extractive answer writer: pick the evidence sentences that answer, cite each one."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from bot.analysis import Question
from bot.policy import gives_orders
from bot.retrieval import Hit, Index, Lexicon
from bot.scorer import Scorer
from bot.types import Citation
from kb.embeddings import Embedder
from kb.persisted import IndexData
from kb.text import language_of, numbers, split_sentences, tokenize

#: The top retrieved chunks that either writer reads its evidence from.
EVIDENCE_CHUNKS = 6
_MIN_CHARS = 25
#: The chunks whose words count as "the evidence" for the question-level coverage features.
_TOP_CHUNKS = 3
_DUPLICATE_SIM = 0.85
_MIN_NEW = 0.4
# Two capitalised words in a row that are not just a capitalised sentence opener ("The Coupang", "In June").
_PROPER_NAME = re.compile(
    r"\b(?!(?:The|A|An|In|On|At|By|For|From|Under|After|Before|According|Since|When|While|Unlike)\b)"
    r"[A-Z][a-z]+ [A-Z][a-z]+"
)
# A person named by role ("a former Coupang developer") answers "who" as well as a name does.
_ROLE = re.compile(
    r"\b(?:[Ff]ormer|ex-)\s?(?:\w+ )?(?:employee|developer|engineer|worker|staff)|\b(?:developer|engineer|employee) of\b"
    r"|\b[A-Z][a-z]+ national(?:ity)?\b"
    r"|전\s*직원|직원|개발자|엔지니어|위원장|위원회|장관|의장|대표|사장|경찰|검찰|법원|국회|의원|[가-힣]+\s*국적"
)
_MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"(?<![\d,.])(?:19|20)\d\d(?!\d|,\d)|\b(?:{_MONTH})\b|\d{{1,2}}\s*월|\d+\s*(?:시간|일)\s*(?:이내|안에|만에)"
)
_AMOUNT = re.compile(r"\d")
# Sentences about the document itself ("This article covers ...") answer nothing.
_META = re.compile(r"^(?:This|The following|Below,?) (?:article|document|page|digest|section|note|explainer)\b", re.I)


@dataclass
class Candidate:
    """An evidence sentence with where it sits in its source and how well it answers."""

    hit: Hit
    start: int  # offset into the source's extracted text
    end: int
    text: str
    vector: np.ndarray
    semantic: float = 0.0
    lexical: float = 0.0
    score: float = 0.0
    features: list[float] = field(default_factory=list)

    @cached_property
    def tokens(self) -> frozenset[str]:
        """The sentence's word tokens (scoring, selection and the focus checks all need them)."""
        return frozenset(tokenize(self.text))


def citation(n: int, hit: Hit, start: int, end: int) -> Citation:
    """Citation ``[n]`` of the span ``start:end`` (offsets into the source's extracted text) of a retrieved chunk."""
    meta = hit.chunk.meta
    base = int(meta["char_start"])
    return Citation(
        n=n,
        source=str(meta["source"]),
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        quote=hit.chunk.text[start - base : end - base],
        char_start=start,
        char_end=end,
        url=str(meta.get("url", "")),
        chunk_id=hit.chunk.id,
        as_of=str(meta.get("as_of", "")),
    )


class SentenceCache:
    """Sentence spans and embeddings per chunk, computed once per process."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._data: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}
        self._lock = threading.Lock()
        self._seed: IndexData | None = None
        self._row: dict[str, int] = {}
        self._bounds = np.zeros(1, dtype=np.int64)

    def seed(self, data: IndexData) -> None:
        """Take chunks' sentences from a saved (or just built) index, each chunk's when it is first asked for."""
        with self._lock:
            self._seed = data
            self._row = {c.id: i for i, c in enumerate(data.chunks)}
            self._bounds = np.searchsorted(data.owner, np.arange(len(data.chunks) + 1))

    def _seeded(self, chunk_id: str) -> tuple[list[tuple[int, int]], np.ndarray] | None:
        i = self._row.get(chunk_id)
        if i is None or self._seed is None:
            return None
        lo, hi = int(self._bounds[i]), int(self._bounds[i + 1])
        spans = [(int(s), int(e)) for s, e in self._seed.spans[lo:hi]]
        return spans, np.asarray(self._seed.vectors[lo:hi], dtype=np.float32)

    def get(self, hits: Sequence[Hit]) -> dict[str, tuple[list[tuple[int, int]], np.ndarray]]:
        """Spans (relative to the chunk) and vectors for each hit's chunk, embedding what is missing."""
        for h in hits:
            if h.chunk.id not in self._data:
                found = self._seeded(h.chunk.id)
                if found is not None:
                    self._data[h.chunk.id] = found
        missing = [h.chunk for h in hits if h.chunk.id not in self._data]
        if missing:
            self.warm(missing)
        return {h.chunk.id: self._data[h.chunk.id] for h in hits}

    def warm(self, chunks: Sequence) -> None:  # type: ignore[type-arg]
        """Embed the sentences of many chunks in one batch."""
        spans = {c.id: split_sentences(c.text) for c in chunks if c.id not in self._data}
        texts = [c.text[s:e] for c in chunks if c.id in spans for s, e in spans[c.id]]
        vectors = self.embedder.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        i = 0
        with self._lock:
            for c in chunks:
                if c.id not in spans:
                    continue
                n = len(spans[c.id])
                self._data[c.id] = (spans[c.id], vectors[i : i + n])
                i += n


def _lexical(query_tokens: list[str], have: frozenset[str], lexicon: Lexicon) -> float:
    if not query_tokens:
        return 0.0
    weights = [lexicon.idf.get(t, lexicon.max_idf) for t in query_tokens]
    return sum(w for t, w in zip(query_tokens, weights, strict=True) if t in have) / sum(weights)


def _has_name(text: str) -> bool:
    return bool(_PROPER_NAME.search(text) or _ROLE.search(text))


_TYPE_CHECK = {"date": lambda t: bool(_DATE.search(t)), "amount": lambda t: bool(_AMOUNT.search(t)), "who": _has_name}


def candidates(
    question: Question,
    query: str,
    qvec: np.ndarray,
    hits: Sequence[Hit],
    cache: SentenceCache,
    index: Index,
    scorer: Scorer | None = None,
    common: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """Every sentence of the retrieved chunks with its features and, given a scorer, its probability.

    Args:
        question: The analysed question (the user's own words decide the question type).
        query: The rewritten question (decides relevance).
        qvec: Embedding of ``query``.
        hits: Retrieved chunks.
        cache: Sentence embeddings.
        index: For IDF weights and the knowledge base's words.
        scorer: The fitted scorer; without one, candidates keep ``score`` 0 (the calibration reads features).
        common: Names too common in the corpus to pin anything down.

    Returns:
        Candidates, best first.

    """
    data = cache.get(hits)
    lexicon = index.lexicon(index.readable(question.language))
    q_tokens = list(dict.fromkeys(tokenize(query)))
    own = set(question.tokens)
    names = [n for n in question.names if n not in common]
    unknown = min(3, sum(1 for t in own if not index.knows(t) and not t.isdigit()))
    type_check = _TYPE_CHECK.get(question.answer_type)
    best_bm25 = max((h.bm25 or 0.0 for h in hits), default=0.0) or 1.0
    # Question words the top chunks never use are the strongest sign that the evidence is about something else.
    top_words = {t for h in hits[:_TOP_CHUNKS] for t in tokenize(h.chunk.text)}
    idf = {t: lexicon.idf.get(t, lexicon.max_idf) for t in own if not t.isdigit()}
    missing = [w for t, w in idf.items() if t not in top_words]
    evidence_coverage = 1.0 - sum(missing) / sum(idf.values()) if idf else 1.0
    missing_rarest = max(missing, default=0.0) / lexicon.max_idf
    out: list[Candidate] = []
    for hit in hits:
        spans, vectors = data[hit.chunk.id]
        base = int(hit.chunk.meta["char_start"])
        heading = set(tokenize(f"{hit.chunk.meta.get('title', '')} {hit.chunk.meta.get('section', '')}"))
        for (s, e), vec in zip(spans, vectors, strict=True):
            text = hit.chunk.text[s:e]
            if len(text) < _MIN_CHARS or text.endswith("?") or _META.match(text) or gives_orders(text):
                continue
            c = Candidate(hit, base + s, base + e, text, vec)
            c.semantic = float(np.dot(qvec, vec))
            c.lexical = _lexical(q_tokens, c.tokens, lexicon)
            c.features = [
                c.semantic,
                0.0,  # semantic_gap, filled in below
                c.lexical,
                len(own & c.tokens) / len(own) if own else 0.0,
                len(set(q_tokens) & heading) / len(q_tokens) if q_tokens else 0.0,
                1.0 / hit.rank,
                hit.dense or 0.0,
                (hit.bm25 or 0.0) / best_bm25,
                0.0,  # doc_best, filled in below
                float(type_check(text)) if type_check else 0.0,
                float(type_check is not None),
                sum(n in text for n in names) / len(names) if names else 0.0,
                len(question.numbers & numbers(text)) / len(question.numbers) if question.numbers else 0.0,
                float(s == 0),
                float(unknown),
                float(np.log1p(len(own))),
                float(np.log(len(text))),
                evidence_coverage,
                missing_rarest,
            ]
            out.append(c)
    if not out:
        return out
    top = max(c.semantic for c in out)
    doc_best: dict[str, float] = {}
    for c in out:
        doc_best[_source(c)] = max(doc_best.get(_source(c), -1.0), c.semantic)
    for c in out:
        c.features[1] = c.semantic - top
        c.features[8] = doc_best[_source(c)]
    if scorer is not None:
        probs = scorer.probability(np.asarray([c.features for c in out], dtype=np.float64))
        for c, p in zip(out, probs, strict=True):
            c.score = float(p)
    out.sort(key=lambda c: (-c.score, -c.semantic, c.hit.chunk.id, c.start))
    return out


def _source(c: Candidate) -> str:
    return str(c.hit.chunk.meta["source"])


def prefer_language(cands: Sequence[Candidate], language: str, relative: float) -> list[Candidate]:
    """The candidates in the question's language, when the best of them holds up against the best of all.

    A Korean question is answered from Korean sentences when one is at least ``relative`` times as probable as the
    best sentence in any language; otherwise every sentence stays (the answer then quotes the other language).
    """
    same = [c for c in cands if language_of(c.text) == language]
    if not same or len(same) == len(cands):
        return list(cands)
    best = max(c.score for c in cands)
    return same if max(c.score for c in same) >= relative * best else list(cands)


def select(cands: Sequence[Candidate], max_sentences: int, relative: float, max_sources: int) -> list[Candidate]:
    """Pick the most probable sentences, skipping near-duplicates, then order them to read well.

    Args:
        cands: Scored candidates, best first.
        max_sentences: Cap on the answer length.
        relative: Keep only sentences scoring at least this share of the best.
        max_sources: Cite at most this many documents.

    Returns:
        The best sentence first, then the others grouped by source (best source first), in source order.

    """
    if not cands:
        return []
    floor = cands[0].score * relative
    chosen: list[Candidate] = []
    covered: set[str] = set()
    for c in cands:
        if c.score < floor or len(chosen) == max_sentences:
            break
        sources = {_source(o) for o in chosen}
        if _source(c) not in sources and len(sources) >= max_sources:
            continue
        if any(float(np.dot(c.vector, o.vector)) > _DUPLICATE_SIM for o in chosen):
            continue
        if chosen and len(c.tokens - covered) < _MIN_NEW * len(c.tokens):
            continue  # says little that the chosen sentences have not said
        chosen.append(c)
        covered |= c.tokens
    group_rank: dict[str, int] = {}
    for c in chosen:
        group_rank.setdefault(_source(c), len(group_rank))
    return chosen[:1] + sorted(chosen[1:], key=lambda c: (group_rank[_source(c)], c.start))


#: "Why did X ..." / "How did X ..." take X as given: X must then appear in the evidence.
_PREMISE_Q = re.compile(r"^\s*(?:why|how) (?:did|does|do|was|were|is|are|has|have|had)\b", re.I)
#: Verbs of saying (5-letter stems): any of them answers "why did X say ...".
_SAYING = frozenset({"say", "said", "claim", "argue", "state", "tell", "told", "expla", "testi", "insis", "accor"})
#: Past forms that share no prefix with the verb ("said" for "say").
_IRREGULAR = {
    "say": "said",
    "pay": "paid",
    "get": "got",
    "take": "took",
    "make": "made",
    "give": "gave",
    "find": "found",
    "hold": "held",
    "leave": "left",
    "tell": "told",
    "know": "knew",
    "steal": "stole",
    "hide": "hid",
    "buy": "bought",
    "sell": "sold",
    "send": "sent",
    "lose": "lost",
    "keep": "kept",
    "run": "ran",
    "break": "broke",
}


@dataclass(frozen=True)
class Unstated:
    """Why the chosen evidence does not state what the question pins down (empty ``detail`` when it does)."""

    detail: str
    premise: str = ""  # for a false premise: what the question takes as given ("Coupang did 'hide'")

    def __bool__(self) -> bool:
        return bool(self.detail)


def unstated_focus(question: Question, chosen: Sequence[Candidate], common: frozenset[str] = frozenset()) -> Unstated:
    """Whether the chosen evidence states what a "why/how did X <act>" question takes as given.

    Such a question takes X and the act as given, so the evidence must name X and state the act; otherwise the
    answer would explain a premise the sources do not support. Each of the two checks turns two dev items from a
    wrong answer into a right abstention and loses none (the day and amount checks that once stood beside them
    won at most one, and were removed).
    """
    texts = [c.text for c in chosen]
    names = [n for n in question.names if n not in common]
    if _PREMISE_Q.match(question.text):
        stems = {w.lower()[:5] for t in texts for w in re.findall(r"[A-Za-z]+", t)}
        prefixes = {s[:4] for s in stems}
        missing = [n for n in names if n.lower()[:4] not in prefixes]
        if missing:
            return Unstated("the evidence does not mention " + ", ".join(missing))
        verb = question.premise_act
        if verb:
            forms = {verb[:5], _IRREGULAR.get(verb, verb)[:5]}
            if forms & _SAYING:  # "Why did X say ..." is answered by what X argued, claimed or told
                forms |= _SAYING
            if not forms & stems:
                premise = f"{question.premise_subject} did '{verb}'"
                return Unstated(f"no sentence says that {premise}", premise)
    return Unstated("")
