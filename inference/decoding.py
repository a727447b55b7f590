"""From per-word BIO tag probabilities to entity spans with scores.

The score of an entity is the model's probability of exactly that span and type,
treating words as independent: P(B-X on its first word) x P(I-X on each following word)
x P(not I-X on the word after it), where an opening I-X counts as B-X. It falls when the type or either boundary is uncertain,
which a single tag's probability would hide.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def _transitions(tags: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """allowed[previous, current]: I-X may only follow B-X or I-X; opens: tags that may start."""
    k = len(tags)
    allowed = np.ones((k, k), dtype=bool)
    opens = np.ones(k, dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            allowed[:, j] = [prev in (f"B-{tag[2:]}", tag) for prev in tags]
            opens[j] = False
    allowed.setflags(write=False)  # shared by every caller (and thread) through the cache
    opens.setflags(write=False)
    return allowed, opens


def valid_bio_path(tag_probs: np.ndarray, tags: list[str]) -> np.ndarray:
    """The most probable tag sequence in which every I-X follows B-X or I-X (Viterbi)."""
    allowed, opens = _transitions(tuple(tags))
    best = tag_probs.argmax(1)
    if opens[best[0]] and allowed[best[:-1], best[1:]].all():
        return best  # the unconstrained best path is already valid: no search needed
    n, k = tag_probs.shape
    log_p = np.log(np.clip(tag_probs, 1e-12, 1.0))
    penalty = np.where(allowed, 0.0, -np.inf)
    score = np.where(opens, log_p[0], -np.inf)
    back = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        candidates = score[:, None] + penalty       # (previous, current)
        back[i] = candidates.argmax(0)
        score = candidates.max(0) + log_p[i]
    path = np.empty(n, dtype=np.int64)
    path[-1] = score.argmax()
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def decode_entities(tag_probs: np.ndarray, tags: list[str], viterbi: bool = False) -> list[tuple[int, int, str, float]]:
    """Entities as (first word, last word + 1, type, score) from an (n_words, n_tags) array.
    Tags are each word's most probable one, or with `viterbi` the best valid BIO sequence."""
    if len(tag_probs) == 0:
        return []
    best = valid_bio_path(tag_probs, tags) if viterbi else tag_probs.argmax(1)
    spans = []
    i, n = 0, len(best)
    while i < n:
        tag = tags[best[i]]
        if tag == "O":
            i += 1
            continue
        etype = tag[2:]
        # an I- tag that does not continue an entity of its type opens one (lenient BIO repair)
        inside = tags.index(f"I-{etype}") if f"I-{etype}" in tags else None
        begin = tags.index(f"B-{etype}")
        j = i + 1
        while j < n and inside is not None and best[j] == inside:
            j += 1
        score = tag_probs[i, begin]
        follows_same_type = bool(spans) and spans[-1][1] == i and spans[-1][2] == etype
        if inside is not None and not follows_same_type:
            score += tag_probs[i, inside]  # after O, I-X opens an entity just as B-X does
        for k in range(i + 1, j):
            score *= tag_probs[k, inside]
        if j < n and inside is not None:
            score *= 1.0 - tag_probs[j, inside]
        spans.append((i, j, etype, float(score)))
        i = j
    return spans
