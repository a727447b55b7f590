"""Readers that turn other corpus formats into the trainer's Documents (training.corpus).

Each reads one file (or a pair of files) whole and raises one DataError listing every problem
found, `path:line: reason` a line, so a bad corpus is fixed in one pass instead of one error a run.
"""
from training.readers.annotation_tools import read_doccano, read_label_studio
from training.readers.conll import entity_types, read_conll
from training.readers.news import read_jsonl
from training.readers.tabular import read_classification, read_pairs_joined

__all__ = ["read_jsonl", "read_conll", "entity_types", "read_classification", "read_pairs_joined",
           "read_label_studio", "read_doccano"]
