"""Documents -> training windows with per-token and per-document targets."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from inference.features import EncodedText, encode, join_pair, plan_windows
from inference.manifest import TaskSpec

from .corpus import Document, Span

IGNORE = -100


def word_spans(words: list[tuple[int, int]], spans: list[Span]) -> list[tuple[int, int, str]]:
    """Entities as (first word, last word + 1, type): the words each character span touches."""
    result, w = [], 0
    for span in spans:
        while w < len(words) and words[w][1] <= span.start:
            w += 1
        first = w
        while w < len(words) and words[w][0] < span.end:
            w += 1
        if w > first:
            result.append((first, w, span.label))
    return result


def spans_to_tags(n_words: int, spans) -> list[str]:
    """IOB2 tags from (first, last + 1, type, ...) word spans."""
    tags = ["O"] * n_words
    for first, last, label, *_ in spans:
        tags[first] = f"B-{label}"
        for k in range(first + 1, last):
            tags[k] = f"I-{label}"
    return tags


def word_tags(encoded: EncodedText, spans: list[Span]) -> list[str]:
    """BIO tag of each word: the first word touching an entity is B-, the rest I-."""
    return spans_to_tags(len(encoded.words), word_spans(encoded.words, spans))


@dataclass
class Window:
    input_ids: list[int]
    shape_ids: list[int]
    pool_mask: list[float]
    token_targets: dict[str, list[int]]   # ner task -> tag id per position (IGNORE where unlabelled)
    doc_targets: dict[str, list[float] | int]


def document_windows(doc: Document, tokenizer, tasks: list[TaskSpec], window_length: int,
                     window_overlap: int) -> list[Window]:
    enc = encode(tokenizer, join_pair(tokenizer, doc.text, doc.text_pair))
    spans, owner = plan_windows(len(enc.input_ids), window_length - 2, window_overlap)
    token_tags = {}
    for task in tasks:
        if task.kind == "ner" and task.name in doc.spans:
            tags = word_tags(enc, doc.spans[task.name])
            per_token = [IGNORE] * len(enc.input_ids)
            for w, i in enumerate(enc.first_subwords):
                per_token[i] = task.labels.index(tags[w])
            token_tags[task.name] = per_token
    doc_targets = {}
    for task in tasks:
        if task.kind != "ner" and task.name in doc.labels:
            if task.kind == "multi":
                doc_targets[task.name] = [float(l in doc.labels[task.name]) for l in task.labels]
            else:
                doc_targets[task.name] = task.labels.index(doc.labels[task.name][0])
    windows = []
    for w, (start, end) in enumerate(spans):
        owned = [owner[i] == w for i in range(start, end)]
        targets = {name: [IGNORE] + [t if o else IGNORE for t, o in zip(tags[start:end], owned)] + [IGNORE]
                   for name, tags in token_tags.items()}
        windows.append(Window(
            input_ids=[tokenizer.cls_token_id, *enc.input_ids[start:end], tokenizer.sep_token_id],
            shape_ids=[0, *enc.shape_ids[start:end], 0],
            pool_mask=[0.0, *map(float, owned), 0.0],
            token_targets=targets,
            doc_targets=doc_targets,
        ))
    return windows


def collate(windows: list[Window], tasks: list[TaskSpec], pad_id: int) -> dict:
    """Pad a list of windows into tensors; a task absent from a window gets no loss there."""
    width = max(len(w.input_ids) for w in windows)
    n = len(windows)

    def padded(rows, fill, dtype):
        out = torch.full((n, width), fill, dtype=dtype)
        for i, r in enumerate(rows):
            out[i, :len(r)] = torch.tensor(r, dtype=dtype)
        return out

    batch = {
        "input_ids": padded([w.input_ids for w in windows], pad_id, torch.long),
        "attention_mask": padded([[1] * len(w.input_ids) for w in windows], 0, torch.long),
        "shape_ids": padded([w.shape_ids for w in windows], 0, torch.long),
        "pool_mask": padded([w.pool_mask for w in windows], 0.0, torch.float32),
    }
    targets = {}
    for task in tasks:
        if task.kind == "ner":
            targets[task.name] = padded([w.token_targets.get(task.name, [IGNORE] * len(w.input_ids))
                                         for w in windows], IGNORE, torch.long)
        elif task.kind == "multi":
            rows = [w.doc_targets.get(task.name) for w in windows]
            mask = torch.tensor([r is not None for r in rows])
            values = torch.tensor([r if r is not None else [0.0] * len(task.labels) for r in rows])
            targets[task.name] = (values, mask)
        else:
            targets[task.name] = torch.tensor([w.doc_targets.get(task.name, IGNORE) for w in windows])
    return {"inputs": batch, "targets": targets}
