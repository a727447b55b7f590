"""The package's functions, `load` and `predict`: inference/__init__.py imports this module when
one is first used, so that importing the package (the command line's `--help`) imports no torch."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import torch

from . import DEFAULT_CHECKPOINT_ENV, default_checkpoint
from .predictor import NewsModel, Prediction
from .predictor import check_text as _check_text

_loaded: dict[Path, NewsModel] = {}
_load_lock = threading.Lock()


def load(path: str | os.PathLike, quantize: bool | None = None, runtime: str | None = None,
         device: str | torch.device | None = "auto") -> NewsModel:
    """Load a checkpoint directory (safetensors only; nothing is downloaded).
    `device`: "auto" or None (a GPU when there is one), "cpu", "cuda" or "cuda:N" (or a
    torch.device). On the CPU the checkpoint's fastest accurate runtime is taken (`model.runtime`
    says which); `runtime="onnx"` (ONNX Runtime) or `quantize=True` (int8) force one (see
    benchmarks/speed.py)."""
    return NewsModel.load(path, quantize=quantize, runtime=runtime, device=device)


def predict(text: str, pair: str | None = None) -> Prediction:
    """Predict with the default checkpoint, loaded once and kept for later calls (`pair`: as
    NewsModel.predict's, the second text of a pair task)."""
    _check_text(text, pair)   # before the checkpoint loads: a wrong argument costs no load
    path = default_checkpoint().resolve()
    with _load_lock:
        if path not in _loaded:
            if not path.exists():
                raise FileNotFoundError(
                    f"no checkpoint at {str(path)!r}. Train one with `make train` (or "
                    f"`python -m training train --train FILE --dev FILE --output {str(path)!r}`), or point "
                    f"${DEFAULT_CHECKPOINT_ENV} at an existing checkpoint directory.")
            _loaded[path] = NewsModel.load(path)
    return _loaded[path].predict(text, pair)
