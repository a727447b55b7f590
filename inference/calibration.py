"""Make scores mean what they say: probabilities from logits at a head's temperature, the
fitting of that temperature and of per-label thresholds on dev, and the expected calibration
error (ECE) and reliability diagrams that show the effect. Training fits, `predict` applies."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .decoding import decode_task, line_starts, shown_span, trim_edges
from .manifest import TaskSpec
from .tokenization import surface

EPS = 1e-7
# Probabilities are float64, and rescale clips them only to what float64 holds: a raw score up to
# about 37 is recovered (16 when clipped at EPS), so evaluate and calibrate score as predict does
# at T > 1 unless a head is surer than that.
EDGES = (np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0))
TEMPERATURES = np.exp(np.linspace(np.log(0.2), np.log(8.0), 161))  # log-spaced search grid
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)
# A span calibrator's coefficient this near 0 is 0 but for rounding (spans as often right as wrong at
# every score), its sign rounding's (the order a BLAS sums in, which may vary with threads and machines).
ROUNDING = 1e-6
FEW_DOCUMENTS = 3   # a threshold tuned on fewer positives or negatives than this is warned about
SPAN_LENGTH_CAP = 4   # spans of 4 words and more are one group


def sigmoid(x) -> np.ndarray:
    """The logistic function in float64, in a form no logit overflows (below 0 it keeps the tail
    down to about -708; above, float64 reaches 1.0 at about 37)."""
    x = np.asarray(x, np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def probabilities(logits: np.ndarray, kind: str, temperature: float = 1.0) -> np.ndarray:
    """A head's probabilities from its logits at `temperature`: independent sigmoids for
    multi-label heads, a softmax over the last axis for the others."""
    scaled = np.asarray(logits, np.float64) / temperature
    if kind == "multi":
        return sigmoid(scaled)
    e = np.exp(scaled - scaled.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def rescale(probs: np.ndarray, kind: str, temperature: float) -> np.ndarray:
    """Probabilities computed at temperature 1, recomputed at another temperature."""
    if temperature == 1.0:
        return probs
    p = np.clip(np.asarray(probs, np.float64), *EDGES)
    return probabilities(np.log(p / (1 - p)) if kind == "multi" else np.log(p), kind, temperature)


def binary_nll(confidence: np.ndarray, outcome: np.ndarray) -> float:
    c = np.clip(confidence, EPS, 1 - EPS)
    return float(-np.mean(outcome * np.log(c) + (1 - outcome) * np.log(1 - c)))


def expected_calibration_error(confidence, outcome, bins: int = 15) -> float:
    """Mean |accuracy - confidence| over equal-width bins, weighted by bin size."""
    confidence, outcome = np.asarray(confidence, float), np.asarray(outcome, float)
    if confidence.size == 0:
        return 0.0
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            ece += mask.mean() * abs(outcome[mask].mean() - confidence[mask].mean())
    return float(ece)


def entity_spans(task: TaskSpec, word_probs: list[np.ndarray], temperature: float, texts: list[str],
                 words: list[list[tuple[int, int]]]):
    """Every predicted entity of every document (`texts`, their `words` as character spans),
    decoded as `predict` decodes it."""
    return decode_task(task, [rescale(probs, "ner", temperature) for probs in word_probs],
                       [word_strings(text, w) for text, w in zip(texts, words)], temperature,
                       [line_starts(text, w) for text, w in zip(texts, words)])


def word_strings(text: str, words: list[tuple[int, int]]) -> list[str]:
    """A document's words as strings, from their character spans, as the encoder reads them (see surface)."""
    return [surface(text[start:end]) for start, end in words]


def name_key(name: str) -> str:
    """A name as the span calibrator looks it up among those seen in training: as `predict`
    shows it, without the symbols at its edges ("Kremlin\u00a9" is the "Kremlin" seen), and as the
    encoder reads it, without joiners, full-width "\uff2e\uff21\uff34\uff2f" as "NATO" (see surface)."""
    start, end = trim_edges(name, 0, len(name))
    return surface(name[start:end])


def shown_words(text: str, words: list[tuple[int, int]], first: int, last: int) -> tuple[int, int]:
    """The words (first, last + 1) that the entity `predict` shows (shown_span) touches, as evaluate
    maps it onto words to match it with gold: a symbol word at its edge ("\u00a9" of "\u00a9 AFP") is out."""
    start, end = shown_span(text, words, first, last)
    touched = [w for w in range(first, last) if words[w][0] < end and start < words[w][1]]
    return (touched[0], touched[-1] + 1) if touched else (first, first)


def span_features(scores, lengths, types, seen, type_names: list[str]) -> np.ndarray:
    """What the span calibrator reads: the span probability's logit, whether the training data
    had this string as an entity, its length in words (capped) and its type."""
    s = np.clip(np.asarray(scores, float), EPS, 1 - EPS)
    columns = [np.log(s / (1 - s)), np.asarray(seen, float), np.minimum(np.asarray(lengths, float), SPAN_LENGTH_CAP)]
    columns += [np.array([t == name for t in types], float) for name in type_names]
    return np.column_stack(columns) if len(s) else np.zeros((0, 3 + len(type_names)))


def calibrated_span_scores(task: TaskSpec, scores, lengths, types, seen) -> np.ndarray:
    """Entity scores after the task's span calibrator (the raw scores where it has none)."""
    if not task.span_calibrator:
        return np.asarray(scores, float)
    c = task.span_calibrator
    z = span_features(scores, lengths, types, seen, c["types"]) @ np.array(c["coef"]) + c["intercept"]
    return sigmoid(z)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """(coef, intercept) of an L2-regularised logistic regression (the intercept unpenalised), by
    Newton's method: a handful of features, so no solver library is needed."""
    a = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = sigmoid(a @ w)
        gradient = a.T @ (p - y) + penalty * w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def document_confidences(probs: np.ndarray, gold: np.ndarray, kind: str, temperature: float = 1.0):
    """Multi-label: every (document, label) probability against whether the label applies.
    Single-label: the top label's probability against whether it is right."""
    p = rescale(probs, kind, temperature)
    if kind == "multi":
        return p.ravel(), gold.ravel().astype(float)
    return p.max(1), (p.argmax(1) == gold).astype(float)


def multiclass_nll(probs: np.ndarray, gold: np.ndarray) -> float:
    """Mean negative log-probability of each document's gold label."""
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(gold)), gold], EPS, 1.0))))


def fit_temperature(confidences_at, loss_at=None) -> float:
    """The grid temperature with the lowest dev loss.

    `confidences_at(T)` returns (confidence, outcome) at temperature T, decoding again at each T
    as `predict` would, so this fits exactly the scores users will see. The loss is `loss_at(T)`,
    by default the binary NLL of those pairs; single-label heads pass the NLL of the gold label
    over all labels (standard temperature scaling), which uses more than the top label."""
    confidence, outcome = confidences_at(1.0)
    if len(outcome) == 0 or outcome.min() == outcome.max():
        return 1.0  # all right (or all wrong) on dev: nothing to fit against, sharpening would only overfit
    if loss_at is None:
        def loss_at(t):
            confidence, outcome = confidences_at(t)
            return binary_nll(confidence, outcome) if len(confidence) else np.inf
    losses = [loss_at(t) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))]) if np.isfinite(min(losses)) else 1.0


def tune_thresholds(probs: np.ndarray, gold: np.ndarray, labels: list[str],
                    current: dict[str, float] | None = None) -> dict[str, float]:
    """Per label, the threshold with the best dev F1 (where dev has no positive: the `current`
    one, else 0.5). Where a range of thresholds ties for the best, the middle of the widest such
    range: the decision then sits as far as dev allows from the documents on either side, instead
    of just above a negative, where any small shift in scores (another runtime, new data) flips it.
    Each label is tuned alone, as TaskSpec.decide chooses it where the task `allows_none`; elsewhere
    decide also gives the best label to a document none reaches, which this does not foresee."""
    thresholds = {}
    for j, label in enumerate(labels):
        if gold[:, j].sum() == 0:   # nothing to tune on: a recalibration keeps what was tuned before
            thresholds[label] = (current or {}).get(label, 0.5)
            continue
        f1s = []
        for t in THRESHOLDS:
            pred = probs[:, j] >= t
            tp = float((pred & (gold[:, j] == 1)).sum())
            f1s.append(2 * tp / max(pred.sum() + gold[:, j].sum(), 1))
        best = np.isclose(f1s, max(f1s))
        runs, start = [], None
        for i, b in enumerate([*best, False]):
            if b and start is None:
                start = i
            elif not b and start is not None:
                runs.append((i - start, start, i - 1))
                start = None
        _, first, last = max(runs)   # widest; on a tie, the higher thresholds (fewer false positives)
        thresholds[label] = float(round((THRESHOLDS[first] + THRESHOLDS[last]) / 2, 3))
    return thresholds


@dataclass
class HeadOutputs:
    """One head's raw (temperature 1) outputs over the documents annotated for its task, beside
    their gold labels: what its calibration is fitted and measured on."""
    task: TaskSpec
    word_probs: list[np.ndarray] | None = None   # ner: (n_words, n_tags) per document
    gold_spans: list[set] | None = None          # ner: (first word, last word + 1, type) per document
    texts: list[str] | None = None               # ner: the documents' texts and word offsets (for span strings)
    words: list[list[tuple[int, int]]] | None = None
    probs: np.ndarray | None = None              # document heads: (n_documents, n_labels)
    gold: np.ndarray | None = None               # multi: 0/1 per label; single: the gold label's index

    def __post_init__(self):
        self.seen = {name_key(s) for s in self.task.seen_entities}   # as compared, whatever made them

    def confidences(self, temperature: float, span_calibrator: bool = False):
        """(confidence, outcome) pairs at `temperature` (and for NER, with `span_calibrator`,
        after the task's span calibrator), as a user filtering on scores sees them."""
        if self.task.kind != "ner":
            return document_confidences(self.probs, self.gold, self.task.kind, temperature)
        rows = self.entity_rows(temperature)
        scores = calibrated_span_scores(self.task, *rows[:4]) if span_calibrator else rows[0]
        return scores, rows[4]

    def entity_rows(self, temperature: float = 1.0):
        """Per predicted entity: score, length in words, type, seen in training?, exactly right (as
        `predict` shows it and evaluate scores it: "\u00a9 AFP" is "AFP")?"""
        rows = []
        for spans, gold, text, words in zip(entity_spans(self.task, self.word_probs, temperature, self.texts, self.words),
                                            self.gold_spans, self.texts, self.words):
            for first, last, label, score in spans:
                rows.append((score, last - first, label, name_key(text[words[first][0]:words[last - 1][1]]) in self.seen,
                             float(shown_words(text, words, first, last) + (label,) in gold)))
        return tuple(map(list, zip(*rows))) if rows else ([], [], [], [], [])

    def scored(self) -> "HeadOutputs":
        """A document head over the documents it gave scores: a text with nothing to read (no
        letter or digit) has NaN probabilities, as `predict` gives it no label."""
        if self.task.kind == "ner":
            return self
        read = np.isfinite(self.probs).all(1)
        return HeadOutputs(self.task, probs=self.probs[read], gold=self.gold[read])

    def gold_label_nll(self, temperature: float) -> float:
        return multiclass_nll(rescale(self.probs, self.task.kind, temperature), self.gold)


def calibrate(heads: list[HeadOutputs], warn: Callable[[str], None] = lambda line: None, data: str | None = None) -> dict:
    """Fit each head's calibration on its dev outputs and set it on the task: for NER the span
    calibrator (which also knows whether an entity's string was seen in training, and so
    follows a test set with more unseen names than dev; one whose coefficient of the span
    probability comes out below 0, which would score a surer span lower, is not kept); for
    document heads a temperature (and a threshold per label of multi-label heads, for F1 at that
    temperature). A calibration that does not lower the dev ECE it was fitted on is not kept:
    scores stay as the model gives them.
    A head with nothing to fit against (every outcome the same: each entity right, or each wrong;
    every label applying, or none; or no output at all) keeps the calibration it has, and is left
    out of the result (the tasks refitted). `warn` hears of thresholds tuned on very few documents
    and of a span calibrator left out for its sign, naming the outputs' `data` (default: dev)."""
    fitted = {}
    for head in heads:
        task = head.task
        if task.kind == "ner":
            scores, lengths, types, seen, correct = head.entity_rows()   # decoded once, scored raw and calibrated
            if len(set(correct)) < 2:
                continue
            task.span_calibrator, task.temperature = {}, 1.0   # the span calibrator replaces a temperature
            features, outcomes = span_features(scores, lengths, types, seen, task.entity_types), np.array(correct)
            coef, intercept = fit_logistic(features, outcomes)
            if coef[0] < -ROUNDING:   # a small dev set whose surer spans were wronger: kept, it would rank them lower
                on = f"{len(correct)} dev entities" if data is None else f"{len(correct)} entities of {data}"
                warn(f"{task.name}: no span calibrator: on these {on} the surer spans were "
                     "more often wrong, so a fitted one would score them lower; entity scores stay as the model "
                     "gives them")
            else:
                task.span_calibrator = {"types": task.entity_types, "coef": coef.tolist(), "intercept": intercept}
                after = calibrated_span_scores(task, scores, lengths, types, seen)
                if expected_calibration_error(after, correct) >= expected_calibration_error(scores, correct):
                    task.span_calibrator = {}
            fitted[task.name] = {"span_calibrator": task.span_calibrator}
            continue
        head = head.scored()   # a NaN would void every fit
        confidence, outcome = head.confidences(1.0)
        if len(outcome) == 0 or outcome.min() == outcome.max():
            continue
        before = expected_calibration_error(confidence, outcome)
        single, earlier = task.kind != "multi", task.temperature
        task.temperature = fit_temperature(head.confidences, head.gold_label_nll if single else None)
        if expected_calibration_error(*head.confidences(task.temperature)) >= before:
            task.temperature = 1.0
        if task.kind == "multi":   # a threshold kept (no document with its label) keeps its decisions at the new T
            current = {label: float(rescale(np.array(t), "multi", task.temperature / earlier))
                       for label, t in task.thresholds.items()}
            task.thresholds = tune_thresholds(rescale(head.probs, "multi", task.temperature), head.gold, task.labels,
                                              current)
            positives = head.gold.sum(0)
            few = [label for label, n in zip(task.labels, positives) if n and min(n, len(head.gold) - n) < FEW_DOCUMENTS]
            untuned = [label for label, n in zip(task.labels, positives) if not n]
            if few:   # one label or several: "the threshold of b was", "the thresholds of a, b were"
                warn(f"{task.name}: the threshold{'s' * (len(few) > 1)} of {', '.join(few)} "
                     f"{'were' if len(few) > 1 else 'was'} tuned on fewer than {FEW_DOCUMENTS} documents with the "
                     f"label, or without it: {'they follow' if len(few) > 1 else 'it follows'} those documents "
                     "(calibrate on more data to steady them)")
            if untuned:
                warn(f"{task.name}: no document has {', '.join(untuned)}: "
                     f"{'their thresholds were' if len(untuned) > 1 else 'its threshold was'} not tuned "
                     f"(0.5, or as {'they were' if len(untuned) > 1 else 'it was'})")
        fitted[task.name] = {"temperature": task.temperature, "thresholds": task.thresholds}
    return fitted


def reliability_diagram(before, after, path, title: str, bins: int = 15) -> None:
    """PNG: accuracy per confidence bin before and after calibration, against the diagonal."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for (confidence, outcome), name in ((before, "before"), (after, "after")):
        confidence, outcome = np.asarray(confidence, float), np.asarray(outcome, float)
        index = np.minimum((confidence * bins).astype(int), bins - 1)
        xs = [confidence[index == b].mean() for b in range(bins) if (index == b).any()]
        ys = [outcome[index == b].mean() for b in range(bins) if (index == b).any()]
        ece = expected_calibration_error(confidence, outcome, bins)
        ax.plot(xs, ys, marker="o", label=f"{name} (ECE {ece:.3f})")
    ax.set_xlabel("confidence")
    ax.set_ylabel("observed frequency")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
