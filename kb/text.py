"""Text primitives shared by ingestion and answering: sentences with offsets, tokens, numbers."""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

#: Version of :func:`tokenize` and :func:`split_sentences`; bump it when either changes what it returns, so saved
#: indices (``kb.persisted``) are rebuilt.
TEXT_VERSION = "1"

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


_STEMMER = snowballstemmer.stemmer("english")


_HANGUL_RUN = re.compile(r"[가-힣]+|[^가-힣]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens with stopwords removed, Snowball-stemmed (English); numbers kept whole.

    Hangul becomes overlapping character pairs ("개인정보" -> 개인, 인정, 정보): Korean glues particles and endings to
    its words, and pairs match "쿠팡은" with "쿠팡의" without a morphological analyser (the issue on Korean measured
    pairs as good as kiwipiepy or mecab-ko for this). A one-syllable word stays whole.
    """
    text = re.sub(r"['’]s\b", "", text.lower()).replace("-", " ")
    out: list[str] = []
    for word in _HANGUL_OR_WORD.findall(text):
        if word in STOPWORDS:
            continue
        for run in _HANGUL_RUN.findall(word):
            if "가" <= run[0] <= "힣":
                out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
            elif run != "_":
                out.append(_stem(run))
    return out


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return word if not word.isascii() or word[0].isdigit() else str(_STEMMER.stemWord(word))


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised (thousands separators dropped): ``"33,7"`` stays, ``"1,000"`` -> ``"1000"``."""
    found = set()
    for raw in _NUMBER.findall(text):
        norm = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw) else raw.rstrip(",")
        found.add(norm)
    return found


_HANGUL = re.compile(r"[가-힣]")


def language_of(text: str) -> str:
    """``ko`` when the Hangul syllables, counted three letters each, at least match the other letters, else ``en``.

    A syllable carries about as much as three Latin letters, so "쿠팡 data breach 보상" is Korean and an English
    sentence quoting "Talpang (탈팡)" is English.
    """
    hangul = len(_HANGUL.findall(text))
    other = sum(ch.isalpha() for ch in text) - hangul
    return "ko" if hangul and hangul * 3 >= other else "en"


_SCALE = {
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
    "만": 1e4,
    "억": 1e8,
    "조": 1e12,
}
_AMOUNT = re.compile(
    r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s*(thousand|million|billion|trillion|만|억|조)?(?:\s*(?:won|원|%))?",
    re.I,
)


def amounts(text: str) -> list[tuple[str, float]]:
    """Each number in a text with its value, scale words applied: "624.7 billion" and "6,247억" are both 6.247e11.

    Korean compounds add up ("1조 6,850억 원" is 1.685e12, "3,370만" is 3.37e7), so a Korean sentence's figure can be
    checked against an English source and back. Returns ``(as written, value)`` pairs in order.
    """
    out: list[tuple[str, float]] = []
    pending: tuple[str, float, float] | None = None  # a Korean amount still open to a smaller unit: 1조 -> 6,850억
    for m in _AMOUNT.finditer(text):
        raw, unit = m.group(1).rstrip(","), (m.group(2) or "").lower()
        try:
            value = float(raw.replace(",", "")) * _SCALE.get(unit, 1.0)
        except ValueError:
            continue
        scale = _SCALE.get(unit, 1.0)
        if pending and unit in ("만", "억") and scale < pending[2] and m.start() - pending[1] <= 2:
            out[-1] = (f"{out[-1][0]} {raw}{unit}", out[-1][1] + value)
        else:
            out.append((raw + unit, value))
        pending = (raw, m.end(), scale) if unit in ("조", "억") else None
    return out
