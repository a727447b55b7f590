"""Training state for `--resume`: weights, optimizer moments, schedule, random generators and
progress, saved at the end of every epoch. Tensors go to safetensors, the rest to JSON:
nothing is pickled. Written to a temporary directory and renamed into place, like checkpoints."""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inference.checkpoint import MANIFEST, beside, save_directory

from .base_models import DEFAULT_BASE

STATE = "state.json"
# Settings a resumed run may change: where it runs and what it writes at the end, not what it trains.
FREE_ON_RESUME = frozenset({"resume", "output", "test", "model_card", "measure_runtimes", "device"})


def is_state(path: Path) -> bool:
    return (path / STATE).is_file()


def state_dir(output: str | os.PathLike) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".state")


def replaced_folders(output: str) -> list[tuple[str, str]]:
    """(what, folder) of the folders a run's saves replace whole: its output and its training state."""
    return [("the output folder", output), ("the training state", state_dir(output))]


def check_outside_saves(path: str | os.PathLike, output: str, named: str = "") -> None:
    """Refuse `path` (links resolved) inside a folder that a run's saves replace whole, the output folder
    or its training state: a file read from there would be lost. `named` says what the path is (the
    config file)."""
    if not output:   # refused as empty elsewhere: realpath would take it for the current folder
        return
    where = Path(os.path.realpath(path))
    for what, folder in replaced_folders(output):
        if where.is_relative_to(os.path.realpath(folder)):
            raise ValueError(f"{path}: {f'{named} is ' if named else ''}inside {what} {folder}, which a save "
                             "replaces whole: move it out, or choose another output")


def save_state(path: Path, model, optimizer, scheduler, rng: random.Random, progress: dict, average=None,
               run: dict | None = None, generators: dict[str, list[torch.Tensor]] | None = None) -> None:
    """`average`: the moving average of the weights (torch.optim.swa_utils.AveragedModel), if kept;
    `run`: what the run trains (run_identity), which a resumed run must match; `generators`: the
    torch generator states of every process, in rank order (default: this process's CPU one)."""
    def write(folder: Path) -> None:
        _save_module(model, folder / "model.safetensors")
        if average is not None:
            _save_module(average, folder / "average.safetensors")
        opt = optimizer.state_dict()
        moments = {f"{index}/{name}": value.cpu() for index, state in opt["state"].items()
                   for name, value in state.items()}
        for name, states in (generators or {"torch_rng": [torch.get_rng_state()]}).items():
            moments.update({_generator_key(name, rank): state for rank, state in enumerate(states)})
        save_file(moments, str(folder / "optimizer.safetensors"))
        meta = {"progress": progress, "param_groups": opt["param_groups"], "scheduler": scheduler.state_dict(),
                "python_rng": _jsonable(rng.getstate()), "run": run, "cwd": os.getcwd()}   # where `run`'s paths start
        (folder / STATE).write_text(json.dumps(meta), encoding="utf-8")
    save_directory(path, write, is_state, "a training state")


def remove_state(path: Path) -> None:
    """Remove a state in one step: renamed aside first, under the temporary name recover_killed_save
    clears, so a kill while it is deleted leaves no part of it behind (one with state.json, which
    --resume would call damaged, or one without, which every later run would refuse)."""
    real = Path(os.path.realpath(path))   # through a symlink, as save_state wrote it
    doomed = beside(real)
    try:
        real.rename(doomed)
    except OSError:   # none there; or one that cannot be moved, left as before rather than fail an ended run
        return
    shutil.rmtree(doomed, ignore_errors=True)


def load_state(path: Path, model, optimizer, scheduler, rng: random.Random, average=None,
               run: dict | None = None, rank: int = 0, device: torch.device | None = None) -> dict:
    """Restore everything into the given objects, the torch generators those of process `rank`
    (a state saved by one process gives its own to each); returns the saved progress. A `run` other than
    the saved one is refused, naming each difference, before anything is restored; so is a
    state that cannot be read whole (a disk full or a copy cut short) or whose state.json has a
    field missing, of the wrong kind or out of its range (named)."""
    try:
        meta = json.loads((path / STATE).read_text(encoding="utf-8"))
        weights = load_file(str(path / "model.safetensors"))
        averaged = load_file(str(path / "average.safetensors")) if (path / "average.safetensors").exists() else None
        tensors = load_file(str(path / "optimizer.safetensors"))
    except (OSError, ValueError, SafetensorError) as exc:
        raise ValueError(_damaged(path, exc)) from None
    problem = _meta_problem(meta)
    if problem:
        raise ValueError(_damaged(path, problem))
    saved_run = meta.get("run")
    if run is not None and saved_run is not None:
        changed = _differences(resolved(saved_run), json.loads(json.dumps(run)))   # saved before paths were resolved
        if changed and isinstance(meta.get("cwd"), str):   # the same command run from another folder: its files
            changed = min(changed, _differences(saved_run, json.loads(json.dumps(from_folder(run, meta["cwd"])))),
                          key=len)
        if changed:
            again = "Run the same command" + (" with the version that saved it"
                                              if any(_OLDER in c or _NO_LONGER in c for c in changed) else "")
            raise ValueError(f"--resume continues the run that saved {path}, and this one differs from it: "
                             f"{'; '.join(changed)}. {again}, or remove {path} to start again")
    if average is not None and averaged is None:
        if run is not None and saved_run is not None:   # the same run, so one that kept an average: its file is lost
            raise ValueError(_damaged(path, FileNotFoundError(f"no average.safetensors beside {STATE}")))
        raise ValueError(f"{path}: this run kept no moving average of the weights; resume it without --ema-decay")
    try:
        model.load_state_dict(weights)
        if average is not None:
            average.load_state_dict(averaged)
        generators = {key: tensors.pop(key) for key in list(tensors) if key.split(".")[0] in GENERATORS}
        torch.set_rng_state(generators.get(_generator_key("torch_rng", rank), generators["torch_rng"]))
        cuda = generators.get(_generator_key("cuda_rng", rank), generators.get("cuda_rng"))
        if cuda is not None and device is not None and device.type == "cuda":
            torch.cuda.set_rng_state(cuda, device)   # this process's GPU, not the current one (cuda:0)
        state: dict = {}
        for key, value in tensors.items():
            index, name = key.split("/", 1)
            state.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        scheduler.load_state_dict(meta["scheduler"])
        rng.setstate(_tupled(meta["python_rng"]))
        return meta["progress"]
    except (KeyError, IndexError, ValueError, TypeError, AttributeError, RuntimeError) as exc:
        raise ValueError(_damaged(path, exc)) from None


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rate(value) -> bool:
    """A learning rate: a negative one would train away from the loss, silently."""
    return _number(value) and math.isfinite(value) and value >= 0


# What load_state and the trainer read from state.json: a hand-edited state is refused naming the
# field, before anything is restored, not met as a traceback (or a step count of "16") later.
META = {
    "progress": (lambda v: isinstance(v, dict), "an object"),
    "progress.epoch": (_whole, "a whole number of at least 0"),
    "progress.step": (_whole, "a whole number of at least 0"),
    "progress.best_score": (lambda v: _number(v) and math.isfinite(v), "a finite number"),   # NaN: no epoch beats it
    "progress.best_epoch": (lambda v: v is None or _whole(v), "null or a whole number of at least 0"),
    "progress.history": (lambda v: isinstance(v, list), "a list"),
    "progress.minutes": (lambda v: _number(v) and v >= 0, "a number of at least 0"),
    "param_groups": (lambda v: isinstance(v, list) and all(isinstance(g, dict) for g in v), "a list of objects"),
    "scheduler": (lambda v: isinstance(v, dict), "an object"),
    # read at the first step: a negative one is a negative learning rate, a string a TypeError then
    "scheduler.base_lrs": (lambda v: isinstance(v, list) and all(map(_rate, v)), "a list of numbers of at least 0"),
    "scheduler.last_epoch": (_whole, "a whole number of at least 0"),
    "scheduler._step_count": (lambda v: v is None or _whole(v), "a whole number of at least 0"),
    "python_rng": (lambda v: isinstance(v, list), "a list"),
    "run": (lambda v: v is None or isinstance(v, dict), "null or an object"),
    "run.config": (lambda v: isinstance(v, dict), "an object"),
    "run.data_sha256": (lambda v: isinstance(v, dict), "an object"),
    "run.schema": (lambda v: isinstance(v, dict), "an object"),
    "run.processes": (_whole, "a whole number of at least 0"),
    "cwd": (lambda v: v is None or isinstance(v, str), "null or a string"),
}
# Each param_group's settings, which AdamW checks only when built and load_state_dict not at all: a beta
# of 1 divides by zero, a negative weight decay or eps trains on silently (lr: the first step's rate).
GROUP = {
    "lr": (_rate, "a number of at least 0"),
    "betas": (lambda v: isinstance(v, list) and len(v) == 2 and all(_rate(b) and b < 1 for b in v),
              "a list of two numbers in [0, 1)"),
    "eps": (_rate, "a number of at least 0"),
    "weight_decay": (_rate, "a number of at least 0"),
    # switches this trainer's AdamW leaves off: maximize climbs the loss, amsgrad wants tensors never saved,
    # capturable and differentiable fail the first step on a CPU, fused takes slightly other steps: a resumed
    # run would not end where an uninterrupted one does (foreach and initial_lr change no step: not checked)
    "maximize": (lambda v: v is False or v is None, "false"),
    "amsgrad": (lambda v: v is False or v is None, "false"),
    "capturable": (lambda v: v is False or v is None, "false"),
    "differentiable": (lambda v: v is False or v is None, "false"),
    "fused": (lambda v: v is False or v is None, "false"),
}
# null when absent: run and cwd in a state saved by save_state without a run, _step_count where torch keeps none
OPTIONAL = {"run", "cwd", "scheduler._step_count"}


def _meta_problem(meta) -> str | None:
    if not isinstance(meta, dict):
        return f"{STATE} holds a {type(meta).__name__}, not an object"
    for name, (valid, meaning) in META.items():
        parent, _, key = name.rpartition(".")
        holder = meta.get(parent) if parent else meta
        if holder is None:   # no run recorded: nothing in it to check
            continue
        if key not in holder and name not in OPTIONAL:
            return f"{STATE}: {name} is missing"
        if not valid(holder.get(key)):
            written = json.dumps(holder.get(key))   # as the file writes it: true, not True
            return f"{STATE}: {name} is {written if len(written) <= 60 else written[:57] + '...'}, not {meaning}"
    for i, group in enumerate(meta["param_groups"]):
        for key, (valid, meaning) in GROUP.items():
            if not valid(group.get(key)):
                return f"{STATE}: param_groups[{i}].{key} is {json.dumps(group.get(key))}, not {meaning}"
    if len(meta["scheduler"]["base_lrs"]) != len(meta["param_groups"]):   # one each, or a ValueError at the first step
        return (f"{STATE}: scheduler.base_lrs has {len(meta['scheduler']['base_lrs'])} learning rate(s), not one for "
                f"each of the {len(meta['param_groups'])} param_groups")
    return None


GENERATORS = ("torch_rng", "cuda_rng")   # keys of optimizer.safetensors: process 0's, then "torch_rng.1", ...


def _generator_key(name: str, rank: int) -> str:
    return f"{name}.{rank}" if rank else name   # process 0's as a state of one process names it


def _damaged(path: Path, exc: Exception | str) -> str:
    why = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return f"{path} cannot be resumed from, it is damaged ({why}); delete it and run the command without --resume"


def run_digest(run: dict) -> str:
    """A run's mark in every checkpoint it saves: --resume finds whose checkpoint is at --output
    and (with train_minutes, written as a run ends) whether that run ended."""
    return hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()


def run_identity(config: dict, trained_sha256: dict[str, str], schema: dict, processes: int,
                 typed: bool = False) -> dict:
    """What a run trains, from its recorded config, the files it trains and selects on, its tasks
    and labels (a test file can add some) and its process count (each takes its share of every
    batch): what --resume must find unchanged. `typed`: its paths as given, not `resolved` (what
    runs that ended before paths were resolved recorded)."""
    identity = {"config": _default_left_out({k: v for k, v in config.items() if k not in FREE_ON_RESUME}),
                "data_sha256": trained_sha256, "schema": schema, "processes": processes}
    return identity if typed else resolved(identity)


# Settings whose values --init-from takes from its checkpoint (the trainer warns that they have no effect)
FROM_CHECKPOINT = {"base": None, "lexical_terms": 0, "shape_input": True, "gate_label": None}


def _default_left_out(config: dict) -> dict:
    """`--base minilm` trains what leaving --base out trains, and beside --init-from so does any value of
    FROM_CHECKPOINT's settings: one run, recorded as left out."""
    if config.get("init_from"):
        return {**config, **{k: v for k, v in FROM_CHECKPOINT.items() if k in config}}
    return {**config, "base": None} if config.get("base") == DEFAULT_BASE else config


def spellings(run: dict) -> list[dict]:
    """A run_identity as this run's may be recorded: runs saved before the default base spelt out
    was the same run recorded it as given."""
    left_out = "base" in run["config"] and run["config"]["base"] is None
    return [run, {**run, "config": {**run["config"], "base": DEFAULT_BASE}}] if left_out else [run]


def resolved(value, start: str | None = None):
    """`value` with every string (or key) that names an existing file or folder written one way:
    from the folder the command runs in (or `start`, where an earlier run of it ran), so
    "./d/train.jsonl", "d/train.jsonl" and the absolute path are one file, and a run moved with
    its files still names them as before."""
    if isinstance(value, dict):
        return {resolved(k, start): resolved(v, start) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, start) for v in value]
    if isinstance(value, str) and value and os.path.exists(value):
        return os.path.relpath(os.path.realpath(value), start)
    return value


def from_folder(run: dict, start: str) -> dict:
    """A run_identity of this folder with its paths (its settings' values and its files, not
    the names of its settings) written from `start`, the folder where an earlier run ran."""
    return {**run, "config": {k: resolved(v, start) for k, v in run["config"].items()},
            "data_sha256": {resolved(f, start): sha for f, sha in run["data_sha256"].items()}}


def _differences(saved: dict, now: dict, recorded_in: str = STATE) -> list[str]:
    older, no_longer = (_OLDER, _NO_LONGER) if recorded_in == STATE else (
        message.replace(STATE, recorded_in) for message in (_OLDER, _NO_LONGER))
    saved = {**saved, "config": _default_left_out(saved["config"])}   # as a run saved before that recorded it
    changes = [f"{k} was {saved['config'].get(k)!r}, now {now['config'].get(k)!r}" if k in saved["config"]
               and k in now["config"] else f"{k}: {older if k in now['config'] else no_longer}"
               for k in sorted(saved["config"].keys() | now["config"].keys())
               if saved["config"].get(k) != now["config"].get(k)]
    before, after = saved["data_sha256"], now["data_sha256"]
    changes += [f"{f} {'changed' if f in before and f in after else 'added' if f in after else 'left out'}"
                for f in sorted(before.keys() | after.keys()) if before.get(f) != after.get(f)]
    changes += [f"task {name} was {json.dumps(saved['schema'].get(name))}, now {json.dumps(now['schema'].get(name))}"
                for name in sorted(saved["schema"].keys() | now["schema"].keys())
                if saved["schema"].get(name) != now["schema"].get(name)]
    if saved["processes"] != now["processes"]:
        changes.append(f"processes was {saved['processes']}, now {now['processes']}")
    return changes


def checkpoint_differences(config: dict, trained_sha256: dict, schema: dict, processes, ran_in: str | None,
                           now: dict) -> list[str]:
    """How the run that saved a checkpoint differs from the run_identity `now`: its recorded config, its
    train and dev files, its tasks and processes, with its relative paths read from `ran_in`, the folder it
    ran in (a checkpoint records no run_identity, only its digest)."""
    def there(value):   # a path of that run, written as resolved writes this run's
        if isinstance(value, dict):
            return {there(k): there(v) for k, v in value.items()}
        if isinstance(value, list):
            return [there(v) for v in value]
        if isinstance(value, str) and value and ran_in and os.path.exists(os.path.join(ran_in, value)):
            return resolved(os.path.join(ran_in, value))
        return resolved(value)
    saved = {"config": {k: there(v) for k, v in config.items() if k not in FREE_ON_RESUME},
             "data_sha256": {there(f): sha for f, sha in trained_sha256.items()}, "schema": schema,
             "processes": processes if isinstance(processes, int) else now["processes"]}
    return _differences(saved, now, MANIFEST)


# a setting the state does not record, or one this version no longer has: what a difference in versions says
_OLDER = f"not recorded in {STATE}, saved by an older version of newsmodel"
_NO_LONGER = f"recorded in {STATE} by the version that saved it, no longer a setting"


def _save_module(module, file: Path) -> None:
    save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}, str(file))


def _jsonable(value):
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


def _tupled(value):
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value
