from bot.verify import split_claims, verify_answer

EVIDENCE = {
    1: "On June 11, 2026, the PIPC fined Coupang 624.7 billion won.",
    2: "Harold Rogers became interim CEO of Coupang's Korean unit.",
}


def test_supported_sentences_are_kept():
    result = verify_answer(
        "The PIPC fined Coupang 624.7 billion won. [1] Harold Rogers became interim CEO. [2]", EVIDENCE
    )
    assert result.dropped == 0
    assert result.text == "The PIPC fined Coupang 624.7 billion won. [1] Harold Rogers became interim CEO. [2]"


def test_wrong_number_is_dropped():
    result = verify_answer("The PIPC fined Coupang 700 billion won. [1]", EVIDENCE)
    assert result.dropped == 1 and result.text == ""
    assert "700" in result.verdicts[0].reason


def test_unknown_name_is_dropped():
    result = verify_answer("Bom Kim became interim CEO. [2]", EVIDENCE)
    assert not result.verdicts[0].supported and "Kim" in result.verdicts[0].reason


def test_citation_to_missing_evidence_and_uncited_text_are_dropped():
    result = verify_answer("Coupang was fined. [3] And an uncited claim.", EVIDENCE)
    assert [v.supported for v in result.verdicts] == [False, False]
    assert "not given" in result.verdicts[0].reason and result.verdicts[1].reason == "no citation"


def test_unrelated_sentence_citing_real_evidence_is_dropped():
    result = verify_answer("Customers received free smartphones and cash refunds. [1]", EVIDENCE)
    assert result.dropped == 1


def test_split_claims_reads_multiple_markers():
    assert split_claims("A fact. [1][2] Another. [2]") == [("A fact.", [1, 2]), ("Another.", [2])]
