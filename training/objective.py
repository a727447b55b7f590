"""The training loss: the sum of the losses of the tasks annotated in a batch."""
from __future__ import annotations

import torch
from torch import nn

from inference.decoding import bio_transitions
from inference.modeling import MultiTaskModel
from inference.windows import IGNORE

FORBIDDEN = -1e4   # added to the transitions BIO forbids (I-X after anything but B-X or I-X)


def batch_loss(trainee, model: MultiTaskModel, batch: dict, smoothing: float = 0.0) -> torch.Tensor:
    """`trainee` is the model, or its DistributedDataParallel wrapper; a task with no labels in
    the batch adds nothing."""
    out = trainee(**batch["inputs"])
    total = out["pool_sum"].sum() * 0.0  # keeps the graph when no task is annotated here
    for name, task in model.tasks.items():
        target = batch["targets"][name]
        if task.kind == "ner" and task.crf:
            if (target != IGNORE).any():
                allowed = torch.tensor(bio_transitions(tuple(task.labels))[0], device=target.device)
                total = total + crf_loss(out[name], target, out[f"{name}.transitions"], allowed)
        elif task.kind == "ner":
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


def crf_loss(logits: torch.Tensor, target: torch.Tensor, transitions: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of a linear-chain CRF over each window's labelled subwords (its
    words' first subwords, in order), per labelled word so it is on cross-entropy's scale.
    logits (windows, subwords, tags); target (windows, subwords), IGNORE where unlabelled. A
    window may start inside a name, so any tag may open its chain."""
    labelled = target != IGNORE
    keep = labelled.any(1)
    logits, target, labelled = logits[keep], target[keep], labelled[keep]
    lengths = labelled.sum(1)
    n = int(lengths.max())
    order = torch.sort((~labelled).to(torch.int8), dim=1, stable=True).indices[:, :n]   # labelled first, in order
    emissions = logits.gather(1, order.unsqueeze(-1).expand(-1, -1, logits.size(-1))).float()
    mask = torch.arange(n, device=target.device)[None] < lengths[:, None]
    tags = target.gather(1, order).masked_fill(~mask, 0)
    scores = transitions.float() + torch.where(allowed, 0.0, FORBIDDEN)
    gold = (emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1) * mask).sum(1)
    gold = gold + (scores[tags[:, :-1], tags[:, 1:]] * mask[:, 1:]).sum(1)
    alpha = emissions[:, 0]
    for i in range(1, n):
        step = torch.logsumexp(alpha.unsqueeze(2) + scores, 1) + emissions[:, i]
        alpha = torch.where(mask[:, i:i + 1], step, alpha)
    return (torch.logsumexp(alpha, 1) - gold).sum() / lengths.sum()
