"""Evaluation: question sets, calibration, metrics, reports and the CI gate. It calls ``bot``; it never re-implements it."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
SETS_DIR = HERE / "sets"
FIXTURES_DIR = HERE / "fixtures"
REFUSALS_DIR = HERE / "refusals"
