"""The search indices a server needs, written beside the store at ingest and loaded at start instead of rebuilt.

One folder per collection under ``KB_HOME/index/`` holds every chunk (text and metadata), each chunk's keyword
tokens and language, and every sentence's span and vector. A ``manifest.json`` records what they were built from:
the store's content version (a new one each time ``kb ingest`` changes the store), the embedder, the tokenizer and
sentence splitter version, and the chunker version. A server whose manifest does not match rebuilds the folder and
says why in one log line; ``kb ingest`` refreshes it incrementally, embedding only the sentences of new chunks.

With a Chroma server each replica keeps such a folder in its own ``KB_HOME``, checked against the server's content
version, so a replica never serves a stale index.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kb.embeddings import Embedder
from kb.settings import Settings
from kb.store import Store, StoredChunk
from kb.text import TEXT_VERSION, language_of, split_sentences, tokenize

log = logging.getLogger(__name__)

#: The layout of the folder; bump it when the files change.
FORMAT = 2


@dataclass
class Lexicon:
    """Keyword statistics over some of the chunks: BM25 and IDF, with the chunks' positions in the index."""

    rows: list[int]
    bm25: Any
    idf: dict[str, float]
    max_idf: float

    @classmethod
    def build(cls, rows: list[int], docs: list[list[str]]) -> Lexicon:
        """Index ``docs`` (the token lists of the chunks at ``rows``)."""
        bm25 = _bm25s().BM25()
        if docs:
            bm25.index(docs, show_progress=False)
        df: dict[str, int] = {}
        for d in docs:
            for t in set(d):
                df[t] = df.get(t, 0) + 1
        n = max(len(docs), 1)
        return cls(rows, bm25, {t: float(np.log(1 + n / c)) for t, c in df.items()}, float(np.log(1 + n)))

    def save(self, path: Path) -> None:
        """Write to the folder ``path`` (BM25 arrays, rows, IDF)."""
        path.mkdir(parents=True)
        if self.rows:
            self.bm25.save(str(path / "bm25"))
        np.save(path / "rows.npy", np.asarray(self.rows, dtype=np.int64))
        (path / "idf.json").write_text(json.dumps({"max": self.max_idf, "idf": self.idf}), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read what :meth:`save` wrote (the BM25 arrays memory-mapped)."""
        rows = np.load(path / "rows.npy").tolist()
        bm25 = _bm25s().BM25.load(str(path / "bm25"), mmap=True) if rows else _bm25s().BM25()
        idf = json.loads((path / "idf.json").read_text(encoding="utf-8"))
        return cls(rows, bm25, idf["idf"], float(idf["max"]))


def _bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s turns DEBUG on at import
    return bm25s


#: The sets of source languages a question can be answered from (see ``Index.readable``), keyword-indexed ahead.
LANGUAGE_SETS: tuple[frozenset[str] | None, ...] = (None, frozenset({"en"}))


def _language_key(languages: frozenset[str] | None) -> str:
    return "all" if languages is None else "-".join(sorted(languages))


@dataclass
class IndexData:
    """Everything retrieval and sentence scoring read, for every chunk in the store (in store order)."""

    chunks: list[StoredChunk]
    #: Each chunk's keyword tokens, space-separated (split on demand: see :attr:`tokens`).
    token_text: list[str]
    languages: list[str]
    #: ``(start, end)`` of every sentence, relative to its chunk, chunk by chunk.
    spans: np.ndarray
    #: The position in :attr:`chunks` of each sentence's chunk.
    owner: np.ndarray
    #: One unit-length row per sentence (memory-mapped when loaded).
    vectors: np.ndarray
    #: Every keyword token of the corpus.
    vocab: set[str] = field(default_factory=set)
    #: Surface words (lower case) and their counts, for spelling repair of questions.
    words: dict[str, int] = field(default_factory=dict)
    #: Keyword statistics per set of source languages (:data:`LANGUAGE_SETS`).
    lexicons: dict[frozenset[str] | None, Lexicon] = field(default_factory=dict)

    @cached_property
    def tokens(self) -> list[list[str]]:
        """Each chunk's keyword tokens."""
        return [t.split(" ") if t else [] for t in self.token_text]

    def lexicon(self, languages: frozenset[str] | None) -> Lexicon:
        """Keyword statistics over the chunks in ``languages`` (built on first use when not saved)."""
        if languages not in self.lexicons:
            rows = [i for i, lang in enumerate(self.languages) if languages is None or lang in languages]
            self.lexicons[languages] = Lexicon.build(rows, [self.tokens[i] for i in rows])
        return self.lexicons[languages]

    def sentences_of(self) -> dict[str, tuple[list[tuple[int, int]], np.ndarray]]:
        """Each chunk's sentence spans and vectors, keyed by chunk id."""
        out: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}
        bounds = np.searchsorted(self.owner, np.arange(len(self.chunks) + 1))
        for i, c in enumerate(self.chunks):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            out[c.id] = ([(int(s), int(e)) for s, e in self.spans[lo:hi]], self.vectors[lo:hi])
        return out


def folder(settings: Settings) -> Path:
    """Where the collection's index lives."""
    return settings.home / "index" / settings.collection


def manifest_for(store: Store, embedder: Embedder) -> dict[str, Any]:
    """What an index for this store and model must have been built from."""
    meta = store.metadata
    return {
        "format": FORMAT,
        "store_version": str(meta.get("content_version", "")),
        "embedder": embedder.name,
        "dimension": embedder.dim,
        "text_version": TEXT_VERSION,
        "chunker_version": str(meta.get("chunker_version", "")),
    }


def _mismatch(found: dict[str, Any], want: dict[str, Any]) -> str:
    """The first key on which two manifests differ, said in words ("" when they agree)."""
    for key, value in want.items():
        if found.get(key) != value:
            return f"{key} is {found.get(key)!r}, the store needs {value!r}"
    return ""


def load(path: Path, want: dict[str, Any]) -> IndexData | None:
    """The index in ``path`` when its manifest matches ``want``; otherwise ``None``, with a log line saying why."""
    try:
        found = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.info("No saved index in %s yet: building it (once).", path)
        return None
    except (OSError, ValueError) as exc:
        log.warning("Saved index in %s is unreadable (%s): rebuilding it.", path, exc)
        return None
    if not want["store_version"]:
        log.warning("The store has no content version (ingested by an older release): rebuilding the index.")
        return None
    reason = _mismatch(found, want)
    if reason:
        log.warning("Saved index in %s does not match the store (%s): rebuilding it.", path, reason)
        return None
    try:
        rows = [json.loads(line) for line in (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
        extra = json.loads((path / "words.json").read_text(encoding="utf-8"))
        data = IndexData(
            chunks=[StoredChunk(r["id"], r["text"], r["meta"]) for r in rows],
            token_text=[r["tokens"] for r in rows],
            languages=[r["language"] for r in rows],
            spans=np.load(path / "spans.npy"),
            owner=np.load(path / "owner.npy"),
            vectors=np.load(path / "vectors.npy", mmap_mode="r"),
            vocab=set(extra["vocab"]),
            words=extra["words"],
        )
        for languages in LANGUAGE_SETS:
            folder = path / f"lexicon-{_language_key(languages)}"
            if folder.is_dir():
                data.lexicons[languages] = Lexicon.load(folder)
        return data
    except (OSError, ValueError, KeyError) as exc:
        log.warning("Saved index in %s is damaged (%s): rebuilding it.", path, exc)
        return None


def build(
    chunks: Sequence[StoredChunk], embedder: Embedder, previous: IndexData | None = None, batch_size: int = 64
) -> IndexData:
    """Tokenize every chunk and embed every sentence, reusing ``previous`` for chunks it already holds unchanged."""
    reuse = previous.sentences_of() if previous is not None else {}
    old: dict[str, tuple[StoredChunk, list[str], str]] = {}
    if previous is not None:
        old = {
            c.id: (c, t, lang) for c, t, lang in zip(previous.chunks, previous.tokens, previous.languages, strict=True)
        }

    def same(c: StoredChunk) -> bool:
        was = old.get(c.id)
        return was is not None and was[0].text == c.text and _heading(was[0]) == _heading(c)

    spans: list[list[tuple[int, int]]] = []
    todo: list[str] = []
    for c in chunks:
        if same(c):
            spans.append(reuse[c.id][0])
        else:
            spans.append(split_sentences(c.text))
            todo.extend(c.text[s:e] for s, e in spans[-1])
    fresh = embedder.encode(todo, batch_size=batch_size) if todo else np.zeros((0, embedder.dim), np.float32)
    parts: list[np.ndarray] = []
    used = 0
    for c, sp in zip(chunks, spans, strict=True):
        if same(c):
            parts.append(reuse[c.id][1])
        else:
            parts.append(fresh[used : used + len(sp)])
            used += len(sp)
    counts = [len(sp) for sp in spans]
    tokens = [old[c.id][1] if same(c) else tokenize(f"{_heading(c)} {c.text}") for c in chunks]
    data = IndexData(
        chunks=list(chunks),
        token_text=[" ".join(t) for t in tokens],
        languages=[old[c.id][2] if same(c) else language_of(c.text) for c in chunks],
        spans=np.array([s for sp in spans for s in sp], dtype=np.int32).reshape(-1, 2),
        owner=np.repeat(np.arange(len(chunks), dtype=np.int32), counts),
        vectors=(
            np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros((0, embedder.dim), np.float32)
        ),
        vocab={t for d in tokens for t in d},
        words=dict(Counter(re.findall(r"[a-z]+", " ".join(c.text for c in chunks).lower()))),
    )
    data.__dict__["tokens"] = tokens  # already split (fills the cached property)
    for languages in LANGUAGE_SETS:
        data.lexicon(languages)
    return data


def _heading(c: StoredChunk) -> str:
    """The words besides its text that a chunk is keyword-searched by."""
    return f"{c.meta.get('title', '')} {c.meta.get('section', '')}"


def save(path: Path, data: IndexData, manifest: dict[str, Any]) -> None:
    """Write the index to ``path`` whole or not at all (a new folder, renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for c, tokens, language in zip(data.chunks, data.token_text, data.languages, strict=True):
                row = {"id": c.id, "text": c.text, "meta": c.meta, "tokens": tokens, "language": language}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        for name in ("spans", "owner", "vectors"):
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(data, name)))
        (tmp / "words.json").write_text(
            json.dumps({"vocab": sorted(data.vocab), "words": data.words}, ensure_ascii=False), encoding="utf-8"
        )
        for languages in LANGUAGE_SETS:
            data.lexicon(languages).save(tmp / f"lexicon-{_language_key(languages)}")
        (tmp / "manifest.json").write_text(
            json.dumps({**manifest, "chunks": len(data.chunks), "built_at": time.time()}, indent=1), encoding="utf-8"
        )
        old = path.with_name(f".{path.name}-old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_or_build(settings: Settings, store: Store, embedder: Embedder) -> IndexData:
    """The saved index when it matches the store; otherwise rebuild it (reusing what still matches) and save it.

    Raises:
        StoreError: when the store cannot be read.

    """
    want = manifest_for(store, embedder)
    path = folder(settings)
    data = load(path, want)
    if data is not None:
        return data
    previous = _load_any(path, embedder)
    data = build(store.all_chunks(), embedder, previous)
    if want["store_version"]:
        try:
            save(path, data, want)
        except OSError as exc:
            log.warning("Could not save the index to %s (%s); it will be rebuilt at the next start.", path, exc)
    return data


def _load_any(path: Path, embedder: Embedder) -> IndexData | None:
    """A saved index from the same model whatever store version it was built from (for reuse of its vectors)."""
    try:
        found = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same_model = {"format": FORMAT, "embedder": embedder.name, "dimension": embedder.dim}
    if _mismatch(found, same_model) or found.get("text_version") != TEXT_VERSION:
        return None
    return load(path, {**found, **same_model}) if found.get("store_version") else None
