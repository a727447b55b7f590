import json
import shutil

from inference import load
from inference.runtimes import available
from training.cli import main


def test_calibrate_refits_the_manifest_in_place_with_the_training_names_and_remeasures_runtimes(tiny_checkpoint, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    for task in manifest["tasks"]:   # as an older checkpoint calibrated by one temperature
        task["temperature"] = 2.0
    manifest["runtimes"] = {"torch": {"dev": {"entities": 0.1, "topic": 0.7}, "words_per_second": 1.0}}   # stale
    manifest["training"]["calibration"] = {"topic": {"temperature": 2.0, "thresholds": None}}   # fitted before
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    train = tmp_path / "train.conll"
    train.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n", encoding="utf-8")
    dev = tmp_path / "dev.conll"
    dev.write_text("Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\nvisits VBZ B-VP O\nBrussels NNP B-NP B-LOC\n\n"
                   "EU NNP B-NP B-ORG\nsaid VBD B-VP O\n\n", encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--format", "conll",
                 "--train", str(train), "--train-format", "conll", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["training"]["calibration"] == printed and set(printed) == {"entities", "topic"}
    assert printed["topic"] == {"temperature": 2.0, "thresholds": None}   # not annotated in dev: kept
    assert "topic kept as it was (not annotated there)" in captured.err
    task = load(ckpt).manifest.task("entities")
    assert task.seen_entities == ["EU", "German"]
    assert task.temperature == 1.0          # the span calibrator replaces the temperature
    assert set(manifest["runtimes"]) == set(available())    # measured again, on the data it was fitted on
    assert manifest["runtimes"]["torch"]["words_per_second"] > 1.0
    assert manifest["runtimes"]["torch"]["dev"]["entities"] != 0.1
    assert manifest["runtimes"]["torch"]["dev"]["topic"] == 0.7   # not in that data: its calibration and figure stand
    assert "default CPU runtime" in captured.err


def test_calibrate_without_a_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["calibrate", "--checkpoint", str(tmp_path / "none"), "--data", "x.conll"]) == 2
    assert "train one" in capsys.readouterr().err


def test_calibrate_refuses_data_that_annotates_none_of_the_tasks_and_writes_nothing(tiny_checkpoint, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    before = (ckpt / "manifest.json").read_bytes()
    data = tmp_path / "bare.jsonl"
    data.write_text(json.dumps({"text": "Putin met Trump in Helsinki."}) + "\n", encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 2
    assert f"{data}: no document is annotated for any of the model's tasks (entities, topic, stance)" \
        in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before


def test_calibrate_reads_a_classification_file_with_its_task(tiny_checkpoint, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    data = tmp_path / "stances.csv"
    data.write_text("text,label\nTalks resume in Geneva,neutral\nSanctions condemned,critical\n", encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--task", "stance", "--device", "cpu"]) == 0
    assert "calibration of stance refitted on 2 documents" in capsys.readouterr().err
