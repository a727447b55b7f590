"""What every reader shares: strict UTF-8 decoding and checks on character-offset spans."""
from __future__ import annotations

import codecs
import json
import re
from itertools import accumulate
from pathlib import Path

from inference.tokenization import readable
from training.corpus import DataError, Document, Span


def read_utf8(path: Path) -> str:
    """The file's text; a byte-order mark (Excel writes one) is dropped, bad bytes are a DataError."""
    return decode_utf8(path.read_bytes(), str(path))


# How compressed files begin (checked only once the bytes are not UTF-8); bzip2's "BZh" is followed
# by its block size and a block's or the stream end's magic, which no text begins with
COMPRESSED = {re.compile(re.escape(magic)): tool for magic, tool in (
    (b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"PK\x03\x04", "zip"))}
COMPRESSED[re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)")] = "bzip2"


def decode_utf8(data: bytes, name: str) -> str:
    """`data` as text (a byte-order mark dropped), or a DataError at `name`:line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (len(BOM) if data.startswith(BOM) else 0)   # utf-8-sig counts from after the mark
        line = len(split_lines(data[:start].decode("utf-8", "replace")))   # as the other messages count
        raise _not_utf8(data, name, line, start, exc.reason) from None


BOM = codecs.BOM_UTF8


def _not_utf8(head: bytes, name: str, line: int, byte: int, reason: str) -> DataError:
    """The error for bytes that are not UTF-8 at `byte` (on `line`) of a file that starts with `head`."""
    packed = next((tool for magic, tool in COMPRESSED.items() if magic.match(head)), None)
    if packed:   # no text at all: re-saving it as UTF-8 is not the way
        return DataError([f"{name}: a file compressed with {packed}; decompress it first"])
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):   # Notepad's "Unicode", Windows PowerShell's >
        return DataError([f"{name}: a file in UTF-16 (its byte-order mark says so); re-save it as UTF-8 (iconv -f "
                          "UTF-16 -t UTF-8 FILE)"])
    return DataError([f"{name}:{line}: not valid UTF-8 ({reason} at byte {byte}); re-save it as UTF-8"])


def utf8_lines(stream, name: str):
    """The lines of a binary stream as they come, cut and numbered as split_lines cuts decode_utf8's
    text (the newline that ends the last line starts none), with its errors: a line is read
    without waiting for the stream's end, or holding what came before."""
    head, at, number = b"", 0, 0   # head: what COMPRESSED's magic needs; at: the byte offset of `raw`
    for raw in stream:   # cut at b"\n" alone: a lone "\r" inside ends a line too (split_lines)
        head = head if len(head) >= 16 else (head + raw)[:16]
        try:   # the whole piece, its line end too: a character cut short by one reads as decode_utf8 says it
            text = raw.decode("utf-8-sig" if at == 0 else "utf-8")
        except UnicodeDecodeError as exc:
            start = exc.start + (len(BOM) if at == 0 and raw.startswith(BOM) else 0)   # in raw's bytes
            line = number + len(split_lines(raw[:start].decode("utf-8", "replace")))
            raise _not_utf8(head, name, line, at + start, exc.reason) from None
        ended = text.endswith("\n")
        pieces = split_lines(text.removesuffix("\n").removesuffix("\r") if ended else text)
        for n, piece in enumerate(pieces, 1):
            number += 1
            if piece or ended or n < len(pieces):   # not the nothing after a lone "\r" (or a mark) ending the stream
                yield piece
        at += len(raw)


def read_lines(path: Path) -> list[str]:
    """The file's lines, numbered as an editor numbers them (\\r\\n and lone \\r end lines too)."""
    return split_lines(read_utf8(path))


def split_lines(text: str) -> list[str]:
    """Lines as an editor counts them (\\n, \\r\\n or \\r ends one): unlike str.splitlines, a
    U+2028 inside a JSON string, or a form feed in a plain-text line, does not cut it in two."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def json_line(line: str) -> str:
    """A JSON-lines line without the byte-order mark that files joined by cat keep, each at its first
    line (Notepad writes one), and which JSON refuses."""
    return line.lstrip("\ufeff")


# ValueError holds json's own errors and the limit on a number's digits; RecursionError, brackets
# nested thousands deep
JSON_ERRORS = (ValueError, RecursionError)


def invalid_json(exc: Exception) -> str:
    """What is wrong with a JSON text that one of JSON_ERRORS refused."""
    if isinstance(exc, json.JSONDecodeError):
        at = "" if exc.msg.endswith(" at") else " at"   # "Unterminated string starting at" names its column
        return f"invalid JSON ({exc.msg}{at} column {exc.colno})"
    return "invalid JSON (nested too deeply)" if isinstance(exc, RecursionError) else f"invalid JSON ({exc})"


class RepeatedKey(ValueError):
    pass


def unique_keys(pairs: list[tuple]) -> dict:
    """A JSON object (json's object_pairs_hook), or a RepeatedKey for a key it names twice: json
    would keep the last value alone, and the others would be lost unsaid."""
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise RepeatedKey(f"{key!r} is given twice in one object (JSON keeps the last alone)")
        seen.add(key)
    return dict(pairs)


BETWEEN_ITEMS = re.compile(r"[ \t\n\r]*,?[ \t\n\r]*")   # what JSON allows between a list's items


def json_list(text: str) -> tuple[object, dict[int, str]]:
    """A JSON text's value and, where it is a list, each item that gives a key twice in one of its
    objects (JSON keeps the last value alone): its index -> what unique_keys says. JSON_ERRORS as json's."""
    try:
        return json.loads(text, object_pairs_hook=unique_keys), {}
    except RepeatedKey:   # which item holds it: each is read again, on its own
        value = json.loads(text)
    if not isinstance(value, list):
        return value, {}
    strict, loose, repeated = json.JSONDecoder(object_pairs_hook=unique_keys), json.JSONDecoder(), {}
    at = BETWEEN_ITEMS.match(text, text.index("[") + 1).end()
    for n in range(len(value)):
        try:
            at = strict.raw_decode(text, at)[1]
        except RepeatedKey as exc:
            repeated[n], at = str(exc), loose.raw_decode(text, at)[1]
        at = BETWEEN_ITEMS.match(text, at).end()
    return value, repeated


def opens_a_list(path: Path) -> bool:
    """Whether a file opens a JSON list (a byte-order mark and white space before it aside); False
    where it cannot be read, which its reader then says."""
    return first_byte(path) == b"["


def first_byte(path: Path) -> bytes:
    """A file's first byte past a byte-order mark and white space; b"" where it has none, or
    cannot be read (which its reader then says)."""
    try:
        with open(path, "rb") as f:
            while chunk := f.read(4096):   # white space of any length, not the whole file read
                if rest := chunk.lstrip(BOM + b" \t\r\n"):
                    return rest[:1]
    except OSError:
        pass
    return b""


def opens_as_json(path: Path, head: int = 65536) -> bool:
    """Whether a file's start reads as JSON (a value, or one cut at `head` bytes): a JSON-lines file
    or a list under a name that does not say so, not a CoNLL file whose first token is "[" or "{"."""
    if first_byte(path) not in (b"{", b"["):
        return False
    with open(path, "rb") as f:
        data = f.read(head)
    text = data.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    try:
        value, end = json.JSONDecoder().raw_decode(text)
        return isinstance(value, (dict, list)) and not text[end:].split("\n", 1)[0].strip()   # "[1] O": a token
    except RecursionError:   # thousands of brackets: not a CoNLL token line
        return True
    except json.JSONDecodeError as exc:   # cut at `head` in a string or a value: JSON so far
        return len(data) == head and (exc.pos >= len(text) - 8 or exc.msg.startswith("Unterminated string"))


def read_json_list(path: Path) -> tuple[object, dict[int, str]]:
    """json_list of a whole file; broken JSON is one DataError naming its line (one broken byte
    spoils the whole array: nothing to go on with)."""
    text = read_utf8(path)   # outside the try: a file not UTF-8 (a DataError, a ValueError) is no JSON error
    try:
        return json_list(text)
    except JSON_ERRORS as exc:
        raise DataError([f"{path}{f':{exc.lineno}' if isinstance(exc, json.JSONDecodeError) else ''}: "
                         f"{invalid_json(exc)}"]) from None


def json_lines(path: Path, problems: list[str]):
    """("path:line", record) for every JSON-object line; broken lines go to `problems`."""
    first, text = True, read_utf8(path)
    lines = split_lines(text)
    for number, line in enumerate(lines, 1):
        if not json_line(line).strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(json_line(line), object_pairs_hook=unique_keys)
        except RepeatedKey as exc:
            problems.append(f"{where}: {exc}")
            continue
        except JSON_ERRORS as exc:
            if first and _is_one_json_document(text, line, lines[number:]):   # one problem, not one per line
                problems.append(f"{where}: one JSON document over many lines, not JSON lines (one record a line); "
                                "a Label Studio export is read with --format label-studio")
                return
            problems.append(f"{where}: {invalid_json(exc)}")
            continue
        finally:
            first = False
        if not isinstance(record, dict):
            problems.append(f"{where}: a record must be a JSON object, not {json_type(record)}")
            continue
        yield where, record


def json_records(path: Path, problems: list[str]):
    """("path:line", record) of a JSON-lines file, or ("path: record n", record) of a JSON list of
    records (a Doccano JSON export, pandas' to_json(orient="records"), all on one line), each named by
    its place in it as jq's .[n], and its "id"; broken records go to `problems`."""
    if not opens_a_list(path):   # a JSONL record is an object
        yield from json_lines(path, problems)
        return
    records, repeated = read_json_list(path)
    for n, record in enumerate(records):
        where = list_place(path, "record", n, record)
        if n in repeated or not isinstance(record, dict):
            problems.append(f"{where}: {repeated.get(n) or f'a record must be a JSON object, not {json_type(record)}'}")
        else:
            yield where, record


def list_place(path: Path, what: str, n: int, item) -> str:
    """How problems name item `n` of a JSON list: its place (0-based, as jq's .[n]) and its id."""
    return f"{path}: {what} {n}" + (f" (id {item['id']})" if isinstance(item, dict) and "id" in item else "")


def _is_one_json_document(text: str, first: str, rest: list[str]) -> bool:
    """Whether a text whose first line is no JSON is one document over many lines: it parses whole,
    or (cut short, a comma too many) its first line only opens it and the next is no JSON either."""
    following = next((line for line in rest if line.strip()), "")
    return _parses(text) or (first.strip() in ("[", "{") and not _parses(following))


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except JSON_ERRORS:
        return False
    return True


def json_type(value) -> str:
    """The type of a JSON value as a problem names it: null, not NoneType."""
    return "null" if value is None else type(value).__name__


def text_problem(text, name: str) -> str | None:
    """Why `text`, the value of the field `name`, is no text, or None: 5 or ["a", "b"] is neither
    missing nor empty."""
    if text is not None and not isinstance(text, str):
        return f"{name} must be a string, not {json_type(text)}"
    return None if text and text.strip() else f"{name} is missing or empty"


def record_id(record: dict) -> str | int | None:
    """A record's "id" where it is a non-blank string or a whole number (what names a record), else
    None (a CSV's empty cell names none)."""
    value = record.get("id")
    named = isinstance(value, str) and value.strip() or isinstance(value, int) and not isinstance(value, bool)
    return value if named else None


def whole_numbers(*values) -> bool:
    """Every value a JSON whole number (true and false are no offsets)."""
    return all(isinstance(x, int) and not isinstance(x, bool) for x in values)


def span_problem(start, end, text: str) -> str | None:
    """Why start..end cannot be an entity of `text`, or None when it can."""
    return offsets_problem(start, end, len(text)) or unreadable_problem(start, end, text)


def offsets_problem(start, end, length: int, counted: str = "characters") -> str | None:
    """Why start..end, counted in `counted`, cannot be a span of a text `length` long, or None."""
    if not whole_numbers(start, end):
        return f"start and end must be integers, got {start!r} and {end!r}"
    if start > end:
        return f"reversed span {start}..{end} (end before start)"
    if start < 0:
        return f"negative offset {start} in span {start}..{end}"
    if start == end:
        return f"empty span {start}..{end}"
    if end > length:
        return f"offset {end} is past the end of the text ({length} {counted})"
    return None


def unreadable_problem(start: int, end: int, text: str, named: str | None = None) -> str | None:
    """Why the characters start..end of `text` cannot be an entity, or None; `named`: how the
    message names the span (its offsets as the file writes them), start..end by default."""
    if not readable(text[start:end]):   # a zero-width space or an emoji is no word: the entity would vanish
        return (f"span {named or f'{start}..{end}'} covers only white space or characters the encoder does not "
                f"read ({text[start:end]!r})")
    return None


def utf16_offsets(text: str) -> dict[int, int] | None:
    """The character index of each offset of `text` counted in UTF-16 code units, as JavaScript
    counts (a browser tool's offsets: an emoji or another character beyond U+FFFF is two units),
    from 0 to the end; an offset inside such a character has none. None where both counts agree."""
    if all(ord(c) <= 0xFFFF for c in text):
        return None
    return dict(zip(accumulate((2 if ord(c) > 0xFFFF else 1 for c in text), initial=0), range(len(text) + 1)))


def grapheme_offsets(text: str) -> dict[int, int] | None:
    """The character index of each offset of `text` counted in grapheme clusters, what a reader
    sees as one character (an emoji with its skin tone, a flag, a letter and its combining accent),
    from 0 to the end. None where every cluster is one character."""
    import regex   # a fifth of a second: imported by a Doccano file's reading, not by `--help`
    clusters = regex.findall(r"\X", text)
    if len(clusters) == len(text):
        return None
    return dict(enumerate(accumulate(map(len, clusters), initial=0)))


def sorted_spans(spans: list[Span], text: str, errors: list[str]) -> list[Span]:
    """`spans` in text order; one reason per overlapping pair goes to `errors`: a BIO tagger cannot
    learn nested or crossing entities."""
    spans = sorted(spans, key=lambda s: (s.start, s.end))
    errors.extend(f"entities overlap: {a.start}..{a.end} {a.label} {text[a.start:a.end]!r} and "
                  f"{b.start}..{b.end} {b.label} {text[b.start:b.end]!r}"
                  for a, b in zip(spans, spans[1:]) if b.start < a.end)
    return spans


def finish(path: Path, docs: list[Document], problems: list[str], empty: str = "no records") -> list[Document]:
    """The documents, or every problem at once: nothing is returned from a file with any problem.
    The problems are said in line order (a file's own first), as checks that run in turn find them:
    a message shows the first DataError.SHOWN."""
    if problems:
        raise DataError(sorted(problems, key=lambda problem: _line_of(str(path), problem)))
    if not docs:
        raise DataError([f"{path}: {empty}"])
    return docs


def _line_of(path: str, problem: str) -> int:
    """The line (or row) a problem names after its path, -1 for one about the whole file."""
    number = problem[len(path) + 1:].partition(":")[0] if problem.startswith(f"{path}:") else ""
    return int(number) if number.isdigit() else -1


def label_list(value, field: str, multi: bool, delimiter: str | None, errors: list[str]) -> list[str]:
    """The labels of one record's `field`: a string (cut at `delimiter` for a multi-label task),
    a whole number or a list of them; stripped, each once (a blank one is refused, but for an empty
    piece between delimiters). Problems go to `errors`."""
    if isinstance(value, list) and not multi:
        errors.append(f"field {field!r} holds a list {value!r}; pass multi=True for a multi-label task")
        return []
    if isinstance(value, str):
        values = value.split(delimiter) if multi and delimiter else [value]
    else:
        values = value if isinstance(value, list) else [value]
    labels, before = [], len(errors)
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)   # numeric class ids (0/1 sentiment) are labels like any other
        if not isinstance(v, str):
            errors.append(f"field {field!r}: a label must be a string, not {v!r}")
        elif isinstance(value, list) and not v.strip():   # a broken list, as a blank label is in any reader
            errors.append(f"field {field!r}: a blank label in {value!r}")
        elif v.strip() and v.strip() not in labels:
            labels.append(v.strip())
    # An empty JSON list is a multi-label record no label applies to (a Reuters story with no topic).
    if not labels and len(errors) == before and not (multi and value == []):
        errors.append(f"empty label in field {field!r}")
    return labels
