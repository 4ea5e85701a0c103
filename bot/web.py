"""The Gradio pages: the public chat (``/``) and the staff console (``/staff``), over the one shared service."""

from __future__ import annotations

import html
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from bot.feedback import FeedbackStore, to_csv
from bot.i18n import Language, words
from bot.present import customer_reply, page_markdown, pieces, user_markdown
from bot.service import AnswerService
from bot.types import Answer, Turn
from kb.errors import InputError, KBError
from kb.store import coverage_note

CSS = """
.kb-sources { margin-top: .5em; font-size: .92em; }
.kb-source summary { cursor: pointer; }
.kb-source blockquote { margin: .3em 0 .3em .8em; padding-left: .6em; border-left: 3px solid #ccc; }
#kb-title h1 { margin-bottom: 0; }
.kb-sign-out { padding: .3em .9em; border: 1px solid #bbb; border-radius: 6px; background: #f6f6f6; cursor: pointer; }
"""
#: Newest feedback rows shown in the console table (the CSV export has all of them).
_FEEDBACK_SHOWN = 1000
_STREAM_PAUSE = 0.03  # seconds between streamed sentences, so the page visibly fills in


def _about(service: AnswerService, language: Language = "en") -> str:
    w, profile = words(language), service.profile.in_language(language)
    rows = "\n".join(
        f"| {html.escape(d['title'])} | {d['kind']} | {d['as_of']} |" for d in service.documents if d["title"]
    )
    knows = w["about_knows"].format(scope=profile.scope, coverage=coverage_note(service.as_of))
    return (
        f"{knows}\n\n{w['about_table']}\n{rows}\n\n{profile.about_not_advice}\n\n"
        f"{w['about_privacy']}\n\n{w['about_how']}"
    )


def _history(records: list[dict[str, Any]], max_turns: int = 40, max_chars: int = 20000) -> list[Turn]:
    """The conversation's latest turns that fit the service's history limits (older ones are dropped, not sent)."""
    turns: list[Turn] = []
    chars = 0
    for r in reversed(records):
        pair = [Turn(role="user", content=r["question"]), Turn(role="assistant", content=r["answer"]["text"])]
        size = sum(len(t.content) for t in pair)
        if len(turns) + 2 > max_turns or chars + size > max_chars:
            break
        turns[:0] = pair
        chars += size
    return turns


def public_page(service: AnswerService, feedback: FeedbackStore, language: Language = "en") -> gr.Blocks:
    """The public chat page in one language (labels, examples, about); answers follow each question's language."""
    w = words(language)

    def respond(
        question: str, messages: list[dict[str, Any]], records: list[dict[str, Any]]
    ) -> Iterator[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
        question = (question or "").strip()
        if not question:
            yield "", messages, records
            return
        messages = [*messages, {"role": "user", "content": user_markdown(question)}]
        try:
            limits = service.settings
            answer = service.answer(question, _history(records, limits.max_history_turns, limits.max_history_chars))
        except InputError as exc:
            messages.append({"role": "assistant", "content": f"**{w['rephrase']}** {html.escape(str(exc))}"})
            yield "", messages, records
            return
        except KBError as exc:  # the store is down or hung: say so, keep the page alive
            messages.append({"role": "assistant", "content": f"**{w['unavailable']}** {html.escape(str(exc))}"})
            yield "", messages, records
            return
        records = [*records, {"index": len(messages), "question": question, "answer": answer.model_dump()}]
        parts = pieces(answer)
        for shown in range(1, len(parts) + 1):
            yield "", [*messages, {"role": "assistant", "content": page_markdown(answer, shown)}], records
            if shown < len(parts):
                time.sleep(_STREAM_PAUSE)

    def rate(records: list[dict[str, Any]], like: gr.LikeData) -> None:
        index = like.index[0] if isinstance(like.index, list | tuple) else like.index
        record = next((r for r in records if r["index"] == index), None)
        if record is None or like.liked not in (True, False):
            return
        feedback.add(Answer.model_validate(record["answer"]), 1 if like.liked else -1, surface="page")
        gr.Info(w["thanks"])

    def ask_api(question: str) -> dict[str, Any]:
        """One question, no conversation: the full Answer as JSON (for gradio_client)."""
        try:
            return service.answer(question).model_dump()
        except InputError as exc:
            raise gr.Error(str(exc)) from None

    profile = service.profile.in_language(language)
    with gr.Blocks(title=profile.title) as page:
        gr.Markdown(
            f"# {html.escape(profile.title)}\n{html.escape(profile.intro)}\n\n{w['switch']}", elem_id="kb-title"
        )
        records = gr.State([])
        chat = gr.Chatbot(
            label=w["conversation"],
            height=480,
            sanitize_html=True,
            allow_tags=False,
            render_markdown=True,
            buttons=["copy"],
            feedback_options=("Like", "Dislike"),
            placeholder=w["chat_placeholder"],
            elem_id="chat",
        )
        with gr.Row(equal_height=True):
            box = gr.Textbox(
                placeholder=w["box_placeholder"].format(subject=profile.subject),
                show_label=False,
                scale=6,
                max_lines=4,
                elem_id="question",
            )
            send = gr.Button(w["ask"], variant="primary", scale=1, min_width=80, elem_id="ask")
        clear = gr.Button(w["new_conversation"], size="sm", elem_id="new-conversation")
        with gr.Accordion(w["examples"], open=True):
            for topic, questions in profile.examples.items():
                gr.Examples(questions, inputs=box, label=topic)
        with gr.Accordion(w["about"], open=False, elem_id="about"):
            gr.Markdown(_about(service, language))
        box.submit(respond, [box, chat, records], [box, chat, records], api_visibility="private")
        send.click(respond, [box, chat, records], [box, chat, records], api_visibility="private")
        clear.click(lambda: ([], []), None, [chat, records], api_visibility="private")
        chat.like(rate, [records], None, api_visibility="private")
        if language == "en":
            gr.api(ask_api, api_name="ask")
    return page


def _retrieved_rows(answer: Answer) -> list[list[Any]]:
    return [
        [r.rank, r.score, r.dense, r.bm25, "yes" if r.cited else "", r.source, r.section, r.id]
        for r in answer.retrieved
    ]


def staff_console(service: AnswerService, feedback: FeedbackStore) -> gr.Blocks:
    """The staff console: ask with full diagnostics and a reply to send, search, documents, feedback."""

    def ask(question: str) -> tuple[str, str, list[list[Any]], str]:
        try:
            answer = service.answer(question)
        except InputError as exc:
            raise gr.Error(str(exc)) from None
        if answer.refused:
            status = f"**Refused** ({answer.reason})."
        elif answer.abstained:
            status = f"**Abstained**: {answer.reason}. Confidence {answer.confidence:.3f} (threshold {service.threshold:.3f})."
        else:
            status = (
                f"**Answered** with {len(answer.citations)} cited sentence(s); confidence {answer.confidence:.3f} "
                f"(threshold {service.threshold:.3f}); sentences dropped by verification: {answer.dropped_sentences}."
            )
        if answer.rewritten_question and answer.rewritten_question != answer.question:
            status += f" Query used: {html.escape(answer.rewritten_question)}"
        return (
            page_markdown(answer),
            status,
            _retrieved_rows(answer),
            customer_reply(answer, service.as_of, service.profile),
        )

    def search(query: str, k: float) -> list[list[Any]]:
        try:
            hits = service.search(query, int(k))
        except InputError as exc:
            raise gr.Error(str(exc)) from None
        return [
            [h.rank, round(h.score, 6), str(h.chunk.meta.get("source")), str(h.chunk.meta.get("section")), h.chunk.text]
            for h in hits
        ]

    exports = Path(tempfile.mkdtemp(prefix="kb-feedback-"))  # one folder per console, rewritten on each refresh

    def feedback_view(only_down: bool) -> tuple[list[list[Any]], str]:
        """The feedback table and, ready for the export button, the same rows as a CSV file."""
        found = feedback.rows(only_negative=only_down, limit=None)
        rows = [
            [r["created_at"], "down" if r["rating"] < 0 else "up", r["question"], r["answer"], r["surface"]]
            for r in found[:_FEEDBACK_SHOWN]
        ]
        path = exports / ("feedback-thumbs-down.csv" if only_down else "feedback.csv")
        path.write_text(to_csv(found), encoding="utf-8")
        return rows, str(path)

    docs = [
        [d["title"], d["kind"], d["as_of"], d["chunks"], ", ".join(d["topics"]), d["source"]] for d in service.documents
    ]
    with gr.Blocks(title=f"Staff console: {service.profile.title}") as console:
        with gr.Row():
            gr.Markdown(f"# Staff console\nKnowledge base as of {service.as_of}; {len(service.documents)} documents.")
            # Signing out is a POST (a link or an image elsewhere must not sign anyone out).
            gr.HTML(
                '<form method="post" action="/staff/logout"><button type="submit" class="kb-sign-out">Sign out'
                "</button></form>",
                elem_id="sign-out",
                scale=0,
                min_width=100,
            )
        with gr.Tab("Ask"):
            question = gr.Textbox(label="Customer question", lines=2, elem_id="staff-question")
            go = gr.Button("Answer", variant="primary", elem_id="staff-ask")
            answer_md = gr.Markdown(elem_id="staff-answer", sanitize_html=True)
            status = gr.Markdown(elem_id="staff-status")
            reply = gr.Textbox(label="Reply to send (plain text)", lines=12, buttons=["copy"], elem_id="staff-reply")
            table = gr.Dataframe(
                headers=["rank", "fused score", "dense", "bm25", "cited", "source", "section", "chunk id"],
                label="Retrieved chunks",
                interactive=False,
                wrap=True,
                elem_id="staff-retrieved",
            )
            go.click(ask, question, [answer_md, status, table, reply], api_name="staff_ask")
            question.submit(ask, question, [answer_md, status, table, reply], api_visibility="private")
        with gr.Tab("Search"):
            query = gr.Textbox(label="Search the knowledge base", elem_id="staff-search")
            k = gr.Slider(1, 30, value=10, step=1, label="Chunks")
            found = gr.Dataframe(
                headers=["rank", "fused score", "source", "section", "text"],
                interactive=False,
                wrap=True,
                elem_id="staff-found",
            )
            query.submit(search, [query, k], found, api_name="staff_search")
        with gr.Tab("Documents"):
            gr.Dataframe(
                value=docs,
                headers=["title", "kind", "as of", "chunks", "topics", "source"],
                interactive=False,
                wrap=True,
                elem_id="staff-docs",
            )
        with gr.Tab("Feedback"):
            only_down = gr.Checkbox(label="Only thumbs down", elem_id="only-down")
            refresh = gr.Button("Refresh", elem_id="feedback-refresh")
            rows = gr.Dataframe(
                headers=["time (UTC)", "rating", "question", "answer", "surface"],
                interactive=False,
                wrap=True,
                elem_id="feedback-table",
            )
            download = gr.DownloadButton("Export CSV", elem_id="feedback-export")
            for event in (refresh.click, only_down.change, console.load):
                event(feedback_view, only_down, [rows, download], api_visibility="private")
    return console
