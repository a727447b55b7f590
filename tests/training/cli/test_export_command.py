import json
import os

import pytest

from training.cli import main


def test_export_command_writes_a_token_classifier(tiny_checkpoint, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "ner")]) == 0
    config = json.loads((tmp_path / "ner" / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"] and config["id2label"]["1"] == "B-PER"


def test_export_command_refuses_a_folder_it_did_not_write_before_loading(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import training.cli.export as command
    monkeypatch.setattr(command, "open_checkpoint", lambda *a, **k: pytest.fail("loaded before the output was checked"))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me", encoding="utf-8")
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "notes")]) == 2
    assert "notes exists and is not an earlier export" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "notes").iterdir()] == ["todo.txt"]


def test_export_command_names_the_checkpoint_and_its_tasks_when_one_is_unknown(tiny_checkpoint, tmp_path, capsys,
                                                                              monkeypatch):
    """Before: "no task 'nope' in this checkpoint", naming no checkpoint (the default one is not on the command line)."""
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--task", "nope", "--output", str(tmp_path / "n")]) == 2
    assert f"error: {tiny_checkpoint}: no task 'nope' in this checkpoint (tasks: entities, topic, stance)" \
        in capsys.readouterr().err
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", str(tiny_checkpoint))
    assert main(["export", "--task", "topic", "--output", str(tmp_path / "n")]) == 2
    assert f"error: {tiny_checkpoint}: task 'topic' is 'multi'; only ner tasks export" in capsys.readouterr().err
    assert not (tmp_path / "n").exists()


def test_an_empty_output_is_refused_not_taken_for_the_current_folder(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)   # empty: an export could replace it
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", ""]) == 2
    assert "error: the output path is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", "."]) == 2   # before: the folder
    assert "error: --output .: that is the folder this command runs in" in capsys.readouterr().err   # renamed away
    assert list(tmp_path.iterdir()) == [] and os.getcwd() == str(tmp_path)


def test_a_full_disk_is_one_error_line_and_keeps_the_earlier_export(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import transformers.modeling_utils
    from safetensors import SafetensorError
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "ner")]) == 0
    before = {f.name: f.read_bytes() for f in (tmp_path / "ner").iterdir()}

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", full)
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "ner")]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'ner'} could not be written: Error while serializing: "
                                       "I/O error: No space left on device (os error 28)\n")
    assert {f.name: f.read_bytes() for f in (tmp_path / "ner").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["ner"]   # no temporary folder left


def test_an_output_inside_the_checkpoint_is_refused_before_loading(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import shutil
    import training.cli.export as command
    checkpoint = shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    monkeypatch.setattr(command, "open_checkpoint", lambda *a, **k: pytest.fail("loaded before the output was checked"))
    for exported, output in ((checkpoint, checkpoint / "onnx"), (tiny_checkpoint, checkpoint / "exports" / "ner")):
        assert main(["export", "--checkpoint", str(exported), "--output", str(output)]) == 2
        assert f"error: --output {output} is inside the checkpoint {checkpoint}, which a later save" \
            in capsys.readouterr().err   # before: the path alone, naming no option
    assert sorted(p.name for p in checkpoint.iterdir() if p.is_dir()) == []   # its next save would be refused


def test_a_tokenizer_that_cannot_be_written_is_one_error_line_and_keeps_the_earlier_export(tiny_checkpoint, tmp_path,
                                                                                           capsys, monkeypatch):
    """The tokenizers library raises a bare Exception ("No space left on device (os error 28)"),
    not an OSError: before, a traceback that named no folder."""
    from pathlib import Path
    from transformers.tokenization_utils_tokenizers import TokenizersBackend
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "ner")]) == 0
    before = {f.name: f.read_bytes() for f in (tmp_path / "ner").iterdir()}
    original = TokenizersBackend._save_pretrained

    def blocked(self, save_directory, *args, **kwargs):   # the Rust writer's own error, as on a full disk
        (Path(save_directory) / "tokenizer.json").mkdir()
        return original(self, save_directory, *args, **kwargs)
    monkeypatch.setattr(TokenizersBackend, "_save_pretrained", blocked)
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "ner")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'ner'} could not be written: Is a directory (os error 21)\n"
    assert {f.name: f.read_bytes() for f in (tmp_path / "ner").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["ner"]   # no temporary folder left
