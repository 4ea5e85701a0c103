"""One FastAPI app: the API, the staff console at ``/staff`` and the public page at ``/``, sharing one service."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.api import build_router, install_error_handlers
from bot.feedback import FeedbackStore
from bot.service import AnswerService, get_service
from kb.settings import Settings

log = logging.getLogger(__name__)

STAFF_CLOSED = (
    "The staff console is closed: no staff users are configured. Set KB_STAFF_USERS to "
    '{"name": "<hash>"} with a hash from `kb hash-password`, then restart.'
)


def _methods(routes: list[Any]) -> dict[str, set[str]]:
    """The HTTP methods each API path takes (HEAD with GET)."""
    from fastapi.routing import APIRoute

    out: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, APIRoute):
            methods = set(route.methods or ())
            out.setdefault(route.path, set()).update(methods | ({"HEAD"} if "GET" in methods else set()))
    return out


def create_app(settings: Settings, service: AnswerService | None = None) -> FastAPI:
    """Build the web app. The answering service (model, store, keyword index) is built here, once.

    Args:
        settings: Product settings (store, feedback location, staff users).
        service: An already built service to share (default: build it from settings).

    Returns:
        The FastAPI app with Gradio mounted in it.

    Raises:
        StoreError: when the store is missing or was built with another model.

    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from bot.auth import login_checker
    from bot.web import CSS, public_page, staff_console

    service = service or get_service(settings)
    feedback = FeedbackStore(settings.feedback_path)
    app = FastAPI(
        title="Coupang breach & PIPA knowledge base",
        description="Grounded answers with verified citations. OpenAI-compatible chat at /v1.",
        version="0.1.0",
        # Swagger UI and ReDoc load scripts and fonts from a CDN; nothing here may reach the network, so the
        # interactive docs are off and the schema stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.max_request_bytes = settings.max_request_bytes
    install_error_handlers(app)
    router = build_router(service, feedback)
    app.include_router(router)
    allowed = _methods(router.routes)

    @app.middleware("http")
    async def wrong_method(request: Request, call_next: Any) -> Response:
        """An API path asked with a method it does not take answers 405 with ``Allow`` (not the page's 404)."""
        methods = allowed.get(request.url.path)
        if methods and request.method not in methods and request.method != "OPTIONS":
            body = {
                "error": f"{request.method} is not allowed on {request.url.path}; use {', '.join(sorted(methods))}."
            }
            return JSONResponse(body, status_code=405, headers={"Allow": ", ".join(sorted(methods))})
        response: Response = await call_next(request)
        return response

    common: dict[str, Any] = {"show_error": False, "run_history": False, "footer_links": ["api"], "css": CSS}
    if settings.staff_users:

        @app.get("/staff", include_in_schema=False)
        def staff_root() -> RedirectResponse:
            return RedirectResponse("/staff/")  # Gradio's logout lands here; the mount answers only below /staff/

        staff = staff_console(service, feedback).queue(default_concurrency_limit=4)
        gr.mount_gradio_app(
            app,
            staff,
            path="/staff",
            auth=login_checker(settings.staff_users),
            auth_message="Staff console: sign in with your staff account.",
            **common,
        )
    else:
        log.warning(STAFF_CLOSED)

        @app.get("/staff", include_in_schema=False)
        @app.get("/staff/{rest:path}", include_in_schema=False)
        def staff_closed(rest: str = "") -> HTMLResponse:
            return HTMLResponse(f"<!doctype html><title>Staff console closed</title><p>{STAFF_CLOSED}</p>", 403)

    from bot.i18n import page_language

    @app.middleware("http")
    async def hardening(request: Request, call_next: Any) -> Response:
        """No uploads to the pages (they need none); no framing and no type sniffing on any response."""
        if request.method == "POST" and request.url.path.endswith("/gradio_api/upload"):
            return JSONResponse({"error": "Uploads are off: the pages take no files."}, status_code=403)
        response: Response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        return response

    @app.middleware("http")
    async def korean_browsers(request: Request, call_next: Any) -> Response:
        """A browser that prefers Korean gets the Korean page at ``/``; ``/?lang=en`` keeps English."""
        if (
            request.method == "GET"
            and request.url.path == "/"
            and "lang" not in request.query_params
            and page_language(request.headers.get("accept-language", "")) == "ko"
        ):
            return RedirectResponse("/ko/", status_code=307)
        response: Response = await call_next(request)
        return response

    @app.get("/ko", include_in_schema=False)
    def korean_root() -> RedirectResponse:
        return RedirectResponse("/ko/")

    korean = public_page(service, feedback, "ko").queue(default_concurrency_limit=4)
    gr.mount_gradio_app(app, korean, path="/ko", **common)
    page = public_page(service, feedback).queue(default_concurrency_limit=4)
    gr.mount_gradio_app(app, page, path="/", **common)
    return app
