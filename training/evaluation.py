"""Score a model on annotated documents through the same code path as `predict`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.calibration import HeadOutputs, entity_spans, expected_calibration_error, reliability_diagram, rescale
from inference.decoding import shown_span
from inference.predictor import NewsModel

from .corpus import DataError, Document, Span, annotated_tasks
from .metrics import entity_metrics, multi_label_metrics, single_label_metrics
from .sources import reader_options, resolve_format
from .targets import gold_targets, label_problems, spans_to_tags, word_spans


def head_outputs(model: NewsModel, docs: list[Document], batch_size: int = 16,
                 misses: bool = False) -> list[tuple[HeadOutputs, list]]:
    """Each head's raw outputs and gold labels over the documents annotated for its task, with
    those (document, analysis) pairs. Gold labels the model lacks are refused (no calibration
    fits against them), or with `misses` kept, as labels no prediction matches."""
    problems = label_problems(docs, model.manifest.tasks, refuse_unknown=not misses)
    if problems:   # before the encoder runs: a mapping mistake shows at once, every document of it
        raise DataError(problems)
    analyses = model.analyse([d.text for d in docs], batch_size, calibrated=False, pairs=[d.text_pair for d in docs])
    gold = [gold_targets(d, a.encoded, model.manifest.tasks, misses=misses) for d, a in zip(docs, analyses)]
    heads = []
    for task in model.manifest.tasks:
        kept = [i for i, g in enumerate(gold) if task.name in (g.entity_spans if task.kind == "ner" else g.document)]
        if not kept:
            continue
        if task.kind == "ner":
            head = HeadOutputs(task, word_probs=[analyses[i].word_probs[task.name] for i in kept],
                               gold_spans=[set(gold[i].entity_spans[task.name]) for i in kept],
                               texts=[docs[i].text for i in kept], words=[analyses[i].encoded.words for i in kept])
        else:
            head = HeadOutputs(task, probs=np.stack([analyses[i].doc_probs[task.name] for i in kept]),
                               gold=np.array([gold[i].document[task.name] for i in kept]))
        heads.append((head, [(docs[i], analyses[i]) for i in kept]))
    return heads


NOT_ANNOTATED = "not annotated there"   # why evaluate and calibrate leave a checkpoint task out: its data has none


def check_annotated(docs: list[Document], tasks, source: dict) -> list[str]:
    """Refuse data that annotates none of `tasks` (names): scored, it would give no figure at all;
    fitted on, no calibration. `source`: the file's table (path, format, options). Returns a
    warning for each task it annotates that is none of `tasks`, which is left out."""
    fmt = resolve_format(source["path"], source["format"])
    # its reader names the task itself where not told: "label", "entities"
    named = next((option for option in ("task", "label_task")
                  if option in reader_options(fmt) and option not in source["options"]), None)
    advice = f"; give the task its labels belong to with --{named.replace('_', '-')}" if named else ""
    if not annotated_tasks(docs) & set(tasks):
        raise DataError([f"{source['path']}: no document is annotated for any of the model's tasks ({', '.join(tasks)})"
                         + advice
                         + ("; check the field names, or give the format of the tool that wrote it (a Doccano "
                            "classification export: --format doccano)" if fmt == "news" else "")])
    return [f"{source['path']}: {sum(name in (*d.spans, *d.labels) for d in docs)} document(s) annotated for task "
            f"{name!r}, which is none of the model's ({', '.join(tasks)}): left out{advice}"
            for name in sorted(annotated_tasks(docs) - set(tasks))]


def evaluate(model: NewsModel, docs: list[Document], batch_size: int = 16, plots: str | Path | None = None,
             labels: dict[str, list[str]] | None = None) -> dict:
    """Metrics per task with the checkpoint's calibration, plus ECE (15 bins) before and after
    calibration; `plots` is a directory for one reliability diagram (PNG) per task. `labels`: by
    multi-label task, the labels its figures count (default: all it has, and any gold label it
    lacks); its predictions of the others are left out of them, not of ECE. A gold label the
    model lacks (an entity type, a topic or a stance it was not trained on) is scored as a miss:
    `targets.unknown_labels` names them."""
    metrics = {}
    for head, annotated in head_outputs(model, docs, batch_size, misses=True):
        task = head.task
        m = _entity_metrics(head, annotated) if task.kind == "ner" else \
            _document_metrics(head, annotated, (labels or {}).get(task.name))
        scored = head.scored()
        before, after = scored.confidences(1.0), scored.confidences(task.temperature, span_calibrator=True)
        m["ece_before"] = expected_calibration_error(*before)
        m["ece_after"] = expected_calibration_error(*after)
        m["documents"] = len(annotated)
        if plots:
            Path(plots).mkdir(parents=True, exist_ok=True)
            how = "span calibrator" if task.span_calibrator else f"T={task.temperature:.2f}"
            # a task "a/b" names no folder "reliability_a" (% too, so that no two names meet)
            file = "reliability_{}.png".format(task.name.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C"))
            reliability_diagram(before, after, Path(plots) / file,
                                f"{task.name} ({how}, n={len(before[0])})")
        metrics[task.name] = m
    return metrics


def _entity_metrics(head: HeadOutputs, annotated: list) -> dict:
    task = head.task
    gold, pred = [], []
    decoded = entity_spans(task, head.word_probs, task.temperature, [doc.text for doc, _ in annotated],
                           [a.encoded.words for _, a in annotated])
    for (doc, a), spans in zip(annotated, decoded):
        # column files are scored on their own tokens, as conlleval does; other text on words
        units = doc.tokens or a.encoded.words
        # as predict shows them: a symbol word at an edge ("\u00a9 AFP") is no part of the name
        predicted = [Span(*shown_span(doc.text, a.encoded.words, f, l), label) for f, l, label, _ in spans]
        gold.append(spans_to_tags(len(units), word_spans(units, doc.spans[task.name])))
        pred.append(spans_to_tags(len(units), word_spans(units, predicted)))
    return entity_metrics(gold, pred)


def _document_metrics(head: HeadOutputs, annotated: list, scored: list[str] | None = None) -> dict:
    task = head.task
    # a text with nothing to read (NaN scores) gets no label, as from predict: a miss, not the first label
    decided = [task.decide(row) for row in rescale(head.probs, task.kind, task.temperature)]
    gold = [doc.labels[task.name] for doc, _ in annotated]
    if task.kind == "multi":
        # a gold label the model lacks counts, as a miss: binarized over its labels alone, it would be dropped
        scored = scored or task.labels + sorted({label for g in gold for label in g} - set(task.labels))
        return multi_label_metrics(gold, [[label for label in d if label in scored] for d in decided], scored)
    return single_label_metrics([g[0] for g in gold], [d[0] if d else None for d in decided])


def format_metrics(metrics: dict) -> str:
    lines = []
    for name, m in metrics.items():
        main = {k: v for k, v in m.items() if isinstance(v, float)}
        lines.append(f"  {name:<10} " + "  ".join(f"{k}={v:.4f}" for k, v in main.items())
                     + f"  (n={m['documents']})")
        for etype, r in m.get("per_type", {}).items():
            lines.append(f"    {etype:<8} P={r['precision']:.4f} R={r['recall']:.4f} F1={r['f1']:.4f} support={r['support']}")
    return "\n".join(lines)
