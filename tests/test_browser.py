"""The public page and the staff console in a real browser (Playwright driving Debian's chromium).

Screenshots of every page land in ``artifacts/screenshots`` (``KB_TEST_ARTIFACTS`` moves the folder).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ARTIFACTS, STAFF_PASSWORD, STAFF_USER, ThreadServer
from tests.helpers import write_markdown

pytestmark = pytest.mark.server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> how much was the fine?'


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium is missing: apt-get install -y chromium (.ci/run does this)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _context(browser, **options):  # type: ignore[no-untyped-def]
    """A browser context that may only reach this machine: any other request is aborted, as the tests' own
    sockets are (the page must work offline)."""
    context = browser.new_context(**options)

    def route(r):  # type: ignore[no-untyped-def]
        url = r.request.url
        local = url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:"))
        return r.continue_() if local else r.abort()

    context.route("**/*", route)
    return context


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = _context(browser, viewport={"width": 1200, "height": 1400})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def shot(pg, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(pg, question: str, replies: int) -> object:  # type: ignore[no-untyped-def]
    """Type a question, send it, and wait until the ``replies``-th bot message has finished streaming."""
    pg.fill("#question textarea", question)
    pg.click("#ask")
    bot = pg.locator('#chat [data-testid="bot"]')
    bot.nth(replies - 1).wait_for()
    pg.wait_for_function(
        "n => { const m = document.querySelectorAll('#chat [data-testid=\"bot\"]'); const t = m[n] && m[n].innerText;"
        " return t && (t.includes('Sources') || t.includes('Not in the knowledge base') || t.includes(\"can't help\")"
        " || t.includes('Please rephrase') || t.includes('출처') || t.includes('지식 베이스에 없는')"
        " || t.includes('도와드릴 수 없습니다') || t.includes('다시 써 주세요')); }",
        arg=replies - 1,
    )
    return bot.nth(replies - 1)


def contains(pg, selector: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the element's rendered text contains ``text``."""
    pg.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)", arg=[selector, text])


def open_page(pg, url: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(url + "/")
    pg.wait_for_selector("#question textarea")


def test_in_scope_answer_shows_markers_and_expandable_sources(live_server, page):
    open_page(page, live_server["url"])
    shot(page, "public-empty")
    reply = ask(page, "How much was Coupang fined by the PIPC?", 1)
    text = reply.inner_text()
    assert "624.7 billion" in text and "[1]" in text
    first = reply.locator("details.kb-source").first
    quote = first.locator("blockquote")
    assert not quote.is_visible()  # quotes are on demand, not a wall of text
    first.locator("summary").click()
    assert quote.is_visible() and len(quote.inner_text()) > 20
    assert re.match(r"\[1\] .+ — .+", first.locator("summary").inner_text())
    link = first.locator("a")
    assert link.get_attribute("href").startswith("https://") and link.get_attribute("rel") == "noopener noreferrer"
    page.click("#about")
    page.locator("#about").get_by_text("Not legal advice.").wait_for()
    about = page.locator("#about").inner_text()
    assert "nothing is sent anywhere" in about and "events after that date are not covered" in about
    shot(page, "public-answer")


def test_a_korean_browser_gets_the_korean_page_and_a_korean_answer(live_server, browser):
    context = _context(browser, viewport={"width": 1200, "height": 1400}, locale="ko-KR")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        pg.goto(live_server["url"] + "/")
        pg.wait_for_selector("#question textarea")
        assert pg.url.rstrip("/").endswith("/ko")  # Accept-Language: ko-KR sends the browser to the Korean view
        assert "예시 질문" in pg.inner_text("body") and pg.get_attribute("#question textarea", "placeholder")
        text = ask(pg, "쿠팡 과징금은 얼마인가요?", 1).inner_text()
        assert "[1]" in text and "출처" in text
        assert re.search(r"[가-힣]{2,}.*\[1\]", text, re.S), text  # the cited sentence itself is Korean
        reply = pg.locator('#chat [data-testid="bot"]').first
        reply.locator("details.kb-source").first.locator("summary").click()
        shot(pg, "public-korean-answer")
        switch = pg.locator("#kb-title a", has_text="English")
        assert switch.get_attribute("href") == "/?lang=en"
        pg.goto(live_server["url"] + "/?lang=en")  # the switch keeps English even for a Korean browser
        pg.wait_for_selector("#question textarea")
        assert "Example questions" in pg.inner_text("body")
    finally:
        context.close()


def test_out_of_scope_shows_an_abstention_with_what_it_can_do(live_server, page):
    open_page(page, live_server["url"])
    text = ask(page, "What is the best recipe for kimchi stew?", 1).inner_text()
    assert "Not in the knowledge base" in text and "I can answer questions about" in text
    assert "Sources" not in text
    shot(page, "public-abstention")


def test_follow_up_uses_the_conversation(live_server, page):
    open_page(page, live_server["url"])
    ask(page, "How much was Coupang fined by the PIPC?", 1)
    follow = ask(page, "When was that?", 2).inner_text()
    assert "June" in follow and "[1]" in follow
    page.click("#new-conversation")
    page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    shot(page, "public-follow-up-cleared")


def test_xss_in_a_question_renders_as_text(live_server, page):
    open_page(page, live_server["url"])
    ask(page, XSS, 1)
    user = page.locator('#chat [data-testid="user"]').first.inner_text()
    assert "<script>" in user and "onerror" in user
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#chat img[onerror], #chat script").count() == 0
    shot(page, "public-xss-question")


def test_thumbs_down_lands_in_the_feedback_table_and_the_staff_console(live_server, page, browser):
    open_page(page, live_server["url"])
    question = "lee.sora@example.com: what compensation did Coupang offer?"
    ask(page, question, 1)
    page.locator('#chat button[aria-label="Dislike"]').first.click()
    db = live_server["home"] / "feedback.sqlite3"

    def rows() -> list[tuple]:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT rating, question, answer, citations FROM feedback").fetchall()

    page.wait_for_timeout(300)
    for _ in range(50):
        if any("compensation" in r[1] for r in rows()):
            break
        page.wait_for_timeout(200)
    rating, stored, answer, citations = next(r for r in rows() if "compensation" in r[1])
    assert rating == -1 and "[email]" in stored and "lee.sora" not in stored
    assert "[1]" in answer and '"title"' in citations
    shot(page, "public-thumbs-down")

    staff_context = _context(browser, viewport={"width": 1200, "height": 1400})
    staff = staff_context.new_page()
    login(staff, live_server["url"])
    staff.get_by_role("tab", name="Feedback").click()
    staff.click("#only-down input")
    table = staff.locator("#feedback-table")
    contains(staff, "#feedback-table", "[email]")
    assert "down" in table.inner_text() and "compensation" in table.inner_text()
    with staff.expect_download() as download:
        staff.click("#feedback-export")
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("id,created_at,rating") and "[email]" in csv_text
    shot(staff, "staff-feedback")
    staff_context.close()


def login(pg, url: str, password: str = STAFF_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    pg.goto(url + "/staff/")
    pg.get_by_label("Username").fill(STAFF_USER)
    pg.get_by_label("Password").fill(password)
    pg.get_by_role("button", name="Sign in").click()
    if password == STAFF_PASSWORD:
        pg.wait_for_selector("#staff-question textarea")


def test_staff_console_needs_a_login(live_server, page):
    url = live_server["url"]
    page.goto(url + "/staff/")
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.url.endswith("/staff/login") and page.locator("#staff-question").count() == 0
    shot(page, "staff-login")
    # Its API refuses without the login cookie.
    assert httpx.get(url + "/staff/config").status_code == 401
    login(page, url, password="wrong-password")
    page.get_by_text("Incorrect", exact=False).first.wait_for()
    assert page.locator("#staff-question").count() == 0
    # Signed in, the session cookie is HttpOnly, Secure and SameSite=Strict; signing out (a POST) ends it.
    login(page, url)
    cookie = next(c for c in page.context.cookies() if c["name"] == "kb_staff")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/staff"
    page.click("#sign-out button")
    page.get_by_role("button", name="Sign in").wait_for()
    page.goto(url + "/staff/")
    assert page.url.endswith("/staff/login")
    stale = httpx.get(url + "/staff/config", cookies={"kb_staff": cookie["value"]})
    assert stale.status_code == 401  # the old token no longer works anywhere


def test_staff_console_shows_diagnostics_and_a_reply_to_send(live_server, page):
    login(page, live_server["url"])
    page.fill("#staff-question textarea", "How much was Coupang fined by the PIPC?")
    page.click("#staff-ask")
    page.locator("#staff-answer .kb-sources").wait_for()
    status = page.locator("#staff-status").inner_text()
    assert "Answered" in status and "confidence" in status
    reply = page.locator("#staff-reply textarea")
    page.wait_for_function("() => document.querySelector('#staff-reply textarea').value.includes('References:')")
    assert reply.input_value().startswith("Hello,") and "[1] " in reply.input_value()
    contains(page, "#staff-retrieved", "yes")  # cited chunks are marked in the retrieved table
    shot(page, "staff-ask")
    page.get_by_role("tab", name="Search").click()
    page.fill("#staff-search textarea", "statutory damages")
    page.press("#staff-search textarea", "Enter")
    contains(page, "#staff-found", "pipa-art-39-2-statutory-damages.md")
    page.get_by_role("tab", name="Documents").click()
    contains(page, "#staff-docs", "The June 2026 PIPC fine")
    shot(page, "staff-documents")
    page.click("#sign-out button")
    page.get_by_role("button", name="Sign in").wait_for()


def test_phone_width_has_no_sideways_scroll(live_server, browser):
    context = _context(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    open_page(pg, live_server["url"])
    ask(pg, "What personal data was exposed?", 1)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 392
    shot(pg, "public-phone")
    context.close()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[ThreadServer]:  # type: ignore[no-untyped-def]
    """A store whose document carries markup, served without staff users (the console must stay closed)."""
    from bot.server import create_app
    from bot.service import AnswerService
    from ingest.sync import sync
    from kb.settings import Settings
    from kb.store import open_store

    folder = tmp_path_factory.mktemp("hostile")
    write_markdown(
        folder / "docs" / "ferry.md",
        "Ferry <b>facts</b>",
        'Tickets for the Jeju ferry cost 45,000 won <img src=x onerror="window.__docpwned = 1"> each way.\n\n'
        "<script>window.__docpwned = 2</script> The Jeju ferry departs Mokpo at 09:00.",
    )
    settings = Settings(home=folder / "home", abstain_threshold=0.3, staff_users={})
    assert not sync([folder / "docs"], settings, embedder=embedder).failed
    service = AnswerService(settings, embedder, open_store(settings, embedder))
    with ThreadServer(create_app(settings, service)) as server:
        yield server


def test_markup_inside_a_document_never_runs(hostile_server, page):
    open_page(page, hostile_server.url)
    reply = ask(page, "How much does a Jeju ferry ticket cost?", 1)
    reply.locator("summary").first.click()
    text = reply.inner_text()
    assert "45,000 won" in text and "<img src=x" in text
    assert page.evaluate("window.__docpwned") is None
    assert page.locator("#chat img[onerror], #chat script").count() == 0
    shot(page, "public-xss-document")


def test_staff_console_stays_closed_without_users(hostile_server, page):
    response = httpx.get(hostile_server.url + "/staff/")
    assert response.status_code == 403 and "KB_STAFF_USERS" in response.text
    page.goto(hostile_server.url + "/staff")
    assert "staff console is closed" in page.inner_text("body")
