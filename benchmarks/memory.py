"""Peak memory of `predict` on one very long text (default 1 MB): it must stay bounded. The
resident memory after loading, then the peak from there to the end of `predict` (Linux: the
peak is reset after loading, else it is the process's since it started).

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


def rss_mb_resetting_peak() -> tuple[float, str]:
    """(This process's resident memory in MB, what its peak counts from): now, the peak (VmHWM)
    reset to it, where Linux allows ("load"); else a load whose own peak passed what it kept (int8
    copies the weights) hides predict's below it: the peak so far, and the process's ("start")."""
    try:
        status = Path("/proc/self/status").read_text()
        Path("/proc/self/clear_refs").write_text("5")   # "5": reset the peak resident set size
    except OSError:
        return common.peak_rss_mb(), "start"
    return round(int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1]) / 1024, 1), "load"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--source", default=str(ROOT / "data" / "test.jsonl"), help="JSON lines whose texts are repeated")
    parser.add_argument("--megabytes", type=float, default=1.0)
    args = common.parse_args(parser)
    if not (math.isfinite(args.megabytes) and args.megabytes * 1_000_000 >= 1):
        raise SystemExit(f"error: --megabytes {args.megabytes}: give a size of at least one character (1e-6)")
    common.refuse_missing_inputs([("--source", args.source)])
    texts = common.jsonl_texts(args.source)   # a bad source is named before the model loads
    with common.one_line_errors():
        common.refuse_no_checkpoint(args.checkpoint)   # after the inputs' own checks
        model = load(args.checkpoint)
    model.predict("warm-up text in Geneva.")
    loaded_mb, peak_since = rss_mb_resetting_peak()
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
                      "peak_since": peak_since, "train_seconds": None}))


if __name__ == "__main__":
    main()
