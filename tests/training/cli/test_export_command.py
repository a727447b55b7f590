import json

from training.cli import main


def test_export_command_writes_a_token_classifier(tiny_checkpoint, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "ner")]) == 0
    config = json.loads((tmp_path / "ner" / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"] and config["id2label"]["1"] == "B-PER"
