"""Read document-classification data from CSV, TSV or JSON lines (or a JSON list of records, as
pandas' to_json(orient="records") writes it), and FNC-1 style stance pairs.

Every record becomes a Document with one label task: a single label, several (a JSON list, or a
string cut at `delimiter`), and for pair tasks a second text (`Document.text_pair`).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from training.corpus import Document
from training.readers._files import finish, json_records, json_type, label_list, read_utf8, record_id

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def read_classification(path: str | Path, text_field: str = "text", label_field: str | None = "label",
                        task: str = "label", multi: bool = False, delimiter: str | None = None,
                        pair_field: str | None = None, fmt: str = "auto", skip_empty: bool = False,
                        quotes_as_text: bool = False) -> list[Document]:
    """Documents with `labels[task]` from `label_field` (no labels when it is None: text to predict on).

    `text_field` may join several fields with "+" ("title+text"): their non-empty values are
    joined by a newline, so a story with a headline but no body still has text. `skip_empty`
    leaves out records with no text at all (Reuters-21578 has some) instead of refusing the file.
    `quotes_as_text`: a CSV/TSV cell's quotes are text ('"Brexit" means Brexit'), not quoting; a
    cell then holds no separator and no line break."""
    path = Path(path)
    problems: list[str] = []
    docs = []
    text_fields = text_field.split("+")
    if not all(text_fields):
        raise ValueError(f"text_field {text_field!r}: a field name is empty (\"title+text\" joins two fields)")
    if delimiter and not multi:   # a single-label task would take "earn;acq" as one label
        raise ValueError(f"delimiter {delimiter!r} cuts the labels of a multi-label task: add --multi (multi = true)")
    fields = [f for f in (*text_fields, pair_field, label_field) if f]
    for where, record in _records(path, fmt, fields, problems, quotes_as_text):
        errors: list[str] = []
        if skip_empty and all(record[f] is None or isinstance(record[f], str) and not record[f].strip()
                              for f in text_fields):   # a list or a number is no empty text: it is reported
            continue
        if len(text_fields) == 1:
            text = _text(record, text_field, errors)
        else:
            errors.extend(f"field {f!r} must be a string, not {type(record[f]).__name__}" for f in text_fields
                          if not isinstance(record[f], (str, type(None))))   # not a list's repr as text
            text = "\n".join(record[f].strip() for f in text_fields if isinstance(record[f], str) and record[f].strip())
            if not text and not errors:
                errors.append(f"empty text in fields {text_field!r}")
        doc = Document(text, source=where, id=record_id(record))
        if pair_field:
            doc.text_pair = _text(record, pair_field, errors)
        if label_field:
            doc.labels[task] = label_list(record[label_field], label_field, multi, delimiter, errors)
        problems.extend(f"{where}: {e}" for e in errors)
        if not errors:
            docs.append(doc)
    return finish(path, docs, problems)


def read_pairs_joined(stances_path: str | Path, bodies_path: str | Path, text_field: str = "Headline",
                      id_field: str = "Body ID", body_field: str = "articleBody",
                      label_field: str | None = "Stance", task: str = "stance") -> list[Document]:
    """FNC-1: each stance row's headline is the text, the body it names (by id) is the text pair.

    Problems of both files are reported together; an id missing from the bodies file is one of them.
    """
    stances_path, bodies_path = Path(stances_path), Path(bodies_path)
    problems: list[str] = []
    fields = [f for f in (text_field, id_field, label_field) if f]
    docs = join_pairs(_records(stances_path, "auto", fields, problems, fmt_option=False),
                      _records(bodies_path, "auto", [id_field, body_field], problems, fmt_option=False),
                      bodies_path, problems, text_field, id_field, body_field, label_field, task)
    return finish(stances_path, docs, problems)


def join_pairs(stance_rows, body_rows, bodies_path, problems: list[str], text_field: str = "Headline",
               id_field: str = "Body ID", body_field: str = "articleBody", label_field: str | None = "Stance",
               task: str = "stance") -> list[Document]:
    """The documents of ("path:line", row) stance rows joined to body rows, as read_pairs_joined joins
    them (the body rows are read first); their problems go to `problems`."""
    bodies: dict[str, tuple[str, str]] = {}   # id -> (body, where it was read)
    unreadable: set[str] = set()   # ids of bodies with a problem: reported there, not as missing
    for where, row in body_rows:
        errors: list[str] = []
        key, body = _id(row, id_field, errors), _text(row, body_field, errors)
        if key in bodies:
            errors.append(f"duplicate {id_field} {key!r} (first at {bodies[key][1]})")
        problems.extend(f"{where}: {e}" for e in errors)
        if not errors:
            bodies[key] = (body, where)
        elif key is not None:
            unreadable.add(key)
    docs = []
    for where, row in stance_rows:
        errors = []
        doc = Document(_text(row, text_field, errors), source=where)
        key = _id(row, id_field, errors)
        if key in bodies:
            doc.text_pair = bodies[key][0]
        elif key is not None and key not in unreadable:
            errors.append(f"missing pair id: {id_field} {key!r} is not in {bodies_path}")
        if label_field:
            doc.labels[task] = label_list(row[label_field], label_field, False, None, errors)
        problems.extend(f"{where}: {e}" for e in errors)
        if not errors:
            docs.append(doc)
    return docs


def _records(path: Path, fmt: str, required: list[str], problems: list[str],
             quotes_as_text: bool = False, fmt_option: bool = True) -> Iterator[tuple[str, dict]]:
    """("path:line", record) for every record holding the required fields; the rest go to `problems`.
    `fmt_option`: whether the caller's reader takes the option fmt (the pairs reader does not)."""
    fmt = FORMATS.get(path.suffix.lower()) if fmt == "auto" else fmt
    if fmt in ("csv", "tsv"):   # the pairs reader takes no option quotes_as_text either
        yield from _csv_records(path, "\t" if fmt == "tsv" else ",", required, problems, quotes_as_text, fmt_option)
    elif fmt == "jsonl":
        yield from _json_records(path, required, problems)
    elif fmt is None:
        raise ValueError(f"{path}: cannot tell csv, tsv or jsonl from the extension {path.suffix!r}; rename it" + (
            ", or give the reader option fmt in a --config file (options = {fmt = \"tsv\"})" if fmt_option
            else " to end in .csv, .tsv or .jsonl (the pairs reader takes no option fmt)"))
    else:
        raise ValueError(f"{path}: fmt {fmt!r} is none of csv, tsv, jsonl")


def _csv_records(path: Path, delimiter: str, required: list[str], problems: list[str], quotes_as_text: bool,
                 quotes_option: bool = True):
    """As _records; `quotes_option`: whether the caller's reader takes quotes_as_text, which a
    stray quote's problem then names."""
    text = read_utf8(path)
    if len(text) > csv.field_size_limit():   # a long article is a field of its own, not an error
        csv.field_size_limit(len(text))
    # newline="" lets the csv module see the real line ends, so quoted multi-line fields stay whole;
    # strict: a stray quote ('"Quoted" headline', or one never closed) is a problem of its line,
    # not a field that silently swallows the rows after it or loses its quotes
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True,
                        quoting=csv.QUOTE_NONE if quotes_as_text else csv.QUOTE_MINIMAL)
    header, line = None, 1
    try:
        for row in reader:   # blank lines before the header (a hand-edited file) are no header row
            if any(cell.strip() for cell in row):
                header = row
                break
            line = reader.line_num + 1
    except csv.Error as exc:   # the header's quote never closed: no column can be told
        problems.append(_unreadable(path, line, reader.line_num, exc, quotes_option))
        return
    if header is None:
        problems.append(f"{path}:1: no header row")
        return
    missing = [f for f in required if f not in header]
    if missing:   # every row would fail the same way: one message says it all
        problems.append(f"{path}:{line}: missing column {', '.join(map(repr, missing))} "
                        f"(columns present: {', '.join(map(repr, header))})")
        return
    twice = sorted({f for f in required if header.count(f) > 1})
    if twice:   # which of the two a row's value came from would be a guess
        problems.append(f"{path}:{line}: column {', '.join(map(repr, twice))} appears more than once")
        return
    while True:
        line = reader.line_num + 1   # the physical line the next record starts on
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:   # a stray quote, a NUL byte: the reader goes on at the next line
            problems.append(_unreadable(path, line, reader.line_num, exc, quotes_option))
            continue
        if len(row) <= 1 and not "".join(row).strip():   # a blank line, or of white space alone (no separator)
            continue
        if len(row) != len(header):
            cause = f"an unquoted {delimiter!r} in a field" if len(row) > len(header) else \
                "a line cut short, or a line break in an unquoted field"
            problems.append(f"{path}:{line}: {len(row)} fields, the header has {len(header)} ({cause}?)")
            continue
        yield f"{path}:{line}", dict(zip(header, row))


def _unreadable(path: Path, line: int, last: int, exc: csv.Error, quotes_option: bool = True) -> str:
    """The problem of a record from `line` to `last` that the csv module refused; `quotes_option`:
    whether to advise --quotes-as-text (the pairs reader takes no such option)."""
    lines = f" (lines {line}-{last}: a quote opens a field there)" if last > line else ""
    reason = str(exc).replace("\t", "\\t")   # the tab it expected, visible
    hint = ("; a cell that starts with a quote is quoted whole, its own quotes doubled"
            + (", or give --quotes-as-text" if quotes_option else "")
            if "expected after" in reason or "end of data" in reason else "")
    return f"{path}:{line}: unreadable CSV ({reason}){lines}{hint}"


def _json_records(path: Path, required: list[str], problems: list[str]):
    for where, record in json_records(path, problems):   # JSON lines, or pandas' JSON list of records
        missing = [f for f in required if f not in record]
        if missing:
            problems.append(f"{where}: missing field {', '.join(map(repr, missing))} "
                            f"(fields present: {', '.join(record)})")
            continue
        yield where, record


def _text(record: dict, field: str, errors: list[str]) -> str:
    value = record[field]
    if not isinstance(value, str):
        errors.append(f"field {field!r} must be a string, not {json_type(value)}")
    elif not value.strip():
        errors.append(f"empty text in field {field!r}")
    return value


def _id(record: dict, field: str, errors: list[str]) -> str | None:
    """The id as text (a CSV gives "12" where a JSON file may give 12), or None where it names no
    row (an empty cell, a null: two such rows would be joined)."""
    value = record[field]
    key = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not key:
        errors.append(f"field {field!r} names no id: an id is a non-blank string or a whole number, not {value!r}")
        return None
    return key
