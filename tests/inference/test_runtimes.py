import json
import re
import shutil

import pytest
import torch

from inference import load
from inference.runtimes import TOLERANCE, available, choose


def figures(**speeds_and_losses):
    """runtime -> {"dev": figures `loss` below torch's, "words_per_second"}"""
    base = {"entities": 0.90, "topic": 0.85}
    return {name: {"dev": {t: v - loss for t, v in base.items()}, "words_per_second": speed}
            for name, (speed, loss) in speeds_and_losses.items()}


def test_the_fastest_runtime_that_keeps_every_dev_figure_is_chosen():
    measured = figures(torch=(100, 0), **{"torch-int8": (400, 0.01), "onnx": (180, 0), "onnx-int8": (350, TOLERANCE / 2)})
    name, why = choose(measured)
    assert name == ("onnx-int8" if "onnx-int8" in available() else "torch")
    if name == "onnx-int8":
        assert "3.50x" in why and "torch-int8 lost more" in why


def test_a_better_figure_never_disqualifies_and_no_figures_mean_fp32():
    assert choose(figures(torch=(100, 0), **{"torch-int8": (300, -0.05)}))[0] == "torch-int8"
    assert choose({}) == ("torch", "the checkpoint records no runtime figures")


def test_load_takes_the_recorded_choice_and_flags_force_one(tiny_checkpoint, tmp_path):
    path = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["runtimes"] = figures(torch=(100, 0), **{"torch-int8": (300, 0.0)})
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert load(path, device="cpu").runtime == "torch-int8"
    assert load(path, quantize=False).runtime == "torch" and load(tiny_checkpoint).runtime == "torch"
    with pytest.raises(ValueError, match="CPU only"):
        load(path, quantize=True, device="cuda")


def test_int8_keeps_each_ffn_output_projection_fp32_and_quantises_the_other_linears(tiny_checkpoint):
    model = load(tiny_checkpoint, quantize=True).model
    kinds = {name: type(module) for name, module in model.named_modules() if "Linear" in type(module).__name__}
    ffn_out = [n for n in kinds if re.search(r"layer\.\d+\.output\.dense$", n)]
    others = [n for n in kinds if n not in ffn_out]
    assert ffn_out and all(kinds[n] is torch.nn.Linear for n in ffn_out)
    assert others and all(kinds[n] is not torch.nn.Linear for n in others)
