"""Do the other runtimes and the exported pipeline find the entities that fp32 PyTorch finds?

    python benchmarks/runtime_agreement.py --checkpoint checkpoints/news \\
        --file data/example_article.txt --file ../shared/examples/summit_article.txt

For each file: the entities (start, end, type) of fp32 PyTorch, then those of every other runtime
this machine has (PyTorch int8; ONNX Runtime fp32 and int8 with the `onnx` extra) and of the
transformers token-classification pipeline over the exported NER weights (`newsmodel export`,
`aggregation_strategy="first"`, `stride=128`: argmax, no word shapes unless the encoder reads
them from its token types, no Viterbi, no one type per name). Prints one JSON line: per file and
variant, how many entities equal fp32's exactly (offsets and type, and task where the checkpoint has
several NER tasks: then named after each span) and the ones that do not; the
pipeline, which carries one NER task (`--task`), against fp32's entities of that task, whose
number its entry gives ("fp32").

    python benchmarks/runtime_agreement.py --checkpoint checkpoints/news \
        --articles ../shared/data/bbc_news/dev.jsonl --variants torch-int8

`--articles`: JSON lines with "text", counted over all of them (how many, not which);
`--variants`: only these (comma separated: torch-int8, onnx, onnx-int8, pipeline).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import common
from inference import default_checkpoint, load
from inference.export import export_ner
from inference.folders import MANIFEST
from inference.manifest import Manifest
from inference.runtimes import RUNTIMES, available
from inference.tokenization import has_letter_or_digit
from training.readers._files import read_utf8


def pipeline_entities(exported: Path, texts: list[str]) -> list[set[tuple[int, int, str]]]:
    from transformers import pipeline
    pipe = pipeline("token-classification", model=str(exported), aggregation_strategy="first", stride=128, device=-1)
    return [{(e["start"], e["end"], e["entity_group"]) for e in pipe(text)} for text in texts]


def compare(reference: set, other: set, text: str) -> dict:
    """Spans (start, end, type), or (start, end, type, task) where the checkpoint has several NER tasks."""
    show = lambda spans: sorted(f"{text[s:e]!r} {label} {s}-{e}" + "".join(f" ({t})" for t in task)
                                for s, e, label, *task in spans)
    return {"same": len(reference & other), "only_fp32": show(reference - other), "only_this": show(other - reference)}


def refuse_unknown_task(parser, task: str, manifest) -> list[str]:
    """The manifest's NER tasks; `task` not among them refused (before: an empty comparison that read
    as full agreement)."""
    ner = [t.name for t in manifest.tasks if t.kind == "ner"]
    if task not in ner:
        parser.error(f"--task {task}: the checkpoint's NER tasks are {', '.join(ner) or 'none'}")
    return ner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--file", action="append", default=[], help="a plain-text article (repeatable)")
    parser.add_argument("--articles", help='JSON lines with "text": counted together')
    parser.add_argument("--variants", help="comma separated (default: every runtime this machine has, and pipeline)")
    parser.add_argument("--task", default="entities",
                        help="the NER task the pipeline export carries (the runtimes compare every NER task's entities)")
    args = common.parse_args(parser)
    if not args.file and not args.articles:
        parser.error("give --file or --articles")
    common.refuse_missing_inputs([("--file", f) for f in args.file]
                                 + [("--articles", args.articles)] * bool(args.articles))
    with common.one_line_errors():   # a file not UTF-8: one line, before the model loads
        files = {f: read_utf8(Path(f)) for f in dict.fromkeys(args.file)}   # as given: two folders may share a name
    if blank := [f for f, text in files.items() if not has_letter_or_digit(text)]:   # "fp32: 0" read as agreement
        raise SystemExit(f"error: {', '.join(blank)}: no text")   # as jsonl_texts says it
    articles = common.jsonl_texts(args.articles) if args.articles else []   # a line without text: named
    texts = [*files.values(), *articles]
    names = [name for name in available() if name != "torch"] + ["pipeline"]
    # "torch-int8," or "onnx, pipeline": an empty name and spaces around the commas are not names
    wanted = list(dict.fromkeys(n.strip() for n in args.variants.split(",") if n.strip())) if args.variants else names
    if not wanted:
        parser.error(f"--variants {args.variants!r}: no names: give some of {', '.join(names)}")
    if set(wanted) - set(names):
        parser.error(f"--variants: {', '.join(sorted(set(wanted) - set(names)))} not among {', '.join(names)}")
    common.refuse_no_checkpoint(args.checkpoint)   # after the inputs' own checks
    with common.one_line_errors():   # a manifest that cannot be read, a checkpoint that cannot load
        ner = refuse_unknown_task(parser, args.task, Manifest.read(Path(args.checkpoint) / MANIFEST))   # before loading
        # on the CPU, as every other variant runs (on a GPU machine "auto" would give fp32 another device)
        fp32 = load(args.checkpoint, runtime="torch", quantize=False, device="cpu")
    found = lambda model: [{(e.start, e.end, e.label, e.task) for e in model.predict(text).entities}
                           for text in texts]
    of_task = lambda spans, task: [{span[:3] for span in doc if span[3] == task} for doc in spans]
    fp32_spans = found(fp32)
    # keyed by task where there are several: two tasks that find one span found two entities
    keyed = (lambda spans: spans) if len(ner) > 1 else (lambda spans: of_task(spans, ner[0]))
    reference = keyed(fp32_spans)
    variants = {name: keyed(found(load(args.checkpoint, **RUNTIMES[name]))) for name in wanted if name != "pipeline"}
    references = dict.fromkeys(variants, reference)
    if "pipeline" in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            variants["pipeline"] = pipeline_entities(export_ner(fp32, args.task, Path(tmp) / "ner"), texts)
        # its task's alone: the other NER tasks' entities read as ones it missed
        references["pipeline"] = of_task(fp32_spans, args.task)
    own = lambda v, count: {"fp32": count} if v == "pipeline" else {}
    line = {"benchmark": "runtime-agreement", "system": "ours", "checkpoint": args.checkpoint, "device": "cpu",
            "files": {name: {"fp32": len(reference[i]),
                             **{v: {**own(v, len(references[v][i])), **compare(references[v][i], spans[i], texts[i])}
                                for v, spans in variants.items()}}
                      for i, name in enumerate(files)}}
    if articles:
        in_articles = range(len(files), len(texts))
        line["articles"] = {"documents": len(articles), "fp32": sum(len(reference[i]) for i in in_articles),
                            **{v: {**own(v, sum(len(references[v][i]) for i in in_articles)),
                                   "same": sum(len(references[v][i] & spans[i]) for i in in_articles),
                                   "only_fp32": sum(len(references[v][i] - spans[i]) for i in in_articles),
                                   "only_this": sum(len(spans[i] - references[v][i]) for i in in_articles)}
                               for v, spans in variants.items()}}
    print(json.dumps(line))


if __name__ == "__main__":
    main()
