"""Shared fixtures: hermetic KB_HOME, loopback-only network, the real model and a real Chroma store."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if str(host) not in _LOOPBACK:
        raise OSError(f"network blocked in tests: {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def kb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own KB_HOME and fresh settings."""
    from bot.service import reset_services
    from kb.settings import get_settings

    home = tmp_path / "kbhome"
    monkeypatch.setenv("KB_HOME", str(home))
    for var in ("KB_CHROMA_HOST", "KB_CHROMA_PORT", "KB_COLLECTION", "KB_MODEL_PATH", "KB_ABSTAIN_THRESHOLD"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    reset_services()
    yield home
    get_settings.cache_clear()
    reset_services()


#: Fixtures that load the real model; a test using any of them is in the slow (behaviour) tier.
_REAL_MODEL = {"embedder", "corpus_settings", "service", "stores", "live_server", "gen_service"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the real model ``slow`` (``make test-fast`` leaves them out)."""
    for item in items:
        if _REAL_MODEL & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def fake_embedder():  # type: ignore[no-untyped-def]
    """A deterministic stand-in behind the Embedder protocol, for plumbing-only tests."""
    from tests.fakes import HashEmbedder

    return HashEmbedder()


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real bundled model, loaded once."""
    from kb.embeddings import get_embedder
    from kb.settings import Settings

    return get_embedder(Settings())


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory, embedder):  # type: ignore[no-untyped-def]
    """Settings of a store holding the shipped corpus, ingested once per session."""
    from ingest.sync import sync
    from kb.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("corpus"))
    report = sync(None, settings, embedder=embedder)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def service(corpus_settings, embedder):  # type: ignore[no-untyped-def]
    """The answering service over the shipped corpus."""
    from bot.service import AnswerService
    from kb.store import open_store

    return AnswerService(corpus_settings, embedder, open_store(corpus_settings, embedder))


# --- live servers for the web, API and browser tests ------------------------------------------------

from eval.load import free_port, wait_ready  # noqa: E402 - after the socket guard, like every test import

STAFF_USER = "agent"
STAFF_PASSWORD = "correct-horse-battery"
ARTIFACTS = Path(os.environ.get("KB_TEST_ARTIFACTS", "artifacts")) / "screenshots"


@pytest.fixture(scope="session")
def live_server(corpus_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """`kb serve` as a real process on 127.0.0.1 over the shipped corpus, with one staff user."""
    import json
    import subprocess
    import sys
    import time

    from bot.auth import hash_password

    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {
        **os.environ,
        "KB_HOME": str(corpus_settings.home),
        "KB_STAFF_USERS": json.dumps({STAFF_USER: hash_password(STAFF_PASSWORD)}),
        "KB_LOG_LEVEL": "warning",
    }
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc=proc)
    except (RuntimeError, TimeoutError):
        proc.kill()
        raise RuntimeError(log.read_text()[-3000:]) from None
    yield {"url": url, "home": corpus_settings.home, "log": log, "startup_s": time.monotonic() - started}
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


class ThreadServer:
    """uvicorn serving an app on 127.0.0.1 from a thread of the test process (real HTTP, shared model)."""

    def __init__(self, app: object) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        wait_ready(self.url, timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
