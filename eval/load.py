"""Load figures for the web server (part of ``make bench``).

Starts ``kb serve`` as its own process over a fresh copy of the shipped corpus and reports: start-up time to
ready, ``/api/ask`` latency p50/p95 with 1 and with 8 concurrent clients, the server's RSS after 1,000 questions, and
64 clients for 60 s with one hostile feedback request half-way (answers/s, errors, and ``/healthz`` p95 throughout).
Figures only; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import httpx

from eval.items import load_items
from eval.metrics import percentile

T = TypeVar("T")


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


def healthz_while(
    url: str, hostile: Callable[[], T], probes: int = 20, interval: float = 0.02
) -> tuple[T, list[float]]:
    """Run ``hostile`` in a thread and time ``GET /healthz`` every ``interval`` s until it returns (``probes`` at least).

    Returns:
        What ``hostile`` returned, and the probe times in milliseconds, sorted (a probe that fails counts as 30 s).

    """
    result: list[T] = []
    worker = threading.Thread(target=lambda: result.append(hostile()))
    worker.start()
    times: list[float] = []
    with httpx.Client(timeout=30) as client:
        while worker.is_alive() or len(times) < probes:
            t0 = time.perf_counter()
            try:
                ok = client.get(url + "/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            times.append((time.perf_counter() - t0) * 1000 if ok else 30_000.0)
            time.sleep(interval)
    worker.join()
    return result[0], sorted(times)


def start_server(env: dict[str, str], *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``kb serve`` on a free loopback port; return its URL and process (not yet ready).

    ``env`` is added to this process's environment; ``args`` go to ``kb serve`` (``"--workers", "2"``).
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), *args],
        env={**os.environ, "KB_LOG_LEVEL": "warning", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return f"http://127.0.0.1:{port}", proc


def rss_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now and at its peak, in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Vm")
    )
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


def _timed_ask(client: httpx.Client, url: str, question: str) -> float:
    t0 = time.perf_counter()
    response = client.post(url + "/api/ask", json={"question": question})
    response.raise_for_status()
    return (time.perf_counter() - t0) * 1000


def run_clients(url: str, questions: list[str], clients: int, total: int) -> dict[str, float]:
    """``total`` questions shared among ``clients`` concurrent clients: latency p50/p95 and requests/s."""
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


def sustained(url: str, questions: list[str], clients: int, seconds: float) -> dict[str, float]:
    """``clients`` clients asking back to back for ``seconds``; failures are counted, not raised."""
    deadline = time.perf_counter() + seconds

    def one_client(start: int) -> tuple[list[float], int]:
        times: list[float] = []
        errors = 0
        with httpx.Client(timeout=60) as client:
            n = start
            while time.perf_counter() < deadline:
                try:
                    times.append(_timed_ask(client, url, questions[n % len(questions)]))
                except httpx.HTTPError:
                    errors += 1
                n += clients
        return times, errors

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one_client, range(clients)))
    wall = time.perf_counter() - t0
    times = [ms for batch, _ in results for ms in batch]
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "answers": len(times),
        "errors": sum(e for _, e in results),
        "p50_ms": round(percentile(times, 0.5), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "answers_per_s": round(len(times) / wall, 1),
    }


def under_load(url: str, questions: list[str], clients: int = 64, seconds: float = 60.0) -> dict[str, object]:
    """Many clients at once plus one hostile request, with ``/healthz`` probed throughout.

    ``clients`` clients ask for ``seconds``; half-way one feedback request carries a 60,000-character question.
    Returns the answers' figures and the probes' p95.
    """

    def hostile() -> int:
        time.sleep(seconds / 2)
        answer = httpx.post(url + "/api/ask", json={"question": questions[0]}, timeout=60).json()
        body = {"answer": answer | {"question": "x" * 60000}, "rating": "up"}
        return httpx.post(url + "/api/feedback", json=body, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=1) as side:
        status = side.submit(hostile)
        load, probes = healthz_while(url, lambda: sustained(url, questions, clients, seconds))
        return {
            **load,
            "hostile_feedback_status": status.result(),
            "healthz_probes": len(probes),
            "healthz_p95_ms": round(percentile(probes, 0.95), 1),
        }


def main() -> None:
    """Ingest into a temporary home, start the server, load it, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=1000, help="Questions asked in all (default 1000).")
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of the 64-client run (default 60).")
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
            out["rss_after_start_mb"] = rss_mb(proc.pid)
            one = run_clients(url, questions, clients=1, total=100)
            eight = run_clients(url, questions, clients=8, total=400)
            rest = run_clients(url, questions, clients=8, total=args.total - 500) if args.total > 500 else {}
            out["api_ask_1_client"] = one
            out["api_ask_8_clients"] = eight
            out["questions_asked"] = one["requests"] + eight["requests"] + rest.get("requests", 0)
            out["rss_after_questions_mb"] = rss_mb(proc.pid)
            out["api_ask_64_clients_with_hostile_feedback"] = under_load(url, questions, 64, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
