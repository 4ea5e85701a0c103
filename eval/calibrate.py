"""Fit the sentence scorer and its abstention threshold on the ``dev`` split, never on ``test``.

Run ``make calibrate`` (``python -m eval.calibrate``) after changing the corpus, the features or the retriever; it
rewrites ``bot/scorer.json``. Each candidate sentence of a dev item is labelled 1 when it states one of the item's
``must_include`` alternatives; every sentence of an item the knowledge base cannot answer is labelled 0.
"""

from __future__ import annotations

import itertools
import json
from importlib import resources
from pathlib import Path

import numpy as np

from bot.extractive import Candidate
from bot.policy import REFUSAL_MODEL_FILE, REQUEST_FEATURES, request_features
from bot.scorer import (
    FEATURES,
    ITEM_FEATURES,
    Scorer,
    fit_linear,
    item_features,
    neutral,
    scorer_path,
)
from bot.service import AnswerService
from bot.types import Turn
from eval.items import EvalItem, load_items, load_refusal_set
from eval.run import eval_stores
from kb.embeddings import get_embedder
from kb.settings import get_settings

#: Inverse regularisation strength of the logistic models. It barely matters here: 5-fold CV on dev, grouped by
#: item, gives log-loss 0.587 and ROC AUC 0.740-0.742 for every C from 0.01 to 10.
C = 1.0
#: An answer holds at most this many sentences; the threshold's recall counts a fact found among them.
TOP = 5


def item_candidates(service: AnswerService, item: EvalItem) -> list[list[Candidate]]:
    """The candidates for each part of an item's last message (earlier user turns as the history)."""
    history = [Turn(role="user", content=m) for m in item.messages[:-1]]
    return service.scored_parts(item.last, history)


def label(c: Candidate, item: EvalItem) -> int:
    """1 when the sentence states one alternative of any of the item's expected facts."""
    low = c.text.lower()
    return int(item.answerable and any(alt.lower() in low for group in item.must_include for alt in group))


def choose_threshold(rows: list[tuple[float, bool, bool, bool]]) -> tuple[float, float, float]:
    """The threshold that maximises fact recall + abstention F1 on dev, centred in the widest tie.

    Answering everything loses every abstention and abstaining on everything loses every fact, so the two are
    traded at equal weight.

    Args:
        rows: Per item ``(confidence, answerable, counts_for_recall, fact_in_top)``: whether the item counts for
            fact recall, and whether the scorer's top sentences state its fact.

    Returns:
        ``(threshold, fact_recall, abstention_f1)`` at the chosen threshold.
    """
    points = sorted({r[0] for r in rows})
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(points)] or [0.5]
    recall_rows = [r for r in rows if r[2]]
    scored: list[tuple[float, float, float, float]] = []
    for t in cuts:
        tp = sum(1 for c, ans, *_ in rows if not ans and c < t)
        fp = sum(1 for c, ans, *_ in rows if ans and c < t)
        fn = sum(1 for c, ans, *_ in rows if not ans and c >= t)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        recall = sum(1 for c, _, _, top in recall_rows if top and c >= t) / max(1, len(recall_rows))
        scored.append((recall + f1, t, recall, f1))
    top = max(x[0] for x in scored)
    ties = [x for x in scored if x[0] == top]
    mid = ties[len(ties) // 2]
    return (ties[0][1] + ties[-1][1]) / 2, mid[2], mid[3]


#: Most share of dev look-alikes, and of other dev questions, the refusal threshold may refuse.
LOOKALIKE_REFUSED = 0.02
QUESTIONS_REFUSED = 0.01


def fit_refusal() -> dict[str, object]:
    """Fit the personal-data request detector on dev; the threshold keeps dev false refusals under the limits."""
    blind = load_refusal_set("dev")
    items = load_items(split="dev")
    requests = [q for q, req in blind if req] + [i.last for i in items if i.category == "personal_data"]
    lookalikes = [q for q, req in blind if not req]
    others = [i.last for i in items if i.category != "personal_data"]
    texts = requests + lookalikes + others
    x = np.asarray([request_features(t) for t in texts])
    y = np.asarray([1] * len(requests) + [0] * (len(lookalikes) + len(others)))
    model = fit_linear(x, y, C)
    prob = 1 / (1 + np.exp(-model.logit(x)))
    look = prob[len(requests) : len(requests) + len(lookalikes)]
    other = prob[len(requests) + len(lookalikes) :]
    cuts = sorted(set(prob.round(4)))
    threshold = next(
        t for t in cuts if (look >= t).mean() <= LOOKALIKE_REFUSED and (other >= t).mean() <= QUESTIONS_REFUSED
    )
    return {
        "features": list(REQUEST_FEATURES),
        "model": model.to_json(),
        "threshold": float(threshold),
        "fitted_on": "dev split of eval/refusals and eval/sets (make calibrate)",
        "dev_request_recall": round(float((prob[: len(requests)] >= threshold).mean()), 4),
        "dev_lookalikes_refused": round(float((look >= threshold).mean()), 4),
        "dev_questions_refused": round(float((other >= threshold).mean()), 4),
    }


def main() -> None:
    """Fit the refusal detector and the scorer on dev; write ``bot/refusal.json`` and ``bot/scorer.json``."""
    refusal = fit_refusal()
    path = Path(str(resources.files("bot").joinpath(REFUSAL_MODEL_FILE)))
    path.write_text(json.dumps(refusal, indent=2) + "\n")
    print(json.dumps({k: v for k, v in refusal.items() if k not in ("model", "features")}, indent=2))
    settings = get_settings()
    embedder = get_embedder(settings)
    items = [
        i
        for i in load_items(split="dev")
        if i.category not in ("personal_data", "injection") and not i.canary and (i.must_include or not i.answerable)
    ]
    rows: list[list[float]] = []
    labels: list[int] = []
    per_item: list[tuple[EvalItem, list[np.ndarray]]] = []
    item_labels: list[list[np.ndarray]] = []
    with eval_stores(settings, embedder) as stores:
        service = stores.clean
        service.scorer = neutral()  # the features do not depend on the weights being replaced (which may not load)
        for item in items:
            found = [cands for cands in item_candidates(service, item) if cands]
            per_item.append((item, [np.asarray([c.features for c in cands]) for cands in found]))
            item_labels.append([np.asarray([label(c, item) for c in cands]) for cands in found])
            for cands in found:
                for c in cands:
                    rows.append(c.features)
                    labels.append(label(c, item))
    x, y = np.asarray(rows, dtype=np.float64), np.asarray(labels)
    sentence = fit_linear(x, y, C)
    # The question model is stacked on the sentence model: one row per item, from its best-scoring part.
    qrows, qlabels, fact_in_top = [], [], []
    for (item, matrices), labelled in zip(per_item, item_labels, strict=True):
        logits = [sentence.logit(f) for f in matrices]
        fact_in_top.append(any(lab[np.argsort(-lg)[:TOP]].any() for lab, lg in zip(labelled, logits, strict=True)))
        rows_ = [item_features(f, lg) for f, lg in zip(matrices, logits, strict=True)]
        qrows.append(max(rows_, key=lambda r: r[0]) if rows_ else np.zeros(len(ITEM_FEATURES)))
        qlabels.append(int(item.answerable))
    qx, qy = np.asarray(qrows), np.asarray(qlabels)
    question = fit_linear(qx, qy, C)
    probs = 1 / (1 + np.exp(-question.logit(qx)))
    threshold, recall, f1 = choose_threshold(
        [
            (float(p), item.answerable, item.category != "false_premise" and bool(item.must_include), top)
            for p, (item, _), top in zip(probs, per_item, fact_in_top, strict=True)
        ]
    )
    scorer = Scorer(
        sentence,
        question,
        threshold,
        {
            "fitted_on": "dev split of eval/sets (make calibrate)",
            "items": len(items),
            "sentences": len(y),
            "positive_sentences": int(y.sum()),
            "abstention_f1_on_dev": round(f1, 4),
            "fact_in_top_recall_on_dev": round(recall, 4),
        },
    )
    scorer_path().write_text(json.dumps(scorer.to_json(), indent=2) + "\n")
    print(json.dumps({k: v for k, v in scorer.to_json().items() if k not in ("sentence", "question")}, indent=2))
    for names, model in ((FEATURES, sentence), (ITEM_FEATURES, question)):
        for name, w in sorted(zip(names, model.coef, strict=True), key=lambda t: -abs(t[1])):
            print(f"{w:+.3f}  {name}")
        print()


if __name__ == "__main__":
    main()
