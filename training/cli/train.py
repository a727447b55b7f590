"""`newsmodel train`: fine-tune the encoder and heads; every TrainConfig field is a flag."""
from __future__ import annotations

import argparse
import difflib
import os
import sys
import tomllib

from training.config import TrainConfig, options
from training.sources import FORMATS, READER_OPTIONS

from .reading import FORMAT_HELP, add_reader_arguments, file_sources


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="fine-tune the encoder and heads on annotated files")
    t.add_argument("--config", help="TOML run config (keys as the flags below with _ for -, batch_size = 4; data as "
                                    "[[train]] tables, each with its file's format and reader options); flags "
                                    "override it (default: none, the flags alone)")
    for split in ("train", "dev", "test"):
        t.add_argument(f"--{split}", action="append", help=TrainConfig.__dataclass_fields__[split].metadata["help"])
    t.add_argument("--format", choices=FORMATS, help="format of the files given here " + FORMAT_HELP)
    add_reader_arguments(t)
    for f in options():
        flag = "--" + f.name.replace("_", "-")
        help = f.metadata["help"] if f.default is None else f"{f.metadata['help']} (default: {f.default})"
        if f.type in ("bool", "bool | None"):
            t.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help)
        else:
            t.add_argument(flag, type=_scalar(f.type), default=None, help=help)


def _scalar(annotation: str):
    """The argparse type of a TrainConfig field, from its annotation ("int | None" -> int)."""
    return {"int": int, "float": float}.get(annotation.split(" | ")[0], str)


def train_config(args) -> TrainConfig:
    """The run config: the --config file, then every flag given on the command line."""
    values = {}
    if args.config == "":   # `--config "$UNSET"`: not a run of the defaults with the file's settings left out
        raise ValueError("--config: an empty path (an unset shell variable?): give the TOML file, or leave it out")
    if args.config:
        from training.data import as_sources   # torch: imported by a run from a config, not by an argument error
        try:
            with open(args.config, "rb") as f:
                text = f.read()
        except OSError as exc:   # missing, a folder, unreadable: named with its flag
            raise ValueError(f"--config {args.config}: {exc.strerror or exc}") from None
        try:   # a byte-order mark (Notepad, PowerShell) dropped, as the data readers drop it: TOML's parser
            values = tomllib.loads(text.decode("utf-8-sig"))   # calls it an invalid statement at 1:1
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:   # TOML is UTF-8
            raise ValueError(f"{args.config}: not valid TOML: {exc}") from None
        _expand_home(values)
        _beside_the_config(values, args.config)
        unknown = set(values) - set(TrainConfig.__dataclass_fields__)
        if unknown:
            spelt = [k.replace("-", "_") for k in sorted(unknown)
                     if k.replace("-", "_") in TrainConfig.__dataclass_fields__]   # `batch-size = 4`, as the flag
            per_file = [k for k in sorted(unknown) if k.replace("-", "_") in {"format", *READER_OPTIONS}]
            near = {k: difflib.get_close_matches(k, TrainConfig.__dataclass_fields__, n=1, cutoff=0.8)
                    for k in sorted(unknown) if k not in per_file and k.replace("-", "_") not in spelt}   # `epoch = 3`
            near = [f"{k}: {match[0]}" for k, match in near.items() if match]
            near_reader = {k: difflib.get_close_matches(k.replace("-", "_"), ["format", *READER_OPTIONS], n=1, cutoff=0.8)
                           for k in sorted(unknown) if k not in per_file and k.replace("-", "_") not in spelt}   # `schem`
            near_reader = [f"{k}: {match[0]}" for k, match in near_reader.items() if match]
            raise ValueError(f"{args.config}: unknown setting(s) {', '.join(sorted(unknown))}" + (
                f" (a key is written with _ where its flag has -: {', '.join(spelt)})" if spelt else "") + (
                f" ({', '.join(per_file)}: a file's format and reader options go in its table: [[train]] path = ..., "
                f"format = ..., options = {{...}})" if per_file else "") + (
                f" (did you mean: {', '.join(near)}?)" if near else "") + (
                f" (near a reader option: {', '.join(near_reader)}; a file's format and reader options go in its "
                f"table: [[train]] path = ..., format = ..., options = {{...}})" if near_reader else ""))
        for split in ("train", "dev", "test"):
            try:
                as_sources(values.get(split), split)   # a mistyped table key, named with its file
            except ValueError as exc:
                raise ValueError(f"{args.config}: {exc}") from None
    splits = [split for split in ("train", "dev", "test") if getattr(args, split)]
    if args.config and not splits and (args.format or any(getattr(args, k) is not None for k in READER_OPTIONS)):
        raise ValueError(f"--format and the reader flags apply to files given on the command line; the files of "
                         f"{args.config} take theirs in their tables (format = ..., options = {{...}})")
    sources = file_sources(args, [(path, args.format) for split in splits for path in getattr(args, split)])
    for split in splits:   # the tables in the order of the files
        values[split], sources = sources[:len(getattr(args, split))], sources[len(getattr(args, split)):]
    flags = {f.name for f in options() if getattr(args, f.name) is not None}
    from_file = set(values) - flags - set(splits)
    values.update({name: getattr(args, name) for name in flags})
    try:
        config = TrainConfig(**values)
    except ValueError as exc:   # "epochs: '3' is not ...": a setting the file gave, named with the file
        named = str(exc).split(":")[0].split(" ")[0]   # "gate_label 'x': ..." names gate_label
        # the window check names window_length, beside the overlap the file gave; dev_fraction, beside its dev data
        if named in from_file or named == "window_length" and "window_overlap" in from_file \
                or named == "dev_fraction" and "dev" in from_file \
                or args.config and str(exc).startswith("no training data"):   # no [[train]] table
            raise ValueError(f"{args.config}: {exc}") from None
        raise
    if args.config and config.model_card and os.path.realpath(config.model_card) == os.path.realpath(args.config):
        raise ValueError(f"model_card {config.model_card}: that is an input of this run; give another file")
    if args.config:   # else deleted by the first save
        from training.state import check_outside_saves
        check_outside_saves(args.config, config.output, named="the config file")
    return config


def _expand_home(values: dict) -> None:
    """A config's paths starting with ~ as a shell expands them on the command line (not a folder
    named "~" in the working directory); other strings, a delimiter "~" among them, as written."""
    def expand(holder: dict, key: str) -> None:
        if isinstance(holder.get(key), str):
            holder[key] = os.path.expanduser(holder[key])
    for key in ("output", "init_from", "schema", "model_card", "base"):
        expand(values, key)
    for split in ("train", "dev", "test"):
        sources = values.get(split) if isinstance(values.get(split), list) else [values.get(split)]
        for i, source in enumerate(sources):
            if isinstance(source, str):
                sources[i] = os.path.expanduser(source)
            elif isinstance(source, dict):
                expand(source, "path")
                expand(source.get("options") if isinstance(source.get("options"), dict) else {}, "bodies")
        if isinstance(values.get(split), str):
            values[split] = sources[0]


def _beside_the_config(values: dict, config: str) -> None:
    """A relative path of the config that the folder the command runs in lacks, but the config
    file's folder holds: refused naming both, where the reader would say only "No such file"."""
    folder = os.path.dirname(config)
    paths = [values.get(key) for key in ("schema", "init_from", "base")]
    for split in ("train", "dev", "test"):
        for item in values.get(split) if isinstance(values.get(split), list) else [values.get(split)]:
            options = item.get("options") if isinstance(item, dict) else None
            paths += [item.get("path"), options.get("bodies") if isinstance(options, dict) else None] \
                if isinstance(item, dict) else [item]
    for path in paths:
        if isinstance(path, str) and path and folder and not os.path.isabs(path) and not os.path.exists(path) \
                and os.path.exists(os.path.join(folder, path)):
            raise ValueError(f"{config}: {path}: no such file in the folder the command runs in ({os.getcwd()}), "
                             f"where a config's paths are read from, as on the command line; the one beside the "
                             f"config file is {os.path.join(folder, path)}")


def run(args) -> int:
    config = train_config(args)   # first: an argument error imports no torch
    from training.state import is_state, state_dir
    from training.trainer import EndedRunStopped, StartedAgain, checkpoint_at, ended, train

    from . import quiet_transformers
    quiet_transformers()
    try:
        train(config, log=lambda m: print(m, flush=True))
    except KeyboardInterrupt as exc:
        print(file=sys.stderr)   # off the progress bar's line
        if is_state(state_dir(config.output)):
            raise KeyboardInterrupt("; the last saved epoch is kept, and the same command with --resume goes on "
                                    "from it") from None
        if isinstance(exc, EndedRunStopped):
            raise KeyboardInterrupt(f"; the run had already ended: its checkpoint at {config.output} is kept as it "
                                    "ended, and the same command with --resume finishes what this one began") from None
        if config.resume and not isinstance(exc, StartedAgain) and ended(checkpoint_at(config.output)):
            # stopped before the run knew whether that checkpoint is its own (reading its data, say)
            raise KeyboardInterrupt(f"; the ended run's checkpoint at {config.output} is kept as it was: the same "
                                    "command with --resume finishes that run where it is this one (the same settings "
                                    "and data), else is refused, naming what differs") from None
        raise KeyboardInterrupt("; before an epoch was saved: nothing to resume") from None
    return 0
