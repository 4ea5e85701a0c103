"""Structure-aware chunking: law at ``Article N (Title)`` or ``제N조(제목)``, other text at headings then sentences.

Every chunk is an exact slice ``text[char_start:char_end]`` of the document's extracted text, so a
citation's quote can always be checked against its source.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ingest import CHUNKER_VERSION
from ingest.loaders import Document
from kb.text import split_sentences

#: ``Article 29 (Duty of Safety Measures)``, optionally after ``#`` marks or a short prefix such as
#: ``Enforcement Decree`` or ``Network Act``.
ARTICLE_HEADING = re.compile(
    r"^(?:#{1,6}[ \t]+)?(?P<prefix>(?:[A-Z][\w.-]*[ \t]+){0,3}?)Article[ \t]+(?P<num>\d+(?:-\d+)*)"
    r"[ \t]*\((?P<title>[^)\n]{1,120})\)[ \t]*$",
    re.MULTILINE,
)
#: The Korean form: ``제34조(개인정보의 유출 등의 통지·신고)``, ``제39조의2(...)``, optionally after a law's name such as
#: ``시행령`` or ``정보통신망법``. The number is recorded as ``39-2``, like the English form.
KO_ARTICLE_HEADING = re.compile(
    r"^(?:#{1,6}[ \t]+)?(?P<prefix>(?:\S+[ \t]+){0,2}?)제[ \t]*(?P<num>\d+)[ \t]*조(?:의[ \t]*(?P<sub>\d+))?"
    r"[ \t]*\((?P<title>[^)\n]{1,120})\)[ \t]*$",
    re.MULTILINE,
)
_MD_HEADING = re.compile(r"^(?P<marks>#{1,6})[ \t]+(?P<text>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    """A piece of a source with everything a citation needs."""

    id: str
    text: str
    embed_text: str
    meta: dict[str, Any]


@dataclass
class _Section:
    path: str
    start: int
    end: int
    article: str = ""
    article_title: str = ""


def content_hash(data: bytes | str) -> str:
    """Short SHA-256 hex digest of bytes or text."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()[:16]


def _article(m: re.Match[str] | None) -> tuple[str, str] | None:
    """``(number, title)`` of an article heading match, the number with its law prefix (``Network Act 48-3``)."""
    if m is None:
        return None
    groups = m.groupdict()
    num = m.group("num") + (f"-{groups['sub']}" if groups.get("sub") else "")
    prefix = m.group("prefix").strip()
    return (f"{prefix} {num}" if prefix else num), m.group("title").strip()


def _article_at(line: str) -> tuple[str, str] | None:
    return _article(ARTICLE_HEADING.match(line) or KO_ARTICLE_HEADING.match(line))


def _sections(doc: Document) -> list[_Section]:
    text = doc.text
    heads: list[tuple[int, int, int, str, tuple[str, str] | None]] = []  # start, end, level, text, article
    for m in _MD_HEADING.finditer(text):
        heads.append((m.start(), m.end(), len(m.group("marks")), m.group("text").strip(), _article_at(m.group(0))))
    if doc.kind == "law":
        taken = {h[0] for h in heads}
        for pattern in (ARTICLE_HEADING, KO_ARTICLE_HEADING):
            for m in pattern.finditer(text):
                if m.start() not in taken:
                    heads.append((m.start(), m.end(), 2, m.group(0).strip(), _article(m)))
    heads.sort()
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    prev_end, prev_path, prev_art = 0, "", ("", "")
    for start, end, level, heading, art in heads:
        sections.append(_Section(prev_path, prev_end, start, *prev_art))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        names = [h for lvl, h in stack if not (lvl == 1 and len(stack) > 1)]
        prev_path, prev_end = " > ".join(names), end
        if art:
            prev_art = art
            prev_path = heading.lstrip("#").strip()
        elif level <= 2:
            prev_art = ("", "")
    sections.append(_Section(prev_path, prev_end, len(text), *prev_art))
    return [s for s in sections if text[s.start : s.end].strip()]


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"(?:[^\n]|\n(?![ \t]*\n))+", text[start:end]):
        s, e = start + m.start(), start + m.end()
        seg = text[s:e]
        s += len(seg) - len(seg.lstrip())
        e -= len(seg) - len(seg.rstrip())
        if e > s:
            spans.append((s, e))
    return spans


def _pack(units: list[tuple[int, int]], target: int) -> list[tuple[int, int]]:
    groups: list[list[tuple[int, int]]] = []
    for unit in units:
        if groups and unit[1] - groups[-1][0][0] <= target:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    if len(groups) > 1 and groups[-1][-1][1] - groups[-1][0][0] < target // 4:
        groups[-2].extend(groups.pop())  # no orphan scraps at the end of a section
    return [(g[0][0], g[-1][1]) for g in groups]


def chunk(doc: Document, source: str, target_chars: int = 700) -> list[Chunk]:
    """Split a document into chunks with metadata and stable ids.

    Law is split at article headings (article number and title recorded); a long article is split
    at paragraph boundaries. Other text is split at headings, then packed from whole sentences.

    Args:
        doc: The loaded document.
        source: The source id recorded on every chunk.
        target_chars: Target chunk length.

    Returns:
        Chunks in document order.

    """
    text = doc.text
    doc_hash = content_hash(text)
    chunks: list[Chunk] = []
    for sec in _sections(doc):
        if doc.kind == "law":
            units: list[tuple[int, int]] = []
            for para in _paragraphs(text, sec.start, sec.end):
                if para[1] - para[0] > target_chars * 2:
                    units.extend(split_sentences(text, *para))
                else:
                    units.append(para)
        else:
            units = split_sentences(text, sec.start, sec.end)
        for start, end in _pack(units, target_chars):
            body = text[start:end]
            position = len(chunks)
            section = sec.path or doc.title
            meta: dict[str, Any] = {
                "source": source,
                "title": doc.title,
                "kind": doc.kind,
                "section": section,
                "article": sec.article,
                "article_title": sec.article_title,
                "char_start": start,
                "char_end": end,
                "as_of": doc.as_of,
                "url": doc.urls[0] if doc.urls else "",
                "urls": " ".join(doc.urls),
                "topics": ",".join(doc.topics),
                "doc_hash": doc_hash,
                "chunker_version": CHUNKER_VERSION,
                "position": position,
            }
            cid = content_hash(f"{source}|{position}|{content_hash(body)}")
            embed_text = f"{doc.title}. {section}.\n{body}" if section != doc.title else f"{doc.title}.\n{body}"
            chunks.append(Chunk(id=cid, text=body, embed_text=embed_text, meta=meta))
    return chunks
