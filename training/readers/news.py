"""Read the news corpus format: JSON lines of {"text", "entities": [{"start", "end", "label"}],
"<task>": label(s)} (data/README.md). Any subset of the task fields may be present; a missing
or null one contributes no loss; a field named like a task the record leaves out ("entites"),
holding a valid annotation of it (under an open schema, one with a label the task lists), is
refused as a misspelling; other fields are ignored. Every
record is validated before anything trains."""
from __future__ import annotations

import difflib
import functools
from pathlib import Path

from training.corpus import Document, Span
from training.readers._files import (finish, json_lines, json_type, record_id, sorted_spans, span_problem,
                                     text_problem)


def read_jsonl(path: str | Path, schema: dict[str, dict]) -> list[Document]:
    """Every record validated against `schema` ({task: {kind, labels}}; with "open": true, any
    label of the task is read); all problems at once."""
    path = Path(path)
    docs, problems = [], []
    for where, record in json_lines(path, problems):
        errors = []
        doc = parse_record(record, schema, errors)
        if errors:
            problems.extend(f"{where}: {e}" for e in errors)
        else:
            doc.source, doc.id = where, record_id(record)
            docs.append(doc)
    return finish(path, docs, problems)


def parse_record(record, schema: dict[str, dict], errors: list[str]) -> Document | None:
    """A validated Document, or None with the reasons appended to `errors`."""
    if not isinstance(record, dict):
        errors.append(f"a record must be a JSON object, not {json_type(record)}")
        return None
    text = record.get("text")
    if problem := text_problem(text, "field 'text'"):
        errors.append(problem)
        return None
    errors.extend(_misspelt_tasks(record, schema))
    doc = Document(text)
    for name, spec in schema.items():
        if record.get(name) is None:   # absent or null: the record does not annotate the task
            continue
        if spec["kind"] == "pair":   # a checkpoint's (--init-from, evaluate, calibrate): its head judges two texts
            errors.append(f"field {name!r}: task {name!r} is of kind pair, and a news record holds one text; "
                          "pairs are read with --format pairs, or --format classification with --pair-field")
        elif spec["kind"] == "ner":
            doc.spans[name] = _spans(name, record[name], text, _readable(spec), errors)
        else:
            doc.labels[name] = _labels(name, record[name], spec["kind"], _readable(spec), errors)
    return doc if not errors else None


def _misspelt_tasks(record: dict, schema: dict[str, dict]) -> list[str]:
    """A reason for each field named like a task the record leaves out whose value would be a
    valid annotation of that task ("entites": [...], "Topics": ["trade"]): it would silently read
    as unannotated. Other fields, "topics": ["World"] among them, are metadata and are ignored;
    under an open schema, so is one none of whose labels the task lists."""
    reasons = []
    for field, value in record.items():
        near = _near_task(field, tuple(schema))
        if near is None or value is None or record.get(near) is not None:
            continue
        spec, invalid = schema[near], []
        if spec["kind"] == "ner":
            found = [s.label for s in _spans(near, value, record["text"], _readable(spec), invalid)]
        else:
            found = _labels(near, value, spec["kind"], _readable(spec), invalid)
        if not invalid and (not found or set(found) & set(spec["labels"])):
            reasons.append(f"field {field!r} holds {near!r} annotations under another name: rename it {near!r} "
                           f"(or, if it is metadata, to a name unlike the tasks': {', '.join(schema)})")
    return reasons


def _readable(spec: dict) -> list[str] | None:
    """The labels a task's field may hold; None: any (evaluate's open schema, where a label the
    checkpoint lacks is scored as a miss)."""
    return None if spec.get("open") else spec["labels"]


RECORD_FIELDS = ("text", "id")   # a record's own fields: no task may be named so


@functools.lru_cache(maxsize=1024)   # field names repeat from record to record
def _near_task(field: str, tasks: tuple[str, ...]) -> str | None:
    """The task `field` looks like a misspelling of ("entites", "Topics"), or None."""
    if field in tasks or field in RECORD_FIELDS:
        return None
    lowered = {name.lower(): name for name in tasks}
    near = difflib.get_close_matches(field.lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[near[0]] if near else None


def _spans(name: str, value, text: str, known: list[str] | None, errors: list[str]) -> list[Span]:
    if not isinstance(value, list):
        errors.append(f"field {name!r} must be a list")
        return []
    spans = []
    for k, ent in enumerate(value):
        where = f"{name}[{k}]"
        if not isinstance(ent, dict) or not all(key in ent for key in ("start", "end", "label")):
            errors.append(f"{where}: needs 'start', 'end' and 'label'")
        elif problem := span_problem(ent["start"], ent["end"], text):
            errors.append(f"{where}: {problem}")
        elif not isinstance(ent["label"], str) or not ent["label"].strip():   # 1: unknown beside a known "1"
            errors.append(f"{where}: a label must be a non-blank string, not {ent['label']!r}")
        elif known is not None and ent["label"].strip() not in known:
            errors.append(f"{where}: unknown entity label {ent['label']!r} (known: {', '.join(known)})")
        else:
            spans.append(Span(ent["start"], ent["end"], ent["label"].strip()))
    return sorted_spans(spans, text, errors)


def _labels(name: str, value, kind: str, known: list[str] | None, errors: list[str]) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if kind != "multi" and len(values) != 1:
        errors.append(f"field {name!r}: a {kind}-label task takes exactly one label, got {value!r}")
        return []
    if kind == "multi" and not values:
        errors.append(f"field {name!r}: empty label list")
    for v in values:
        if not isinstance(v, str) or not v.strip():   # 1 would read as unknown beside a known "1"
            errors.append(f"field {name!r}: a label must be a non-blank string, not {v!r}")
        elif known is not None and v.strip() not in known:
            errors.append(f"field {name!r}: unknown label {v!r} (known: {', '.join(known)})")
    # stripped, each once, as every reader gives them
    return list(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))
