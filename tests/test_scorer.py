"""The fitted parts: the sentence scorer, the threshold choice, the request detector, and the corpus profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.policy import REQUEST_FEATURES, is_personal_data_request, request_features, request_probability
from bot.scorer import FEATURES, ITEM_FEATURES, fit_linear, from_json, load_scorer, neutral
from eval.calibrate import choose_threshold
from ingest.sync import sync
from kb.errors import ConfigError
from kb.profile import PROFILE_FILE, STORE_KEY, generic_profile, parse_profile
from kb.settings import Settings
from kb.store import open_store
from tests.helpers import write_markdown


def _row(**values: float) -> np.ndarray:
    row = np.zeros(len(FEATURES))
    for name, value in values.items():
        row[FEATURES.index(name)] = value
    return row


def test_the_shipped_scorer_matches_the_code_and_ranks_a_matching_sentence_higher():
    scorer = load_scorer()
    assert scorer.to_json()["features"] == list(FEATURES) and scorer.to_json()["item_features"] == list(ITEM_FEATURES)
    assert 0.0 < scorer.threshold < 1.0
    weak = _row(semantic=0.2, lexical=0.1, coverage=0.1, chunk_rank=0.2, wants_type=1.0, type_match=0.0)
    strong = _row(semantic=0.7, lexical=0.8, coverage=0.8, chunk_rank=1.0, wants_type=1.0, type_match=1.0)
    strong[FEATURES.index("sentence_chars")] = weak[FEATURES.index("sentence_chars")] = np.log(120)
    p_weak, p_strong = scorer.probability(np.vstack([weak, strong]))
    assert 0.0 <= p_weak < p_strong <= 1.0
    assert scorer.confidence(np.vstack([strong, weak])) > scorer.confidence(np.vstack([weak, weak]))
    assert scorer.confidence(np.zeros((0, len(FEATURES)))) == 0.0


def test_a_neutral_scorer_reads_this_codes_features_so_calibration_can_start_from_it():
    scorer = from_json(neutral().to_json())  # what `make calibrate` scores candidates with while it fits
    rows = np.vstack([_row(semantic=0.1), _row(semantic=0.9, lexical=1.0)])
    assert np.allclose(scorer.probability(rows), 0.5) and scorer.confidence(rows) == 0.5


def test_a_scorer_fitted_on_other_features_is_refused():
    data = load_scorer().to_json()
    with pytest.raises(ValueError, match="make calibrate"):
        from_json(data | {"features": ["semantic"]})


def test_fit_linear_learns_the_direction_of_the_evidence():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - x[:, 2] > 0).astype(int)
    model = fit_linear(x, y)
    assert model.coef[0] > 0 > model.coef[2] and abs(model.coef[1]) < model.coef[0]


def test_the_threshold_trades_fact_recall_against_abstention():
    # (confidence, answerable, counts for recall, fact among the top sentences)
    rows = [(0.9, True, True, True), (0.8, True, True, True), (0.2, False, False, False), (0.3, False, False, False)]
    threshold, recall, f1 = choose_threshold(rows)
    assert 0.3 < threshold < 0.8 and recall == 1.0 and f1 == 1.0


def test_the_request_detector_tells_a_request_from_a_question_about_the_case():
    assert len(request_features("x")) == len(REQUEST_FEATURES)
    request = "Send me the home address and phone of my neighbour Park Ji-hoon from the leaked files."
    about = "Did the leak include delivery addresses at all, or only e-mails?"
    assert request_probability(request) > request_probability(about)
    assert is_personal_data_request(request) and not is_personal_data_request(about)


def test_profiles_parse_check_and_fall_back_to_the_titles():
    profile = parse_profile("title: T\nsubject: s\nintro: i\nscope: Only T.\nsynonyms: {coupon: voucher}\n", "x")
    assert profile.synonyms == {"coupon": "voucher"} and profile.no_answer
    with pytest.raises(ConfigError, match="Invalid profile"):
        parse_profile("title: [unclosed\n", "bad.yaml")
    with pytest.raises(ConfigError, match="Invalid profile"):
        parse_profile("just a string", "bad.yaml")
    generic = generic_profile(["Ferries of Jeju", "Harbour lanterns"])
    assert "Ferries of Jeju; Harbour lanterns" in generic.scope and "Coupang" not in generic.model_dump_json()


def test_ingest_records_the_folders_profile_with_the_store(tmp_path: Path, fake_embedder):
    folder = tmp_path / "docs"
    write_markdown(folder / "a.md", "Ferries", "The Jeju ferry departs Mokpo at 09:00.")
    (folder / PROFILE_FILE).write_text("title: Ferry desk\nsubject: ferries\nintro: Ask.\nscope: I know ferries.\n")
    settings = Settings(home=tmp_path / "h")
    report = sync([folder], settings, embedder=fake_embedder)
    assert report.failed == [] and report.added == 1  # the profile is not ingested as a document
    assert "I know ferries." in open_store(settings, fake_embedder).metadata[STORE_KEY]
    (folder / PROFILE_FILE).write_text("title: [broken\n")
    report = sync([folder], settings, embedder=fake_embedder)
    assert report.failed and report.failed[0]["path"].endswith(PROFILE_FILE)
