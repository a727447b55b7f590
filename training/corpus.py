"""Read annotated news in JSON lines and validate every record before anything trains.

One record a line: {"text": ..., "entities": [{"start", "end", "label"}], "<task>": label(s)}.
Any subset of the task fields may be present; a missing task contributes no loss.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


@dataclass
class Document:
    text: str
    spans: dict[str, list[Span]] = field(default_factory=dict)   # ner task -> entity spans
    labels: dict[str, list[str]] = field(default_factory=dict)  # document task -> label(s)
    source: str = ""                                             # "file:line", for messages
    text_pair: str | None = None     # second text of a pair task (e.g. article body after a headline)
    tokens: list[tuple[int, int]] | None = None  # character span of each gold token (column files)


class DataError(ValueError):
    """Every problem found in the input, one `file:line: reason` a line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} bad record(s):\n" + "\n".join(problems))


def read_jsonl(path: str | Path, schema: dict[str, dict]) -> list[Document]:
    path = Path(path)
    docs, problems = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError([f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})"]) from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        errors = []
        doc = parse_record(record, schema, errors)
        if errors:
            problems.extend(f"{where}: {e}" for e in errors)
        else:
            doc.source = where
            docs.append(doc)
    if problems:
        raise DataError(problems)
    if not docs:
        raise DataError([f"{path}: no records"])
    return docs


def parse_record(record, schema: dict[str, dict], errors: list[str]) -> Document | None:
    """A validated Document, or None with the reasons appended to `errors`."""
    if not isinstance(record, dict):
        errors.append(f"a record must be a JSON object, not {type(record).__name__}")
        return None
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        errors.append("field 'text' is missing or empty")
        return None
    doc = Document(text)
    for name, spec in schema.items():
        if spec["kind"] == "ner":
            if name in record:
                doc.spans[name] = _spans(name, record[name], text, spec["labels"], errors)
        elif name in record and record[name] is not None:
            doc.labels[name] = _labels(name, record[name], spec, errors)
    return doc if not errors else None


def _spans(name: str, value, text: str, known: list[str], errors: list[str]) -> list[Span]:
    if not isinstance(value, list):
        errors.append(f"field {name!r} must be a list")
        return []
    spans = []
    for k, ent in enumerate(value):
        where = f"{name}[{k}]"
        if not isinstance(ent, dict) or not all(key in ent for key in ("start", "end", "label")):
            errors.append(f"{where}: needs 'start', 'end' and 'label'")
            continue
        start, end, label = ent["start"], ent["end"], ent["label"]
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
            errors.append(f"{where}: 'start' and 'end' must be integers")
        elif not 0 <= start < end:
            errors.append(f"{where}: empty or reversed span {start}..{end}")
        elif end > len(text):
            errors.append(f"{where}: offset {end} is past the end of the text ({len(text)} characters)")
        elif not text[start:end].strip():
            errors.append(f"{where}: span {start}..{end} covers only white space")
        elif label not in known:
            errors.append(f"{where}: unknown entity label {label!r} (known: {', '.join(known)})")
        else:
            spans.append(Span(start, end, label))
    spans.sort(key=lambda s: (s.start, s.end))
    for a, b in zip(spans, spans[1:]):
        if b.start < a.end:
            errors.append(f"entities overlap: {a.start}..{a.end} {a.label} {text[a.start:a.end]!r} and "
                          f"{b.start}..{b.end} {b.label} {text[b.start:b.end]!r}")
    return spans


def _labels(name: str, value, spec: dict, errors: list[str]) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if spec["kind"] != "multi" and len(values) != 1:
        errors.append(f"field {name!r}: a {spec['kind']}-label task takes exactly one label, got {value!r}")
        return []
    if spec["kind"] == "multi" and not values:
        errors.append(f"field {name!r}: empty label list")
    for v in values:
        if v not in spec["labels"]:
            errors.append(f"field {name!r}: unknown label {v!r} (known: {', '.join(spec['labels'])})")
    return list(values)
