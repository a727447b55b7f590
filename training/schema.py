"""Which tasks a run trains and the labels each may take."""
from __future__ import annotations

import re
from pathlib import Path

from inference.manifest import TaskSpec, read_json
from training.readers._files import RepeatedKey, unique_keys
from training.readers.news import RECORD_FIELDS

# The bundled news corpus (data/README.md): one NER task and two document-label tasks.
NEWS_SCHEMA = {
    "entities": {"kind": "ner", "labels": ["PER", "ORG", "LOC", "MISC"]},
    "topic": {"kind": "multi", "labels": ["arms_control", "summit_diplomacy", "sanctions",
                                          "military_conflict", "trade", "other"]},
    "stance": {"kind": "single", "labels": ["supportive", "critical", "neutral"]},
}


def task_name_error(name: str) -> str | None:
    """Why `name` cannot name a task, or None."""
    if name in RECORD_FIELDS:   # that field of every news record would be read as the task's label
        return "is a field of the news records"
    if name != name.strip():   # a record's field named without it would be taken for a misspelling of it
        return "has white space around it"
    from inference.modeling import task_name_problem   # torch: imported by a check, not by `--help`
    return task_name_problem(name)


def load_schema(path: str | Path | None) -> dict[str, dict]:
    """The schema in a JSON file ({task: {"kind", "labels"}}), or the news schema."""
    if path is None:
        return NEWS_SCHEMA
    try:
        schema = read_json(path, object_pairs_hook=unique_keys)
    except OSError as exc:
        raise ValueError(f"schema {path}: {exc.strerror or exc}") from None
    except RepeatedKey as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(schema, dict) or not schema:
        raise ValueError(f"{path}: a schema is an object of task name -> {{\"kind\", \"labels\"}}, at least one task")
    for name, spec in schema.items():
        labels = spec.get("labels") if isinstance(spec, dict) else None
        if (not isinstance(spec, dict) or set(spec) != {"kind", "labels"} or not isinstance(labels, list)
                or not labels or not all(isinstance(label, str) and label.strip() for label in labels)):
            raise ValueError(f"{path}: task {name!r} needs exactly 'kind' and a non-empty 'labels' list of non-blank "
                             "strings")
        padded = [label for label in labels if label != label.strip()]
        if padded:   # the readers strip the data's labels: a padded one would match none of them
            raise ValueError(f"{path}: task {name!r} lists {', '.join(map(repr, padded))} with white space around "
                             "it: write each label without it")
        if problem := task_name_error(name):   # named here, before the data is read
            raise ValueError(f"{path}: task name {name!r} {problem}: give another")
        try:
            TaskSpec(name, spec["kind"], list(spec["labels"]))  # validates the kind
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        if spec["kind"] == "pair":   # else its head would learn from single texts what it is to judge of pairs
            raise ValueError(f"{path}: task {name!r} is of kind pair, but a news record holds one text; pairs are "
                             "read with --format pairs, or --format classification with --pair-field")
        tags = [label for label in labels if label == "O" or re.match("[BIESLU]-", label)]
        # B-PER would become the tags B-B-PER and I-B-PER; one type named so among others ("B-cell") may be one
        if spec["kind"] == "ner" and ("O" in labels or tags == labels):
            raise ValueError(f"{path}: task {name!r} lists tags ({', '.join(tags)}): an entity task lists its types "
                             "(PER, not B-PER; O is no type)")
        if len(set(labels)) < len(labels):   # a second row that never trains, yet takes probability
            twice = sorted({label for label in labels if labels.count(label) > 1})
            raise ValueError(f"{path}: task {name!r} lists {', '.join(map(repr, twice))} more than once")
    return schema


def bio_tags(entity_types: list[str]) -> list[str]:
    return ["O"] + [f"{p}-{t}" for t in entity_types for p in ("B", "I")]


def task_specs(schema: dict[str, dict]) -> list[TaskSpec]:
    return [TaskSpec(name, spec["kind"], bio_tags(spec["labels"]) if spec["kind"] == "ner" else list(spec["labels"]))
            for name, spec in schema.items()]


def schema_of(tasks: list[TaskSpec]) -> dict[str, dict]:
    """The schema a checkpoint was trained with, read back from its task specs."""
    schema = {}
    for t in tasks:
        labels = list(dict.fromkeys(l[2:] for l in t.labels if l != "O")) if t.kind == "ner" else list(t.labels)
        schema[t.name] = {"kind": t.kind, "labels": labels}
    return schema
