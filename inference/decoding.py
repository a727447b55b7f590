"""From per-word BIO tag probabilities to entity spans with scores.

The score of an entity is the model's probability of exactly that span and type,
treating words as independent: P(B-X on its first word) x P(I-X on each following word)
x P(not I-X on the word after it), where an opening I-X counts as B-X. It falls when the type or either boundary is uncertain,
which a single tag's probability would hide.
"""
from __future__ import annotations

import numpy as np


def decode_entities(tag_probs: np.ndarray, tags: list[str]) -> list[tuple[int, int, str, float]]:
    """Entities as (first word, last word + 1, type, score) from an (n_words, n_tags) array."""
    if len(tag_probs) == 0:
        return []
    best = tag_probs.argmax(1)
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
