"""Loaders: one function per format, each returning the extracted text and document metadata."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import SUPPORTED_SUFFIXES
from kb.errors import IngestError


@dataclass
class Document:
    """A source file's extracted text (what citations point into) and its metadata."""

    text: str
    title: str
    kind: str = "article"
    as_of: str = ""
    topics: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def load(path: Path) -> Document:
    """Read a supported file into a :class:`Document`.

    Args:
        path: A ``.md``, ``.txt``, ``.html``/``.htm``, ``.pdf`` or ``.docx`` file.

    Returns:
        The extracted text (headings as ``#`` lines) and metadata.

    Raises:
        IngestError: with a one-line reason when the file is unsupported, unreadable, empty,
            binary or corrupt.

    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED_SUFFIXES)})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise IngestError("empty file")
    if suffix in (".md", ".markdown", ".txt"):
        doc = _markdown(_decode(data), path)
    elif suffix in (".html", ".htm"):
        doc = _html(_decode(data), path)
    elif suffix == ".pdf":
        doc = _pdf(path)
    else:
        doc = _docx(path)
    if not doc.text.strip():
        raise IngestError("no text could be extracted")
    if doc.kind == "article" and _looks_like_law(doc.text):
        doc.kind = "law"
    return doc


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise IngestError("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError("not valid UTF-8 text") from None


def _looks_like_law(text: str) -> bool:
    from ingest.chunking import ARTICLE_HEADING

    return len(ARTICLE_HEADING.findall(text)) >= 2


def _first_heading(text: str) -> str | None:
    m = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return m.group(1).strip() if m else None


def _markdown(raw: str, path: Path) -> Document:
    import yaml

    raw = raw.replace("\r\n", "\n")
    meta: dict[str, Any] = {}
    m = _FRONT.match(raw)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1))
        except yaml.YAMLError as exc:
            raise IngestError(f"bad YAML front matter: {str(exc).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise IngestError("bad YAML front matter: not a mapping")
        meta = loaded
        raw = raw[m.end() :]
    kind = str(meta.get("kind", "article"))
    if kind not in ("article", "law"):
        raise IngestError(f"invalid kind '{kind}' in front matter (choose from 'article', 'law')")
    as_of = meta.get("as_of", "")
    if isinstance(as_of, (dt.date, dt.datetime)):
        as_of = as_of.isoformat()[:10]
    as_of = str(as_of or "")
    if as_of:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError:
            raise IngestError(f"invalid as_of '{as_of[:40]}' in front matter (write a date: YYYY-MM-DD)") from None
    return Document(
        text=raw,
        title=str(meta.get("title") or _first_heading(raw) or path.stem.replace("-", " ").replace("_", " ")),
        kind=kind,
        as_of=as_of,
        topics=[str(t) for t in meta.get("topics", []) or []],
        urls=[str(u) for u in meta.get("sources", []) or []],
    )


_DROP_TAGS = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "svg", "iframe", "template")
_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd")


def _html(raw: str, path: Path) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    for tag in soup.select("[role=navigation], [aria-hidden=true], .cookie, .advert, .ads, .breadcrumb"):
        tag.decompose()
    body = soup.find("main") or soup.find("article") or soup.body or soup
    lines: list[str] = []
    for el in body.find_all(_BLOCKS):
        if el.find_parent(_BLOCKS) is not None:
            continue  # its text is part of the enclosing block
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name and el.name[0] == "h" and el.name[1:].isdigit():
            lines.append("#" * int(el.name[1:]) + " " + text)
        else:
            lines.append(text)
    text = "\n\n".join(lines)
    return Document(text=text, title=title or _first_heading(text) or path.stem)


def _pdf(path: Path) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"corrupt PDF: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    return Document(text=text, title=str(title) or path.stem)


def _docx(path: Path) -> Document:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise IngestError(f"corrupt DOCX: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    lines = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        m = re.match(r"Heading (\d)", style)
        if style == "Title":
            lines.append("# " + text)
        elif m:
            lines.append("#" * int(m.group(1)) + " " + text)
        else:
            lines.append(text)
    text = "\n\n".join(lines)
    title = document.core_properties.title or _first_heading(text) or path.stem
    return Document(text=text, title=title)
