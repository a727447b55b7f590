"""`newsmodel calibrate`: refit a checkpoint's calibration on annotated data, in place."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from training.sources import FORMATS

from .checkpoints import add_checkpoint_argument, check_device, checkpoint_path, open_checkpoint, recorded_split
from .reading import FORMAT_HELP, add_reader_arguments, check_files, file_sources, one_data_file


def add_parser(sub) -> None:
    c = sub.add_parser("calibrate", help="refit a checkpoint's calibration (entity span calibrator, temperatures, "
                                         "topic thresholds) on annotated data, e.g. a newer dev set; the "
                                         "runtime figures, if the checkpoint has them, are measured again on it "
                                         "where a task is refitted "
                                         "(a task it gives nothing to fit keeps its calibration and figures)")
    add_checkpoint_argument(c)
    c.add_argument("--data", required=True, action="append",
                   help="annotated held-out file to fit on (the files the checkpoint trained and was tested on are "
                        "refused)")
    c.add_argument("--format", choices=FORMATS, default="auto", help="its format " + FORMAT_HELP)
    c.add_argument("--train", action="append",
                   help="the checkpoint's training file (repeat for each it trained on): the span calibrator reads "
                        "whether a name was seen in training (default: the names the checkpoint already lists, which "
                        "for a checkpoint continued with --init-from include its earlier training's: the files given "
                        "replace them; the --data file is refused); the reader flags apply to them too")
    c.add_argument("--train-format", choices=FORMATS, help="its format " + FORMAT_HELP)
    add_reader_arguments(c)
    c.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:N")


def run(args) -> int:
    if args.train_format is not None and not args.train:   # would go unused: the names the checkpoint lists are kept
        raise ValueError(f"--train-format {args.train_format} is the format of the --train files, and none is given")
    one_data_file(args, "calibrate fits on")
    path = checkpoint_path(args.checkpoint)   # the arguments first: their errors import no torch
    data, *train = file_sources(args, [(args.data, args.format)] + [(f, args.train_format) for f in args.train or []])
    check_files([("--data", args.data, args.format)]   # before the weights load
                + [("--train", f, args.train_format or "auto") for f in args.train or []]
                + [("--bodies", args.bodies, None)] * (args.bodies is not None))
    check_device(args.device)
    from inference.checkpoint import write_manifest
    from inference.calibration import calibrate
    from training.corpus import DataError, annotated_tasks
    from training.data import document_warnings, fingerprint
    from training.evaluation import NOT_ANNOTATED, check_annotated, head_outputs
    from training.model_card import unwritten, write_model_card
    from training.schema import schema_of
    from training.sources import Source, read_source
    from training.trainer import seen_entities
    data_sha256 = fingerprint(args.data) if args.train and Path(args.data).exists() else None
    if same := [f for f in args.train or [] if data_sha256 and Path(f).exists() and fingerprint(f) == data_sha256]:
        raise DataError([f"{f}: the same data as --data: each of its names would count as seen in training, and the "
                         "span calibrator would learn nothing of unseen ones; give the file the checkpoint was trained "
                         "on" for f in same])
    if held := recorded_split(path, args.data, data_sha256):   # before the weights load
        split, name = held
        why = ("the checkpoint was trained on this file ({}, by the SHA-256 its manifest records): its scores on "
               "training documents are surer than on new text, and a calibration fitted on them would be too"
               if split == "train" else "this is the checkpoint's test file ({}, by the SHA-256 its manifest "
               "records): fitted on it, its test figures would no longer be held out")
        raise DataError([f"{args.data}: {why.format(name)}; give held-out data, e.g. the dev file"])
    model = open_checkpoint(path, runtime="torch", device=args.device)   # fitted on fp32 outputs
    schema = schema_of(model.manifest.tasks)
    fitted_with = {task.name: task.seen_entities for task in model.manifest.tasks}
    if train:
        train_docs = [doc for source in train for doc in read_source(Source(**source), schema)]
        ner, annotated = [task.name for task in model.manifest.tasks if task.kind == "ner"], annotated_tasks(train_docs)
        if ner and not annotated & set(ner):   # else every name the checkpoint lists would go, silently
            raise DataError([f"{', '.join(args.train)}: annotates no entities for {', '.join(ner)}: --train gives the "
                             "names seen in training, and would leave the span calibrator none; give the file the "
                             "checkpoint was trained on, or leave out --train (the names it lists are kept)"])
        for task in model.manifest.tasks:
            if task.name in ner and task.name in annotated:
                task.seen_entities = seen_entities(task, train_docs)
    docs = read_source(Source(**data), schema)
    left_out = check_annotated(docs, list(schema), data)
    for line in left_out + document_warnings(docs, f"file {args.data}"):   # as evaluate says them: what the fit cannot use
        print(f"warning: {line}", file=sys.stderr)
    heads = [head for head, _ in head_outputs(model, docs)]
    refitted = calibrate(heads, lambda line: print(f"warning: {line}", file=sys.stderr), data=args.data)
    for task in model.manifest.tasks:   # a span calibrator kept keeps the names it was fitted with
        if task.name not in refitted:
            task.seen_entities = fitted_with[task.name]
    before = model.manifest.training.get("calibration", {})
    unfitted = [head.task.name for head in heads if head.task.name not in refitted]   # all right, all wrong or none
    kept = sorted(set(schema) - set(refitted))
    model.manifest.training["calibration"] = {**before, **refitted}
    fitted_on = {head.task.name: {"data": args.data, "documents": sum(head.task.name in (*d.spans, *d.labels)
                                                                      for d in docs),   # the documents that annotate it
                                  **_ece(head.scored())} for head in heads if head.task.name in refitted}
    model.manifest.training["recalibrated"] = {**model.manifest.training.get("recalibrated", {}), **fitted_on}
    # The runtime figures were scored under the old calibration: dropped (fp32 until measured
    # again, should measuring fail), then measured again on the same data. Until then they wait
    # in "runtimes_pending", less the refitted tasks' figures: a calibrate interrupted while
    # measuring leaves the next one to measure, with the kept tasks' figures to keep. With no
    # task refitted they stand as they are.
    pending = model.manifest.training.pop("runtimes_pending", None)   # left by a calibrate interrupted so
    stale = model.manifest.runtimes or (pending if isinstance(pending, dict) else {})   # (True: kept no figures)
    if (refitted and stale) or pending is not None:
        model.manifest.runtimes = {}
        model.manifest.training["runtimes_pending"] = stale = {
            name: {**figures, "dev": {task: v for task, v in figures["dev"].items() if task not in refitted}}
            for name, figures in stale.items()}
    # No task refitted (and no measuring left to finish): the manifest and card would be written as they are
    written = bool(refitted) or pending is not None
    if written:
        write_manifest(Path(path), model.manifest)
    if "runtimes_pending" in model.manifest.training:
        from inference.runtimes import choose
        from training.runtime_figures import measure_runtimes
        model.manifest.runtimes = measure_runtimes(path, docs, lambda line: print(line, file=sys.stderr))
        # A kept task's figures stand, its scores did not move: where every runtime has one (the
        # runtimes are compared on the same data), or where it was not measured again at all.
        runtimes = model.manifest.runtimes
        old = {name: stale.get(name, {}).get("dev", {}) for name in runtimes}
        standing = [task for task in kept if all(task in old[name] for name in runtimes)
                    or not any(task in figures["dev"] for figures in runtimes.values())]
        for name, figures in runtimes.items():
            figures["dev"] = {**figures["dev"], **{task: old[name][task] for task in standing if task in old[name]}}
        del model.manifest.training["runtimes_pending"]
        write_manifest(Path(path), model.manifest)
        print("default CPU runtime: %s (%s)" % choose(model.manifest.runtimes), file=sys.stderr)
    card = "train_counts" in model.manifest.training   # a card written before they were recorded is left as it is
    if card and written:
        try:
            write_model_card(Path(path), model.manifest)
        except OSError as exc:   # the manifest is written: say so, not only what failed
            raise unwritten(Path(path) / "README.md", exc,
                            f"the new calibration is already in place in {Path(path) / 'manifest.json'}",
                            "run this calibrate again (it fits the same calibration)") from None
    print(json.dumps(model.manifest.training["calibration"]))   # last: a reader of stdout may stop at once
    copy = model.manifest.training.get("config", {}).get("model_card")   # the copy training wrote elsewhere: not touched
    card_text = ((" and README.md, the model card" + (f" ({copy}, its copy at training, is not)" if copy else ""))
                 if card else " (README.md, written by an older version, is not rewritten)")
    reasons = {"nothing to fit against there: every outcome the same, or none": unfitted,
               NOT_ANNOTATED: [task for task in kept if task not in unfitted]}
    kept_text = "".join(f"; {', '.join(tasks)} kept as it was ({why})" for why, tasks in reasons.items() if tasks)
    print(f"calibration of {', '.join(refitted) or 'no task'} refitted on {len(docs)} documents of {args.data}"
          f"{kept_text}; " + (f"written to {path}/manifest.json{card_text}" if written else
                              f"nothing written: {path}/manifest.json and README.md are as they were"), file=sys.stderr)
    return 0


def _ece(head) -> dict:
    """The ECE (15 bins) on the data fitted on, before and after the calibration now set, as
    `newsmodel evaluate` reports it: the card shows it in place of the run's, of a calibration gone."""
    from inference.calibration import expected_calibration_error
    return {"ece_before": expected_calibration_error(*head.confidences(1.0)),
            "ece_after": expected_calibration_error(*head.confidences(head.task.temperature, span_calibrator=True))}
