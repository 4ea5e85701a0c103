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


def test_tokenize_folds_inflections_and_drops_stopwords():
    assert tokenize("When did the CEO resign?") == tokenize("CEO resigned")
    assert tokenize("Coupang's vouchers") == ["coupang", "voucher"]
    assert "the" not in tokenize("the breach")
    # Words people use for the corpus's words: "hard" for "difficult", "ad" for "advertising".
    assert tokenize("why was it hard") == tokenize("the difficulty")
    assert tokenize("ad tracking")[0] == tokenize("advertising-data")[0] == tokenize("ads")[0]


def test_numbers_are_normalised():
    assert numbers("33,670,000 people, 624.7 billion and 2025.") == {"33670000", "624.7", "2025"}
