"""Command line: `newsmodel train | evaluate | calibrate | predict | export` (also `python -m training ...`).

Each command is a module of this package with `add_parser(subparsers)` and `run(args)`; a
command imports what it needs when it runs, so `predict` and `export` work with the inference
dependencies alone."""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from . import calibrate, evaluate, export, predict, train

TRAINING_EXTRAS = {"datasets", "seqeval", "sklearn", "scipy", "regex", "tqdm", "matplotlib"}   # pyproject.toml's train extra
COMMANDS = {"train": train, "evaluate": evaluate, "calibrate": calibrate, "predict": predict, "export": export}
# The options, of the commands and of the benchmark scripts, that name a file or folder (a new one goes here)
PATH_OPTIONS = {"checkpoint", "file", "pair_file", "html", "config", "train", "dev", "test", "output", "init_from",
                "schema", "model_card", "base", "bodies", "data", "plots", "output_json", "articles", "long", "conll",
                "conllpp", "source", "news", "test_stances", "test_bodies", "exported"}


def version() -> str:
    """The version of the code that runs: its source tree's pyproject.toml where it runs from one
    (`python -m training` in a clone, which the installed package's metadata may not be), else
    the installed package's metadata."""
    import tomllib
    from importlib import metadata
    try:
        with open(Path(__file__).parents[2] / "pyproject.toml", "rb") as f:
            project = tomllib.load(f).get("project", {})
        if project.get("name") == "newsmodel" and isinstance(project.get("version"), str):
            return f"{project['version']} (source tree {Path(__file__).parents[2]})"
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):   # an installed package: none beside it
        pass
    try:
        return metadata.version("newsmodel")
    except metadata.PackageNotFoundError:
        return "unknown (not installed, and run from no source tree with its pyproject.toml)"


class _Version(argparse.Action):
    """--version, looked up when asked for: importlib.metadata alone takes a tenth of a second."""
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, argparse.SUPPRESS, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {version()}")
        parser.exit()


def expand_home(args: argparse.Namespace) -> argparse.Namespace:
    """`args` with each path option's value (or values) that starts with ~ or ~user expanded as a shell
    expands it: `--output=~/ckpt`, `--train '~/x'` and a value from Python reach us unexpanded, and were
    read as a folder named "~" in the working one. Other values (`--delimiter '~'`) stay as given."""
    for name in PATH_OPTIONS & set(vars(args)):
        value = getattr(args, name)
        if isinstance(value, str):
            setattr(args, name, os.path.expanduser(value))
        elif isinstance(value, list):
            setattr(args, name, [os.path.expanduser(v) if isinstance(v, str) else v for v in value])
    return args


def quiet_transformers() -> None:
    """transformers' logging as the commands want it: set by a command once its arguments are checked,
    before its first model loads, not by main(): importing transformers takes seconds that an argument
    error does without."""
    import transformers
    transformers.logging.set_verbosity_error()  # the base model's unused pooler is expected
    transformers.logging.disable_progress_bar()  # a bar per weights file read: loading takes a second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsmodel", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS.values():
        command.add_parser(sub)
    args = expand_home(parser.parse_args(argv))
    if sys.stdout is None:   # started with `>&-`: the output would be lost, after the work, with a traceback
        print("error: stdout is closed: redirect it to a file, or to /dev/null to discard it", file=sys.stderr)
        return 2
    from training.corpus import DataError
    formatwarning = warnings.formatwarning
    warnings.formatwarning = lambda message, *_, **__: f"warning: {message}\n"   # not the source line it came from
    try:
        status = COMMANDS[args.command].run(args)
        sys.stdout.flush()   # here, not at exit, where a closed pipe could no longer be caught
        return status
    except KeyboardInterrupt as exc:   # Ctrl-C: what was saved stays, and how to go on (train says), not a traceback
        print(f"interrupted{exc.args[0] if exc.args else ''}", file=sys.stderr)
        return 130
    except BrokenPipeError:   # `newsmodel predict ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # so the exit's flush raises nothing
        if args.command != "train":   # a training run's log is not its output: it stopped unfinished
            return 0
        print("error: the output of the training log was closed: training stopped", file=sys.stderr)
        return 2
    except (DataError, OSError, ValueError) as exc:   # OSError: a path missing, a folder for a file, ...
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:   # predict and export need only the inference dependencies
        extras = f". `newsmodel {args.command}` needs the training extras: pip install 'newsmodel[train]'" \
            if (exc.name or "").split(".")[0] in TRAINING_EXTRAS else ""   # else the message says what to install
        print(f"error: {exc}{extras}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = formatwarning   # main() called from Python leaves the caller's as it was
