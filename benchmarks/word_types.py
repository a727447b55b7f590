"""How the model types one word across many articles: every occurrence of the word (whole word,
case-sensitive), and the type of the entity that covers it, or none. For spellings the training
data may lack ("US" where the bundled corpus writes "U.S.") and words that must stay out of
entities (the pronoun "us").

    python benchmarks/word_types.py --checkpoint checkpoints/news --articles ../shared/data/bbc_news/dev.jsonl --word US --word us

--articles: a file ending in .jsonl holds JSON lines with a "text" field; any other file is one
plain-text article. Prints one JSON line: per word, its occurrences, the count per type of the
entity that contains the whole occurrence ("none": no entity touches it; "partial": an entity
takes only part of it), how many of those entities are longer than the word, and the longer
spans with their types. Types are counted within one NER task: where the checkpoint has several,
each word is counted once per task and named with it ("US (entities)"), as consistency.py names them.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import common
from inference import default_checkpoint, load
from inference.devices import device_name
from training.cli.checkpoints import add_runtime_arguments
from training.readers._files import read_utf8


def read_texts(paths: list[str]) -> list[str]:
    texts = []
    for path in paths:
        if path.endswith(".jsonl"):
            texts += common.jsonl_texts(path)
        else:
            texts.append(read_utf8(Path(path)))
    return texts


def word_types(texts: list[str], predictions, word: str, task: str | None = None) -> dict:
    """Occurrences of `word` in `texts` and the types of the predicted entities that cover them:
    those of the NER task `task` alone (None: every entity; two tasks typing one name differ by design)."""
    types, longer = Counter(), Counter()
    for text, prediction in zip(texts, predictions):
        entities = [e for e in prediction.entities if task is None or e.task == task]
        for match in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text):
            cover = next((e for e in entities if e.start <= match.start() and match.end() <= e.end), None)
            touches = (e.start < match.end() and match.start() < e.end for e in entities)
            types[cover.label if cover else "partial" if any(touches) else "none"] += 1
            if cover and (cover.start, cover.end) != match.span():
                longer[f"{cover.text} ({cover.label})"] += 1
    return {"occurrences": sum(types.values()), "types": dict(types.most_common()),
            "in_longer_spans": sum(longer.values()), "longer_spans": dict(longer.most_common())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--articles", action="append", required=True, help="a .jsonl file of {\"text\"} or a text file")
    parser.add_argument("--word", action="append", required=True, help="the word to follow (repeat for more)")
    add_runtime_arguments(parser)
    args = common.parse_args(parser)
    common.refuse_unusable_device(args.device, args.runtime, args.quantize)
    if not all(word.strip() for word in args.word):
        raise SystemExit("error: --word: give a word, not blank space")
    common.refuse_missing_inputs([("--articles", path) for path in args.articles])
    with common.one_line_errors():
        texts = read_texts(args.articles)   # before the model loads: a bad path is named at once
        common.refuse_no_checkpoint(args.checkpoint)   # after the inputs' own checks
        model = load(args.checkpoint, runtime=args.runtime, quantize=args.quantize, device=args.device)
    common.refuse_without_entities(model, args.checkpoint, "every occurrence would count as outside an entity")
    predictions = model.predict_batch(texts)
    ner = [task.name for task in model.manifest.tasks if task.kind == "ner"]
    # before: each occurrence counted under the first entity of any task that covered it
    words = {word: word_types(texts, predictions, word) for word in args.word} if len(ner) == 1 else \
        {f"{word} ({task})": word_types(texts, predictions, word, task) for word in args.word for task in ner}
    print(json.dumps({"benchmark": "word_types", "system": "ours", "split": "+".join(Path(p).name for p in args.articles),
                      "runtime": model.runtime, "device": device_name(model.device), "articles": len(texts),
                      "words": words,
                      "train_seconds": None, "words_per_second": None}, ensure_ascii=False))


if __name__ == "__main__":
    main()
