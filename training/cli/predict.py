"""`newsmodel predict`: entities and labels of a text, a file or stdin, as JSON lines."""
from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import re
import sys

from .checkpoints import (add_checkpoint_argument, add_runtime_arguments, check_device, checkpoint_path,
                          open_checkpoint)
from .reading import check_files


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict entities and labels; writes JSON lines")
    p.add_argument("text", nargs="?", help="text to read (default: a file given by --file, or stdin; - for stdin)")
    p.add_argument("--file", action="append",
                   help="read the text from this UTF-8 file (a byte-order mark is dropped: offsets count from the "
                        "character after it; - for stdin); given more than once, one document per file, in order")
    p.add_argument("--jsonl", action="store_true",
                   help='one document per input line, one output line for each (a blank line gives an empty '
                        'prediction): plain text, or a JSON object with "text" (and "id", echoed; "pair": the second '
                        'text of a pair task; other keys are ignored, but one of these misspelt, "pairs" or "Pair", '
                        'is refused), which a line opening with "{" must be; read, predicted and written --batch-size '
                        'lines at a time: a bad line stops the command with its file and line, the lines of the '
                        'batches before its own written')
    p.add_argument("--pair", help="the second text of a pair task (an article body after its headline)")
    p.add_argument("--pair-file", help="read the second text from this file (- for stdin)")
    add_checkpoint_argument(p)
    p.add_argument("--batch-size", type=positive_whole_number, default=16,
                   help="windows per encoder batch, at most, and documents (--jsonl lines, --file files) read and "
                        "written at a time (default: 16)")
    add_runtime_arguments(p)
    p.add_argument("--html", help="also write the predictions as one self-contained HTML page to this file, once "
                                  "the whole input is predicted")


def positive_whole_number(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


def run(args) -> int:
    from pathlib import Path
    # The arguments and the first batch of input are checked before the checkpoint loads, so a
    # wrong path or bad bytes fail at once; the arguments before torch is imported (by the device's
    # check), which takes seconds.
    checkpoint = checkpoint_path(args.checkpoint)
    if args.text == "-" and not args.file:   # stdin's usual name (`cat article.txt | newsmodel predict -`), not a text
        args.text = None
    if args.html is not None:
        folder = Path(args.html).parent
        if not args.html or Path(args.html).is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK) \
                or os.path.exists(args.html) and not os.access(args.html, os.W_OK):   # an earlier page, read-only
            raise ValueError(f"--html {args.html!r}: give a file in an existing folder you can write to")
        if _an_input(args):
            raise ValueError(f"--html {args.html!r}: that is an input of this command; give another file")
        if stream := _redirected_to(args.html):   # `> page.html`, `2> page.html`: the page would be written over them
            written = {"stdout": "the JSON lines", "stderr": "warnings and errors"}[stream]
            raise ValueError(f"--html {args.html!r}: that is where {stream} is redirected, which {written} are written "
                             "to; give another file")
        from inference.folders import checkpoint_holding
        if held_by := checkpoint_holding(args.html):   # this checkpoint or another: their folders stay as saved
            raise ValueError(f"--html {args.html!r}: that is inside the checkpoint {held_by}, which predict leaves as "
                             f"it is; give a file elsewhere")
    if args.text is not None and args.file:
        several = " (for several files, repeat --file: --file a.txt --file b.txt)" if os.path.isfile(args.text) else ""
        raise ValueError(f"give the text or --file, not both{several}")
    from_stdin = [args.text is None and not args.file, *(f == "-" for f in args.file or []), args.pair_file == "-"]
    if sum(from_stdin) > 1:   # the second would read nothing
        raise ValueError("stdin is read once: give - (or no text) for one input alone")
    if any(from_stdin[1:]) and sys.stdin is None:
        raise ValueError("- reads stdin, which is closed: give a file name")
    if args.text is not None:
        if "\n" not in args.text and os.path.isfile(args.text):   # `newsmodel predict article.txt`
            print(f"warning: reading the text {args.text!r} itself, not the file of that name: give --file "
                  f"{args.text} to read the file", file=sys.stderr)
        _from_argument(args.text, "the text argument")
    elif args.file:
        for file in args.file:   # each is read in its turn: a wrong name fails now, not after the files before it
            if file != "-":
                check_files([("--file", file, None)])
    elif sys.stdin is None:   # started with stdin closed (`<&-`)
        raise ValueError("no text: give it as an argument, with --file, or on stdin, which is closed")
    if args.pair_file is not None and args.pair is not None:
        raise ValueError("give --pair or --pair-file, not both")
    if (args.pair is not None or args.pair_file is not None) and (args.jsonl or len(args.file or []) > 1):
        raise ValueError("--pair and --pair-file go with one document: with --jsonl, give each line its \"pair\"")
    if args.pair_file not in (None, "-"):   # a folder named as --file's is, not by the open's "Is a directory"
        check_files([("--pair-file", args.pair_file, None)])
    check_device(args.device, args.runtime, args.quantize)
    if args.pair_file is not None:
        args.pair = _read_file("--pair-file", args.pair_file)
    elif args.pair is not None:
        args.pair = _from_argument(args.pair, "--pair")
    # Read, predicted and written --batch-size documents at a time: the output comes as the input
    # does, and memory stays that of a batch (but for --html's page, written at the end).
    records = _records(args)
    batch = _next_batch(records, args.batch_size)
    model = open_checkpoint(checkpoint, runtime=args.runtime, quantize=args.quantize, device=args.device)
    page, written, closed = [], 0, False   # page: (prediction, title) for --html; closed: stdout's reader stopped
    while batch:
        pairs = [record.get("pair") for record, _ in batch]
        predictions = model.predict_batch([record["text"] for record, _ in batch], batch_size=args.batch_size,
                                          pairs=pairs if any(p is not None for p in pairs) else None)
        if args.html:   # an "id" of null or "" titles as no id does; a --jsonl line's own "file" is not ours
            page += [(prediction, _as_title(record["id"]) if record.get("id") not in (None, "")
                      else (None if args.jsonl else record["file"]) or f"document {written + i + 1}")
                     for i, (prediction, (record, _)) in enumerate(zip(predictions, batch))]
        try:
            if not closed:
                for (record, _), prediction in zip(batch, predictions):
                    print(_output_line(record, prediction))
                sys.stdout.flush()   # each batch as it is done, also into a pipe
        except BrokenPipeError:   # a reader that stops early (`| head`): the page is still written whole
            if not args.html:
                raise
            closed = True
        written, last = written + len(batch), batch[-1][1]
        try:
            batch = _next_batch(records, args.batch_size)
        except ValueError as exc:   # a DataError too
            raise ValueError(f"{exc} (stopped there: the output holds the predictions of the input through "
                             f"{last}, {written} {'lines' if args.jsonl else 'documents'})") from None
    if args.html:
        from inference.html import render
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(render([prediction for prediction, _ in page], [title for _, title in page]))
    if closed:
        raise BrokenPipeError
    return 0


def _next_batch(records, size: int) -> list[tuple[dict, str]]:
    from itertools import islice
    return list(islice(records, size))


def _records(args):
    """(record, where it was read) for each document, read as they are asked for: with --jsonl,
    one for each line, so the outputs line up with the lines (a blank line is an empty text)."""
    from training.readers._files import decode_utf8, split_lines, utf8_lines
    if not args.jsonl:
        if args.text is not None:
            yield {"text": args.text, "pair": args.pair, "file": None}, "the text argument"
        elif args.file:
            for file in args.file:
                name = "stdin" if file == "-" else file
                yield {"text": _read_file("--file", file), "pair": args.pair, "file": name}, name
        else:
            yield {"text": decode_utf8(sys.stdin.buffer.read(), "stdin"), "pair": args.pair, "file": None}, "stdin"
        return
    if args.text is not None:
        lines = split_lines(args.text)   # the newline that ends the last line starts none
        yield from _line_records(lines[:-1] if lines[-1] == "" else lines, "the text argument")
    elif args.file:
        for file in args.file:
            if file == "-":
                yield from _line_records(utf8_lines(sys.stdin.buffer, "stdin"), "stdin")
                continue
            with _open_file("--file", file) as f:
                yield from _line_records(utf8_lines(f, file), file)
    else:
        yield from _line_records(utf8_lines(sys.stdin.buffer, "stdin"), "stdin")


def _line_records(lines, name: str):
    """A record for each line (a blank one an empty text), with its place: name:line."""
    for number, line in enumerate(lines, 1):
        where = f"{name}:{number}"
        yield (_jsonl_record(line, where) if line.strip() else {"text": ""}), where


def _output_line(record: dict, prediction) -> str:
    out = prediction.to_dict()
    if "id" in record:
        out = {"id": record["id"], **out}
    line = json.dumps(out, ensure_ascii=False)
    try:
        line.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except UnicodeEncodeError:   # a lone surrogate (a cut emoji), or a stdout not in UTF-8 (Windows, to a
        line = json.dumps(out)   # file): JSON escapes, which read back as the same string
    return line


def _as_title(record_id) -> str:
    """An echoed id as its section's title: a string as it is, anything else as the JSON line writes it
    (true, not Python's True)."""
    return record_id if isinstance(record_id, str) else json.dumps(record_id, ensure_ascii=False)


def _from_argument(text: str, name: str) -> str:
    """A text given on the command line. Bytes that are not UTF-8 there (a terminal in Latin-1,
    `"$(cat old.txt)"`) reach Python as lone surrogates, which the model would read as characters the
    text never had, and the output echo as escapes: refused, as the same bytes in a --file or on stdin are."""
    bad = next((i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise ValueError(f"{name}: not valid UTF-8 at character {bad + 1}: give the text in UTF-8 (from a file in "
                         "another encoding: iconv -f ENCODING -t UTF-8 FILE), or the file with "
                         + ("--pair-file" if name == "--pair" else "--file"))
    return text


def _read_file(option: str, file: str) -> str:
    """The file's text (stdin's for -), or an error naming the option."""
    from training.readers._files import decode_utf8
    if file == "-":
        return decode_utf8(sys.stdin.buffer.read(), "stdin")
    with _open_file(option, file) as f:
        try:
            data = f.read()
        except OSError as exc:
            raise ValueError(f"{option} {file!r}: {exc.strerror or exc}") from None
    return decode_utf8(data, file)


def _open_file(option: str, file: str):
    """The file opened to read its bytes, or an error naming the option (an empty name would read as the
    working folder)."""
    if not file:
        raise ValueError(f"{option} '': give a file name")
    try:
        return open(file, "rb")
    except OSError as exc:
        raise ValueError(f"{option} {file!r}: {exc.strerror or exc}") from None


def _an_input(args) -> bool:
    """Whether --html is the file read (--file, --pair-file, or stdin redirected from it), by any
    name: a link, a relative path."""
    if not os.path.exists(args.html):
        return False
    read = [os.stat(f) for f in [*(args.file or []), args.pair_file] if f and f != "-" and os.path.exists(f)]
    if args.text is None and not args.file or "-" in [*(args.file or []), args.pair_file]:
        try:
            read.append(os.fstat(sys.stdin.fileno()))
        except (AttributeError, OSError, ValueError):   # stdin replaced or closed: no file to compare
            pass
    return any(os.path.samestat(os.stat(args.html), s) for s in read)


def _redirected_to(path: str) -> str | None:
    """The stream ("stdout" or "stderr") that writes to the file `path`, by any name, or None."""
    if not os.path.exists(path):
        return None
    for name in ("stdout", "stderr"):
        try:
            if os.path.samestat(os.stat(path), os.fstat(getattr(sys, name).fileno())):
                return name
        except (AttributeError, OSError, ValueError):   # replaced (no file descriptor) or closed
            pass
    return None


def _jsonl_record(line: str, where: str) -> dict:
    """A line of --jsonl input: a JSON object with "text" (and "id", echoed; "pair"), or plain text.
    A line that opens as an object must be one, with its text: not read as text of JSON syntax."""
    from training.readers._files import JSON_ERRORS, RepeatedKey, invalid_json, json_line, unique_keys
    body = json_line(line)
    try:   # a key given twice ("text" of the headline, then of the body) would keep the last alone
        record = json.loads(body, object_pairs_hook=unique_keys)
    except JSON_ERRORS as exc:
        if body.lstrip().startswith("{"):
            raise ValueError(f"{where}: {exc if isinstance(exc, RepeatedKey) else invalid_json(exc)}"
                             + ("" if OBJECT_OPENING.match(body) else TEXT_OPENING_SO)) from None
        return {"text": body}   # a plain line without its mark too, as a file's first line is read
    if not isinstance(record, dict):
        return {"text": body}
    for key, value in record.items():
        near = _misspelt_key(key)
        if near and near not in record and value is not None:   # read as no key, it would be lost unsaid
            raise ValueError(f"{where}: key {json.dumps(key)} looks like \"{near}\" misspelt: rename it (the keys "
                             "read are \"text\", \"pair\" and \"id\"; others are ignored)")
    if not isinstance(record.get("text"), str):
        raise ValueError(f"{where}: a JSON object needs a \"text\" string")
    if not isinstance(record.get("pair"), (str, type(None))):
        raise ValueError(f"{where}: \"pair\" must be a string")
    try:   # echoed: 1e999 reads as inf, which would go out as Infinity, not JSON
        json.dumps(record.get("id"), allow_nan=False)
    except ValueError:
        raise ValueError(f"{where}: \"id\" holds a number JSON cannot write back (NaN, Infinity, or one too large "
                         f"for a float): give it as a string") from None
    return record


# A line opening with "{" but not as an object does ("{Reuters} Talks resume") may be a text: said how to give it
OBJECT_OPENING = re.compile(r'\s*\{\s*["}]')   # a key's quote, or the object's end
TEXT_OPENING_SO = '; a line opening with "{" is read as a JSON object (a text that opens so goes in one: {"text": ...})'


JSONL_KEYS = ("text", "pair", "id")   # what a --jsonl object's keys are read for


@functools.lru_cache(maxsize=1024)   # keys repeat from line to line
def _misspelt_key(key: str) -> str | None:
    """The key of JSONL_KEYS that `key` looks like a misspelling of ("pairs", "Pair", "ID"), or None:
    a "pairs" read as no key would predict the line as a text alone. The cutoff is above the news
    reader's 0.8, at which "idx" or "uid", metadata of their own, would pass for "id"."""
    if key in JSONL_KEYS:
        return None
    near = difflib.get_close_matches(key.strip().lower(), JSONL_KEYS, n=1, cutoff=0.85)
    return near[0] if near else None
