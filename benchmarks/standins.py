"""Write the stand-in test files of benchmarks/README.md: where a corpus's held-out test file is
not at hand, a test set cut from its public training file with the benchmarks' own seeded
hold-out (common.holdout, seed 13), the same for every system.

    python benchmarks/standins.py --output standins/
writes bbc_train.jsonl + bbc_dev.jsonl (BBC: test = the BBC dev.jsonl), reuters_train.jsonl +
reuters_test.jsonl, fnc_train_stances.csv + fnc_test_stances.csv (+ the bodies file for both),
re3d_train.conll + re3d_test.conll; then run the scripts with --train/--dev/--test pointing at them.
Every input is read before any file is written, and the files are written aside and then moved
into place: a broken input or a failed write leaves no half-written file.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import common
import conll
import stance
import topic

SEED = 13


INPUTS = BBC, REUTERS, STANCES, BODIES, RE3D = (
    "bbc_news/train.jsonl", "reuters21578/modapte_train.jsonl", "fnc1/train_stances.csv", "fnc1/train_bodies.csv",
    "re3d/re3d-train.conll")


def write_all(out: Path, writers: dict) -> None:
    """Each file (name -> write(path)) written in a folder beside the outputs, then all moved into place."""
    with tempfile.TemporaryDirectory(dir=out, prefix=".standins-") as tmp:
        for name, write in writers.items():
            write(Path(tmp) / name)
        for name in writers:
            os.replace(Path(tmp) / name, out / name)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(common.DATA), help="the public data folder (../shared/data)")
    p.add_argument("--output", required=True)
    args = common.parse_args(p)
    data, out = Path(args.data), Path(args.output)
    missing = [f for f in INPUTS if not (data / f).is_file()]
    if missing:   # checked before the output folder is made
        raise SystemExit(f"error: --data {data}: no {', '.join(missing)}")
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --output {out}: a file, not a folder")
    try:   # everything read and cut before the output folder is made
        bbc_train, bbc_dev = common.holdout(topic.read_records(data / BBC), 0.1, SEED, f"records in {data / BBC}")
        reuters_train, reuters_test = common.holdout(topic.read_records(data / REUTERS), 0.2, SEED,
                                                     f"records in {data / REUTERS}")
        rows, body_rows = stance.checked_files("--data", str(data / STANCES), "--data", str(data / BODIES), None)
        re3d_train, re3d_test = common.holdout(conll.conll_blocks(str(data / RE3D)), 0.15, SEED,
                                               f"documents in {data / RE3D}")
    except ValueError as exc:   # a DataError too
        raise SystemExit(f"error: {exc}") from None
    _, test_bodies = common.holdout(list(dict.fromkeys(r["Body ID"].strip() for r in rows)), 0.1, SEED,
                                    f"bodies in {data / STANCES}")
    test_bodies = set(test_bodies)
    out.mkdir(parents=True, exist_ok=True)
    write_all(out, {
        "bbc_train.jsonl": lambda path: topic.write_records(bbc_train, path),
        "bbc_dev.jsonl": lambda path: topic.write_records(bbc_dev, path),
        "reuters_train.jsonl": lambda path: topic.write_records(reuters_train, path),
        "reuters_test.jsonl": lambda path: topic.write_records(reuters_test, path),
        "fnc_train_stances.csv": lambda path: stance.write_csv(
            [r for r in rows if r["Body ID"].strip() not in test_bodies], stance.STANCE_FIELDS, path),
        "fnc_test_stances.csv": lambda path: stance.write_csv(
            [r for r in rows if r["Body ID"].strip() in test_bodies], stance.STANCE_FIELDS, path),
        "fnc_bodies.csv": lambda path: stance.write_csv(body_rows, stance.BODY_FIELDS, path),
        "re3d_train.conll": lambda path: conll.write_blocks(re3d_train, path),
        "re3d_test.conll": lambda path: conll.write_blocks(re3d_test, path)})
    test_pairs = sum(r["Body ID"].strip() in test_bodies for r in rows)
    print(json.dumps({"output": str(out), "bbc_train": len(bbc_train), "bbc_dev": len(bbc_dev),
                      "reuters_train": len(reuters_train), "reuters_test": len(reuters_test),
                      "fnc1_train_pairs": len(rows) - test_pairs, "fnc1_test_pairs": test_pairs,
                      "re3d_train": len(re3d_train), "re3d_test": len(re3d_test)}))


if __name__ == "__main__":
    main()
