"""Dev and test figures: seqeval for entities, scikit-learn for document labels."""
from __future__ import annotations

import warnings

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer


def entity_metrics(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    """Entity-level precision/recall/F1, micro overall and per type (strict IOB2)."""
    with warnings.catch_warnings():   # no entity at all: numpy's warnings from the macro average, which is not kept
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    result = {"precision": report["micro avg"]["precision"], "recall": report["micro avg"]["recall"],
              "f1": report["micro avg"]["f1-score"]}
    result["per_type"] = {t: {"precision": r["precision"], "recall": r["recall"], "f1": r["f1-score"],
                              "support": int(r["support"])}
                          for t, r in report.items() if not t.endswith(" avg")}
    return result


def single_label_metrics(gold: list[str], predicted: list[str | None]) -> dict:
    """Accuracy and macro-F1; a prediction of None (no label) is wrong and is no label of the average."""
    labels = sorted(set(gold) | {p for p in predicted if p is not None})
    predicted = ["" if p is None else p for p in predicted]   # scikit-learn takes no None among strings
    return {"accuracy": accuracy_score(gold, predicted),
            "macro_f1": f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)}


def multi_label_metrics(gold: list[list[str]], predicted: list[list[str]], labels: list[str]) -> dict:
    """Micro-F1, and macro-F1 over the labels the gold or the predictions have, as single-label
    macro-F1 is (a label neither has would count as F1 0: perfect predictions on data of one
    topic scored 1/6 for six topics)."""
    binarizer = MultiLabelBinarizer(classes=labels)
    g, p = binarizer.fit_transform(gold), binarizer.transform(predicted)
    present = (g.sum(0) + p.sum(0)) > 0
    return {"micro_f1": f1_score(g, p, average="micro", zero_division=0),
            "macro_f1": f1_score(g[:, present], p[:, present], average="macro", zero_division=0) if present.any()
            else 0.0}


def main_figure(task_metrics: dict) -> float:
    """A task's main figure: entity F1, multi-label micro-F1, or single-label macro-F1."""
    return task_metrics.get("f1", task_metrics.get("micro_f1", task_metrics.get("macro_f1")))


def headline(metrics: dict, select_by: str | None = None) -> float:
    """One number to pick the best epoch by: the main figure of task `select_by`, or by default
    the mean of every task's main figure."""
    if select_by:
        return main_figure(metrics[select_by])
    mains = [main_figure(m) for m in metrics.values()]
    return sum(mains) / len(mains) if mains else 0.0
