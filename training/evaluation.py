"""Score a model on annotated documents through the same code path as `predict`, and fit
its calibration on dev."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.decoding import decode_all
from inference.predictor import NewsModel

from .calibration import (document_confidences, entity_confidences, expected_calibration_error,
                          fit_temperature, multiclass_nll, reliability_diagram, rescale, tune_thresholds)
from .corpus import Document, Span
from .encoding import spans_to_tags, word_spans
from .metrics import entity_metrics, multi_label_metrics, single_label_metrics


class _TaskView:
    """Raw (temperature 1) outputs and gold labels of one task, over the documents annotated for it."""

    def __init__(self, task, docs: list[Document], analyses):
        self.task = task
        pairs = [(d, a) for d, a in zip(docs, analyses)
                 if (task.name in d.spans if task.kind == "ner" else task.name in d.labels)]
        self.docs = [d for d, _ in pairs]
        self.analyses = [a for _, a in pairs]
        if task.kind == "ner":
            self.word_probs = [a.word_probs[task.name] for a in self.analyses]
            self.gold_spans = [set(word_spans(a.encoded.words, d.spans[task.name])) for d, a in pairs]
        else:
            self.probs = np.stack([a.doc_probs[task.name] for a in self.analyses]) if pairs else None
            if task.kind == "multi":
                self.gold = np.array([[float(l in d.labels[task.name]) for l in task.labels] for d in self.docs])
            else:
                self.gold = np.array([task.labels.index(d.labels[task.name][0]) for d in self.docs])

    def gold_label_nll(self, temperature: float) -> float:
        return multiclass_nll(rescale(self.probs, "single", temperature), self.gold)

    def confidences(self, temperature: float):
        if self.task.kind == "ner":
            return entity_confidences(self.word_probs, self.gold_spans, self.task.labels, temperature, self.task.viterbi)
        return document_confidences(self.probs, self.gold, self.task.kind, temperature)


def _views(model: NewsModel, docs: list[Document], batch_size: int) -> list[_TaskView]:
    analyses = model.analyse([d.text for d in docs], batch_size, calibrated=False, pairs=[d.text_pair for d in docs])
    views = [_TaskView(task, docs, analyses) for task in model.manifest.tasks]
    return [v for v in views if v.docs]


def calibrate(model: NewsModel, dev_docs: list[Document], batch_size: int = 16) -> dict:
    """Fit each head's temperature (and multi-label thresholds) on dev; updates the manifest."""
    fitted = {}
    for view in _views(model, dev_docs, batch_size):
        task = view.task
        task.temperature = fit_temperature(view.confidences, view.gold_label_nll if task.kind == "single" else None)
        if task.kind == "multi":
            task.thresholds = tune_thresholds(rescale(view.probs, "multi", task.temperature), view.gold, task.labels)
        fitted[task.name] = {"temperature": task.temperature, "thresholds": task.thresholds}
    return fitted


def evaluate(model: NewsModel, docs: list[Document], batch_size: int = 16, plots: str | Path | None = None) -> dict:
    """Metrics per task with the checkpoint's calibration, plus ECE (15 bins) before and after
    calibration; `plots` is a directory for one reliability diagram (PNG) per task."""
    metrics = {}
    for view in _views(model, docs, batch_size):
        task = view.task
        if task.kind == "ner":
            gold, pred = [], []
            decoded = decode_all([rescale(probs, "ner", task.temperature) for probs in view.word_probs],
                                 task.labels, task.viterbi)
            for doc, a, spans in zip(view.docs, view.analyses, decoded):
                # column files are scored on their own tokens, as conlleval does; other text on words
                units = doc.tokens or a.encoded.words
                predicted = [Span(a.encoded.words[f][0], a.encoded.words[l - 1][1], label) for f, l, label, _ in spans]
                gold.append(spans_to_tags(len(units), word_spans(units, doc.spans[task.name])))
                pred.append(spans_to_tags(len(units), word_spans(units, predicted)))
            m = entity_metrics(gold, pred)
        else:
            calibrated = rescale(view.probs, task.kind, task.temperature)
            decided = [task.decide(row) for row in calibrated]
            if task.kind == "multi":
                m = multi_label_metrics([d.labels[task.name] for d in view.docs], decided, task.labels)
            else:
                m = single_label_metrics([d.labels[task.name][0] for d in view.docs], [d[0] for d in decided])
        before, after = view.confidences(1.0), view.confidences(task.temperature)
        m["ece_before"] = expected_calibration_error(*before)
        m["ece_after"] = expected_calibration_error(*after)
        m["documents"] = len(view.docs)
        if plots:
            Path(plots).mkdir(parents=True, exist_ok=True)
            reliability_diagram(before, after, Path(plots) / f"reliability_{task.name}.png",
                                f"{task.name} (T={task.temperature:.2f}, n={len(before[0])})")
        metrics[task.name] = m
    return metrics


def format_metrics(metrics: dict) -> str:
    lines = []
    for name, m in metrics.items():
        main = {k: v for k, v in m.items() if isinstance(v, float)}
        lines.append(f"  {name:<10} " + "  ".join(f"{k}={v:.4f}" for k, v in main.items())
                     + f"  (n={m['documents']})")
        for etype, r in m.get("per_type", {}).items():
            lines.append(f"    {etype:<8} P={r['precision']:.4f} R={r['recall']:.4f} F1={r['f1']:.4f} support={r['support']}")
    return "\n".join(lines)
