from kb.text import numbers, split_sentences, tokenize


def test_sentences_respect_abbreviations_decimals_and_lines():
    text = (
        "# Heading\nCoupang said on Nov. 29, 2025 that 33.7 million accounts were hit. Rep. Choi disagreed!\n"
        "- The U.S. case No. 25-cv-10795 was filed.\nThe fine was 624.7 billion won. Next."
    )
    got = [text[s:e] for s, e in split_sentences(text)]
    assert got == [
        "Heading",
        "Coupang said on Nov. 29, 2025 that 33.7 million accounts were hit.",
        "Rep. Choi disagreed!",
        "The U.S. case No. 25-cv-10795 was filed.",
        "The fine was 624.7 billion won.",
        "Next.",
    ], got


def test_sentence_offsets_are_exact_slices():
    text = "  First one here.  Second one, with 1,000 people.\n\nThird."
    got = [text[s:e] for s, e in split_sentences(text)]
    assert got == ["First one here.", "Second one, with 1,000 people.", "Third."], got


def test_tokenize_stems_inflections_and_drops_stopwords():
    assert tokenize("When did the CEO resign?") == tokenize("CEO resigned")
    assert tokenize("Coupang's vouchers") == ["coupang", "voucher"]
    assert tokenize("notified notification notifying")[0] == tokenize("notify")[0]
    assert "the" not in tokenize("the breach")
    # Numbers and Hangul stay whole.
    assert tokenize("4,536 쿠팡") == ["4", "536", "쿠팡"]


def test_numbers_are_normalised():
    assert numbers("33,670,000 people, 624.7 billion and 2025.") == {"33670000", "624.7", "2025"}
