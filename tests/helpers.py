"""Fixture files the tests make themselves, in every supported format."""

from __future__ import annotations

from pathlib import Path

LAW_TEXT = """Sample Privacy Act

Article 1 (Purpose)
The purpose of this Act is to protect the privacy of residents of Exampleland.

Article 2 (Definitions)
Personal data means any information about a living person who can be identified.

A controller is anyone who processes personal data for work.

Article 39-2 (Statutory Damages)
A person whose data leaked may claim up to 3 million won without proving the exact loss.
"""


def write_markdown(path: Path, title: str, body: str, kind: str = "article") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'---\ntitle: "{title}"\nkind: {kind}\nas_of: 2026-01-31\ntopics: [test]\n'
        f"sources:\n  - https://example.org/{path.stem}\n---\n\n# {title}\n\n{body}\n",
        encoding="utf-8",
    )
    return path


def write_pdf(path: Path, lines: list[str]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    for line in lines:
        c.drawString(50, y, line)
        y -= 18
    c.save()
    return path


def write_docx(path: Path, heading: str, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(heading, level=1)
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def write_html(path: Path) -> Path:
    path.write_text(
        """<html><head><title>Pangyo Bakery Notice</title><style>body{color:red}</style>
<script>alert('x'); var secretScript = 1;</script></head>
<body><nav>Home | About | Contact navlink</nav>
<main><h1>Pangyo Bakery Notice</h1><h2>Opening hours</h2>
<p>The Pangyo bakery opens at 7 a.m. every weekday and sells rye bread.</p>
<h2>Allergy policy</h2><p>All cakes at the Pangyo bakery may contain nuts and milk.</p></main>
<footer>Copyright footerword 2026</footer></body></html>""",
        encoding="utf-8",
    )
    return path


def assert_citations_verbatim(answer) -> None:  # type: ignore[no-untyped-def]
    """Every citation's quote is its source's extracted text at its offsets, and its marker is in the answer."""
    from eval.run import source_text

    for c in answer.citations:
        assert source_text(c.source)[c.char_start : c.char_end] == c.quote, c
        assert f"[{c.n}]" in answer.text


def assert_chunk_offsets(text: str, chunks) -> None:  # type: ignore[no-untyped-def]
    """Every chunk is its source's extracted text at its ``char_start:char_end``."""
    for c in chunks:
        assert text[c.meta["char_start"] : c.meta["char_end"]] == c.text, c
