"""Text primitives shared by ingestion and answering: sentences with offsets, tokens, numbers."""

from __future__ import annotations

import re

# Abbreviations after which a full stop does not end a sentence.
_ABBREV = {
    "no",
    "nos",
    "rep",
    "reps",
    "prof",
    "dr",
    "mr",
    "mrs",
    "ms",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "approx",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "art",
    "arts",
    "inc",
    "corp",
    "co",
    "ltd",
    "u.s",
    "u.k",
    "fig",
    "cf",
    "al",
    "gov",
    "sen",
    "gen",
    "jr",
    "sr",
    "p",
    "pp",
}
_END = re.compile(r"[.!?。]+[\"')\]]*(?=\s+|$)")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_HANGUL_OR_WORD = re.compile(r"[\w가-힣]+", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be been being but by can could did do does doing for from had has have how i if in
    into is it its me my of on or our should so than that the their them then there these they this those to
    was we were what when where which who whom why will with would you your yours about after again also any
    because before both during each few more most other over same some such only own too very just now
    tell please know explain describe give much many whats what's happened happen there's it's really finally
    actually exactly still even ever yet""".split()
)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentences, returning absolute ``(start, end)`` offsets.

    Lines are hard boundaries (paragraphs, list items, headings); inside a line a sentence ends at
    ``.``, ``!`` or ``?`` followed by space, unless the word before is a known abbreviation or an
    initial. Leading list markers and surrounding whitespace are excluded from the spans.

    Args:
        text: The whole text.
        start: Where to begin.
        end: Where to stop (default: end of text).

    Returns:
        Sentence spans, in order, each non-empty.

    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        line_start, line_end = pos, pos + len(line)
        pos = line_end + 1
        marker = re.match(r"\s*(?:[-*+]\s+|\d+[.)]\s+|#+\s+|>\s*)?", line)
        s = line_start + (marker.end() if marker else 0)
        for m in _END.finditer(text, s, line_end):
            word = re.search(r"([\w.]+)[.!?]*$", text[s : m.start() + 1])
            token = (word.group(1) if word else "").rstrip(".").lower()
            if token in _ABBREV or (len(token) == 1 and token.isalpha()):
                continue
            nxt = text[m.end() : m.end() + 2].strip()
            if nxt and nxt[0].islower():
                continue
            _add(text, spans, s, m.end())
            s = m.end()
        _add(text, spans, s, line_end)
    return spans


def _add(text: str, spans: list[tuple[int, int]], s: int, e: int) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s and any(ch.isalnum() for ch in text[s:e]):
        spans.append((s, e))


# A few inflections and near-synonyms people use in questions, folded to the corpus's word.
_CANON = {
    "began": "start",
    "begin": "start",
    "begun": "start",
    "beginning": "start",
    "started": "start",
    "starting": "start",
    "fined": "fine",
    "leaked": "leak",
    "leaking": "leak",
    "breached": "breach",
    "exposed": "expose",
    "exposure": "expose",
    "affected": "affect",
    "compensated": "compensation",
    "compensate": "compensation",
    "notified": "notify",
    "notification": "notify",
    "sued": "sue",
    "lawsuit": "suit",
    "penalty": "fine",
    "penalties": "fine",
    "coupon": "voucher",
    "coupons": "voucher",
    "divide": "split",
    "divid": "split",
    "hard": "difficult",
    "harder": "difficult",
    "ad": "advertising",
    "ads": "advertising",
    "advert": "advertising",
    "adverts": "advertising",
    "advertisement": "advertising",
    "advertisements": "advertising",
}


def _stem(tok: str) -> str:
    """A deliberately light suffix stripper (plural, -ed, -ing, -ize) so 'resign' meets 'resigned'."""
    if tok.isdigit() or len(tok) <= 3:
        return tok
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("ied", "y", 5),
        ("ing", "", 6),
        ("ized", "", 7),
        ("ize", "", 6),
        ("ed", "", 5),
        ("es", "", 6),
        ("s", "", 4),
    ):
        if tok.endswith(suffix) and len(tok) >= min_len and not tok.endswith("ss"):
            tok = tok[: -len(suffix)] + repl
            break
    if tok.endswith("y") and len(tok) > 5:
        tok = tok[:-1]
    return tok


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens with stopwords removed, light plural stemming; numbers kept whole."""
    out = []
    text = re.sub(r"['’]s\b", "", text.lower()).replace("-", " ")
    for tok in _HANGUL_OR_WORD.findall(text):
        if tok in STOPWORDS:
            continue
        tok = _CANON.get(tok, tok)
        stem = _stem(tok)
        out.append(_CANON.get(stem, stem))
    return out


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised (thousands separators dropped): ``"33,7"`` stays, ``"1,000"`` -> ``"1000"``."""
    found = set()
    for raw in _NUMBER.findall(text):
        norm = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw) else raw.rstrip(",")
        found.add(norm)
    return found
