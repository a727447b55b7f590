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


def test_unknown_runtime_is_refused(tiny_checkpoint):
    with pytest.raises(ValueError, match="runtime must be 'torch' or 'onnx', not 'tensorrt'"):
        load(tiny_checkpoint, runtime="tensorrt")


def test_int8_onnx_weights_have_a_scale_per_output_channel(tiny_checkpoint, tmp_path):
    onnx = pytest.importorskip("onnx")
    from inference.checkpoint import load_checkpoint
    from inference.onnx_runtime import _export, _int8, output_names
    model = load_checkpoint(tiny_checkpoint)[0].eval()
    graph = onnx.load(str(_int8(_export(model, output_names(model), tmp_path)))).graph
    dims = {init.name: list(init.dims) for init in graph.initializer}
    weights = [node.input[1] for node in graph.node if node.op_type == "MatMulInteger"]
    assert weights
    for weight in weights:   # "<w>_quantized" is [in, out]; its scale "<w>_scale" has one value per out
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


def test_an_int8_onnx_text_reads_the_same_whatever_texts_share_its_call(tiny_checkpoint):
    model = load(tiny_checkpoint, runtime="onnx", quantize=True)
    text = "Vladimir Putin met Angela Merkel in Berlin."
    others = ["The IMF said exports rose 12.5% to 1,000.5 million " * 3, "short", "Moscow talks " * 40]
    alone, beside = model.analyse([text])[0], model.analyse([text, *others])[0]
    for name, probs in alone.word_probs.items():   # its windows batched apart: exact
        assert (probs == beside.word_probs[name]).all()
    for name, probs in alone.doc_probs.items():   # fp32 document heads over a stack of texts: to float precision
        assert np.allclose(probs, beside.doc_probs[name], atol=1e-6)
