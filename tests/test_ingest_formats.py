from pathlib import Path

import pytest

from ingest.chunking import chunk
from ingest.loaders import load
from kb.errors import IngestError
from tests.helpers import LAW_TEXT, assert_chunk_offsets, write_docx, write_html, write_markdown, write_pdf


def test_markdown_front_matter_and_sections(tmp_path: Path):
    path = write_markdown(
        tmp_path / "note.md",
        "A note",
        "## First part\n\nAlpha sentence one. Alpha two.\n\n## Second part\n\nBeta sentence.",
    )
    doc = load(path)
    assert (doc.title, doc.kind, doc.as_of, doc.urls) == (
        "A note",
        "article",
        "2026-01-31",
        ["https://example.org/note"],
    )
    chunks = chunk(doc, "note")
    assert [c.meta["section"] for c in chunks] == ["First part", "Second part"]
    assert_chunk_offsets(doc.text, chunks)


def test_law_text_is_split_per_article_with_numbers_and_titles(tmp_path: Path):
    path = tmp_path / "act.txt"
    path.write_text(LAW_TEXT, encoding="utf-8")
    doc = load(path)
    assert doc.kind == "law"
    chunks = chunk(doc, "act")
    arts = [(c.meta["article"], c.meta["article_title"]) for c in chunks if c.meta["article"]]
    assert arts == [("1", "Purpose"), ("2", "Definitions"), ("39-2", "Statutory Damages")]
    assert chunks[-1].meta["section"] == "Article 39-2 (Statutory Damages)"
    assert "3 million won" in chunks[-1].text
    assert_chunk_offsets(doc.text, chunks)


def test_long_law_article_splits_at_paragraphs(tmp_path: Path):
    paras = "\n\n".join(
        f"Paragraph {i} says the controller must keep record number {i} safe at all times." for i in range(30)
    )
    path = write_markdown(tmp_path / "long.md", "Long law", f"## Article 29 (Safety Measures)\n\n{paras}", kind="law")
    doc = load(path)
    chunks = chunk(doc, "long", target_chars=400)
    assert len(chunks) > 3
    assert {c.meta["article"] for c in chunks} == {"29"}
    assert all(c.text.startswith("Paragraph") for c in chunks)
    assert_chunk_offsets(doc.text, chunks)


def test_html_drops_script_style_nav_and_keeps_headings(tmp_path: Path):
    doc = load(write_html(tmp_path / "page.html"))
    assert doc.title == "Pangyo Bakery Notice"
    assert "## Opening hours" in doc.text
    for junk in ("secretScript", "navlink", "footerword", "color:red"):
        assert junk not in doc.text
    chunks = chunk(doc, "page")
    assert {c.meta["section"] for c in chunks} == {"Opening hours", "Allergy policy"}
    assert_chunk_offsets(doc.text, chunks)


def test_pdf_text_is_extracted(tmp_path: Path):
    doc = load(write_pdf(tmp_path / "memo.pdf", ["The Jeju ferry leaves at nine o'clock.", "Tickets cost 12,000 won."]))
    assert "Jeju ferry" in doc.text and "12,000 won" in doc.text
    assert_chunk_offsets(doc.text, chunk(doc, "memo"))


def test_docx_headings_and_paragraphs(tmp_path: Path):
    doc = load(write_docx(tmp_path / "guide.docx", "Hiking guide", ["Bukhansan has many trails.", "Bring water."]))
    assert doc.text.startswith("# Hiking guide")
    chunks = chunk(doc, "guide")
    assert chunks[0].meta["section"] == "Hiking guide" and "Bukhansan" in chunks[0].text
    assert_chunk_offsets(doc.text, chunks)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"   \n\n", "empty file"),
        ("binary.txt", b"\x00\x01\x02binary\x00", "binary content"),
        ("latin.txt", "caf\u00e9 menu".encode("latin-1"), "not valid UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "corrupt PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip at all", "corrupt DOCX"),
        ("table.xlsx", b"whatever", "unsupported file type '.xlsx'"),
        ("bad.md", b"---\ntitle: [unclosed\n---\nbody", "bad YAML front matter"),
        ("date.md", b"---\nas_of: <script>soon</script>\n---\nbody text", "invalid as_of"),
    ],
)
def test_bad_files_raise_one_line_reasons(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError) as err:
        load(path)
    assert reason in str(err.value)
    assert "\n" not in str(err.value)


def test_stable_ids(tmp_path: Path):
    path = write_markdown(tmp_path / "s.md", "S", "One sentence here. Two sentences here.")
    assert [c.id for c in chunk(load(path), "s")] == [c.id for c in chunk(load(path), "s")]
