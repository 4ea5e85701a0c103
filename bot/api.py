"""The HTTP API: ``/api/ask``, ``/api/sources``, ``/api/feedback``, health probes, and OpenAI-compatible ``/v1``.

Every error is JSON with a reason and a 4xx status (OpenAI's ``{"error": {...}}`` shape under ``/v1``); an
unexpected failure is logged and answered with a bare 500, never a traceback.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.feedback import FeedbackStore
from bot.present import pieces
from bot.service import AnswerService, check_unicode
from bot.types import Answer, Turn
from kb.errors import InputError, KBError
from kb.settings import Settings

log = logging.getLogger(__name__)

MODEL_ID = "coupang-kb"


class AskRequest(BaseModel):
    """A question, with the conversation so far for follow-ups."""

    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(description="The question (1 to KB_MAX_QUESTION_CHARS characters).")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    k: StrictInt | None = Field(None, description="Chunks to retrieve (1-50); default KB_TOP_K.")
    kind: Literal["article", "law"] | None = Field(None, description="Only use this kind of document.")
    topic: StrictStr | None = Field(None, description="Only use documents with this topic.")


class FeedbackRequest(BaseModel):
    """A thumbs up/down on an answer the API returned."""

    model_config = ConfigDict(extra="forbid")

    answer: Answer
    rating: Literal["up", "down"]
    comment: StrictStr = Field("", max_length=2000)


class ChatMessage(BaseModel):
    """An OpenAI chat message; content may be a string or a list of text parts."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text, with text parts joined."""
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """The subset of OpenAI's chat-completions request this server reads (other fields are accepted and ignored)."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class APIError(Exception):
    """A request the API rejects, with its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _describe(exc: RequestValidationError) -> str:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return f"Invalid request: '{where}': {first.get('msg', 'invalid value')}."


def _error(request: Request, message: str, status: int) -> JSONResponse:
    if request.url.path.startswith("/v1/"):
        kind = "invalid_request_error" if status < 500 else "server_error"
        return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)
    return JSONResponse({"error": message}, status)


def install_error_handlers(app: FastAPI) -> None:
    """Turn validation, input and unexpected errors into JSON with a reason."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(request, _describe(exc), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers a body it cannot parse (invalid UTF-8, nesting too deep) with 400 {"detail": ...}; it is
        # the same kind of error as invalid JSON, so it gets the same 422 {"error": ...}.
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            return _error(request, "The request body is not valid JSON (or not UTF-8, or nested too deeply).", 422)
        return _error(request, str(exc.detail), exc.status_code)

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> JSONResponse:
        return _error(request, str(exc), exc.status)

    @app.middleware("http")
    async def _body_limit(request: Request, call_next: Any) -> Any:
        """Refuse a body larger than ``KB_MAX_REQUEST_BYTES`` before reading it (413, the limit named)."""
        limit = getattr(app.state, "max_request_bytes", None)
        size = request.headers.get("content-length", "")
        if limit and size.isdigit() and int(size) > limit:
            return _error(request, f"The request body is too large ({size} bytes; the limit is {limit}).", 413)
        return await call_next(request)

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return _error(request, str(exc), exc.status)

    @app.exception_handler(KBError)
    async def _kb_error(request: Request, exc: KBError) -> JSONResponse:
        log.error("knowledge base error on %s: %s", request.url.path, exc)
        return _error(request, str(exc), 503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error(request, "Internal error; it has been logged.", 500)


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The last user message as the question, earlier user/assistant messages as history."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise APIError("The last message must come from the user.")
    history = [Turn(role=m.role, content=m.text()) for m in turns[:-1] if m.text().strip()]  # type: ignore[arg-type]
    return turns[-1].text(), history


def _kb_extra(answer: Answer) -> dict[str, Any]:
    return answer.model_dump(include={"citations", "abstained", "refused", "reason", "confidence", "mode"})


def _completion(answer: Answer, model: str) -> dict[str, Any]:
    words_in, words_out = len(answer.question.split()), len(answer.text.split())
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": words_in, "completion_tokens": words_out, "total_tokens": words_in + words_out},
        "kb": _kb_extra(answer),
    }


def _stream(answer: Answer, model: str) -> Iterator[str]:
    """Server-sent events: one chunk per answer sentence, the citations with the final chunk, then [DONE]."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for i, piece in enumerate(pieces(answer)):
        yield event({"content": piece if i == 0 else " " + piece})
    yield event({}, "stop", kb=_kb_extra(answer))
    yield "data: [DONE]\n\n"


def _check_feedback(req: FeedbackRequest, settings: Settings) -> None:
    """Reject a feedback request larger than anything the server answers, naming the limit (422)."""
    a = req.answer
    limit = settings.max_answer_chars
    if len(a.question) > settings.max_question_chars:
        raise APIError(f"answer.question is too long (the limit is {settings.max_question_chars}).", 422)
    if len(a.text) > limit or sum(len(c.quote) for c in a.citations) > limit:
        raise APIError(f"answer.text or its quotes are too long (the limit is {limit}, KB_MAX_ANSWER_CHARS).", 422)
    if len(a.citations) > settings.max_sentences * 4:
        raise APIError(f"answer.citations holds more than {settings.max_sentences * 4} citations.", 422)
    try:
        for text in (a.question, a.text, req.comment, *(f"{c.title}{c.section}{c.source}" for c in a.citations)):
            check_unicode(text)
    except InputError as exc:
        raise APIError(str(exc), 422) from None


def build_router(service: AnswerService, feedback: FeedbackStore) -> APIRouter:
    """The API routes over one shared service and feedback store."""
    router = APIRouter()

    @router.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up. It runs on the event loop, never queued behind answers in the worker threads."""
        return {"status": "ok"}

    @router.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The store is open: chunk count, model, corpus date. 503 when the store cannot be read.

        ``feedback`` says ``ok`` or why ratings cannot be stored; answers still work then, so the status stays 200.
        """
        try:
            chunks = service.store.count()
        except Exception as exc:  # noqa: BLE001 - any store failure means "not ready", reported, not raised
            return JSONResponse({"ready": False, "error": str(exc).splitlines()[0]}, 503)
        body = {
            "ready": chunks > 0,
            "chunks": chunks,
            "documents": len(service.documents),
            "model": service.embedder.name,
            "as_of": service.as_of,
            "store": "server" if service.settings.chroma_host else "embedded",
            "feedback": feedback.problem() or "ok",
        }
        return JSONResponse(body, 200 if chunks > 0 else 503)

    @router.post("/api/ask", tags=["api"])
    def ask(req: AskRequest) -> Answer:
        """Answer a question with cited, verified sources (or abstain / refuse)."""
        return service.answer(req.question, req.history, req.k, kind=req.kind, topic=req.topic)

    @router.get("/api/sources", tags=["api"])
    def sources() -> list[dict[str, Any]]:
        """The documents in the knowledge base with their metadata."""
        return service.documents

    @router.post("/api/feedback", tags=["api"], status_code=201)
    def add_feedback(req: FeedbackRequest) -> dict[str, int]:
        """Store a thumbs up/down on an answer (personal data masked)."""
        _check_feedback(req, service.settings)
        if not service.issued(req.answer):
            raise APIError("answer: not an answer this server gave (send it back unchanged, with its answer_id).", 422)
        try:
            row = feedback.add(req.answer, 1 if req.rating == "up" else -1, comment=req.comment, surface="api")
        except sqlite3.Error as exc:  # read-only, full or locked database: the feedback store is unavailable
            log.error("feedback not stored: %s", exc)
            raise APIError(f"Feedback cannot be stored right now ({str(exc).splitlines()[0]}).", 503) from None
        return {"id": row}

    @router.get("/v1/models", tags=["openai"])
    def models() -> dict[str, Any]:
        """The one model this server offers: the knowledge base."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "coupang-kb"}],
        }

    @router.post("/v1/chat/completions", tags=["openai"], response_model=None)
    def chat_completions(req: ChatRequest) -> dict[str, Any] | StreamingResponse:
        """OpenAI-compatible chat; the reply carries ``[n]`` markers and ``kb`` holds citations and abstain flag."""
        question, history = _conversation(req.messages)
        answer = service.answer(question, history)
        if req.stream:
            return StreamingResponse(_stream(answer, req.model), media_type="text/event-stream")
        return _completion(answer, req.model)

    return router
