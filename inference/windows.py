"""Overlapping windows over encoded texts, and padded encoder batches of them: the one place
that cuts and pads, for training, evaluation and serving alike.

A text longer than one window is cut into windows of one length, evenly spaced, neighbours
sharing at least `overlap` subwords; each subword takes its label and hidden state from the
window where it sits most centrally (the window "owns" it). In a text pair every window starts
with the whole first text (a headline) and its separator, then its part of the second (the
body), so each window sees what the body is being read against; where the first text leaves the
body less than twice the overlap, neighbours share half the body's room instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .tokenization import EncodedText

IGNORE = -100   # target of a position without a label (cross-entropy's ignore_index)


@dataclass(frozen=True)
class Window:
    text: int                  # index of the text in the encoded list
    start: int                 # the window reads input_ids[:prefix] + input_ids[start:end] of that text
    end: int
    owned: tuple[bool, ...]    # per subword the window reads: is this the window that speaks for it
    prefix: int = 0            # leading subwords every window of the text repeats (a pair's first text)

    @property
    def width(self) -> int:
        """Length once the special tokens are added."""
        return self.prefix + self.end - self.start + 2

    @property
    def positions(self) -> np.ndarray:
        """The index in the text of each subword the window reads."""
        return np.r_[0:self.prefix, self.start:self.end]

    def subwords(self, values: list) -> list:
        """The values (ids, shapes, targets) of the subwords the window reads."""
        return values[:self.prefix] + values[self.start:self.end]


@dataclass(frozen=True)
class SpecialTokens:
    cls: int
    sep: int
    pad: int

    @classmethod
    def of(cls, tokenizer) -> "SpecialTokens":
        return cls(tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)


def plan_windows(n_tokens: int, content_length: int, overlap: int) -> tuple[list[tuple[int, int]], list[int]]:
    """Cut n_tokens into as few windows of at most content_length as keep neighbours sharing at
    least `overlap` tokens, all of one length and evenly spaced: a text just over one window's
    length becomes two windows of about half its length plus half the overlap (255 tokens in
    windows of 254 with an overlap of 64: (0, 160) and (95, 255)), not a full window and a second
    one that mostly repeats it.

    Returns the (start, end) of each window and, for each token, the window in which it
    sits most centrally: the one whose label and hidden state count for that token.
    """
    if n_tokens == 0:
        return [], []
    if content_length <= overlap:
        raise ValueError(f"window length {content_length} must exceed overlap {overlap}")
    if n_tokens <= content_length:
        spans = [(0, n_tokens)]
    else:
        count = -(-(n_tokens - overlap) // (content_length - overlap))   # ceil: fewest windows that fit
        length = -(-(n_tokens + (count - 1) * overlap) // count)         # <= content_length
        spans = [(i * (n_tokens - length) // (count - 1), i * (n_tokens - length) // (count - 1) + length)
                 for i in range(count)]
    owner = []
    w = 0
    for i in range(n_tokens):
        # windows are ordered, so the most central one only moves forward
        while w + 1 < len(spans) and _centrality(i, spans[w + 1]) > _centrality(i, spans[w]):
            w += 1
        owner.append(w)
    return spans, owner


def _centrality(i: int, span: tuple[int, int]) -> int:
    start, end = span
    if not start <= i < end:
        return -1
    return min(i - start, end - 1 - i)


def usable_positions(config) -> int | None:
    """How many positions an encoder's config lets a window use (None: it does not say);
    RoBERTa-type encoders reserve their padding index and the positions before it."""
    positions = getattr(config, "max_position_embeddings", None)
    if positions is not None and "roberta" in str(getattr(config, "model_type", "")):
        positions -= (getattr(config, "pad_token_id", None) or 0) + 1
    return positions


def window_problem(length: int, overlap: int, positions: int | None) -> str | None:
    """Why an encoder of `positions` positions cannot read windows of `length` subwords (special
    tokens included) sharing `overlap`, or None when it can."""
    if overlap < 0:   # windows would leave gaps, whose subwords no window labels
        return f"window overlap {overlap}: it must be 0 or more"
    if not overlap + 2 < length <= (positions or length):
        fits = f", and fit the encoder's {positions} positions" if positions else ""
        return f"window length {length}: it must exceed the overlap ({overlap}) and the 2 special tokens{fits}"
    return None


def cut_windows(encoded: list[EncodedText], window_length: int, overlap: int) -> list[Window]:
    """Every window of every text, text by text; `window_length` counts the special tokens. A
    pair whose first text leaves too little room for the second, or whose second text is blank,
    is cut as one text."""
    windows = []
    for t, enc in enumerate(encoded):
        room = window_length - 2 - enc.prefix
        roomy = overlap + 1 < room and len(enc.input_ids) > enc.prefix
        prefix = enc.prefix if roomy else 0
        # windows of a long second text step `room - shared` subwords: steps shorter than half the
        # room would take many times the windows of the pair cut as one text (848 for its 10 at 256/64)
        shared = min(overlap, room // 2) if roomy else overlap
        spans, owner = plan_windows(len(enc.input_ids) - prefix, window_length - 2 - prefix, shared)
        for w, (start, end) in enumerate(spans):
            owned = (w == 0,) * prefix + tuple(owner[i] == w for i in range(start, end))
            windows.append(Window(t, start + prefix, end + prefix, owned, prefix))
    return windows


def batch_inputs(windows: list[Window], encoded: list[EncodedText], special: SpecialTokens) -> dict[str, torch.Tensor]:
    """The model's inputs for a batch of windows, padded to the widest: subword ids between the
    special tokens, attention mask, word-shape ids, and the pooling mask of the owned subwords."""
    width = max(w.width for w in windows)
    ids = torch.full((len(windows), width), special.pad, dtype=torch.long)
    attention = torch.zeros((len(windows), width), dtype=torch.long)
    shapes = torch.zeros((len(windows), width), dtype=torch.long)
    pool = torch.zeros((len(windows), width), dtype=torch.float32)
    for row, w in enumerate(windows):
        n, text = w.width - 2, encoded[w.text]
        ids[row, :n + 2] = torch.tensor([special.cls, *w.subwords(text.input_ids), special.sep])
        attention[row, :n + 2] = 1
        shapes[row, 1:n + 1] = torch.tensor(w.subwords(text.shape_ids))
        pool[row, 1:n + 1] = torch.tensor(w.owned, dtype=torch.float32)
    return {"input_ids": ids, "attention_mask": attention, "shape_ids": shapes, "pool_mask": pool}


def batch_token_targets(windows: list[Window], targets: list[list[int] | None]) -> torch.Tensor:
    """Per-subword targets of a batch, aligned with `batch_inputs`: `targets[t]` holds one id per
    subword of text t (None: the text has no labels for this task). Positions a window does not
    own, special tokens and padding get IGNORE, so each subword is learnt once."""
    width = max(w.width for w in windows)
    out = torch.full((len(windows), width), IGNORE, dtype=torch.long)
    for row, w in enumerate(windows):
        if targets[w.text] is not None:
            out[row, 1:w.width - 1] = torch.tensor(
                [t if owned else IGNORE for t, owned in zip(w.subwords(targets[w.text]), w.owned)])
    return out
