"""The --checkpoint argument every command that reads a checkpoint shares."""
from __future__ import annotations

import os


def add_checkpoint_argument(parser) -> None:
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint directory (default: $NEWSMODEL_CHECKPOINT, else checkpoints/news)")


def open_checkpoint(path: str | None, **options):
    """The loaded checkpoint at `path` (default: the default checkpoint), or a FileNotFoundError
    that says how to make one."""
    from inference import default_checkpoint, load
    path = path or default_checkpoint()
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}: train one with `newsmodel train --output {path}`")
    return load(path, **options)
