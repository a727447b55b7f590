"""The training loss: the sum of the losses of the tasks annotated in a batch."""
from __future__ import annotations

import torch
from torch import nn

from inference.modeling import MultiTaskModel
from inference.windows import IGNORE


def batch_loss(trainee, model: MultiTaskModel, batch: dict, smoothing: float = 0.0) -> torch.Tensor:
    """`trainee` is the model, or its DistributedDataParallel wrapper; a task with no labels in
    the batch adds nothing."""
    out = trainee(**batch["inputs"])
    total = out["pool_sum"].sum() * 0.0  # keeps the graph when no task is annotated here
    for name, task in model.tasks.items():
        target = batch["targets"][name]
        if task.kind == "ner":
            if (target != IGNORE).any():
                total = total + nn.functional.cross_entropy(out[name].flatten(0, 1).float(), target.flatten(),
                                                            ignore_index=IGNORE, label_smoothing=smoothing)
        elif task.kind == "multi":
            values, mask = target
            if mask.any():
                total = total + nn.functional.binary_cross_entropy_with_logits(out[name][mask].float(), values[mask])
        elif (target != IGNORE).any():
            total = total + nn.functional.cross_entropy(out[name].float(), target, ignore_index=IGNORE,
                                                        label_smoothing=smoothing)
    return total
