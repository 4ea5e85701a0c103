"""Units behind the web surfaces: masking, password hashes, presentation and escaping, feedback storage, 500s."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from bot.auth import hash_password, login_checker, verify_password
from bot.cli import app
from bot.feedback import FeedbackStore
from bot.present import customer_reply, page_markdown, pieces, safe_url, sources_html
from bot.privacy import mask_personal_data, strip_personal_data
from bot.types import Answer, Citation
from kb.profile import Profile


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 010-1234-5678 now", "call [phone] now"),
        ("call 01012345678 now", "call [phone] now"),
        ("+82 10 1234 5678", "[phone]"),
        ("office 02-123-4567", "office [phone]"),
        ("(555) 123-4567", "[phone]"),
        ("write to kim.ji+x@mail.example.co.kr.", "write to [email]."),
        ("RRN 900101-1234567", "RRN [resident-number]"),
        ("RRN 9001011234567", "RRN [resident-number]"),
        # the forms a first sweep found unmasked
        ("+821012345678", "[phone]"),
        ("010 - 1234 - 5678", "[phone]"),
        ("번호010-1234-5678로 연락", "번호[phone]로 연락"),
        ("RRN 900101\u20131234567", "RRN [resident-number]"),
        ("RRN 900101 1234567", "RRN [resident-number]"),
        ("card 4111111111111111", "card [card]"),
        ("card 3782 822463 10005", "card [card]"),
        ("kim\uff20example.com", "[email]"),
        ("user%40example.com", "[email]"),
        ("order 4111111111111112 ok", "order 4111111111111112 ok"),  # fails the Luhn check: not a card
        # figures from the knowledge base stay as they are
        ("33.7 million accounts, 624.7 billion won", "33.7 million accounts, 624.7 billion won"),
        ("33,700,000 users on 2025-11-29 within 72 hours", "33,700,000 users on 2025-11-29 within 72 hours"),
        ("Article 39-2 and 3 million won", "Article 39-2 and 3 million won"),
    ],
)
def test_mask_personal_data(text: str, masked: str):
    assert mask_personal_data(text) == masked


def test_strip_personal_data_leaves_the_question():
    assert strip_personal_data("me@x.org: what was the fine?") == ": what was the fine?"


def test_password_hashes():
    stored = hash_password("long enough pw")
    assert stored.startswith("scrypt$") and "long enough" not in stored
    assert verify_password("long enough pw", stored)
    assert not verify_password("long enough pX", stored)
    assert hash_password("long enough pw") != stored  # salted
    for broken in ("", "plain", "scrypt$1$2$3$zz$yy", "md5$a$b$c$d$e"):
        assert not verify_password("long enough pw", broken)
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")
    check = login_checker({"ana": stored})
    assert check("ana", "long enough pw") and not check("bob", "long enough pw") and not check("ana", "")


def test_hash_password_command_prints_a_settings_entry():
    result = CliRunner().invoke(app, ["hash-password", "ana"], input="a good password\n")
    assert result.exit_code == 0, result.output
    assert verify_password("a good password", json.loads(result.stdout)["ana"])
    short = CliRunner().invoke(app, ["hash-password", "ana"], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output


def _answer(**kw) -> Answer:  # type: ignore[no-untyped-def]
    rows = [
        (1, "T <b>", "S", "Q1 <img src=x onerror=alert(1)>", "javascript:alert(1)"),
        (2, "T", "S2", "Q2", "https://e.org/a?b=1&c=2"),
    ]
    cites = [
        Citation(n=n, source="s.md", title=t, section=sec, quote=q, char_start=0, char_end=len(q), url=u)
        for n, t, sec, q, u in rows
    ]
    base = {"question": "q?", "text": "First [1] second one. [2]", "citations": cites}
    return Answer(**{**base, **kw})


def test_pieces_split_after_each_marker():
    assert pieces(_answer()) == ["First [1]", "second one. [2]"]
    assert pieces(_answer(text="No sources here.", citations=[])) == ["No sources here."]


def test_page_markdown_escapes_everything_and_drops_unsafe_links():
    html = page_markdown(_answer())
    assert "<img" not in html and "&lt;img src=x onerror=alert&#40;1&#41;&gt;" in html
    assert "T &lt;b&gt;" in html and "javascript:" not in html
    assert 'href="https://e.org/a?b=1&amp;c=2"' in html
    assert page_markdown(_answer(), shown=1).startswith("First [1]") and "Sources" not in page_markdown(
        _answer(), shown=1
    )
    assert page_markdown(_answer(text="<script>x</script>", citations=[], abstained=True)).startswith(
        "**Not in the knowledge base.** &lt;script&gt;"
    )
    assert safe_url("ftp://x") == "" and safe_url("https://ok.org/p") == "https://ok.org/p"
    assert sources_html(_answer(citations=[])) == ""
    # Markdown from a document is inert: no image is loaded and no link is live.
    inert = page_markdown(
        _answer(text="See ![x](http://evil.example/i.png) and [y](https://e.org) or https://e.org [1]")
    )
    assert "](" not in inert and "http://" not in inert and "https://" not in inert.split("<div")[0]


def test_customer_reply_kinds():
    reply = customer_reply(_answer(), "2026-06-11")
    assert reply.startswith("Hello,") and "References:\n[1] T <b>, S\n[2] T, S2 (https://e.org/a?b=1&c=2)" in reply
    assert "not legal advice" in reply and reply.rstrip().endswith("Customer Support")
    assert "would rather not guess" in customer_reply(_answer(abstained=True, citations=[]), "x")
    assert "privacy reasons" in customer_reply(_answer(refused=True, citations=[]), "x")
    own = Profile(title="t", subject="s", intro="i", scope="sc", reply_greeting="Dear patient,", reply_refusal="No.")
    assert customer_reply(_answer(refused=True, citations=[]), "x", own).startswith("Dear patient,\n\nNo.")
    premise = _answer(
        abstained=True,
        citations=[],
        decision="false_premise",
        reason="no sentence says that X did 'hide'",
        premise="X did 'hide'",
    )
    assert "Our sources do not say that X did 'hide', so we cannot confirm" in customer_reply(premise, "x")
    assert page_markdown(premise).startswith("**My sources don't say that.**")


def test_feedback_store_masks_orders_filters_and_exports(tmp_path):
    store = FeedbackStore(tmp_path / "f" / "fb.sqlite3")
    a = store.add(_answer(question="mail me at a@b.co"), 1)
    b = store.add(_answer(), -1, comment="call 010-9999-8888", surface="api")
    assert [r["id"] for r in store.rows()] == [b, a]
    assert [r["id"] for r in store.rows(only_negative=True)] == [b]
    assert store.rows()[1]["question"] == "mail me at [email]" and store.rows()[0]["comment"] == "call [phone]"
    csv_text = store.to_csv()
    assert csv_text.splitlines()[0] == "id,created_at,rating,question,answer,citations,abstained,comment,surface"
    assert len(csv_text.strip().splitlines()) == 3
    with pytest.raises(ValueError):
        store.add(_answer(), 0)
    assert (tmp_path / "f" / "fb.sqlite3").stat().st_mode & 0o777 == 0o600
    store.add(_answer(question="=HYPERLINK(1)"), -1, comment="@SUM(A1)")
    cells = store.to_csv()
    assert "'=HYPERLINK" in cells and "'@SUM(A1)" in cells and ",=HYP" not in cells


@pytest.mark.server
def test_an_unexpected_error_is_a_bare_500(service, corpus_settings, monkeypatch, tmp_path):
    from bot.server import create_app
    from tests.conftest import ThreadServer

    settings = corpus_settings.model_copy(update={"home": tmp_path})

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals /etc/passwd")

    with ThreadServer(create_app(settings, service)) as server:
        monkeypatch.setattr(service, "answer", boom)
        response = httpx.post(server.url + "/api/ask", json={"question": "fine?"})
        assert response.status_code == 500
        assert response.json() == {"error": "Internal error; it has been logged."}
        v1 = httpx.post(server.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
        assert v1.status_code == 500 and v1.json()["error"]["type"] == "server_error"
        assert "secret" not in v1.text


def test_staff_login_locks_a_name_out_after_repeated_failures_and_hashes_unknown_names(monkeypatch):
    import bot.auth as auth

    now = [1000.0]
    check = auth.login_checker({"ana": auth.hash_password("a good password")}, clock=lambda: now[0])
    calls: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, s: calls.append(s) or real(p, s))
    assert not check("nobody", "whatever", "10.0.0.1")
    assert len(calls) == 1  # an unknown name costs a hash too
    for _ in range(auth.FREE_FAILURES - 1):
        assert not check("ana", "wrong password", "10.0.0.1")
    assert not check("ana", "wrong password", "10.0.0.2")  # the name counts from any address
    hashed = len(calls)
    with pytest.raises(auth.Locked) as locked:  # even the right password fails, and costs no hash
        check("ana", "a good password", "10.0.0.3")
    assert locked.value.retry_after == int(auth.FIRST_LOCKOUT) + 1 and len(calls) == hashed
    now[0] += auth.FIRST_LOCKOUT + 0.1
    assert check("ana", "a good password", "10.0.0.3")  # the lockout ends; a success clears the count
    assert check("ana", "a good password", "10.0.0.3")
    # One address trying many names is locked out too, with a wait that doubles.
    for n in range(auth.FREE_ADDRESS_FAILURES):
        assert not check(f"guess{n}", "x", "10.9.9.9")
    with pytest.raises(auth.Locked):
        check("ana", "a good password", "10.9.9.9")
    now[0] += auth.FIRST_LOCKOUT + 0.1
    assert not check("guess-more", "x", "10.9.9.9")
    with pytest.raises(auth.Locked) as locked:
        check("ana", "a good password", "10.9.9.9")
    assert locked.value.retry_after == int(2 * auth.FIRST_LOCKOUT) + 1


def test_staff_sessions_expire_when_idle_and_at_most_after_the_longest_session(tmp_path):
    from bot.auth import MAX_SESSION, Sessions
    from bot.feedback import FeedbackStore

    db = FeedbackStore(tmp_path / "feedback.sqlite3").path
    now = [1_000_000.0]
    sessions = Sessions(db, idle=600, clock=lambda: now[0])
    token = sessions.start("ana")
    assert sessions.user(token) == "ana" and sessions.user("forged") is None and sessions.user(None) is None
    assert token not in db.read_bytes().decode("latin-1")  # only a hash of the token is stored
    other = Sessions(db, idle=600, clock=lambda: now[0])  # another worker on the same database
    for _ in range(int(MAX_SESSION // 500)):  # kept in use, it lives until the longest session ends
        now[0] += 500
        assert other.user(token) == "ana"
    now[0] += 500
    assert sessions.user(token) is None
    idle = sessions.start("bob")
    now[0] += 601
    assert sessions.user(idle) is None  # unused for longer than the idle time
    out = sessions.start("ana")
    other.end(out)
    assert sessions.user(out) is None  # signed out in one worker, gone in all


def test_cli_errors_are_one_line_naming_the_cause(capsys):
    import sqlite3

    import typer

    from bot.cli import _guard

    def raising(exc: BaseException):  # type: ignore[no-untyped-def]
        def fn() -> None:
            raise exc

        return _guard(fn)

    for exc, text in [
        (OSError(28, "No space left on device", "/kb/chroma"), "No space left on device (/kb/chroma)"),
        (sqlite3.DatabaseError("database disk image is malformed\nsecond line"), "database disk image is malformed"),
    ]:
        with pytest.raises(typer.Exit):
            raising(exc)()
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and text in err and "Traceback" not in err and "second line" not in err
    with pytest.raises(typer.Exit) as kept:
        raising(typer.Exit(3))()  # a command's own exit code passes through untouched
    assert kept.value.exit_code == 3 and capsys.readouterr().err == ""


def test_feedback_schema_migrates_an_older_database_and_keeps_its_rows(tmp_path):
    import sqlite3

    from bot.feedback import MIGRATIONS, FeedbackStore

    path = tmp_path / "fb.sqlite3"
    with sqlite3.connect(path) as db:  # a database from before the migrations were numbered: version 0
        db.execute(MIGRATIONS[0])
        db.execute(
            "INSERT INTO feedback (created_at, rating, question, answer, citations, abstained) "
            "VALUES ('2026-01-01T00:00:00+00:00', 1, 'old?', 'old.', '[]', 0)"
        )
    store = FeedbackStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'feedback_rating'").fetchone()
    assert [r["question"] for r in store.rows()] == ["old?"]
    FeedbackStore(path)  # opening again applies nothing twice
    assert len(store.rows()) == 1


@pytest.mark.server
def test_a_read_only_feedback_database_answers_503_and_readyz_says_why(service, corpus_settings, monkeypatch, tmp_path):
    import sqlite3

    import bot.feedback as feedback
    from bot.server import create_app
    from tests.conftest import ThreadServer

    settings = corpus_settings.model_copy(update={"home": tmp_path})
    with ThreadServer(create_app(settings, service)) as server:
        assert httpx.get(server.url + "/readyz").json()["feedback"] == "ok"
        answer = httpx.post(server.url + "/api/ask", json={"question": "How much was Coupang fined?"}).json()
        # SQLite's own read-only mode: the test runs as root, which file modes do not stop.
        read_only = lambda path: sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)  # noqa: E731
        monkeypatch.setattr(feedback, "connect", read_only)
        response = httpx.post(server.url + "/api/feedback", json={"answer": answer, "rating": "up"})
        assert response.status_code == 503 and "readonly" in response.json()["error"], response.text
        ready = httpx.get(server.url + "/readyz")
        assert ready.status_code == 200 and "readonly" in ready.json()["feedback"]
