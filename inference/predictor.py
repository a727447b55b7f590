"""Load a checkpoint once, then predict entities and document labels for whole texts."""
from __future__ import annotations

import operator
import os
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .batching import padded_runs
from .calibration import calibrated_span_scores, name_key, probabilities, word_strings
from .checkpoint import load_checkpoint
from .decoding import decode_task, line_starts, shown_span
from .devices import autocast, device_setting, resolve_device
from .lexical import Lexicon
from .manifest import Manifest
from .quantization import int8_linears
from .runtimes import BUGS, RUNTIMES, choose, log, missing_onnx_modules, name_of
from .tokenization import EncodedText, encode, has_letter_or_digit, readable
from .windows import SpecialTokens, batch_inputs, cut_windows

# Padded tokens per encoder batch: on CPU, batches small enough to stay in the caches run
# faster than large ones. Full 256-token windows go 4 at a time; windows of up to 64 tokens
# still go 16 at a time (batch_size).
MAX_BATCH_TOKENS = 1024
# Documents whose lexical features are built at once: each is a dense row as wide as the
# vocabulary (100,001 floats for a pair at 50,000 terms): all of a call's at once grew with the
# call (4,306 x 100,001 floats, 1.7 GB, for the FNC-1 stand-in test's pairs, and half that again for
# their cosines).
LEXICAL_ROWS = 64


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int
    end: int
    score: float
    task: str = "entities"   # the NER task that found it: a checkpoint may have several


@dataclass(frozen=True)
class Label:
    label: str
    score: float
    chosen: bool = False   # the checkpoint's decision rule gives the document this label


@dataclass
class Prediction:
    entities: list[Entity] = field(default_factory=list)
    labels: dict[str, list[Label]] = field(default_factory=dict)  # per task, every label, best first
    text: str = field(default="", repr=False)                      # what was predicted on
    pair: str | None = field(default=None, repr=False)             # its second text, if given: the labels read it

    def chosen(self, task: str) -> list[str]:
        """The labels the checkpoint's decision rule gives the document for `task` (multi-label:
        every label at or above its threshold, else the best, or none where the task `allows_none`;
        single-label: the best). A blank text has none."""
        if task not in self.labels:
            raise KeyError(f"no document task {task!r}; the model's: {', '.join(self.labels) or 'none'}")
        return [l.label for l in self.labels[task] if l.chosen]

    def to_dict(self) -> dict:
        return {"entities": [asdict(e) for e in self.entities],
                "labels": {task: [asdict(l) for l in ls] for task, ls in self.labels.items()}}

    def to_html(self, title: str | None = "Prediction") -> str:
        """A self-contained HTML page: the text with entities highlighted, labels as bars, and the
        second text of a pair, which the labels read too (None: the default title)."""
        from .html import render
        return render([self], ["Prediction" if title is None else str(title)])


@dataclass
class Analysis:
    """Raw model output for one text: what predictions and evaluation are built from."""
    encoded: EncodedText
    word_probs: dict[str, np.ndarray]   # ner task -> (n_words, n_tags)
    doc_probs: dict[str, np.ndarray]    # document task -> (n_labels,); NaN for a text without a letter or digit
    lettered: bool                      # the text (or its pair) has a letter or digit the encoder reads


class NewsModel:
    """A loaded checkpoint. Thread-safe: many threads may call `predict` at once."""

    def __init__(self, model, tokenizer, manifest: Manifest, device: torch.device | None = None,
                 runtime: str = "torch"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.device = device or torch.device("cpu")
        self.runtime = runtime   # torch, torch-int8, onnx or onnx-int8 (see inference.runtimes)
        self.special = SpecialTokens.of(tokenizer)
        self.lexicon = Lexicon(manifest.lexicon, model.lexicon_idf.cpu().numpy()) if manifest.lexicon else None
        self.seen = {t.name: frozenset(map(name_key, t.seen_entities)) for t in manifest.tasks if t.kind == "ner"}
        self.pair_tasks = [t.name for t in manifest.tasks if t.kind == "pair"]
        self.reads_pairs = bool(self.pair_tasks)   # else a second text is warned about
        self._unpaired_said = False   # a pair task given a text without its pair: said once for the model
        self._tokenizer_lock = threading.Lock()  # the Rust tokenizer is not re-entrant

    @classmethod
    def load(cls, path: str | os.PathLike, quantize: bool | None = None, runtime: str | None = None,
             device: str | torch.device | None = "auto") -> "NewsModel":
        """`device`: `auto` takes a GPU when there is one (fp32 weights, bf16 autocast), else the
        CPU. On the CPU, with neither `runtime` nor `quantize` given, the runtime is the fastest
        whose dev figures, measured at the end of training, stayed within 0.3 points of fp32's (of
        those within 5% of the fastest, the most accurate on dev; inference.runtimes);
        `runtime="onnx"` (ONNX Runtime, exported at load; the `onnx` extra) and `quantize=True`
        (int8 linear layers, see inference.quantization) force one; so does a name of
        `model.runtime` ("torch-int8" is runtime="torch", quantize=True). A chosen ONNX runtime whose
        export fails here falls back to fp32 PyTorch with a warning; a forced one raises."""
        if not isinstance(quantize, (bool, type(None))):   # "no" would be true
            raise TypeError(f"quantize must be True, False or None, not {quantize!r}")
        if runtime not in (None, *RUNTIMES):
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)} (as model.runtime names them), "
                             f"not {runtime!r}")
        if runtime is not None and RUNTIMES[runtime]["quantize"]:   # "torch-int8": a name model.runtime gave
            if quantize is False:
                raise ValueError(f"runtime {runtime!r} is int8: quantize=False contradicts it")
            runtime, quantize = RUNTIMES[runtime]["runtime"], True
        forced = None if runtime is None and quantize is None else name_of(runtime or "torch", bool(quantize))
        if forced not in (None, "torch") and device_setting(device) not in ("auto", "cpu"):
            raise ValueError(f"runtime {forced} runs on the CPU only, not on {device!r}")
        if forced is not None and RUNTIMES[forced]["runtime"] == "onnx" and (missing := missing_onnx_modules()):
            raise ImportError(f'runtime="{forced}" needs ONNX Runtime and onnxscript: pip install "newsmodel[onnx]" '
                              f'({" and ".join(missing)} not installed)')   # before the weights load, not after
        resolved = resolve_device(device)   # a GPU that is not there: said before the weights load
        model, tokenizer, manifest = load_checkpoint(path)
        if forced is not None:
            name = forced
        elif resolved.type != "cpu":
            name = "torch"
        else:
            name, why = choose(manifest.runtimes)
            log.info("%s: runtime %s: %s", path, name, why)
        device = resolved if name == "torch" else torch.device("cpu")
        if RUNTIMES[name]["runtime"] == "onnx":
            from .onnx_runtime import OnnxForward
            try:
                model = OnnxForward(model, quantize=RUNTIMES[name]["quantize"])
            except BUGS:   # not a warning
                raise
            except Exception as exc:   # chosen, not asked for: fp32 rather than no model at all
                if forced is not None:
                    raise
                log.warning("%s: runtime %s could not be built here (%s: %s); running fp32 PyTorch (runtime='torch')",
                            path, name, type(exc).__name__, exc)
                name = "torch"
        elif RUNTIMES[name]["quantize"]:
            model = int8_linears(model)
        else:
            model = model.to(device)
        return cls(model, tokenizer, manifest, device, name)

    def predict(self, text: str, pair: str | None = None) -> Prediction:
        """Entities and labels of `text`. `pair`: the second text of a pair task (an article
        body after its headline); entities are then those of `text`."""
        check_text(text, pair)
        return self.predict_batch([text], pairs=None if pair is None else [pair])[0]

    def predict_batch(self, texts: list[str], batch_size: int = 16, pairs: list[str | None] | None = None,
                      max_tokens: int = MAX_BATCH_TOKENS) -> list[Prediction]:
        """Predictions for many texts. Their windows are sorted by length and run through the
        encoder in batches of at most `batch_size` windows and `max_tokens` tokens, padding included
        (a window wider than `max_tokens` runs alone)."""
        _check_sizes(batch_size, max_tokens)   # before a generator is read: a refusal loses no text
        texts, pairs = _checked_inputs(texts, pairs)   # a generator is read once, here
        if self.reads_pairs and not self._unpaired_said and any(
                has_letter_or_digit(t) and not (p is not None and readable(p)) for t, p in zip(texts, pairs)):
            self._unpaired_said = True   # once: a loop over articles would say it for each
            tasks = ("the pair task " if len(self.pair_tasks) == 1 else "the pair tasks ") + ", ".join(self.pair_tasks)
            warnings.warn(f"{tasks} {'reads' if len(self.pair_tasks) == 1 else 'read'} a second text (a body after "
                          "its headline): a text without one gets its labels from that text alone, which the task "
                          "never trained on; give each text its pair (pair=; newsmodel predict: --pair, --pair-file, "
                          "a --jsonl line's \"pair\")", stacklevel=_callers_level())
        analyses = self._analyse(texts, pairs, batch_size, True, max_tokens)
        ner_tasks = [task for task in self.manifest.tasks if task.kind == "ner"]
        surfaces = [word_strings(text, a.encoded.words) for text, a in zip(texts, analyses)]
        lines = [line_starts(text, a.encoded.words) for text, a in zip(texts, analyses)]
        decoded = {task.name: decode_task(task, [a.word_probs[task.name] for a in analyses], surfaces, lines=lines)
                   for task in ner_tasks}
        return [self._prediction(text, a, {name: spans[i] for name, spans in decoded.items()}, pair)
                for i, (text, pair, a) in enumerate(zip(texts, pairs, analyses))]

    def encode(self, texts: list[str], pairs: list[str | None] | None = None) -> list[EncodedText]:
        """Each text (joined to its pair, if any) as subwords, words and shapes."""
        texts, pairs = _checked_inputs(texts, pairs)
        with self._tokenizer_lock:
            return [encode(self.tokenizer, t, p, self.manifest.recase_capitals) for t, p in zip(texts, pairs)]

    def analyse(self, texts: list[str], batch_size: int = 16, calibrated: bool = True,
                pairs: list[str | None] | None = None, max_tokens: int = MAX_BATCH_TOKENS) -> list[Analysis]:
        """Encoder pass over every window of every text, windows batched by length.
        `calibrated=False` gives the probabilities before temperature scaling. A text (and pair)
        without a letter or digit gets NaN document probabilities: predict gives it no label."""
        _check_sizes(batch_size, max_tokens)
        return self._analyse(*_checked_inputs(texts, pairs), batch_size, calibrated, max_tokens)

    def _analyse(self, texts: list[str], pairs: list[str | None], batch_size: int, calibrated: bool,
                 max_tokens: int) -> list[Analysis]:
        """`analyse` of texts and pairs already checked."""
        lettered = [any(map(has_letter_or_digit, (t, p or ""))) for t, p in zip(texts, pairs)]
        if not self.reads_pairs and any(p is not None and readable(p) for p in pairs):
            warnings.warn("this checkpoint has no pair task: a second text joins the first as one reading, which "
                          "changes its document labels; entities are the first text's", stacklevel=_callers_level())
        encoded = self.encode(texts, pairs)
        windows = cut_windows(encoded, self.manifest.window_length, self.manifest.window_overlap)
        order = sorted(range(len(windows)), key=lambda i: windows[i].width)
        ner_tasks = [task for task in self.manifest.tasks if task.kind == "ner"]
        token_logits = {task.name: [np.zeros((len(e.input_ids), len(task.labels)), np.float32) for e in encoded]
                        for task in ner_tasks}
        pool_sum = [None] * len(texts)
        pool_count = [0.0] * len(texts)
        with torch.inference_mode(), autocast(self.device):
            for run in padded_runs([windows[i].width for i in order], batch_size, max_tokens):
                batch = [windows[order[i]] for i in run]
                inputs = {k: v.to(self.device) for k, v in batch_inputs(batch, encoded, self.special).items()}
                out = self.model(**inputs)
                for row, w in enumerate(batch):
                    owned = np.flatnonzero(w.owned)
                    for task in ner_tasks:
                        logits = out[task.name][row, 1:w.width - 1].float().cpu().numpy()
                        token_logits[task.name][w.text][w.positions[owned]] = logits[owned]
                    s = out["pool_sum"][row].float()
                    pool_sum[w.text] = s if pool_sum[w.text] is None else pool_sum[w.text] + s
                    pool_count[w.text] += float(out["pool_count"][row])
            doc_probs = self._document_probs(pool_sum, pool_count, calibrated, texts, pairs, lettered)
        analyses = []
        for t, enc in enumerate(encoded):
            firsts = enc.first_subwords
            word_probs = {task.name: probabilities(token_logits[task.name][t][firsts], "ner",
                                                   task.temperature if calibrated else 1.0)
                          for task in ner_tasks}
            analyses.append(Analysis(enc, word_probs, {k: v[t] for k, v in doc_probs.items()}, lettered[t]))
        return analyses

    def _document_probs(self, pool_sum, pool_count, calibrated: bool, texts, pairs, lettered) -> dict[str, np.ndarray]:
        doc_tasks = [t for t in self.manifest.tasks if t.kind != "ner"]
        # a text without a letter or digit gets no label from predict (_prediction): no scores either
        present = [i for i, s in enumerate(pool_sum) if s is not None and lettered[i]]
        result = {t.name: np.full((len(pool_sum), len(t.labels)), np.nan) for t in doc_tasks}   # float64: see EDGES
        if not doc_tasks or not present:
            return result
        pooled = torch.stack([pool_sum[i] / pool_count[i] for i in present])
        for first in range(0, len(present), LEXICAL_ROWS):
            part = present[first:first + LEXICAL_ROWS]
            lexical = None
            if self.lexicon is not None:
                chosen = [texts[i] for i in part]
                lexical = {kind: self.lexicon.features(chosen, [pairs[i] for i in part] if kind == "pair" else None
                                                       ).to(self.device) for kind in self.model.feature_kinds()}
            # batch-independent in every runtime: PyTorch int8 scales row by row, and the ONNX runtimes
            # run the document heads in fp32 PyTorch
            logits = self.model.document_logits(pooled[first:first + LEXICAL_ROWS], lexical)
            for task in doc_tasks:
                result[task.name][part] = probabilities(logits[task.name].float().cpu().numpy(), task.kind,
                                                        task.temperature if calibrated else 1.0)
        return result

    def _prediction(self, text: str, analysis: Analysis, spans: dict[str, list], pair: str | None = None) -> Prediction:
        """`spans`: the decoded entity spans of each NER task, in word indices."""
        if not analysis.encoded.input_ids or not analysis.lettered:
            # blank, or punctuation alone ("!!!...???" was given four topics): no entities, no labels
            return Prediction(labels={name: [] for name in analysis.doc_probs}, text=text, pair=pair)
        entities = []
        words = analysis.encoded.words
        for name, task_spans in spans.items():
            task = self.manifest.task(name)
            scores = calibrated_span_scores(task, [s[3] for s in task_spans], [s[1] - s[0] for s in task_spans],
                                            [s[2] for s in task_spans],
                                            [name_key(text[words[f][0]:words[l - 1][1]]) in self.seen[name]
                                             for f, l, _, _ in task_spans])
            for (first, last, label, _), score in zip(task_spans, scores):
                if words[first][0] >= len(text):   # in the second text of a pair
                    continue
                start, end = shown_span(text, words, first, last)
                entities.append(Entity(text[start:end], label, start, end, round(float(score), 6), name))
        labels = {}
        for name, probs in analysis.doc_probs.items():
            task = self.manifest.task(name)
            chosen = set(task.decide(probs))
            ranked = sorted(zip(task.labels, probs), key=lambda x: -x[1])   # as decide compares them (float32)
            labels[name] = [Label(label, _shown(p, task.threshold(label) if task.kind == "multi" else None),
                                  label in chosen) for label, p in ranked]
        entities.sort(key=lambda e: (e.start, e.end))
        return Prediction(entities, labels, text, pair)


def _shown(p, threshold: float | None) -> float:
    """`p` to 6 decimals, unless that would put it on the other side of its threshold than `p`
    is, compared as decide compares it (0.4999996 shown as 0.5 and not chosen at 0.5): then `p`
    in full."""
    rounded = round(float(p), 6)
    return float(p) if threshold is not None and (rounded >= threshold) != bool(p >= threshold) else rounded


def _callers_level() -> int:
    """The stacklevel, for a warning raised here, of the first caller outside this package
    (predict, predict_batch and analyse reach the warning at different depths)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _HERE:
        frame, level = frame.f_back, level + 1
    return level


_HERE = os.path.dirname(os.path.abspath(__file__))


def check_text(text, pair=None) -> None:
    """A TypeError naming `text` or `pair` where it is not a str (a pair may be None)."""
    if not isinstance(text, str) or not isinstance(pair, (str, type(None))):
        wrong, value = ("text", text) if not isinstance(text, str) else ("pair", pair)
        raise TypeError(f"{wrong} must be str{' or None' if wrong == 'pair' else ''}, not {type(value).__name__}"
                        + (": for many texts, call predict_batch(texts)" if wrong == "text"
                           and isinstance(text, (list, tuple)) else ""))


def _check_sizes(batch_size, max_tokens) -> None:
    """A ValueError naming `batch_size` or `max_tokens` where it is not a positive whole number."""
    for name, value in (("batch_size", batch_size), ("max_tokens", max_tokens)):
        try:
            whole = operator.index(value)   # an int or a NumPy integer; not 2.5
        except TypeError:
            whole = None
        if whole is None or isinstance(value, bool) or whole < 1:
            raise ValueError(f"{name} must be a positive whole number, not {value!r}")


def _checked_inputs(texts, pairs) -> tuple[list[str], list[str | None]]:
    """Texts and pairs as lists of one entry per text, or a TypeError / ValueError naming the
    argument and index that is wrong."""
    for name, value in (("texts", texts), ("pairs", pairs)):
        # a str would be read a character a text, a dict a key a text, a DataFrame a column name a
        # text; None or a number would fail in list() without the argument's name
        table = hasattr(type(value), "columns")   # a DataFrame class; not a Series that has a "columns" index entry
        if isinstance(value, (str, bytes, Mapping)) or table \
                or not (hasattr(value, "__iter__") or value is None and name == "pairs"):
            raise TypeError(f"{name} must be a list of str, not {type(value).__name__}"
                            + (": for one text, call predict(text, pair)" if isinstance(value, str) else "")
                            + (": give its column of texts (df[\"text\"])" if table else ""))
    texts = list(texts)
    pairs = [None] * len(texts) if pairs is None else list(pairs)
    if len(pairs) != len(texts):
        raise ValueError(f"{len(pairs)} pairs for {len(texts)} texts: give one pair (or None) per text")
    for i, (text, pair) in enumerate(zip(texts, pairs)):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be str, not {type(text).__name__}")
        if not isinstance(pair, (str, type(None))):
            raise TypeError(f"pairs[{i}] must be str or None, not {type(pair).__name__}")
    return texts, pairs
