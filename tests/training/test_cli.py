import json

from training.cli import main

GOOD = {"text": "Putin met Trump in Helsinki.", "entities": [{"start": 0, "end": 5, "label": "PER"}],
        "topic": ["summit_diplomacy"], "stance": "neutral"}


def test_bad_records_stop_training_before_any_checkpoint(tmp_path, capsys):
    bad = [GOOD,
           dict(GOOD, entities=[{"start": 20, "end": 80, "label": "LOC"}]),
           dict(GOOD, entities=[{"start": 0, "end": 5, "label": "PER"}, {"start": 2, "end": 9, "label": "PER"}]),
           dict(GOOD, stance="hostile")]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in bad) + "\n{broken\n", encoding="utf-8")
    code = main(["train", "--train", str(path), "--output", str(tmp_path / "ckpt")])
    err = capsys.readouterr().err
    assert code == 2
    for line in (2, 3, 4, 5):
        assert f"{path}:{line}: " in err
    assert f"{path}:1:" not in err
    assert not (tmp_path / "ckpt").exists()


def test_predict_command_writes_json_lines(tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "docs.txt"
    src.write_text('Talks in Geneva.\n{"id": "a7", "text": "Sanctions on Iran."}\n', encoding="utf-8")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--file", str(src), "--jsonl"]) == 0
    rows = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and set(rows[0]) == {"entities", "labels"} and rows[1]["id"] == "a7"


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["predict", "x", "--checkpoint", str(tmp_path / "none")]) == 2
    assert "train one" in capsys.readouterr().err


def test_export_command_writes_a_token_classifier(tiny_checkpoint, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "ner")]) == 0
    config = json.loads((tmp_path / "ner" / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"] and config["id2label"]["1"] == "B-PER"
