"""Which folders a save may write: a checkpoint's and an export's marks, and the checks made
before a save replaces its output, without importing torch or transformers (seconds): a wrong
--output or --html is refused at once."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

MANIFEST = "manifest.json"
# as save_pretrained writes them; without tokenizer_config.json, transformers rebuilds the tokenizer
# by config.json's model type (e5-small's SentencePiece as WordPiece: every predict failed)
ENCODER_FILES = ("config.json", "tokenizer.json", "model.safetensors", "tokenizer_config.json")
# Set in an export's config.json (inference.export), so that a later export may replace the folder
# and nothing else is ever overwritten (a checkpoint, someone's own model), and load() names it
EXPORT_MARK = "newsmodel_export"


def is_checkpoint(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def checkpoint_holding(path: str | os.PathLike) -> Path | None:
    """The checkpoint that `path` is (links resolved) or lies inside, or None: a folder written there
    would block its next save."""
    where = Path(os.path.realpath(path))
    return next((p for p in (where, *where.parents) if is_checkpoint(p)), None)


def check_replaceable(path: str | os.PathLike, ours: Callable[[Path], bool] = is_checkpoint,
                      what: str = "a checkpoint", option: str | None = None) -> None:
    """Refuse a destination a save would destroy: only an absent path, an empty directory or a
    directory that `ours` recognises (a checkpoint) holding files alone may be replaced (`--output
    data` must not delete the corpus; a save writes no folder, so one inside, an export written
    there, is not its own). A mount point is refused too: its folder cannot be renamed, and so is
    the folder the command runs in. `option`: the option or setting that gave `path`, named with it."""
    if not os.fspath(path):   # `--output "$UNSET"`: realpath would take it for the current folder
        raise ValueError("the output path is empty: name the folder to write")
    real = Path(os.path.realpath(path))
    named = f"{option} {path}" if option else path
    here = Path(os.path.realpath(os.getcwd()))
    if real in (here, *here.parents):   # `--output .`: the save would rename the folder the command runs in away
        raise ValueError(f"{named}: that is the folder this command runs in, or holds it, and a save replaces its "
                         "output folder: run it from another folder")
    held_by = checkpoint_holding(real.parent)
    if held_by is not None:
        raise ValueError(f"{named} is inside the checkpoint {held_by}, which a later save (train --output, "
                         "--init-from) could not replace while it held this folder: give a folder elsewhere")
    entries = list(real.iterdir()) if real.is_dir() else []
    if real.exists() and not (real.is_dir() and (not entries or ours(real))):
        raise ValueError(f"{named} exists and is not {what}: writing there would replace it; choose another output")
    held = sorted(entry.name for entry in entries if entry.is_dir())
    if held:
        raise ValueError(f"{named} is {what}, but replacing it would delete the folder(s) it now holds "
                         f"({', '.join(held)}): move them out, or choose another output")
    if os.path.ismount(real):
        raise ValueError(f"{named} is a mount point, which a save cannot replace: write into a new folder inside it")
    above = next(p for p in real.parents if p.exists())   # where the save makes its folders and renames
    if not above.is_dir():
        raise ValueError(f"{named} cannot be made: {above} is a file, not a folder")
    if not os.access(above, os.W_OK):   # no permission, or a read-only filesystem
        raise ValueError(f"{named} cannot be written: {above} is not writable")


def encoder_config(folder: Path) -> dict:
    """A folder's config.json as a dict, read without transformers; {} where it is missing, not an
    object or cannot be read (loading the encoder names why)."""
    try:
        config = json.loads((Path(folder) / ENCODER_FILES[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):   # RecursionError: thousands of brackets deep
        return {}
    return config if isinstance(config, dict) else {}


def export_mark(path: Path):
    """The mark an export leaves in its config.json (which task it holds), or None."""
    return encoder_config(path).get(EXPORT_MARK)


def is_export(path: Path) -> bool:
    """An earlier export (inference.export): the mark in its config.json."""
    if is_checkpoint(path):   # a checkpoint grown from an exported encoder carries the mark in its config
        return False
    return export_mark(path) is not None


def check_export_output(output: str | os.PathLike, option: str = "output") -> None:
    """Refuse an `output` that an export would destroy: only an absent path, an empty folder
    or an earlier export (one with the mark, holding files alone) may be replaced; nor may it
    go inside a checkpoint, whose next save would then be refused (and whose fingerprint, which
    an --init-from run records, would change). `option`: what gave `output`, named with it."""
    check_replaceable(output, is_export, "an earlier export", option)
