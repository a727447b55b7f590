"""The arguments every command that reads a checkpoint shares: --checkpoint, and the runtime."""
from __future__ import annotations

import os
from pathlib import Path


def add_checkpoint_argument(parser) -> None:
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint directory (default: $NEWSMODEL_CHECKPOINT, else checkpoints/news)")


def add_runtime_arguments(parser) -> None:
    parser.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:N")
    parser.add_argument("--runtime", choices=["torch", "torch-int8", "onnx", "onnx-int8"],   # inference.runtimes'
                        help="force a runtime (default: the one the checkpoint chose from its measured dev figures); "
                             "onnx: ONNX Runtime, needs the onnx extra; torch-int8, onnx-int8: as with --quantize")
    parser.add_argument("--quantize", action="store_true", default=None,
                        help="force int8 linear layers (with --runtime, or PyTorch's); see benchmarks/speed.py")


def check_device(device: str, runtime: str | None = None, quantize: bool | None = None) -> None:
    """A --device unknown ("gpu") or not on this machine (cuda without a GPU), or a GPU asked for with a
    CPU-only --runtime or --quantize, refused naming the flags before the slow work, as load() would
    refuse it without them."""
    from inference.device_names import device_setting
    try:
        name = device_setting(device)   # "gpu": refused before torch is imported (seconds), as the flags below
    except ValueError as exc:
        raise ValueError(f"--device {device}: {exc}") from None
    if (runtime not in (None, "torch") or quantize) and name not in ("auto", "cpu"):
        flags = " ".join([f"--runtime {runtime}"] * (runtime is not None) + ["--quantize"] * bool(quantize))
        raise ValueError(f"{flags} runs on the CPU only, not with --device {device}: give --device cpu, or leave "
                         "--device out")
    from inference.devices import resolve_device
    try:
        resolve_device(device)
    except ValueError as exc:
        raise ValueError(f"--device {device}: {exc}") from None


def open_checkpoint(path: str | None, **options):
    """The loaded checkpoint at `path` (default: the default checkpoint), or checkpoint_path's error."""
    from inference import load

    from . import quiet_transformers
    path = checkpoint_path(path)
    quiet_transformers()
    return load(path, **options)


def checkpoint_path(path: str | None) -> str:
    """`path` (default: the default checkpoint) if something is there, else a FileNotFoundError
    that says how to make one (a ValueError for an empty `path`): a cheap check before slow work."""
    from inference import default_checkpoint
    if path == "":   # `--checkpoint "$UNSET"`: not the default checkpoint, which calibrate would rewrite
        raise ValueError("--checkpoint '': give a checkpoint folder, or leave --checkpoint out for the default")
    path = path or default_checkpoint()
    if not os.path.exists(path):   # quoted: a trailing newline ($(cat file)) would break the message in two
        raise FileNotFoundError(f"no checkpoint at {str(path)!r} (--checkpoint, else $NEWSMODEL_CHECKPOINT, else "
                                f"checkpoints/news): train one with `newsmodel train --train FILE --dev FILE "
                                f"--output {str(path)!r}`")
    return path


def readable_manifest(checkpoint: str):
    """The checkpoint's Manifest, read before its weights load, or None where it cannot be read
    (the load then says why)."""
    from inference.folders import MANIFEST
    from inference.manifest import Manifest
    try:
        return Manifest.read(Path(checkpoint) / MANIFEST)
    except (OSError, ValueError):
        return None


def recorded_split(checkpoint: str, data: str, sha256: str | None = None) -> tuple[str, str] | None:
    """("train" or "test", the file as the run named it) of the checkpoint's run whose recorded
    SHA-256 is that of `data` (a file or a folder; `sha256` where the caller has hashed it), or None,
    also where the manifest cannot be read (the load then says why) or records no SHA-256 (`data` is
    then not read). The training files of the runs a checkpoint continued with --init-from
    (`earlier_runs`) count as "train": its weights learnt from them too."""
    from training.data import fingerprint
    if (manifest := readable_manifest(checkpoint)) is None:
        return None
    training = manifest.training
    earlier = training.get("earlier_runs")
    runs = [(training.get("config", {}), training.get("data_sha256", {}), ("train", "test"))] + [
        (run, run.get("data_sha256") or {}, ("train",)) for run in (earlier if isinstance(earlier, list) else [])
        if isinstance(run, dict)]
    if not any(recorded for _, recorded, _ in runs) or not os.path.exists(data):
        return None
    sha256 = sha256 or fingerprint(data)
    for config, recorded, splits in runs:
        for split in splits:
            items = config.get(split)
            for item in items if isinstance(items, list) else [items]:
                name = item.get("path") if isinstance(item, dict) else item   # a table of the config, or a path
                if isinstance(name, str) and recorded.get(name) == sha256:
                    return split, name
    return None
