"""Entity F1 of an output ensemble of NER checkpoints on CoNLL files: every member reads the same
windows, their token scores and CRF transition scores are averaged, and the mean is decoded as one
checkpoint's would be (Viterbi, one type per name), through training.evaluation.evaluate.

    python benchmarks/ensemble.py --checkpoint C1 --checkpoint C2 --conll ../shared/data/conll2003/eng.testb

What accuracy the cost of several encoders buys: each member adds its forward pass. Members must
be NER-only checkpoints of one base encoder with the same labels and windows (their own windows
must match even where `--window-length` replaces them); they run in fp32 PyTorch on the CPU, and
the first member's calibration gives the confidences. `--window-length` reads every text through
windows of that length instead of the checkpoints' own; given more than once, through each of
them, and the readings' word scores are averaged (several contexts per word from one checkpoint):
each reading adds a forward pass too. Prints one JSON line: per file, precision, recall, F1 and F1
per type.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

import common
from inference import NewsModel, load
from inference.calibration import EDGES, probabilities
from inference.checkpoint import MANIFEST, configured_positions
from inference.manifest import Manifest
from inference.windows import usable_positions, window_problem
from training.evaluation import evaluate
from training.readers import read_conll

TASK = "entities"


class MeanOutputs(nn.Module):
    """The members' outputs for one batch, averaged output by output. The pooled states are
    averaged too, which would mix encoders under a document head: `ensemble` refuses those."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, **inputs) -> dict[str, torch.Tensor]:
        outputs = [member(**inputs) for member in self.members]
        return {key: sum(o[key] for o in outputs) / len(outputs) for key in outputs[0]}


def _compatibility_key(model: NewsModel) -> tuple:
    """What members must share to read the same windows and decode the same tags."""
    m = model.manifest
    return (m.base_model, m.window_length, m.window_overlap, m.shape_input, m.recase_capitals,
            [(t.name, t.kind, t.labels, t.temperature, t.crf, t.viterbi, t.one_type_per_name) for t in m.tasks])


def ensemble(paths: list[str], window_lengths: list[int] | None = None) -> NewsModel:
    """One NewsModel whose forward pass averages the checkpoints at `paths`, reading every text
    through windows of each of `window_lengths` (default: the checkpoints' own; see the module doc)."""
    for path in paths:   # read before any member loads
        if any(t.kind != "ner" for t in Manifest.read(Path(path) / MANIFEST).tasks):
            raise ValueError(f"{path}: has document tasks; only NER-only checkpoints can be averaged here")
    members = [load(path, runtime="torch", quantize=False, device="cpu") for path in paths]
    for path, member in zip(paths, members):
        if _compatibility_key(member) != _compatibility_key(members[0]):
            raise ValueError(f"{path}: base encoder, windows or tasks differ from {paths[0]}'s")
    manifest = copy.deepcopy(members[0].manifest)
    manifest.lexicon = []   # read by document heads only; MeanOutputs keeps no idf weights
    for i, task in enumerate(manifest.tasks):
        if task.crf:
            scores = torch.stack([torch.tensor(m.manifest.tasks[i].transitions) for m in members])
            task.transitions = scores.mean(0).tolist()
    model = NewsModel(MeanOutputs([m.model for m in members]), members[0].tokenizer, manifest)
    if window_lengths and window_lengths != [manifest.window_length]:
        return Readings(model, window_lengths)
    return model


def check_window_lengths(window_lengths: list[int], overlap: int, positions: int | None) -> None:
    """A ValueError for a length that windows of `overlap` on an encoder of `positions` cannot have,
    or for one given twice."""
    for problem in filter(None, (window_problem(n, overlap, positions) for n in window_lengths)):
        raise ValueError(problem)
    if len(set(window_lengths)) < len(window_lengths):
        raise ValueError(f"window lengths {window_lengths}: one is given twice")


class Readings(NewsModel):
    """`model` reading every text once per window length, the readings' word scores averaged: the
    mean of the log-probabilities, renormalised, is the softmax of the mean logits. NER tasks only."""

    def __init__(self, model: NewsModel, window_lengths: list[int]):
        if any(t.kind != "ner" for t in model.manifest.tasks):
            raise ValueError("only NER tasks are read through several window lengths; this checkpoint has "
                             "document tasks")
        check_window_lengths(window_lengths, model.manifest.window_overlap,
                             usable_positions(next(m.config for m in model.model.modules() if hasattr(m, "config"))))
        super().__init__(model.model, model.tokenizer, model.manifest, model.device, model.runtime)
        # a reader per length, sharing the weights and the tokenizer's lock: nothing changes per call
        self.readers = [NewsModel(model.model, model.tokenizer, dataclasses.replace(model.manifest, window_length=n),
                                  model.device, model.runtime) for n in window_lengths]
        for reader in self.readers:
            reader._tokenizer_lock = self._tokenizer_lock

    def _analyse(self, texts, *args):
        readings = [reader._analyse(texts, *args) for reader in self.readers]
        if len(readings) == 1:
            return readings[0]
        mean = readings[0]
        for t, analysis in enumerate(mean):
            for task in analysis.word_probs:
                logs = np.mean([np.log(np.maximum(r[t].word_probs[task], EDGES[0])) for r in readings], axis=0)
                analysis.word_probs[task] = probabilities(logs, "ner")
        return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", required=True, help="a member; give it once per member")
    parser.add_argument("--conll", action="append", required=True, help="a CoNLL-2003 style file; may repeat")
    parser.add_argument("--window-length", type=int, action="append",
                        help="read every text through windows of this many subwords, special tokens included; "
                             "give it once per reading (default: the checkpoints' own length)")
    parser.add_argument("--threads", type=common.positive, help="torch threads (default: torch's own choice)")
    args = common.parse_args(parser)
    if args.threads:
        torch.set_num_threads(args.threads)
    for option, paths in (("--checkpoint", args.checkpoint), ("--conll", args.conll)):
        real = [os.path.realpath(p) for p in paths]   # a member twice would read as an ensemble of two
        twice = next((p for p, r in zip(paths, real) if real.count(r) > 1), None)
        if twice:
            raise SystemExit(f"error: {option} {twice}: given twice (by this name or another)")
    try:   # every file read before the models load: a typo in the last path loses no figure
        docs = {path: read_conll(path, task=TASK) for path in args.conll}
        kinds = set()
        for path in args.checkpoint:
            common.refuse_no_checkpoint(path)
            try:
                kinds.add(frozenset(Manifest.read(Path(path) / MANIFEST).task(TASK).entity_types))
            except (KeyError, OSError, ValueError) as exc:   # "no task ... in this checkpoint", no manifest: which member
                raise SystemExit(f"error: --checkpoint {path}: {exc.args[0] if isinstance(exc, KeyError) else exc}") \
                    from None
        if args.window_length:   # refused as Readings refuses them, but before any member loads
            first = Path(args.checkpoint[0])   # a config.json missing or damaged: named as the member loads
            check_window_lengths(args.window_length, Manifest.read(first / MANIFEST).window_overlap,
                                 configured_positions(first))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    types = set(next(iter(kinds)))   # members of other types are refused as they load
    for path, split in docs.items():   # a type the members lack would stop the run after the first files
        if len(kinds) == 1:
            common.refuse_entity_types_unknown(path, split, TASK, types, "the checkpoints lack")
    try:
        model = ensemble(args.checkpoint, args.window_length)
    except (OSError, ValueError) as exc:   # a member missing, damaged or unlike the others: one line
        raise SystemExit(f"error: {exc}") from None
    result = {"benchmark": "ensemble", "checkpoints": args.checkpoint,
              "window_lengths": args.window_length or [model.manifest.window_length],
              "device": f"cpu ({torch.get_num_threads()} threads)", "files": {}}
    for path in args.conll:
        result["files"][path] = common.entity_figures(evaluate(model, docs[path])[TASK])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
