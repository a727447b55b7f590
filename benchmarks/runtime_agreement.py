"""Do the other runtimes and the exported pipeline find the entities that fp32 PyTorch finds?

    python benchmarks/runtime_agreement.py --checkpoint checkpoints/news \\
        --file data/example_article.txt --file ../shared/examples/summit_article.txt

For each file: the entities (start, end, type) of fp32 PyTorch, then those of every other runtime
this machine has (PyTorch int8; ONNX Runtime fp32 and int8 with the `onnx` extra) and of the
transformers token-classification pipeline over the exported NER weights (`newsmodel export`,
`aggregation_strategy="first"`, `stride=128`: argmax, no word shapes unless the encoder reads
them from its token types, no Viterbi, no one type per name). Prints one JSON line: per file and
variant, how many entities equal fp32's exactly (offsets and type) and the ones that do not.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from inference import default_checkpoint, load
from inference.export import export_ner
from inference.runtimes import RUNTIMES, available


def pipeline_entities(exported: Path, text: str) -> set[tuple[int, int, str]]:
    from transformers import pipeline
    pipe = pipeline("token-classification", model=str(exported), aggregation_strategy="first", stride=128, device=-1)
    return {(e["start"], e["end"], e["entity_group"]) for e in pipe(text)}


def compare(reference: set, other: set, text: str) -> dict:
    show = lambda spans: sorted(f"{text[s:e]!r} {label} {s}-{e}" for s, e, label in spans)
    return {"same": len(reference & other), "only_fp32": show(reference - other), "only_this": show(other - reference)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--file", action="append", required=True, help="a plain-text article (repeatable)")
    parser.add_argument("--task", default="entities", help="the NER task to compare")
    args = parser.parse_args()
    texts = {Path(f).name: Path(f).read_text(encoding="utf-8") for f in args.file}
    fp32 = load(args.checkpoint, runtime="torch", quantize=False)
    found = lambda model: {name: {(e.start, e.end, e.label) for e in model.predict(text).entities}
                           for name, text in texts.items()}
    reference = found(fp32)
    variants = {name: found(load(args.checkpoint, **RUNTIMES[name])) for name in available() if name != "torch"}
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_ner(fp32, args.task, Path(tmp) / "ner")
        variants["pipeline"] = {name: pipeline_entities(exported, text) for name, text in texts.items()}
    result = {name: {"fp32": len(reference[name]),
                     **{v: compare(reference[name], spans[name], texts[name]) for v, spans in variants.items()}}
              for name in texts}
    print(json.dumps({"benchmark": "runtime-agreement", "system": "ours", "checkpoint": args.checkpoint,
                      "files": result}))


if __name__ == "__main__":
    main()
