"""Write the stand-in test files of benchmarks/README.md: where a corpus's held-out test file is
not at hand, a test set cut from its public training file with the benchmarks' own seeded
hold-out (common.holdout, seed 13), the same for every system.

    python benchmarks/standins.py --output standins/
writes bbc_train.jsonl + bbc_dev.jsonl (BBC: test = the BBC dev.jsonl), reuters_train.jsonl +
reuters_test.jsonl, fnc_train_stances.csv + fnc_test_stances.csv (+ the bodies file for both),
re3d_train.conll + re3d_test.conll; then run the scripts with --train/--dev/--test pointing at them.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import common
import conll
import stance
import topic

SEED = 13


INPUTS = BBC, REUTERS, STANCES, BODIES, RE3D = (
    "bbc_news/train.jsonl", "reuters21578/modapte_train.jsonl", "fnc1/train_stances.csv", "fnc1/train_bodies.csv",
    "re3d/re3d-train.conll")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(common.DATA), help="the public data folder (../shared/data)")
    p.add_argument("--output", required=True)
    args = p.parse_args()
    data, out = Path(args.data), Path(args.output)
    missing = [f for f in INPUTS if not (data / f).is_file()]
    if missing:   # checked before the output folder is made
        raise SystemExit(f"error: --data {data}: no {', '.join(missing)}")
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --output {out}: a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    bbc_train, bbc_dev = common.holdout(topic.read_records(str(data / BBC)), 0.1, SEED)
    topic.write_records(bbc_train, out / "bbc_train.jsonl")
    topic.write_records(bbc_dev, out / "bbc_dev.jsonl")
    reuters_train, reuters_test = common.holdout(topic.read_records(str(data / REUTERS)),
                                                 0.2, SEED)
    topic.write_records(reuters_train, out / "reuters_train.jsonl")
    topic.write_records(reuters_test, out / "reuters_test.jsonl")
    rows = stance.read_csv(str(data / STANCES))
    _, test_bodies = common.holdout(list(dict.fromkeys(r["Body ID"].strip() for r in rows)), 0.1, SEED)
    test_bodies = set(test_bodies)
    stance.write_csv([r for r in rows if r["Body ID"].strip() not in test_bodies], stance.STANCE_FIELDS,
                     out / "fnc_train_stances.csv")
    stance.write_csv([r for r in rows if r["Body ID"].strip() in test_bodies], stance.STANCE_FIELDS,
                     out / "fnc_test_stances.csv")
    stance.write_csv(stance.read_csv(str(data / BODIES)), stance.BODY_FIELDS, out / "fnc_bodies.csv")
    re3d_train, re3d_test = common.holdout(conll.conll_blocks(str(data / RE3D)), 0.15, SEED)
    conll.write_blocks(re3d_train, out / "re3d_train.conll")
    conll.write_blocks(re3d_test, out / "re3d_test.conll")
    test_pairs = sum(r["Body ID"].strip() in test_bodies for r in rows)
    print(json.dumps({"output": str(out), "bbc_train": len(bbc_train), "bbc_dev": len(bbc_dev),
                      "reuters_train": len(reuters_train), "reuters_test": len(reuters_test),
                      "fnc1_train_pairs": len(rows) - test_pairs, "fnc1_test_pairs": test_pairs,
                      "re3d_train": len(re3d_train), "re3d_test": len(re3d_test)}))


if __name__ == "__main__":
    main()
