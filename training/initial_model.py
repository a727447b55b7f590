"""The model a run starts from: a base encoder with fresh heads, or a checkpoint widened to the
run's labels."""
from __future__ import annotations

from pathlib import Path

import torch

from inference.checkpoint import load_checkpoint, load_encoder, load_tokenizer
from inference.modeling import MultiTaskModel

from .base_models import resolve_base
from .lexical_fit import flag_tasks
from .schema import schema_of, task_specs
from .sources import merge_schemas


def new_model(base: str | None, schema: dict, shape_input: bool, lexicon_size: int = 0, gate_label: str | None = None):
    """(model, tokenizer, base name) for `base` (a name or a folder) with one fresh head per task;
    with `lexicon_size`, document heads get a lexical branch over that many terms."""
    folder, name = resolve_base(base)
    encoder = load_encoder(folder)   # first: a config.json that is not JSON is named as the encoder's
    tokenizer = load_tokenizer(folder, f"base {folder}")
    if len(tokenizer) < encoder.config.vocab_size // 2:   # transformers builds an empty one where files are missing
        raise ValueError(f"base {folder}: its tokenizer has {len(tokenizer)} tokens for an encoder of "
                         f"{encoder.config.vocab_size}: the folder lacks the encoder's tokenizer files (tokenizer.json, "
                         "or vocab.txt, or a SentencePiece model)")
    if len(tokenizer) > encoder.config.vocab_size:   # ids past the embedding: an IndexError at the first batch
        # without tokenizer_config.json, transformers takes the class from config.json's model_type and adds
        # its special tokens ([CLS]...) to a vocabulary that has others (e5-small's <s>)
        added = tokenizer.convert_ids_to_tokens(list(range(encoder.config.vocab_size, len(tokenizer))))
        why = (f"the folder has no tokenizer_config.json, so transformers built a {type(tokenizer).__name__} from "
               f"config.json's model_type and added special tokens the vocabulary lacks ({', '.join(added)}); copy "
               "the encoder's tokenizer_config.json into the folder"
               if (Path(folder) / "tokenizer.json").is_file() and not (Path(folder) / "tokenizer_config.json").is_file()
               else "the tokenizer files are another encoder's")
        raise ValueError(f"base {folder}: its tokenizer has {len(tokenizer)} tokens for an encoder of "
                         f"{encoder.config.vocab_size}: {why}")
    tasks = task_specs(schema)
    flag_tasks(tasks, lexicon_size > 0, gate_label)
    return MultiTaskModel(encoder, tasks, shape_input=shape_input, lexicon_size=lexicon_size), tokenizer, name


# where encoder configs keep the dropout of their attention probabilities (BERT and most; DistilBERT)
ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout")


def attention_dropout_of(encoder: torch.nn.Module) -> float | None:
    """The attention dropout the encoder's config gives (the checkpoint's own after --init-from)."""
    return next((getattr(encoder.config, key) for key in ATTENTION_DROPOUT_KEYS if hasattr(encoder.config, key)), None)


def set_attention_dropout(encoder: torch.nn.Module, p: float) -> None:
    """Dropout on the attention probabilities of every self-attention layer of a BERT-style
    encoder (`{Bert,Roberta,...}SelfAttention.dropout`, which their forward reads at each call),
    and in its config, so the saved checkpoint says what it trained with."""
    layers = [m for m in encoder.modules() if type(m).__name__.endswith("SelfAttention")]
    if not layers or not all(isinstance(getattr(m, "dropout", None), torch.nn.Dropout) for m in layers):
        raise ValueError(f"attention_dropout: {type(encoder).__name__} has no BERT-style self-attention dropout")
    for layer in layers:
        layer.dropout.p = p
    for key in ATTENTION_DROPOUT_KEYS:
        if hasattr(encoder.config, key):
            setattr(encoder.config, key, p)


def continue_from(checkpoint: str, schema: dict, log, manifest=None):
    """(model, tokenizer, base name, schema): the checkpoint's model widened to the run's schema
    (the tasks it trains); `manifest`, the checkpoint's where already read.
    Every label it knows keeps its head row (and so what it learnt), labels it has never seen
    get new rows, new tasks new heads."""
    old, tokenizer, old_manifest = load_checkpoint(checkpoint, manifest)
    trained = set(schema)   # the run's own tasks; the checkpoint's others are carried over as they are
    schema = merge_schemas(schema_of(old_manifest.tasks), schema, f"the checkpoint {checkpoint}", "this run's data")
    tasks = task_specs(schema)
    for task in tasks:   # a head keeps its lexical branch and gate (refitted where the run trains the task), its
        if task.name in old.tasks:   # CRF, and the names it has trained on (the span calibrator reads them)
            was = old.tasks[task.name]
            task.lexical, task.gate, task.crf, task.seen_entities = was.lexical, was.gate, was.crf, was.seen_entities
            task.allows_none = was.allows_none   # what the head learnt: this run's data may add it (Trainer)
            if task.name not in trained:   # a head trained no further keeps its calibration, unless dev refits it
                task.temperature, task.thresholds = was.temperature, dict(was.thresholds)
                task.span_calibrator = dict(was.span_calibrator)
    model = MultiTaskModel(old.encoder, tasks, shape_input=old.shape_input, lexicon_size=old.lexicon_size)
    model.shape_embedding.load_state_dict(old.shape_embedding.state_dict())
    if old.lexicon_size:
        model.lexicon_idf.copy_(old.lexicon_idf)
    with torch.no_grad():
        for task in tasks:
            if task.name not in old.tasks:
                log(f"new task {task.name!r} ({task.kind}): {len(task.labels)} labels")
                continue
            old_labels, old_head, head = old.tasks[task.name].labels, old.heads[task.name], model.heads[task.name]
            for row, label in enumerate(task.labels):
                if label in old_labels:
                    head.weight[row] = old_head.weight[old_labels.index(label)]
                    head.bias[row] = old_head.bias[old_labels.index(label)]
                    if task.name in old.lexical:   # kept where the run does not fit it again (fit_lexical_heads)
                        model.lexical[task.name][row] = old.lexical[task.name][old_labels.index(label)]
            if task.name in old.gates:
                model.gates[task.name].copy_(old.gates[task.name])
            if task.crf:   # transitions between labels it knows keep their scores
                rows = torch.tensor([row for row, label in enumerate(task.labels) if label in old_labels])
                old_rows = torch.tensor([old_labels.index(task.labels[row]) for row in rows.tolist()])
                model.transitions[task.name][rows[:, None], rows] = old.transitions[task.name][old_rows[:, None], old_rows]
            added = [l for l in task.labels if l not in old_labels]
            if added:
                log(f"task {task.name!r}: new labels {', '.join(added)}")
    return model, tokenizer, old_manifest.base_model, schema, old_manifest.lexicon
