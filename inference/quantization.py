"""The `torch-int8` runtime's model: dynamic int8 linear layers (one weight scale per output
channel), but for the layers where int8 costs accuracy, which run in bf16 where the CPU has bf16
instructions and in fp32 elsewhere."""
from __future__ import annotations

import copy
import re
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


class RowScaledInt8Linear(nn.Module):
    """A dynamic int8 linear layer (`quantized`, without its bias) whose input takes one scale per
    row, that is per token, where torch's takes one per tensor: the batch.

    Each row is divided by its largest magnitude, and a row holding -1 and 1 joins the batch, so
    the range torch quantises over is [-1, 1] whatever the batch holds; the output rows are
    multiplied back. The layer gives each row the same output in any batch (the fp32 parts around
    it still move in the 7th decimal with padding, which can tip one int8 step), so a text reads
    nearly the same alone or beside others, where with one scale per batch an entity's split and
    score moved with the texts beside it; and a row of small values keeps its precision: on the
    bundled dev split, `make train`'s checkpoint lost 0.11 entity F1 to fp32 against 1.11."""

    def __init__(self, quantized: nn.Module, bias: torch.Tensor | None):
        super().__init__()
        self.quantized, self.in_features, self.out_features = quantized, quantized.in_features, quantized.out_features
        self.register_buffer("bias", bias)
        ends = torch.zeros(1, self.in_features)
        ends[0, :2] = torch.tensor([-1.0, 1.0])
        self.register_buffer("ends", ends)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.abs().amax(-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
        rows = torch.cat([(x / scale).reshape(-1, self.in_features), self.ends.to(x.dtype)])
        out = self.quantized(rows)[:-1].reshape(*x.shape[:-1], self.out_features) * scale
        return out if self.bias is None else out + self.bias


def int8_linears(model: nn.Module, bf16: bool | None = None) -> nn.Module:
    """A copy of `model` with dynamic int8 linear layers (weights int8 with a scale per output
    channel, activations with one per row: RowScaledInt8Linear), but for KEPT_OUT_OF_INT8, which
    run in bf16 (`bf16`; by default where cpu_has_bf16) or fp32."""
    bf16 = cpu_has_bf16() if bf16 is None else bf16
    model = copy.deepcopy(model)
    int8 = {}
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if not isinstance(child, nn.Linear):
                continue
            if not KEPT_OUT_OF_INT8.search(full):
                # A scale per row, not one per matrix: rows of small weights keep their precision.
                # Against fp32, the bundled test entity F1 of 8 MiniLM checkpoints moved by -0.03 on
                # their mean, against -0.58 with one scale per matrix, about as fast (benchmarks/README.md).
                int8[full] = torch.ao.quantization.per_channel_dynamic_qconfig
            elif bf16:
                setattr(module, child_name, Bf16Linear(child))
    with warnings.catch_warnings():   # torch.ao announces its own future, nothing about this call
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(model, int8, dtype=torch.qint8, inplace=True)
        for full in int8:
            parent, _, child_name = full.rpartition(".")
            module = model.get_submodule(parent)
            quantized = getattr(module, child_name)
            weight, bias = quantized.weight(), quantized.bias()
            quantized.set_weight_bias(weight, None)
            setattr(module, child_name, RowScaledInt8Linear(quantized, None if bias is None else bias.detach().clone()))
    return model
