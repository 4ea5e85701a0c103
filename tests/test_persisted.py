"""The saved index beside the store: written by the sync, loaded at start, rebuilt (and said so) on any mismatch."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from bot.service import AnswerService
from ingest.sync import sync
from kb import persisted
from kb.settings import Settings
from kb.store import open_store
from kb.text import tokenize
from tests.fakes import HashEmbedder
from tests.helpers import write_markdown


class CountingEmbedder(HashEmbedder):
    """The fake embedder, counting the texts it was asked to embed."""

    def __init__(self, name: str = "test/hash-embedder") -> None:
        super().__init__(name)
        self.texts = 0

    def encode(self, texts: list[str], batch_size: int = 64, *, query: bool = False) -> np.ndarray:
        self.texts += len(texts)
        return super().encode(texts, batch_size, query=query)


def _docs(folder: Path, n: int) -> None:
    for i in range(n):
        write_markdown(folder / f"doc{i}.md", f"Doc {i}", f"River {i} flows east. It is {i} km long. Boats sail on it.")


def test_ingest_saves_the_index_and_a_start_loads_it_without_embedding_sentences(tmp_path: Path):
    settings = Settings(home=tmp_path / "h")
    _docs(tmp_path / "docs", 3)
    embedder = CountingEmbedder()
    sync([tmp_path / "docs"], settings, embedder=embedder)
    manifest = json.loads((persisted.folder(settings) / "manifest.json").read_text())
    assert manifest["chunks"] == 3 and manifest["embedder"] == embedder.name and manifest["store_version"]
    embedder.texts = 0
    store = open_store(settings, embedder)
    data = persisted.load_or_build(settings, store, embedder)
    assert embedder.texts == 0  # loaded, nothing embedded
    rebuilt = persisted.build(store.all_chunks(), embedder)
    assert [c.id for c in data.chunks] == [c.id for c in rebuilt.chunks] and data.tokens == rebuilt.tokens
    assert np.array_equal(data.spans, rebuilt.spans) and np.allclose(data.vectors, rebuilt.vectors)
    assert data.vocab == rebuilt.vocab and data.words == rebuilt.words
    query = tokenize("how long is river 2")
    for languages in persisted.LANGUAGE_SETS:  # the saved keyword index ranks exactly as a fresh one
        saved, fresh = data.lexicons[languages], rebuilt.lexicon(languages)
        a = saved.bm25.retrieve([query], k=3, show_progress=False)
        b = fresh.bm25.retrieve([query], k=3, show_progress=False)
        assert a.documents.tolist() == b.documents.tolist() and np.allclose(a.scores, b.scores)
        assert saved.idf == fresh.idf and saved.rows == fresh.rows
    service = AnswerService(settings, embedder, store)
    assert service.index.sentence_vectors is not None and len(service.index.sentence_vectors[0]) == 9
    hits = service.index.retrieve("How long is river 2?", 3)
    assert hits[0].chunk.text.startswith("River 2")


def test_an_ingest_embeds_only_the_new_chunks_sentences(tmp_path: Path):
    settings = Settings(home=tmp_path / "h")
    _docs(tmp_path / "docs", 3)
    embedder = CountingEmbedder()
    sync([tmp_path / "docs"], settings, embedder=embedder)
    _docs(tmp_path / "docs", 4)  # one more document, the others unchanged
    embedder.texts = 0
    report = sync([tmp_path / "docs"], settings, embedder=embedder)
    assert report.added == 1 and report.unchanged == 3
    assert embedder.texts == 1 + 3  # the new chunk, then its three sentences
    assert json.loads((persisted.folder(settings) / "manifest.json").read_text())["chunks"] == 4
    unchanged = sync([tmp_path / "docs"], settings, embedder=embedder)
    assert unchanged.unchanged == 4 and embedder.texts == 4  # nothing changed: nothing embedded


def test_a_mismatched_or_damaged_index_is_rebuilt_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    settings = Settings(home=tmp_path / "h")
    _docs(tmp_path / "docs", 2)
    embedder = CountingEmbedder()
    sync([tmp_path / "docs"], settings, embedder=embedder)
    store = open_store(settings, embedder)
    path = persisted.folder(settings)
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps(manifest | {"text_version": "0"}))
    with caplog.at_level(logging.WARNING, "kb.persisted"):
        data = persisted.load_or_build(settings, store, embedder)
    assert "text_version is '0'" in caplog.text and "rebuilding" in caplog.text and len(data.chunks) == 2
    assert json.loads((path / "manifest.json").read_text())["text_version"] == manifest["text_version"]  # saved anew
    (path / "vectors.npy").write_bytes(b"not a numpy file")
    caplog.clear()
    with caplog.at_level(logging.WARNING, "kb.persisted"):
        again = persisted.load_or_build(settings, store, embedder)
    assert "damaged" in caplog.text and np.allclose(again.vectors, data.vectors)


def _service_then_another_ingest(tmp_path: Path) -> AnswerService:
    """A service on two documents, then a third ingested as another process would, through its own store."""
    settings = Settings(home=tmp_path / "h")
    _docs(tmp_path / "docs", 2)
    embedder = HashEmbedder()
    sync([tmp_path / "docs"], settings, embedder=embedder)
    service = AnswerService(settings, embedder, open_store(settings, embedder))
    assert not service.refresh(force=True)  # nothing changed
    write_markdown(tmp_path / "more" / "owls.md", "Owls", "A barn owl swallows a mouse whole.")
    sync([tmp_path / "more"], settings, embedder=embedder)
    return service


def test_a_service_takes_up_what_another_process_ingested(tmp_path: Path):
    service = _service_then_another_ingest(tmp_path)
    assert service.refresh(force=True)
    assert len(service.documents) == 3 and service.index.retrieve("barn owl mouse", 1)[0].chunk.text.startswith(
        "A barn"
    )


def test_a_reloaded_index_waits_for_the_answer_in_progress(tmp_path: Path):
    service = _service_then_another_ingest(tmp_path)
    old = service.index
    with service._lock:  # an answer is retrieving and scoring
        reload = threading.Thread(target=service.refresh, kwargs={"force": True})
        reload.start()
        reload.join(timeout=5.0)
        assert reload.is_alive() and service.index is old  # loaded, but not swapped in under the answer's feet
    reload.join(timeout=10.0)
    assert not reload.is_alive() and service.index is not old
    assert service.index.retrieve("barn owl mouse", 1)[0].chunk.text.startswith("A barn")
