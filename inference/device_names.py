"""The device and precision names a model may be asked for, checked without importing torch
(seconds): `--device gpu` or `--precision fp16` is refused at once. What a machine has is
checked by inference.devices."""
from __future__ import annotations

import sys

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")


def device_setting(device) -> str:
    """The device asked for, as a string ("auto" for None), or a ValueError when it names none
    ("gpu", "cuda:x", 1): what is there on this machine is not checked here."""
    if device is None:
        return "auto"
    torch = sys.modules.get("torch")   # a torch.device exists only once torch is imported
    if torch is not None and isinstance(device, torch.device):   # checked by its name: "cuda:0" below; the CPU's
        device = device.type if device.type == "cpu" else str(device)   # index means nothing
    if not isinstance(device, str):
        raise ValueError(f"device {device!r} is not a string such as 'cpu' or 'cuda' (or a torch.device)")
    index = device.removeprefix("cuda:")
    if device not in DEVICES and not (device.startswith("cuda:") and index.isascii() and index.isdigit()):
        raise ValueError(f"unknown device {device!r} (expected one of {', '.join(DEVICES)}, or cuda:N)")
    return device
