"""The corpus agrees with itself: no two documents give a different figure for the same key fact.

Each canonical fact has the phrasings the documents use to state it and the figures that are accepted (the fact
sheet's figure and its exact or rounded forms). Every statement found in any document must use an accepted figure,
and each fact must be found in at least two documents, so a drifted or deleted statement fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb import SOURCES_DIR
from kb.text import split_sentences

#: fact -> (phrasings, each capturing the figure in group 1; accepted figures; sentences about something else, such
#: as a source's misprint that a document reports as an error)
CANONICAL: dict[str, tuple[list[str], set[str], str]] = {
    "accounts affected (millions)": (
        [r"(\d+(?:\.\d+)?) million (?:customer |user |member |affected |Coupang )*accounts"],
        # Coupang's figure, its exact form, Coupang's rounded "about 33 million" and the PIPC's total with 165,455 more
        {"33.7", "33.67", "33", "33.86"},
        r"$^",
    ),
    "fine total (won)": (
        [
            r"fined Coupang (?:a record |about |some )?(\d+(?:\.\d+)? (?:billion|trillion)) won",
            r"PIPC (?:fine|penalty surcharge) on Coupang (?:totals|of|was) (?:about )?(\d+(?:\.\d+)? (?:billion|trillion)) won",
            r"(?:fine|penalty surcharge)(?:, or penalty surcharge,)? of (\d+(?:\.\d+)? (?:billion|trillion)) won[^.]{0,40}"
            r"\bon Coupang",
        ],
        {"624.7 billion", "624.68 billion"},
        r"wrong|error|misprint|printed|estimate",
    ),
    "fine for the breach (billion won)": (
        [r"(\d+(?:\.\d+)?) billion won (?:was )?for the (?:data )?(?:breach|leak)"],
        {"423.5", "423.58"},
        r"$^",
    ),
    "fine for the activity data (billion won)": (
        [r"(\d+(?:\.\d+)?) billion won (?:was )?for (?:gathering|collecting|the unlawful|unlawfully)"],
        {"201.1", "201.16"},
        r"$^",
    ),
    "voucher total (trillion won)": (
        [
            r"(\d+(?:\.\d+)?) trillion won (?:in vouchers|voucher)",
            r"voucher compensation (?:plan )?at (\d+(?:\.\d+)?) trillion won",
        ],
        {"1.685", "1.69"},
        r"$^",
    ),
    "voucher value per person (won)": (
        [r"vouchers? worth (\d[\d,]*) won", r"(\d[\d,]*) won per person"],
        {"50,000"},
        r"court|award|damages|claim|payouts?",
    ),
    "notification deadline (hours)": (
        [r"(\d+)-hour deadline for (?:notifying|telling)", r"no later than (\d+) hours after it learns"],
        {"72"},
        r"Network Act|intrusion",
    ),
}


def _sentences() -> list[tuple[str, str]]:
    out = []
    for path in sorted(Path(SOURCES_DIR).rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        out += [(path.name, text[s:e]) for s, e in split_sentences(text)]
    return out


@pytest.mark.parametrize("fact", list(CANONICAL))
def test_every_document_states_a_key_fact_with_the_same_figure(fact: str):
    phrasings, accepted, elsewhere = CANONICAL[fact]
    found: dict[str, set[str]] = {}
    wrong = []
    for doc, sentence in _sentences():
        if re.search(elsewhere, sentence, re.I):
            continue
        for pattern in phrasings:
            for m in re.finditer(pattern, sentence, re.I):
                found.setdefault(doc, set()).add(m.group(1))
                if m.group(1) not in accepted:
                    wrong.append(f"{doc}: {m.group(1)!r} in {sentence!r}")
    assert not wrong, f"{fact}: figures other than {sorted(accepted)}:\n" + "\n".join(wrong)
    assert len(found) >= 2, f"{fact}: stated in fewer than two documents ({sorted(found)})"
