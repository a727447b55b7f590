"""The training loop: fine-tune one encoder with every head of the schema, keep the best epoch
by dev score, then calibrate and score the kept checkpoint."""
from __future__ import annotations

import dataclasses
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from inference.calibration import calibrate
from inference.checkpoint import (MANIFEST, check_replaceable, configured_positions, is_checkpoint, recover_killed_save,
                                  save_checkpoint, write_manifest)
from inference.devices import autocast, cpu_has_bf16, device_name, resolve_device, resolve_precision
from inference.lexical import Lexicon, vocabulary_sha256
from inference.manifest import Manifest
from inference.predictor import NewsModel
from inference.tokenization import surface
from inference.windows import usable_positions, window_problem
from inference.runtimes import choose

from . import distributed
from .base_models import BASE_MODELS, default_recipe, readable_base
from .config import TrainConfig
from .corpus import DataError, annotated_tasks
from .data import (SPLITS, RunData, as_sources, describe, document_warnings, file_sha256, files_sha256,
                   folder_fingerprint, input_files, labels_differing_in_case, labels_without_examples, overlaps,
                   predicted_schema, rare_entity_types, read_data, source_files)
from .dataset import TrainingSet
from .evaluation import evaluate, format_metrics, head_outputs
from .initial_model import attention_dropout_of, continue_from, new_model, set_attention_dropout
from .lexical_fit import fit_lexical_heads, fit_lexicon
from .metrics import headline
from .model_card import train_counts, unwritten, write_model_card
from .objective import batch_loss
from .optimization import optimizer_for, schedule_for
from .runtime_figures import measure_runtimes
from .schema import schema_of
from .state import (check_outside_saves, checkpoint_differences, from_folder, is_state, load_state, remove_state,
                    replaced_folders, resolved, run_digest, run_identity, save_state, spellings, state_dir)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def checkpoint_at(output: str) -> Manifest | None:
    """The manifest of the checkpoint at `output`, or None where there is none or it cannot be read."""
    if not is_checkpoint(Path(output)):
        return None
    try:
        return Manifest.read(Path(output) / MANIFEST)
    except (OSError, ValueError):   # a damaged checkpoint is no finished run: trained again and replaced
        return None


# what a continued checkpoint records of each run before it (`earlier_runs`): the card names them
RUN_RECORD = ("train", "dev", "test", "dev_fraction")


def earlier_runs(kept: Manifest) -> list[dict]:
    """The runs whose training is in the checkpoint of manifest `kept`, oldest first: those it
    carries and its own, each as its data files and their SHA-256 (empty where it records none).
    A model continued from it learnt from their training files too: `calibrate` refuses them."""
    training = kept.training if isinstance(kept.training, dict) else {}
    config = training.get("config") if isinstance(training.get("config"), dict) else {}
    carried = training.get("earlier_runs")
    if not isinstance(carried, list):   # continued before runs were kept: at least one run it does not record
        carried = [{}] if config.get("init_from") else []
    own = {**{key: config.get(key) for key in RUN_RECORD}, "data_sha256": training.get("data_sha256") or {}}
    return [*carried, own]


def ended(manifest: Manifest | None) -> bool:
    """Whether `manifest` is of a run that ended: its minutes of training are written as a run ends,
    not with its epochs."""
    return manifest is not None and "train_minutes" in manifest.training


def check_start_in_place(config: TrainConfig) -> None:
    """Refuse --init-from its own --output where that holds the best epoch so far of an interrupted
    run that continued it in place: its first save replaced the checkpoint it started from, so
    training from it again would repeat those epochs, under a card saying it started from the
    original. Its --resume, while the state is there, goes on from it as it should."""
    if os.path.realpath(config.init_from) != os.path.realpath(config.output) or (
            config.resume and is_state(state_dir(config.output))):
        return
    kept = checkpoint_at(config.output)
    if kept is None or ended(kept) or "run_sha256" not in kept.training:   # a finished or hand-made checkpoint
        return
    started, ran_in = kept.training.get("config", {}).get("init_from"), kept.training.get("cwd")
    if isinstance(started, str) and isinstance(ran_in, str) and \
            os.path.realpath(os.path.join(ran_in, started)) == os.path.realpath(config.output):
        raise ValueError(f"init_from {config.init_from}: it holds the best epoch so far "
                         f"({kept.training.get('best_epoch')}) of an interrupted run that continued it in place, not "
                         "the checkpoint that run started from, which its first save replaced; and "
                         f"{state_dir(config.output)} holds no state of it to --resume from. To train from this "
                         "checkpoint as it is, copy it and give the copy to --init-from")


def check_before_reading(config: TrainConfig) -> None:
    """What train refuses before it reads the data: an output or state a save would destroy, a
    model card it would lose, a state it would overwrite, windows longer than the encoder's positions
    where its config.json says them (the benchmark scripts call it before they cut their files too)."""
    check_replaceable(config.output, option="output")   # before the data is read and hours are spent (`--output .` too)
    for path in (config.output, state_dir(config.output)):   # so --resume finds what a kill left moved aside
        recover_killed_save(path)
    check_replaceable(config.output, option="output")   # what that put back
    for path in input_files(config):
        check_outside_saves(path, config.output)
    if config.model_card:
        card = Path(os.path.realpath(config.model_card))
        if Path(config.model_card).is_dir() or not Path(config.model_card).parent.is_dir():
            raise ValueError(f"model_card {config.model_card}: give a file in an existing folder")
        if str(card) in map(os.path.realpath, input_files(config)):
            raise ValueError(f"model_card {config.model_card}: that is an input of this run; give another file")
        for what, folder in replaced_folders(config.output):
            if card.is_relative_to(os.path.realpath(folder)):   # the state's: deleted with it at the run's end
                raise ValueError(f"model_card {config.model_card}: that is inside {what} {folder}, which a save "
                                 "replaces whole (the checkpoint has its own card, README.md); give a file elsewhere")
        for name, folder in (("init_from", config.init_from), ("base", config.base)):   # a file there is an input
            if folder and os.path.isdir(folder) and card.is_relative_to(os.path.realpath(folder)):
                raise ValueError(f"model_card {config.model_card}: that is inside the {name} folder {folder}, an "
                                 "input of this run; give a file elsewhere")
    check_replaceable(state_dir(config.output), is_state, "a training state")
    if not config.resume and is_state(state_dir(config.output)):   # its first save would replace hours of work
        raise ValueError(f"{state_dir(config.output)} holds the state of an interrupted run: give --resume to go on "
                         "from it, or remove that folder to start again")
    if config.init_from:
        check_start_in_place(config)
    if problem := window_problem(config.window_length, config.window_overlap, starting_positions(config)):
        raise ValueError(problem)   # _starting_model checks it again on the encoder loaded


def starting_positions(config: TrainConfig) -> int | None:
    """The positions of the encoder the run starts from, as its config.json says (--init-from's
    checkpoint, or the base's: see readable_base), read without loading it; None where that is not
    there to read (a folder that is no checkpoint is left for the load to refuse)."""
    if config.init_from:
        folder = Path(config.init_from) if is_checkpoint(Path(config.init_from)) else None
    else:
        folder = readable_base(config.base)
    return configured_positions(folder) if folder else None


class StartedAgain(KeyboardInterrupt):
    """Ctrl-C before a run that started from the beginning saved its first state: a checkpoint of an ended
    run at its output (where --resume found no state of its own, another run's) is none of its doing."""


class EndedRunStopped(KeyboardInterrupt):
    """Ctrl-C in a --resume that found its run ended (measuring the runtimes it left out, say): its
    checkpoint is whole."""


def train(config: TrainConfig, log=print) -> dict:
    """Train, write the best checkpoint to config.output, return the run's metrics (process 0;
    the other processes of a distributed run return {})."""
    config = dataclasses.replace(config)   # settings resolved for this run (rates of its base) stay out of the caller's
    if os.environ.get("RANK", "0") != "0":   # under torchrun process 0 alone speaks, not each process in turn
        log = lambda line: None   # noqa: E731
    check_before_reading(config)
    data = read_data(config)
    for name in data.untrained:
        what = ("left out, unless --init-from's checkpoint has it: then its head is carried over, trained no "
                "further, and calibrated afresh only where dev annotates it (else it keeps the checkpoint's "
                "calibration)") if config.init_from else \
            "left out of the checkpoint"
        log(f"warning: none of the documents trained on (after any hold-out or sample) is annotated for task "
            f"{name!r}: {what}")
    for name, (where, several, annotated) in data.several_labels.items():   # a record's slip changes the head
        log(f"warning: task {name!r} is multi-label (each label its own probability, chosen at its own threshold), "
            f"as {several} of the {annotated} documents annotating it in the run's files give{'s' * (several == 1)} it "
            f"several labels, the first {where}; "
            "where that is a slip, give each of them one label")
    odd_documents = [line for split in SPLITS
                     for line in document_warnings(getattr(data, split) or [], f"{split} data")]
    predicted = predicted_schema(data)
    trained = {name: predicted[name] for name in data.schema}   # with the labels --init-from's checkpoint adds
    for line in (rare_entity_types(data.schema, data.train) + labels_without_examples(trained, data.train)
                 + (labels_without_examples(predicted, data.dev, dev=True) if data.dev else [])
                 + labels_differing_in_case(trained) + overlaps(config, data) + odd_documents):
        log(f"warning: {line}")
    on_dev = annotated_tasks(data.dev) if data.dev else set()
    if select := config.select_by:
        if select not in data.scored:   # tasks carried over by --init-from too
            raise DataError([f"select_by: no task {select!r} in the data; tasks: {', '.join(sorted(data.scored))}"])
        if not data.dev:
            raise DataError([f"select_by {select!r}: there is no dev data to select the epoch on (give --dev "
                             "or --dev-fraction)"])
        if select not in on_dev:
            raise DataError([f"select_by: no dev document is annotated for task {select!r}"])
        if not any(d.spans.get(select) or d.labels.get(select) for d in data.dev):
            raise DataError([f"select_by: the dev documents have no entity or label of task {select!r}: its "
                             "F1 would be 0 at every epoch, and the first epoch kept"])
    unscored = [task for task in data.schema if task not in on_dev] if data.dev else []
    if unscored:
        log(f"warning: no dev document is annotated for task(s) {', '.join(unscored)}: the best epoch is chosen "
            "without them, and their scores are not calibrated on dev")
    if config.init_from:   # the checkpoint's model reads what it learnt to read (its manifest says what)
        kept = data.checkpoint
        if config.base:
            log(f"warning: --base {config.base} has no effect with --init-from: the encoder is the checkpoint's")
        if config.lexical_terms and config.lexical_terms != len(kept.lexicon):
            has = f"read the checkpoint's {len(kept.lexicon)} terms" if kept.lexicon else "read no lexical features"
            log(f"warning: --lexical-terms {config.lexical_terms} has no effect with --init-from: the document "
                f"heads {has}, as the checkpoint's")
        if not config.shape_input and kept.shape_input:
            log("warning: --no-shape-input has no effect with --init-from: the checkpoint's encoder reads word shapes")
        if config.gate_label:
            log(f"warning: --gate-label {config.gate_label} has no effect with --init-from: the gates are the "
                "checkpoint's")
    elif config.gate_label and not any(spec["kind"] in ("single", "pair") and config.gate_label in spec["labels"]
                                       for spec in data.schema.values()):
        raise DataError([f"gate_label: no single-label task has a label {config.gate_label!r}; tasks: "
                         + "; ".join(f"{name} ({', '.join(spec['labels'])})" for name, spec in data.schema.items()
                                     if spec["kind"] in ("single", "pair"))])
    trainer = Trainer(config, data, log)
    if trainer.finished is not None:   # --resume of a run that has already ended: nothing to train
        distributed.leave(trainer.world)
        if trainer.rank == 0:
            try:
                trainer.measure_ended_run()
            except KeyboardInterrupt:
                raise EndedRunStopped from None
        return trainer.finished if trainer.rank == 0 else {}
    try:
        trainer.run_epochs()
    except KeyboardInterrupt:
        if trainer.progress["epoch"] == 0:   # started from the beginning: an ended checkpoint at output is not its own
            raise StartedAgain from None
        raise
    return trainer.finish() if trainer.rank == 0 else {}


def seen_entities(task, docs) -> list[str]:
    """The entity strings of an NER task in `docs`: the span calibrator reads whether a name was
    seen in training."""
    return sorted({surface(d.text[s.start:s.end]) for d in docs for s in d.spans.get(task.name, [])})


def allows_none(task, docs) -> bool:
    """Whether a training document gives the multi-label `task` no label (a Reuters story with no
    topic): the head learns "none of them", so predict may give a document none."""
    return task.kind == "multi" and any(d.labels.get(task.name) == [] for d in docs)


def none_scored_not_learnt(tasks, data) -> list[str]:
    """A line for each multi-label task that gives every document a label, as no training document
    has none, while dev or test documents do (all of them given there, or held out by
    --dev-fraction): each is scored as given its best label."""
    lines = []
    for task in tasks:
        if task.kind != "multi" or task.allows_none:
            continue
        trained = sum(task.name in d.labels for d in data.train)
        for split in ("dev", "test"):
            annotating = [d for d in getattr(data, split) or [] if task.name in d.labels]
            if none := [d for d in annotating if d.labels[task.name] == []]:
                lines.append(f"task {task.name!r} gives every document a label (its best, where none reaches its "
                             f"threshold), as none of the {trained} training documents annotating it (after any "
                             f"hold-out or sample) has none, but {len(none)} of the {len(annotating)} {split} "
                             f"documents annotating it do{'es' * (len(none) == 1)}, the first "
                             f"{none[0].source or 'a document'}; each is scored as given its best label: where a "
                             "document may have no label, give training documents without one too")
    return lines


class Trainer:
    def __init__(self, config: TrainConfig, data: RunData, log):
        self.config, self.data, self.log = config, data, log
        self.created = time.perf_counter()
        seed_everything(config.seed)
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        if self.precision == "bf16" and self.device.type == "cpu" and not cpu_has_bf16():
            log("warning: this CPU has no bf16 instructions (AVX512-BF16 or AMX): bf16 steps will be slower than fp32")
        model, self.tokenizer, base_name, lexicon = self._starting_model()
        recipe = default_recipe(base_name, entities_only=all(t.kind == "ner" for t in model.tasks.values()))
        if config.learning_rate is None:   # recorded resolved, so the manifest's config reproduces the run
            config.learning_rate = recipe.learning_rate
        if config.head_learning_rate is None:
            config.head_learning_rate = recipe.head_learning_rate
        if config.recase_capitals is None:   # a continued checkpoint goes on reading text as it learnt to
            config.recase_capitals = data.checkpoint.recase_capitals if config.init_from else recipe.recase_capitals
        if config.crf is None:
            config.crf = (any(t.crf for t in model.tasks.values()) if config.init_from else recipe.crf)
        model.set_crf(config.crf)
        if config.crf and config.label_smoothing and any(t.kind == "ner" for t in model.tasks.values()):
            log(f"warning: --label-smoothing {config.label_smoothing} leaves the NER loss unsmoothed: a CRF's "
                "negative log-likelihood takes none (--no-crf trains it with smoothed cross-entropy)")
        if config.attention_dropout is None:   # rates and dropout come as the pair measured together
            config.attention_dropout = recipe.attention_dropout
        if config.attention_dropout is None:   # an encoder given by path: its own, recorded as the rates are
            config.attention_dropout = attention_dropout_of(model.encoder)
        else:
            set_attention_dropout(model.encoder, config.attention_dropout)
        self.model = model.to(self.device)
        # buffers (position ids) are constants, so only the parameters are averaged
        self.average = (AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay))
                        if config.ema_decay else None)
        tasks = list(model.tasks.values())
        for task in tasks:   # after --init-from, a head that learnt "none of them" keeps giving it
            task.allows_none = task.allows_none or allows_none(task, data.train)
        for line in none_scored_not_learnt(tasks, data):
            log(f"warning: {line}")
        self.manifest = Manifest(tasks=tasks, base_model=base_name, window_length=config.window_length,
                                 window_overlap=config.window_overlap, shape_input=model.shape_input,
                                 recase_capitals=config.recase_capitals,
                                 lexicon=lexicon.vocabulary if lexicon else [],
                                 lexicon_sha256=vocabulary_sha256(lexicon.vocabulary) if lexicon else "")
        self.manifest.training = {"config": config.record(), "data_sha256": data.sha256}
        self.examples = TrainingSet(data.train, self.tokenizer, tasks, config.window_length, config.window_overlap,
                                    lexicon, config.recase_capitals)
        self.rank, self.world = distributed.join_process_group(self.device)
        self.manifest.training["processes"] = self.world   # a step takes batch_size windows from each
        # what trains: the train and dev files, and the checkpoint or else the encoder folder it starts from
        starts = [p for p in (config.init_from or config.base,) if p and p not in BASE_MODELS and Path(p).is_dir()
                  and os.path.realpath(p) != os.path.realpath(config.output)]   # trained in place: its own save
        started = {p: files_sha256(Path(p)) for p in starts}
        identity = (self.manifest.training["config"],
                    {**data.trained_sha256, **{p: folder_fingerprint(files) for p, files in started.items()}},
                    data.schema, self.world)
        self.identity, self.typed_identity = run_identity(*identity), run_identity(*identity, typed=True)
        # in every checkpoint the run saves: a resume finds whose its best epoch so far is, and whether it ended
        self.manifest.training.update(run_sha256=run_digest(self.identity), cwd=os.getcwd())   # cwd: where its paths start
        if config.init_from:   # this run's resumed checkpoint in place (not ended) already lists them
            kept = data.checkpoint
            self.manifest.training["earlier_runs"] = (kept.training.get("earlier_runs", []) if self._ours(kept)
                                                      and not ended(kept) else earlier_runs(kept))
            self.manifest.training["init_from_sha256"] = self._parent_sha256(started.get(config.init_from, {}))
        if not len(self.examples):   # a smaller batch would not help: no document reaches the encoder
            gates = [f"{t.name}: {t.gate!r}" for t in self.manifest.tasks if t.gate]   # --init-from's too
            why = (f"documents of a gate label ({', '.join(gates)}) teach it nothing, nor do texts without a letter "
                   "or digit") if gates else "they have no letter or digit"
            raise ValueError(f"none of the {len(data.train)} training documents leaves the encoder anything to "
                             f"learn ({why}): give others")
        # every process sees the same epoch order and takes every world-th batch of it
        batches = (len(self.examples) + config.batch_size - 1) // config.batch_size
        if batches < self.world:   # a process without a batch leaves the others waiting in backward, for ever
            raise ValueError(f"{len(self.examples)} training windows make {batches} batch(es) of {config.batch_size} "
                             f"for {self.world} processes: each needs one; give a smaller batch_size or fewer processes")
        self.steps_per_epoch = batches // self.world
        self.total_steps = self.steps_per_epoch * config.epochs
        if config.max_steps:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.epochs = -(-self.total_steps // self.steps_per_epoch)   # the last that runs: --max-steps may stop early
        self.optimizer = optimizer_for(model, config)
        self.scheduler = schedule_for(self.optimizer, config, self.total_steps)
        self.rng = random.Random(config.seed)
        self.progress = {"epoch": 0, "step": 0, "best_score": -1.0, "history": [], "best_epoch": None, "minutes": 0.0}
        self.state = state_dir(config.output)
        self.finished = None   # the metrics of this same run, when --resume finds it already ended
        if config.resume and is_state(self.state):
            self.progress = load_state(self.state, model, self.optimizer, self.scheduler, self.rng, self.average,
                                       self.identity, self.rank, self.device)
            if self.progress["best_epoch"] is not None:   # saved to config.output, which the run's end reads
                saved = (f"{self.state} goes on from a run whose best epoch so far ({self.progress['best_epoch']}) "
                         f"was saved to {config.output}, which")
                if not is_checkpoint(Path(config.output)):
                    raise ValueError(f"{saved} holds no checkpoint now: put it back, or remove {self.state} to start "
                                     "again")
                if (kept := checkpoint_at(config.output)) is not None and self._ours(kept) is False:
                    # another run saved there since: it would end as this one's
                    raise ValueError(f"{saved} now holds another run's checkpoint: put this run's back, or remove "
                                     f"{self.state} to start again")
            self.created -= self.progress["minutes"] * 60   # total_minutes counts the interrupted run's epochs too
            log(f"resuming from {self.state} after epoch {self.progress['epoch']} (step {self.progress['step']})")
        elif config.resume and (finished := self._finished_run()) is not None:
            self.finished = finished
            log(f"this run has already ended: {config.output} holds its checkpoint (best epoch "
                f"{finished['best_epoch']}); nothing to resume")
        elif config.resume:
            self._check_no_other_runs_checkpoint()
            log(f"nothing to resume at {self.state}: starting from the beginning")

        self.trainee = distributed.wrap(model, self.device, self.world)

    def _ours(self, manifest: Manifest) -> bool | None:
        """Whether the checkpoint of `manifest` was saved by this run; None where it names no run
        (saved by a version that did not record it)."""
        if "run_sha256" not in manifest.training:
            return None
        ran_in = self._ran_in(manifest)   # the folder it ran in: the same command from another is this run too
        elsewhere = [from_folder(self.identity, ran_in)] if ran_in else []
        return manifest.training["run_sha256"] in {run_digest(spelt) for run in [self.identity, self.typed_identity,
                                                                                 *elsewhere] for spelt in spellings(run)}

    def _parent_sha256(self, hashed: dict[str, str]) -> dict[str, str]:
        """The SHA-256 of each weights file of the --init-from checkpoint, as it was when the run started:
        its path alone does not tell a checkpoint moved or replaced since. `hashed`: its files' digests the
        run's identity read (none where it continues in place). A resumed run that continues in place
        reads them from its own last save (its first replaced the checkpoint it started from)."""
        at_output = checkpoint_at(self.config.output)
        if at_output is not None and self._ours(at_output) and not ended(at_output) \
                and isinstance(at_output.training.get("init_from_sha256"), dict):
            return at_output.training["init_from_sha256"]
        return {name: hashed.get(name) or file_sha256(Path(self.config.init_from) / name)
                for name in ("model.safetensors", "heads.safetensors")}

    def _check_no_other_runs_checkpoint(self) -> None:
        """--resume with no state where --output holds another run's checkpoint (a setting or file changed
        since it ran): refused naming each difference, where it started from the beginning and its first save
        replaced that checkpoint. The checkpoint a run continues in place is its start, not another run."""
        config = self.config
        kept = checkpoint_at(config.output)
        if kept is None or self._ours(kept) is not False or (
                config.init_from and os.path.realpath(config.init_from) == os.path.realpath(config.output)):
            return
        training = kept.training
        recorded = training.get("config") if isinstance(training.get("config"), dict) else {}
        try:   # its test file may change, as on any --resume
            tested = {describe(f) for f in source_files(as_sources(recorded.get("test"), "test"))}
        except (ValueError, TypeError):
            tested = set()
        files = training.get("data_sha256") if isinstance(training.get("data_sha256"), dict) else {}
        changed = checkpoint_differences(recorded, {f: sha for f, sha in files.items() if f not in tested},
                                         schema_of(kept.tasks), training.get("processes"), self._ran_in(kept),
                                         {**self.identity, "data_sha256": resolved(self.data.trained_sha256)})
        raise ValueError(f"--resume: {config.output} holds the checkpoint of another run than this one, "
                         f"{'which ended' if ended(kept) else 'interrupted before it saved a state'}: "
                         f"{'; '.join(changed) or 'its starting model or a file it read differs'}. Nothing of this "
                         "run is there to resume, and its first save would replace that checkpoint: to keep it, give "
                         "another --output; to train this run from the beginning over it, leave out --resume")

    @staticmethod
    def _ran_in(manifest: Manifest) -> str | None:
        ran_in = manifest.training.get("cwd")
        return ran_in if isinstance(ran_in, str) else None   # (runs that ended before it was recorded)

    def _finished_run(self) -> dict | None:
        """The recorded metrics of this same run if it ended into config.output (its state is
        removed then), else None."""
        manifest = checkpoint_at(self.config.output)
        if not ended(manifest) or not self._ours(manifest):
            return None
        if manifest.training.get("end_sha256") not in self._end_digests(self._ran_in(manifest)):
            raise ValueError(f"--resume: this run has already ended into {self.config.output}, with another --test or "
                             f"--model-card: score a test file with `newsmodel evaluate --checkpoint "
                             f"{self.config.output} --data FILE`, or leave out --resume to train it again")
        return {"best_epoch": manifest.training.get("best_epoch"), **manifest.metrics}

    def measure_ended_run(self) -> None:
        """--measure-runtimes (free to change on --resume) where the ended run left them out: measured
        now on its checkpoint, as its end would have (its --model-card copy too, which this resume names)."""
        output = Path(self.config.output)
        manifest = Manifest.read(output / MANIFEST)
        if not (self.config.measure_runtimes and self.data.dev) or manifest.runtimes \
                or manifest.training["config"].get("measure_runtimes"):
            return
        self.log("measuring the runtimes it ended without (--measure-runtimes) on its checkpoint")
        manifest.runtimes = measure_runtimes(output, self.data.dev, self.log)
        card = "train_counts" in manifest.training   # a card written before they were recorded is left as it is
        if card:   # the card first: a manifest with runtimes is what tells a later --resume they are written
            self._write_card(manifest, f"the checkpoint itself is complete in {output}, as the run ended",
                             "the same command with --resume (it measures the runtimes again)")
        write_manifest(output, manifest)
        self.log("default CPU runtime: %s (%s); written to %s/manifest.json%s"
                 % (*choose(manifest.runtimes), output, (" and README.md" + (f" and {self.config.model_card}"
                                                         if self.config.model_card else "")) if card else ""))

    def _end_digests(self, ran_in: str | None = None) -> tuple[str, ...]:
        """What the run's end made (the test file scored, the model card written): a --resume of
        the ended run with others would skip them. Its paths resolved, as typed (the digest
        runs that ended before paths were resolved recorded), and resolved from `ran_in`, the
        folder the ended run ran in."""
        config = self.manifest.training["config"]
        end = {k: config[k] for k in ("test", "model_card")}
        there = [{k: resolved(v, ran_in) for k, v in end.items()}] if ran_in else []
        return run_digest(resolved(end)), run_digest(end), *map(run_digest, there)

    def _starting_model(self):
        """(model, tokenizer, base name, lexicon or None): the base encoder with fresh heads, or the
        checkpoint to continue; lexical branches fitted on the training documents."""
        config, data = self.config, self.data
        if config.init_from:
            model, tokenizer, base_name, data.schema, vocabulary = continue_from(config.init_from, data.schema, self.log,
                                                                                  data.checkpoint)
            lexicon = Lexicon(vocabulary, model.lexicon_idf.numpy()) if vocabulary else None
        else:
            lexicon = fit_lexicon(data.train, config.lexical_terms) if config.lexical_terms else None
            if lexicon is not None and not len(lexicon):   # else the heads (and any gate) would read nothing
                raise ValueError(f"lexical_terms {config.lexical_terms}: no training text has a word of two or more "
                                 "letters or digits to build the vocabulary from; leave lexical_terms out")
            model, tokenizer, base_name = new_model(config.base, data.schema, config.shape_input,
                                                    len(lexicon) if lexicon else 0, config.gate_label)
        problem = window_problem(config.window_length, config.window_overlap, usable_positions(model.encoder.config))
        if problem:   # before the first step, not when the first long document reaches the encoder
            raise ValueError(problem)
        if lexicon:
            fit_lexical_heads(model, data.train, lexicon, self.log)
        return model, tokenizer, base_name, lexicon

    def run_epochs(self) -> None:
        config = self.config
        if self.rank == 0:
            threads = f"{torch.get_num_threads()} threads" if self.device.type == "cpu" else str(self.device)
            left = self.epochs - self.progress["epoch"], self.total_steps - self.progress["step"]   # after a resume too
            self.log(f"training on {_counted(len(self.data.train), 'document')} ({_counted(len(self.examples), 'window')}), "
                     f"{_counted(left[0], 'epoch')}, {_counted(left[1], 'step')}, {self.world} process(es) x {threads}, "
                     f"{self.precision}")
        self.started = time.perf_counter() - self.progress["minutes"] * 60
        if self.model.lexical and self.progress["epoch"] == 0:
            if self.rank == 0:
                self._end_of_epoch()   # "epoch 0", the lexical branches alone: kept if no epoch beats them
            distributed.barrier(self.world)
        for epoch in range(self.progress["epoch"] + 1, self.epochs + 1):
            if self.progress["step"] >= self.total_steps:   # resumed after its last step (--max-steps)
                break
            self._epoch(epoch)
            self.progress["epoch"] = epoch
            self.progress["minutes"] = (time.perf_counter() - self.started) / 60
            if self.rank == 0:
                self._end_of_epoch()
            generators = self._generator_states()   # every process's: dropout goes on as it would have
            if self.rank == 0:
                save_state(self.state, self.model, self.optimizer, self.scheduler, self.rng, self.progress,
                           self.average, self.identity, generators)
            distributed.barrier(self.world)
            if self.progress["step"] >= self.total_steps:
                break
        distributed.leave(self.world)

    def _generator_states(self) -> dict[str, list[torch.Tensor]]:
        """The torch generators of every process (the CPU's, and the GPU's where it runs on one)."""
        states = {"torch_rng": torch.get_rng_state()}
        if self.device.type == "cuda":
            states["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return {name: distributed.gather(state, self.device, self.world) for name, state in states.items()}

    def _epoch(self, epoch: int) -> None:
        config = self.config
        self.model.train()
        order = self.examples.epoch_order(self.rng, config.batch_size, config.group_by_length)
        starts = list(range(0, len(order), config.batch_size))[self.rank::self.world][:self.steps_per_epoch]
        starts = starts[:self.total_steps - self.progress["step"]]   # --max-steps may end it early
        bar = tqdm(total=len(starts), desc=f"epoch {epoch}/{self.epochs}", unit="batch", disable=self.rank != 0,
                   **_bar_output())
        with bar:   # closed on Ctrl-C too: else drawn again when the traceback goes, below the message
            for b in starts:
                batch = _to_device(self.examples.batch(order[b:b + config.batch_size]), self.device)
                with autocast(self.device, self.precision):
                    loss = batch_loss(self.trainee, self.model, batch, config.label_smoothing)
                loss.backward()
                norm = nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)   # the same in every process
                # one read from the device a step, for the check and the bar
                loss_value, finite = torch.stack([loss.detach().float(), torch.isfinite(norm).float()]).tolist()
                if not finite:   # a step would leave every weight NaN, for every later epoch
                    raise ValueError(self._diverged(epoch, loss_value))
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad()
                if self.average is not None:
                    self.average.update_parameters(self.model)
                self.progress["step"] += 1
                bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
                bar.update()   # counted when taken: iterating the bar would count a step only at the next one

    def _diverged(self, epoch: int, loss: float) -> str:
        config = self.config
        again = f", after removing {self.state} (--resume would diverge there again)" if is_state(self.state) else ""
        return (f"training diverged at epoch {epoch}, step {self.progress['step'] + 1} of the run (loss {loss:.4g}): "
                "its gradients are not finite, and a step would leave every weight NaN; train again with a lower "
                f"--learning-rate ({config.learning_rate:g}) or --head-learning-rate ({config.head_learning_rate:g})"
                f"{again}")

    def _end_of_epoch(self) -> None:
        """Score the epoch on dev; save it as the checkpoint if it is the best so far. With a moving
        average of the weights, the average is what is scored and saved."""
        config, progress, dev = self.config, self.progress, self.data.dev
        scored = self.average.module if self.average is not None else self.model
        scored.eval()
        scored.sync_transitions(self.manifest.tasks)
        epoch = progress["epoch"]
        dev_metrics = evaluate(NewsModel(scored, self.tokenizer, self.manifest, self.device), dev) if dev else {}
        score = headline(dev_metrics, config.select_by) if dev else float(epoch)   # no dev: the last epoch is kept
        progress["history"].append({"epoch": epoch, "dev_score": score if dev else None,
                                    "minutes": round(progress["minutes"], 2)})
        if dev:
            self.log(f"epoch {epoch} dev (score {score:.4f}):\n{format_metrics(dev_metrics)}")
        if score > progress["best_score"]:
            progress["best_score"], progress["best_epoch"] = score, epoch
            self.manifest.metrics = {"dev": dev_metrics}
            self.manifest.training.update(best_epoch=epoch, history=progress["history"])
            save_checkpoint(scored, self.tokenizer, self.manifest, config.output)
            self.log(f"saved checkpoint (epoch {epoch}) to {config.output}")

    def finish(self) -> dict:
        """Calibrate and score the kept checkpoint (what was saved, not what is in memory), then
        write its final manifest and model card; the resume state is no longer needed."""
        config, data = self.config, self.data
        self.manifest.training.update(history=self.progress["history"], best_epoch=self.progress["best_epoch"],
                                      train_minutes=round((time.perf_counter() - self.started) / 60, 2),
                                      train_counts=train_counts(self.manifest, data.train))
        best = NewsModel.load(config.output, runtime="torch", device=self.device)
        best.manifest.training = self.manifest.training
        result = {"best_epoch": self.manifest.training["best_epoch"]}
        for task in best.manifest.tasks:   # after --init-from, the names the checkpoint trained on too
            if task.kind == "ner":
                task.seen_entities = sorted({*task.seen_entities, *seen_entities(task, data.train)})
        if data.dev:
            best.manifest.training["calibration"] = calibrate([head for head, _ in head_outputs(best, data.dev)],
                                                             lambda line: self.log(f"warning: {line}"))
            result["dev"] = evaluate(best, data.dev)
            self.log(f"dev after calibration (epoch {result['best_epoch']}):\n{format_metrics(result['dev'])}")
        if data.test:
            result["test"] = evaluate(best, data.test)
            self.log(f"test (epoch {result['best_epoch']}):\n{format_metrics(result['test'])}")
        best.manifest.metrics = {k: v for k, v in result.items() if k in ("dev", "test")}
        write_manifest(Path(config.output), best.manifest)   # the runtimes below load it calibrated
        if data.dev and config.measure_runtimes:
            best.manifest.runtimes = measure_runtimes(config.output, data.dev, self.log)
            name, why = choose(best.manifest.runtimes)
            self.log(f"default CPU runtime: {name} ({why})")
        # everything from building the model to here: tokenizing, lexical fits, epochs, calibration, runtimes
        best.manifest.training["total_minutes"] = round((time.perf_counter() - self.created) / 60, 2)
        best.manifest.training["device"] = device_name(self.device)
        best.manifest.training["precision"] = self.precision
        best.manifest.training["end_sha256"] = self._end_digests()[0]   # a --resume of the ended run with others: refused
        write_manifest(Path(config.output), best.manifest)
        self._write_card(best.manifest, f"the checkpoint itself is complete in {config.output}",
                         "the same command with --resume (it trains no further: it calibrates and scores the kept "
                         "checkpoint again)")   # its state kept
        remove_state(self.state)
        return result

    def _write_card(self, manifest: Manifest, in_place: str, again: str) -> None:
        """The checkpoint's model card and its --model-card copy; one that cannot be written is named
        with what is already in place and what writes it (`unwritten`), not as a bare OSError."""
        config = self.config
        try:
            write_model_card(Path(config.output), manifest, extra_path=config.model_card)
        except OSError as exc:
            card = config.model_card if config.model_card and exc.filename and os.path.realpath(exc.filename) == \
                os.path.realpath(config.model_card) else Path(config.output) / "README.md"   # ./card.md is card.md
            raise unwritten(card, exc, in_place, again) from None


class _Lines:
    """stderr as a log file (`2> log`) or a pipe reads it: each redraw of a bar a line of its own,
    not a carriage return over the last, which left every redraw of an epoch on one line."""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            sys.stderr.write(line + "\n")

    def flush(self) -> None:
        getattr(sys.stderr, "flush", lambda: None)()   # a stand-in stderr may write alone

    @property
    def encoding(self) -> str | None:   # tqdm draws its bar in blocks where this allows, else in "#"
        return getattr(sys.stderr, "encoding", None)


def _bar_output() -> dict:
    """tqdm's settings for the epoch bar: redrawn in place on a terminal (or a notebook's widget);
    elsewhere a line at its start, every 30 s and at its end, with its time and rate. A stderr that
    cannot say whether it is a terminal (a notebook's or a logger's stand-in, one closed) and a Jupyter
    kernel's own (which redraws a carriage return in place) keep tqdm's own drawing, as before."""
    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):
        return {}
    if terminal or type(sys.stderr).__module__.startswith("ipykernel") or any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__):
        return {}
    return {"file": _Lines(), "mininterval": 30, "maxinterval": 30}


def _to_device(batch, device: torch.device):
    """The batch's tensors (in dicts and tuples, at any depth) on `device`."""
    if device.type == "cpu":
        return batch
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple):
        return tuple(_to_device(v, device) for v in batch)
    return batch.to(device)


def _counted(n: int, noun: str) -> str:
    """"1 epoch", "2 epochs": the start line's counts."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
