"""Topic benchmark: BBC News (5 classes, one label a story: accuracy, macro-F1) and Reuters-21578
ModApte R90 (multi-label: micro- and macro-F1).

    python benchmarks/topic.py --system ours --test PATH/bbc_test.jsonl
    python benchmarks/topic.py --system tfidf-svm --test PATH/bbc_test.jsonl
    python benchmarks/topic.py --dataset reuters --system ours --test PATH/modapte_test.jsonl
    python benchmarks/topic.py --dataset reuters --system tfidf-svm --test PATH/modapte_test.jsonl

Systems:
  ours       training.trainer.train on the classification files (RECIPES: BBC 3 epochs, Reuters 2), scored by
             training.evaluation.evaluate with the checkpoint's decision rule (Reuters: thresholds
             tuned on dev); --checkpoint DIR scores an already trained checkpoint instead.
  tfidf-svm  scikit-learn TfidfVectorizer() + LinearSVC(), defaults, no tuning; one-vs-rest for
             Reuters, each topic at the SVM's own threshold (a story may get none).
BBC: train/dev files as given; a test or dev topic that no training document has is refused
before training. Reuters: text = title + text; R90 = the topics found in both the
train and the test file, in stories with text (with --checkpoint, the R90 topics it knows, where all it knows are
R90 topics; one that knows others too is scored on R90, its predictions of the others left
out); stories with none of them are left out (the usual R90 set-up: about 7,769 / 3,019
stories of the full files, counts in the JSON line) and other topics are dropped from a story;
dev = 10% of train (seeded).
"""
from __future__ import annotations

import json
from pathlib import Path

import common

SYSTEMS = ["ours", "tfidf-svm"]
# ours: every training document; document heads read TF-IDF features beside the encoder
RECIPES = {"bbc": {"epochs": 3, "lexical_terms": 50_000}, "reuters": {"epochs": 2, "lexical_terms": 50_000}}
TASK = "topic"


def read_records(path: str) -> list[dict]:
    """The records of a JSON-lines file (a CSV the reader takes is named, not a traceback)."""
    return [record for _, record in numbered_records(path)]


def numbered_records(path: str) -> list[tuple[str, dict]]:
    """("path:line", record) of a JSON-lines file, named as the readers name a document's source."""
    from training.readers._files import JSON_ERRORS, invalid_json, json_line, read_lines   # here: importing training loads torch
    records = []
    for number, line in enumerate(map(json_line, read_lines(Path(path))), 1):
        try:
            records += [(f"{Path(path)}:{number}", json.loads(line))] if line.strip() else []
        except JSON_ERRORS as exc:
            raise ValueError(f"{path}:{number}: {invalid_json(exc)}: these files are JSON lines") from None
    return records


def write_records(records: list[dict], path: Path) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


def prepare(args, tmp: Path):
    """(files every system reads, reader options, label set or None): splits cut to --limit,
    Reuters cut down to R90 with its dev held out."""
    from training.readers import read_classification
    cut = {"train": args.max_train_docs, "dev": args.max_dev_docs, "test": None}
    if args.dataset == "bbc":
        options = {"task": TASK, "text_field": "text", "label_field": "label"}
        files = {}
        for split, path in (("train", args.train), ("dev", args.dev), ("test", args.test)):
            if args.limit or cut[split]:   # cut from what the reader read: its problems name the user's file
                docs = common.sample(common.head(read_classification(path, **options), args.limit), cut[split], args.seed)
                path = write_records([{"text": d.text, "label": d.labels[TASK][0]} for d in docs], tmp / f"{split}.jsonl")
            files[split] = path
        return files, options, None
    options = {"task": TASK, "text_field": "title+text", "label_field": "labels", "multi": True, "skip_empty": True}

    def read(path):   # each record with the reader's document of it (problems named in the user's file), or
        docs = {d.source: d for d in read_classification(path, **options)}   # None: the reader left it out
        return [(record, docs.get(where)) for where, record in common.head(numbered_records(path), args.limit)]

    train, test = read(args.train), read(args.test)
    from training.readers._files import label_list
    listed = lambda r: label_list(r["labels"], "labels", True, None, [])   # as the reader reads them: " earn", 7
    topics = lambda pairs: {label for _, doc in pairs if doc for label in doc.labels[TASK]}
    r90 = sorted(topics(train) & topics(test))
    if args.system == "ours" and args.checkpoint:   # one trained on a sample knows fewer topics: those are scored
        from inference.checkpoint import MANIFEST
        from inference.manifest import Manifest
        known = set(Manifest.read(Path(args.checkpoint) / MANIFEST).task(TASK).labels)
        # known beyond R90: scored on R90 (run); lacking R90 topics: refused, for lacking them
        r90 = sorted(known) if known <= set(r90) else r90

    def keep(pairs, labels):
        kept = [({**r, "labels": [label for label in listed(r) if label in labels]}, doc) for r, doc in pairs]
        return [(r, doc) for r, doc in kept if r["labels"]]

    train, dev = common.holdout(keep(train, r90), common.DEV_FRACTION, args.seed)
    train, dev = common.sample(train, cut["train"], args.seed), common.sample(dev, cut["dev"], args.seed)
    # Unsampled, this keeps all of R90. A sample (--max-train-docs, --max-dev-docs) may leave topics
    # out of the run's data, which the checkpoint then has no label for: test keeps only the rest
    # (as it keeps only the topics a --checkpoint knows).
    r90 = sorted(set(r90) & topics(train + dev))
    if not r90:
        raise SystemExit("no topic occurs in both the (sampled) training documents and the test file")
    records = lambda pairs: [r for r, _ in pairs]
    files = {"train": write_records(records(train), tmp / "train.jsonl"),
             "dev": write_records(records(dev), tmp / "dev.jsonl"),
             "test": write_records(records(keep(test, r90)), tmp / "test.jsonl")}
    return files, options, r90


def refuse_topics_untrained(args, docs: dict) -> None:
    """BBC test or dev topics that none of the training documents (as cut and sampled) has: every
    one would be scored a miss, or end our run after training."""
    trained = {d.labels[TASK][0] for d in docs["train"]}
    for split, path in (("test", args.test), ("dev", args.dev)):
        if unknown := sorted({d.labels[TASK][0] for d in docs[split]} - trained):
            raise SystemExit(f"error: --{split} {path}: no training document of --train {args.train} (as cut and "
                             f"sampled) has the topic {', '.join(map(repr, unknown))}: no system could predict it "
                             f"(training topics: {', '.join(sorted(trained))})")


def tfidf_svm(args, train_docs, labels: list[str] | None):
    """(predict(texts) -> label lists, train seconds)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC
    classes = labels or sorted({d.labels[TASK][0] for d in train_docs})
    if len(classes) < 2:   # else scikit-learn's traceback (BBC) or an IndexError after fitting (Reuters)
        raise SystemExit(f"error: the training documents of --train {args.train} (as cut and sampled) hold one "
                         f"topic alone ({classes[0]}): the SVM needs two or more")
    with common.Stopwatch() as clock:
        vectorizer = TfidfVectorizer()
        x = vectorizer.fit_transform([d.text for d in train_docs])
        if labels is None:
            svm = LinearSVC(random_state=args.seed).fit(x, [d.labels[TASK][0] for d in train_docs])
        else:
            binarizer = MultiLabelBinarizer(classes=labels)
            y = binarizer.fit_transform([d.labels[TASK] for d in train_docs])
            svm = OneVsRestClassifier(LinearSVC(random_state=args.seed)).fit(x, y)

    def predict(texts: list[str]) -> list[list[str]]:
        predicted = svm.predict(vectorizer.transform(texts))
        if labels is None:
            return [[label] for label in predicted]
        return [list(row) for row in binarizer.inverse_transform(predicted)]

    return predict, clock.seconds


def run(args) -> dict:
    from training.metrics import multi_label_metrics, single_label_metrics
    from training.readers import read_classification
    keys = ["accuracy", "macro_f1"] if args.dataset == "bbc" else ["micro_f1", "macro_f1"]
    with common.cut_files_folder(args, args.dataset) as tmp:
        files, options, r90 = prepare(args, tmp)
        docs = {split: read_classification(path, **options) for split, path in files.items()}
        spec = common.refuse_labels_the_checkpoint_lacks(args, docs, TASK)
        if r90 is None and not spec:   # BBC: a test or dev topic no training document has, no system can predict
            refuse_topics_untrained(args, docs)
        wanted = "single" if args.dataset == "bbc" else "multi"
        if spec and spec.kind != wanted:   # the other kind's figures have other keys
            raise SystemExit(f"error: --checkpoint {args.checkpoint}: its {TASK!r} task is {spec.kind}-label; "
                             f"{args.dataset} is scored as {wanted}-label")
        if args.system == "ours":
            from training.evaluation import evaluate
            source = lambda path: {"path": path, "format": "classification", "options": options}
            model, train_seconds = common.train_ours(args, args.dataset, RECIPES[args.dataset],
                                                     train=source(files["train"]), dev=source(files["dev"]))

            beyond = spec and r90 is not None and set(spec.labels) - set(r90)

            def score(split):
                with common.Stopwatch() as clock:   # R90 figures leave the checkpoint's other topics out
                    m = evaluate(model, docs[split], labels={TASK: r90} if beyond else None)[TASK]
                return m, clock.seconds
        else:
            predict, train_seconds = tfidf_svm(args, docs["train"], r90)

            def score(split):
                gold = [d.labels[TASK] for d in docs[split]]
                with common.Stopwatch() as clock:
                    predicted = predict([d.text for d in docs[split]])
                if r90 is None:
                    return single_label_metrics([g[0] for g in gold], [p[0] for p in predicted]), clock.seconds
                return multi_label_metrics(gold, predicted, r90), clock.seconds

        test, seconds = score("test")
        dev, _ = score("dev")
        words = common.count_words(d.text for d in docs["test"])
        result = {"benchmark": "bbc" if args.dataset == "bbc" else "reuters-r90", "system": args.system,
                  "split": Path(args.test).name, **{k: test[k] for k in keys}, **{f"dev_{k}": dev[k] for k in keys},
                  **{k: test[k] for k in common.CALIBRATION if k in test}}
        if r90 is not None:
            result["topics"] = len(r90)
        result.update(common.run_figures(docs, words, train_seconds, seconds))
    return result


def main() -> None:
    p = common.parser(__doc__, SYSTEMS, entity_heads=False)
    p.add_argument("--dataset", choices=["bbc", "reuters"], default="bbc")
    p.add_argument("--train", help="default: bbc_news/train.jsonl or reuters21578/modapte_train.jsonl under ../shared/data")
    p.add_argument("--dev", help="bbc only (default: bbc_news/dev.jsonl); reuters holds out 10%% of --train")
    p.add_argument("--test", required=True, help="held-out test file, same format as --train")
    args = common.parse_args(p)
    if args.dataset == "bbc":
        args.train = args.train or str(common.DATA / "bbc_news" / "train.jsonl")
        args.dev = args.dev or str(common.DATA / "bbc_news" / "dev.jsonl")
    else:
        args.train = args.train or str(common.DATA / "reuters21578" / "modapte_train.jsonl")
        if args.dev:
            p.error("reuters has no dev file: its dev set is 10% of --train")
    common.main(run, args, TASK, args.dataset, RECIPES[args.dataset])


if __name__ == "__main__":
    main()
