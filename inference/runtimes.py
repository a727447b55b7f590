"""The ways a checkpoint can run on the CPU, and the choice among them.

At the end of training each runtime this machine has is scored and timed on the dev split and
the figures go into the manifest (`runtimes`). `load(path)` then takes the fastest runtime
whose every dev figure is within `TOLERANCE` of fp32's, or, among those within `SPEED_TIE` of
the fastest, the most accurate; `runtime=` / `quantize=` force one."""
from __future__ import annotations

import importlib.util
import logging

log = logging.getLogger("newsmodel")

# name -> the load() arguments that make it
RUNTIMES = {"torch": {"runtime": "torch", "quantize": False}, "torch-int8": {"runtime": "torch", "quantize": True},
            "onnx": {"runtime": "onnx", "quantize": False}, "onnx-int8": {"runtime": "onnx", "quantize": True}}
REFERENCE = "torch"
BUGS = (AttributeError, NameError, TypeError)   # raised where a runtime fails to build: a bug, not this machine
TOLERANCE = 0.003   # 0.3 points: a dev figure may fall this much below fp32's
# Runtimes this close in words/s are a tie (timings on a busy machine move by a few per cent),
# which the dev figures decide: on a CoNLL-2003 checkpoint PyTorch int8 and ONNX int8 ran at
# 4759 and 4750 words/s, with dev F1 0.9478 and 0.9500
SPEED_TIE = 0.05


def missing_onnx_modules() -> list[str]:
    """Those of the onnx extra's modules that are not installed: ONNX Runtime, and onnxscript, with
    which torch's exporter builds the graph."""
    return [m for m in ("onnxruntime", "onnxscript") if importlib.util.find_spec(m) is None]


def available() -> list[str]:
    """The runtimes this machine can run (ONNX Runtime is an optional extra)."""
    onnx = not missing_onnx_modules()
    return [name for name, args in RUNTIMES.items() if args["runtime"] == "torch" or onnx]


def name_of(runtime: str, quantize: bool) -> str:
    return runtime + ("-int8" if quantize else "")


def choose(measured: dict) -> tuple[str, str]:
    """(runtime name, why) from the manifest's `runtimes` figures: among the available ones whose
    every dev figure is at most TOLERANCE below the reference's, the fastest, or of those within
    SPEED_TIE of it, the one with the highest sum of dev figures."""
    if REFERENCE not in measured:
        return REFERENCE, "the checkpoint records no runtime figures"
    reference = measured[REFERENCE]["dev"]
    # a runtime without a figure of every task fp32 has (calibrate measured it on data that
    # annotates some tasks only) is not known to keep them: it is left out, and said to be
    runnable = [name for name in available() if name in measured]
    unmeasured = {name: [task for task in reference if task not in measured[name]["dev"]] for name in runnable}
    unmeasured = {name: tasks for name, tasks in unmeasured.items() if tasks}
    accurate = [name for name in runnable if name not in unmeasured and (
        name == REFERENCE or all(measured[name]["dev"][task] >= figure - TOLERANCE for task, figure in reference.items()))]
    speed = {name: measured[name]["words_per_second"] for name in accurate}
    dev_sum = {name: sum(measured[name]["dev"][task] for task in reference) for name in accurate}
    ties = [name for name in accurate if speed[name] >= (1 - SPEED_TIE) * max(speed.values())]
    best = max(ties, key=lambda name: (dev_sum[name], speed[name]))
    speedup = measured[best]["words_per_second"] / measured[REFERENCE]["words_per_second"]
    rejected = [name for name in runnable if name not in accurate and name not in unmeasured]
    beaten = [name for name in ties if name != best and dev_sum[name] < dev_sum[best]]   # on dev, not speed
    # measured where the checkpoint was made, not runnable here: said, or the choice reads as the best there was
    missing = [name for name in RUNTIMES if name in measured and name not in runnable]
    why = (("fp32 itself" if best == REFERENCE else   # not "1.00x fp32's words/s", as if it were another runtime
            f"{speedup:.2f}x fp32's words/s on dev with every dev figure within {100 * TOLERANCE:.1f} points")
           + (f"; as fast as {', '.join(beaten)} and more accurate on dev" if beaten else "")
           + (f"; {', '.join(rejected)} lost more" if rejected else "")
           + "".join(f"; {name} has no dev figure of {', '.join(tasks)}" for name, tasks in unmeasured.items())
           + (f"; {', '.join(missing)} left out: {' and '.join(missing_onnx_modules())} not installed (the onnx extra)"
              if missing else ""))
    return best, why
