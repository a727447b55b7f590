"""The encoder pass run by ONNX Runtime instead of PyTorch: the same MultiTaskModel graph,
exported once at load time, optionally in int8: the layers torch-int8 quantises, each token's
activations on a scale of its own (inference.quantization.RowScaledLinear, exported with the graph).

In benchmarks/speed.py, fp32 `predict_batch` once ran at 1.45x the words/s of PyTorch eager; in
int8 PyTorch was faster (14,200 against 12,437 words/s), also with ONNX Runtime's transformer graph
fusions applied before quantizing (tried, not kept). Needs the `onnx` extra:
`pip install "newsmodel[onnx]"`.
"""
from __future__ import annotations

import ast
import contextlib
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from .modeling import OUTPUTS
from .quantization import QUIETING, row_scaled_linears

INPUTS = ("input_ids", "attention_mask", "shape_ids", "pool_mask")


class _Outputs(torch.nn.Module):
    """MultiTaskModel's forward with its dict flattened to a tuple, as ONNX graphs return."""

    def __init__(self, model, names: list[str]):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, input_ids, attention_mask, shape_ids, pool_mask):
        out = self.model(input_ids, attention_mask, shape_ids, pool_mask)
        return tuple(out[name] for name in self.names)


class OnnxForward:
    """Drop-in for MultiTaskModel at inference: `__call__` gives the same dict of tensors.
    Document heads (one small matrix product per document) stay in PyTorch."""

    def __init__(self, model, quantize: bool = False):
        try:
            import onnxruntime
            import onnxscript  # noqa: F401  (torch's ONNX exporter builds the graph with it)
        except ImportError as exc:   # which one, and why: onnxruntime alone installed lacks onnxscript
            raise ImportError(f'runtime="onnx" needs ONNX Runtime and onnxscript: pip install "newsmodel[onnx]" '
                              f'({exc})') from exc
        self.model = model.eval()
        self.names = output_names(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # as many threads as torch would use
        with tempfile.TemporaryDirectory() as tmp:
            try:
                if quantize:
                    path = _int8(_export(row_scaled_linears(model, bf16=False, ends=False), self.names, Path(tmp)))
                else:
                    path = _export(model, self.names, Path(tmp))
            except OSError as exc:   # a full /tmp, say: the folder, which the error alone does not name
                raise OSError(f"the ONNX graph could not be written to the temporary folder {tmp}: {exc}; free "
                              "space there or set TMPDIR to another folder") from None
            self.session = onnxruntime.InferenceSession(path.read_bytes(), options,
                                                        providers=["CPUExecutionProvider"])

    def __call__(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = self.session.run(self.names, {k: inputs[k].numpy() for k in INPUTS})
        return {name: torch.from_numpy(value) for name, value in zip(self.names, outputs)}

    def document_logits(self, pooled: torch.Tensor, lexical=None) -> dict[str, torch.Tensor]:
        return self.model.document_logits(pooled, lexical)

    def feature_kinds(self) -> set[str]:
        return self.model.feature_kinds()

    @property
    def lexicon_idf(self) -> torch.Tensor:
        return self.model.lexicon_idf

    def eval(self) -> "OnnxForward":
        return self


def output_names(model) -> list[str]:
    """What the ONNX graph returns: the pooled sums and counts for the document heads, then the
    logits of each NER head."""
    return [*OUTPUTS] + [n for n, t in model.tasks.items() if t.kind == "ner"]


def _export(model, names: list[str], folder: Path) -> Path:
    """Trace the model on a small dummy batch with batch and length left dynamic."""
    path = folder / "model.onnx"
    dummy = (torch.full((2, 16), 100, dtype=torch.long), torch.ones((2, 16), dtype=torch.long),
             torch.zeros((2, 16), dtype=torch.long), torch.ones((2, 16)))
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
    with _quiet():
        torch.onnx.export(_Outputs(model, names).eval(), dummy, str(path), input_names=list(INPUTS),
                          output_names=names, dynamic_shapes={k: {0: batch, 1: length} for k in INPUTS},
                          dynamo=True, external_data=False, verbose=False)
    return path


def _int8(path: Path) -> Path:
    """The ONNX model at `path`, exported from row_scaled_linears(..., ends=False), with the
    products of its RowScaledLinear layers (`.inner`) in int8, beside it. Weights take one scale
    per output channel (benchmarks/README.md, "Int8 weights"); activations, divided by each row's
    largest magnitude before, are quantised on the fixed range [-1, 1], so a row reads the same in
    any batch. A RuntimeError where the graph does not name those products, or where one of them
    was left in fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    # the exporter records each node's module path; an empty list would have every product quantised
    products = [node for node in onnx.load(str(path)).graph.node if node.op_type in ("MatMul", "Gemm")
                and any(scope.endswith(".inner") for scope in _module_path(node))]
    inner = [node.name for node in products if node.op_type == "MatMul"]
    if not products:
        raise RuntimeError(f"{path}: no MatMul node names its module (pkg.torch.onnx.name_scopes), so the "
                           "layers to quantise are unknown; this torch's ONNX exporter does not record them")
    if len(inner) < len(products):
        raise RuntimeError(f"{path}: {len(products) - len(inner)} row-scaled product(s) are Gemm nodes (products "
                           "of 2-D rows), which ONNX Runtime's dynamic quantiser leaves in fp32")
    out = path.with_suffix(".int8.onnx")
    # uint8 weights: with int8 ones, CPUs without VNNI sum pairs of uint8 x int8 products in 16 bits,
    # which saturate on rows scaled to [-1, 1]; `make train`'s checkpoint found 6,378 of fp32's 6,515
    # entities in 222 BBC News articles exactly against 6,455 (AVX2, 2 cores; benchmarks/README.md).
    # With VNNI int8 weights would not saturate (not measured here).
    with _quiet():  # its advice to pre-process the graph is for static quantization
        quantize_dynamic(path, out, weight_type=QuantType.QUInt8, per_channel=True, nodes_to_quantize=inner)
    model = onnx.load(str(out))
    quantised = sum(node.op_type == "MatMulInteger" for node in model.graph.node)
    if quantised != len(inner):   # e.g. a weight that is not a constant of the graph
        raise RuntimeError(f"{path}: ONNX Runtime's quantiser took {quantised} of the {len(inner)} "
                           "row-scaled products to int8; the rest would run in fp32 unseen")
    _fixed_range(model.graph)
    onnx.save(model, str(out))
    return out


def _fixed_range(graph) -> None:
    """Each DynamicQuantizeLinear of `graph` (all of them quantise row-scaled inputs) made a
    QuantizeLinear on [-1, 1]: the scale and zero point it computes with a row of -1 and 1 in the
    batch (in float32, 2/255 and round(127.49999) = 127), without that row's two copies of each
    input or the pass for the batch's range (benchmarks/README.md, "Since then ONNX int8")."""
    from onnx import helper, numpy_helper
    nodes = []
    for node in graph.node:
        if node.op_type == "DynamicQuantizeLinear":
            quantised, scale, zero_point = node.output
            graph.initializer.extend([numpy_helper.from_array(np.float32(2) / np.float32(255), scale),
                                      numpy_helper.from_array(np.array(127, np.uint8), zero_point)])
            node = helper.make_node("QuantizeLinear", [node.input[0], scale, zero_point], [quantised], name=node.name)
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)


def _module_path(node) -> list[str]:
    """The names of the modules enclosing an exported node, outermost first, then the node's own
    operation ([] where not recorded). The exporter writes the list as a Python literal."""
    scopes = next((p.value for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"), "[]")
    return ast.literal_eval(scopes)


@contextlib.contextmanager
def _quiet():
    """The exporter and quantizer report progress on stdout and warn about their own internals
    (unused torchvision ops, deprecations): none of it concerns a user loading a model."""
    with QUIETING:   # one at a time: a second thread would take the first one's level as the caller's
        before = logging.root.manager.disable   # a level the caller disabled stays disabled afterwards
        logging.disable(max(before, logging.WARNING))
        # ONNX Runtime's quantiser warns through logging.warning(), which, with no handler on the root
        # logger, gives it one (logging.basicConfig()): the caller's own basicConfig would then do nothing
        placeholder = logging.NullHandler() if not logging.root.handlers else None
        if placeholder:
            logging.root.addHandler(placeholder)
        try:
            with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            if placeholder:
                logging.root.removeHandler(placeholder)
            logging.disable(before)
