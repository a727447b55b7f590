"""Read the exports of two annotation tools: Label Studio (JSON or JSON_MIN) and Doccano (JSON lines or JSON).

Both give offsets into the text (Doccano's, and those of older Label Studio versions, counted in
UTF-16 code units, Doccano's also in grapheme clusters, and turned into character offsets), so
entities become Spans; choices, taxonomy picks and document labels become `Document.labels`.
"""
from __future__ import annotations

import json
import reprlib
from pathlib import Path

from training.corpus import DataError, Document, Span
from training.readers._files import (finish, grapheme_offsets, json_records, json_type, list_place,
                                     offsets_problem, read_json_list, record_id, sorted_spans, text_problem,
                                     unreadable_problem, utf16_offsets, whole_numbers)


def read_label_studio(path: str | Path, ner_task: str | None = "entities",
                      choice_tasks: dict[str, str] | None = None, text_key: str = "text") -> list[Document]:
    """One Document per task of a Label Studio JSON export (its text: `data[text_key]`), from
    its ground-truth annotation, else its first one not cancelled; a task without one (skipped, or
    with a model's predictions alone) is left out.

    "labels" results become `spans[ner_task]` (value.labels holds the type); "choices" results
    become `labels[choice_tasks[from_name]]`, or `labels[from_name]` when choice_tasks is None, and
    so do "taxonomy" results, each path its items joined by " / " ("Politics / Elections"), as
    Label Studio shows a full path. Choice controls missing from a given choice_tasks are left out on
    purpose, as are per-region choices (a value with offsets: an attribute of a span, not a document
    label). Spans drawn on more than one text object (`to_name`: a title and a body) are refused: their offsets count
    in different texts, and the export does not say which one `data[text_key]` is. Spans of every
    Labels control (`from_name`) are read as the one entity task. Offsets that older
    versions counted in UTF-16 code units (an emoji is two) are read so where only that count gives
    the span's own `text`. An export with no
    "labels" result at all annotates no entities (a project of choices alone), rather than
    saying that its texts name none.

    A JSON_MIN export (one flat record per annotation: the task's data fields, then one field per
    control) is read the same way, from the first record of each task id (Label Studio lists the
    newest annotation first). A choices control that picked one choice holds a string there, as a
    data field (a title) does, so such fields are read as choices only where choice_tasks names
    them, and refused while it is None; a per-region choice of one region reads as the document's.
    """
    path = Path(path)
    tasks, repeated = read_json_list(path)
    if not isinstance(tasks, list):
        raise DataError([f"{path}: a Label Studio export is a JSON list of tasks, not {json_type(tasks)}"])
    # JSON_MIN: flat records (no task holds "data" or its annotations) with the fields only it writes; else
    # JSON (a list of other records, news ones, is refused there naming data.text, with the format hint)
    objects = [task for task in tasks if isinstance(task, dict)]
    if not any({"data", "annotations", "completions"} & set(task) for task in objects) \
            and any(_MIN_WRITES & set(task) for task in objects):
        return _read_json_min(path, tasks, ner_task, choice_tasks, text_key, repeated)
    docs, problems, unannotated = [], [], 0
    for n, task in enumerate(tasks):
        where = list_place(path, "task", n, task)
        if n in repeated:
            problems.append(f"{where}: {repeated[n]}")
            continue
        errors: list[str] = []
        doc = _label_studio_task(task, ner_task, choice_tasks, text_key, errors)
        problems.extend(f"{where}: {e}" for e in errors)
        if doc is not None and not errors:
            doc.source = where
            docs.append(doc)
        unannotated += doc is None and not errors
    if unannotated == len(tasks) > 0:   # "no records" would deny the tasks are there
        raise DataError([f"{path}: no task has an annotation ({len(tasks)} in the export; a task skipped, "
                         f"cancelled or with predictions alone is left out)"])
    span_objects = _span_objects(tasks)
    if ner_task and len(span_objects) > 1:
        problems.append(f"{path}: spans are drawn on {len(span_objects)} text objects ({', '.join(sorted(span_objects))}): "
                        f"this reader reads one text per task (data.{text_key}); export one object's labels alone")
    return _without_empty_task(finish(path, docs, problems), ner_task)


# What a JSON_MIN record holds besides the task's data fields and one field per control
_MIN_META = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement"}
_MIN_WRITES = {"annotator", "annotation_id", "lead_time"}   # fields no task's data or other export has
# A region's value field in JSON_MIN -> its result type in JSON
_KINDS = {"labels": "labels", "taxonomy": "taxonomy", "choices": "choices", "htmllabels": "hypertextlabels",
          "paragraphlabels": "paragraphlabels"}


def _read_json_min(path: Path, records: list, ner_task, choice_tasks, text_key: str,
                   repeated: dict[int, str]) -> list[Document]:
    """A JSON_MIN export: one flat record per annotation, the task's data fields beside one field per
    control, read as the JSON export's results are."""
    objects = [r for r in records if isinstance(r, dict)]
    # A choices control that picked one choice holds a string, as a data field (a title) does
    choices = set(choice_tasks or ()) | {key for r in objects for key, v in r.items()
                                         if isinstance(v, dict) and "choices" in v}
    unclear = sorted({key for r in objects for key, v in r.items() if isinstance(v, str)} - choices - _MIN_META
                     - {text_key})
    broken = {n: repeated.get(n) or f"a record must be a JSON object, not {json_type(record)}"
              for n, record in enumerate(records) if not isinstance(record, dict) or n in repeated}
    # Where no record holds the text's key, the key is what is wrong: each record says so
    if choice_tasks is None and unclear and any(isinstance(r.get(text_key), str) for r in objects):
        # the example names the controls known to be choices too: once choice_tasks is given, one it leaves out is not read
        known = sorted({key for r in objects for key, v in r.items() if key in choices or isinstance(v, list) and any(
            isinstance(x, dict) and "taxonomy" in x for x in v)})
        example = ", ".join(f'{key} = "{key}"' for key in [unclear[0], *known])
        raise DataError([f"{list_place(path, 'record', n, records[n])}: {why}" for n, why in broken.items()] + [
                         f"{path}: a Label Studio JSON_MIN export does not say whether its fields "
                         f"{', '.join(unclear)} hold choices or the task's data: name its choice controls, each one to "
                         f"read (reader option choice_tasks in the options table of `train --config`, e.g. "
                         f"{{{example}}}; {{}} for none), or export JSON (which evaluate and calibrate read)"])
    docs, problems, seen, unannotated = [], [], set(), 0
    for n, record in enumerate(records):
        where = list_place(path, "record", n, record)
        if n in broken:
            problems.append(f"{where}: {broken[n]}")
            continue
        if "annotation_id" in record and record["annotation_id"] is None:   # a task without an annotation
            unannotated += 1
            continue
        task = json.dumps(record.get("id"))
        if "id" in record and task in seen:   # another annotation of a task read already (the newest is first)
            continue
        seen.add(task)
        errors: list[str] = []
        text = record.get(text_key)
        if problem := text_problem(text, f"field {text_key!r}"):
            errors.append(problem + _other_texts({k: v for k, v in record.items() if k not in _MIN_META}, "the record"))
        else:
            doc = _document(text, record, _min_results(record, text_key, choices), ner_task, choice_tasks, text_key,
                            errors, val="")
        problems.extend(f"{where}: {e}" for e in errors)
        if not errors:
            doc.source = where
            docs.append(doc)
    if unannotated == len(records):
        raise DataError([f"{path}: no record has an annotation ({len(records)} in the export)"])
    return _without_empty_task(finish(path, docs, problems), ner_task)


def _without_empty_task(docs: list[Document], ner_task) -> list[Document]:
    """An export with no span at all annotates no entities (a project of choices alone)."""
    if ner_task and not any(doc.spans[ner_task] for doc in docs):
        for doc in docs:
            del doc.spans[ner_task]
    return docs


def _min_results(record: dict, text_key: str, choices: set[str]) -> list[tuple[str, dict]]:
    """A JSON_MIN record's controls as the JSON export's results, each named by its field."""
    results = []
    for key, value in record.items():
        if key in _MIN_META or key == text_key:
            continue
        if isinstance(value, str) and key in choices or isinstance(value, dict) and "choices" in value:
            results.append((key, {"type": "choices", "from_name": key,
                                  "value": {"choices": [value]} if isinstance(value, str) else value}))
        elif isinstance(value, list):   # regions; a list of strings is a data field or choices of several regions
            kinds = {_KINDS[f] for v in value if isinstance(v, dict) for f in _KINDS if f in v}
            for k, region in enumerate(value if kinds else []):
                kind = next((_KINDS[f] for f in _KINDS if isinstance(region, dict) and f in region),
                            next(iter(kinds)) if len(kinds) == 1 else None)
                results.append((f"{key}[{k}]", {"type": kind, "from_name": key, "value": region}))
    return results


def _other_texts(data: dict, holder: str) -> str:
    """Where the text is not under its key: the keys of `data` that hold one instead, as advice."""
    others = [k for k, v in data.items() if isinstance(v, str) and v.strip()]
    return f" ({holder} holds {', '.join(others)}: give the text's key, --text-key or text_key)" if others else ""


def _span_objects(tasks: list) -> set[str]:
    """The text objects (`to_name`) that the export's spans are drawn on."""
    return {item["to_name"] for task in tasks if isinstance(task, dict)
            for annotation in _annotations(task) for item in _result(annotation)
            if isinstance(item, dict) and item.get("type") == "labels" and isinstance(item.get("to_name"), str)}


def _listed(task: dict) -> tuple[str, object]:
    """The field that holds a task's annotations (exports before Label Studio 1.0 call them
    completions) and its value, a list unless the export is damaged."""
    key = "annotations" if task.get("annotations") else "completions"
    return key, task.get(key) or []


def _annotations(task: dict) -> list[dict]:
    """A task's annotations not cancelled (old exports may mark a skipped one `skipped` alone)."""
    listed = _listed(task)[1]
    return [a for a in listed if isinstance(a, dict) and not a.get("was_cancelled") and not a.get("skipped")] \
        if isinstance(listed, list) else []


def _result(annotation: dict) -> list:
    """An annotation's regions and choices: none where the export is damaged (reported by the task)."""
    result = annotation.get("result") or []
    return result if isinstance(result, list) else []


def _label_studio_task(task, ner_task, choice_tasks, text_key: str, errors: list[str]) -> Document | None:
    if not isinstance(task, dict):
        errors.append(f"a task must be a JSON object, not {json_type(task)}")
        return None
    data = task.get("data")
    if "data" in task and not isinstance(data, dict):   # else "data.text is missing", the text perhaps right there
        errors.append(f"data must be a JSON object of the task's fields, not {json_type(data)}")
        return None
    text = data.get(text_key) if isinstance(data, dict) else None
    if problem := text_problem(text, f"data.{text_key}"):
        errors.append(problem + _other_texts(data if isinstance(data, dict) else {}, "data"))
        return None
    key, listed = _listed(task)
    wrong = [a for a in listed if not isinstance(a, dict)] if isinstance(listed, list) else [listed]
    if wrong:   # else read as no annotation at all
        errors.append(f"{key} must be a list of objects, found {json_type(wrong[0])}")
        return None
    annotations = _annotations(task)
    if not annotations:   # skipped, or a model's predictions alone: no one's reading of the text to learn
        return None
    chosen = next((a for a in annotations if a.get("ground_truth")), annotations[0])
    # where the task lists several (annotators, cancelled ones), its problems say which one was read
    n = next(n for n, a in enumerate(listed) if a is chosen)
    at = f"{key}[{n}]" + (f" (id {chosen['id']})" if "id" in chosen else "") + ": " if len(listed) > 1 else ""
    if not isinstance(chosen.get("result") or [], list):   # else read as a text without entities
        errors.append(f"{at}the {key[:-1]}'s result must be a list, not {json_type(chosen['result'])}")
        return None
    found: list[str] = []
    doc = _document(text, data, [(f"result[{k}]", item) for k, item in enumerate(_result(chosen))],
                    ner_task, choice_tasks, text_key, found)
    errors.extend(at + e for e in found)
    return doc


def _document(text: str, data: dict, items: list[tuple[str, object]], ner_task, choice_tasks, text_key: str,
              errors: list[str], val: str = "value.") -> Document:
    """The Document of one annotation's results, each with its place in the export (`k`, which
    problems name); `val` is how a problem names the fields of a result's value."""
    doc, spans, units = Document(text), [], utf16_offsets(text)
    for k, item in items:   # k: where the export holds it
        if not isinstance(item, dict):   # else passed over as a result of a kind not read, its region lost
            errors.append(f"{k}: a result must be a JSON object, not {json_type(item)}")
            continue
        value, kind = item.get("value"), item.get("type")
        if kind in ("choices", "taxonomy") and isinstance(value, dict) and "start" in value:
            continue   # per-region: a span's attribute
        if not ner_task and kind in ("labels", "hypertextlabels", "paragraphlabels"):
            continue   # choices read alone: spans are not checked, nor kept
        if kind in ("labels", "choices", "taxonomy") and not isinstance(value, dict):
            errors.append(f"{k}: no 'value' object" if val else
                          f"{k}: a region must be a JSON object, not {value!r}")
        elif kind == "labels":
            start, end, labels = value.get("start"), value.get("end"), value.get("labels")
            # Counted in UTF-16 units, as older versions wrote them, where the span's own text says so
            named = None   # how a message names the span: as the file writes it, where it was counted so
            if units and whole_numbers(start, end) and start in units and end in units and "text" in value \
                    and text[start:end] != value["text"] == text[units[start]:units[end]]:
                named, start, end = f"{start}..{end} (counted in UTF-16 units)", units[start], units[end]
            reason = offsets_problem(start, end, len(text)) or unreadable_problem(start, end, text, named)
            drawn_on = item.get("to_name")
            elsewhere = (f" (it is drawn on {drawn_on!r}: if that is data.{drawn_on}, give --text-key {drawn_on})"
                         if isinstance(drawn_on, str) and drawn_on != text_key and drawn_on in data else "")
            if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x.strip() for x in labels):
                errors.append(f"{k}: {val}labels must be a non-empty list of non-blank strings, "
                              f"not {labels!r}")
            elif len({x.strip() for x in labels}) > 1:
                errors.append(f"{k}: a span of several types {labels}: an entity has one")
            elif reason:
                errors.append(f"{k}: {reason}{elsewhere}")
            elif "text" in value and value["text"] != text[start:end]:
                # Offsets counted another way (text edited after labelling) land here.
                errors.append(f"{k}: span {start}..{end} reads {text[start:end]!r} "
                              f"but the annotation says {value['text']!r}{elsewhere}")
            else:
                spans.append(Span(start, end, labels[0].strip()))
        elif kind in ("choices", "taxonomy"):
            name = item.get("from_name")
            if not (isinstance(name, str) and name.strip()):   # what names the task its choices label
                errors.append(f"{k}: from_name must name a control (a non-blank string), not {name!r}")
                continue
            target = name if choice_tasks is None else choice_tasks.get(name)
            choices = value.get(kind)
            if target is None:
                continue
            if kind == "taxonomy":   # each pick a path from the root: read whole, as Label Studio shows it
                if not (isinstance(choices, list) and choices and all(isinstance(p, list) and p and all(
                        isinstance(c, str) and c.strip() for c in p) for p in choices)):
                    errors.append(f"{k}: {val}taxonomy must be a non-empty list of paths (non-empty lists of "
                                  f"non-blank strings), not {choices!r}")
                    continue
                choices = [" / ".join(c.strip() for c in p) for p in choices]
            if not (isinstance(choices, list) and choices and all(isinstance(c, str) and c.strip() for c in choices)):
                errors.append(f"{k}: {val}choices must be a non-empty list of non-blank strings, "
                              f"not {choices!r}")
            else:
                doc.labels[target] = list(dict.fromkeys(doc.labels.get(target, []) + [c.strip() for c in choices]))
        elif kind in ("hypertextlabels", "paragraphlabels"):
            errors.append(f"{k}: {kind} spans index HTML or dialogue paragraphs, not data.text, "
                          "so they cannot be read; label the text with Labels")
        # Other result types (relations, text areas, ratings) carry nothing these tasks learn from.
    if ner_task:   # a region drawn twice alike (two Labels controls, a copied region) is one entity, not an overlap
        doc.spans[ner_task] = sorted_spans(list(dict.fromkeys(spans)), text, errors)
    return doc


def read_doccano(path: str | Path, ner_task: str | None = "entities",
                 label_task: str | None = "label") -> list[Document]:
    """One Document per line of a Doccano JSONL export, or per record of its JSON export (one
    JSON list of the same records, which Doccano offers for text classification).

    Accepts {"text", "label": [[start, end, "TYPE"], ...]} (sequence labelling) and
    {"text", "entities": [{"start_offset", "end_offset", "label"}], "cats" or "label": [names]};
    "labels" for "label", as Doccano up to 1.2 wrote it.
    Offsets count UTF-16 code units, as Doccano's browser editor does (an emoji is two), and are
    turned into character offsets, unless a record's spans fall on word edges more often read as
    characters (a file a script wrote) or as grapheme clusters (a project that counts an emoji with
    its skin tone, a flag or a letter and its combining accent as one character). A span whose
    offsets so read would cut such a cluster in two is refused.
    """
    path = Path(path)
    problems = []
    records = list(json_records(path, problems))
    # "label" holds span triples in a sequence-labelling export and class names otherwise. Decided
    # once per file, so an empty list means "no entities" in the one and "no labels" in the other.
    label_is_spans = any(isinstance(x, list) for _, r in records
                         if isinstance(r.get(doccano_label_key(r)), list) for x in r[doccano_label_key(r)])
    docs = []
    for where, record in records:
        errors: list[str] = []
        doc = _doccano_record(record, ner_task, label_task, label_is_spans, errors)
        problems.extend(f"{where}: {e}" for e in errors)
        if not errors:
            doc.source, doc.id = where, record_id(record)
            docs.append(doc)
    return finish(path, docs, problems)


def doccano_label_key(record: dict) -> str | None:
    """The field of a Doccano record that holds span triples or class names: "label", or "labels" as
    Doccano up to 1.2 spelt it (training.sources reads it so too, to tell a Doccano file)."""
    return "label" if "label" in record else "labels" if "labels" in record else None


def _doccano_record(record: dict, ner_task, label_task, label_is_spans: bool, errors: list[str]) -> Document | None:
    text = record.get("text", record.get("data"))   # doccano before 1.0 called the text "data"
    if problem := text_problem(text, "field 'text'"):
        errors.append(problem)
        return None
    doc, units = Document(text), utf16_offsets(text)
    named = doccano_label_key(record)
    listed = record.get("annotations") if isinstance(record.get("annotations"), list) else []
    given = [a.get("label") for a in listed if isinstance(a, dict) and a.get("label") is not None]
    if not named and not {"entities", "cats"} & set(record) and given:
        # Doccano 1.0's shape: else read as a text without labels or entities, its annotations lost unsaid. Names
        # there are not read either: the list holds every annotator's ("user"), which would read as one's.
        shown = ", ".join(dict.fromkeys(json.dumps(x) for x in given))
        errors.append(f"field 'annotations' holds label ids ({shown}) without their names, as Doccano 1.0 exported "
                      "them: export the project from a later Doccano, which writes names in \"label\", or give each "
                      "record a \"label\" field of names" if all(type(x) is int for x in given) else
                      f"field 'annotations' holds labels ({shown}) in Doccano 1.0's shape, one list of every "
                      "annotator's, which this reader does not read: give each record a \"label\" field of names, or "
                      "of [start, end, type] triples for spans, as later Doccano exports write")
        return None
    span_key = "entities" if "entities" in record else named if label_is_spans else None
    label_key = "cats" if "cats" in record else named if span_key != named else None
    if ner_task and span_key:
        spans = []
        if not isinstance(record[span_key], list):
            errors.append(f"field {span_key!r} must be a list of spans, not {reprlib.repr(record[span_key])}")
        items = [tuple(item) if isinstance(item, list) and len(item) == 3
                 else (item["start_offset"], item["end_offset"], item["label"])
                 if isinstance(item, dict) and {"start_offset", "end_offset", "label"} <= set(item) else item
                 for item in (record[span_key] if isinstance(record[span_key], list) else [])]
        spans_read = [item for item in items if isinstance(item, tuple)]
        # Offsets counted in UTF-16 units (Doccano's editor), characters (a script's file) or grapheme clusters
        # (a project set so): the count that puts the most spans on word edges; UTF-16's on a tie
        clusters = grapheme_offsets(text)
        counts = [(name, positions) for name, positions in (("UTF-16 units", units), ("characters", None),
                                                            ("grapheme clusters", clusters))
                  if positions or name == "characters"]
        edges = set(clusters.values()) if clusters else None   # where one cluster ends and the next begins
        counted, positions = max(counts, key=lambda count: _on_word_edges(text, spans_read, count[1], edges))
        last = next(reversed(positions)) if positions else len(text)
        for k, item in enumerate(items):
            if not isinstance(item, tuple):
                errors.append(f"{span_key}[{k}]: expected [start, end, label] or "
                              f"{{start_offset, end_offset, label}}, got {item!r}")
                continue
            start, end, label = item
            # Judged as the file counts: each count only grows with the others, so order and sign agree
            reason = offsets_problem(start, end, last, counted)
            if not reason:
                inside = next((x for x in (start, end) if 0 < x < last and positions and x not in positions), None)
                if inside is not None:
                    errors.append(f"{span_key}[{k}]: offset {inside} falls inside {text[units[inside - 1]]!r} "
                                  "counted in UTF-16 units, as Doccano counts (an emoji is two): are these offsets "
                                  "counted otherwise?")
                    continue
                if positions:
                    start, end = positions[start], positions[end]
                cut = next((x for x in (start, end) if edges and 0 < x < len(text) and x not in edges), None)
                if cut is not None:   # a reader sees one character there: the span would begin or end inside it
                    cluster = text[max(e for e in edges if e < cut):min(e for e in edges if e > cut)]
                    errors.append(f"{span_key}[{k}]: span {item[0]}..{item[1]} counted in {counted} cuts "
                                  f"{cluster!r} in two: are these offsets counted otherwise?")
                    continue
                reason = unreadable_problem(start, end, text,
                                            f"{item[0]}..{item[1]} (counted in {counted})" if positions else None)
            reason = reason or (None if isinstance(label, str) and label.strip()
                                else f"label must be a non-blank string, not {label!r}")
            if reason:
                errors.append(f"{span_key}[{k}]: {reason}")
            else:
                spans.append(Span(start, end, label.strip()))
        # a span given twice alike (as Doccano 1.x exported an imported span labelled again) is one entity
        doc.spans[ner_task] = sorted_spans(list(dict.fromkeys(spans)), text, errors)
    if label_task and label_key:
        value = record[label_key]
        labels = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v.strip() for v in labels):
            errors.append(f"field {label_key!r}: labels must be non-empty strings, got {value!r}")
        elif labels:   # an unlabelled example (label: []) trains no class
            doc.labels[label_task] = list(dict.fromkeys(v.strip() for v in labels))
    return doc


def _on_word_edges(text: str, items: list[tuple], positions: dict[int, int] | None, edges: set[int] | None) -> int:
    """How many spans (start, end, label) begin and end on a word's edge when their offsets
    are read through `positions` (offset -> character index; None: offsets are characters), and
    not inside a grapheme cluster (`edges`: where clusters begin, None: at every character)."""
    def edge(offset, before: bool) -> bool:
        if not whole_numbers(offset):
            return False
        i = positions.get(offset) if positions is not None else offset if 0 <= offset <= len(text) else None
        return i is not None and (edges is None or i in edges) and \
            (not text[i - 1:i].isalnum() if before else not text[i:i + 1].isalnum())
    return sum(edge(start, True) and edge(end, False) for start, end, _ in items)
