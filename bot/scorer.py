"""The fitted sentence scorer: one logistic model says how likely an evidence sentence answers the question.

Each candidate sentence gets the features in :data:`FEATURES` (retrieval scores, word overlap, answer-type, name and
number matches, where it sits); a logistic regression fitted on the ``dev`` split of the eval sets
(``make calibrate``, see ``eval/calibrate.py``) turns them into a probability. The same probability ranks the
sentences and, through the best sentence, decides whether to answer at all. The weights ship as package data
(``bot/scorer.json``) and hold for any corpus: no feature names a word of this one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

#: Feature names, in the order of a candidate's feature vector.
FEATURES: tuple[str, ...] = (
    "semantic",  # cosine of the query and the sentence
    "semantic_gap",  # semantic minus the best semantic among the candidates
    "lexical",  # IDF-weighted share of the question's words the sentence has
    "coverage",  # plain share of the question's words the sentence has
    "heading",  # share of the question's words in the sentence's title and section heading
    "chunk_rank",  # 1 / fused rank of the sentence's chunk
    "chunk_dense",  # cosine of the query and the whole chunk (0 when the dense ranking missed it)
    "chunk_bm25",  # the chunk's BM25 score over the best BM25 score retrieved
    "doc_best",  # best semantic of any sentence of the same document
    "type_match",  # the question expects a date / amount / name and the sentence has one
    "wants_type",  # the question expects a date, an amount or a name
    "name_match",  # share of the question's proper names the sentence has
    "number_match",  # share of the question's numbers the sentence has
    "first_in_chunk",  # the sentence opens its chunk
    "unknown_words",  # question words the knowledge base never uses (0..3)
    "question_words",  # content words in the question (log)
    "sentence_chars",  # sentence length (log)
    "evidence_coverage",  # IDF-weighted share of the question's words found anywhere in the top chunks
    "missing_rarest",  # IDF of the rarest question word missing from the top chunks, over the largest IDF
)


#: Question-level features for the answer-or-abstain decision, from the best sentences of the question. Chosen by
#: 5-fold cross-validated ROC AUC on dev (0.664 for these six; 0.633 with the coverage, type and length features too,
#: which the model fitted with confounded negative weights).
ITEM_FEATURES: tuple[str, ...] = (
    "best_logit",  # the sentence model's logit for the best sentence
    "second_logit",  # ... for the second-best sentence
    "best_semantic",  # highest semantic of any sentence
    "best_lexical",  # highest IDF-weighted coverage of any sentence
    "unknown_words",  # question words the knowledge base never uses
    "missing_rarest",  # IDF of the rarest question word missing from the top chunks, over the largest IDF
)


def item_features(features: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The question-level features from its candidates' feature rows and sentence logits."""
    col = {n: i for i, n in enumerate(FEATURES)}
    order = np.argsort(-logits)
    best = features[order[0]]
    second = logits[order[1]] if len(order) > 1 else logits[order[0]] - 5.0
    return np.asarray(
        [
            logits[order[0]],
            second,
            features[:, col["semantic"]].max(),
            features[:, col["lexical"]].max(),
            best[col["unknown_words"]],
            best[col["missing_rarest"]],
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class Linear:
    """A standardised logistic model: ``sigmoid(((x - mean) / scale) . coef + intercept)``."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        """The model's log-odds for each row of ``x``."""
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """Rounded lists for the JSON file."""
        return {
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Linear:
        """The model from its JSON form."""
        return Linear(
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


@dataclass(frozen=True)
class Scorer:
    """The sentence model, the question model stacked on it, and the abstention threshold fitted with them."""

    sentence: Linear
    question: Linear
    threshold: float
    meta: dict[str, Any]

    def sentence_logits(self, features: np.ndarray) -> np.ndarray:
        """Log-odds that each candidate sentence answers the question."""
        return self.sentence.logit(features)

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(the sentence answers the question) for each row of ``features``."""
        return _sigmoid(self.sentence_logits(features))

    def confidence(self, features: np.ndarray) -> float:
        """P(the knowledge base answers the question), from all of its candidate sentences' features."""
        if len(features) == 0:
            return 0.0
        row = item_features(features, self.sentence_logits(features))
        return float(_sigmoid(self.question.logit(row[None, :]))[0])

    def to_json(self) -> dict[str, Any]:
        """The JSON form shipped in ``bot/scorer.json``."""
        return {
            "features": list(FEATURES),
            "item_features": list(ITEM_FEATURES),
            "sentence": self.sentence.to_json(),
            "question": self.question.to_json(),
            "threshold": round(self.threshold, 4),
            **self.meta,
        }


def neutral() -> Scorer:
    """A scorer with no weights (every probability 0.5) over this code's features, for fitting a new one."""

    def flat(n: int) -> Linear:
        return Linear(np.zeros(n), np.ones(n), np.zeros(n), 0.0)

    return Scorer(flat(len(FEATURES)), flat(len(ITEM_FEATURES)), 0.5, {"fitted_on": "nothing (make calibrate)"})


SCORER_FILE = "scorer.json"


def scorer_path() -> Path:
    """Where the shipped weights live."""
    return Path(str(resources.files("bot").joinpath(SCORER_FILE)))


def from_json(data: dict[str, Any]) -> Scorer:
    """A scorer from its JSON form.

    Raises:
        ValueError: when the features do not match this code's :data:`FEATURES`.

    """
    if tuple(data["features"]) != FEATURES or tuple(data.get("item_features", ())) != ITEM_FEATURES:
        raise ValueError("bot/scorer.json was fitted on other features: run `make calibrate`")
    meta = {
        k: v for k, v in data.items() if k not in {"features", "item_features", "sentence", "question", "threshold"}
    }
    return Scorer(
        Linear.from_json(data["sentence"]), Linear.from_json(data["question"]), float(data["threshold"]), meta
    )


@lru_cache(maxsize=1)
def load_scorer() -> Scorer:
    """The shipped scorer."""
    return from_json(json.loads(scorer_path().read_text()))


def fit_linear(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> Linear:
    """Fit a class-balanced logistic regression (scikit-learn) on standardised features.

    Args:
        x: One row per example.
        y: 0/1 labels.
        c: Inverse regularisation strength.

    Returns:
        The fitted :class:`Linear`.

    """
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    return Linear(mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]))
