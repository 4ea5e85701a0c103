"""The scale benchmark (``make bench-scale``): the shipped corpus plus synthetic documents at several sizes.

For each size it writes a synthetic corpus (:mod:`eval.synth`), ingests it beside the shipped documents into a fresh
home, and reports: ingest time and chunks/s against the model's raw passage-encoding rate, the store and saved index
on disk, ``kb serve`` start-up to ready (saved indices), warm ``/api/ask`` p50/p95 with 1 and 8 clients, 64 clients
for ``--seconds`` (answers/s, errors), the same 64 clients on ``--workers 2``, the 1-client p95 with a CPU-hog
neighbour process running, the server's RSS, and recall@5 of the real English questions. It writes
``artifacts/bench/scale.json`` and ``scale.png`` and prints a Markdown table. Figures only; nothing asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eval.items import load_items
from eval.load import rss_mb, run_clients, start_server, sustained, wait_ready
from eval.metrics import doc_ranking, mean, recall_at_k
from eval.synth import write as write_synthetic
from kb import SOURCES_DIR

OUT = Path("artifacts/bench")
#: A neighbour that keeps every core busy with matrix products (what a shared machine has).
_HOG = "import numpy as np\na = np.random.rand(1500, 1500)\nwhile True:\n    a @ a\n"


def _disk_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1) if path.exists() else 0.0


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and its children (the workers), in MiB."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(c) for c in (task / "children").read_text().split()]
    total = 0.0
    for p in pids:
        try:
            total += rss_mb(p)["VmRSS"]
        except (OSError, KeyError):
            pass
    return round(total, 1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def encode_rate(texts: list[str]) -> float:
    """Passages a second the configured embedder encodes on its own (the ceiling for ingest)."""
    from kb.embeddings import get_embedder
    from kb.settings import Settings

    embedder = get_embedder(Settings())
    embedder.encode(texts[:8])
    t0 = time.perf_counter()
    embedder.encode(texts)
    return round(len(texts) / (time.perf_counter() - t0), 1)


def recall(home: Path) -> float:
    """Mean recall@5 of the answerable English one-turn questions (dev and test), in the service's own ranking."""
    from bot.service import get_service, reset_services
    from kb.settings import Settings

    reset_services()
    service = get_service(Settings(home=home))
    items = [i for i in load_items() if i.answerable and i.language == "en" and len(i.messages) == 1 and i.gold_docs]
    scores = []
    for item in items:
        hits = service.search(item.last, 10)
        ranking = doc_ranking([(h.chunk.id, h.score, str(h.chunk.meta["source"])) for h in hits])
        scores.append(recall_at_k(ranking, item.gold_docs, 5))
    reset_services()
    return round(mean(s for s in scores if s is not None) or 0.0, 3)


def measure(size: int, root: Path, questions: list[str], seconds: float) -> dict[str, Any]:
    """Every figure for one corpus size (``0``: the shipped corpus alone)."""
    from ingest.sync import sync
    from kb.settings import Settings

    home = root / f"home-{size}"
    targets = [SOURCES_DIR]
    out: dict[str, Any] = {"size": size}
    if size:
        corpus = root / f"synthetic-{size}"
        write_synthetic(corpus, max(1, size - 358))
        targets.append(corpus)
    t0 = time.perf_counter()
    report = sync(targets, Settings(home=home))
    out["ingest_s"] = round(time.perf_counter() - t0, 1)
    out["chunks"] = report.chunks
    out["chunks_per_s"] = round(report.chunks / out["ingest_s"], 1)
    out["store_mb"] = _disk_mb(home / "chroma")
    out["index_mb"] = _disk_mb(home / "index")
    env = {"KB_HOME": str(home)}
    t0 = time.perf_counter()
    url, proc = start_server(env)
    try:
        wait_ready(url, timeout=1800, proc=proc)
        out["startup_s"] = round(time.perf_counter() - t0, 1)
        run_clients(url, questions, 1, 10)  # warm
        out["one_client"] = run_clients(url, questions, 1, 100)
        out["eight_clients"] = run_clients(url, questions, 8, 200)
        out["sixty_four_clients"] = sustained(url, questions, 64, seconds)
        hog = subprocess.Popen([sys.executable, "-c", _HOG], env={**os.environ, "OMP_WAIT_POLICY": "ACTIVE"})
        try:
            time.sleep(2)
            out["one_client_with_hog"] = run_clients(url, questions, 1, 100)
        finally:
            _stop(hog)
        out["rss_mb"] = _tree_rss_mb(proc.pid)
    finally:
        _stop(proc)
    url, proc = start_server(env, "--workers", "2")
    try:
        wait_ready(url, timeout=1800, proc=proc)
        run_clients(url, questions, 4, 40)  # warm both workers
        out["sixty_four_clients_two_workers"] = sustained(url, questions, 64, seconds)
        out["rss_two_workers_mb"] = _tree_rss_mb(proc.pid)
    finally:
        _stop(proc)
    out["recall_at_5"] = recall(home)
    return out


def table(rows: list[dict[str, Any]], rate: float) -> str:
    """The figures as a Markdown table."""
    head = (
        "| chunks | ingest s (chunks/s) | store + index MB | start-up s | 1 client p50/p95 ms | 8 clients p95 ms | "
        "64 clients answers/s (errors) | 2 workers answers/s | p95 with hog ms | RSS MB | recall@5 |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        one, eight, many, two = (
            r["one_client"],
            r["eight_clients"],
            r["sixty_four_clients"],
            r["sixty_four_clients_two_workers"],
        )
        lines.append(
            f"| {r['chunks']:,} | {r['ingest_s']} ({r['chunks_per_s']}) | {r['store_mb']} + {r['index_mb']} | "
            f"{r['startup_s']} | {one['p50_ms']}/{one['p95_ms']} | {eight['p95_ms']} | {many['answers_per_s']} "
            f"({many['errors']}) | {two['answers_per_s']} ({two['errors']}) | {r['one_client_with_hog']['p95_ms']} | "
            f"{r['rss_mb']} | {r['recall_at_5']} |"
        )
    return head + "\n".join(lines) + f"\n\nRaw encode rate of the embedder: {rate} passages/s.\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Four panels against corpus size: ingest, start-up, latency, recall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    sizes = [r["chunks"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    axes[0][0].plot(sizes, [r["ingest_s"] for r in rows], "o-")
    axes[0][0].set_title("ingest time (s)")
    axes[0][1].plot(sizes, [r["startup_s"] for r in rows], "o-")
    axes[0][1].set_title("start-up to ready (s)")
    for key, label in (("one_client", "1 client"), ("eight_clients", "8 clients"), ("one_client_with_hog", "1 + hog")):
        axes[1][0].plot(sizes, [r[key]["p95_ms"] for r in rows], "o-", label=label)
    axes[1][0].set_title("/api/ask p95 (ms)")
    axes[1][0].legend()
    axes[1][1].plot(sizes, [r["recall_at_5"] for r in rows], "o-")
    axes[1][1].set_title("recall@5, real English questions")
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("chunks")
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Measure every size, write JSON and PNG, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="0,1000,10000,100000", help="Comma-separated chunk counts (0: shipped).")
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of each 64-client run (default 60).")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the other sizes already in OUT/scale.json (measure sizes one by one)."
    )
    args = parser.parse_args()
    questions = [i.last for i in load_items(split="dev") if i.language == "en"]
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    saved = args.out / "scale.json"
    kept = json.loads(saved.read_text(encoding="utf-8")) if args.keep and saved.exists() else {}
    rows: list[dict[str, Any]] = [r for r in kept.get("rows", []) if r["size"] not in sizes]
    texts = [p.read_text(encoding="utf-8")[:700] for p in sorted(SOURCES_DIR.rglob("*.md"))][:48] * 2
    rate = encode_rate(texts) if sizes else kept.get("encode_rate", 0.0)
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        for size in sizes:
            row = measure(size, Path(tmp), questions, args.seconds)
            rows = sorted([*rows, row], key=lambda r: r["size"])
            print(json.dumps(row), flush=True)
            saved.write_text(json.dumps({"encode_rate": rate, "rows": rows}, indent=1), encoding="utf-8")
            plot(rows, args.out / "scale.png")
    if rows and not sizes:
        plot(rows, args.out / "scale.png")
    print(table(rows, rate))


if __name__ == "__main__":
    main()
