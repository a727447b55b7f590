"""Readers that turn other corpus formats into the trainer's Documents (training.corpus).

Each reads one file (or a pair of files) whole and raises one DataError listing every problem
found, `path:line: reason` a line, so a bad corpus is fixed in one pass instead of one error a run.
"""
from training.readers.annotation_tools import read_doccano, read_label_studio
from training.readers.conll import read_conll
from training.readers.news import read_jsonl
from training.readers.classification import read_classification, read_pairs_joined
from training.readers.hf_datasets import read_hf

__all__ = ["read_jsonl", "read_conll", "read_classification", "read_pairs_joined",
           "read_label_studio", "read_doccano", "read_hf"]
