import json

from training.cli import main


def test_evaluate_scores_a_file_of_any_format_as_one_json_line(tiny_checkpoint, tmp_path, capsys):
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n",
                    encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--format", "conll",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    metrics = json.loads(out[0])
    assert set(metrics) == {"entities"} and metrics["entities"]["documents"] == 1
    assert 0.0 <= metrics["entities"]["f1"] <= 1.0
