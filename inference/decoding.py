"""From per-word BIO tag probabilities to entity spans with scores.

The score of an entity is the model's probability of exactly that span and type,
treating words as independent: P(B-X on its first word) x P(I-X on each following word)
x P(not I-X on the word after it), where an opening I-X counts as B-X. It falls when the type or either boundary is uncertain,
which a single tag's probability would hide.

Within one document a name keeps one type (`one_type_per_name`): news repeats names, and a
mention read alone ("Putin said ...") is often typed less surely than the full first mention.

No entity spans a line break: each line's words are decoded as a text of their own (a
paragraph's last name and the next one's first are two names; a CoNLL sentence ends a line).
The first text of a pair ends as a line does: its names stop at the separator.
"""
from __future__ import annotations

import unicodedata
from bisect import bisect_right
from functools import lru_cache

import numpy as np

from .batching import padded_runs
from .tokenization import LINE_BREAK, compatible


PERSON_TYPES = {"PER", "PERSON"}   # (any case) whose one-word mentions are surnames of longer ones
# A place and an organisation often share a name ("Leeds" the city, "Leeds" the club), so
# identical mentions split between the two take one type only where it holds SAME_WORDS_SHARE
# of their mass; split between any other types, the type with the most mass wins
# (benchmarks/README.md, "A place and an organisation").
PLACE_TYPES = {"LOC", "LOCATION", "GPE"}
ORGANISATION_TYPES = {"ORG", "ORGANISATION", "ORGANIZATION"}
SAME_WORDS_SHARE = 0.75   # chosen on CoNLL-2003 eng.testa (benchmarks/README.md, "One type per name")


@lru_cache(maxsize=64)
def bio_transitions(tags: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
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
                    max_words: int = 1 << 18, transitions: np.ndarray | None = None) -> list[np.ndarray]:
    """For each (n_words, n_tags) array, the most probable tag sequence in which every I-X
    follows B-X or I-X (Viterbi), with `transitions[previous, current]` added to the
    log-probabilities where a CRF learnt them. Without transitions, texts whose best tags are
    already valid keep them; the rest are decoded together, in groups of similar length (at most
    `group` texts and `max_words` padded words), so the loop runs over positions once per group
    instead of once per text."""
    allowed, opens = bio_transitions(tuple(tags))
    paths = [p.argmax(1) for p in tag_probs]
    todo = sorted((t for t, best in enumerate(paths)
                   if len(best) and (transitions is not None
                                     or not (opens[best[0]] and allowed[best[:-1], best[1:]].all()))),
                  key=lambda t: len(paths[t]))
    for run in padded_runs([len(paths[t]) for t in todo], group, max_words):
        members = [todo[i] for i in run]
        for member, path in zip(members, _viterbi([tag_probs[m] for m in members], allowed, opens, transitions)):
            paths[member] = path
    return paths


def _viterbi(tag_probs: list[np.ndarray], allowed: np.ndarray, opens: np.ndarray,
             transitions: np.ndarray | None = None) -> list[np.ndarray]:
    """Viterbi over texts of different lengths at once: positions past a text's end carry
    log-probability 0 and are never read back."""
    lengths = [len(p) for p in tag_probs]
    m, n, k = len(tag_probs), max(lengths), allowed.shape[0]
    log_p = np.zeros((m, n, k))
    for row, p in enumerate(tag_probs):
        log_p[row, :len(p)] = np.log(np.clip(p, 1e-12, 1.0))
    penalty = np.where(allowed, 0.0 if transitions is None else transitions, -np.inf)
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


def decode_all(tag_probs: list[np.ndarray], tags: list[str], viterbi: bool = False,
               transitions: np.ndarray | None = None) -> list[list[tuple[int, int, str, float]]]:
    """Entities of each text as (first word, last word + 1, type, score) from its (n_words, n_tags)
    array. Tags are each word's most probable one, or with `viterbi` the best valid BIO
    sequence (scored with `transitions` where given); the Viterbi searches of all texts run batched."""
    paths = (valid_bio_paths(tag_probs, tags, transitions=transitions) if viterbi
             else [p.argmax(1) for p in tag_probs])
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
        j = i + 1
        while j < n and inside is not None and best[j] == inside:
            j += 1
        follows_same_type = _follows(spans[-1] if spans else None, i, etype)
        spans.append((i, j, etype, _span_score(tag_probs, tags, i, j, etype, opens_with_inside=not follows_same_type)))
        i = j
    return spans


def _follows(previous: tuple | None, i: int, etype: str, starts=frozenset()) -> bool:
    """Whether an entity of `etype` opening at word i comes right after `previous`, one of its type
    on its line: an I- there would have joined the two, so only B- opens it."""
    return previous is not None and previous[1] == i and previous[2] == etype and i not in starts


def _span_score(tag_probs: np.ndarray, tags: list[str], i: int, j: int, etype: str, opens_with_inside: bool = True,
                starts=()) -> float:
    """P(words i..j-1 are exactly one entity of type etype), as the module docstring says; a
    span that ends its line ends as one that ends the text does."""
    inside = tags.index(f"I-{etype}") if f"I-{etype}" in tags else None
    score = tag_probs[i, tags.index(f"B-{etype}")]
    if inside is not None and opens_with_inside:
        score += tag_probs[i, inside]  # after O, I-X opens an entity just as B-X does
    for k in range(i + 1, j):
        score *= tag_probs[k, inside]
    if j < len(tag_probs) and inside is not None and j not in starts:   # `starts`: the words that open a line
        score *= 1.0 - tag_probs[j, inside]
    return float(score)


def line_starts(text: str, words: list[tuple[int, int]]) -> frozenset[int]:
    """The words (by index, in text order) that a line break separates from the word before them,
    and the first word past the end of `text` (a pair's separator: no entity of the first text runs
    into the second): one pass over the text's breaks, each placed among the words by bisection."""
    starts = [start for start, _ in words]
    found = set()
    for at in [*(match.start() for match in LINE_BREAK.finditer(text)), len(text)]:
        w = bisect_right(starts, at)   # the first word after the break
        if 0 < w < len(words) and words[w - 1][1] <= at:   # not inside the word before it
            found.add(w)
    return frozenset(found)


def decode_task(task, tag_probs: list[np.ndarray], surfaces: list[list[str]] | None = None,
                temperature: float | None = None, lines: list[frozenset[int]] | None = None):
    """decode_all with an NER task's settings, each line of a document (`lines`: its
    `line_starts`) decoded as a text of its own. With `surfaces` (each document's words as
    strings), dashes at either end of a span are trimmed and spans without a letter or digit are
    dropped (a bracket or an "@" is no name), and with the task's `one_type_per_name` each name
    keeps one type within its document. `temperature`: the one `tag_probs` were scaled with
    (default: the task's), by which a CRF's transition scores are divided too, so the best path
    is the model's at any temperature."""
    transitions = None
    if task.transitions:
        transitions = np.asarray(task.transitions) / (task.temperature if temperature is None else temperature)
    lines = lines or [frozenset()] * len(tag_probs)
    pieces, offsets = [], []   # every line of every document, decoded together
    for doc, (probs, starts) in enumerate(zip(tag_probs, lines, strict=True)):
        bounds = [0, *sorted(starts), len(probs)]
        pieces += [probs[a:b] for a, b in zip(bounds, bounds[1:])]
        offsets += [(doc, a) for a in bounds[:-1]]
    decoded = [[] for _ in tag_probs]
    for (doc, a), spans in zip(offsets, decode_all(pieces, task.labels, task.viterbi, transitions)):
        decoded[doc] += [(i + a, j + a, etype, score) for i, j, etype, score in spans]
    if surfaces is None:
        return decoded
    decoded = [[trimmed for span in spans if (trimmed := _as_name(span, words))]
               for spans, words in zip(decoded, surfaces)]
    if not task.one_type_per_name:
        return decoded
    return [one_type_per_name(spans, probs, words, task.labels, starts)
            for spans, probs, words, starts in zip(decoded, tag_probs, surfaces, lines)]


def _as_name(span: tuple[int, int, str, float], words: list[str]) -> tuple[int, int, str, float] | None:
    """The span as a name: less the dashes that open or close it ("Stockholm" of "Stockholm-based":
    no name in CoNLL-2003 or the bundled corpus starts or ends with one), or None where no letter
    or digit is left. The score stays the decoded span's: the rule, not the model, moved the boundary."""
    i, j, etype, score = span
    while i < j and _is_dash(words[i]):
        i += 1
    while j > i and _is_dash(words[j - 1]):
        j -= 1
    if not any(char.isalnum() for word in words[i:j] for char in word):
        return None
    return i, j, etype, score


def trim_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop symbols and invisible characters at an entity's edges ("Windows\u2122" -> "Windows"):
    the tokenizer keeps them in the word, but they are no part of a name. An ASCII symbol is a
    word of its own, in the span because the model put it there ("OPEC+"), and stays; so does its
    full-width form ("OPEC\uff0b"), which the encoder reads as ASCII (`compatible`), and a currency
    sign, part of an amount as "$" is ("\u00a320 million"); white space and controls, ASCII or not,
    go ("\u24b6 Berlin \u24b6" gives "Berlin", not "Berlin ")."""
    def stray(char: str, categories: str) -> bool:
        category = unicodedata.category(char := compatible(char))
        return category[0] in categories and not (char.isascii() and category[0] == "S" or category == "Sc")
    while start < end and stray(text[start], "SCZM"):   # M: an accent with no letter before it
        start += 1
    while end > start and stray(text[end - 1], "SCZ"):
        end -= 1
    return start, end


def shown_span(text: str, words: list[tuple[int, int]], first: int, last: int) -> tuple[int, int]:
    """The characters `predict` shows of the entity of `words` first to last - 1: those of `text`
    (not a pair's second text), less the symbols at its edges (trim_edges). Evaluate matches this
    span with gold and calibration judges it, so that all three see the same entity."""
    return trim_edges(text, words[first][0], min(words[last - 1][1], len(text)))


def _is_dash(word: str) -> bool:
    return bool(word) and all(unicodedata.category(char) == "Pd" for char in word)


def _place_and_organisation(types: list[str]) -> bool:
    upper = {t.upper() for t in types}
    return bool(upper & PLACE_TYPES) and bool(upper & ORGANISATION_TYPES)


def one_type_per_name(spans: list[tuple[int, int, str, float]], tag_probs: np.ndarray, words: list[str],
                      tags: list[str], starts=frozenset()) -> list[tuple[int, int, str, float]]:
    """The mentions of one name in one document share a type; a relabelled mention is rescored as
    that type. A type's mass over some mentions is the sum of their span scores as that type.
    A one-word mention that ends a longer person name ("Putin" after "Vladimir Putin") takes the
    type with the most mass over the longer mentions of its group: the full name is the surer
    reading. Mentions with the same words that were decoded as different types take the type with
    the most mass over all of them; where the two types with the most mass are a place and an
    organisation, only if the first holds at least SAME_WORDS_SHARE of it (a place and a team can
    share a name: "Leeds" the city, "Leeds" the club). Mentions decoded as one type keep it."""
    if len(spans) < 2:
        return spans
    types = list(dict.fromkeys(tag[2:] for tag in tags if tag != "O"))
    names = [tuple(words[i:j]) for i, j, _, _ in spans]
    group = {name: name for name in names}

    def root(name):
        while group[name] != name:
            name = group[name]
        return name

    aliased = [longer for (_, _, etype, _), longer in zip(spans, names)   # not "Canada" after "Global Affairs Canada"
               if etype.upper() in PERSON_TYPES and len(longer) > 1 and (longer[-1],) in group]
    for longer in aliased:
        group[root(longer)] = root((longer[-1],))
    aliased = {root(name) for name in aliased}
    mass, given = {}, {}   # per group: type mass, and the types its mentions were decoded as
    for (i, j, etype, _), name in zip(spans, names):
        given.setdefault(root(name), set()).add(etype)
        if root(name) not in aliased or len(name) > 1:
            scores = [_span_score(tag_probs, tags, i, j, t, starts=starts) for t in types]
            mass[root(name)] = mass.get(root(name), 0.0) + np.array(scores)
    result = []
    for k, ((i, j, etype, score), name) in enumerate(zip(spans, names)):
        total = mass[root(name)]
        ranked = [types[t] for t in np.argsort(-total, kind="stable")]
        chosen = ranked[0]
        split = len(given[root(name)]) > 1
        needs_share = _place_and_organisation(ranked[:2])
        sure = root(name) in aliased or (split and (not needs_share or total.max() >= SAME_WORDS_SHARE * total.sum()))
        final = chosen if sure else etype
        # rescored as `_spans` scores it where its type, or that of the entity just before it, changed
        follows = _follows(result[-1] if result else None, i, final, starts)
        if final != etype or follows != _follows(spans[k - 1] if k else None, i, etype, starts):
            score = _span_score(tag_probs, tags, i, j, final, opens_with_inside=not follows, starts=starts)
        result.append((i, j, final, score))
    return result
