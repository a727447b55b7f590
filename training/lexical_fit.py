"""Fit the lexical branch of each document head before fine-tuning: the vocabulary and idf on
the training texts, then a logistic regression per head (one-vs-rest for multi-label heads,
classes weighted by their frequency so that rare labels are not drowned), and for a gated head
the gate, on every document. The fitted weights are held fixed while the encoder learns what
they miss; the encoder's head starts at zero, so training starts from the lexical model."""
from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression

from inference.lexical import Lexicon, fit_vocabulary
from inference.manifest import TaskSpec
from inference.modeling import MultiTaskModel

from .corpus import Document

C = 30.0            # inverse regularisation strength (Reuters R90 dev: 10-100 all within a point)
ABSENT_BIAS = -10.0  # a label no training document has: probability ~0 until the encoder learns it


def fit_lexicon(docs: list[Document], max_terms: int) -> Lexicon:
    texts = [t for d in docs for t in (d.text, d.text_pair) if t]
    return Lexicon(*fit_vocabulary(texts, max_terms))


def sparse_features(lexicon: Lexicon, docs: list[Document], pair: bool) -> csr_matrix:
    """Documents' lexical features, as Lexicon.features computes them at prediction time."""
    def matrix(texts):
        rows = lexicon.rows(texts)
        indptr = np.cumsum([0] + [len(idx) for idx, _ in rows])
        indices = np.concatenate([idx for idx, _ in rows]) if rows else np.zeros(0, np.int64)
        data = np.concatenate([val for _, val in rows]) if rows else np.zeros(0, np.float32)
        return csr_matrix((data, indices, indptr), shape=(len(texts), len(lexicon)))
    first = matrix([d.text for d in docs])
    if not pair:
        return first
    second = matrix([d.text_pair or "" for d in docs])
    cosine = csr_matrix(np.asarray(first.multiply(second).sum(axis=1)))
    return hstack([first, second, cosine]).tocsr()


def fit_lexical_heads(model: MultiTaskModel, docs: list[Document], lexicon: Lexicon, log) -> None:
    model.lexicon_idf.copy_(torch.from_numpy(lexicon.idf))
    for name, task in model.tasks.items():
        if name not in model.lexical:
            continue
        model.lexical[name].requires_grad_(False)
        if name in model.gates:
            model.gates[name].requires_grad_(False)
        annotated = [d for d in docs if name in d.labels]
        if not annotated:   # a head --init-from carries over untrained: its branch, gate and head stay the checkpoint's
            continue
        pair = model.feature_kind(task) == "pair"
        with torch.no_grad():
            model.heads[name].weight.zero_()
            model.heads[name].bias.zero_()
            if task.gate:
                gate = _fit(sparse_features(lexicon, annotated, pair),
                            np.array([d.labels[name][0] == task.gate for d in annotated]), [True])
                model.gates[name].copy_(gate)
                annotated = [d for d in annotated if d.labels[name][0] != task.gate]
            x = sparse_features(lexicon, annotated, pair)
            if task.kind == "multi":
                rows = [_fit(x, np.array([label in d.labels[name] for d in annotated]), [True])[0]
                        for label in task.labels]
                model.lexical[name].copy_(torch.stack(rows))
            else:
                model.lexical[name].copy_(_fit(x, np.array([d.labels[name][0] for d in annotated]), task.labels))
        log(f"lexical branch of {name!r}: {len(lexicon)} terms, fitted on {len(annotated)} documents"
            + (f" (gate {task.gate!r} on all)" if task.gate else ""))


def _fit(x: csr_matrix, y: np.ndarray, labels: list) -> torch.Tensor:
    """(len(labels), features + 1) weights and bias (last column) of a logistic regression of
    y on x; for one label, a binary regression of "y is True". A label that never occurs gets
    zero weights and a bias that keeps it improbable."""
    out = torch.zeros((len(labels), x.shape[1] + 1))
    out[:, -1] = ABSENT_BIAS
    present = sorted(set(y.tolist()), key=str)
    if len(present) < 2:
        if present and present[0] in labels:   # every document has it
            out[labels.index(present[0]), -1] = -ABSENT_BIAS
        return out
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(x, y)
    if len(lr.classes_) == 2 and len(labels) == 1:   # binary: the positive class's weights
        out[0, :-1] = torch.from_numpy(lr.coef_[0].astype(np.float32))
        out[0, -1] = float(lr.intercept_[0])
        return out
    coef, intercept = lr.coef_, lr.intercept_
    if len(lr.classes_) == 2:   # two classes in a multi-class head: sklearn keeps one row (class 1 vs 0)
        coef, intercept = np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    for row, label in enumerate(lr.classes_):
        if label in labels:
            out[labels.index(label), :-1] = torch.from_numpy(coef[row].astype(np.float32))
            out[labels.index(label), -1] = float(intercept[row])
    return out


def flag_tasks(tasks: list[TaskSpec], lexical: bool, gate_label: str | None) -> None:
    """Document heads read lexical features when `lexical`; single-label heads with a label
    `gate_label` decide it with a lexical gate first."""
    for task in tasks:
        if task.kind == "ner":
            continue
        task.lexical = lexical
        if gate_label and task.kind != "multi" and gate_label in task.labels:
            task.gate = gate_label
