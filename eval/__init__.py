"""Evaluation: question sets, calibration and (later) metrics and the CI gate. It calls ``bot``; it never re-implements it."""

from pathlib import Path

QUESTIONS_DIR = Path(__file__).resolve().parent / "questions"
