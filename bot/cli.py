"""The ``kb`` command: ingest, ask, chat, stats. Errors print one line to stderr and exit non-zero."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Grounded Q&A over the Coupang breach and Korea's PIPA."
)


def _setup() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: no spin-waiting for busy cores
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from kb.settings import get_settings

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return settings


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _guard(fn: Any) -> Any:
    """Render product errors as one line on stderr."""
    import functools

    import click

    from kb.errors import KBError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KBError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except (typer.Exit, click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise  # the command's own exit codes and usage errors
        except OSError as exc:
            # A full disk, a read-only folder, a file that vanished: one line naming the cause.
            logging.getLogger(__name__).debug("OS error", exc_info=True)
            _fail(f"{exc.strerror or exc} ({exc.filename})" if exc.filename else f"{exc.strerror or exc}")
        except Exception as exc:  # a corrupt store raises the storage library's own errors
            logging.getLogger(__name__).debug("unexpected error", exc_info=True)
            first = (str(exc).splitlines() or [""])[0][:300]
            _fail(
                f"{type(exc).__name__}: {first} (the store may be damaged: try 'kb ingest --reset'; KB_LOG_LEVEL=DEBUG shows the traceback)"
            )

    return wrapper


@app.command()
@_guard
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders; default: the shipped corpus.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Drop the collection and rebuild it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Sync files into the knowledge base (unchanged files are skipped). Exit 2 when a file failed."""
    settings = _setup()
    from bot.service import reset_services
    from ingest.sync import sync

    report = sync(paths, settings, reset=reset, show_progress=not as_json)
    reset_services()  # a service built before this ingest would answer from the old index
    if as_json:
        out = report.to_dict()
        out.pop("embedded")
        typer.echo(json.dumps(out))
    else:
        typer.echo(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, removed {report.removed}; "
            f"{report.chunks} chunks in the store ({report.embedded} embedded now)"
        )
        for f in report.failed:
            typer.echo(f"failed: {f['path']}: {f['error']}", err=True)
    if report.failed:
        raise typer.Exit(2)


@app.command()
@_guard
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON.")] = False,
    k: Annotated[int | None, typer.Option("--k", help="Chunks to retrieve.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only 'article' or 'law' documents.")] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Only documents with this topic.")] = None,
) -> None:
    """Answer one question with cited sources."""
    settings = _setup()
    from bot.present import render_text
    from bot.service import get_service

    answer = get_service(settings).answer(question, k=k, kind=kind, topic=topic)
    typer.echo(answer.model_dump_json(indent=2) if as_json else render_text(answer))


@app.command()
@_guard
def chat() -> None:
    """Talk with the knowledge base; follow-up questions use the conversation. /reset forgets it, /quit leaves."""
    settings = _setup()
    from bot.present import render_text
    from bot.service import get_service
    from bot.types import Turn
    from kb.errors import InputError

    service = get_service(settings)
    history: list[Turn] = []
    typer.echo(f"Knowledge base as of {service.as_of}. Ask about the Coupang breach or PIPA. /reset, /quit.")
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            typer.echo("")
            return
        if question in ("/quit", "/exit", ":q"):
            return
        if question == "/reset":
            history.clear()
            typer.echo("(conversation forgotten)")
            continue
        if not question:
            continue
        try:
            answer = service.answer(question, history)
        except InputError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        typer.echo("\nbot> " + render_text(answer))
        history += [Turn(role="user", content=question), Turn(role="assistant", content=answer.text)]


@app.command()
@_guard
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Documents, chunks, model, store location and the knowledge base's as-of date."""
    settings = _setup()
    from kb.embeddings import get_embedder
    from kb.store import coverage_note, latest_as_of, open_store

    store = open_store(settings, get_embedder(settings))
    chunks = store.all_chunks()
    info = {
        "documents": len({c.meta["source"] for c in chunks}),
        "chunks": len(chunks),
        "model": store.metadata.get("embedding_model"),
        "dimension": store.metadata.get("embedding_dim"),
        "chunker_version": store.metadata.get("chunker_version"),
        "store": store.location,
        "collection": settings.collection,
        "as_of": latest_as_of(chunks),
        "coverage": coverage_note(latest_as_of(chunks)),
    }
    if as_json:
        typer.echo(json.dumps(info))
    else:
        for key, value in info.items():
            typer.echo(f"{key:>16}: {value}")


@app.command()
@_guard
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default KB_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default KB_PORT, 7860).")] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Server processes sharing the port and the store.")
    ] = 1,
) -> None:
    """Serve the public page (/), the staff console (/staff), the API (/api, /v1) and its schema (/openapi.json).

    With ``--workers N`` there are N processes, each with its own copy of the model and the saved index, sharing the
    store, the feedback database, the staff sessions and the key in ``KB_HOME/secret``; the math libraries in each
    get an equal share of the cores.
    """
    import time

    started = time.perf_counter()
    settings = _setup()
    import uvicorn

    host = host or settings.host
    port = port or settings.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    staff = "" if settings.staff_users else " (closed: set KB_STAFF_USERS)"
    where = f"Open http://{shown}:{port}/ - staff console http://{shown}:{port}/staff{staff}"
    log_level = settings.log_level.lower()
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, threads)
        typer.echo(f"Starting {workers} workers ({threads} math thread(s) each). {where}", err=True)
        uvicorn.run(
            "bot.server:worker_app", factory=True, workers=workers, host=host, port=port, log_level=log_level,
            access_log=False,
        )  # fmt: skip
        return
    from bot.server import create_app

    app_ = create_app(settings)
    typer.echo(f"Ready in {time.perf_counter() - started:.1f}s. {where}", err=True)
    uvicorn.run(app_, host=host, port=port, log_level=log_level, access_log=False)


@app.command("eval")
@_guard
def eval_cmd(
    set_path: Annotated[Path | None, typer.Option("--set", help="Eval set (.jsonl or folder).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.json/.md/.html.")] = Path("artifacts/eval"),
    baseline: Annotated[Path | None, typer.Option("--baseline", help="Baseline for the regression check.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the aggregates and gate as JSON.")] = False,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Write this run's per-item results as the new baseline.")
    ] = False,
    export_fmt: Annotated[str | None, typer.Option("--export", help="Also write ragas or deepeval data.")] = None,
    no_textbook: Annotated[bool, typer.Option("--no-textbook", help="Skip the textbook baseline pipeline.")] = False,
    mode: Annotated[
        str, typer.Option("--mode", help="extractive, or generative: also score the LLM path (needs KB_LLM_BASE_URL).")
    ] = "extractive",
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Answer from this folder instead of the shipped corpus (gate section [corpus])."),
    ] = None,
) -> None:
    """Score the bot on the eval sets (dev and test side by side), write reports, and gate on test (exit 1 on failure)."""
    settings = _setup()
    from eval.export import FORMATS, export
    from eval.gate import BASELINE_FILE, baseline_from
    from eval.report import write_reports
    from eval.suite import run_suite

    if mode not in ("extractive", "generative"):
        _fail(f"Unknown mode '{mode}': choose extractive or generative.")
    if export_fmt is not None and export_fmt not in FORMATS:
        _fail(f"Unknown export format '{export_fmt}': choose from {', '.join(FORMATS)}.")
    baseline_path = baseline or BASELINE_FILE
    suite = run_suite(
        settings,
        set_path,
        with_textbook=not no_textbook,
        baseline_path=None if update_baseline or corpus else baseline_path,
        show_progress=not as_json,
        mode=mode,
        corpus=corpus,
    )
    report = suite.report
    paths = write_reports(report, out)
    if export_fmt:
        paths[export_fmt] = export(suite.ours, export_fmt, out)
    if update_baseline:
        doc = baseline_from(suite.ours, report["pipelines"]["ours"]["aggregates"], report["meta"]["set"])
        baseline_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        paths["baseline"] = baseline_path
    gate = report["gate"]
    if as_json:
        summary = {name: p["aggregates"] for name, p in report["pipelines"].items()}
        typer.echo(json.dumps({"aggregates": summary, "gate": gate, "files": {k: str(v) for k, v in paths.items()}}))
    else:
        typer.echo(_eval_summary(report))
        typer.echo("reports: " + ", ".join(str(p) for p in paths.values()))
    if not gate["passed"] and not update_baseline:
        raise typer.Exit(1)


_SUMMARY_KEYS = (
    "recall@5",
    "mrr@10",
    "ndcg@10",
    "fact_recall",
    "number_exactness",
    "citation_validity",
    "citation_precision",
    "grounded_sentence_rate",
    "abstention_f1",
    "false_premise_handled",
    "personal_data_refused",
    "blind_request_refusal_recall",
    "lookalikes_refused",
    "canary_leaks",
    "must_not_violations",
    "latency_p50_ms",
    "latency_p95_ms",
    "pass_rate",
)


def _eval_summary(report: dict[str, Any]) -> str:
    pipes = report["pipelines"]
    names = list(pipes)
    lines = [f"{'metric':<24}" + "".join(f"{n:>12}" for n in names)]
    for key in _SUMMARY_KEYS:
        cells = []
        for n in names:
            v = pipes[n]["aggregates"].get(key)
            cells.append(f"{'-' if v is None else (f'{v:.3f}' if isinstance(v, float) else v):>12}")
        lines.append(f"{key:<24}" + "".join(cells))
    gap = report.get("gap") or {}
    if gap:
        shown = [k for k in ("recall@5", "fact_recall", "citation_precision", "abstention_f1", "pass_rate") if k in gap]
        lines.append("dev -> test: " + ", ".join(f"{k} {gap[k]:+.3f}" for k in shown) + " (all in the report)")
    for split, st in (report.get("stability") or {}).items():
        lines.append(f"paraphrase stability ({split}, {st['clusters']} clusters): same decision {st['same_decision']}")
    gate = report["gate"]
    reg = gate.get("regression")
    if reg:
        lines.append(
            f"baseline: {len(reg['regressed'])} regressed, {len(reg['improved'])} improved, {reg['unchanged']} unchanged"
        )
    lines.append("gate: " + ("PASSED" if gate["passed"] else "FAILED"))
    for failure in gate["failures"]:
        lines.append(f"  - {failure}")
    failing = [i for i in report["items"] if not i["passed"]]
    if failing:
        lines.append(f"failing items ({len(failing)}):")
        for i in failing:
            lines.append(f"  {i['id']} [{i['category']}] {i['question']}")
            lines.append(f"      why: {'; '.join(i['reasons'])}")
            lines.append(f"      answer: {i['answer'][:200]}")
    return "\n".join(lines)


@app.command("hash-password")
def hash_password_cmd(
    user: Annotated[str, typer.Argument(help="The staff user name.")],
) -> None:
    """Hash a staff password (read from the terminal, or stdin when piped) and print the KB_STAFF_USERS entry."""
    import getpass
    import sys

    from bot.auth import hash_password

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({user: hashed}))


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
