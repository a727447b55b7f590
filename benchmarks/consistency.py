"""Type consistency within one article: the capitalised words that the model puts into entities
of more than one type (e.g. "Putin" as PER in one mention and MISC in another).

    python benchmarks/consistency.py --checkpoint checkpoints/news --file ../shared/examples/summit_article.txt

Prints one JSON line: every entity, and each word with the types it got (only words with two or
more). A word counts when it is capitalised and part of the entity's text. Types are compared
within one NER task: where the checkpoint has several, each word is named with its task
("Putin (entities)") and each span ends with its task.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import common
from inference import default_checkpoint, load
from inference.devices import device_name
from inference.tokenization import has_letter_or_digit
from training.cli.checkpoints import add_runtime_arguments
from training.readers._files import read_utf8


def mixed_types(entities, by_task: bool | None = None) -> dict[str, list[str]]:
    """Capitalised word ("Élysée" too) -> the sorted entity types it occurs in, where there are two or more
    within one NER task (two tasks typing one name differ by design: "PER" and "WEAPON"). `by_task`:
    name each word with its task ("Putin (entities)"); None: where the entities come from several tasks."""
    if by_task is None:
        by_task = len({e.task for e in entities}) > 1
    types = defaultdict(set)
    for e in entities:
        # "U.S." and "U.N." are one word each: cut at their dots, "U" would be one word of both
        for word in re.findall(r"[^\W\d_][\w'’]*(?:(?:\.[^\W\d_][\w'’]*)+\.?)?", e.text):
            if word[0].isupper():   # "Putin's", "PUTIN'S", "Jones'" are Putin, PUTIN, Jones; "O'Brien" stays whole
                word = re.sub(r"['’][sS]?$", "", word)
                types[f"{word} ({e.task})" if by_task else word].add(e.label)
    return {word: sorted(t) for word, t in sorted(types.items()) if len(t) > 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--file", required=True, help="the article, plain text")
    add_runtime_arguments(parser)
    args = common.parse_args(parser)
    common.refuse_unusable_device(args.device, args.runtime, args.quantize)
    common.refuse_missing_inputs([("--file", args.file)])
    with common.one_line_errors():
        text = read_utf8(Path(args.file))   # before the model loads: a bad path is named at once
        if not has_letter_or_digit(text):   # "mixed_types": {} would read as a consistent article
            raise SystemExit(f"error: {args.file}: no text")   # as runtime_agreement.py says it
        common.refuse_no_checkpoint(args.checkpoint)   # after the inputs' own checks
        model = load(args.checkpoint, runtime=args.runtime, quantize=args.quantize, device=args.device)
    common.refuse_without_entities(model, args.checkpoint, "nothing to compare")   # else read as consistent
    prediction = model.predict(text)
    by_task = sum(task.kind == "ner" for task in model.manifest.tasks) > 1
    print(json.dumps({"benchmark": "consistency", "system": "ours", "split": Path(args.file).name,
                      "runtime": model.runtime, "device": device_name(model.device), "entities": len(prediction.entities),
                      "mixed_types": mixed_types(prediction.entities, by_task),
                      "spans": [[e.text, e.label, e.start, e.end, *[e.task] * by_task] for e in prediction.entities],
                      "train_seconds": None, "words_per_second": None}, ensure_ascii=False))


if __name__ == "__main__":
    main()
