"""Sparse lexical features of a document: TF-IDF over a vocabulary fixed at training time.

Document heads can read them beside the encoder's pooled states ("wide and deep"): word
counts carry rare topics and exact overlaps that a few epochs of fine-tuning do not learn.
The vocabulary lives in the manifest and the idf weights in heads.safetensors; nothing is
pickled. Tokens are scikit-learn's default (`\\b\\w\\w+\\b`, lower-cased) of the text as the encoder
reads its words: in NFC, without format characters, half-width and full-width forms in their
compatibility form ("Socie\\u0301te\\u0301", "Pu\\u00adtin", "ＮＡＴＯ": "société", "putin",
"nato"), a dotted capital I as "i" ("İstanbul": "istanbul"). Term frequencies sublinear (1 + log tf),
rows L2-normalised. A pair's features are its two texts' vectors and their cosine similarity.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter

import numpy as np
import torch

from .tokenization import JOINERS, compatible

TOKEN = re.compile(r"(?u)\b\w\w+\b")
_JOINERS = re.compile(f"[{JOINERS}]")


def terms(text: str) -> Counter:
    # a combining accent or a soft hyphen is no word character: "Socie\u0301te\u0301" was "socie" and "te";
    # NFC last, as in `surface`, composes what the joiners and width forms kept apart ("\uff8a\uff9f" is "\u30d1",
    # "cafe\u200d\u0301" is "café")
    # a dotted capital I lower-cases to "i" and a combining dot, no word character: "İzmir" was "zmir"
    return Counter(TOKEN.findall(unicodedata.normalize("NFC", compatible(_JOINERS.sub("", text))).replace("\u0130", "I")
                                 .lower()))


def vocabulary_sha256(vocabulary: list[str]) -> str:
    """The sha256 of a vocabulary, its terms in order, that training records in the manifest
    (lexicon_sha256): each term's place is the column the heads' weights read, so an edit that
    keeps the count (terms reordered, replaced) would shift every feature onto another's weight."""
    return hashlib.sha256(json.dumps(vocabulary, ensure_ascii=False).encode("utf-8")).hexdigest()


def unwritable_terms(vocabulary: list[str]) -> list[str]:
    """What no training run writes in a vocabulary (a hand edit): a term that is not one word of two
    or more letters or digits (blank, say), which no text matches, and a term listed twice, whose
    later column no text reaches."""
    twice = sorted(term for term, n in Counter(vocabulary).items() if n > 1)
    return ([f"{json.dumps(term, ensure_ascii=False)} is not a word of two or more letters or digits"
             for term in vocabulary if not TOKEN.fullmatch(term)]
            + [f"{json.dumps(term, ensure_ascii=False)} is listed twice" for term in twice])


def read_differently(vocabulary: list[str]) -> list[str]:
    """The terms that no text reads as now (`terms` of the term itself is another): fitted by an
    earlier reading of the text (full-width "ｎａｔｏ" before the compatibility forms), their features
    are always 0. A term `terms` writes today is always read as itself."""
    return [term for term in vocabulary   # an ASCII word in lower case (or digits) reads as itself
            if not (term.isascii() and term == term.lower() and TOKEN.fullmatch(term))
            and terms(term) != Counter({term: 1})]


def fit_vocabulary(texts: list[str], max_terms: int) -> tuple[list[str], np.ndarray]:
    """(vocabulary, idf): the `max_terms` terms found in most texts (ties by term), with smoothed
    idf ln((1 + n) / (1 + df)) + 1, as scikit-learn's TfidfVectorizer computes it."""
    df = Counter(term for text in texts for term in terms(text))
    vocabulary = sorted(sorted(df), key=lambda t: -df[t])[:max_terms]
    vocabulary.sort()
    idf = np.array([math.log((1 + len(texts)) / (1 + df[t])) + 1 for t in vocabulary], dtype=np.float32)
    return vocabulary, idf


class Lexicon:
    def __init__(self, vocabulary: list[str], idf: np.ndarray | torch.Tensor):
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float32)
        self.index = {term: i for i, term in enumerate(vocabulary)}

    def __len__(self) -> int:
        return len(self.vocabulary)

    def width(self, pair: bool) -> int:
        """Feature count of a document (pair: both texts' vectors and their cosine)."""
        return 2 * len(self) + 1 if pair else len(self)

    def rows(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's (term indices, TF-IDF values), L2-normalised."""
        out = []
        for text in texts:
            counts = [(self.index[t], c) for t, c in terms(text).items() if t in self.index]
            idx = np.array([i for i, _ in counts], dtype=np.int64)
            val = np.array([1.0 + math.log(c) for _, c in counts], dtype=np.float32) * self.idf[idx]
            norm = float(np.sqrt((val ** 2).sum()))
            out.append((idx, val / norm if norm > 0 else val))
        return out

    def features(self, texts: list[str], pairs: list[str | None] | None = None) -> torch.Tensor:
        """(n, width) dense features; `pairs` given: [text vector, pair vector, cosine]."""
        return self.from_rows(self.rows(texts), None if pairs is None else self.rows([p or "" for p in pairs]))

    def from_rows(self, rows: list, pair_rows: list | None = None) -> torch.Tensor:
        """`features` of texts whose `rows` are computed already (training reuses them every epoch)."""
        size = len(self)
        out = torch.zeros((len(rows), size if pair_rows is None else 2 * size + 1))
        for r, (idx, val) in enumerate(rows):
            out[r, idx] = torch.from_numpy(val)
        if pair_rows is not None:
            for r, (idx, val) in enumerate(pair_rows):
                out[r, size + idx] = torch.from_numpy(val)
            out[:, -1] = (out[:, :size] * out[:, size:2 * size]).sum(1)
        return out
