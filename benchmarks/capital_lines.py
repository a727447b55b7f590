"""Entity F1 on the sentences written wholly in capitals (headlines, datelines: "SOCCER - JAPAN
GET LUCKY WIN .", "LONDON 1996-12-06") against the other sentences of a CoNLL file, through
`predict_batch`, scored by seqeval (strict, IOB2) on the file's own tokens.

    python benchmarks/capital_lines.py --checkpoint C --conll ../shared/data/conll2003/eng.testb

A sentence is in capitals when it has at least 4 cased letters and none is lower case: the
lines `--recase-capitals` recases (`inference.recasing.is_capital_line`). Prints
one JSON line: per group, its sentences, precision, recall, F1 and F1 per type.
"""
from __future__ import annotations

import argparse
import json

import common
import torch
from conll import sentence_ranges

from inference import load
from inference.devices import device_name
from inference.recasing import is_capital_line
from training.cli.checkpoints import add_runtime_arguments
from training.corpus import Span
from training.metrics import entity_metrics
from training.readers import read_conll
from training.targets import spans_to_tags, word_spans

TASK = "entities"


def split_by_capitals(docs, predictions) -> dict:
    """(gold tags, predicted tags) of each sentence, grouped into "capitals" and "other"."""
    groups = {"capitals": ([], []), "other": ([], [])}
    for doc, prediction in zip(docs, predictions):
        predicted = [Span(e.start, e.end, e.label) for e in prediction.entities]
        gold = spans_to_tags(len(doc.tokens), word_spans(doc.tokens, doc.spans[TASK]))
        pred = spans_to_tags(len(doc.tokens), word_spans(doc.tokens, predicted))
        for first, end in sentence_ranges(doc):
            sentence = doc.text[doc.tokens[first][0]:doc.tokens[end - 1][1]]
            tags = groups["capitals" if is_capital_line(sentence) else "other"]
            tags[0].append(gold[first:end])
            tags[1].append(pred[first:end])
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--conll", required=True, help="a CoNLL-2003 style file")
    parser.add_argument("--threads", type=common.positive, help="torch threads (default: torch's own choice)")
    add_runtime_arguments(parser)
    args = common.parse_args(parser)
    common.refuse_unusable_device(args.device, args.runtime, args.quantize)
    common.refuse_missing_inputs([("--conll", args.conll)])
    if args.threads:
        torch.set_num_threads(args.threads)
    with common.one_line_errors():
        docs = read_conll(args.conll, task=TASK)   # before the model loads: a bad file is named at once
        common.refuse_no_checkpoint(args.checkpoint)   # after the inputs' own checks
        model = load(args.checkpoint, runtime=args.runtime, quantize=args.quantize, device=args.device)
    common.refuse_without_entities(model, args.checkpoint, "every gold entity would count as missed")
    known = {t for task in model.manifest.tasks if task.kind == "ner" for t in task.entity_types}
    common.refuse_entity_types_unknown(args.conll, docs, TASK, known, f"checkpoint {args.checkpoint} lacks")
    result = {"benchmark": "capital_lines", "checkpoint": args.checkpoint, "file": args.conll,
              "runtime": model.runtime, "device": device_name(model.device)}
    for name, (gold, pred) in split_by_capitals(docs, model.predict_batch([d.text for d in docs])).items():
        if not gold:   # a file without such sentences: nothing to score
            result[name] = {"sentences": 0}
            continue
        result[name] = {"sentences": len(gold), **common.entity_figures(entity_metrics(gold, pred))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
