"""The checkpoint manifest: what each head predicts and how the checkpoint was made."""
from __future__ import annotations

import codecs
import json
import math
import types
import typing
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

FORMAT_VERSION = 1
# Wider than any fitted temperature (inference.calibration searches 0.2 to 8): a value outside
# them is a hand edit gone wrong (1e-300 made every score NaN).
TEMPERATURE_LIMITS = (1e-3, 1e3)
KINDS = ("ner", "single", "multi", "pair")


def read_json(path: str | Path, **options):
    """A JSON file's value (`options` go to json.loads), or a ValueError naming the file and where
    its text is wrong."""
    data = Path(path).read_bytes()
    try:
        return json.loads(data.decode("utf-8-sig"), **options)   # a byte-order mark, as data files may have
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:   # thousands of brackets deep: a damaged file, not a traceback
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
    except UnicodeDecodeError as exc:   # utf-8-sig counts from after the mark
        byte = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {byte})") from None


@dataclass
class TaskSpec:
    name: str
    kind: str                    # ner (BIO tags), single (softmax), multi (sigmoid), pair (softmax over a text pair)
    labels: list[str]            # in head-row order; BIO tags for ner
    temperature: float = 1.0     # divides the logits before softmax/sigmoid (fitted on dev)
    thresholds: dict[str, float] = field(default_factory=dict)  # multi: per-label decision threshold
    viterbi: bool = True         # ner: the best valid BIO sequence (False: each word's best tag)
    crf: bool = False            # ner: trained as a linear-chain CRF over the words' tags
    transitions: list[list[float]] = field(default_factory=list)   # ner, crf: its scores[previous][current]
    one_type_per_name: bool = True   # ner: the mentions of a name in one document share a type
    lexical: bool = False        # document heads: also read the document's lexical features
    gate: str | None = None      # single/pair: this label is decided first, by a lexical gate
    span_calibrator: dict = field(default_factory=dict)   # ner: entity-score calibrator fitted on dev
    seen_entities: list[str] = field(default_factory=list)   # ner: entity strings of the training data
    # multi: a training document had none of its labels, so a document may get none (False in a manifest
    # written before: the best label where none reaches its threshold, as then)
    allows_none: bool = False

    @property
    def entity_types(self) -> list[str]:
        """ner: the types of the BIO tags, in order."""
        return list(dict.fromkeys(label[2:] for label in self.labels if label != "O"))

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"task {self.name!r}: unknown kind {self.kind!r} (expected one of {', '.join(KINDS)})")

    def threshold(self, label: str) -> float:
        return self.thresholds.get(label, 0.5)

    def decide(self, probs) -> list[str]:
        """The labels a document gets: the best one for single-label tasks; for multi-label
        tasks every label at or above its threshold, and when none is, the best one, or none where
        the task `allows_none`; none where the scores are NaN (a text with nothing to read: see
        NewsModel.analyse)."""
        if not all(map(math.isfinite, probs)):
            return []
        best = max(range(len(self.labels)), key=lambda i: probs[i])
        if self.kind != "multi":
            return [self.labels[best]]
        chosen = [l for l, p in zip(self.labels, probs) if p >= self.threshold(l)]
        return chosen or ([] if self.allows_none else [self.labels[best]])


@dataclass
class Manifest:
    tasks: list[TaskSpec]
    base_model: str
    window_length: int = 256     # tokens per window, special tokens included
    window_overlap: int = 64     # tokens shared by neighbouring windows
    shape_input: bool = False    # word shapes also feed the encoder (as token types), not only the NER head
    recase_capitals: bool = False   # lines in capitals reach the encoder recased (inference.recasing)
    metrics: dict = field(default_factory=dict)    # dev (and test) figures of the run
    runtimes: dict = field(default_factory=dict)   # CPU runtime -> dev figures and words/s (inference.runtimes)
    lexicon: list[str] = field(default_factory=list)   # vocabulary of the lexical features (idf: heads.safetensors)
    # sha256 of the lexicon as training wrote it (inference.lexical.vocabulary_sha256); "" in a manifest written before
    lexicon_sha256: str = ""
    training: dict = field(default_factory=dict)   # resolved config, data hashes, epochs
    format_version: int = FORMAT_VERSION

    def task(self, name: str) -> TaskSpec:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(f"no task {name!r} in this checkpoint (tasks: {', '.join(t.name for t in self.tasks)})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        data = read_json(path)
        if not isinstance(data, dict) or "format_version" not in data:
            raise ValueError(f"{path}: not a checkpoint manifest (no format_version)")
        version = data["format_version"]
        if version != FORMAT_VERSION:
            newer = isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION
            raise ValueError(f"{path}: unsupported checkpoint format_version {version!r} (this version of newsmodel "
                             f"reads {FORMAT_VERSION}" + ("; a newer version wrote it: update newsmodel to load it)"
                                                          if newer else ")"))
        try:
            data["tasks"] = [TaskSpec(**t) for t in data["tasks"]]
            manifest = cls(**data)
        except (KeyError, TypeError, ValueError) as exc:   # a field missing or unknown, a task's kind
            raise ValueError(f"{path}: not a manifest this version reads: {type(exc).__name__} {exc}") from None
        wrong = _wrong_types(manifest, "") + [p for t in manifest.tasks for p in _wrong_types(t, f"task {t.name!r}: ")]
        wrong += [f"task {t.name!r}: temperature must be a number from {TEMPERATURE_LIMITS[0]:g} to "
                  f"{TEMPERATURE_LIMITS[1]:g}" for t in manifest.tasks
                  if isinstance(t.temperature, (int, float)) and not _within(t.temperature, *TEMPERATURE_LIMITS)]
        wrong += [f"task {t.name!r}: thresholds must lie from 0 to 1, not {label}: {value}" for t in manifest.tasks
                  if _conforms(t.thresholds, dict[str, float])
                  for label, value in t.thresholds.items() if not _within(value, 0, 1)]
        wrong += [f"task {t.name!r}: thresholds of labels it does not have: {', '.join(unknown)}"
                  for t in manifest.tasks if (unknown := _unknown_threshold_labels(t))]
        # a gate is found by its label's row: one the task lacks failed at the first predict
        wrong += [f"task {t.name!r}: gate must be one of its labels, not {t.gate!r}" for t in manifest.tasks
                  if isinstance(t.gate, str) and _conforms(t.labels, list[str]) and t.gate not in t.labels]
        wrong += [f"task {t.name!r}: allows_none is for multi-label tasks, not {t.kind}" for t in manifest.tasks
                  if t.allows_none is True and t.kind != "multi"]   # decide would ignore it
        wrong += [f"task {t.name!r}: span_calibrator must be empty or an object of types (list of str), coef (a "
                  f"number per type and 3 more) and intercept (number), not {json.dumps(t.span_calibrator)[:40]}"
                  for t in manifest.tasks if isinstance(t.span_calibrator, dict) and not _span_calibrator(t)]
        wrong += [f"task {t.name!r}: {problem}" for t in manifest.tasks if (problem := _tags_problem(t))]
        wrong += [f"task {t.name!r}: {name} holds NaN or infinity" for t in manifest.tasks for name in _not_finite(t)]
        # one head per name: a second would read the first's weights; a label twice, two rows (tags: above)
        names = Counter(t.name for t in manifest.tasks if isinstance(t.name, str))
        wrong += [f"task {name!r} is listed {n} times" for name, n in names.items() if n > 1]
        wrong += [f"task {t.name!r}: labels listed twice: {', '.join(twice)}" for t in manifest.tasks
                  if t.kind != "ner" and _conforms(t.labels, list[str]) and (twice := _repeated(t.labels))]
        runtimes = manifest.runtimes if isinstance(manifest.runtimes, dict) else {}
        wrong += [f"runtimes: {name!r} must have dev (an object of number) and words_per_second (a number above 0), "
                  f"not {json.dumps(figures)[:60]}" for name, figures in runtimes.items() if not _measured(figures)]
        if wrong:   # a hand edit gone wrong: named here, not met as a crash in the middle of predict
            raise ValueError(f"{path}: " + "; ".join(wrong))
        return manifest


def _repeated(items: list[str]) -> list[str]:
    return sorted(item for item, n in Counter(items).items() if n > 1)


def _within(value: float, low: float, high: float) -> bool:
    return low <= value <= high   # False for NaN too


def _unknown_threshold_labels(task: TaskSpec) -> list[str]:
    """The labels a threshold is set for that the task does not have (a typo leaves the label at 0.5)."""
    if not (_conforms(task.labels, list[str]) and _conforms(task.thresholds, dict[str, float])):
        return []   # named by the type checks
    return sorted(set(task.thresholds) - set(task.labels))


def _tags_problem(task: TaskSpec) -> str | None:
    """Why decoding cannot read an entity task's tags, transition scores or span calibrator (a hand
    edit), or None."""
    if not (_conforms(task.labels, list[str]) and _conforms(task.transitions, list[list[float]])):
        return None   # named by the type checks
    n = len(task.labels)
    if task.transitions and (len(task.transitions) != n or any(len(row) != n for row in task.transitions)):
        return f"transitions must be empty or {n} rows of {n} numbers, a row and a column per label"
    tags = ["O"] + [f"{p}-{t}" for t in task.entity_types for p in "BI"]
    if task.kind == "ner" and sorted(task.labels) != sorted(tags):
        return f"labels must be O and a B- and an I- tag per entity type, once each, not {json.dumps(task.labels)[:60]}"
    types = task.span_calibrator.get("types") if isinstance(task.span_calibrator, dict) else None
    # a type it lacks would read every span as of no type; fewer types are a checkpoint widened since
    if _conforms(types, list[str]) and (unknown := [t for t in types if t not in task.entity_types]):
        return (f"span_calibrator types must be among its entity types ({', '.join(task.entity_types)}), "
                f"not {', '.join(unknown)}")
    return None


def _not_finite(task: TaskSpec) -> list[str]:
    """The fields decoding computes with that hold NaN or infinity: NaN transitions lost every
    entity, a NaN coefficient scored each NaN (the weights' own are checked at load)."""
    c = task.span_calibrator
    numbers = {"transitions": [v for row in task.transitions for v in row]
               if _conforms(task.transitions, list[list[float]]) else [],
               "span_calibrator": [*c["coef"], c["intercept"]] if isinstance(c, dict) and c and _span_calibrator(task)
               else []}
    return [name for name, values in numbers.items() if not all(map(math.isfinite, values))]


def _measured(figures) -> bool:
    """A runtime's figures as load() chooses from them (inference.runtimes.choose)."""
    return (isinstance(figures, dict) and _conforms(figures.get("dev"), dict[str, float])
            and _conforms(figures.get("words_per_second"), float) and 0 < figures["words_per_second"] < math.inf)


def _span_calibrator(task: TaskSpec) -> bool:
    """Whether the task's span calibrator is none, or one as inference.calibration fits and reads it."""
    c = task.span_calibrator
    return not c or (_conforms(c.get("types"), list[str]) and _conforms(c.get("coef"), list[float])
                     and len(c["coef"]) == 3 + len(c["types"]) and _conforms(c.get("intercept"), float))


def _wrong_types(record, prefix: str) -> list[str]:
    """A line per field of the dataclass `record` whose value is not of its annotated type, down
    to the items of its lists and dicts (a threshold of "0.5" is a string, not a number)."""
    hints = typing.get_type_hints(type(record))
    return [f"{prefix}{f.name} must be {_describe(hints[f.name])}, not {json.dumps(getattr(record, f.name))[:40]}"
            for f in fields(record) if not _conforms(getattr(record, f.name), hints[f.name])]


def _conforms(value, hint) -> bool:
    origin, args = typing.get_origin(hint) or hint, typing.get_args(hint)
    if isinstance(hint, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(value, bool) and hint is not bool:
        return False
    if not isinstance(value, origin):
        return False
    if origin is list and args:
        return all(_conforms(v, args[0]) for v in value)
    if origin is dict and args:
        return all(_conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items())
    return True


def _describe(hint) -> str:
    """A type as the JSON it stands for: "list of str", "object of number", "str or null"."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if hint is type(None):
        return "null"
    if hint is float:
        return "number"
    if typing.get_origin(hint) is list:
        return f"list of {_describe(args[0])}"
    if typing.get_origin(hint) is dict:
        return f"object of {_describe(args[1])}"
    return getattr(hint, "__name__", str(hint))
