"""How an ``Answer`` is shown: terminal text, the page's safe HTML/Markdown, a customer reply, stream pieces.

Everything that comes from a document or a user is HTML-escaped here, in one place, so a ``<script>`` or an
``<img onerror>`` in a question or an ingested file is shown as text and never runs.
"""

from __future__ import annotations

import html
from urllib.parse import urlparse

from bot.i18n import words
from bot.types import Answer
from bot.verify import split_claims
from kb.profile import Profile

_DEFAULT = Profile(title="", subject="", intro="", scope="")


def safe_url(url: str) -> str:
    """The URL if it is plain http(s), else empty (a document could carry ``javascript:``)."""
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return ""
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else ""


def pieces(answer: Answer) -> list[str]:
    """The answer text cut after each ``[n]`` marker: the units the page and the API stream."""
    text = answer.text.strip()
    if not answer.citations:
        return [text]
    return [f"{s} " + "".join(f"[{n}]" for n in cites) if cites else s for s, cites in split_claims(text)]


def render_text(answer: Answer) -> str:
    """Answer text followed by its numbered sources, for a terminal."""
    lines = [f"{answer.note}\n{answer.text}" if answer.note else answer.text]
    if answer.citations:
        lines += ["", f"{words(answer.language)['sources']}:"]
        for c in answer.citations:
            link = f" <{c.url}>" if c.url else ""
            lines.append(f"  [{c.n}] {c.title} - {c.section}{link}")
            lines.append(f'      "{c.quote}"')
    return "\n".join(lines)


#: Markdown and autolink syntax as character references: with no bare "(", "!" or ":" a document's
#: ``![x](http://...)``, ``[x](...)`` or ``https://...`` cannot become an image or a live link.
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "()!*_`~#|\\:@"})


def _esc(text: str) -> str:
    """HTML-escaped, and Markdown made inert: a document's ``![x](http://...)`` shows as text, loads nothing."""
    return html.escape(text, quote=True).translate(_MARKDOWN)


def sources_html(answer: Answer) -> str:
    """Numbered sources, each a collapsed ``<details>``: title and section, the quote on demand, the link."""
    if not answer.citations:
        return ""
    w = words(answer.language)
    items = []
    for c in answer.citations:
        url = safe_url(c.url)
        link = (
            f' · <a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{w["source_link"]}</a>'
            if url
            else ""
        )
        date = f" · {w['as_of']} {_esc(c.as_of)}" if c.as_of else ""
        items.append(
            f'<details class="kb-source"><summary>[{c.n}] {_esc(c.title)} — {_esc(c.section)}</summary>'
            f"<blockquote>{_esc(c.quote)}</blockquote><small>{_esc(c.source)}{date}{link}</small></details>"
        )
    return f'<div class="kb-sources"><strong>{w["sources"]}</strong>' + "".join(items) + "</div>"


def page_markdown(answer: Answer, shown: int | None = None) -> str:
    """The chat bubble for an answer (``shown`` pieces of it while streaming), safe to render as Markdown."""
    parts = pieces(answer)
    body = _esc(" ".join(parts if shown is None else parts[:shown]))
    w = words(answer.language)
    if answer.refused:
        return f"**{w['refusal_title']}.** {body}"
    if answer.abstained:
        return f"**{w['premise_title'] if answer.decision == 'false_premise' else w['abstain_title']}.** {body}"
    done = shown is None or shown >= len(parts)
    note = f"*{_esc(answer.note)}*\n\n" if answer.note else ""
    return note + body + ("\n\n" + sources_html(answer) if done else "")


def user_markdown(question: str) -> str:
    """A user's message, escaped so that markup in it shows as text."""
    return _esc(question)


def customer_reply(answer: Answer, as_of: str, profile: Profile | None = None) -> str:
    """A polite, plain-text reply a support agent can send, with the sources as references, in the asker's language."""
    profile = (profile or _DEFAULT).in_language(answer.language)
    w = words(answer.language)
    greeting, closing = profile.reply_greeting, profile.reply_closing
    if answer.refused:
        return f"{greeting}\n\n{profile.reply_refusal}\n\n{closing}"
    if answer.abstained:
        body = (
            w["reply_premise"].format(premise=answer.premise)
            if answer.decision == "false_premise"
            else w["reply_abstain"]
        ) + w["reply_follow_up"]
        return f"{greeting}\n\n{body}\n\n{closing}"
    refs = "\n".join(
        f"[{c.n}] {c.title}, {c.section}" + (f" ({c.url})" if safe_url(c.url) else "") for c in answer.citations
    )
    text = f"{answer.note}\n{answer.text}" if answer.note else answer.text
    note = w["reply_note"].format(as_of=as_of)
    return f"{greeting}\n\n{text}\n\n{w['reply_references']}\n{refs}\n\n{note}\n\n{closing}"
