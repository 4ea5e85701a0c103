"""Fit the sentence scorer and its abstention threshold on the ``dev`` split, never on ``test``.

Run ``make calibrate`` (``python -m eval.calibrate``) after changing the corpus, the features or the retriever; it
rewrites ``bot/scorer.json``. Each candidate sentence of a dev item is labelled 1 when it states one of the item's
``must_include`` alternatives; every sentence of an item the knowledge base cannot answer is labelled 0.
"""

from __future__ import annotations

import itertools
import json

import numpy as np

from bot.extractive import Candidate
from bot.scorer import FEATURES, ITEM_FEATURES, Scorer, fit_linear, item_features, scorer_path
from bot.service import AnswerService
from bot.types import Turn
from eval.items import EvalItem, load_items
from eval.run import eval_stores
from kb.embeddings import get_embedder
from kb.settings import get_settings

#: Inverse regularisation strength of the logistic model (chosen on dev by cross-validated log-loss).
C = 1.0


def item_candidates(service: AnswerService, item: EvalItem) -> list[list[Candidate]]:
    """The candidates for each part of an item's last message (earlier user turns as the history)."""
    history = [Turn(role="user", content=m) for m in item.messages[:-1]]
    return service.scored_parts(item.last, history)


def label(c: Candidate, item: EvalItem) -> int:
    """1 when the sentence states one alternative of any of the item's expected facts."""
    low = c.text.lower()
    return int(item.answerable and any(alt.lower() in low for group in item.must_include for alt in group))


def choose_threshold(in_scope: list[float], out_of_scope: list[float]) -> tuple[float, float]:
    """The threshold with the best abstention F1, centred in the widest gap of equal F1.

    Args:
        in_scope: Confidences of answerable questions.
        out_of_scope: Confidences of questions the bot should abstain on.

    Returns:
        ``(threshold, f1)``.
    """
    points = sorted(set(in_scope + out_of_scope))
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(points)] or [0.5]
    best: list[tuple[float, float]] = []
    for t in cuts:
        tp = sum(c < t for c in out_of_scope)  # correctly abstained
        fp = sum(c < t for c in in_scope)
        fn = len(out_of_scope) - tp
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        best.append((f1, t))
    top = max(f for f, _ in best)
    ties = [t for f, t in best if f == top]
    return (ties[0] + ties[-1]) / 2, top


def main() -> None:
    """Collect dev features, fit, choose the threshold, write ``bot/scorer.json``."""
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
    with eval_stores(settings, embedder) as stores:
        service = stores.clean
        for item in items:
            parts = item_candidates(service, item)
            per_item.append((item, [np.asarray([c.features for c in cands]) for cands in parts if cands]))
            for cands in parts:
                for c in cands:
                    rows.append(c.features)
                    labels.append(label(c, item))
    x, y = np.asarray(rows, dtype=np.float64), np.asarray(labels)
    sentence = fit_linear(x, y, C)
    # The question model is stacked on the sentence model: one row per item, from its best-scoring part.
    qrows, qlabels = [], []
    for item, parts in per_item:
        rows_ = [item_features(f, sentence.logit(f)) for f in parts]
        qrows.append(max(rows_, key=lambda r: r[0]) if rows_ else np.zeros(len(ITEM_FEATURES)))
        qlabels.append(int(item.answerable))
    qx, qy = np.asarray(qrows), np.asarray(qlabels)
    question = fit_linear(qx, qy, C)
    probs = 1 / (1 + np.exp(-question.logit(qx)))
    threshold, f1 = choose_threshold(
        [float(p) for p, a in zip(probs, qy, strict=True) if a],
        [float(p) for p, a in zip(probs, qy, strict=True) if not a],
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
