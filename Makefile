# Two commands set everything up: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
# Math libraries spin-wait for cores they do not get on a busy machine; passive waiting keeps queries fast.
export OMP_WAIT_POLICY := PASSIVE

.PHONY: install run chat eval ingest test test-fast check bench bench-scale calibrate security clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned to the CPU wheel on disk; a looser pin would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

ingest: install
	$(BIN)/kb ingest

run: install
	$(BIN)/kb ingest
	$(BIN)/kb serve

chat: install
	$(BIN)/kb ingest
	$(BIN)/kb chat

check: install
	$(BIN)/ruff format --check kb ingest bot eval tests
	$(BIN)/ruff check kb ingest bot eval tests
	$(BIN)/mypy

test: check
	$(BIN)/pytest
	$(BIN)/python -m eval.security
	$(BIN)/kb eval --out artifacts/eval
	$(BIN)/kb eval --no-textbook --corpus eval/corpora/hanbit/sources --set eval/corpora/hanbit/questions.jsonl --out artifacts/eval-hanbit

eval: install
	$(BIN)/kb eval --out artifacts/eval
	$(BIN)/kb eval --no-textbook --corpus eval/corpora/hanbit/sources --set eval/corpora/hanbit/questions.jsonl --out artifacts/eval-hanbit

test-fast: install
	$(BIN)/pytest -m "not slow and not server" -q

security: install
	$(BIN)/python -m eval.security

bench: install
	$(BIN)/python -m eval.bench
	$(BIN)/python -m eval.load

# Sizes in chunks (0: the shipped corpus alone); see README "Scale" for what each size costs on 2 cores.
SCALE_SIZES ?= 0,1000,10000,100000
bench-scale: install
	$(BIN)/python -m eval.scale --sizes $(SCALE_SIZES)

calibrate: install
	$(BIN)/python -m eval.calibrate

clean:
	rm -rf $(VENV) .kb .pytest_cache .mypy_cache .ruff_cache
