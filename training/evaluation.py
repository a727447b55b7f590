"""Score a model on annotated documents through the same code path as `predict`."""
from __future__ import annotations

from inference.decoding import decode_entities
from inference.predictor import NewsModel

from .corpus import Document
from .encoding import word_tags
from .metrics import entity_metrics, multi_label_metrics, single_label_metrics


def spans_to_tags(n_words: int, spans) -> list[str]:
    tags = ["O"] * n_words
    for first, last, label, _ in spans:
        tags[first] = f"B-{label}"
        for k in range(first + 1, last):
            tags[k] = f"I-{label}"
    return tags


def evaluate(model: NewsModel, docs: list[Document], batch_size: int = 16) -> dict:
    """Metrics per task, each over the documents annotated for that task."""
    analyses = model.analyse([d.text for d in docs], batch_size)
    metrics = {}
    for task in model.manifest.tasks:
        pairs = [(d, a) for d, a in zip(docs, analyses)
                 if (task.name in d.spans if task.kind == "ner" else task.name in d.labels)]
        if not pairs:
            continue
        if task.kind == "ner":
            gold = [word_tags(a.encoded, d.spans[task.name]) for d, a in pairs]
            pred = [spans_to_tags(len(a.encoded.words), decode_entities(a.word_probs[task.name], task.labels))
                    for _, a in pairs]
            metrics[task.name] = entity_metrics(gold, pred)
        elif task.kind == "multi":
            metrics[task.name] = multi_label_metrics([d.labels[task.name] for d, _ in pairs],
                                                     [task.decide(a.doc_probs[task.name]) for _, a in pairs],
                                                     task.labels)
        else:
            metrics[task.name] = single_label_metrics([d.labels[task.name][0] for d, _ in pairs],
                                                      [task.decide(a.doc_probs[task.name])[0] for _, a in pairs])
        metrics[task.name]["documents"] = len(pairs)
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
