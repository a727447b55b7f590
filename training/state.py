"""Training state for `--resume`: weights, optimizer moments, schedule, random generators and
progress, saved at the end of every epoch. Tensors go to safetensors, the rest to JSON:
nothing is pickled. Written to a temporary directory and renamed into place, like checkpoints."""
from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def state_dir(output: str | os.PathLike) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".state")


def save_state(path: Path, model, optimizer, scheduler, rng: random.Random, progress: dict, average=None) -> None:
    """`average`: the moving average of the weights (torch.optim.swa_utils.AveragedModel), if kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        _save_module(model, tmp / "model.safetensors")
        if average is not None:
            _save_module(average, tmp / "average.safetensors")
        opt = optimizer.state_dict()
        moments = {f"{index}/{name}": value.cpu() for index, state in opt["state"].items()
                   for name, value in state.items()}
        moments["torch_rng"] = torch.get_rng_state()
        save_file(moments, str(tmp / "optimizer.safetensors"))
        meta = {"progress": progress, "param_groups": opt["param_groups"], "scheduler": scheduler.state_dict(),
                "python_rng": _jsonable(rng.getstate())}
        (tmp / "state.json").write_text(json.dumps(meta), encoding="utf-8")
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_state(path: Path, model, optimizer, scheduler, rng: random.Random, average=None) -> dict:
    """Restore everything into the given objects; returns the saved progress."""
    meta = json.loads((path / "state.json").read_text(encoding="utf-8"))
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    if average is not None:
        if not (path / "average.safetensors").exists():
            raise ValueError(f"{path}: this run kept no moving average of the weights; resume it without --ema-decay")
        average.load_state_dict(load_file(str(path / "average.safetensors")))
    tensors = load_file(str(path / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("torch_rng"))
    state: dict = {}
    for key, value in tensors.items():
        index, name = key.split("/", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    rng.setstate(_tupled(meta["python_rng"]))
    return meta["progress"]


def _save_module(module, file: Path) -> None:
    save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}, str(file))


def _jsonable(value):
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


def _tupled(value):
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value
