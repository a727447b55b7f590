"""Which device a model runs on, and the precision it runs in there."""
from __future__ import annotations

import contextlib
import os

import torch

from .device_names import DEVICES, PRECISIONS, device_setting  # noqa: F401  (torch-free: the commands check names first)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """`auto` (or None): a GPU when there is one, else the CPU. Under torchrun each process takes
    the GPU of its local rank."""
    device = device_setting(device)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"{device!r} was asked for, but torch sees no GPU "
                             f"(torch {torch.__version__}, built {'with' if torch.backends.cuda.is_built() else 'without'} CUDA)")
        rank = device == "cuda" and "LOCAL_RANK" in os.environ
        if device == "cuda":
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        count = torch.cuda.device_count()
        if int(device.removeprefix("cuda:")) >= count:   # else torch's "invalid device ordinal", after the weights load
            raise ValueError(f"{device!r}{' (cuda at LOCAL_RANK ' + os.environ['LOCAL_RANK'] + ')' if rank else ''} "
                             f"was asked for, but torch sees {count} GPU(s): cuda:0 to cuda:{count - 1}")
    return torch.device(device)


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX); without, a
    bf16 matrix product is slower than an fp32 one."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")   # torch's own CPU feature checks
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto`: bf16 on a GPU, fp32 on the CPU, where bf16 matmuls are slower on CPUs without bf16
    instructions and results would move; `bf16` on the CPU is there to ask for."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (expected one of {', '.join(PRECISIONS)})")
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 autocast (fp32 master weights) or none, as resolve_precision decides."""
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def device_name(device: torch.device) -> str:
    """What made a figure: "cpu (N threads)" or the GPU's name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"
