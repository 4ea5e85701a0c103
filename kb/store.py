"""The Chroma store: embedded ``PersistentClient`` by default, a Chroma server when configured."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kb.embeddings import Embedder
from kb.errors import ModelMismatchError, StoreError
from kb.settings import Settings

_BATCH = 500


@dataclass(frozen=True)
class StoredChunk:
    """One chunk as it sits in the store."""

    id: str
    text: str
    meta: dict[str, Any]


@dataclass
class SourceRecord:
    """What the store holds for one source file."""

    doc_hashes: set[str]
    chunker_versions: set[str]
    ids: list[str]


def latest_as_of(chunks: Sequence[StoredChunk]) -> str:
    """The knowledge base's date: the latest ``as_of`` of any chunk ("" when none has one)."""
    return max((str(c.meta.get("as_of") or "") for c in chunks), default="")


def coverage_note(as_of: str) -> str:
    """What the knowledge base's date means for a reader: events after it are not covered."""
    if not as_of:
        return "The documents carry no date."
    return f"The knowledge base runs to {as_of}; events after that date are not covered."


def make_client(settings: Settings) -> Any:
    """Create the Chroma client named by settings, with telemetry off.

    Args:
        settings: ``KB_CHROMA_HOST``/``KB_CHROMA_PORT`` select a server, else ``KB_HOME``.

    Returns:
        A ``chromadb`` client.

    Raises:
        StoreError: when the server cannot be reached or the folder cannot be used.

    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            return _http_client(settings, chroma_settings)
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001 - chromadb raises many types; render one line
        where = (
            f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_host
            else f"store folder {settings.chroma_path}"
        )
        raise StoreError(f"Cannot open {where}: {exc}") from None


def _http_client(settings: Settings, chroma_settings: Any) -> Any:
    """A Chroma server client whose every request gives up after ``KB_CHROMA_TIMEOUT`` seconds.

    chromadb's HTTP client waits forever (its httpx session has ``timeout=None``) and talks to the server while it is
    constructed, so the constructor runs in a helper thread with a deadline, and the session gets the timeout after.
    """
    import threading

    import chromadb
    import httpx

    made: list[Any] = []
    failed: list[BaseException] = []

    def connect() -> None:
        try:
            made.append(
                chromadb.HttpClient(host=str(settings.chroma_host), port=settings.chroma_port, settings=chroma_settings)
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            failed.append(exc)

    # A daemon thread: a server that never answers must not keep the process alive at exit either.
    worker = threading.Thread(target=connect, name="chroma-connect", daemon=True)
    worker.start()
    worker.join(settings.chroma_timeout)
    if failed:
        raise failed[0]
    if not made:
        raise TimeoutError(f"no answer in {settings.chroma_timeout:g} s (KB_CHROMA_TIMEOUT)")
    client = made[0]
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(settings.chroma_timeout)
    return client


class Store:
    """A chunk collection that records the model and chunker that built it."""

    def __init__(self, collection: Any, settings: Settings, client: Any = None) -> None:
        self._col = collection
        self.settings = settings
        self._client = client

    @property
    def location(self) -> str:
        """Human-readable place of the store."""
        if self.settings.chroma_host:
            return f"http://{self.settings.chroma_host}:{self.settings.chroma_port}"
        return str(self.settings.chroma_path.resolve())

    @property
    def metadata(self) -> dict[str, Any]:
        """Collection metadata: model name, dimension, chunker version."""
        return dict(self._col.metadata or {})

    def count(self) -> int:
        """Number of chunks.

        Raises:
            StoreError: when the store does not answer (a hung or dead server, a damaged file).

        """
        try:
            return int(self._col.count())
        except Exception as exc:  # noqa: BLE001 - one line, answered as 503
            raise StoreError(f"The store did not answer: {(str(exc).splitlines() or [''])[0][:200]}") from None

    def set_profile(self, text: str) -> None:
        """Record the corpus profile (YAML text) with the collection."""
        from kb.profile import STORE_KEY

        meta = self.metadata
        if meta.get(STORE_KEY) != text:
            meta[STORE_KEY] = text
            self._col.modify(metadata=meta)

    @property
    def version(self) -> str:
        """The content version: a new one each time an ingest changes the store ("" before the first)."""
        return str(self.metadata.get("content_version", ""))

    def current_version(self) -> str:
        """The content version as the store has it now, re-read (another process may have ingested since).

        Raises:
            StoreError: when the store does not answer.

        """
        if self._client is None:
            return self.version
        try:
            self._col = self._client.get_collection(self._col.name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001 - one line, answered as 503
            raise StoreError(f"The store did not answer: {(str(exc).splitlines() or [''])[0][:200]}") from None
        return self.version

    def new_version(self) -> str:
        """Record that the store's content changed (saved indices built before are stale); returns the version."""
        import uuid

        meta = self.metadata
        meta["content_version"] = uuid.uuid4().hex
        self._col.modify(metadata=meta)
        return str(meta["content_version"])

    def set_chunker_version(self, version: str) -> None:
        """Record the chunker version that last wrote to the collection."""
        meta = self.metadata
        if meta.get("chunker_version") != version:
            meta["chunker_version"] = version
            self._col.modify(metadata=meta)

    def upsert(self, chunks: Sequence[StoredChunk], embeddings: Any) -> None:
        """Insert or replace chunks with their embeddings, in batches."""
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i : i + _BATCH]
            self._col.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                metadatas=[c.meta for c in part],
                embeddings=[list(map(float, e)) for e in embeddings[i : i + _BATCH]],
            )

    def update_metadata(self, chunks: Sequence[StoredChunk]) -> None:
        """Refresh metadata of stored chunks (offsets, content hash) without re-embedding them."""
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i : i + _BATCH]
            self._col.update(ids=[c.id for c in part], metadatas=[c.meta for c in part])

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id."""
        for i in range(0, len(ids), _BATCH):
            self._col.delete(ids=list(ids[i : i + _BATCH]))

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """The subset of ``ids`` already stored."""
        found: set[str] = set()
        for i in range(0, len(ids), _BATCH):
            found.update(self._col.get(ids=list(ids[i : i + _BATCH]), include=[])["ids"])
        return found

    def _pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        total = self.count()
        for offset in range(0, total, _BATCH):
            yield self._col.get(include=include, limit=_BATCH, offset=offset)

    def sources(self) -> dict[str, SourceRecord]:
        """Every source in the store with its content hashes, chunker versions and chunk ids."""
        out: dict[str, SourceRecord] = {}
        for page in self._pages(["metadatas"]):
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                rec = out.setdefault(str(meta["source"]), SourceRecord(set(), set(), []))
                rec.doc_hashes.add(str(meta.get("doc_hash", "")))
                rec.chunker_versions.add(str(meta.get("chunker_version", "")))
                rec.ids.append(cid)
        return out

    def all_chunks(self) -> list[StoredChunk]:
        """Every chunk with its text and metadata, ordered by source then position."""
        chunks = [
            StoredChunk(cid, doc, dict(meta))
            for page in self._pages(["documents", "metadatas"])
            for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        ]
        chunks.sort(key=lambda c: (str(c.meta.get("source")), int(c.meta.get("position", 0))))
        return chunks

    def query(self, embedding: Any, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """Nearest chunks to an embedding.

        Args:
            embedding: The query vector.
            k: How many to return.
            where: Optional Chroma metadata filter.

        Returns:
            ``(chunk id, cosine similarity)`` pairs, best first.

        """
        n = min(k, self.count())
        if n == 0:
            return []
        try:
            res = self._col.query(
                query_embeddings=[list(map(float, embedding))],
                n_results=n,
                where=where or None,
                include=["distances"],
            )
        except Exception as exc:  # noqa: BLE001 - a hung or dead server, a damaged file: one line, answered as 503
            raise StoreError(
                f"The store did not answer the search: {(str(exc).splitlines() or [''])[0][:200]}"
            ) from None
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]


def open_store(settings: Settings, embedder: Embedder, *, create: bool = False, reset: bool = False) -> Store:
    """Open the chunk collection and check it was built with this model.

    Args:
        settings: Store location and collection name.
        embedder: The model in use; its name and dimension must match the collection's.
        create: Create the collection when missing (ingest); otherwise a missing one is an error.
        reset: Drop the collection first (``kb ingest --reset``).

    Returns:
        The open :class:`Store`.

    Raises:
        StoreError: when the collection is missing and ``create`` is false, or Chroma fails.
        ModelMismatchError: when the collection was built with another model.

    """
    client = make_client(settings)
    name = settings.collection
    try:
        exists = name in {getattr(c, "name", c) for c in client.list_collections()}
        if reset and exists:
            client.delete_collection(name)
            exists = False
        if not exists and not create:
            raise StoreError(
                f"The knowledge base '{name}' at {settings.chroma_host or settings.chroma_path} is empty: "
                "run 'kb ingest' first."
            )
        col = client.get_or_create_collection(
            name,
            metadata={"embedding_model": embedder.name, "embedding_dim": embedder.dim},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise StoreError(f"Cannot open collection '{name}': {exc}") from None
    meta = col.metadata or {}
    if meta.get("embedding_model") != embedder.name or int(meta.get("embedding_dim", -1)) != embedder.dim:
        raise ModelMismatchError(
            f"Collection '{name}' was built with model '{meta.get('embedding_model')}' "
            f"(dim {meta.get('embedding_dim')}) but settings use '{embedder.name}' (dim {embedder.dim}): "
            "re-ingest with 'kb ingest --reset'."
        )
    return Store(col, settings, client)
