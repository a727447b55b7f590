"""AdamW with per-group learning rates, and its warm-up and linear-decay schedule."""
from __future__ import annotations

import torch
from transformers import get_linear_schedule_with_warmup

from inference.modeling import MultiTaskModel

from .config import TrainConfig

NO_DECAY = ("bias", "LayerNorm.weight")


def optimizer_for(model: MultiTaskModel, config: TrainConfig) -> torch.optim.Optimizer:
    """Heads at head_learning_rate; encoder at learning_rate, lower layers scaled down by
    layer_decay (layer-wise decay keeps the general lower layers closer to pre-training)."""
    depth = model.encoder.config.num_hidden_layers
    groups = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:   # the fitted lexical branches stay as fitted
            continue
        if not name.startswith("encoder."):
            key = (config.head_learning_rate, 0.0)
        else:
            key = (config.learning_rate * config.layer_decay ** (depth - _layer_of(name, depth)),
                   0.0 if name.endswith(NO_DECAY) else config.weight_decay)
        groups.setdefault(key, []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()])


def schedule_for(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    return get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)


def _layer_of(name: str, depth: int) -> int:
    """0 for the embeddings, l + 1 for encoder layer l, depth for anything above the layers."""
    parts = name.split(".")
    if "embeddings" in parts:
        return 0
    return int(parts[parts.index("layer") + 1]) + 1 if "layer" in parts else depth
