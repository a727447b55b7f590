"""Which device a model runs on, and the precision it runs in there."""
from __future__ import annotations

import contextlib
import os

import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """`auto` (or None): a GPU when there is one, else the CPU. Under torchrun each process takes
    the GPU of its local rank."""
    if isinstance(device, torch.device):
        return device
    device = device or "auto"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but torch sees no GPU "
                             f"(torch {torch.__version__}, built {'with' if torch.backends.cuda.is_built() else 'without'} CUDA)")
        if device == "cuda":
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    elif device != "cpu":
        raise ValueError(f"unknown device {device!r} (expected one of {', '.join(DEVICES)}, or cuda:N)")
    return torch.device(device)


def autocast(device: torch.device):
    """bf16 autocast on a GPU (tensor cores, fp32 master weights); fp32 on the CPU, where bf16
    matmuls are no faster on most machines and results would move."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def device_name(device: torch.device) -> str:
    """What made a figure: "cpu (N threads)" or the GPU's name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"
