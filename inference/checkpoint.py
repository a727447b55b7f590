"""Checkpoint directory: encoder + tokenizer in Hugging Face format, heads in safetensors,
manifest in JSON. Written to a temporary directory and renamed into place, so an
interrupted save never leaves a half-written checkpoint behind."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from . import DEFAULT_CHECKPOINT, DEFAULT_CHECKPOINT_ENV  # noqa: F401  (defined with the package: no torch)
from .folders import (ENCODER_FILES, EXPORT_MARK, MANIFEST, check_replaceable, checkpoint_holding,  # noqa: F401
                      encoder_config, export_mark, is_checkpoint)   # (torch-free: the commands check paths first)
from .lexical import read_differently, unwritable_terms, vocabulary_sha256
from .manifest import Manifest
from .modeling import MultiTaskModel
from .tokenization import NUM_SHAPE_IDS
from .windows import usable_positions, window_problem

HEADS = "heads.safetensors"
TRAINED_AS = "newsmodel"   # the heads file's metadata: what its weights mean (heads_meaning)
# The tokenizers library's writer fails with a bare Exception, "No space left on device (os error 28)"
TOKENIZERS_IO_ERROR = re.compile(r"\(os error \d+\)$")


def is_write_error(exc: BaseException) -> bool:
    """Whether `exc` is a failed write (a disk full, say): an OSError, safetensors' error, or the
    tokenizers library's bare Exception."""
    return isinstance(exc, (OSError, SafetensorError)) or bool(TOKENIZERS_IO_ERROR.search(str(exc)))


def beside(path: Path, kind: str = "tmp") -> Path:
    """A hidden name next to `path` for a folder being written ("tmp") or moved aside ("old"): the
    names recover_killed_save looks for."""
    return path.with_name(f".{path.name}.{kind}-{secrets.token_hex(6)}")


def save_directory(path: str | os.PathLike, write: Callable[[Path], None], ours: Callable[[Path], bool] = is_checkpoint,
                   what: str = "a checkpoint") -> Path:
    """`write(folder)` into a temporary folder beside `path`, then renamed into place, replacing
    what check_replaceable allows: a reader sees the old directory or the new one, never half."""
    check_replaceable(path, ours, what)
    path = Path(os.path.realpath(path))   # through a symlink: the link stays, what it points to is replaced
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_killed_save(path)
    tmp = beside(path)
    tmp.mkdir(0o777)   # as a plain mkdir makes it (the umask, a shared folder's group), not owner-only
    try:
        try:
            write(tmp)
        except Exception as exc:   # a disk full, say: one line naming the folder
            if not is_write_error(exc):
                raise
            raise OSError(f"{path} could not be written: {exc}") from None
        files_as_folder(tmp)
        old = None
        try:
            if path.exists():
                old = beside(path, "old")
                path.rename(old)
            tmp.rename(path)
        except BaseException as exc:
            if old is not None and not path.exists():
                old.rename(path)   # the previous one back in its place
            if isinstance(exc, OSError):
                raise OSError(f"{path} could not be replaced: {exc}") from exc
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def files_as_folder(folder: Path) -> None:
    """Give the files in `folder` the read and write modes the folder has (its umask, where it was
    made as a plain mkdir makes one): safetensors writes them owner-only (0600)."""
    readable = folder.stat().st_mode & 0o666
    for file in folder.rglob("*"):
        if file.is_file():
            with contextlib.suppress(OSError):   # a filesystem without modes (some network mounts)
                file.chmod(readable)


def recover_killed_save(path: str | os.PathLike) -> None:
    """Clear what a save killed outright (SIGKILL, power loss) left beside `path`: its
    half-written temporary folder; and put the previous directory it had moved aside back in
    place where the kill fell between its two renames (run before a save, and before training
    looks for a checkpoint or a resume state)."""
    path = Path(os.path.realpath(path))
    hex12 = "[0-9a-f]" * 12
    for tmp in glob.glob(f"{glob.escape(str(path.parent / ('.' + path.name)))}.tmp-{hex12}"):
        shutil.rmtree(tmp, ignore_errors=True)
    olds = sorted(glob.glob(f"{glob.escape(str(path.parent / ('.' + path.name)))}.old-{hex12}"), key=os.path.getmtime)
    if olds and not path.exists():
        with contextlib.suppress(FileNotFoundError):   # another process of the run put it back first
            os.rename(olds.pop(), path)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(model: MultiTaskModel, tokenizer, manifest: Manifest, path: str | os.PathLike) -> Path:
    def write(folder: Path) -> None:
        model.encoder.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        save_file({k: v.detach().cpu().contiguous() for k, v in model.head_state_dict().items()}, str(folder / HEADS),
                  metadata={TRAINED_AS: heads_meaning(model)})
        (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return save_directory(path, write)


def heads_meaning(model: MultiTaskModel) -> str:
    """What the weights mean that their shapes do not say (a head's kind, which label each row is,
    whether the encoder reads word shapes): kept beside them, so that a manifest edited to say
    otherwise is refused at load instead of mislabelling every prediction."""
    return json.dumps({"shape_input": model.shape_input,
                       "tasks": {name: {"kind": t.kind, "labels": t.labels} for name, t in model.tasks.items()}},
                      ensure_ascii=False)


def contradictions(manifest: Manifest, encoder, meaning: str | None) -> list[str]:
    """The manifest's fields that the weights were not trained with: shape_input, and each task's
    kind and labels in order. A checkpoint saved before heads_meaning was kept is checked on
    shape_input alone: only an encoder trained with word shapes has a token type per shape."""
    trained = json.loads(meaning) if meaning else {}
    shapes = trained.get("shape_input", encoder.config.type_vocab_size == NUM_SHAPE_IDS)
    wrong = [f"shape_input is {json.dumps(manifest.shape_input)}, but the encoder was trained with "
             f"{json.dumps(shapes)}"] if manifest.shape_input != shapes else []
    return wrong + [f"task {task.name!r}: {key} {json.dumps(getattr(task, key), ensure_ascii=False)}, but its head "
                    f"was trained with {json.dumps(value, ensure_ascii=False)}"
                    for task in manifest.tasks for key, value in trained.get("tasks", {}).get(task.name, {}).items()
                    if getattr(task, key) != value]


def write_manifest(path: str | os.PathLike, manifest: Manifest) -> None:
    """Replace a checkpoint's manifest in one step (a reader sees the old one or the new one)."""
    write_atomically(Path(path) / MANIFEST, manifest.to_json())


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Replace a text file in one step: a write that fails (a full disk) leaves the old file whole."""
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:   # no half-written .tmp left beside it
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def load_tokenizer(folder: str | os.PathLike, name: str):
    """The tokenizer in `folder` (no code of its own run), or a ValueError starting with `name`:
    a damaged or hand-edited tokenizer file is named, not met as a KeyError's traceback."""
    try:
        return AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ValueError(f"{name}: the tokenizer (tokenizer.json, tokenizer_config.json) cannot be read: "
                         f"{type(exc).__name__}: {exc}") from None


def load_encoder(folder: str | os.PathLike, advice: str = "", exact: bool = False):
    """The Hugging Face encoder in `folder` (safetensors only, no code of its own run), or a
    ValueError naming what is wrong: unreadable, damaged, or weights missing or of another shape
    than its config.json says (which transformers would fill with random values, or raise on);
    with `exact`, weights it has no place for too but a pooler's, never read (transformers drops
    them: a config.json of fewer layers read a deeper encoder's first ones). A base folder may
    hold a pre-training head; a checkpoint's encoder is saved as it was loaded."""
    folder = Path(folder)
    try:
        with _no_progress_bar():
            encoder, loaded = AutoModel.from_pretrained(folder, use_safetensors=True, add_pooling_layer=False,
                                                        trust_remote_code=False, output_loading_info=True,
                                                        ignore_mismatched_sizes=True)
    except SafetensorError as exc:
        raise ValueError(f"{folder / ENCODER_FILES[2]}: damaged ({exc}){advice}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, StrictDataclassError) as exc:
        raise ValueError(f"{folder}: the encoder (config.json, {ENCODER_FILES[2]}) cannot be read: "
                         f"{type(exc).__name__}: {exc}") from None
    wrong = sorted(loaded["missing_keys"]) + sorted(str(k[0] if isinstance(k, tuple) else k)
                                                    for k in loaded["mismatched_keys"])
    if wrong:
        raise ValueError(f"{folder / ENCODER_FILES[2]}: not the encoder config.json describes ({len(wrong)} weights "
                         f"missing or of another shape, e.g. {wrong[0]}){advice}")
    extra = sorted(k for k in loaded["unexpected_keys"] if not k.startswith("pooler.")) if exact else []
    if extra:
        raise ValueError(f"{folder / ENCODER_FILES[2]}: not the encoder config.json describes ({len(extra)} weights "
                         f"it has no place for, e.g. {extra[0]}){advice}")
    return encoder


@contextlib.contextmanager
def _no_progress_bar():
    """transformers draws a bar for reading the weights, a fraction of a second: noise in the
    output of a script that calls load(). The user's setting comes back after."""
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def configured_positions(folder: Path) -> int | None:
    """The positions an encoder's config.json lets a window use (usable_positions), read without
    loading it; None where it does not say them as a whole number (loading the encoder names why).
    A value it leaves out gets no default of the model's class, as AutoConfig would give (a RoBERTa
    config without pad_token_id reads one position more): the loaded encoder is checked again."""
    values = encoder_config(folder)
    if type(values.get("max_position_embeddings")) is not int \
            or type(values.get("pad_token_id")) not in (int, type(None)):   # 1.5 or NaN gave "509.5 positions"
        return None
    return usable_positions(SimpleNamespace(**values))


def an_export(mark) -> str:
    """An export named by its mark: "a `newsmodel export` of the NER task 'entities'"."""
    return "a `newsmodel export`" + (f" of the NER task {mark['task']!r}" if isinstance(mark, dict) and "task" in mark
                                     else "")


def _export_advice(path: Path) -> str:
    """Where `path` is a `newsmodel export` (its config.json has the mark): what it is and how it loads."""
    if (path / HEADS).is_file():   # a checkpoint that lost its manifest, whose encoder grew from an export
        return ""
    if (mark := export_mark(path)) is None:
        return ""
    return (f"; it is {an_export(mark)}, a standard token classifier: load it with transformers "
            f"(pipeline(\"token-classification\", model=\"{path}\", aggregation_strategy=\"first\", stride=128)), "
            "or give the checkpoint it was exported from")


def load_checkpoint(path: str | os.PathLike, manifest: Manifest | None = None) -> tuple[MultiTaskModel, object, Manifest]:
    """(model, tokenizer, manifest) of the checkpoint folder `path`; `manifest`, its manifest.json where
    already read (not read again)."""
    if not isinstance(path, (str, os.PathLike)):   # None from an unset variable: os.fspath's error names no argument
        raise TypeError(f"the checkpoint path must be a str or os.PathLike, not {type(path).__name__}")
    if not os.fspath(path):   # Path("") is the current folder, which was not what was given
        raise ValueError("the checkpoint path is empty: give the checkpoint's folder")
    path = Path(path).expanduser()   # "~/ckpt" as a shell would read it (where none did: quoted, from Python)
    if not path.exists():   # quoted: a trailing newline ($(cat file)) would break the message in two
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    if path.is_file():   # its manifest.json or weights named, say: "has no manifest.json" would puzzle
        raise FileNotFoundError(f"{path} is a file: give the checkpoint's folder (here {path.parent})")
    if not (path / MANIFEST).is_file():
        raise FileNotFoundError(f"{path} is not a checkpoint: it has no {MANIFEST}" + _export_advice(path))
    manifest = manifest if manifest is not None else Manifest.read(path / MANIFEST)
    missing = [name for name in ENCODER_FILES + (HEADS,) if not (path / name).is_file()]
    if missing:   # without tokenizer.json, transformers would build a 5-token tokenizer and read [UNK]s
        raise ValueError(f"{path} is not a whole checkpoint: {', '.join(missing)} missing; copy it again")
    # Missing, unreadable, not JSON, fields missing or of another type, or code of its own (never
    # run): named, not a traceback. The encoder first: the tokenizer reads its config.json too.
    encoder = load_encoder(path, "; copy the checkpoint again", exact=True)
    tokenizer = load_tokenizer(path, str(path))
    problem = window_problem(manifest.window_length, manifest.window_overlap, usable_positions(encoder.config))
    if problem:   # a hand edit: named here, not met as an index error at the first long text
        raise ValueError(f"{path / MANIFEST}: {problem}")
    try:
        with safe_open(str(path / HEADS), "pt") as file:
            heads, meaning = {k: file.get_tensor(k) for k in file.keys()}, (file.metadata() or {}).get(TRAINED_AS)
    except SafetensorError as exc:
        raise ValueError(f"{path / HEADS}: damaged ({exc}); copy the checkpoint again") from None
    try:
        wrong = contradictions(manifest, encoder, meaning)
    except (ValueError, AttributeError, TypeError):   # metadata that heads_meaning did not write
        raise ValueError(f"{path / HEADS}: damaged (its {TRAINED_AS} metadata cannot be read); copy the checkpoint "
                         "again") from None
    terms = heads["lexicon_idf"].numel() if "lexicon_idf" in heads else 0   # one idf weight a term the heads read
    if len(manifest.lexicon) != terms:   # else met as "heads do not match the manifest's tasks and labels"
        wrong.append(f"lexicon has {len(manifest.lexicon)} terms, but the heads were trained on {terms}")
    # of the count the heads read, but edited: each term's features would feed another term's weights
    wrong += [f"lexicon: {problem}" for problem in unwritable_terms(manifest.lexicon)]
    if manifest.lexicon_sha256 and manifest.lexicon_sha256 != vocabulary_sha256(manifest.lexicon):
        wrong.append("lexicon is not the one training wrote (its sha256 is not lexicon_sha256: terms reordered, "
                     "replaced or edited), and each term's place is a column of the heads' weights; restore the "
                     "file, or train again")
    if wrong:   # a hand edit: rows read as other labels, word shapes dropped, tags read as document labels
        raise ValueError(f"{path / MANIFEST}: {'; '.join(wrong)} (put back what the run wrote)")
    model = MultiTaskModel(encoder, manifest.tasks, shape_input=manifest.shape_input, lexicon_size=len(manifest.lexicon))
    try:
        missing, unexpected = model.load_state_dict(heads, strict=False)
    except RuntimeError as exc:   # a head of another size than the manifest's labels
        raise ValueError(f"{path / HEADS}: heads do not match the manifest's tasks and labels "
                         f"({str(exc).strip().splitlines()[-1].strip()})") from None
    missing = [k for k in missing if not k.startswith("encoder.")]
    if missing or unexpected:
        raise ValueError(f"{path / HEADS}: heads do not match the manifest (missing {missing}, unexpected {unexpected})")
    broken = [k for k, v in model.state_dict().items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:   # a run that diverged: every score NaN, every text read as having nothing to read
        file = ENCODER_FILES[2] if broken[0].startswith("encoder.") else HEADS
        raise ValueError(f"{path / file}: {len(broken)} weights hold NaN or infinity (e.g. {broken[0]}): the run "
                         "that wrote it diverged, or the file is damaged")
    old_terms = read_differently(manifest.lexicon)
    if old_terms:   # no text reads as them now: their features are 0, and the heads' scores are not what was measured
        warnings.warn(f"{path / MANIFEST}: {len(old_terms)} lexicon term(s) were fitted by an earlier version of "
                      f"newsmodel and no text is read as them now ({', '.join(old_terms[:5])}"
                      f"{', ...' if len(old_terms) > 5 else ''}): the document heads read them as absent; train "
                      "again for the scores training measured", stacklevel=2)
    model.eval()
    return model, tokenizer, manifest

