"""Training documents as the model sees them: each tokenized once, cut into windows by
`inference.windows` (exactly as `predict` cuts them), and batched with its gold targets."""
from __future__ import annotations

import torch

from inference.manifest import TaskSpec
from inference.tokenization import encode, join_pair
from inference.windows import IGNORE, SpecialTokens, batch_inputs, batch_token_targets, cut_windows

from .corpus import Document
from .targets import gold_targets


class TrainingSet:
    def __init__(self, docs: list[Document], tokenizer, tasks: list[TaskSpec], window_length: int, window_overlap: int):
        self.tasks = tasks
        self.special = SpecialTokens.of(tokenizer)
        self.encoded = [encode(tokenizer, join_pair(tokenizer, d.text, d.text_pair)) for d in docs]
        self.gold = [gold_targets(d, e, tasks) for d, e in zip(docs, self.encoded)]
        self.windows = cut_windows(self.encoded, window_length, window_overlap)

    def __len__(self) -> int:
        return len(self.windows)

    def batch(self, indices: list[int]) -> dict:
        """Inputs and targets of the windows at `indices`; a task a document is not annotated
        for gets no loss from its windows."""
        windows = [self.windows[i] for i in indices]
        gold = [self.gold[w.text] for w in windows]
        targets = {}
        for task in self.tasks:
            if task.kind == "ner":
                targets[task.name] = batch_token_targets(windows, [g.subword_tags.get(task.name) for g in self.gold])
            elif task.kind == "multi":
                rows = [g.document.get(task.name) for g in gold]
                mask = torch.tensor([r is not None for r in rows])
                values = torch.tensor([r if r is not None else [0.0] * len(task.labels) for r in rows])
                targets[task.name] = (values, mask)
            else:
                targets[task.name] = torch.tensor([g.document.get(task.name, IGNORE) for g in gold])
        return {"inputs": batch_inputs(windows, self.encoded, self.special), "targets": targets}
