"""Every training option, declared once: the command line (`newsmodel train --help`) and the
TOML run config are derived from these fields and their help texts."""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field, fields

from inference import DEFAULT_CHECKPOINT

from .base_models import BASE_MODELS, DEFAULT_BASE, MODEL_TYPES, per_base
from .corpus import DataError
from .readers.hf_datasets import recorded_name


def option(default, help: str, **cli):
    """A field with the help text the command line shows; `cli` passes argparse settings
    (e.g. `flag=False` for a setting only a TOML config can give)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass
class TrainConfig:
    # Data: a path, a {"path", "format", "options"} table (see training.sources), or a list of them.
    train: str | dict | list = option(None, "training file (repeatable; default: the --config file's [[train]] "
                                            "tables)", data=True)
    output: str = option(str(DEFAULT_CHECKPOINT), "checkpoint directory")
    dev: str | dict | list | None = option(None, "dev file: metrics each epoch, best epoch kept, calibration "
                                                 "(default: the --config file's [[dev]] tables, or none, or "
                                                 "--dev-fraction of train; with none of them, the last epoch is "
                                                 "kept, uncalibrated but for heads --init-from carries over)",
                                          data=True)
    test: str | dict | list | None = option(None, "test file: scored once with the best checkpoint (default: the "
                                                  "--config file's [[test]] tables, or none)",
                                            data=True)
    dev_fraction: float = option(0.0, "without --dev (refused beside it): hold out this share of train "
                                      "(seeded; pairs by second text)")
    max_train_docs: int | None = option(None, "train on a seeded random sample of this many documents "
                                              "(default: every document)")
    base: str | None = option(None, f"base encoder: {', '.join(BASE_MODELS)}, or a local Hugging Face encoder "
                                    f"folder ({', '.join(MODEL_TYPES)}; default: {DEFAULT_BASE})")
    schema: str | None = option(None, "JSON {task: {kind, labels}} for news JSON lines (default: data/README.md's)")
    # 11: with the 227 bundled training articles `make train` must fit in 10 minutes on 2 CPU cores; 14
    # took 11 min 2 s on a slower machine of that kind and 12 up to 9 min 59 s (benchmarks/README.md,
    # "The bundled corpus: base encoder and epochs")
    epochs: int = option(11, "epochs at most; the best epoch by dev score is kept (without dev data, the last)")
    batch_size: int = option(8, "windows per optimiser step (under torchrun: per process)")
    group_by_length: bool = option(False, "batch windows of similar length together (shuffled, then sorted by length "
                                         "within groups of up to 50 batches): less padding, faster steps "
                                         "(benchmarks/README.md)")
    learning_rate: float | None = option(None, "encoder learning rate (default: the base encoder's, "
                                               f"{per_base('learning_rate')})")
    head_learning_rate: float | None = option(None, "learning rate of the heads and the shape embedding (freshly "
                                                    "initialised; default: the base encoder's, "
                                                    f"{per_base('head_learning_rate')})")
    warmup_ratio: float = option(0.1, "share of the steps with a linearly rising learning rate")
    layer_decay: float = option(1.0, "top encoder layer at the learning rate, each one below (embeddings last) "
                                     "times this")
    attention_dropout: float | None = option(None, "dropout on the attention probabilities while training; at 0 "
                                                   "MiniLM's CPU epochs took about a fifth less time, see "
                                                   "benchmarks/README.md; an encoder given by path keeps its own "
                                                   "(default: the base encoder's, "
                                                   f"{per_base('attention_dropout')})")
    label_smoothing: float = option(0.0, "label smoothing of the single-label losses and of the NER loss "
                                        "without a CRF (a CRF's takes none)")
    ema_decay: float = option(0.0, "also keep an exponential moving average of the weights, updated after every step "
                                   "with this decay; each epoch scores and saves the average instead of the "
                                   "weights (0: off)")
    weight_decay: float = option(0.01, "AdamW weight decay of the encoder's weights")
    window_length: int = option(256, "subwords per window, special tokens included")
    window_overlap: int = option(64, "subwords shared by neighbouring windows, at least (along a pair's body, at "
                                     "most half the room its first text leaves)")
    seed: int = option(13, "seed of every random choice: the same seed reproduces the run")
    init_from: str | None = option(None, "continue from this checkpoint: labels it knows keep their weights, "
                                         "new labels get new ones; the training settings are this run's, as for "
                                         "a new one (--crf and --recase-capitals default to the checkpoint's), "
                                         "but the encoder, word-shape input, lexicon and gates are the "
                                         "checkpoint's (default: a new model from --base)")
    recase_capitals: bool | None = option(None, "lines in capitals (headlines, datelines) reach the encoder with "
                                                "each word as the rest of its document writes it (inference.recasing; "
                                                "default: a continued checkpoint's own, else the base "
                                                f"encoder's, {per_base('recase_capitals')})")
    crf: bool | None = option(None, "NER heads: a linear-chain CRF over the words' tags, trained with the encoder; "
                                    "decoding adds its transition scores (default: a continued checkpoint's own, "
                                    f"else the base encoder's, {per_base('crf')})")
    shape_input: bool = option(True, "word shapes also feed the encoder (token-type embedding), not only the NER head")
    lexical_terms: int = option(0, "document heads also read TF-IDF features over this many terms, through a "
                                   "logistic regression fitted first and held fixed (0: off)")
    gate_label: str | None = option(None, "with lexical_terms: a single-label head decides this label first with a "
                                          "lexical gate, and the encoder trains on the other labels' documents only "
                                          "(FNC-1: unrelated; default: none)")
    resume: bool = option(False, "continue an interrupted run from <output>.state/")
    max_steps: int | None = option(None, "stop after this many optimiser steps (smoke runs; default: no limit)")
    select_by: str | None = option(None, "task whose dev figure picks the best epoch (default: the mean over tasks)")
    device: str = option("auto", "auto (a GPU when there is one), cpu, cuda or cuda:N")
    precision: str = option("auto", "auto (bf16 autocast on a GPU, fp32 on the CPU), fp32 or bf16 (autocast, fp32 "
                                    "weights); on a CPU with AVX512-BF16, bf16 epochs took about 0.8 of fp32's time "
                                    "(README, \"Base encoders and devices\")")
    measure_runtimes: bool = option(True, "at the end, score and time each CPU runtime on dev (the default runtime "
                                          "of load() is chosen from these figures; on --resume of a run that ended "
                                          "without them, measured then)")
    model_card: str | None = option(None, "also write the model card to this path (default: the checkpoint's "
                                          "README.md alone)")

    def __post_init__(self):
        if not _given(self.train):   # a Dataset of no rows is given: its reader says it has no records
            raise DataError(["no training data: give --train FILE or a config with [[train]] tables"])
        from inference.device_names import PRECISIONS, device_setting   # torch-free: a wrong value is said at once
        if self.device is None:   # as load() and resolve_device take it
            self.device = "auto"
        for f in fields(self):   # `epochs=None` from Python: a setting whose default is not None needs a value
            if getattr(self, f.name) is None and "None" not in f.type and f.type != "str":   # strings: below
                raise ValueError(f"{f.name}: None: give a value, or leave the setting out for its default")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        for name, (valid, meaning) in BOUNDS.items():   # unset (None) settings take their defaults later
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                      or not math.isfinite(value) or not valid(value)):
                raise ValueError(f"{name}: {value!r} is not {meaning}")
            if value is not None:   # numpy's numbers too, as Python's: random.Random and JSON take only those
                setattr(self, name, int(value) if isinstance(value, numbers.Integral) else float(value))
        if self.dev_fraction and _given(self.dev):   # it holds out part of train only where no dev data is given
            raise ValueError(f"dev_fraction: {self.dev_fraction} holds out training documents only without dev data, "
                             "and dev data is given: leave out one of the two")
        if self.window_length <= self.window_overlap + 2:
            raise ValueError(f"window_length: {self.window_length} leaves no room beyond window_overlap "
                             f"({self.window_overlap}) and the 2 special tokens")
        for f in fields(self):   # a TOML string "false" would otherwise read as on
            value = getattr(self, f.name)
            if f.type in ("bool", "bool | None") and not isinstance(value, bool) and value is not None:
                raise ValueError(f"{f.name}: {value!r} is not true or false")
            if f.type in ("str", "str | None") and not isinstance(value, (str, os.PathLike)) \
                    and (value is not None or f.type == "str") \
                    and not (f.name == "device" and type(value).__name__ == "device"):   # a torch.device too
                raise ValueError(f"{f.name}: {value!r} is not a string")   # `output = 5` in a config file
            if f.type in ("str", "str | None") and isinstance(value, os.PathLike):   # as the manifest records it
                setattr(self, f.name, os.fspath(value))
            if f.type == "str | None" and value == "":   # `--init-from "$UNSET"`: not a silent run from scratch
                raise ValueError(f"{f.name}: empty: give a value, or leave the setting out for its default")
        if self.gate_label and not self.lexical_terms and not self.init_from:   # --init-from: the checkpoint's gates
            raise ValueError(f"gate_label {self.gate_label!r}: the gate reads the lexical features; give lexical_terms "
                             "too")
        try:   # `device = "gpu"`, or cuda on a machine without one: refused before any data is read
            device_setting(self.device)   # a name of none, before torch is imported (seconds) to look for a GPU
            from inference.devices import resolve_device
            resolve_device(self.device)
        except ValueError as exc:
            raise ValueError(f"device: {exc}") from None

    def record(self) -> dict:
        """The config as the manifest keeps it (JSON): a dataset given in memory is named by
        its fingerprint."""
        return {f.name: _recorded(getattr(self, f.name)) for f in fields(self)}


# What each numeric setting may be: a wrong one is refused before any data is read, not met as a
# division by zero, a silent no-limit (max_steps 0) or an empty training split (dev_fraction 1.5).
def _whole(low: int):
    return (lambda v: isinstance(v, numbers.Integral) and v >= low), f"a whole number of at least {low}"


BOUNDS = {
    "epochs": _whole(1),
    "batch_size": _whole(1),
    "max_steps": (_whole(1)[0], "a whole number of at least 1 (leave it out for no limit)"),
    "seed": (lambda v: isinstance(v, numbers.Integral) and 0 <= v < 2**32, "a whole number in [0, 2**32)"),
    "max_train_docs": _whole(1),
    "window_length": _whole(1),
    "window_overlap": _whole(0),
    "lexical_terms": _whole(0),
    "learning_rate": (lambda v: v > 0, "a number above 0"),
    "head_learning_rate": (lambda v: v > 0, "a number above 0"),
    "weight_decay": (lambda v: v >= 0, "a number of at least 0"),
    "layer_decay": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "warmup_ratio": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "dev_fraction": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "label_smoothing": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "attention_dropout": (lambda v: 0 <= v < 1, "a probability in [0, 1)"),
}


def _given(data) -> bool:
    """Whether a split's data is given: not None, an empty path, list or table. A Dataset of no
    rows is given (its reader says it has no records), and a DataFrame has no truth value."""
    return data is not None and not (isinstance(data, (str, list, dict)) and not data)


def _recorded(value):
    if isinstance(value, list):
        return [_recorded(v) for v in value]
    if isinstance(value, dict):
        return {k: _recorded(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return recorded_name(value) if hasattr(value, "_fingerprint") else str(value)


def options() -> list:
    """The fields the command line offers as flags, in declaration order."""
    return [f for f in fields(TrainConfig) if not f.metadata.get("data")]
