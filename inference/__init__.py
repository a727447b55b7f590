"""Predict named entities and document labels (topic, stance) with confidence scores.

    from inference import load, predict
    predict("GENEVA, May 4 - ...")            # default checkpoint
    load("checkpoints/news").predict(text)    # explicit checkpoint
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded: every import of the package sees this

DEFAULT_CHECKPOINT = Path("checkpoints") / "news"   # where `make train` writes; predict() reads it by default
DEFAULT_CHECKPOINT_ENV = "NEWSMODEL_CHECKPOINT"      # overrides that default

__all__ = ["load", "predict", "default_checkpoint", "NewsModel", "Prediction", "Entity", "Label"]
# imported when first used, not with the package: torch and transformers take seconds, which
# `newsmodel --help` and the readers (inference.tokenization) do without
_LAZY = {"load": "api", "predict": "api", "NewsModel": "predictor", "Prediction": "predictor",
         "Entity": "predictor", "Label": "predictor"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def default_checkpoint() -> Path:
    """$NEWSMODEL_CHECKPOINT if set (a leading ~ the home folder, as where a shell reads it), else
    ./checkpoints/news (where `make train` writes)."""
    return Path(os.environ.get(DEFAULT_CHECKPOINT_ENV) or DEFAULT_CHECKPOINT).expanduser()
