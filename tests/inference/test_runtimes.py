import json
import shutil

import pytest

from inference import load
from inference.runtimes import SPEED_TIE, TOLERANCE, available, choose


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


def test_a_speed_tie_goes_to_the_more_accurate_runtime():
    near = 1000 * (1 - SPEED_TIE / 2)
    name, why = choose(figures(torch=(100, 0), **{"torch-int8": (1000, 0.002), "onnx-int8": (near, 0.0005)}))
    assert name == ("onnx-int8" if "onnx-int8" in available() else "torch-int8")
    if name == "onnx-int8":
        assert "as fast as torch-int8 and more accurate" in why
    tie_within_torch = figures(torch=(1000, 0), **{"torch-int8": (1000 * (1 + SPEED_TIE / 2), 0.002)})
    assert choose(tie_within_torch) == ("torch", "fp32 itself; as fast as torch-int8 and more accurate on dev")
    equal = figures(torch=(100, 0), **{"torch-int8": (1000, 0.0)}, onnx=(990, 0.0)) if "onnx" in available() else None
    if equal:   # equally accurate: the faster one, and no claim of accuracy
        assert choose(equal) == ("torch-int8", "10.00x fp32's words/s on dev with every dev figure within 0.3 points")
    slower = 1000 * (1 - 2 * SPEED_TIE)
    assert choose(figures(torch=(100, 0), **{"torch-int8": (1000, 0.002), "onnx-int8": (slower, 0.0)}))[0] == "torch-int8"


def test_a_better_figure_never_disqualifies_and_no_figures_mean_fp32():
    assert choose(figures(torch=(100, 0), **{"torch-int8": (300, -0.05)}))[0] == "torch-int8"
    assert choose({}) == ("torch", "the checkpoint records no runtime figures")
    unscored = {"torch": {"dev": {"entities": float("nan")}, "words_per_second": 100},
                "torch-int8": {"dev": {"entities": 0.9}, "words_per_second": 300}}
    assert choose(unscored)[0] == "torch"   # nothing to compare with: fp32, never an error


def test_a_runtime_without_a_figure_of_every_task_is_left_out_and_said_to_be():
    """calibrate on data annotating entities alone measures a runtime new to the manifest on
    entities only: before, it was left out as one that "lost more"."""
    measured = figures(torch=(100, 0), **{"torch-int8": (300, 0)})
    measured["torch-int8"]["dev"].pop("topic")
    assert choose(measured) == ("torch", "fp32 itself; torch-int8 has no dev figure of topic")


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
    with pytest.raises(TypeError, match="quantize must be True, False or None, not 'no'"):
        load(path, quantize="no")   # a string would have read as true


def test_a_runtime_is_forced_by_the_name_model_runtime_gives_it(tiny_checkpoint):
    """Before: load(path, runtime=model.runtime) refused "torch-int8", and --runtime torch-int8 too."""
    assert load(tiny_checkpoint, runtime="torch-int8").runtime == "torch-int8"
    assert load(tiny_checkpoint, runtime="torch-int8", quantize=True).runtime == "torch-int8"
    with pytest.raises(ValueError, match="runtime 'torch-int8' is int8: quantize=False contradicts it"):
        load(tiny_checkpoint, runtime="torch-int8", quantize=False)


@pytest.mark.parametrize("absent", [("onnxruntime", "onnxscript"), ("onnxscript",)])
def test_a_measured_runtime_this_machine_cannot_run_is_said_to_be_left_out(monkeypatch, absent):
    """Before: a checkpoint whose fastest runtime was ONNX, loaded without ONNX Runtime, logged
    fp32 as if it were the best one measured; and "ONNX Runtime is not installed" where it was, without
    onnxscript."""
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in absent else find_spec(name, *a))
    measured = figures(torch=(100, 0), **{"onnx-int8": (300, 0)})
    assert choose(measured) == ("torch", "fp32 itself; "
                                         f"onnx-int8 left out: {' and '.join(absent)} not installed (the onnx extra)")


def test_a_chosen_onnx_runtime_that_cannot_be_built_falls_back_to_fp32_with_a_warning(tiny_checkpoint, tmp_path,
                                                                                        monkeypatch, caplog):
    """Before: a checkpoint whose manifest chose ONNX int8 could not be loaded at all where its export
    failed (the graph, the quantiser), though fp32 PyTorch runs everywhere; forced, it still raises."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import inference.onnx_runtime as onnx_runtime

    def failing(*args):
        raise RuntimeError("the exporter failed")
    monkeypatch.setattr(onnx_runtime, "_export", failing)
    path = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["runtimes"] = figures(torch=(100, 0), **{"onnx-int8": (300, 0.0)})
    (path / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level("WARNING", logger="newsmodel"):
        model = load(path, device="cpu")
    assert model.runtime == "torch" and model.predict("Talks in Geneva").labels
    assert (f"{path}: runtime onnx-int8 could not be built here (RuntimeError: the exporter failed); running fp32 "
            "PyTorch (runtime='torch')") in caplog.messages
    with pytest.raises(RuntimeError, match="the exporter failed"):
        load(path, runtime="onnx-int8")
