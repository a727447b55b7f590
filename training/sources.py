"""Where a run's documents come from: a file, its format and the reader's options.

Formats: `news` (JSON lines of data/README.md), `conll`, `classification` (CSV / JSON lines),
`pairs` (FNC-1 style stances + bodies), `label-studio`, `doccano`. `auto` picks by extension:
.jsonl -> news, .conll/.txt/no extension -> conll, .csv/.tsv -> classification.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .corpus import Document
from .readers import read_jsonl
from .readers import read_classification, read_conll, read_doccano, read_label_studio, read_pairs_joined

READERS = {
    "conll": read_conll,
    "classification": read_classification,
    "pairs": lambda path, bodies, **kw: read_pairs_joined(path, bodies, **kw),
    "label-studio": read_label_studio,
    "doccano": read_doccano,
}
FORMATS = ("auto", "news", *READERS)


@dataclass
class Source:
    path: str
    format: str = "auto"
    options: dict = field(default_factory=dict)   # keyword arguments of the format's reader

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"{self.path}: unknown format {self.format!r} (known: {', '.join(FORMATS)})")

    @property
    def resolved_format(self) -> str:
        if self.format != "auto":
            return self.format
        suffix = Path(self.path).suffix.lower()
        if suffix in (".jsonl", ".json"):
            return "news"
        if suffix in (".csv", ".tsv"):
            return "classification"
        return "conll"

    @property
    def multi(self) -> bool:
        return bool(self.options.get("multi"))


def read_source(source: Source, schema: dict[str, dict]) -> list[Document]:
    fmt = source.resolved_format
    if fmt == "news":
        return read_jsonl(source.path, schema)
    return READERS[fmt](source.path, **source.options)


def infer_schema(sources_docs: list[tuple[Source, list[Document]]]) -> dict[str, dict]:
    """Tasks and label sets found in documents read by the non-news readers."""
    schema: dict[str, dict] = {}
    for source, docs in sources_docs:
        for doc in docs:
            for task, spans in doc.spans.items():
                _add_labels(schema.setdefault(task, {"kind": "ner", "labels": []}), [s.label for s in spans])
            for task, labels in doc.labels.items():
                kind = "pair" if doc.text_pair is not None else "multi" if source.multi else "single"
                entry = schema.setdefault(task, {"kind": kind, "labels": []})
                if entry["kind"] != kind:
                    raise ValueError(f"{doc.source}: task {task!r} is {kind} here but {entry['kind']} elsewhere")
                _add_labels(entry, labels)
    for entry in schema.values():
        entry["labels"].sort()
    return schema


def merge_schemas(first: dict[str, dict], second: dict[str, dict]) -> dict[str, dict]:
    """Tasks of both; a task in both keeps its kind and gains the second's new labels."""
    merged = {name: {"kind": spec["kind"], "labels": list(spec["labels"])} for name, spec in first.items()}
    for name, spec in second.items():
        if name not in merged:
            merged[name] = {"kind": spec["kind"], "labels": list(spec["labels"])}
        elif merged[name]["kind"] != spec["kind"]:
            raise ValueError(f"task {name!r} is {merged[name]['kind']} in one file and {spec['kind']} in another")
        else:
            _add_labels(merged[name], spec["labels"])
    return merged


def _add_labels(entry: dict, labels) -> None:
    for label in labels:
        if label not in entry["labels"]:
            entry["labels"].append(label)
