import re

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from inference import load  # noqa: E402

TEXTS = ["Officials in Geneva met Anna Lindqvist of the United Nations on Tuesday. " * 6,
         "Short note from Kyiv.", ""]


def test_onnx_runtime_gives_the_probabilities_of_torch(any_tiny_checkpoint):
    torch_model, onnx_model = load(any_tiny_checkpoint), load(any_tiny_checkpoint, runtime="onnx")
    assert len(torch_model.analyse(TEXTS[:1])[0].encoded.input_ids) > 64  # several windows of 32
    for ours, theirs in zip(torch_model.analyse(TEXTS), onnx_model.analyse(TEXTS)):
        for task, probs in ours.word_probs.items():
            np.testing.assert_allclose(theirs.word_probs[task], probs, atol=1e-5)
        for task, probs in ours.doc_probs.items():
            np.testing.assert_allclose(theirs.doc_probs[task], probs, atol=1e-5)
    # Entities are decoded from these probabilities; on an untrained model near-ties could flip
    # spans at the 1e-6 level, so predictions are checked for offsets, not for equality.
    for text, prediction in zip(TEXTS, onnx_model.predict_batch(TEXTS)):
        assert all(text[e.start:e.end] == e.text for e in prediction.entities)


def test_int8_onnx_runtime_predicts_probabilities(any_tiny_checkpoint):
    model = load(any_tiny_checkpoint, runtime="onnx", quantize=True)
    labels = model.predict(TEXTS[0]).labels
    assert set(labels) == {"topic", "stance"}
    assert abs(sum(label.score for label in labels["stance"]) - 1.0) < 1e-4


def test_a_temporary_folder_without_room_is_named(tiny_checkpoint, tmp_path, monkeypatch):
    # the graph is written to a temporary folder at load: "[Errno 28] No space left on device" alone
    # did not say where
    import errno
    import os
    import tempfile
    import inference.onnx_runtime as onnx_runtime

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(onnx_runtime, "_export", full)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(OSError, match=rf"^the ONNX graph could not be written to the temporary folder "
                                      rf"{re.escape(str(tmp_path))}/\S+: \[Errno 28\] No space left on device; "
                                      "free space there or set TMPDIR to another folder$"):
        load(tiny_checkpoint, runtime="onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_onnx_module_is_named(tiny_checkpoint, monkeypatch):
    # ONNX Runtime installed alone (pip install onnxruntime): the error asked for what was there
    import builtins
    real = builtins.__import__

    def without_onnxscript(name, *args, **kwargs):
        if name == "onnxscript":
            raise ModuleNotFoundError("No module named 'onnxscript'", name=name)
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", without_onnxscript)
    with pytest.raises(ImportError, match=re.escape('runtime="onnx" needs ONNX Runtime and onnxscript: pip install '
                                                    "\"newsmodel[onnx]\" (No module named 'onnxscript')")):
        load(tiny_checkpoint, runtime="onnx")


def test_unknown_runtime_is_refused(tiny_checkpoint):
    with pytest.raises(ValueError, match=r"runtime must be one of torch, torch-int8, onnx, onnx-int8 \(as "
                                         r"model.runtime names them\), not 'tensorrt'"):
        load(tiny_checkpoint, runtime="tensorrt")


def test_int8_onnx_quantises_the_layers_torch_int8_does_with_a_scale_per_output_channel(tiny_checkpoint, tmp_path):
    onnx = pytest.importorskip("onnx")
    from inference.checkpoint import load_checkpoint
    from inference.onnx_runtime import _export, _int8, _module_path, output_names
    from inference.quantization import KEPT_OUT_OF_INT8, RowScaledLinear, row_scaled_linears
    model = row_scaled_linears(load_checkpoint(tiny_checkpoint)[0].eval(), bf16=False, ends=False)
    exported = _export(model, output_names(model), tmp_path)
    in_scope = lambda graph, pattern: [node for node in graph.node if node.op_type == "MatMul"
                                       and any(re.search(pattern, scope) for scope in _module_path(node))]
    # the products of the encoder's and the NER head's RowScaledLinear layers (document heads run in PyTorch)
    row_scaled = in_scope(onnx.load(str(exported)).graph, r"\.inner$")
    graph = onnx.load(str(_int8(exported))).graph
    dims = {init.name: list(init.dims) for init in graph.initializer}
    quantised = [node for node in graph.node if node.op_type == "MatMulInteger"]
    document_heads = ("heads.topic", "heads.stance")
    assert len(quantised) == len(row_scaled) == sum(isinstance(m, RowScaledLinear) and not name.startswith(document_heads)
                                                    for name, m in model.named_modules())
    ops = {node.op_type for node in graph.node}
    assert "QuantizeLinear" in ops and "DynamicQuantizeLinear" not in ops   # on [-1, 1], not the batch's range
    kept = in_scope(graph, KEPT_OUT_OF_INT8.pattern)
    assert len(kept) == sum(bool(KEPT_OUT_OF_INT8.search(name)) for name, _ in model.named_modules()) > 0   # fp32
    for weight in (node.input[1] for node in quantised):   # "<w>_quantized" is [in, out]; "<w>_scale" has one value per out
        assert dims[weight.removesuffix("_quantized") + "_scale"] == dims[weight][1:]


def test_quieting_the_exporter_leaves_the_callers_logging_as_it_was():
    import logging
    from inference.onnx_runtime import _quiet
    logging.disable(logging.ERROR)   # a caller's own choice
    try:
        with _quiet():
            assert logging.root.manager.disable == logging.ERROR
        assert logging.root.manager.disable == logging.ERROR
    finally:
        logging.disable(logging.NOTSET)
    with _quiet():
        assert logging.root.manager.disable == logging.WARNING
    assert logging.root.manager.disable == logging.NOTSET


def test_an_int8_onnx_load_gives_the_root_logger_no_handler(tiny_checkpoint):
    """Before, ONNX Runtime's quantiser warned through logging.warning(), which gave the root logger a
    stderr handler: a caller's logging.basicConfig(level=logging.INFO) after load() then did nothing."""
    import logging
    pytests = logging.root.handlers[:]
    logging.root.handlers.clear()   # as in a script: none
    try:
        load(tiny_checkpoint, runtime="onnx-int8")
        assert logging.root.handlers == []
    finally:
        logging.root.handlers[:] = pytests


def test_an_int8_onnx_text_reads_the_same_whatever_texts_share_its_call(tiny_checkpoint):
    model = load(tiny_checkpoint, runtime="onnx", quantize=True)
    text = "Vladimir Putin met Angela Merkel in Berlin."
    others = ["The IMF said exports rose 12.5% to 1,000.5 million " * 3, "short", "Moscow talks " * 40]
    alone, beside = model.analyse([text])[0], model.analyse([text, *others])[0]
    # each row takes its own activation scale (RowScaledLinear); the fp32 parts around the int8
    # products move in the 7th decimal with padding, which can tip one int8 step: close, not equal
    for name, probs in {**alone.word_probs, **alone.doc_probs}.items():
        assert np.allclose(probs, {**beside.word_probs, **beside.doc_probs}[name], atol=1e-3)
    entities = lambda prediction: [(e.start, e.end, e.label) for e in prediction.entities]
    assert entities(model.predict(text)) == entities(model.predict_batch([*others, text])[-1])


def test_an_int8_onnx_row_is_quantised_on_its_own_scale(tmp_path):
    """As in PyTorch int8 (tests/inference/test_quantization.py): a row's output is the same in any
    batch, and a row of small values keeps its precision."""
    import onnxruntime
    import torch
    from inference.onnx_runtime import _int8
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 16)
    path = _exported_layer(linear, torch.randn(2, 3, 64), tmp_path, batch_dimension=True)
    session = onnxruntime.InferenceSession(_int8(path).read_bytes(), providers=["CPUExecutionProvider"])
    # rows of one sign: alone, their range would be [0, 1] but for the fixed range _int8 gives the quantisers
    small, large = torch.randn(1, 3, 64).abs() * 0.01, torch.randn(3, 3, 64) * 100
    alone = session.run(None, {"x": small.numpy()})[0]
    beside = session.run(None, {"x": torch.cat([small, large]).numpy()})[0][:1]
    with torch.no_grad():
        exact = linear(small).numpy()
    assert (alone == beside).all()
    # on CPUs without VNNI, int8 weights saturate ONNX Runtime's sums on such rows: uint8 weights
    assert np.allclose(alone, exact, atol=0.005 * np.abs(exact).max())
    mixed = torch.randn(2, 3, 64)   # rows of both signs: the zero point sits in the middle of the range
    with torch.no_grad():
        exact = linear(mixed).numpy()
    assert np.allclose(session.run(None, {"x": mixed.numpy()})[0], exact, atol=0.02 * np.abs(exact).max())


def test_int8_onnx_refuses_a_product_it_would_leave_in_fp32(tmp_path):
    """A row-scaled product of 2-D rows exports as a Gemm, which ONNX Runtime's dynamic quantiser
    skips: a clear error, not a layer silently left in fp32."""
    import torch
    from inference.onnx_runtime import _int8
    path = _exported_layer(torch.nn.Linear(8, 4), torch.randn(3, 8), tmp_path)
    with pytest.raises(RuntimeError, match=r"1 row-scaled product\(s\) are Gemm nodes"):
        _int8(path)


def _exported_layer(linear, example, folder, batch_dimension: bool = False):
    """`linear` made a RowScaledLinear as the onnx-int8 runtime exports it, exported on `example`."""
    import torch
    from inference.onnx_runtime import _quiet
    from inference.quantization import row_scaled_linears
    model = row_scaled_linears(torch.nn.Sequential(linear), bf16=False, ends=False).eval()
    path = folder / "layer.onnx"
    with _quiet():
        torch.onnx.export(model, (example,), str(path), input_names=["x"], dynamo=True, external_data=False,
                          dynamic_shapes=({0: torch.export.Dim("batch")},) if batch_dimension else None)
    return path
