import json
import errno
import os
import re
import shutil
from pathlib import Path

import pytest
import torch

import inference.checkpoint as checkpoint
from inference.checkpoint import configured_positions, load_checkpoint, save_checkpoint


def test_round_trip_keeps_weights_and_manifest(tiny_checkpoint, tmp_path):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    again = save_checkpoint(model, tokenizer, manifest, tmp_path / "copy")
    model2, _, manifest2 = load_checkpoint(again)
    assert manifest2 == manifest
    for (k, v), (k2, v2) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    assert not list(again.glob("*.bin")) and not list(again.glob("*.pt"))  # safetensors only


def test_interrupted_save_leaves_the_previous_checkpoint(tiny_checkpoint, tmp_path, monkeypatch):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    target = save_checkpoint(model, tokenizer, manifest, tmp_path / "ckpt")
    before = (target / "heads.safetensors").read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-save")
    monkeypatch.setattr(checkpoint, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(model, tokenizer, manifest, target)
    assert (target / "heads.safetensors").read_bytes() == before
    load_checkpoint(target)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary left behind


def test_the_next_save_clears_what_a_save_killed_outright_left(tiny_checkpoint, tmp_path, monkeypatch):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    target = save_checkpoint(model, tokenizer, manifest, tmp_path / "ckpt")
    good = (target / "heads.safetensors").read_bytes()
    # a kill between the save's two renames: the previous checkpoint moved aside, the new one half-written
    target.rename(tmp_path / ".ckpt.old-0123456789ab")
    (tmp_path / ".ckpt.tmp-ba9876543210").mkdir()
    (tmp_path / ".ckpt.tmp-notours").mkdir()   # not a name a save gives: left alone

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(checkpoint, "save_file", crash)
    with pytest.raises(OSError):
        save_checkpoint(model, tokenizer, manifest, target)
    assert (target / "heads.safetensors").read_bytes() == good   # the moved-aside one is back in place
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ckpt.tmp-notours", "ckpt"]
    monkeypatch.undo()
    (tmp_path / ".ckpt.old-aaaaaaaaaaaa").mkdir()   # beside a checkpoint in place, an old one is only a leftover
    save_checkpoint(model, tokenizer, manifest, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ckpt.tmp-notours", "ckpt"]


@pytest.mark.parametrize("umask,mode", [(0o022, 0o755), (0o027, 0o750)])
def test_a_saved_folder_has_the_mode_a_plain_mkdir_would_give_it(tiny_checkpoint, tmp_path, umask, mode):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    before = os.umask(umask)
    try:
        target = save_checkpoint(model, tokenizer, manifest, tmp_path / "shared")
    finally:
        os.umask(before)
    assert target.stat().st_mode & 0o777 == mode   # a model server running as another user can read it
    assert {file.name: file.stat().st_mode & 0o777 for file in target.iterdir()} == \
        {file.name: mode & 0o666 for file in target.iterdir()}   # and every file in it, the weights too


def test_a_saved_folder_keeps_a_shared_folders_group(tiny_checkpoint, tmp_path):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    (tmp_path / "team").mkdir()
    (tmp_path / "team").chmod(0o2775)   # setgid: what is made inside takes the folder's group
    assert save_checkpoint(model, tokenizer, manifest, tmp_path / "team" / "news").stat().st_mode & 0o2000


@pytest.mark.parametrize("failure,raised", [(OSError(errno.EBUSY, os.strerror(errno.EBUSY)), OSError),
                                            (KeyboardInterrupt(), KeyboardInterrupt)])
def test_a_folder_that_cannot_be_swapped_keeps_the_previous_checkpoint(tiny_checkpoint, tmp_path, monkeypatch,
                                                                      failure, raised):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    target = save_checkpoint(model, tokenizer, manifest, tmp_path / "ckpt")
    rename = Path.rename

    def interrupted(self, to):   # between setting the old one aside and renaming the new one in
        if self.name.startswith(".ckpt.tmp-"):
            raise failure
        return rename(self, to)
    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(raised):
        save_checkpoint(model, tokenizer, manifest, target)
    monkeypatch.undo()
    load_checkpoint(target)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_a_mount_point_is_refused_before_anything_is_written(tiny_checkpoint, tmp_path, monkeypatch):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    (tmp_path / "volume").mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda p: str(p).endswith("volume"))
    with pytest.raises(ValueError, match="is a mount point, which a save cannot replace"):
        save_checkpoint(model, tokenizer, manifest, tmp_path / "volume")
    assert [p.name for p in tmp_path.iterdir()] == ["volume"] and not any((tmp_path / "volume").iterdir())


def test_a_save_replaces_a_checkpoint_or_an_empty_folder_but_nothing_else(tiny_checkpoint, tmp_path):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    (tmp_path / "empty").mkdir()
    save_checkpoint(model, tokenizer, manifest, save_checkpoint(model, tokenizer, manifest, tmp_path / "empty"))
    assert (tmp_path / "empty" / "manifest.json").is_file()   # then replaced by the second save
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me", encoding="utf-8")
    (tmp_path / "file").write_text("keep me too", encoding="utf-8")
    for target in ("notes", "file"):
        with pytest.raises(ValueError, match="exists and is not a checkpoint"):
            save_checkpoint(model, tokenizer, manifest, tmp_path / target)
    assert (tmp_path / "notes" / "todo.txt").read_text(encoding="utf-8") == "keep me"
    assert (tmp_path / "file").read_text(encoding="utf-8") == "keep me too"


def test_a_save_refuses_a_checkpoint_holding_a_folder_and_leaves_it_whole(tiny_checkpoint, tmp_path):
    # a save writes files alone: a folder inside (an export written there) would go with the old checkpoint
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    target = save_checkpoint(model, tokenizer, manifest, tmp_path / "news")
    (target / "ner").mkdir()
    (target / "ner" / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"news is a checkpoint, but replacing it would delete the folder\(s\) it now "
                                         r"holds \(ner\): move them out"):
        save_checkpoint(model, tokenizer, manifest, target)
    assert (target / "ner" / "config.json").is_file() and (target / "manifest.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["news"]


def test_a_save_inside_a_checkpoint_is_refused_before_writing(tiny_checkpoint, tmp_path):
    """Before: `train --output news/v2` saved there, and the next save of news was refused for the
    folder it then held (as export, evaluate --plots and predict --html refuse to write there)."""
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    target = save_checkpoint(model, tokenizer, manifest, tmp_path / "news")
    for inside in (target / "v2", target / "runs" / "v2"):
        with pytest.raises(ValueError, match=rf"v2 is inside the checkpoint {re.escape(str(target))}, which a later "
                                             r"save \(train --output, --init-from\) could not replace"):
            save_checkpoint(model, tokenizer, manifest, inside)
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in tiny_checkpoint.iterdir())


def test_a_save_through_a_symlink_replaces_what_it_points_to_and_keeps_the_link(tiny_checkpoint, tmp_path):
    model, tokenizer, manifest = load_checkpoint(tiny_checkpoint)
    target = save_checkpoint(model, tokenizer, manifest, tmp_path / "store" / "v1")
    (tmp_path / "current").symlink_to(target, target_is_directory=True)
    manifest.metrics = {"saved": "through the link"}
    save_checkpoint(model, tokenizer, manifest, tmp_path / "current")
    assert (tmp_path / "current").is_symlink() and load_checkpoint(target)[2].metrics == manifest.metrics
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["v1"]   # nothing left beside it


def test_directory_without_manifest_is_not_a_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        load_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"^{re.escape(repr(str(tmp_path / 'nowhere')))} does not exist$"):
        load_checkpoint(tmp_path / "nowhere")


def test_a_checkpoint_path_with_a_leading_tilde_is_in_the_home_folder(tiny_checkpoint, tmp_path, monkeypatch):
    """Before: load("~/ckpt") looked for a folder named "~" where Python ran: "~/ckpt does not exist",
    where pandas and transformers read it as the home folder."""
    from inference import load
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    assert load_checkpoint("~/ckpt")[2].tasks == load_checkpoint(tiny_checkpoint)[2].tasks
    assert load("~/ckpt", device="cpu").manifest.tasks == load_checkpoint(tiny_checkpoint)[2].tasks


def test_a_missing_checkpoint_path_ending_in_a_newline_is_named_on_one_line(tmp_path):
    """Before: load("$(cat file)"'s path, a newline kept) said "/x/ckpt\n does not exist", on two lines."""
    with pytest.raises(FileNotFoundError) as error:
        load_checkpoint(f"{tmp_path}/ckpt\n")
    assert str(error.value) == f"'{tmp_path}/ckpt\\n' does not exist"


def test_an_export_is_named_as_one_with_how_it_loads(tiny_checkpoint, tmp_path):
    """Before: a `newsmodel export` folder given to load (or predict --checkpoint) was "not a
    checkpoint: it has no manifest.json", which did not say what it was or how to read it."""
    from inference import load
    from inference.export import export_ner
    exported = export_ner(load(tiny_checkpoint), "entities", tmp_path / "ner")
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"{exported} is not a checkpoint: it has no manifest.json; it is a `newsmodel export` of the NER task "
            f"'entities', a standard token classifier: load it with transformers (pipeline(\"token-classification\", "
            f"model=\"{exported}\", aggregation_strategy=\"first\", stride=128)), or give the checkpoint it was "
            "exported from")):
        load_checkpoint(exported)
    (tmp_path / "mine").mkdir()   # a folder of one's own with a config.json: no advice
    (tmp_path / "mine" / "config.json").write_text('["not an object"]', encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="it has no manifest.json$"):
        load_checkpoint(tmp_path / "mine")
    grown = tmp_path / "grown"   # a checkpoint grown from the export that lost its manifest: no export
    shutil.copytree(tiny_checkpoint, grown)
    (grown / "manifest.json").unlink()
    shutil.copy(exported / "config.json", grown / "config.json")
    with pytest.raises(FileNotFoundError, match="it has no manifest.json$"):
        load_checkpoint(grown)


def test_a_file_of_a_checkpoint_is_named_as_a_file_not_a_folder_without_a_manifest(tiny_checkpoint):
    """Before: "<path>/manifest.json is not a checkpoint: it has no manifest.json"."""
    with pytest.raises(FileNotFoundError, match=f"manifest.json is a file: give the checkpoint's folder "
                                                f"\\(here {re.escape(str(tiny_checkpoint))}\\)$"):
        load_checkpoint(tiny_checkpoint / "manifest.json")


def test_a_path_of_another_type_is_named_as_the_checkpoint_path():
    """Before: load(None) (an unset variable) raised os.fspath's "expected str, bytes or os.PathLike
    object, not NoneType", naming no argument."""
    for wrong, name in ((None, "NoneType"), (3, "int"), (b"checkpoints/news", "bytes")):
        with pytest.raises(TypeError, match=f"^the checkpoint path must be a str or os.PathLike, not {name}$"):
            load_checkpoint(wrong)


def _shrink_a_weight(weights_path) -> None:
    from safetensors.torch import load_file, save_file
    weights = load_file(str(weights_path))
    name = next(k for k in sorted(weights) if k.endswith("LayerNorm.bias"))
    weights[name] = torch.zeros(3)
    save_file(weights, str(weights_path), metadata={"format": "pt"})


def _a_nan_in(weights_path, name: str) -> None:
    from safetensors.torch import load_file, save_file
    weights = load_file(str(weights_path))
    weights[name].view(-1)[0] = float("nan")
    save_file(weights, str(weights_path), metadata={"format": "pt"})


def _one_label_less(manifest_path) -> str:
    import json
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    task = next(t for t in manifest["tasks"] if t["kind"] != "ner")
    task["labels"] = task["labels"][:-1]
    return json.dumps(manifest)


def _a_window_beyond_the_encoder(manifest_path) -> str:
    import json
    return json.dumps(json.loads(manifest_path.read_text(encoding="utf-8")) | {"window_length": 100_000})


def _fewer_layers(config_path) -> str:
    import json
    return json.dumps(json.loads(config_path.read_text(encoding="utf-8")) | {"num_hidden_layers": 0})


def _a_negative_overlap(manifest_path) -> str:
    import json
    return json.dumps(json.loads(manifest_path.read_text(encoding="utf-8")) | {"window_overlap": -5})


def _heads_metadata(path, meaning: str) -> None:
    from safetensors.torch import load_file, save_file
    save_file(load_file(str(path)), str(path), metadata={checkpoint.TRAINED_AS: meaning})


@pytest.mark.parametrize("damage, message", [
    (lambda ckpt: (ckpt / "manifest.json").write_text('{"tasks": [', encoding="utf-8"),
     r"manifest.json: not valid JSON \(Expecting value at line 1, column 12\)"),
    (lambda ckpt: (ckpt / "manifest.json").write_text("[" * 100_000, encoding="utf-8"),   # before: a traceback
     r"manifest.json: not valid JSON \(nested too deeply\)"),
    (lambda ckpt: (ckpt / "tokenizer_config.json").write_text("[" * 100_000, encoding="utf-8"),   # before: a traceback
     r"ckpt: the tokenizer \(tokenizer.json, tokenizer_config.json\) cannot be read: RecursionError"),
    (lambda ckpt: (ckpt / "manifest.json").write_text(
        (ckpt / "manifest.json").read_text(encoding="utf-8").replace('"labels"', '"tags"', 1), encoding="utf-8"),
     r"manifest.json: not a manifest this version reads: TypeError .*'tags'"),
    (lambda ckpt: (ckpt / "manifest.json").write_text("[]", encoding="utf-8"),
     r"manifest.json: not a checkpoint manifest \(no format_version\)"),
    (lambda ckpt: (ckpt / "heads.safetensors").write_bytes((ckpt / "heads.safetensors").read_bytes()[:100]),
     r"heads.safetensors: damaged"),
    (lambda ckpt: (ckpt / "model.safetensors").write_bytes((ckpt / "model.safetensors").read_bytes()[:100]),
     r"model.safetensors: damaged"),
    (lambda ckpt: (ckpt / "model.safetensors").unlink(), r"not a whole checkpoint: model.safetensors missing"),
    (lambda ckpt: (ckpt / "tokenizer.json").unlink(), r"not a whole checkpoint: tokenizer.json missing"),
    (lambda ckpt: (ckpt / "config.json").write_text("{", encoding="utf-8"), r"cannot be read"),
    (lambda ckpt: (ckpt / "config.json").write_text("[1]", encoding="utf-8"),   # before: blamed on the tokenizer
     r"ckpt: the encoder \(config.json, model.safetensors\) cannot be read"),
    (lambda ckpt: (ckpt / "config.json").write_text('{"model_type": "bert", "hidden_size": "x"}', encoding="utf-8"),
     r"ckpt: the encoder \(config.json, model.safetensors\) cannot be read: .*'hidden_size'"),   # before: a traceback
    (lambda ckpt: (ckpt / "tokenizer_config.json").write_text("[1]", encoding="utf-8"),   # before: a traceback
     r"ckpt: the tokenizer \(tokenizer.json, tokenizer_config.json\) cannot be read: AttributeError"),
    (lambda ckpt: (ckpt / "tokenizer.json").write_bytes((ckpt / "tokenizer.json").read_bytes()[:1000]),
     r"ckpt: the tokenizer \(tokenizer.json, tokenizer_config.json\) cannot be read"),
    (lambda ckpt: (ckpt / "tokenizer.json").write_text('{"version": "1.0"}', encoding="utf-8"),
     r"ckpt: the tokenizer \(tokenizer.json, tokenizer_config.json\) cannot be read: KeyError"),
    (lambda ckpt: shutil.copy(ckpt / "heads.safetensors", ckpt / "model.safetensors"),
     r"model.safetensors: not the encoder config.json describes \(\d+ weights missing"),
    (lambda ckpt: _shrink_a_weight(ckpt / "model.safetensors"),
     r"model.safetensors: not the encoder config.json describes \(1 weights missing or of another shape"),
    (lambda ckpt: _a_nan_in(ckpt / "heads.safetensors", "heads.stance.bias"),   # before: stance never decided
     r"heads.safetensors: 1 weights hold NaN or infinity \(e.g. heads.stance.bias\)"),
    (lambda ckpt: _a_nan_in(ckpt / "model.safetensors", "embeddings.word_embeddings.weight"),   # before: no output
     r"model.safetensors: 1 weights hold NaN or infinity \(e.g. encoder.embeddings.word_embeddings.weight\)"),
    (lambda ckpt: (ckpt / "manifest.json").write_text(_one_label_less(ckpt / "manifest.json"), encoding="utf-8"),
     r"manifest.json: task 'topic': labels \[.*\], but its head was trained with \["),
    (lambda ckpt: (ckpt / "manifest.json").write_text(_a_window_beyond_the_encoder(ckpt / "manifest.json"),
                                                      encoding="utf-8"),
     r"manifest.json: window length 100000: it must .* fit the encoder's \d+ positions"),
    (lambda ckpt: (ckpt / "manifest.json").write_text(_a_negative_overlap(ckpt / "manifest.json"), encoding="utf-8"),
     r"manifest.json: window overlap -5: it must be 0 or more"),   # before: loaded, and windows left gaps unlabelled
    (lambda ckpt: (ckpt / "config.json").write_text(_fewer_layers(ckpt / "config.json"), encoding="utf-8"),
     r"model.safetensors: not the encoder config.json describes \(\d+ weights it has no place for"),   # before: its layer dropped
    (lambda ckpt: _heads_metadata(ckpt / "heads.safetensors", "{oops"),   # before: a bare JSONDecodeError
     r"heads.safetensors: damaged \(its newsmodel metadata cannot be read\)"),
], ids=["manifest-json", "manifest-too-deep", "tokenizer-config-too-deep", "manifest-field", "manifest-not-one", "heads", "encoder", "encoder-missing",
        "tokenizer-missing", "config-broken", "config-not-one", "config-field", "tokenizer-config-not-one",
        "tokenizer-broken", "tokenizer-fields", "encoder-not-one",
        "encoder-shape", "heads-nan", "encoder-nan", "manifest-labels", "manifest-window", "manifest-overlap",
        "encoder-layers", "heads-metadata"])
def test_a_damaged_checkpoint_is_refused_naming_the_file(tiny_checkpoint, tmp_path, damage, message):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    damage(ckpt)
    with pytest.raises(ValueError, match=message):
        load_checkpoint(ckpt)


def test_a_checkpoint_without_its_tokenizer_settings_is_refused_naming_the_file(any_tiny_checkpoint, tmp_path):
    """Before: it loaded, transformers rebuilding the tokenizer from config.json's model type, and
    e5-small's SentencePiece vocabulary then failed every predict with a bare "WordPiece error:
    Missing [UNK] token from the vocabulary", naming no file."""
    ckpt = tmp_path / "ckpt"
    shutil.copytree(any_tiny_checkpoint, ckpt)
    (ckpt / "tokenizer_config.json").unlink()
    with pytest.raises(ValueError, match=r"ckpt is not a whole checkpoint: tokenizer_config.json missing"):
        load_checkpoint(ckpt)


def test_code_in_a_checkpoint_folder_is_never_run(tiny_checkpoint, tmp_path, monkeypatch):
    import json
    import shutil
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    marker = tmp_path / "ran"
    (ckpt / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    config |= {"model_type": "evilbert", "auto_map": {"AutoConfig": "evil.Config", "AutoModel": "evil.Model"}}
    (ckpt / "config.json").write_text(json.dumps(config), encoding="utf-8")
    monkeypatch.setattr("builtins.input", lambda *a: "y")   # were a prompt to ask, it would be answered yes
    with pytest.raises(ValueError, match="cannot be read"):
        load_checkpoint(ckpt)
    assert not marker.exists()


def test_shape_input_widens_token_types_and_survives_a_round_trip(tiny_base, news_tasks, tmp_path):
    from transformers import AutoModel, AutoTokenizer
    from inference.tokenization import NUM_SHAPE_IDS
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    model = MultiTaskModel(AutoModel.from_pretrained(tiny_base), news_tasks, shape_input=True)
    assert model.encoder.embeddings.token_type_embeddings.num_embeddings == NUM_SHAPE_IDS
    manifest = Manifest(tasks=news_tasks, base_model="tiny", shape_input=True)
    path = save_checkpoint(model, AutoTokenizer.from_pretrained(tiny_base), manifest, tmp_path / "c")
    loaded, _, _ = load_checkpoint(path)
    assert loaded.shape_input
    assert torch.equal(loaded.encoder.embeddings.token_type_embeddings.weight,
                       model.encoder.embeddings.token_type_embeddings.weight)


def test_an_output_under_a_file_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ValueError, match=f"cannot be made: {re.escape(str(tmp_path / 'notes.txt'))} is a file"):
        checkpoint.check_replaceable(tmp_path / "notes.txt" / "news")


def test_loading_draws_no_progress_bar_and_leaves_the_users_setting(tiny_checkpoint, capfd):
    """Before: transformers' "Loading weights" bar on stderr at every load(), in a user's script."""
    from transformers.utils import logging as hf_logging
    for enabled in (True, False):
        (hf_logging.enable_progress_bar if enabled else hf_logging.disable_progress_bar)()
        load_checkpoint(tiny_checkpoint)
        assert "Loading weights" not in capfd.readouterr().err
        assert hf_logging.is_progress_bar_enabled() is enabled
    hf_logging.enable_progress_bar()


def _edited(ckpt, edit) -> None:
    import json
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    edit(manifest, {t["name"]: t for t in manifest["tasks"]})
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("edit, message", [
    (lambda m, t: t["stance"]["labels"].reverse(),
     r"task 'stance': labels \["),   # before: each score read as another label's
    (lambda m, t: t["topic"]["labels"].__setitem__(0, "renamed"), r"task 'topic': labels \[\"renamed\""),
    (lambda m, t: t["entities"]["labels"].sort(), r"task 'entities': labels \["),   # PER's rows read as LOC's
    (lambda m, t: t["entities"].update(kind="single"),
     r"task 'entities': kind \"single\", but its head was trained with \"ner\""),   # before: tags as document labels
    (lambda m, t: t["topic"].update(kind="single"), r"task 'topic': kind \"single\""),
    (lambda m, t: m.update(shape_input=True), r"shape_input is true, but the encoder was trained with false"),
], ids=["order", "renamed", "tags", "ner-as-single", "multi-as-single", "shape-input"])
def test_a_manifest_edited_against_its_weights_is_refused_naming_the_field(tiny_checkpoint, tmp_path, edit, message):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    _edited(ckpt, edit)
    with pytest.raises(ValueError, match=rf"ckpt/manifest.json: {message}"):
        load_checkpoint(ckpt)


def test_a_lexicon_edited_to_another_size_is_refused_naming_the_field(tiny_base, tiny_checkpoint, news_tasks,
                                                                     tmp_path):
    """Before: "heads.safetensors: heads do not match the manifest's tasks and labels (size mismatch for
    lexical.topic ...)" for a term taken out of the manifest's lexicon; "missing ['lexicon_idf']" for one added."""
    import dataclasses
    from transformers import AutoModel, AutoTokenizer
    from inference.checkpoint import save_checkpoint
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    tasks = [dataclasses.replace(t, lexical=t.kind != "ner") for t in news_tasks]
    network = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), tasks, lexicon_size=3)
    save_checkpoint(network, AutoTokenizer.from_pretrained(tiny_base),
                    Manifest(tasks=tasks, base_model="tiny", window_length=32, window_overlap=8,
                             lexicon=["geneva", "round", "talks"]), tmp_path / "lexical")
    _edited(tmp_path / "lexical", lambda m, t: m["lexicon"].pop())
    with pytest.raises(ValueError, match=r"lexical/manifest.json: lexicon has 2 terms, but the heads were trained on 3 "
                                         r"\(put back what the run wrote\)$"):
        load_checkpoint(tmp_path / "lexical")
    shutil.copytree(tiny_checkpoint, tmp_path / "plain")
    _edited(tmp_path / "plain", lambda m, t: m.update(lexicon=["talks"]))
    with pytest.raises(ValueError, match=r"plain/manifest.json: lexicon has 1 terms, but the heads were trained on 0 "):
        load_checkpoint(tmp_path / "plain")


def _lexical_checkpoint(tiny_base, news_tasks, path, lexicon, sha256=True):
    """A checkpoint whose document heads read `lexicon`, with its lexicon_sha256 as training records it
    (`sha256`), or none, as a checkpoint written before."""
    import dataclasses
    from transformers import AutoModel, AutoTokenizer
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    tasks = [dataclasses.replace(t, lexical=t.kind != "ner") for t in news_tasks]
    network = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), tasks,
                             lexicon_size=len(lexicon))
    manifest = Manifest(tasks=tasks, base_model="tiny", window_length=32, window_overlap=8, lexicon=lexicon)
    if sha256:
        from inference.lexical import vocabulary_sha256
        manifest.lexicon_sha256 = vocabulary_sha256(lexicon)
    return save_checkpoint(network, AutoTokenizer.from_pretrained(tiny_base), manifest, path)


@pytest.mark.parametrize("edit", [list.reverse, lambda terms: terms.__setitem__(1, "rounds")], ids=["reordered", "replaced"])
def test_a_lexicon_edited_keeping_its_size_is_refused_naming_the_file(tiny_base, news_tasks, tmp_path, edit):
    """Before: it loaded, and each term's features fed another term's weights, silently."""
    path = _lexical_checkpoint(tiny_base, news_tasks, tmp_path / "lexical", ["geneva", "round", "talks"])
    load_checkpoint(path)
    _edited(path, lambda m, t: edit(m["lexicon"]))
    with pytest.raises(ValueError, match=r"lexical/manifest.json: lexicon is not the one training wrote \(its sha256 "
                                         r"is not lexicon_sha256: .*restore the file, or train again"):
        load_checkpoint(path)


def test_a_lexicon_written_before_its_sha256_loads_but_one_no_run_writes_is_refused(tiny_base, news_tasks, tmp_path):
    """Training writes each term once, a word of two or more letters or digits: a term made blank or
    listed twice is a hand edit (before: loaded, its column never read)."""
    path = _lexical_checkpoint(tiny_base, news_tasks, tmp_path / "older", ["geneva", "round", "talks"], sha256=False)
    _edited(path, lambda m, t: m["lexicon"].reverse())
    load_checkpoint(path)   # nothing to tell the order by
    _edited(path, lambda m, t: m["lexicon"].__setitem__(0, "round"))
    with pytest.raises(ValueError, match=r"older/manifest.json: lexicon: \"round\" is listed twice \(put back"):
        load_checkpoint(path)
    _edited(path, lambda m, t: m["lexicon"].__setitem__(0, " "))
    with pytest.raises(ValueError, match=r"older/manifest.json: lexicon: \" \" is not a word of two or more letters"):
        load_checkpoint(path)


def test_lexicon_terms_no_text_is_read_as_now_are_warned_of_once_by_name(tiny_base, news_tasks, tmp_path):
    """A term fitted by an earlier reading of the text (full-width "ｎａｔｏ", before the compatibility
    forms; "ＮＡＴＯ" is read "nato" now): before, its feature was always 0, silently."""
    import warnings
    path = _lexical_checkpoint(tiny_base, news_tasks, tmp_path / "older", ["geneva", "talks", "ｎａｔｏ"], sha256=False)
    with pytest.warns(UserWarning, match=r"older/manifest.json: 1 lexicon term\(s\) were fitted by an earlier version "
                                         r"of newsmodel and no text is read as them now \(ｎａｔｏ\)"):
        load_checkpoint(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_checkpoint(_lexical_checkpoint(tiny_base, news_tasks, tmp_path / "now", ["geneva", "nato", "talks"]))


def test_a_checkpoint_saved_without_the_heads_meaning_loads_and_its_shape_input_is_checked(tiny_base, news_tasks,
                                                                                           tmp_path):
    """Checkpoints saved before heads.safetensors recorded what its weights mean: the word shapes
    dropped from an encoder trained with them (every token read as type 0) are still refused."""
    from safetensors.torch import load_file, save_file
    from transformers import AutoModel, AutoTokenizer
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    model = MultiTaskModel(AutoModel.from_pretrained(tiny_base), news_tasks, shape_input=True)
    path = save_checkpoint(model, AutoTokenizer.from_pretrained(tiny_base),
                           Manifest(tasks=news_tasks, base_model="tiny", shape_input=True), tmp_path / "c")
    save_file(load_file(str(path / "heads.safetensors")), str(path / "heads.safetensors"))   # no metadata
    load_checkpoint(path)
    _edited(path, lambda m, t: (m.update(shape_input=False), t["stance"]["labels"].reverse()))
    with pytest.raises(ValueError, match=r"manifest.json: shape_input is false, but the encoder was trained with "
                                         r"true \(put back"):   # the labels' order, alas, nothing can tell
        load_checkpoint(path)


@pytest.mark.parametrize("values, positions", [
    ({"model_type": "bert", "max_position_embeddings": 512}, 512),
    ({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": 1}, 512),
    ({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": None}, 513),
    ({"model_type": "bert", "max_position_embeddings": 512.0}, None),
    ({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": 1.5}, None),
    ({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": float("nan")}, None),
    ({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": True}, None),
])
def test_configured_positions_reads_whole_numbers_alone(values, positions, tmp_path):
    """Before: a RoBERTa pad_token_id of 1.5 gave "509.5 positions", and NaN refused every window
    length as not fitting "nan positions", before the encoder load could name the bad config."""
    (tmp_path / "config.json").write_text(json.dumps(values), encoding="utf-8")
    assert configured_positions(tmp_path) == positions
