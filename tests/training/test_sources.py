import json

import pytest

from training.cli import main as cli_main
from training.corpus import DataError
from training.sources import Source, merge_schemas
from training.trainer import TrainConfig, read_data

CONLL = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP I-MISC\ncall NN I-NP O\n\n"
NEWS = {"text": "Putin met Trump in Helsinki.", "entities": [{"start": 0, "end": 5, "label": "PER"}],
        "topic": ["summit_diplomacy"], "stance": "neutral"}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ner.conll").write_text(CONLL, encoding="utf-8")
    (tmp_path / "news.jsonl").write_text(json.dumps(NEWS) + "\n", encoding="utf-8")
    (tmp_path / "topics.csv").write_text("text,labels\nOil prices rose,crude;trade\nWheat fell,grain\n", encoding="utf-8")
    return tmp_path


def test_formats_by_extension(files):
    assert Source(str(files / "ner.conll")).resolved_format == "conll"
    assert Source(str(files / "news.jsonl")).resolved_format == "news"
    assert Source(str(files / "topics.csv")).resolved_format == "classification"
    with pytest.raises(ValueError, match="unknown format"):
        Source("x", format="xml")


def test_tasks_from_different_files_in_one_run(files):
    config = TrainConfig(train=[{"path": str(files / "ner.conll")}, str(files / "news.jsonl"),
                                {"path": str(files / "topics.csv"),
                                 "options": {"task": "commodity", "label_field": "labels", "multi": True, "delimiter": ";"}}],
                         output=str(files / "out"))
    schema, train_docs, dev, test, hashes = read_data(config)
    assert schema["entities"]["labels"] == ["PER", "ORG", "LOC", "MISC"]   # news types, CoNLL adds none
    assert schema["commodity"] == {"kind": "multi", "labels": ["crude", "grain", "trade"]}
    assert {"topic", "stance"} <= set(schema) and dev is None and test is None
    assert len(train_docs) == 4 and len(hashes) == 3
    conll_doc = train_docs[0]
    assert conll_doc.spans["entities"][0].label == "ORG" and "topic" not in conll_doc.labels


def test_problems_of_every_file_are_reported_together(files):
    (files / "bad.conll").write_text("EU B-ORG extra\nfoo O\nbar O\n", encoding="utf-8")
    (files / "bad.jsonl").write_text("{broken\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=[str(files / "bad.conll"), str(files / "bad.jsonl")], output="x"))
    assert any("bad.conll:1" in p for p in err.value.problems)
    assert any("bad.jsonl:1" in p for p in err.value.problems)


def test_dev_fraction_holds_out_train_documents(files):
    lines = [dict(NEWS, text=f"Putin met Trump in Helsinki, round {i}.") for i in range(10)]
    (files / "many.jsonl").write_text("\n".join(json.dumps(l) for l in lines) + "\n", encoding="utf-8")
    _, train_docs, dev, _, _ = read_data(TrainConfig(train=str(files / "many.jsonl"), output="x", dev_fraction=0.2))
    assert len(train_docs) == 8 and len(dev) == 2


def test_schema_merge_and_conflicts():
    merged = merge_schemas({"t": {"kind": "single", "labels": ["a"]}}, {"t": {"kind": "single", "labels": ["b", "a"]}})
    assert merged["t"]["labels"] == ["a", "b"]
    with pytest.raises(ValueError, match="single"):
        merge_schemas({"t": {"kind": "single", "labels": ["a"]}}, {"t": {"kind": "multi", "labels": ["a"]}})


def test_toml_config_with_flag_overrides(files, monkeypatch):
    config_file = files / "run.toml"
    config_file.write_text(f"""
epochs = 3
seed = 7
output = "{files / 'ckpt'}"
[[train]]
path = "{files / 'ner.conll'}"
format = "conll"
""", encoding="utf-8")
    captured = {}
    monkeypatch.setattr("training.trainer.train", lambda config, log: captured.setdefault("config", config))
    assert cli_main(["train", "--config", str(config_file), "--epochs", "5"]) == 0
    config = captured["config"]
    assert config.epochs == 5 and config.seed == 7           # the flag wins, the file fills the rest
    assert config.train == [{"path": str(files / "ner.conll"), "format": "conll"}]


def test_unknown_config_setting_is_an_error(files, capsys):
    (files / "bad.toml").write_text('epoch = 3\n[[train]]\npath = "x.jsonl"\n', encoding="utf-8")
    assert cli_main(["train", "--config", str(files / "bad.toml")]) == 2
    assert "unknown setting(s) epoch" in capsys.readouterr().err
