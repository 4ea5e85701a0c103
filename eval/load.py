"""Load figures for the web server (part of ``make bench``).

Starts ``kb serve`` as its own process over a fresh copy of the shipped corpus and reports: start-up time to
ready, ``/api/ask`` latency p50/p95 with 1 and with 8 concurrent clients, and the server's RSS after 1,000
questions. Figures only; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval.items import load_items
from eval.metrics import percentile


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str, timeout: float = 180.0, proc: subprocess.Popen[bytes] | None = None, path: str = "/readyz"
) -> None:
    """Wait until ``url + path`` answers 200.

    Raises:
        RuntimeError: when ``proc`` exits first.
        TimeoutError: when it is not ready within ``timeout`` seconds.

    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def start_server(env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``kb serve`` on a free loopback port with ``env`` added; return its URL and process (not yet ready)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env={**os.environ, "KB_LOG_LEVEL": "warning", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return f"http://127.0.0.1:{port}", proc


def _rss_mb(pid: int) -> dict[str, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Vm")
    )
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


def _timed_ask(client: httpx.Client, url: str, question: str) -> float:
    t0 = time.perf_counter()
    response = client.post(url + "/api/ask", json={"question": question})
    response.raise_for_status()
    return (time.perf_counter() - t0) * 1000


def _run(url: str, questions: list[str], clients: int, total: int) -> dict[str, float]:
    work = [questions[i % len(questions)] for i in range(total)]
    per_client = [work[i::clients] for i in range(clients)]

    def one_client(batch: list[str]) -> list[float]:
        with httpx.Client(timeout=60) as client:
            return [_timed_ask(client, url, q) for q in batch]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        times = [ms for batch in pool.map(one_client, per_client) for ms in batch]
    wall = time.perf_counter() - t0
    return {
        "requests": len(times),
        "p50_ms": round(percentile(times, 0.5), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "requests_per_s": round(len(times) / wall, 1),
    }


def main() -> None:
    """Ingest into a temporary home, start the server, load it, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=1000, help="Questions asked in all (default 1000).")
    args = parser.parse_args()
    from ingest.sync import sync
    from kb.settings import Settings

    questions = [i.last for i in load_items(split="dev")]
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sync(None, Settings(home=Path(tmp)))
        t0 = time.perf_counter()
        url, proc = start_server({"KB_HOME": tmp, "HF_HUB_OFFLINE": "1"})
        try:
            wait_ready(url, proc=proc)
            out["startup_to_ready_s"] = round(time.perf_counter() - t0, 2)
            out["rss_after_start_mb"] = _rss_mb(proc.pid)
            one = _run(url, questions, clients=1, total=100)
            eight = _run(url, questions, clients=8, total=400)
            rest = _run(url, questions, clients=8, total=args.total - 500) if args.total > 500 else {}
            out["api_ask_1_client"] = one
            out["api_ask_8_clients"] = eight
            out["questions_asked"] = one["requests"] + eight["requests"] + rest.get("requests", 0)
            out["rss_after_questions_mb"] = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
