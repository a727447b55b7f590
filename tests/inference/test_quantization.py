import re

import numpy as np
import pytest
import torch

from inference.checkpoint import load_checkpoint
from inference.quantization import Bf16Linear, RowScaledLinear, int8_linears

FFN_OUT = re.compile(r"layer\.\d+\.output\.dense$")


def linear_kinds(model) -> dict[str, type]:
    return {name: type(module) for name, module in model.named_modules()
            if "Linear" in type(module).__name__}


@pytest.mark.parametrize("bf16, kept", [(False, torch.nn.Linear), (True, Bf16Linear)])
def test_int8_keeps_each_ffn_output_projection_out_of_int8_and_quantises_the_other_linears(tiny_checkpoint, bf16, kept):
    kinds = linear_kinds(int8_linears(load_checkpoint(tiny_checkpoint)[0], bf16=bf16))
    ffn_out = [name for name in kinds if FFN_OUT.search(name)]
    others = [name for name in kinds if name not in ffn_out and ".inner" not in name]
    assert ffn_out and all(kinds[name] is kept for name in ffn_out)
    assert others and all(kinds[name] is RowScaledLinear for name in others)
    assert all(kinds[f"{name}.inner"].__module__.startswith("torch.ao") for name in others)


@pytest.mark.parametrize("bias", [True, False])
def test_a_bf16_linear_gives_the_fp32_result_to_bf16_precision(bias):
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 16, bias=bias)
    x = torch.randn(8, 64)
    with torch.no_grad():
        exact, approx = linear(x), Bf16Linear(linear)(x)
    assert approx.dtype == torch.float32 and approx.shape == exact.shape
    assert torch.allclose(approx, exact, rtol=0.02, atol=0.02 * exact.abs().max().item())
    assert not torch.equal(approx, exact)   # it did run in bf16


def test_the_int8_model_is_a_copy_and_predicts_like_fp32(tiny_checkpoint):
    model = load_checkpoint(tiny_checkpoint)[0].eval()
    before = {name: type(m) for name, m in model.named_modules()}
    inputs = {"input_ids": torch.randint(5, 100, (2, 12)), "attention_mask": torch.ones(2, 12, dtype=torch.long),
              "shape_ids": torch.zeros(2, 12, dtype=torch.long), "pool_mask": torch.ones(2, 12)}
    with torch.no_grad():
        exact = model(**inputs)["entities"]
        approx = int8_linears(model, bf16=True)(**inputs)["entities"]
    assert {name: type(m) for name, m in model.named_modules()} == before   # the argument is left as it was
    assert approx.shape == exact.shape and torch.allclose(approx, exact, atol=0.1 * exact.abs().max().item())


def test_int8_weights_have_a_scale_per_output_channel_so_a_row_of_small_weights_keeps_its_precision():
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 2)
    with torch.no_grad():   # one row 10,000 times the other: one scale per matrix would round the small row to 0
        linear.weight[0] *= 100.0
        linear.weight[1] *= 0.01
        linear.bias.zero_()
    model = torch.nn.Sequential(linear).eval()
    quantised = int8_linears(model, bf16=False)[0]
    assert quantised.inner.weight().qscheme() == torch.per_channel_affine
    x = torch.randn(16, 64)
    with torch.no_grad():
        exact, approx = model(x)[:, 1], quantised(x)[:, 1]
    assert (approx - exact).abs().max() < 0.05 * exact.abs().max()


def test_an_int8_row_is_quantised_on_its_own_scale():
    """torch's dynamic int8 takes one activation scale per batch; each row here takes its own, so a
    row's output is the same in any batch, and a row of small values keeps its precision."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 16)
    model = int8_linears(torch.nn.Sequential(linear), bf16=False)
    small, large = torch.randn(1, 64) * 0.01, torch.randn(3, 64) * 100
    with torch.no_grad():
        alone, beside = model(small), model(torch.cat([small, large]))[:1]
        exact = linear(small)
    assert torch.equal(alone, beside)
    assert torch.allclose(alone, exact, atol=0.02 * exact.abs().max().item())


def test_an_int8_text_reads_the_same_whatever_texts_share_its_call(tiny_checkpoint):
    """Before, a text's entity split and scores moved with the texts predicted beside it (a
    helper's reproduction: 'Vladimir Putin' 0.697 alone, 0.494 beside a line of figures)."""
    from inference import load
    model = load(tiny_checkpoint, quantize=True)
    text = "Vladimir Putin met Angela Merkel in Berlin."
    others = ["The IMF said exports rose 12.5% to 1,000.5 million " * 3, "short", "Moscow talks " * 40]
    alone = model.analyse([text])[0]
    beside = model.analyse([text, *others])[0]
    # each layer is exact (above); the fp32 parts around them move in the 7th decimal with padding,
    # which can tip one int8 step of a row: close, not equal
    for name, probs in {**alone.word_probs, **alone.doc_probs}.items():
        assert np.allclose(probs, {**beside.word_probs, **beside.doc_probs}[name], atol=1e-3)
    entities = lambda prediction: [(e.start, e.end, e.label) for e in prediction.entities]
    assert entities(model.predict(text)) == entities(model.predict_batch([*others, text])[-1])


def test_int8_models_made_in_two_threads_at_once_leave_the_warnings_filters_as_they_were(monkeypatch):
    """Before, each thread's catch_warnings put back the filters the other had found: two int8
    loads at once (4 threads calling load(path, quantize=True) did it 3 times in 3) left "ignore"
    installed, and every later warning of the process unseen."""
    import threading
    import warnings
    first_in, second_in = threading.Event(), threading.Event()

    def quantiser(model, *args, **kwargs):   # the second enters while the first is inside, if it can
        if threading.current_thread() is first:
            first_in.set()
            second_in.wait(timeout=2)
        else:
            second_in.set()
            first.join(timeout=10)   # the first has put back its filters
        return model
    monkeypatch.setattr(torch.ao.quantization, "quantize_dynamic", quantiser)
    make = lambda: int8_linears(torch.nn.Sequential(torch.nn.Linear(4, 4)), bf16=False)
    first = threading.Thread(target=make)
    second = threading.Thread(target=lambda: first_in.wait(timeout=10) and make())
    with warnings.catch_warnings():   # the test's own filters come back whatever happens
        before = list(warnings.filters)
        first.start()
        second.start()
        first.join()
        second.join()
        assert warnings.filters == before
