"""The HTTP surfaces over real HTTP: health, /api/ask and its bad requests, sources, feedback masking,
the OpenAI-compatible /v1 through the official client, gradio_client, and 32 concurrent requests."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from bot.types import Answer
from eval.load import healthz_while
from eval.metrics import percentile
from tests.helpers import assert_citations_verbatim

pytestmark = pytest.mark.server

FACTS = [
    ("How many accounts were affected by the Coupang breach?", ["33.7 million", "33.67 million"]),
    ("How much was Coupang fined by the PIPC?", ["624.7 billion"]),
    ("What compensation did Coupang offer?", ["50,000 won"]),
    ("What does PIPA Article 39-2 allow victims to claim?", ["3 million won"]),
]


def _post(url: str, body: object = None, *, content: str | None = None) -> httpx.Response:
    if content is not None:
        return httpx.post(url + "/api/ask", content=content, headers={"content-type": "application/json"}, timeout=30)
    return httpx.post(url + "/api/ask", json=body, timeout=30)


def test_health_and_readiness(live_server):
    url = live_server["url"]
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(url + "/readyz").json()
    assert ready["ready"] is True and ready["chunks"] > 200 and ready["documents"] >= 28
    assert "all-MiniLM-L6-v2" in ready["model"] and "multilingual-e5-small" in ready["model"]
    assert ready["as_of"].startswith("2026")


def test_ask_answers_with_verbatim_citations(live_server):
    for question, expect in FACTS:
        answer = _post(live_server["url"], {"question": question}).json()
        assert not answer["abstained"], answer["text"]
        assert any(e in answer["text"] for e in expect), answer["text"]
        assert "[1]" in answer["text"]
        parsed = Answer.model_validate(answer)
        assert all(c.quote for c in parsed.citations)
        assert_citations_verbatim(parsed)


def test_ask_abstains_refuses_and_follows_up(live_server):
    url = live_server["url"]
    off = _post(url, {"question": "What is the best recipe for kimchi stew?"}).json()
    assert off["abstained"] and not off["citations"]
    pii = _post(url, {"question": "What is the home address of the former employee?"}).json()
    assert pii["refused"]
    first = _post(url, {"question": "How much was Coupang fined by the PIPC?"}).json()
    history = [{"role": "user", "content": first["question"]}, {"role": "assistant", "content": first["text"]}]
    follow = _post(url, {"question": "When was that?", "history": history}).json()
    assert "June" in follow["text"] and follow["rewritten_question"] != "When was that?"


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({}, 422, "'question': Field required"),
        ({"question": ""}, 400, "empty"),
        ({"question": "   "}, 400, "empty"),
        ({"question": "x" * 1001}, 400, "too long"),
        ({"question": 42}, 422, "'question': Input should be a valid string"),
        ({"question": ["a"]}, 422, "valid string"),
        ({"question": "Fine?", "k": "five"}, 422, "'k'"),
        ({"question": "Fine?", "k": 0}, 400, "Invalid k"),
        ({"question": "Fine?", "k": 500}, 400, "Invalid k"),
        ({"question": "Fine?", "history": [{"role": "robot", "content": "hi"}]}, 422, "history.0.role"),
        ({"question": "Fine?", "history": "not a list"}, 422, "history"),
        ({"question": "Fine?", "kind": "poem"}, 422, "kind"),
        ({"question": "Fine?", "surprise": 1}, 422, "surprise"),
        ([1, 2], 422, "Invalid request"),
        ({"question": "Fine?", "history": [{"role": "user", "content": "hi"}] * 41}, 400, "KB_MAX_HISTORY_TURNS"),
        ({"question": "Fine?", "history": [{"role": "user", "content": "x" * 20001}]}, 400, "KB_MAX_HISTORY_CHARS"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(live_server, body, status, reason):
    response = _post(live_server["url"], body)
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("content", ['{"question": "fine?"', "not json", "", '{"question": "\\ud800"'])
def test_malformed_json_is_a_4xx(live_server, content):
    response = _post(live_server["url"], content=content)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]


@pytest.mark.parametrize("content", [b'{"question": "caf\xe9?"}', b'{"question": ' * 3000 + b'"x"' + b"}" * 3000])
def test_unparseable_bodies_are_a_422_with_an_error(live_server, content):
    response = httpx.post(
        live_server["url"] + "/api/ask", content=content, headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 422, response.text
    assert "not valid JSON" in response.json()["error"]


def test_a_wrong_method_on_an_api_path_is_a_405(live_server):
    url = live_server["url"]
    for method, path in (("GET", "/api/ask"), ("PUT", "/api/feedback"), ("POST", "/healthz"), ("DELETE", "/v1/models")):
        response = httpx.request(method, url + path, timeout=30)
        assert response.status_code == 405, (method, path, response.status_code)
        assert response.headers["allow"] and "not allowed" in response.json()["error"]


def test_a_lone_surrogate_is_a_422_on_every_surface(live_server):
    url = live_server["url"]
    for path, body in (
        ("/api/ask", '{"question": "fine\\ud800?"}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "fine\\ud800?"}]}'),
    ):
        response = httpx.post(url + path, content=body, headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 422, response.text
        assert "Unicode" in response.text


def test_hostile_feedback_and_history_never_freeze_the_server(live_server):
    url = live_server["url"]
    answer = _post(url, {"question": "How much was Coupang fined by the PIPC?"}).json()
    huge = answer | {"question": "x" * 60000, "text": "t"}
    response, times = healthz_while(
        url, lambda: httpx.post(url + "/api/feedback", json={"answer": huge, "rating": "up"}, timeout=60)
    )
    assert response.status_code == 422 and "too long" in response.json()["error"]
    assert percentile(times, 0.95) < 100, times
    history = [{"role": "user", "content": "fine?"}] * 300_000
    response, times = healthz_while(
        url, lambda: httpx.post(url + "/api/ask", json={"question": "Fine?", "history": history}, timeout=60)
    )
    assert response.status_code in (400, 413), response.text
    assert percentile(times, 0.95) < 100, times
    big = httpx.post(
        url + "/api/ask", content=b"{" + b" " * 5_000_000 + b"}", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and "limit" in big.json()["error"]


def test_sources_and_openapi_docs(live_server):
    url = live_server["url"]
    docs = httpx.get(url + "/api/sources").json()
    assert len(docs) >= 28 and {d["kind"] for d in docs} == {"article", "law"}
    assert all(d["title"] and d["as_of"] and d["chunks"] >= 1 for d in docs)
    spec = httpx.get(url + "/openapi.json").json()
    assert {"/api/ask", "/api/sources", "/v1/chat/completions", "/v1/models"} <= set(spec["paths"])
    assert httpx.get(url + "/docs").status_code == 404  # Swagger UI would load a CDN; the schema is enough
    ready = httpx.get(url + "/readyz").json()
    assert "/" not in ready["store"]  # no paths of this machine
    page = httpx.get(url + "/")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    upload = httpx.post(url + "/gradio_api/upload", files={"files": ("a.txt", b"hello")})
    assert upload.status_code == 403


def test_feedback_is_stored_with_personal_data_masked(live_server):
    url = live_server["url"]
    answer = _post(
        url, {"question": "My email is kim.minji@example.com and phone 010-1234-5678: was I affected?"}
    ).json()
    response = httpx.post(
        url + "/api/feedback", json={"answer": answer, "rating": "down", "comment": "RRN 900101-1234567"}
    )
    assert response.status_code == 201
    row_id = response.json()["id"]
    with sqlite3.connect(live_server["home"] / "feedback.sqlite3") as db:
        question, comment, rating = db.execute(
            "SELECT question, comment, rating FROM feedback WHERE id = ?", (row_id,)
        ).fetchone()
    assert rating == -1
    assert (
        "kim.minji" not in question and "1234-5678" not in question and "[email]" in question and "[phone]" in question
    )
    assert comment == "RRN [resident-number]"
    bad = httpx.post(url + "/api/feedback", json={"answer": answer, "rating": "meh"})
    assert bad.status_code == 422 and "rating" in bad.json()["error"]
    forged = answer | {"text": "Coupang was fined 1 won. Call 1-800-SCAM. [1]"}
    refused = httpx.post(url + "/api/feedback", json={"answer": forged, "rating": "down"})
    assert refused.status_code == 422 and "not an answer this server gave" in refused.json()["error"]


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=30)


def test_openai_client_models_and_chat(live_server):
    client = _client(live_server["url"])
    assert [m.id for m in client.models.list().data] == ["coupang-kb"]
    completion = client.chat.completions.create(
        model="coupang-kb",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "How much was Coupang fined by the PIPC?"},
        ],
    )
    text = completion.choices[0].message.content or ""
    assert "624.7 billion" in text and "[1]" in text
    kb = completion.model_extra["kb"]  # type: ignore[index]
    assert kb["abstained"] is False and kb["citations"][0]["quote"] in text
    follow = client.chat.completions.create(
        model="coupang-kb",
        messages=[
            {"role": "user", "content": "How much was Coupang fined by the PIPC?"},
            {"role": "assistant", "content": text},
            {"role": "user", "content": [{"type": "text", "text": "When was that?"}]},
        ],
    )
    assert "June" in (follow.choices[0].message.content or "")
    off = client.chat.completions.create(
        model="coupang-kb", messages=[{"role": "user", "content": "Who won the 1998 World Cup?"}]
    )
    assert off.model_extra["kb"]["abstained"] is True  # type: ignore[index]


def test_openai_client_streams_sentence_by_sentence(live_server):
    client = _client(live_server["url"])
    question = [{"role": "user", "content": "What compensation did Coupang offer?"}]
    whole = client.chat.completions.create(model="coupang-kb", messages=question)  # type: ignore[arg-type]
    chunks = list(client.chat.completions.create(model="coupang-kb", messages=question, stream=True))  # type: ignore[arg-type]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) >= 2 and all("[" in p for p in pieces)
    assert "".join(pieces) == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["kb"]["citations"]  # type: ignore[index]


def test_openai_client_gets_4xx_for_bad_requests(live_server):
    client = _client(live_server["url"])
    with pytest.raises(openai.BadRequestError, match="last message must come from the user"):
        client.chat.completions.create(model="coupang-kb", messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.UnprocessableEntityError, match="messages"):
        client.chat.completions.create(model="coupang-kb", messages=[])
    with pytest.raises(openai.BadRequestError, match="too long"):
        client.chat.completions.create(model="coupang-kb", messages=[{"role": "user", "content": "y" * 5000}])


def test_gradio_client_against_the_live_page(live_server):
    from gradio_client import Client

    client = Client(live_server["url"] + "/", verbose=False)
    answer = client.predict("How many accounts were affected by the Coupang breach?", api_name="/ask")
    assert not answer["abstained"] and answer["citations"]
    assert "33.7 million" in answer["text"] or "33.67 million" in answer["text"]
    refused = client.predict("Give me the phone number of Kim Min-jun", api_name="/ask")
    assert refused["refused"] is True


def test_32_concurrent_asks_all_succeed_with_correct_answers(live_server):
    url = live_server["url"]
    work = [FACTS[i % len(FACTS)] for i in range(32)]

    def ask(item: tuple[str, list[str]]) -> tuple[int, str, list[str]]:
        response = httpx.post(url + "/api/ask", json={"question": item[0]}, timeout=120)
        return response.status_code, response.json()["text"], item[1]

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(ask, work))
    assert all(status == 200 for status, _, _ in results)
    assert all(any(e in text for e in expect) for _, text, expect in results), [t for _, t, _ in results]


def test_the_server_log_has_no_traceback(live_server):
    # Runs after the bad requests above (file order): none of them may have produced an unhandled error.
    log = live_server["log"].read_text()
    assert "Traceback" not in log, log[-2000:]
