"""One FastAPI app: the API, the staff console at ``/staff`` and the public page at ``/``, sharing one service."""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.api import build_router, install_error_handlers
from bot.auth import MAX_SESSION, Locked, Sessions, login_checker
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


STAFF_COOKIE = "kb_staff"
_LOGIN_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Staff console: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}label{{display:block;
margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}}button{{margin-top:1rem;
padding:.5rem 1.2rem;font:inherit}}.error{{color:#a00}}</style>
<h1>Staff console</h1><p>Sign in with your staff account.</p><p class="error" role="alert">{error}</p>
<form method="post" action="/staff/login"><label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></html>"""


def install_staff_login(app: FastAPI, settings: Settings, database: Path) -> None:
    """The staff console's own sign-in in front of ``/staff``: a form, throttled checks, expiring sessions.

    ``GET /staff/login`` shows the form and ``POST /staff/login`` checks it (off the event loop, throttled per name
    and per address) and sets an HttpOnly, ``SameSite=Strict`` (and by default ``Secure``) session cookie scoped to
    ``/staff``. ``POST /staff/logout`` ends the session. Any other ``/staff`` request without a live session is sent
    to the form (pages) or answered 401 (everything else).
    """
    from fastapi import Form
    from starlette.concurrency import run_in_threadpool

    check = login_checker(settings.staff_users)
    sessions = Sessions(database, idle=settings.staff_session_minutes * 60)

    def form(error: str = "", status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
        return HTMLResponse(_LOGIN_PAGE.format(error=html.escape(error)), status, headers)

    @app.get("/staff/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return form()

    @app.post("/staff/login", include_in_schema=False)
    async def login(request: Request, username: str = Form(""), password: str = Form("")) -> Response:
        address = request.client.host if request.client else ""
        try:
            ok = await run_in_threadpool(check, username[:200], password[:1000], address)
        except Locked as exc:
            return form(str(exc), 429, {"Retry-After": str(exc.retry_after)})
        if not ok:
            return form("Incorrect username or password.", 401)
        token = await run_in_threadpool(sessions.start, username)
        response = RedirectResponse("/staff/", status_code=303)
        response.set_cookie(
            STAFF_COOKIE,
            token,
            max_age=int(MAX_SESSION),
            path="/staff",
            secure=settings.cookie_secure,
            httponly=True,
            samesite="strict",
        )
        return response

    @app.post("/staff/logout", include_in_schema=False)
    def logout(request: Request) -> RedirectResponse:
        sessions.end(request.cookies.get(STAFF_COOKIE))
        response = RedirectResponse("/staff/login", status_code=303)
        response.delete_cookie(STAFF_COOKIE, path="/staff", secure=settings.cookie_secure, httponly=True)
        return response

    @app.get("/staff/logout", include_in_schema=False)
    def logout_by_get() -> JSONResponse:
        return JSONResponse(
            {"error": "Sign out with POST /staff/logout (a link must not sign anyone out)."},
            405,
            {"Allow": "POST"},
        )

    @app.get("/staff", include_in_schema=False)
    def staff_root() -> RedirectResponse:
        return RedirectResponse("/staff/")  # the mount answers only below /staff/

    @app.middleware("http")
    async def staff_gate(request: Request, call_next: Any) -> Response:
        path = request.url.path
        if path.startswith("/staff/") and path not in ("/staff/login", "/staff/logout"):
            user = await run_in_threadpool(sessions.user, request.cookies.get(STAFF_COOKIE))
            request.state.staff_user = user
            if user is None:
                if request.method == "GET" and path == "/staff/":
                    return RedirectResponse("/staff/login", status_code=303)
                return JSONResponse({"error": "Sign in at /staff/login first."}, 401)
        response: Response = await call_next(request)
        return response


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
        install_staff_login(app, settings, feedback.path)
        staff = staff_console(service, feedback).queue(default_concurrency_limit=4)
        gr.mount_gradio_app(
            app,
            staff,
            path="/staff",
            # The sign-in gate in front has already looked the session up; Gradio reads its answer.
            auth_dependency=lambda request: getattr(request.state, "staff_user", None),
            **common,
        )
    else:
        log.warning(STAFF_CLOSED)

        @app.get("/staff", include_in_schema=False)
        @app.get("/staff/{rest:path}", include_in_schema=False)
        def staff_closed(rest: str = "") -> HTMLResponse:
            return HTMLResponse(f"<!doctype html><title>Staff console closed</title><p>{STAFF_CLOSED}</p>", 403)

    from bot.i18n import page_language

    if settings.cors_origins:
        # Named origins only; with a CORS middleware here, Gradio's own (which lets any local origin in with
        # credentials) stands aside.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "authorization"],
        )
    else:
        app.add_middleware(CORSMiddleware, allow_origins=[])  # same origin only

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


def worker_app() -> FastAPI:
    """The app for one of several ``kb serve --workers`` processes (uvicorn imports and calls this in each)."""
    from kb.settings import get_settings

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return create_app(settings)
