"""Calibrate the abstention threshold on the held-out ``calib`` split, never on test questions.

Run ``python -m eval.calibrate`` after changing the corpus or the scorer; it rewrites
``bot/calibration.json``.
"""

from __future__ import annotations

import itertools
import json
from importlib import resources
from pathlib import Path

from bot.service import AnswerService, get_service
from eval.questions import load_questions
from kb.settings import get_settings


def confidences(service: AnswerService, questions: list[str]) -> list[float]:
    """The bot's confidence for each question with abstention disabled."""
    saved = service.threshold
    service.threshold = -1.0
    try:
        return [service.answer(q).confidence for q in questions]
    finally:
        service.threshold = saved


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
    """Measure, choose and write the threshold."""
    service = get_service(get_settings())
    ins, outs = load_questions("calib")
    in_conf = confidences(service, [q.question for q in ins])
    out_conf = confidences(service, [q.question for q in outs])
    threshold, f1 = choose_threshold(in_conf, out_conf)
    result = {
        "threshold": round(threshold, 4),
        "abstention_f1_on_calib": round(f1, 4),
        "calib_in_scope": len(ins),
        "calib_out_of_scope": len(outs),
        "in_scope_min": round(min(in_conf), 4),
        "out_of_scope_max": round(max(out_conf), 4),
    }
    path = Path(str(resources.files("bot").joinpath("calibration.json")))
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    rows = [(c, "IN ", q.question) for q, c in zip(ins, in_conf, strict=True)]
    rows += [(c, "OUT", q.question) for q, c in zip(outs, out_conf, strict=True)]
    for c, kind, question in sorted(rows, key=lambda r: r[0])[:60]:
        print(f"{c:.3f}  {kind}  {question}")


if __name__ == "__main__":
    main()
