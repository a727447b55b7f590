"""Stance benchmark: FNC-1, a headline against an article body (agree / disagree / discuss /
unrelated). Reports the official FNC-1 relative score and macro-F1 over the four classes (the
score rewards the majority class, unrelated, so macro-F1 is the fairer figure).

    python benchmarks/stance.py --system ours \\
        --test-stances PATH/competition_test_stances.csv --test-bodies PATH/competition_test_bodies.csv
    python benchmarks/stance.py --system tfidf-svm --test-stances ... --test-bodies ...

Systems:
  ours       training.trainer.train on the pairs with RECIPE (1 epoch, a lexical gate that decides
             "unrelated" first, windows of 384 tokens; --epochs overrides), labels by the checkpoint's
             decision rule on the encoder pass evaluate takes (training.evaluation.head_outputs: each
             headline read with its body as predict(headline, pair=body) reads them);
             --checkpoint DIR scores a trained checkpoint.
  tfidf-svm  LinearSVC() on the TF-IDF vectors of headline and body (one vocabulary, fitted on the
             training headlines and bodies) plus their cosine similarity.
Both read the same inputs: bodies cut to their first --max-body-words words (default 200) and, with
--unrelated-fraction F < 1, only that share of the unrelated training pairs (dev and test keep all).
dev = the pairs of 10% of the training bodies (seeded): test bodies are unseen, so dev bodies are too.
"""
from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import common

SYSTEMS = ["ours", "tfidf-svm"]
# ours: headline and body (cut as --max-body-words says) in one window; "unrelated" decided first
# by a lexical gate, so the encoder trains on the related pairs alone
RECIPE = {"epochs": 1, "lexical_terms": 50_000, "gate_label": "unrelated", "window_length": 384}
TASK = "stance"
LABELS = ["agree", "disagree", "discuss", "unrelated"]
RELATED = LABELS[:3]
STANCE_FIELDS = ["Headline", "Body ID", "Stance"]
BODY_FIELDS = ["Body ID", "articleBody"]


def fnc_score(gold: list[str], predicted: list[str]) -> float:
    """The official FNC-1 scorer (fnc-1/scorer.py) as a share of the best possible score:
    +0.25 for the right related/unrelated call, +0.75 more for the right class of a related pair."""
    def score(pred):
        total = 0.0
        for g, p in zip(gold, pred):
            if g == p:
                total += 0.25 + (0.50 if g != "unrelated" else 0.0)
            if g in RELATED and p in RELATED:
                total += 0.25
        return total
    best = score(gold)
    return score(predicted) / best if best else 0.0


def read_csv(path: str) -> list[tuple[str, dict]]:
    """("path:line", row) of a CSV file's rows as the pairs reader reads them (its strict CSV: a
    stray quote, a row cut short or one with a cell too many is refused at its line, not reshaped
    in silence; a line of white space is skipped); every problem, and bytes that are not UTF-8,
    one DataError naming the file and line."""
    from training.corpus import DataError
    from training.readers.classification import _csv_records
    problems: list[str] = []
    rows = list(_csv_records(Path(path), ",", [], problems, quotes_as_text=False, quotes_option=False))
    if problems:
        raise DataError(problems)
    return rows


def write_csv(rows: list[dict], fields: list[str], path: Path) -> str:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def cap(body: str, words: int) -> str:
    """The body up to the end of its `words`-th word, line breaks kept."""
    if not words:
        return body
    ends = [m.end() for m in re.finditer(r"\S+", body)]
    return body[:ends[words - 1]] if len(ends) > words else body


def checked_files(stances_option: str, stances_path: str, bodies_option: str, bodies_path: str,
                  limit: int | None) -> tuple[list[dict], list[dict]]:
    """(stance rows cut to `limit`, body rows) of a user's pair of files, refused in one line that
    names them (and the first such row's line), not the cut copies in a temporary folder the
    readers would name: a missing column, a Body ID the bodies file lacks, or a stance outside
    FNC-1's four; then what the pairs reader refuses in either whole file, at its lines."""
    tables = []
    for option, path, fields in ((stances_option, stances_path, STANCE_FIELDS), (bodies_option, bodies_path, BODY_FIELDS)):
        numbered = read_csv(path)
        rows = [row for _, row in numbered]
        missing = [f for f in fields if rows and f not in rows[0]]
        if missing or not rows:
            raise SystemExit(f"error: {option} {path}: " + (f"no column {', '.join(map(repr, missing))} (columns: "
                             f"{', '.join(rows[0])})" if rows else "no rows"))
        tables.append(numbered)
    numbered, body_rows = common.head(tables[0], limit), [row for _, row in tables[1]]
    rows = [row for _, row in numbered]
    cell = lambda row, field: row[field].strip()
    first = lambda field, value: next(where for where, r in numbered if cell(r, field) == value)   # its file:line
    known = {cell(r, "Body ID") for r in body_rows}
    unknown = list(dict.fromkeys(cell(r, "Body ID") for r in rows if cell(r, "Body ID") not in known))
    if unknown:
        raise SystemExit(f"error: {stances_option} {first('Body ID', unknown[0])}: Body ID {unknown[0]!r}"
                         + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                         + f" is not in {bodies_option} {bodies_path}")
    labels = list(dict.fromkeys(cell(r, "Stance") for r in rows if cell(r, "Stance") not in LABELS))
    if labels:
        raise SystemExit(f"error: {stances_option} {first('Stance', labels[0])}: stance {labels[0]!r} is not one "
                         f"of {', '.join(LABELS)}")
    # what the pairs reader would refuse in the cut copies (an empty headline or body, a Body ID
    # given twice), named at the user's files and lines, not at copies in a temporary folder
    from training.corpus import DataError
    from training.readers.classification import join_pairs
    problems: list[str] = []
    join_pairs(tables[0], tables[1], bodies_path, problems, task=TASK)
    if problems:
        raise DataError(problems)
    return rows, body_rows


def prepare(args, tmp: Path) -> dict[str, tuple[str, str]]:
    """(stances file, bodies file) per split, as every system reads them."""
    rows, train_body_rows = checked_files("--train", args.train, "--bodies", args.bodies, args.limit)
    test, test_body_rows = checked_files("--test-stances", args.test_stances, "--test-bodies", args.test_bodies,
                                         args.limit)
    bodies = lambda table: [{**r, "articleBody": cap(r["articleBody"], args.max_body_words)} for r in table]
    ids = list(dict.fromkeys(r["Body ID"].strip() for r in rows))
    _, dev_ids = common.holdout(ids, common.DEV_FRACTION, args.seed, "article bodies in the training pairs")
    dev_ids = set(dev_ids)
    train = [r for r in rows if r["Body ID"].strip() not in dev_ids]
    dev = [r for r in rows if r["Body ID"].strip() in dev_ids]
    if args.unrelated_fraction < 1:
        rng = random.Random(args.seed)
        train = [r for r in train if r["Stance"].strip() != "unrelated" or rng.random() < args.unrelated_fraction]
        if not train:   # else the reader names the empty cut copy
            raise SystemExit(f"error: --unrelated-fraction {args.unrelated_fraction} keeps none of the training "
                             f"pairs of {args.train}: raise it")
    train, dev = common.sample(train, args.max_train_docs, args.seed), common.sample(dev, args.max_dev_docs, args.seed)
    train_bodies = write_csv(bodies(train_body_rows), BODY_FIELDS, tmp / "bodies.csv")
    test_bodies = write_csv(bodies(test_body_rows), BODY_FIELDS, tmp / "test_bodies.csv")
    return {"train": (write_csv(train, STANCE_FIELDS, tmp / "train.csv"), train_bodies),
            "dev": (write_csv(dev, STANCE_FIELDS, tmp / "dev.csv"), train_bodies),
            "test": (write_csv(test, STANCE_FIELDS, tmp / "test.csv"), test_bodies)}


def tfidf_svm(args, train_docs):
    """(predict(docs) -> labels, train seconds)."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    def features(vectorizer, docs):
        bodies = list(dict.fromkeys(d.text_pair for d in docs))   # each body vectorised once
        where = {b: i for i, b in enumerate(bodies)}
        h = vectorizer.transform([d.text for d in docs])
        b = vectorizer.transform(bodies)[[where[d.text_pair] for d in docs]]
        cosine = np.asarray(h.multiply(b).sum(axis=1))   # rows are L2-normalised: the dot is the cosine
        return hstack([h, b, csr_matrix(cosine)]).tocsr()

    stances = sorted({d.labels[TASK][0] for d in train_docs})
    if len(stances) < 2:   # else scikit-learn's traceback
        raise SystemExit(f"error: the training pairs of --train {args.train} (as cut and sampled) hold one stance "
                         f"alone ({stances[0]}): the SVM needs two or more")
    with common.Stopwatch() as clock:
        texts = list(dict.fromkeys([d.text for d in train_docs] + [d.text_pair for d in train_docs]))
        vectorizer = TfidfVectorizer().fit(texts)
        svm = LinearSVC(random_state=args.seed).fit(features(vectorizer, train_docs),
                                                    [d.labels[TASK][0] for d in train_docs])
    return (lambda docs: list(svm.predict(features(vectorizer, docs)))), clock.seconds


def ours(model, docs) -> tuple[list[str], dict]:
    """Our labels from the encoder pass evaluate takes (head_outputs: every pair's windows, as predict
    reads them) and the checkpoint's calibration and decision rule, and the head's ECE before and
    after calibration."""
    from inference.calibration import expected_calibration_error, rescale
    from training.evaluation import head_outputs
    [(head, _)] = head_outputs(model, docs)
    task = head.task
    # a pair with nothing to read gets no label (NaN scores): a miss (""), and out of the ECE
    decided = [(task.decide(row) or [""])[0] for row in rescale(head.probs, task.kind, task.temperature)]
    scored = head.scored()
    return decided, {"ece_before": expected_calibration_error(*scored.confidences(1.0)),
                     "ece_after": expected_calibration_error(*scored.confidences(task.temperature))}


def metrics(gold: list[str], predicted: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score
    per_class = f1_score(gold, predicted, labels=LABELS, average=None, zero_division=0)
    return {"fnc_score": fnc_score(gold, predicted),
            "macro_f1": float(per_class.mean()), "accuracy": accuracy_score(gold, predicted),
            "per_class_f1": dict(zip(LABELS, map(float, per_class)))}


def run(args) -> dict:
    from training.readers import read_pairs_joined
    with common.cut_files_folder(args, "fnc1") as tmp:
        files = prepare(args, tmp)
        docs = {split: read_pairs_joined(stances, bodies, task=TASK) for split, (stances, bodies) in files.items()}
        common.refuse_labels_the_checkpoint_lacks(args, docs, TASK)
        if args.system == "ours":
            source = lambda split: {"path": files[split][0], "format": "pairs",
                                    "options": {"bodies": files[split][1], "task": TASK}}
            model, train_seconds = common.train_ours(args, "fnc1", RECIPE, train=source("train"), dev=source("dev"))
            predict = lambda ds: ours(model, ds)
        else:
            predict, train_seconds = tfidf_svm(args, docs["train"])

        def score(split):
            with common.Stopwatch() as clock:
                predicted = predict(docs[split])
            calibration = {}
            if isinstance(predicted, tuple):   # ours: labels and the head's calibration figures
                predicted, calibration = predicted
            return {**metrics([d.labels[TASK][0] for d in docs[split]], predicted), **calibration}, clock.seconds

        test, seconds = score("test")
        dev, _ = score("dev")
        words = common.count_words(t for d in docs["test"] for t in (d.text, d.text_pair))
        result = {"benchmark": "fnc1", "system": args.system, "split": Path(args.test_stances).name, **test,
                  "dev_fnc_score": dev["fnc_score"], "dev_macro_f1": dev["macro_f1"],
                  "max_body_words": args.max_body_words, "unrelated_fraction": args.unrelated_fraction,
                  "train_pairs": len(docs["train"]), "dev_pairs": len(docs["dev"]), "test_pairs": len(docs["test"]),
                  "test_words": words,
                  "train_seconds": train_seconds, "words_per_second": common.words_per_second(words, seconds)}
    return result


def main() -> None:
    p = common.parser(__doc__, SYSTEMS, entity_heads=False)
    p.add_argument("--train", default=str(common.DATA / "fnc1" / "train_stances.csv"), help="training stances CSV")
    p.add_argument("--bodies", default=str(common.DATA / "fnc1" / "train_bodies.csv"), help="training bodies CSV")
    p.add_argument("--test-stances", required=True, help="test stances CSV (Headline, Body ID, Stance)")
    p.add_argument("--test-bodies", required=True, help="test bodies CSV (Body ID, articleBody)")
    p.add_argument("--max-body-words", type=int, default=200, help="cut each body after this many words (0: whole)")
    p.add_argument("--unrelated-fraction", type=float, default=1.0,
                   help="keep this share of the unrelated training pairs (seeded); dev and test keep all")
    args = common.parse_args(p)
    if not 0 < args.unrelated_fraction <= 1:
        p.error("--unrelated-fraction must be in (0, 1]")
    if args.unrelated_fraction < 1 and args.checkpoint:
        p.error("--unrelated-fraction samples the training pairs; --checkpoint scores a trained checkpoint: leave it out")
    if args.max_body_words < 0:
        p.error("--max-body-words must be 0 (whole bodies) or more")
    common.main(run, args, TASK, "fnc1", RECIPE)


if __name__ == "__main__":
    main()
