import json

from training.cli import main


def test_predict_command_writes_json_lines(tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "docs.txt"
    src.write_text('Talks in Geneva.\n{"id": "a7", "text": "Sanctions on Iran."}\n', encoding="utf-8")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--file", str(src), "--jsonl"]) == 0
    rows = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and set(rows[0]) == {"entities", "labels"} and rows[1]["id"] == "a7"


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["predict", "x", "--checkpoint", str(tmp_path / "none")]) == 2
    assert "train one" in capsys.readouterr().err
