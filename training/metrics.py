"""Dev and test figures: seqeval for entities, scikit-learn for document labels."""
from __future__ import annotations

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer


def entity_metrics(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    """Entity-level precision/recall/F1, micro overall and per type (strict IOB2)."""
    report = classification_report(gold, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    result = {"precision": report["micro avg"]["precision"], "recall": report["micro avg"]["recall"],
              "f1": report["micro avg"]["f1-score"]}
    result["per_type"] = {t: {"precision": r["precision"], "recall": r["recall"], "f1": r["f1-score"],
                              "support": int(r["support"])}
                          for t, r in report.items() if not t.endswith(" avg")}
    return result


def single_label_metrics(gold: list[str], predicted: list[str]) -> dict:
    return {"accuracy": accuracy_score(gold, predicted), "macro_f1": f1_score(gold, predicted, average="macro", zero_division=0)}


def multi_label_metrics(gold: list[list[str]], predicted: list[list[str]], labels: list[str]) -> dict:
    binarizer = MultiLabelBinarizer(classes=labels)
    g, p = binarizer.fit_transform(gold), binarizer.transform(predicted)
    return {"micro_f1": f1_score(g, p, average="micro", zero_division=0),
            "macro_f1": f1_score(g, p, average="macro", zero_division=0)}


def headline(metrics: dict) -> float:
    """One number to pick the best epoch by: the mean of each task's main figure."""
    mains = []
    for m in metrics.values():
        mains.append(m.get("f1", m.get("micro_f1", m.get("macro_f1"))))
    return sum(mains) / len(mains) if mains else 0.0
