"""`newsmodel evaluate`: score a checkpoint on an annotated file; metrics as one JSON line."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from training.sources import FORMATS

from .checkpoints import (add_checkpoint_argument, add_runtime_arguments, check_device, checkpoint_path,
                          open_checkpoint, recorded_split)
from .reading import FORMAT_HELP, add_reader_arguments, check_files, file_sources, one_data_file


def add_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="score a checkpoint on an annotated file")
    add_checkpoint_argument(e)
    e.add_argument("--data", required=True, action="append", help="annotated file")
    e.add_argument("--format", choices=FORMATS, default="auto", help="its format " + FORMAT_HELP)
    add_reader_arguments(e)
    add_runtime_arguments(e)
    e.add_argument("--plots", help="directory for one reliability diagram per task (reliability_<task>.png), "
                                   "outside any checkpoint")


def run(args) -> int:
    one_data_file(args, "evaluate scores")
    [source] = file_sources(args, [(args.data, args.format)])
    if args.plots:   # before the slow part, whose figures a plot that cannot be written would lose
        _check_plots(Path(args.plots))
    path = checkpoint_path(args.checkpoint)   # before the device's check: their errors import no torch
    check_files([("--data", args.data, args.format)] + [("--bodies", args.bodies, None)] * (args.bodies is not None))
    check_device(args.device, args.runtime, args.quantize)
    from training.data import document_warnings, repeated_ids, repeated_texts
    from training.evaluation import NOT_ANNOTATED, check_annotated, evaluate, format_metrics
    from training.schema import schema_of
    from training.sources import Source, read_source
    from training.targets import unknown_labels
    held = recorded_split(path, args.data)
    if held and held[0] == "train":   # as train warns of dev documents it also trains on
        print(f"warning: {args.data}: the checkpoint was trained on this file ({held[1]}, by the SHA-256 its manifest "
              "records): its figures are not held out", file=sys.stderr)
    model = open_checkpoint(args.checkpoint, runtime=args.runtime, quantize=args.quantize, device=args.device)
    # the news reader takes labels the checkpoint lacks here: scored as misses, with a warning
    schema = {name: {**spec, "open": True} for name, spec in schema_of(model.manifest.tasks).items()}
    docs = read_source(Source(**source), schema)
    left_out = check_annotated(docs, [t.name for t in model.manifest.tasks], source)
    repeats = repeated_texts(docs, f"document(s) of {args.data}", ": each copy is scored, weighing twice")
    for line in (left_out + unknown_labels(docs, model.manifest.tasks) + document_warnings(docs, f"file {args.data}")
                 + repeats + repeated_ids(docs)):
        print(f"warning: {line}", file=sys.stderr)
    metrics = evaluate(model, docs, plots=args.plots)
    from inference.devices import device_name
    print(f"{len(docs)} documents of {args.data}, scored by {args.checkpoint or 'the default checkpoint'} through "
          f"runtime {model.runtime} on {device_name(model.device)}:", file=sys.stderr)   # the figures move with it
    print(format_metrics(metrics), file=sys.stderr)
    if unscored := [task.name for task in model.manifest.tasks if task.name not in metrics]:   # absent from the JSON
        print(f"{', '.join(unscored)} not scored ({NOT_ANNOTATED})", file=sys.stderr)
    print(json.dumps(metrics))
    return 0


def _check_plots(plots: Path) -> None:
    """Refuse a --plots folder that cannot be made or written: a file there or above it, or no write access;
    or that is in a checkpoint, which predict's --html and export leave as it is too; and matplotlib missing."""
    from inference.folders import checkpoint_holding
    if held_by := checkpoint_holding(plots):
        raise ValueError(f"--plots {plots}: that is inside the checkpoint {held_by}, which a later save (train "
                         "--output, --resume) could not replace while it held the plots: give a folder elsewhere")
    existing = next(p for p in (plots, *plots.parents) if p.exists())   # it, or the folder it would be made in
    if not existing.is_dir():
        raise ValueError(f"--plots {plots}: {'a file is there' if existing == plots else f'{existing} is a file'}; "
                         "give a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--plots {plots}: {existing} cannot be written")
    import matplotlib  # noqa: F401  (the plots draw with it: missing, main names the extra before the scoring)
