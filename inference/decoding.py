"""From per-word BIO tag probabilities to entity spans with scores.

The score of an entity is the model's probability of exactly that span and type,
treating words as independent: P(B-X on its first word) x P(I-X on each following word)
x P(not I-X on the word after it), where an opening I-X counts as B-X. It falls when the type or either boundary is uncertain,
which a single tag's probability would hide.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .batching import padded_runs


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


def valid_bio_paths(tag_probs: list[np.ndarray], tags: list[str], group: int = 32,
                    max_words: int = 1 << 18) -> list[np.ndarray]:
    """For each (n_words, n_tags) array, the most probable tag sequence in which every I-X
    follows B-X or I-X (Viterbi). Texts whose best tags are already valid keep them; the rest
    are decoded together, in groups of similar length (at most `group` texts and `max_words`
    padded words), so the loop runs over positions once per group instead of once per text."""
    allowed, opens = _transitions(tuple(tags))
    paths = [p.argmax(1) for p in tag_probs]
    todo = sorted((t for t, best in enumerate(paths)
                   if len(best) and not (opens[best[0]] and allowed[best[:-1], best[1:]].all())),
                  key=lambda t: len(paths[t]))
    for run in padded_runs([len(paths[t]) for t in todo], group, max_words):
        members = [todo[i] for i in run]
        for member, path in zip(members, _viterbi([tag_probs[m] for m in members], allowed, opens)):
            paths[member] = path
    return paths


def _viterbi(tag_probs: list[np.ndarray], allowed: np.ndarray, opens: np.ndarray) -> list[np.ndarray]:
    """Viterbi over texts of different lengths at once: positions past a text's end carry
    log-probability 0 and are never read back."""
    lengths = [len(p) for p in tag_probs]
    m, n, k = len(tag_probs), max(lengths), allowed.shape[0]
    log_p = np.zeros((m, n, k))
    for row, p in enumerate(tag_probs):
        log_p[row, :len(p)] = np.log(np.clip(p, 1e-12, 1.0))
    penalty = np.where(allowed, 0.0, -np.inf)
    score = np.where(opens, log_p[:, 0], -np.inf)                  # (text, tag)
    back = np.zeros((m, n, k), dtype=np.int8 if k < 128 else np.int32)
    final = score.copy()                                            # score at each text's last word
    ends = {}
    for row, length in enumerate(lengths):
        ends.setdefault(length - 1, []).append(row)
    for i in range(1, n):
        candidates = score[:, :, None] + penalty                    # (text, previous, current)
        back[:, i] = candidates.argmax(1)
        score = candidates.max(1) + log_p[:, i]
        if i in ends:
            final[ends[i]] = score[ends[i]]
    paths = []
    for row, length in enumerate(lengths):
        pointers = back[row, :length].tolist()
        path = [int(final[row].argmax())]
        for i in range(length - 1, 0, -1):
            path.append(pointers[i][path[-1]])
        paths.append(np.array(path[::-1], dtype=np.int64))
    return paths


def decode_all(tag_probs: list[np.ndarray], tags: list[str], viterbi: bool = False) -> list[list[tuple[int, int, str, float]]]:
    """Entities of each text as (first word, last word + 1, type, score) from its (n_words, n_tags)
    array. Tags are each word's most probable one, or with `viterbi` the best valid BIO
    sequence; the Viterbi searches of all texts run batched."""
    paths = valid_bio_paths(tag_probs, tags) if viterbi else [p.argmax(1) for p in tag_probs]
    return [_spans(p, best, tags) for p, best in zip(tag_probs, paths)]


def _spans(tag_probs: np.ndarray, best: np.ndarray, tags: list[str]) -> list[tuple[int, int, str, float]]:
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
