"""Mask personal data (e-mail, phone, resident-registration and card numbers) before anything is stored.

Phone numbers are found by ``phonenumbers`` (Korean and international forms, spaced or glued to Korean text), card
numbers are digit runs that pass the Luhn check (``python-stdnum``), and full-width forms are read as ASCII first,
so a ``＠`` or ``０１０`` is caught like ``@`` or ``010``. Every pattern here runs in linear time.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from stdnum import luhn

#: Resident-registration-like numbers: 6 digits, a dash of any kind or a space (or nothing), then 7 digits.
_RRN = re.compile(r"(?<![\w.,])\d{6}\s*[-\u2010-\u2015\u2212]?\s*[1-8]\d{6}(?![\d,])")
#: The look-behind lets a match start only where a run of address characters starts, so a long run without an "@"
#: is scanned once, not once per position (the pattern was quadratic: 60,000 letters froze the server).
_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.I)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
#: A backstop for phone shapes the library does not take as numbers (NANP-style ``(555) 123-4567``).
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(0?\d{1,4}\)|0?\d{1,4})[\s.-]\d{3,4}[\s.-]\d{4}(?!\d)"
    r"|(?<![\w+,.])01[016789]\d{7,8}(?![\d,])"
)


def _regex(pattern: re.Pattern[str]) -> Callable[[str], list[tuple[int, int]]]:
    return lambda text: [m.span() for m in pattern.finditer(text)]


def _cards(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _CARD.finditer(text) if luhn.is_valid(re.sub(r"\D", "", m.group(0)))]


def _phones(text: str) -> list[tuple[int, int]]:
    matcher = phonenumbers.PhoneNumberMatcher(text, "KR", leniency=phonenumbers.Leniency.VALID)
    return [(m.start, m.end) for m in matcher]


#: In order: resident numbers and cards before phones (a long digit run is not a phone number).
_FINDERS: list[tuple[Callable[[str], list[tuple[int, int]]], str]] = [
    (_regex(_RRN), "[resident-number]"),
    (_regex(_EMAIL), "[email]"),
    (_cards, "[card]"),
    (_phones, "[phone]"),
    (_regex(_PHONE), "[phone]"),
]


#: Full-width ASCII (U+FF01-FF5E) and the ideographic space as their ASCII forms; Hangul is left as typed.
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


def _replace(text: str, with_placeholder: bool) -> str:
    text = text.translate(_HALF_WIDTH)
    for find, placeholder in _FINDERS:
        for start, end in reversed(find(text)):
            text = text[:start] + (placeholder if with_placeholder else " ") + text[end:]
    return text


def mask_personal_data(text: str) -> str:
    """Replace e-mail addresses, phone, resident-registration and card numbers with placeholders.

    Args:
        text: Free text from a user or an answer.

    Returns:
        The text (full-width forms as ASCII) with each match replaced by ``[email]``, ``[phone]``, ``[resident-number]`` or
        ``[card]``.

    """
    return _replace(text, True)


def strip_personal_data(text: str) -> str:
    """The text with e-mails, phone, resident and card numbers removed: they say nothing about what is asked."""
    return re.sub(r"\s{2,}", " ", _replace(text, False)).strip()
