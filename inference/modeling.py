"""One encoder, many heads: every head reads the same hidden states of one forward pass.

A document head may also read the document's lexical features (inference.lexical) through a
linear map of its own, fitted before fine-tuning and held fixed ("wide and deep"); and a
single-label head may be gated: one of its labels is decided by a lexical classifier first
(FNC-1's "unrelated"), and the head shares the rest of the probability among the others."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .tokenization import NUM_SHAPE_IDS
from .manifest import TaskSpec


# What forward returns beside each task's logits, keyed like them
OUTPUTS = ("pool_sum", "pool_count")


def task_name_problem(name: str) -> str | None:
    """Why `name` cannot name a task (its heads are kept by name in torch's module dicts, and its
    logits beside OUTPUTS), or None."""
    if not name or "." in name:
        return "is empty or holds a '.'"
    if name in OUTPUTS or hasattr(nn.ModuleDict(), name) or hasattr(nn.ParameterDict(), name):
        return "is a name the model keeps for itself"
    return None


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: nn.Module, tasks: list[TaskSpec], dropout: float = 0.1, shape_input: bool = False,
                 lexicon_size: int = 0):
        super().__init__()
        # named before any head is made: "type" met as a KeyError of torch's, "pool_count" as a
        # crash at the first dev scoring, after an epoch of training
        wrong = [f"{t.name!r} {problem}" for t in tasks if (problem := task_name_problem(t.name))]
        if wrong:
            raise ValueError(f"task name {'; '.join(wrong)}: rename the task (its schema entry, field or annotation)")
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
        # A CRF head's transition scores (scores[previous, current] over its words' tags).
        self.transitions = nn.ParameterDict({t.name: nn.Parameter(torch.zeros(len(t.labels), len(t.labels)))
                                             for t in tasks if t.kind == "ner" and t.crf})
        # Lexical maps and gates start at zero (no random draws): training sets them from a fitted
        # linear model. A pair task reads both texts' vectors and their cosine.
        self.lexicon_size = lexicon_size
        if lexicon_size:
            self.register_buffer("lexicon_idf", torch.zeros(lexicon_size))
        width = {t.name: 2 * lexicon_size + 1 if t.kind == "pair" else lexicon_size for t in tasks}
        self.lexical = nn.ParameterDict({t.name: nn.Parameter(torch.zeros(len(t.labels), width[t.name] + 1))
                                         for t in tasks if t.lexical and lexicon_size})
        self.gates = nn.ParameterDict({t.name: nn.Parameter(torch.zeros(1, width[t.name] + 1))
                                       for t in tasks if t.gate and lexicon_size})

    def forward(self, input_ids, attention_mask, shape_ids, pool_mask, lexical=None) -> dict[str, torch.Tensor]:
        """Logits per task: per token for NER, per window for document tasks, and a CRF head's
        transition scores as "<task>.transitions". `pool_sum` and
        `pool_count` let a caller pool a document over several windows (`document_logits`);
        `lexical`: each window's document features (see document_logits)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=shape_ids if self.shape_input else None).last_hidden_state
        out = {"pool_sum": (hidden * pool_mask.unsqueeze(-1)).sum(1), "pool_count": pool_mask.sum(1, keepdim=True)}
        for name, task in self.tasks.items():
            if task.kind == "ner":
                out[name] = self.heads[name](self.dropout(hidden + self.shape_embedding(shape_ids)))
            if name in self.transitions:   # for the loss, through the graph: DDP counts a parameter as used
                out[f"{name}.transitions"] = self.transitions[name].clone()   # only if an output leads to it
        out.update(self.document_logits(out["pool_sum"] / out["pool_count"].clamp(min=1.0), lexical))
        return out

    def document_logits(self, pooled: torch.Tensor, lexical: dict[str, torch.Tensor] | None = None
                        ) -> dict[str, torch.Tensor]:
        """Logits of every document-level task from mean-pooled token states, plus the lexical
        part where a head has one. `lexical` maps "text" (and "pair", for pair tasks) to the
        documents' features; without it heads read the pooled states alone. A gated head gives
        log-probabilities, which serve as logits."""
        pooled = self.dropout(pooled)
        out = {}
        for name, task in self.tasks.items():
            if task.kind == "ner":
                continue
            logits = self.heads[name](pooled)
            if lexical is not None and name in self.lexical:
                logits = logits + _affine(lexical[self.feature_kind(task)], self.lexical[name]).to(logits.dtype)
            if lexical is not None and name in self.gates:
                gate = _affine(lexical[self.feature_kind(task)], self.gates[name]).to(logits.dtype)
                logits = _gated(logits, gate, task.labels.index(task.gate))
            out[name] = logits
        return out

    def feature_kinds(self) -> set[str]:
        """Which lexical features the heads read: "text", "pair" or none."""
        return {self.feature_kind(self.tasks[name]) for name in [*self.lexical, *self.gates]}

    @staticmethod
    def feature_kind(task: TaskSpec) -> str:
        return "pair" if task.kind == "pair" else "text"

    def set_crf(self, on: bool) -> None:
        """Make every NER head a linear-chain CRF (its transition scores start at zero) or not."""
        for task in self.tasks.values():
            if task.kind != "ner":
                continue
            task.crf = on
            if not on:
                if task.name in self.transitions:
                    del self.transitions[task.name]
                task.transitions = []
            elif task.name not in self.transitions:
                self.transitions[task.name] = nn.Parameter(torch.zeros(len(task.labels), len(task.labels)))

    def sync_transitions(self, tasks: list[TaskSpec]) -> None:
        """Copy each CRF head's transition scores into its task spec, where decoding reads them."""
        for task in tasks:
            if task.name in self.transitions:
                task.transitions = self.transitions[task.name].detach().float().cpu().tolist()

    def head_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.")}


def _affine(features: torch.Tensor, weight_and_bias: torch.Tensor) -> torch.Tensor:
    """features @ W.T + b, with the bias kept as the last column of one parameter."""
    return features.to(weight_and_bias.dtype) @ weight_and_bias[:, :-1].T + weight_and_bias[:, -1]


def _gated(logits: torch.Tensor, gate: torch.Tensor, index: int) -> torch.Tensor:
    """Log-probabilities: P(label `index`) = sigmoid(gate); the others share 1 - that by the
    softmax of their logits."""
    others = torch.cat([logits[:, :index], logits[:, index + 1:]], 1)
    rest = torch.log_softmax(others, -1) + F.logsigmoid(-gate)
    return torch.cat([rest[:, :index], F.logsigmoid(gate), rest[:, index:]], 1)
