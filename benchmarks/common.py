"""What the benchmark scripts share: arguments, data subsets and splits, timing, and the one
JSON line each run ends with.

Every script prints its progress to stderr and exactly one line to stdout:
    {"benchmark": ..., "system": ..., "split": ..., <metrics>..., "train_seconds": ..., "words_per_second": ...}
so a results table is built from those lines and nothing else.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"          # public data kept beside the checkout

DEV_FRACTION = 0.1   # share of train held out as dev where a corpus has no dev file
CALIBRATION = ("ece_before", "ece_after")  # what evaluate reports of ours: ECE before / after temperature


def positive(value: str) -> int:
    """A count of at least 1 (a negative --limit would cut documents off the end)."""
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def seed(value: str) -> int:
    """A seed every system takes (the trainer's bound, and scikit-learn's and spaCy's)."""
    if not value.strip().isdigit() or int(value) >= 2**32:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number in [0, 2**32)")
    return int(value)


def parser(description: str, systems: list[str], document_heads: bool = True,
           entity_heads: bool = True) -> argparse.ArgumentParser:
    """The options every benchmark takes; each script adds its data paths. `document_heads`:
    whether ours trains any, the only heads --lexical-terms feeds; `entity_heads`: whether it
    trains NER heads, the only ones --crf makes CRFs."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", choices=systems, required=True)
    p.add_argument("--limit", type=positive, help="use only the first N documents of each split (smoke runs)")
    p.add_argument("--output-json", help="also append the result line to this JSON-lines file")
    recipes = "".join(f"; {name} {n}" for name, n in (("hf-recipe", 3), ("spacy", 20)) if name in systems)
    trained = " / ".join(name for name in ("ours", "hf-recipe") if name in systems)   # what --base and --device set
    p.add_argument("--epochs", type=positive, help=f"training epochs (default: the benchmark's recipe{recipes})")
    p.add_argument("--max-steps", type=positive, help="stop training after this many optimiser steps (smoke runs)")
    p.add_argument("--seed", type=seed, default=13)
    p.add_argument("--threads", type=positive, help=f"{trained}: torch threads (default: torch's own choice), named in "
                                                    "the line's device on the CPU")
    p.add_argument("--checkpoint", help="ours: score this trained checkpoint instead of training one")
    p.add_argument("--output", help="ours: checkpoint directory to train into (default: runs/<benchmark>-ours)")
    p.add_argument("--resume", action="store_true", help="ours: continue an interrupted run from <output>.state/")
    p.add_argument("--base", help=f"{trained}: base encoder, minilm, e5-small or a local Hugging Face "
                                  "encoder folder (default: the trainer's)")
    p.add_argument("--device", default="auto", help=f"{trained}: auto (a GPU when there is one), cpu, cuda or cuda:N")
    p.add_argument("--max-train-docs", type=positive,
                   help="train every system on the same seeded sample of N training documents (2 CPU cores)")
    p.add_argument("--max-dev-docs", type=positive, help="score every system on a seeded sample of N dev documents")
    p.add_argument("--window-length", type=int, help="ours: tokens per window (default: the benchmark's recipe)")
    if document_heads:
        p.add_argument("--lexical-terms", type=int, help="ours: TF-IDF terms the document heads read, 0 for none "
                                                         "(default: the benchmark's recipe)")
    else:
        p.set_defaults(lexical_terms=None)
    p.add_argument("--group-by-length", action=argparse.BooleanOptionalAction,
                   help="ours: batch windows of similar length together (default: the trainer's, off)")
    p.add_argument("--recase-capitals", action=argparse.BooleanOptionalAction,
                   help="ours: recase lines in capitals for the encoder (default: the trainer's, by base and tasks)")
    if entity_heads:
        p.add_argument("--crf", action=argparse.BooleanOptionalAction,
                       help="ours: train NER heads as linear-chain CRFs (default: the trainer's, by base and tasks)")
    else:
        p.set_defaults(crf=None)
    return p


def parse_args(p: argparse.ArgumentParser) -> argparse.Namespace:
    """p's arguments, an empty one refused naming its option: `--train "$TRAIN"` with the variable
    unset was read as the working folder, as no training data, or as the option's default. An
    option given several times (`--file A --file ""`) counts each value. A path starting with ~ is
    expanded as newsmodel's commands expand it."""
    from training.cli import expand_home
    args = expand_home(p.parse_args())
    for name, value in vars(args).items():
        if value == "" or isinstance(value, list) and "" in value:
            p.error(f"--{name.replace('_', '-')}: an empty value (an unset shell variable?): give one")
    return args


def head(items: list, limit: int | None) -> list:
    return items[:limit] if limit else items


def holdout(items: list, fraction: float, seed: int, what: str = "training documents") -> tuple[list, list]:
    """(train, dev): the trainer's own dev_fraction cut, so every system of a benchmark sees the
    same dev set."""
    from training.data import hold_out
    if len(items) < 2:   # here: the trainer's own message advises a --dev these hold-outs do not take
        raise SystemExit(f"error: too few {what} to hold out a dev set ({len(items)}; raise --limit, or give more data)")
    return hold_out(items, fraction, seed)


def sample(items: list, n: int | None, seed: int) -> list:
    """A seeded random sample of n items (all of them when n is None or not smaller), in file order."""
    if not n or n >= len(items):
        return items
    chosen = set(random.Random(seed).sample(range(len(items)), n))
    return [item for i, item in enumerate(items) if i in chosen]


def jsonl_texts(path) -> list[str]:
    """The "text" field of every line of a JSON-lines file (blank lines skipped); an error naming
    the file and line where one has none or it is no string, or where there is no text at all."""
    from training.corpus import DataError
    from training.readers._files import JSON_ERRORS, json_line, json_type, read_lines   # here: importing training loads torch
    try:
        lines = read_lines(Path(path))   # a byte-order mark dropped, as the project's readers drop it
    except OSError as exc:
        raise SystemExit(f"error: {path}: {exc}") from None
    except DataError as exc:   # not UTF-8: named with its line
        raise SystemExit(f"error: {exc}") from None
    texts = []
    for number, line in enumerate(map(json_line, lines), 1):
        if line.strip():
            try:
                text = json.loads(line)["text"]
            except (*JSON_ERRORS, KeyError, TypeError):   # JSON_ERRORS: a line nested too deeply too
                raise SystemExit(f"error: {path}:{number}: not a JSON object with a \"text\" field") from None
            if not isinstance(text, str):   # else met after the model loads, as texts[i] of no file
                raise SystemExit(f"error: {path}:{number}: \"text\" must be a string, not {json_type(text)}")
            texts.append(text)
    if not any(t.strip() for t in texts):   # only "" or blank space: memory.py would time 0 characters
        raise SystemExit(f"error: {path}: no texts")
    return texts


def count_words(texts) -> int:
    """Words as the results table counts them: whitespace tokens of every text predicted."""
    return sum(len(t.split()) for t in texts if t)


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM where Linux gives it (it starts afresh at exec),
    else ru_maxrss (which a child takes over from its parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def words_per_second(words: int, seconds: float) -> float | None:
    return words / seconds if seconds > 0 else None


def run_figures(docs: dict, test_words: int, train_seconds, predict_seconds: float) -> dict:
    """The size and cost fields every result line ends with."""
    return {"train_documents": len(docs["train"]), "dev_documents": len(docs["dev"]),
            "test_documents": len(docs["test"]), "test_words": test_words, "train_seconds": train_seconds,
            "words_per_second": words_per_second(test_words, predict_seconds)}


def base_model(args) -> str:
    """The folder of --base (a name such as e5-small, or a path), as ours would train from."""
    from training.base_models import resolve_base
    return resolve_base(args.base)[0]


# ours: what trains a checkpoint, so has no effect with --checkpoint
TRAINING_OPTIONS = ("epochs", "max_steps", "window_length", "lexical_terms", "group_by_length", "recase_capitals",
                    "crf", "base", "resume", "output")
# the training options each peer reads; the rest are ours alone
PEER_OPTIONS = {"hf-recipe": {"epochs", "max_steps", "base"}, "spacy": {"epochs", "max_steps"}, "tfidf-svm": set()}


def ours_output(args, benchmark: str) -> str:
    """The checkpoint folder `--system ours` trains into."""
    return args.output or str(ROOT / "runs" / f"{benchmark}-ours")


@contextlib.contextmanager
def cut_files_folder(args, benchmark: str):
    """Where a run writes the files it cuts from the data (splits held out, --limit): for our
    system's training, `<output>.data/` beside its checkpoint, kept, so that `--resume` finds the
    same files where the interrupted run read them; else a temporary folder."""
    if args.system == "ours" and not args.checkpoint:
        folder = Path(f"{ours_output(args, benchmark)}.data")
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)


def ours_config(args, benchmark: str, recipe: dict, **data):
    """The TrainConfig `--system ours` trains with: the benchmark's `recipe` with the command's overrides."""
    from training.config import TrainConfig
    overrides = {k: getattr(args, k) for k in ("epochs", "window_length", "lexical_terms", "group_by_length",
                                               "recase_capitals", "crf")
                 if getattr(args, k) is not None}
    return TrainConfig(output=ours_output(args, benchmark), resume=args.resume, max_steps=args.max_steps, seed=args.seed,
                       base=args.base, device=args.device, **{**recipe, **overrides}, **data)


def refuse_unusable_training(args, benchmark: str, recipe: dict) -> None:
    """ours' settings (`--window-length 5`) and --output, refused as train refuses them, but before
    the data are read and cut into <output>.data/ (they were refused after both)."""
    if args.system != "ours" or args.checkpoint:
        return
    from training.trainer import check_before_reading
    check_before_reading(ours_config(args, benchmark, recipe, train=args.train))


def train_ours(args, benchmark: str, recipe: dict, **data):
    """(NewsModel, train seconds) for `--system ours`: trained here with training.trainer.train
    on `data` (train/dev sources) with the benchmark's `recipe` (TrainConfig settings; --epochs,
    --window-length, --lexical-terms, --[no-]group-by-length, --[no-]recase-capitals, --[no-]crf override it),
    or loaded from --checkpoint.

    train seconds come from the manifest in both cases (training.total_minutes: the whole run,
    from tokenizing to calibration; older checkpoints: the epochs alone), so a reused checkpoint
    reports the same figure as the run that made it."""
    from inference import load
    path = args.checkpoint
    if not path:
        from training.trainer import train
        path = ours_output(args, benchmark)
        train(ours_config(args, benchmark, recipe, **data), log=lambda m: print(m, file=sys.stderr, flush=True))
    model = load(path, device=args.device)
    args.runtime, args.trained_into = model.runtime, None if args.checkpoint else path   # for the result line
    training = model.manifest.training
    minutes = training.get("total_minutes", training.get("train_minutes"))
    return model, None if minutes is None else minutes * 60


def entity_figures(m: dict) -> dict:
    """Precision, recall, F1 and F1 per type of `entity_metrics`, to 4 places."""
    return {**{k: round(float(m[k]), 4) for k in ("precision", "recall", "f1")},
            "per_type_f1": {t: round(float(r["f1"]), 4) for t, r in m["per_type"].items()}}


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def emit(result: dict, output_json: str | None = None) -> None:
    """Print the run's one JSON line (identity first, cost last) and append it to output_json."""
    first = ("benchmark", "system", "split")
    last = ("train_seconds", "words_per_second")
    line = {k: result.get(k) for k in first}
    line.update({k: _rounded(v) for k, v in result.items() if k not in first + last})
    seconds, speed = result.get("train_seconds"), result.get("words_per_second")
    line["train_seconds"] = round(seconds, 3) if seconds is not None else None
    line["words_per_second"] = round(speed, 1) if speed is not None else None
    text = json.dumps(line, ensure_ascii=False)
    print(text, flush=True)
    if output_json:
        if os.path.isfile(output_json) and os.path.getsize(output_json):   # (a pipe cannot be read back)
            with open(output_json, "rb") as f:   # a last line without its line break (an edited file)
                f.seek(-1, os.SEEK_END)          # would take this one in
                text = ("" if f.read(1) == b"\n" else "\n") + text
        with open(output_json, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def refuse_unusable_device(device: str, runtime: str | None = None, quantize: bool | None = None) -> None:
    """A --device this machine does not have (cuda without a GPU), or a GPU with a CPU-only --runtime or
    --quantize, refused before any work, as the commands refuse them."""
    from training.cli.checkpoints import check_device
    try:
        check_device(device, runtime, quantize)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


def refuse_missing_inputs(files: list[tuple[str, str]]) -> None:
    """Each (option, path) of `files` that is missing or a folder refused naming the option and the
    path once, before any model loads (as newsmodel's commands name them), not by the open's
    "[Errno 21] Is a directory"."""
    from training.cli.reading import check_files
    try:
        check_files([(option, path, None) for option, path in files])
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


def refuse_no_checkpoint(path: str, option: str = "--checkpoint") -> None:
    """A checkpoint folder that is missing, a file, or holds no manifest, refused naming `option`
    (not by load's own message), once the inputs are read: their errors come first."""
    from inference.folders import MANIFEST   # torch-free, as the checks before a load are
    folder = Path(path)
    if not (folder / MANIFEST).is_file():   # before: "No such file or directory: 'C/manifest.json'", no option
        why = ("does not exist" if not folder.exists() else "a file, not a checkpoint folder"
               if not folder.is_dir() else f"not a checkpoint: it has no {MANIFEST}")
        raise SystemExit(f"error: {option} {path}: {why}")


def refuse_without_entities(model, checkpoint: str, why: str) -> None:
    """A checkpoint without an entity task predicts none: its figures would read as no entity found."""
    if not any(task.kind == "ner" for task in model.manifest.tasks):
        raise SystemExit(f"error: checkpoint {checkpoint} has no entity task: {why}")


def refuse_unmeant(args, task: str | None) -> None:
    """Settings that would be ignored, a device the machine lacks, a checkpoint without the
    benchmark's `task`, or a split scored on itself, refused before any work."""
    if args.system == "ours" and args.checkpoint:
        # --max-train-docs: every system's sample, so none with a checkpoint
        if given := _flags_given(args, (*TRAINING_OPTIONS, "max_train_docs")):
            raise SystemExit(f"error: --checkpoint scores a trained checkpoint; {given} would train one: "
                             "leave them out")
        from inference.folders import MANIFEST
        from inference.manifest import Manifest
        try:
            tasks = [t.name for t in Manifest.read(Path(args.checkpoint) / MANIFEST).tasks]
        except (OSError, ValueError) as exc:
            raise SystemExit(f"error: --checkpoint {args.checkpoint}: {exc}") from None
        if task and task not in tasks:
            raise SystemExit(f"error: checkpoint {args.checkpoint} has no task {task!r} (tasks: {', '.join(tasks)})")
    if args.system in PEER_OPTIONS:   # accepted and dropped, the result line would look like a run of them
        reads = PEER_OPTIONS[args.system]
        if ignored := _flags_given(args, [n for n in (*TRAINING_OPTIONS, "checkpoint") if n not in reads]):
            raise SystemExit(f"error: --system {args.system} does not read {ignored}: they set --system ours")
    if args.base:   # a checkpoint: the trainer's advice, --init-from, is no option here
        from training.base_models import checkpoint_as_base
        if checkpoint_as_base(args.base):
            raise SystemExit(f"error: --base {args.base} is a checkpoint of this project, not an encoder: "
                             f"--system ours --checkpoint {args.base} scores it")
    if args.system == "spacy" and args.device not in ("auto", "cpu"):
        raise SystemExit(f"error: --system spacy runs on the CPU here, not on --device {args.device}")
    refuse_unusable_device(args.device)
    refuse_output_over_an_input(args)
    files = {name: getattr(args, name) for name in ("train", "dev", "test", "test_stances", "conllpp")
             if isinstance(getattr(args, name, None), str)}
    real = {name: os.path.realpath(path) for name, path in files.items()}
    for a, b in itertools.combinations(real, 2):
        if real[a] == real[b] and not args.limit:   # a smoke run (--limit, recorded in its line) may reuse a file
            raise SystemExit(f"error: --{a.replace('_', '-')} and --{b.replace('_', '-')} are the same file "
                             f"({files[a]}): a split would be scored on what it trained or selected on")


def _flags_given(args, names) -> str:
    """The options of `names` that the command sets, as flags ("--epochs, --crf"): --resume where given."""
    return ", ".join("--" + n.replace("_", "-") for n in names
                     if getattr(args, n) is not None and (n != "resume" or args.resume))


def refuse_output_over_an_input(args) -> None:
    """--output-json appends: naming a data file the run reads, or a file of the checkpoint it
    scores or trains, it would corrupt it."""
    if not args.output_json:
        return
    if os.path.isdir(args.output_json) or args.output_json.endswith(os.sep) \
            or not os.path.isdir(os.path.dirname(os.path.abspath(args.output_json))):
        raise SystemExit(f"error: --output-json {args.output_json}: give a file in an existing folder")
    out = os.path.realpath(args.output_json)
    for name, value in vars(args).items():
        if name != "output_json" and isinstance(value, str) and os.path.isfile(value) and os.path.realpath(value) == out:
            raise SystemExit(f"error: --output-json {args.output_json} is --{name.replace('_', '-')}, an input of "
                             "this run: give a results file of its own")
    for name in ("checkpoint", "output"):
        folder = getattr(args, name, None)
        if folder and Path(out).is_relative_to(os.path.realpath(folder)):
            raise SystemExit(f"error: --output-json {args.output_json} is inside the --{name} folder: give a "
                             "results file elsewhere")


def refuse_labels_the_checkpoint_lacks(args, docs: dict, task: str):
    """With --checkpoint, labels of the splits scored (entity types for NER) that the
    checkpoint's `task` does not have, refused before it loads: each would only be scored as a
    miss. Returns that task's TaskSpec (None without --checkpoint)."""
    if args.system != "ours" or not args.checkpoint:
        return None
    from inference.folders import MANIFEST
    from inference.manifest import Manifest
    spec = Manifest.read(Path(args.checkpoint) / MANIFEST).task(task)
    known = set(spec.entity_types if spec.kind == "ner" else spec.labels)
    found = {label for name, split in docs.items() if name != "train" for d in split   # the splits scored
             for label in [*d.labels.get(task, []), *(s.label for s in d.spans.get(task, []))]}
    if found - known:
        raise SystemExit(f"error: --checkpoint {args.checkpoint}: its {task!r} labels ({', '.join(sorted(known))}) "
                         f"lack {', '.join(sorted(found - known))}, which the benchmark's data holds: it was trained "
                         "for other labels")
    return spec


def refuse_entity_types_unknown(path, docs, task: str, known: set, lacking: str):
    """Gold entity types of a file outside `known`, refused before any scoring: each would only
    count as a miss. `lacking` says who lacks them ("checkpoint X lacks")."""
    if unknown := {span.label for doc in docs for span in doc.spans[task]} - known:
        raise SystemExit(f"error: {path}: entity types {', '.join(sorted(unknown))}, which {lacking} "
                         f"({', '.join(sorted(known))})")


@contextlib.contextmanager
def one_line_errors():
    """Bad input, a path, or an extra not installed (`--runtime onnx`): one line, as newsmodel says
    it, not a traceback (a library's own ValueError or ImportError keeps its traceback, which says where)."""
    from training.corpus import DataError
    try:
        yield
    except (DataError, OSError, ValueError, ImportError) as exc:
        if isinstance(exc, (ValueError, ImportError)) and not _raised_here(exc):
            raise
        raise SystemExit(f"error: {exc}") from None


def _raised_here(exc: BaseException) -> bool:
    """Whether `exc` was raised by this project's own code (a refusal that says what is wrong),
    not inside a library (a ValueError there may be a bug, whose traceback is wanted)."""
    tb = exc.__traceback__
    while tb.tb_next:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "")
    return module.split(".")[0] in ("training", "inference", "common", "__main__")   # installed or not


def main(run, args, task: str | None = None, benchmark: str | None = None, recipe: dict | None = None) -> None:
    """Run `run(args) -> result dict` with everything it prints sent to stderr (spaCy and the
    trainer log to stdout), then emit the result: stdout carries the JSON line alone. `task`: the
    one the benchmark scores, which a --checkpoint must have; `benchmark`: the name of the default
    folder our system trains into; `recipe`: the settings ours trains with, checked before any work."""
    if benchmark and args.system == "ours" and not args.checkpoint:
        args.output = ours_output(args, benchmark)   # so --output-json is checked against the default too
    refuse_unmeant(args, task)
    if benchmark and recipe is not None:
        with one_line_errors():
            refuse_unusable_training(args, benchmark, recipe)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    with contextlib.redirect_stdout(sys.stderr), one_line_errors():
        result = run(args)
    if args.system == "spacy":
        result["device"] = "cpu"   # spaCy trains and tags on the CPU here, whatever torch could use
    elif args.system != "tfidf-svm":
        from inference.devices import device_name, resolve_device
        result.setdefault("device", device_name(resolve_device(args.device)))
    if getattr(args, "runtime", None):
        result["runtime"] = args.runtime   # load() picks it from the checkpoint: the figures move with it
    if getattr(args, "trained_into", None):
        result["output"] = args.trained_into
    # Settings that change what a figure means go into the line itself.
    for name in ("epochs", "max_steps", "limit", "max_train_docs", "max_dev_docs", "window_length"):   # a smoke run's figures must never pass for a real one
        if getattr(args, name):
            result[name] = getattr(args, name)
    result["seed"] = args.seed   # every system's training and every hold-out and sample: seeds 13 and 14 differ
    if args.base:   # another encoder: the figures are that encoder's
        result["base"] = args.base
    for name in ("group_by_length", "recase_capitals", "crf", "lexical_terms"):   # ours' recipe overridden
        if getattr(args, name) is not None:
            result[name] = getattr(args, name)
    if args.checkpoint and args.system == "ours":
        result["checkpoint"] = args.checkpoint
        for key in ("train_documents", "train_pairs"):   # counted here, not what the checkpoint learnt from
            result.pop(key, None)
    emit(result, args.output_json)
