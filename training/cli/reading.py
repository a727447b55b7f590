"""The reader flags `train`, `evaluate` and `calibrate` share: `--format` and each reader's
options, which every file given takes as far as its own reader has them."""
from __future__ import annotations

import os
import stat

from training.sources import READER_OPTIONS, reader_options, resolve_format


FORMAT_HELP = ("(default: by extension; a .json file holding a JSON list is Label Studio, or Doccano where its "
               "first record with labels or spans has Doccano's, classification where it has text and one label "
               "string or number; a JSON-lines file whose first record with spans has Doccano's is Doccano)")


def add_reader_arguments(parser) -> None:
    for name, (kind, help) in READER_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, action="store_true", default=None, help=help)
        else:
            parser.add_argument(flag, type=kind, help=help)


def file_sources(args, files: list[tuple[str, str | None]]) -> list[dict]:
    """A source table ({"path", "format", "options"}) for each (path, format or None for auto)
    of `files`, with the reader flags given that its reader takes; a flag no file's reader takes
    is refused, not ignored."""
    given = {k: getattr(args, k) for k in READER_OPTIONS if getattr(args, k) is not None}
    taken, sources = set(), []
    for path, fmt in files:
        its = {k: v for k, v in given.items() if k in reader_options(resolve_format(path, fmt or "auto"))}
        taken |= set(its)
        sources.append({"path": path, "format": fmt or "auto", "options": its})
    if set(given) - taken:
        flags = ", ".join("--" + k.replace("_", "-") for k in sorted(set(given) - taken))
        raise ValueError(f"{flags}: no reader of the files given takes it (check --format)")
    return sources


def one_data_file(args, does: str) -> None:
    """`--data`, taken with action="append" so that a second one is refused, not read alone (as a
    plain option keeps the last), made its one file."""
    if len(args.data) > 1:
        raise ValueError(f"--data given {len(args.data)} times ({', '.join(args.data)}): {does} one file; "
                         "join them into one")
    [args.data] = args.data


def check_files(files: list[tuple[str, str, str | None]]) -> None:
    """An error naming the flag of each (flag, path, format or None for a file of no reader) whose
    file is missing, a folder where its reader reads a file, or named by an empty name (read as the
    working folder): before the checkpoint loads, which takes seconds. Found without opening it (a
    named pipe opened and closed would end its writer)."""
    for flag, path, fmt in files:
        if not path:
            raise ValueError(f"{flag} '': give a file name (an unset shell variable?)")
        if fmt is not None and not os.path.exists(path) and resolve_format(path, fmt) == "hf":
            continue   # a split its DatasetDict lacks: the hf reader names the splits it has
        try:
            folder = stat.S_ISDIR(os.stat(path).st_mode)
        except OSError as exc:
            raise ValueError(f"{flag} {path!r}: {exc.strerror or exc}") from None
        if folder and (fmt is None or resolve_format(path, fmt) != "hf"):   # a dataset's folder is read whole
            raise ValueError(f"{flag} {path!r}: a folder; give a file" + (
                " (a folder is read only as a Hugging Face dataset, --format hf)" if fmt is not None else ""))
