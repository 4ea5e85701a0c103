"""A small OpenAI-compatible chat server for tests: it replays scripted replies over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

Reply = str | Callable[[dict[str, Any]], str] | tuple[str, Any]


def evidence(body: dict[str, Any]) -> dict[int, str]:
    """The numbered evidence texts in a request the bot sent."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return {
        int(n): text.strip() for n, text in re.findall(r'<evidence n="(\d+)"[^>]*>\n(.*?)\n</evidence>', user, re.S)
    }


def first_sentence(body: dict[str, Any], n: int = 1) -> str:
    """The first sentence of evidence ``n``, as a model that quotes would write it."""
    text = evidence(body)[n]
    return re.split(r"(?<=[.!?])\s+", text)[0]


@dataclass
class FakeLLM:
    """Scripted replies, one per request, in order; ``default`` once the script runs out."""

    script: list[Reply] = field(default_factory=list)
    default: Reply = "not in the knowledge base"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/readyz")
        def ready() -> dict[str, bool]:
            return {"ready": True}

        @app.post("/v1/chat/completions", response_model=None)
        async def chat(request: Request) -> Any:
            body = await request.json()
            self.requests.append(body)
            reply = self.script.pop(0) if self.script else self.default
            if isinstance(reply, tuple):
                kind, arg = reply
                if kind == "status":
                    return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}}, arg)
                if kind == "hang":
                    await asyncio.sleep(arg)
                    reply = "too late"
                elif kind == "malformed":
                    return PlainTextResponse(arg, 200, media_type="application/json")
            text = reply(body) if callable(reply) else reply
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }

        return app
