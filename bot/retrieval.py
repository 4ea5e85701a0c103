"""Hybrid retrieval: dense (Chroma) and BM25 over the same chunks, fused by reciprocal rank fusion."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from kb.embeddings import Embedder
from kb.persisted import IndexData, Lexicon
from kb.store import Store, StoredChunk, latest_as_of
from kb.text import tokenize

RRF_K = 60


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the ranks behind it."""

    chunk: StoredChunk
    score: float
    rank: int
    dense: float | None = None
    bm25: float | None = None


class Index:
    """Everything retrieval needs, from the saved (or just built) index of the store (chunks, BM25, sentence vectors)."""

    def __init__(self, store: Store, embedder: Embedder, data: IndexData) -> None:
        self.store = store
        self.embedder = embedder
        self.chunks: list[StoredChunk] = data.chunks
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        #: Each chunk's language, so a question can be kept to the sources its asker reads.
        self.language = {c.id: lang for c, lang in zip(self.chunks, data.languages, strict=True)}
        self._data = data
        self.vocab = data.vocab
        self._prefixes = {t[:n] for t in self.vocab for n in range(3, 6) if len(t) >= n}
        #: Surface words (lower case) and their counts, for spelling repair of questions.
        self.words: dict[str, int] = data.words
        self.sentence_vectors: tuple[np.ndarray, np.ndarray] | None = (data.vectors, data.owner)
        self._starts: tuple[np.ndarray, np.ndarray] | None = None

    def readable(self, language: str) -> frozenset[str] | None:
        """The source languages a question in ``language`` is answered from (``None``: all).

        An English question is answered from English sources when there are any; a Korean question from Korean and
        English ones (the answer then says when it quotes English).
        """
        if language == "ko" or "en" not in self.language.values():
            return None
        return frozenset({"en"})

    def lexicon(self, languages: frozenset[str] | None = None) -> Lexicon:
        """BM25 and IDF over the chunks in ``languages`` (built once per set of languages).

        Keyword weights are counted among the sources a question can get: Korean documents repeat the English
        ones' figures and acronyms, and counted together they would make an English question's rare words look
        common (English document hit@1 on dev fell 0.729 -> 0.713 when the Korean documents joined one index).
        """
        return self._data.lexicon(languages)

    def knows(self, token: str) -> bool:
        """Whether the knowledge base uses this token or a word of its family ("security" for "secure")."""
        return token in self.vocab or token[:5] in self._prefixes

    def _sentence_ranking(self, vec: np.ndarray, depth: int) -> list[tuple[str, float]]:
        # A chunk ranks by its best sentence: a one-sentence fact is not diluted by its neighbours.
        if self.sentence_vectors is None or not len(self.sentence_vectors[1]):
            return []
        vectors, owner = self.sentence_vectors
        if self._starts is None:  # sentences are stored chunk by chunk: each chunk's run starts here
            starts = np.searchsorted(owner, np.arange(len(self.chunks)))
            has = np.bincount(owner, minlength=len(self.chunks)) > 0
            self._starts = (starts[has], np.flatnonzero(has))
        sims = vectors @ vec
        best = np.full(len(self.chunks), -1.0, dtype=np.float32)
        best[self._starts[1]] = np.maximum.reduceat(sims, self._starts[0])
        top = np.argpartition(-best, depth)[:depth] if depth < len(best) else np.arange(len(best))
        top = top[np.argsort(-best[top], kind="stable")]
        return [(self.chunks[int(i)].id, float(best[i])) for i in top]

    @property
    def as_of(self) -> str:
        """Latest ``as_of`` date of any chunk."""
        return latest_as_of(self.chunks)

    def _keep(self, chunk: StoredChunk, kind: str | None, topic: str | None, languages: frozenset[str] | None) -> bool:
        if kind and chunk.meta.get("kind") != kind:
            return False
        if languages and self.language[chunk.id] not in languages:
            return False
        return not topic or topic.lower() in str(chunk.meta.get("topics", "")).lower().split(",")

    def retrieve(
        self,
        query: str,
        k: int = 8,
        *,
        kind: str | None = None,
        topic: str | None = None,
        query_vector: np.ndarray | None = None,
        languages: frozenset[str] | None = None,
    ) -> list[Hit]:
        """Top chunks for a query by reciprocal rank fusion of dense and BM25 rankings.

        Args:
            query: The (rewritten) question.
            k: How many chunks to return.
            kind: Only chunks of this kind (``article`` or ``law``).
            topic: Only chunks tagged with this topic.
            query_vector: The query's embedding, if already computed.
            languages: Only chunks in these languages (``None``: any).

        Returns:
            Up to ``k`` hits, best first; chunks with identical text appear once.

        """
        if not self.chunks:
            return []
        depth = max(k * 4, 20)
        vec = query_vector if query_vector is not None else self.embedder.encode([query], query=True)[0]
        where = {"kind": kind} if kind else None
        dense = [(cid, s) for cid, s in self.store.query(vec, depth, where) if cid in self.by_id]
        sparse: list[tuple[str, float]] = []
        tokens = tokenize(query)
        lexicon = self.lexicon(languages)
        if tokens and lexicon.rows:
            res = lexicon.bm25.retrieve([tokens], k=min(depth, len(lexicon.rows)), show_progress=False)
            sparse = [
                (self.chunks[lexicon.rows[int(i)]].id, float(s))
                for i, s in zip(res.documents[0], res.scores[0], strict=True)
                if s > 0
            ]
        fused: dict[str, float] = {}
        dense_score = dict(dense)
        bm25_score = dict(sparse)
        for ranking in (dense, sparse, self._sentence_ranking(vec, depth)):
            kept = [cid for cid, _ in ranking if self._keep(self.chunks[self.by_id[cid]], kind, topic, languages)]
            for rank, cid in enumerate(kept):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))
        hits: list[Hit] = []
        seen_text: set[str] = set()
        for cid in order:
            chunk = self.chunks[self.by_id[cid]]
            digest = hashlib.sha1(chunk.text.encode()).hexdigest()
            if digest in seen_text:
                continue
            seen_text.add(digest)
            hits.append(Hit(chunk, fused[cid], len(hits) + 1, dense_score.get(cid), bm25_score.get(cid)))
            if len(hits) == k:
                break
        return hits


def as_langchain_retriever(index: Index, k: int = 8, kind: str | None = None, topic: str | None = None) -> Any:
    """Wrap the hybrid index as a LangChain ``BaseRetriever``.

    Args:
        index: The built :class:`Index`.
        k: Chunks per query.
        kind: Optional kind filter.
        topic: Optional topic filter.

    Returns:
        A retriever whose documents carry the chunk metadata plus ``id``, ``score`` and ``rank``.

    """
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    class KBRetriever(BaseRetriever):
        """Dense + BM25 retrieval over the knowledge base, fused by RRF."""

        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
            return [
                Document(
                    page_content=h.chunk.text,
                    id=h.chunk.id,
                    metadata={**h.chunk.meta, "id": h.chunk.id, "score": h.score, "rank": h.rank},
                )
                for h in index.retrieve(query, k, kind=kind, topic=topic)
            ]

    return KBRetriever()
