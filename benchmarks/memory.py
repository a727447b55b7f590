"""Peak memory of `predict` on one very long text (default 1 MB): it must stay bounded.

    python benchmarks/memory.py --checkpoint checkpoints/news --megabytes 1
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import common
from inference import default_checkpoint, load
from inference.devices import device_name

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--source", default=str(ROOT / "data" / "test.jsonl"), help="JSON lines whose texts are repeated")
    parser.add_argument("--megabytes", type=float, default=1.0)
    args = parser.parse_args()
    if not (math.isfinite(args.megabytes) and args.megabytes * 1_000_000 >= 1):
        raise SystemExit(f"error: --megabytes {args.megabytes}: give a size of at least one character (1e-6)")
    texts = common.jsonl_texts(args.source)   # a bad source is named before the model loads
    with common.one_line_errors():
        model = load(args.checkpoint)
    model.predict("warm-up text in Geneva.")
    loaded_mb = common.peak_rss_mb()
    size = int(args.megabytes * 1_000_000)
    copy = "".join(t + "\n\n" for t in texts)   # each text, the last one's too, apart from the next
    text = (copy * (size // len(copy) + 1))[:size]
    start = time.perf_counter()
    result = model.predict(text)
    seconds = time.perf_counter() - start
    peak_mb = common.peak_rss_mb()
    print(json.dumps({"benchmark": "memory", "system": "ours", "split": Path(args.source).name,
                      "runtime": model.runtime, "device": device_name(model.device),
                      "characters": len(text), "words": len(text.split()), "entities": len(result.entities),
                      "seconds": round(seconds, 1), "words_per_second": round(len(text.split()) / seconds, 1),
                      "rss_after_load_mb": round(loaded_mb, 1), "peak_rss_mb": round(peak_mb, 1),
                      "train_seconds": None}))


if __name__ == "__main__":
    main()
