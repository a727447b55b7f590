"""Export a task as a standard Hugging Face checkpoint that `transformers.pipeline` loads.

Entities export as the token classifier of the encoder's type (`BertForTokenClassification`,
`RobertaForTokenClassification`, ...: encoder + the NER head). The word-shape
embedding has no place in that class, so the exported model does not see capitalisation, and
the pipeline reads lines in capitals as written where the checkpoint recases them
(`recase_capitals`): its labels can differ from `predict` where case matters. The head is
divided by its temperature; the entity span calibrator has no place there, so its scores are
uncalibrated. Use it for interop and as a baseline; `predict` remains the reference.

A SentencePiece tokenizer's `▁` stands for the space before a word, so its offsets cover that
space and the pipeline's entities would start one character early. The exported tokenizer
splits at white space before the metaspace step: the same pieces (bar a lone `▁` that trailing
white space would add), offsets on the word alone. It reads a text's own "[SEP]" as words,
control characters and emoji as spaces (WordPiece would drop them and glue the words around
them) and half-width and full-width characters in their compatibility form, as `predict` does;
its tokenizer_config.json names the class that loads tokenizer.json as written. A metaspace
step that prepends `▁` to the text's first word alone ("first") prepends it to every word once
split, as the whole text has one before every word after a space; one that never prepends it
("never") is kept as it is, offsets and all.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from transformers import AutoModelForTokenClassification

from .checkpoint import EXPORT_MARK, save_directory
from .folders import check_export_output, is_export  # noqa: F401  (torch-free: the command checks --output first)
from .manifest import Manifest, TaskSpec
from .predictor import NewsModel
from .tokenization import BLANK_CHARS, JOINERS, compatible
from .windows import usable_positions


def ner_task(manifest: Manifest, task_name: str) -> TaskSpec:
    """The manifest's NER task of that name, or a ValueError saying why it cannot export."""
    if not any(t.kind == "ner" for t in manifest.tasks):   # not "no task 'entities'", as if misspelt
        raise ValueError("this checkpoint has no NER task to export as a token classifier (its tasks: "
                         f"{', '.join(f'{t.name} ({t.kind})' for t in manifest.tasks)})")
    try:
        task = manifest.task(task_name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    if task.kind != "ner":
        raise ValueError(f"task {task_name!r} is {task.kind!r}; only ner tasks export as token classifiers")
    return task


def export_ner(model: NewsModel, task_name: str, output: str | os.PathLike) -> Path:
    """`model` loaded in fp32 PyTorch (`load(path, runtime="torch", quantize=False)`)."""
    if model.runtime != "torch":
        raise ValueError(f"export reads the fp32 PyTorch weights: load the checkpoint with runtime='torch', "
                         f"quantize=False (this one runs {model.runtime})")
    task = ner_task(model.manifest, task_name)
    check_export_output(output)   # named before the work (save_directory checks again, as it replaces)
    config = copy.deepcopy(model.model.encoder.config)
    config.num_labels = len(task.labels)
    config.id2label = dict(enumerate(task.labels))
    config.label2id = {label: i for i, label in enumerate(task.labels)}
    setattr(config, EXPORT_MARK, {"task": task_name})
    hf = AutoModelForTokenClassification.from_config(config)
    hf.base_model.load_state_dict(model.model.encoder.state_dict())
    head = model.model.heads[task_name]
    hf.classifier.load_state_dict({"weight": head.weight.detach() / task.temperature,
                                   "bias": head.bias.detach() / task.temperature})

    tokenizer = _for_pipeline(model.tokenizer)
    # the pipeline cuts a longer text into strided chunks of this many tokens; a tokenizer that does
    # not say (a base folder's without model_max_length: 1e30) sent a whole text past the positions
    tokenizer.model_max_length = min(tokenizer.model_max_length, usable_positions(config) or tokenizer.model_max_length)

    def write(folder: Path) -> None:
        hf.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        # loaded as its tokenizer.json says: a BertTokenizer would rebuild its own normalizer
        settings = folder / "tokenizer_config.json"
        config = json.loads(settings.read_text(encoding="utf-8"))
        settings.write_text(json.dumps({**config, "tokenizer_class": "PreTrainedTokenizerFast"}, indent=2),
                            encoding="utf-8")
    save_directory(output, write, is_export, "an earlier export")
    return Path(output)


def _for_pipeline(tokenizer):
    """A copy of `tokenizer` that reads "[SEP]" or "</s>" in a text as words, control characters
    and emoji as spaces, a word without its format characters and half-width and full-width
    characters in their compatibility form, as `predict` does, and whose
    SentencePiece pieces have offsets without the space before them."""
    from tokenizers import Regex, normalizers, pre_tokenizers

    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.split_special_tokens = tokenizer.init_kwargs["split_special_tokens"] = True   # saved in its config
    backend = tokenizer.backend_tokenizer
    # WordPiece drops them, gluing "Talks\vPutin" into one word; one character for one, offsets kept
    blank = normalizers.Replace(Regex(f"[{BLANK_CHARS}]"), " ")
    # joiners and other format characters inside a word ("Pu\u00adtin"): dropped, as predict reads them
    joiner = normalizers.Replace(Regex(f"[{JOINERS}]"), "")
    # half-width and full-width forms as predict reads them ("\uff2e" as "N", which WordPiece knows),
    # but those the backend's own normalizer reads so already (NFKC: SentencePiece's), each a step per text
    own = backend.normalizer
    widths = [normalizers.Replace(char, form) for char in map(chr, range(0xFF00, 0xFFF0))
              if (form := compatible(char)) != char
              and not (own and own.normalize_str(char) == own.normalize_str(form))]
    backend.normalizer = normalizers.Sequence([blank, joiner, *widths] + ([backend.normalizer] if backend.normalizer else []))
    meta = backend.pre_tokenizer
    # split, each word is a text of its own: "first" would mark the first word alone; with "never"
    # the text's first word has no `▁` and the others have one, which no per-word rule gives
    if isinstance(meta, pre_tokenizers.Metaspace) and meta.prepend_scheme != "never":
        backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(
            replacement=meta.replacement, prepend_scheme="always", split=meta.split)])
    return tokenizer
