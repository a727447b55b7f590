"""The `torch-int8` runtime's model: dynamic int8 linear layers (one weight scale per output
channel, one activation scale per token), but for the layers where int8 costs accuracy, which
run in bf16 where the CPU has bf16 instructions and in fp32 elsewhere. `onnx-int8` exports the
same layout (row_scaled_linears) for ONNX Runtime to quantise."""
from __future__ import annotations

import copy
import re
import threading
import warnings

import torch
from torch import nn

from .devices import cpu_has_bf16

# Each encoder layer's FFN output projection stays out of int8: its inputs (GELU outputs) carry
# the outliers that one int8 scale per tensor flattens. On the bundled dev split int8 everywhere
# lost 2.7 entity F1 and 10 stance points against fp32; with these projections in fp32, 0.1 and
# none; in bf16, 0.2 and none, and the whole model ran at about 1.45x the words/s it had with
# them in fp32 (AVX512-BF16, 2 threads).
KEPT_OUT_OF_INT8 = re.compile(r"layer\.\d+\.output\.dense$")

# warnings.catch_warnings swaps the process's one list of filters: two at once in different
# threads each put back what the other found, and the "ignore" set inside stays for good. Every
# loader that silences warnings holds this lock (inference.onnx_runtime's export too).
QUIETING = threading.RLock()


class Bf16Linear(nn.Module):
    """A linear layer computed in bf16 (weights, bias, input and result; the kernel sums its
    products in fp32) that takes and gives the caller's dtype. For inference only."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight", linear.weight.detach().to(torch.bfloat16))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().to(torch.bfloat16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class RowScaledLinear(nn.Module):
    """A linear layer whose input takes one scale per row, that is per token, for an int8 product
    (`inner`, without the bias) whose own quantiser takes one per tensor: the batch. `inner` is
    torch's dynamic int8 linear (`torch-int8`), or an fp32 linear that ONNX Runtime's quantiser
    turns int8 after export (`onnx-int8`, inference.onnx_runtime).

    Each row is divided by its largest magnitude, and a row holding -1 and 1 joins the batch, so
    the range quantised over is [-1, 1] whatever the batch holds; the output rows are multiplied
    back. The layer gives each row the same output in any batch (the fp32 parts around it still
    move in the 7th decimal with padding, which can tip one int8 step), so a text reads nearly the
    same alone or beside others, where with one scale per batch an entity's split and score moved
    with the texts beside it; and a row of small values keeps its precision: on the bundled dev
    split, `make train`'s checkpoint lost 0.11 entity F1 to fp32 in PyTorch against 1.11.
    `ends=False` leaves that row out, for a quantiser given the range [-1, 1] (inference.onnx_runtime)."""

    def __init__(self, inner: nn.Module, bias: torch.Tensor | None, ends: bool = True):
        super().__init__()
        self.inner, self.in_features, self.out_features = inner, inner.in_features, inner.out_features
        self.register_buffer("bias", bias)
        row = torch.zeros(1, self.in_features)
        row[0, :2] = torch.tensor([-1.0, 1.0])
        self.register_buffer("ends", row if ends else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.abs().amax(-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
        if self.ends is None:
            out = self.inner(x / scale) * scale
        else:
            rows = torch.cat([(x / scale).reshape(-1, self.in_features), self.ends.to(x)])
            out = self.inner(rows)[:-1].reshape(*x.shape[:-1], self.out_features) * scale
        return out if self.bias is None else out + self.bias


def row_scaled_linears(model: nn.Module, bf16: bool, ends: bool = True) -> nn.Module:
    """A copy of `model` whose linear layers are RowScaledLinear (with `ends`) over a bias-less fp32
    linear (the product a quantiser turns int8), but for KEPT_OUT_OF_INT8, which run in bf16
    (`bf16`) or fp32."""
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if not isinstance(child, nn.Linear):
                continue
            if not KEPT_OUT_OF_INT8.search(full):
                inner = nn.Linear(child.in_features, child.out_features, bias=False, device="meta")
                inner.weight = child.weight   # on meta, the weight it replaces took no memory
                bias = None if child.bias is None else child.bias.detach()
                setattr(module, child_name, RowScaledLinear(inner, bias, ends))
            elif bf16:
                setattr(module, child_name, Bf16Linear(child))
    return model


def int8_linears(model: nn.Module, bf16: bool | None = None) -> nn.Module:
    """A copy of `model` with dynamic int8 linear layers (weights int8 with a scale per output
    channel, activations with one per row: RowScaledLinear), but for KEPT_OUT_OF_INT8, which run
    in bf16 (`bf16`; by default where cpu_has_bf16) or fp32."""
    model = row_scaled_linears(model, cpu_has_bf16() if bf16 is None else bf16)
    # A scale per row of weights, not one per matrix: rows of small weights keep their precision.
    # Against fp32, the bundled test entity F1 of 8 MiniLM checkpoints moved by -0.03 on their
    # mean, against -0.58 with one scale per matrix, about as fast (benchmarks/README.md).
    inner = {f"{name}.inner": torch.ao.quantization.per_channel_dynamic_qconfig
             for name, module in model.named_modules() if isinstance(module, RowScaledLinear)}
    with QUIETING, warnings.catch_warnings():   # torch.ao announces its own future, nothing about this call
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(model, inner, dtype=torch.qint8, inplace=True)
    return model
