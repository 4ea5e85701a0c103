"""Replay the reliability and security sweep against a live ``kb serve`` (``make security``); print a pass/fail table.

It ingests the shipped corpus into a temporary home, starts the server with one staff user on loopback, sends the
hostile requests the sweep found (huge feedback, huge history, huge bodies, surrogates, bad UTF-8, wrong methods,
forged feedback, uploads), times ``/healthz`` while they run, and checks what the feedback database stored against a
masking corpus and the response headers, then signs in to the staff console (cookie flags, POST-only sign-out, no
CORS for other origins) and floods it with wrong passwords (throttled, ``/healthz`` unaffected). A Chroma server that
stops answering is tested in pytest (``tests/test_cli_and_server.py``). Exits 1 when any check fails.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from eval.load import healthz_while, start_server, wait_ready
from eval.metrics import percentile

#: Personal data in the forms a first sweep found unmasked; none of it may reach the feedback database.
MASKING_CORPUS = (
    "+821012345678 / 010 - 1234 - 5678 / 번호010-9876-5432로 / 900101\u20131234567 / 900101 1234567 / "
    "4111111111111111 / 3782 822463 10005 / kim\uff20example.com / user%40example.com"
)
_LEAKS = ("1012345678", "1234 - 5678", "9876-5432", "1234567", "4111111111111111", "822463", "example.com")


def _healthz_p95(url: str, hostile: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    response, times = healthz_while(url, hostile)
    return response, percentile(times, 0.95)


def run_checks(url: str, home: Path) -> list[tuple[str, bool, str]]:
    """Every check as ``(name, passed, detail)``."""
    checks: list[tuple[str, bool, str]] = []

    def add(name: str, ok: bool, detail: str) -> None:
        checks.append((name, bool(ok), detail))

    post = httpx.Client(timeout=60)
    answer = post.post(url + "/api/ask", json={"question": "How much was Coupang fined by the PIPC?"}).json()
    huge = answer | {"question": "x" * 60000}
    r, p95 = _healthz_p95(url, lambda: post.post(url + "/api/feedback", json={"answer": huge, "rating": "up"}))
    add(
        "60,000-character feedback: 422, /healthz p95 < 100 ms",
        r.status_code == 422 and p95 < 100,
        f"{r.status_code}, {p95:.1f} ms",
    )
    history = [{"role": "user", "content": "fine?"}] * 300_000
    r, p95 = _healthz_p95(url, lambda: post.post(url + "/api/ask", json={"question": "Fine?", "history": history}))
    add(
        "300,000-turn history: 4xx, /healthz p95 < 100 ms",
        400 <= r.status_code < 500 and p95 < 100,
        f"{r.status_code}, {p95:.1f} ms",
    )
    r = post.post(url + "/api/ask", content=b'{"question": "' + b"x" * 5_000_000 + b'"}')
    add("5 MB question: 413", r.status_code == 413, str(r.status_code))
    for path, body in (
        ("/api/ask", '{"question": "fine\\ud800?"}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "fine\\ud800?"}]}'),
    ):
        r = post.post(url + path, content=body, headers={"content-type": "application/json"})
        add(f"lone surrogate on {path}: 422", r.status_code == 422, str(r.status_code))
    r = post.post(url + "/api/ask", content=b'{"question": "caf\xe9"}', headers={"content-type": "application/json"})
    add("invalid UTF-8 body: 422 with an error", r.status_code == 422 and "error" in r.json(), str(r.status_code))
    r = post.get(url + "/api/ask")
    add("GET /api/ask: 405", r.status_code == 405, str(r.status_code))
    forged = answer | {"text": "Coupang was fined 1 won. Call 1-800-SCAM. [1]"}
    r = post.post(url + "/api/feedback", json={"answer": forged, "rating": "down"})
    add("forged feedback answer: 422", r.status_code == 422, str(r.status_code))
    asked = post.post(url + "/api/ask", json={"question": f"was I affected? {MASKING_CORPUS[:300]}"}).json()
    r = post.post(url + "/api/feedback", json={"answer": asked, "rating": "down", "comment": MASKING_CORPUS})
    with sqlite3.connect(home / "feedback.sqlite3") as db:
        stored = " ".join(str(v) for row in db.execute("SELECT question, answer, comment FROM feedback") for v in row)
    leaked = [s for s in _LEAKS if s in stored]
    add(
        "masking corpus: nothing stored unmasked",
        r.status_code == 201 and not leaked,
        f"{r.status_code}, leaked {leaked}",
    )
    mode = (home / "feedback.sqlite3").stat().st_mode & 0o777
    add("feedback database mode 0600", mode == 0o600, oct(mode))
    r = post.post(url + "/gradio_api/upload", files={"files": ("a.txt", b"hello")})
    add("upload to the public page: refused", r.status_code == 403, str(r.status_code))
    page = post.get(url + "/")
    headers = page.headers
    add(
        "framing and sniffing headers on /",
        headers.get("x-frame-options") == "DENY" and headers.get("x-content-type-options") == "nosniff",
        f"{headers.get('x-frame-options')}, {headers.get('x-content-type-options')}",
    )
    ready = post.get(url + "/readyz").json()
    add("/readyz shows no paths", str(home) not in json.dumps(ready), ready.get("store", ""))
    add("/docs loads nothing from a CDN (off)", post.get(url + "/docs").status_code == 404, "")
    _, times = healthz_while(url, lambda: _abandoned_questions(url, 200))
    p95 = percentile(times, 0.95)
    add("200 clients hang up mid-question: /healthz p95 < 100 ms", p95 < 100, f"{p95:.1f} ms")
    _staff_checks(url, add)
    post.close()
    return checks


def _abandoned_questions(url: str, clients: int, linger: float = 3.0) -> None:
    """``clients`` connections each send a question and close at once; then wait while the server works them off."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"question": "How much was Coupang fined by the PIPC?"}).encode()
    head = f"POST /api/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    request = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
    for _ in range(clients):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(request)
    time.sleep(linger)


STAFF = ("agent", "correct-horse-battery")


def _staff_checks(url: str, add: Callable[[str, bool, str], None]) -> None:
    """Sign-in, cookie, sign-out and CORS on the staff console, then a flood of wrong passwords."""
    with httpx.Client(timeout=60) as client:
        form = client.get(url + "/staff/", follow_redirects=True)
        add("/staff/ without a session: the sign-in form", form.url.path == "/staff/login", form.url.path)
        r = client.post(url + "/staff/login", data={"username": STAFF[0], "password": STAFF[1]})
        cookie = r.headers.get("set-cookie", "").lower()
        flags = all(f in cookie for f in ("httponly", "secure", "samesite=strict", "path=/staff"))
        add("staff cookie HttpOnly, Secure, SameSite=Strict", r.status_code == 303 and flags, cookie[:120])
        token = r.cookies.get("kb_staff") or ""
        signed_in = {"kb_staff": token}
        foreign = client.get(url + "/staff/config", cookies=signed_in, headers={"Origin": "http://127.0.0.1:9"})
        add(
            "other local origin: no CORS on the staff API",
            foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers,
            str(foreign.headers.get("access-control-allow-origin")),
        )
        r = client.get(url + "/staff/logout", cookies=signed_in)
        add("GET /staff/logout: 405", r.status_code == 405, str(r.status_code))
        client.post(url + "/staff/logout", cookies=signed_in)
        r = client.get(url + "/staff/config", cookies=signed_in)
        add("after POST /staff/logout the token is dead", r.status_code == 401, str(r.status_code))

        def flood() -> list[int]:
            return [
                client.post(url + "/staff/login", data={"username": STAFF[0], "password": f"wrong-{n}"}).status_code
                for n in range(30)
            ]

        codes, times = healthz_while(url, flood)
        p95 = percentile(times, 0.95)
        add(
            "30 wrong passwords: throttled (429), /healthz p95 < 100 ms",
            set(codes[:5]) == {401} and set(codes[5:]) == {429} and p95 < 100,
            f"{codes.count(401)} x 401, {codes.count(429)} x 429, {p95:.1f} ms",
        )


def main() -> None:
    """Start a server over the shipped corpus in a temporary home, run the checks, print the table."""
    from bot.auth import hash_password
    from ingest.sync import sync
    from kb.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        sync(None, Settings(home=home))
        users = json.dumps({STAFF[0]: hash_password(STAFF[1])})
        url, proc = start_server({"KB_HOME": tmp, "KB_STAFF_USERS": users})
        try:
            wait_ready(url, proc=proc)
            checks = run_checks(url, home)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    width = max(len(name) for name, _, _ in checks)
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name:<{width}}  {detail}")
    failed = sum(not ok for _, ok, _ in checks)
    print(f"{len(checks) - failed} of {len(checks)} checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
