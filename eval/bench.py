"""Benchmarks (``make bench``): ingest throughput against the raw encode rate, warm answer latency, RSS.

Figures are ratios and percentiles measured on this machine; nothing here asserts a speed.
"""

from __future__ import annotations

import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from eval.items import load_items
from eval.metrics import percentile


def main() -> None:
    """Run every benchmark and print one JSON object."""
    from bot.service import AnswerService
    from ingest.chunking import chunk
    from ingest.loaders import load
    from ingest.sync import source_id, sync
    from kb import SOURCES_DIR
    from kb.embeddings import get_embedder
    from kb.settings import Settings
    from kb.store import open_store

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp))
        t0 = time.perf_counter()
        embedder = get_embedder(settings)
        out["model_load_s"] = round(time.perf_counter() - t0, 2)

        t0 = time.perf_counter()
        report = sync(None, settings, embedder=embedder)
        ingest_s = time.perf_counter() - t0
        out["ingest_shipped_corpus_s"] = round(ingest_s, 2)
        out["chunks"] = report.chunks
        out["ingest_chunks_per_s"] = round(report.chunks / ingest_s, 1)

        store = open_store(settings, embedder)
        # The exact texts ingest embedded, so the ratio compares like with like.
        texts = [
            c.embed_text
            for path in sorted(SOURCES_DIR.rglob("*.md"))
            for c in chunk(load(path), source_id(path), settings.chunk_chars)
        ]
        t0 = time.perf_counter()
        embedder.encode(texts)
        raw = len(texts) / (time.perf_counter() - t0)
        out["raw_encode_chunks_per_s"] = round(raw, 1)
        out["ingest_vs_raw_encode_ratio"] = round(report.chunks / ingest_s / raw, 3)

        t0 = time.perf_counter()
        sync(None, settings, embedder=embedder)
        out["resync_unchanged_s"] = round(time.perf_counter() - t0, 2)

        t0 = time.perf_counter()
        service = AnswerService(settings, embedder, store)
        out["service_build_s"] = round(time.perf_counter() - t0, 2)
        dev = load_items(split="dev")
        # Warm latency side by side for English and Korean questions (the same dev questions every run).
        for language in ("en", "ko"):
            questions = [i.last for i in dev if i.language == language][:60]
            if not questions:
                continue
            for q in questions[:3]:
                service.answer(q)
            latencies = []
            for q in questions:
                t0 = time.perf_counter()
                service.answer(q)
                latencies.append((time.perf_counter() - t0) * 1000)
            out[f"ask_{language}_questions"] = len(latencies)
            out[f"ask_{language}_p50_ms"] = round(statistics.median(latencies), 1)
            out[f"ask_{language}_p95_ms"] = round(percentile(latencies, 0.95), 1)
            out[f"ask_{language}_max_ms"] = round(max(latencies), 1)
        out["rss_max_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
