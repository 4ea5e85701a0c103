"""Keep the store in sync with source files: add new, replace changed, drop removed, skip unchanged."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest import CHUNKER_VERSION
from ingest.chunking import Chunk, chunk
from ingest.loaders import load
from kb import SOURCES_DIR
from kb.embeddings import Embedder, get_embedder
from kb.errors import ConfigError, IngestError
from kb.persisted import load_or_build
from kb.profile import PROFILE_FILE, read_profile
from kb.settings import Settings
from kb.store import SourceRecord, Store, StoredChunk, open_store

log = logging.getLogger(__name__)
_FLUSH_CHUNKS = 256


@dataclass
class SyncReport:
    """What a sync did. ``embedded`` counts chunks that went through the model."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    embedded: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return asdict(self)


def source_id(path: Path) -> str:
    """The id a file is stored under: ``kb/sources/...`` for the shipped corpus, else its absolute path."""
    resolved = path.resolve()
    try:
        return "kb/sources/" + resolved.relative_to(SOURCES_DIR).as_posix()
    except ValueError:
        return resolved.as_posix()


def source_path(source: str) -> Path:
    """The file a stored source id names (the inverse of :func:`source_id`)."""
    return SOURCES_DIR / source.removeprefix("kb/sources/") if source.startswith("kb/sources/") else Path(source)


def _discover(paths: Sequence[Path], report: SyncReport) -> tuple[list[Path], list[str]]:
    files: list[Path] = []
    folders: list[str] = []
    for path in paths:
        if path.is_dir():
            folders.append(source_id(path).rstrip("/") + "/")
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and p.relative_to(path).as_posix() != PROFILE_FILE
            )
        elif path.is_file():
            files.append(path)
        else:
            report.failed.append({"path": str(path), "error": "no such file or directory"})
    seen: set[Path] = set()
    unique = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]  # type: ignore[func-returns-value]
    return unique, folders


def _is_current(record: SourceRecord | None, chunks: list[Chunk]) -> bool:
    if record is None or not chunks:
        return False
    return (
        record.doc_hashes == {chunks[0].meta["doc_hash"]}
        and record.chunker_versions == {CHUNKER_VERSION}
        and set(record.ids) == {c.id for c in chunks}
    )


class _Writer:
    """Buffers changed files; each flush embeds and upserts new chunks before deleting old ones."""

    def __init__(self, store: Store, embedder: Embedder, report: SyncReport) -> None:
        self.store, self.embedder, self.report = store, embedder, report
        self.pending: list[tuple[list[Chunk], SourceRecord | None]] = []

    def add(self, chunks: list[Chunk], old: SourceRecord | None) -> None:
        self.pending.append((chunks, old))
        if sum(len(c) for c, _ in self.pending) >= _FLUSH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        new = [c for chunks, _ in self.pending for c in chunks]
        have = self.store.existing_ids([c.id for c in new])
        todo = [c for c in new if c.id not in have]
        if todo:
            vectors = self.embedder.encode([c.embed_text for c in todo])
            self.store.upsert([StoredChunk(c.id, c.text, c.meta) for c in todo], vectors)
            self.report.embedded += len(todo)
        # Same text at the same position, but offsets or the file hash may have moved.
        self.store.update_metadata([StoredChunk(c.id, c.text, c.meta) for c in new if c.id in have])
        keep = {c.id for c in new}
        stale = [i for _, old in self.pending if old for i in old.ids if i not in keep]
        self.store.delete(stale)
        self.pending.clear()


def sync(
    paths: Iterable[Path] | None,
    settings: Settings,
    *,
    reset: bool = False,
    show_progress: bool = False,
    embedder: Embedder | None = None,
) -> SyncReport:
    """Bring the store in line with files and folders.

    A file whose content is unchanged is skipped; a changed file has its chunks replaced (new
    chunks are stored before old ones are deleted, so a crash leaves the old version searchable);
    a file gone from an ingested folder has its chunks removed. A bad file is reported in
    ``failed`` and the rest is ingested.

    Args:
        paths: Files and folders; ``None`` or empty means the shipped corpus.
        settings: Store and chunking settings.
        reset: Drop the collection first.
        show_progress: Draw a progress bar on stderr.
        embedder: The model to use (default: the one settings name).

    Returns:
        A :class:`SyncReport`.

    Raises:
        StoreError: when the store cannot be opened or written.

    """
    report = SyncReport()
    targets = list(paths or []) or [SOURCES_DIR]
    embedder = embedder or get_embedder(settings)
    store = open_store(settings, embedder, create=True, reset=reset)
    existing = store.sources()
    files, folders = _discover(targets, report)
    seen: set[str] = set()
    progress_cm = _progress(show_progress, len(files))
    with progress_cm as progress:
        writer = _Writer(store, embedder, report)
        for path in files:
            if progress is not None:
                progress.advance(1)
            sid = source_id(path)
            seen.add(sid)
            try:
                chunks = chunk(load(path), sid, settings.chunk_chars)
            except IngestError as exc:
                report.failed.append({"path": str(path), "error": str(exc)})
                continue
            except Exception as exc:
                log.warning("unexpected error reading %s", path, exc_info=True)
                report.failed.append({"path": str(path), "error": f"cannot parse: {type(exc).__name__}: {exc}"})
                continue
            old = existing.get(sid)
            if _is_current(old, chunks):
                report.unchanged += 1
                continue
            if old is None:
                report.added += 1
            else:
                report.updated += 1
            writer.add(chunks, old)
        writer.flush()
    gone = [s for s in existing if s not in seen and any(s.startswith(f) for f in folders)]
    for sid in gone:
        store.delete(existing[sid].ids)
        report.removed += 1
    profiles = [t / PROFILE_FILE for t in targets if t.is_dir() and (t / PROFILE_FILE).is_file()]
    if profiles:
        try:
            store.set_profile(read_profile(profiles[0]))
        except ConfigError as exc:
            report.failed.append({"path": str(profiles[0]), "error": str(exc)})
    store.set_chunker_version(CHUNKER_VERSION)
    if report.added or report.updated or report.removed or not store.version:
        store.new_version()
    # The server's indices (keyword tokens, sentence vectors) are saved beside the store and refreshed here,
    # embedding only the sentences of new chunks, so a server starts without rebuilding them.
    load_or_build(settings, store, embedder)
    report.chunks = store.count()
    return report


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(show: bool, total_files: int) -> Any:
    if not show or not sys.stderr.isatty():
        return _NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    class _Bar:
        def __enter__(self) -> _Bar:
            self.p = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.p.__enter__()
            self.task = self.p.add_task("ingesting files", total=total_files)
            return self

        def advance(self, n: int) -> None:
            self.p.advance(self.task, n)

        def __exit__(self, *exc: object) -> None:
            self.p.__exit__(None, None, None)

    return _Bar()
