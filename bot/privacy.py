"""Mask personal data (e-mail, phone, resident-registration-like numbers) before anything is stored."""

from __future__ import annotations

import re

# Order matters: resident-registration numbers look like long digit runs a phone pattern would also take.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![\w.])\d{6}\s?-\s?[1-8]\d{6}(?!\d)|(?<![\w.,])\d{6}[1-8]\d{6}(?![\d,])"), "[resident-number]"),
    # The look-behind lets a match start only where a run of address characters starts, so a long run without an
    # "@" is scanned once, not once per position (the pattern was quadratic: 60,000 letters froze the server).
    (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Korean mobile and landline numbers, international forms, and NANP-style (555) 123-4567.
    (
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(0?\d{1,4}\)|0?\d{1,4})[\s.-]\d{3,4}[\s.-]\d{4}(?!\d)"
            r"|(?<![\w+,.])01[016789]\d{7,8}(?![\d,])"
        ),
        "[phone]",
    ),
]


def mask_personal_data(text: str) -> str:
    """Replace e-mail addresses, phone numbers and resident-registration-like numbers with placeholders.

    Args:
        text: Free text from a user or an answer.

    Returns:
        The text with each match replaced by ``[email]``, ``[phone]`` or ``[resident-number]``.

    """
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def strip_personal_data(text: str) -> str:
    """The text with e-mails, phone and resident numbers removed: they say nothing about what is asked."""
    for pattern, _ in _PATTERNS:
        text = pattern.sub(" ", text)
    return re.sub(r"\s{2,}", " ", text).strip()
