"""One encoder, many heads: every head reads the same hidden states of one forward pass."""
from __future__ import annotations

import torch
from torch import nn

from .tokenization import NUM_SHAPE_IDS
from .manifest import TaskSpec


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: nn.Module, tasks: list[TaskSpec], dropout: float = 0.1, shape_input: bool = False):
        super().__init__()
        self.encoder = encoder
        # With shape_input, word shapes also enter the encoder through its token-type embedding,
        # so every layer can use capitalisation in context, not only the NER head.
        self.shape_input = shape_input
        if shape_input and encoder.config.type_vocab_size != NUM_SHAPE_IDS:
            old = encoder.embeddings.token_type_embeddings
            widened = nn.Embedding(NUM_SHAPE_IDS, old.embedding_dim)
            with torch.no_grad():
                widened.weight.copy_(old.weight[0].expand(NUM_SHAPE_IDS, -1))  # starts as "type 0" everywhere
            encoder.embeddings.token_type_embeddings = widened
            encoder.config.type_vocab_size = NUM_SHAPE_IDS
        self.tasks = {t.name: t for t in tasks}
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        # Word shape (case, digits, sentence start) added to the token states before the
        # NER head: the uncased encoder cannot see capitalisation on its own.
        self.shape_embedding = nn.Embedding(NUM_SHAPE_IDS, hidden, padding_idx=0)
        nn.init.zeros_(self.shape_embedding.weight)
        self.heads = nn.ModuleDict({t.name: nn.Linear(hidden, len(t.labels)) for t in tasks})

    def forward(self, input_ids, attention_mask, shape_ids, pool_mask) -> dict[str, torch.Tensor]:
        """Logits per task: per token for NER, per window for document tasks. `pool_sum` and
        `pool_count` let a caller pool a document over several windows (`document_logits`)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=shape_ids if self.shape_input else None).last_hidden_state
        out = {"pool_sum": (hidden * pool_mask.unsqueeze(-1)).sum(1), "pool_count": pool_mask.sum(1, keepdim=True)}
        for name, task in self.tasks.items():
            if task.kind == "ner":
                out[name] = self.heads[name](self.dropout(hidden + self.shape_embedding(shape_ids)))
        out.update(self.document_logits(out["pool_sum"] / out["pool_count"].clamp(min=1.0)))
        return out

    def document_logits(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits of every document-level task from mean-pooled token states."""
        pooled = self.dropout(pooled)
        return {name: self.heads[name](pooled) for name, t in self.tasks.items() if t.kind != "ner"}

    def head_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.")}
