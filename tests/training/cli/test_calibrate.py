import json
import shutil

import numpy as np
import pytest

from inference import load
from inference.calibration import rescale
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
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev),
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


def test_calibrate_reads_the_names_of_every_training_file_given(tiny_checkpoint, tmp_path, capsys):
    """A run trained on several files: before, a second --train replaced the first, whose names went unsaid."""
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    conll, news = tmp_path / "train.conll", tmp_path / "more.jsonl"
    conll.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n", encoding="utf-8")
    news.write_text(json.dumps({"text": "Putin spoke.", "entities": [{"start": 0, "end": 5, "label": "PER"}]}) + "\n",
                    encoding="utf-8")
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--train", str(conll),
                 "--train", str(news), "--device", "cpu"]) == 0
    assert load(ckpt).manifest.task("entities").seen_entities == ["EU", "Putin"]


def _right_and_wrong_entities(checkpoint, text: str) -> str:
    """News JSON lines of `text` twice: annotated with what the (untrained) checkpoint finds,
    so every entity it predicts is right, then with none, so every one is wrong."""
    found = [{"start": e.start, "end": e.end, "label": e.label} for e in load(checkpoint, device="cpu").predict(text).entities]
    assert found   # an untrained head tags something: a calibrator has right and wrong to fit on
    return "".join(json.dumps({"text": text, "entities": gold}) + "\n" for gold in (found, []))


def _copy(tiny_checkpoint, tmp_path, **fields):
    """(folder, manifest): a copy of the tiny checkpoint, `fields` replaced at the top of its manifest."""
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    manifest = dict(json.loads((ckpt / "manifest.json").read_text(encoding="utf-8")), **fields)
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return ckpt, manifest


def _every_runtime(entities: float) -> dict:
    """Figures for every runtime, so they stay compared on one data set."""
    return {name: {"dev": {"entities": entities, "topic": 0.7}, "words_per_second": 1.0} for name in available()}


TRAIN_COUNTS = {"documents": 3, "annotated": {"entities": 3, "topic": 0, "stance": 0},
                "labels": {"entities": {"PER": 2}, "topic": {}, "stance": {}}}


def test_calibrate_without_a_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["calibrate", "--checkpoint", str(tmp_path / "none"), "--data", "x.conll"]) == 2
    assert "train one" in capsys.readouterr().err


def test_a_training_format_without_training_files_is_refused_not_ignored(tiny_checkpoint, tmp_path, capsys):
    """Before: recalibrated with the names the checkpoint lists, --train-format read as nothing."""
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    data = tmp_path / "dev.jsonl"
    data.write_text(json.dumps({"text": "Talks in Geneva.", "entities": []}) + "\n", encoding="utf-8")
    before = (ckpt / "manifest.json").read_bytes()
    for fmt in ("conll", "auto"):   # before, auto was taken without a word, though the README says it is refused
        assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--train-format", fmt]) == 2
        assert f"--train-format {fmt} is the format of the --train files, and none is given" in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before


def test_a_missing_file_is_named_with_its_flag_before_the_checkpoint_loads(tiny_checkpoint, tmp_path, capsys,
                                                                           monkeypatch):
    """Before: "[Errno 2] No such file or directory: '...'" (or "Is a directory") after the weights loaded
    (5-15 s), naming no flag."""
    import training.cli.calibrate
    monkeypatch.setattr(training.cli.calibrate, "open_checkpoint", lambda *a, **kw: pytest.fail("loaded"))
    data = tmp_path / "dev.jsonl"
    data.write_text(json.dumps({"text": "Talks in Geneva.", "entities": []}) + "\n", encoding="utf-8")
    missing = tmp_path / "absent.jsonl"
    for flags, error in ((["--data", str(missing)], f"--data {str(missing)!r}: No such file or directory"),
                         (["--data", str(data), "--train", str(missing)],
                          f"--train {str(missing)!r}: No such file or directory"),
                         (["--data", str(data), "--train", ""], "--train '': give a file name"),
                         (["--data", str(data), "--train", str(tmp_path)], f"--train {str(tmp_path)!r}: a folder; give a file")):
        assert main(["calibrate", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", *flags]) == 2
        captured = capsys.readouterr()
        assert f"error: {error}" in captured.err and not captured.out


def test_a_device_that_names_none_is_refused_with_its_flag_before_the_checkpoint_loads(tiny_checkpoint, tmp_path,
                                                                                        capsys, monkeypatch):
    """Before: "unknown device 'gpu'" from the load, naming no flag."""
    import training.cli.calibrate
    monkeypatch.setattr(training.cli.calibrate, "open_checkpoint", lambda *a, **kw: pytest.fail("loaded"))
    data = tmp_path / "dev.jsonl"
    data.write_text(json.dumps({"text": "Talks in Geneva.", "entities": []}) + "\n", encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "gpu"]) == 2
    assert "error: --device gpu: unknown device 'gpu' (expected one of" in capsys.readouterr().err


def test_an_empty_checkpoint_name_is_refused_not_taken_for_the_default(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    """Before: `--checkpoint "$UNSET"` recalibrated the default checkpoint in place."""
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", str(tiny_checkpoint))
    before = (tiny_checkpoint / "manifest.json").read_bytes()
    data = tmp_path / "dev.jsonl"
    data.write_text(json.dumps({"text": "Talks in Geneva.", "entities": []}) + "\n", encoding="utf-8")
    for command in ("calibrate", "predict"):
        assert main([command, "--checkpoint", "", *(["--data", str(data)] if command == "calibrate" else ["x"])]) == 2
        assert "--checkpoint '': give a checkpoint folder" in capsys.readouterr().err
    assert (tiny_checkpoint / "manifest.json").read_bytes() == before


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


def test_calibrate_refuses_a_label_the_checkpoint_lacks_with_its_place(tiny_checkpoint, tmp_path, capsys):
    """evaluate scores such a label as a miss; no calibration can be fitted against it."""
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    before = (ckpt / "manifest.json").read_bytes()
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\n-DOCSTART- -X- -X- O\n\nIn IN O O\nMosul NNP B-NP B-GPE\n",
                    encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 2
    assert f"{data}:5: entities label 'GPE' is not among the model's (PER, ORG, LOC, MISC)" in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before


def test_calibrate_refuses_a_training_file_without_entities_and_writes_nothing(tiny_checkpoint, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    next(t for t in manifest["tasks"] if t["name"] == "entities")["seen_entities"] = ["EU", "German"]
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = (ckpt / "manifest.json").read_bytes()
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    train = tmp_path / "topics.jsonl"   # topics only: before, every name the checkpoint listed went
    train.write_text(json.dumps({"text": "Tariffs rise.", "topic": ["trade"]}) + "\n", encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--train", str(train),
                 "--device", "cpu"]) == 2
    assert f"{train}: annotates no entities for entities: --train gives the names seen in training, and would " \
        "leave the span calibrator none" in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before


def test_calibrate_refuses_the_data_it_fits_on_as_the_training_file(tiny_checkpoint, tmp_path, capsys):
    """Before, `--train dev.jsonl --data dev.jsonl` fitted the span calibrator with every dev name seen in training."""
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    before = (ckpt / "manifest.json").read_bytes()
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(dev.read_bytes())
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--train", str(copy),
                 "--device", "cpu"]) == 2
    assert f"{copy}: the same data as --data: each of its names would count as seen in training" \
        in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before


def test_calibrate_reads_a_classification_file_with_its_task(tiny_checkpoint, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    data = tmp_path / "stances.csv"
    data.write_text("text,label\n" + "".join(f"Talks resume in Geneva,{label}\n" for label in ("neutral", "critical",
                                                                                              "supportive")),
                    encoding="utf-8")   # one text, three labels: the one predicted is right, the others wrong
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--task", "stance", "--device", "cpu"]) == 0
    assert "calibration of stance refitted on 3 documents" in capsys.readouterr().err


def test_calibrate_warns_of_documents_its_fit_cannot_use(tiny_checkpoint, tmp_path, capsys):
    """As evaluate does: a text with no letter or digit gets no scores (left out of the topic fit, its
    label then read as in no document), and a span across a line break is never predicted."""
    ckpt, _ = _copy(tiny_checkpoint, tmp_path)
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(record) + "\n" for record in [
        {"text": "Talks on arms in Geneva.", "topic": ["arms_control"]},
        {"text": "Talks on trade in Oslo.", "topic": ["arms_control", "summit_diplomacy"]},
        {"text": "??? !!!", "topic": ["trade"]},
        {"text": "Kofi\nAnnan spoke.", "entities": [{"start": 0, "end": 10, "label": "PER"}]}]), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert f"warning: 1 document(s) of the file {data} have no letter or digit" in err
    assert "cross a line break" in err


def test_calibrate_keeps_what_the_data_gives_nothing_to_fit_against(tiny_checkpoint, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    entities = next(t for t in manifest["tasks"] if t["name"] == "entities")
    entities["span_calibrator"] = {"types": ["LOC", "MISC", "ORG", "PER"], "coef": [1.0] * 7, "intercept": 0.5}
    topic = next(t for t in manifest["tasks"] if t["name"] == "topic")
    topic["thresholds"] = {label: 0.3 for label in topic["labels"]}   # as tuned on a fuller dev set
    manifest["runtimes"] = _every_runtime(0.9)
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    data = tmp_path / "no_entities.jsonl"   # entities annotated as none; one topic in every document
    data.write_text("".join(json.dumps({"text": f"Talks on arms in Geneva, round {i}.", "entities": [],
                                        "topic": ["arms_control"] if i % 2 else ["arms_control", "trade"]}) + "\n"
                            for i in range(6)), encoding="utf-8")
    other_names = tmp_path / "other_names.jsonl"
    other_names.write_text(json.dumps({"text": "Kofi Annan spoke.", "entities": [{"start": 0, "end": 10, "label": "PER"}]})
                           + "\n", encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--train", str(other_names),
                 "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    seen_before = entities["seen_entities"]
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    entities = next(t for t in manifest["tasks"] if t["name"] == "entities")
    topic = next(t for t in manifest["tasks"] if t["name"] == "topic")
    assert entities["span_calibrator"]["intercept"] == 0.5   # before: wiped to {}
    assert entities["seen_entities"] == seen_before != ["Kofi Annan"]   # the kept calibrator's inputs, kept too
    assert "entities kept as it was (nothing to fit against there" in err
    assert manifest["runtimes"]["torch"]["dev"]["entities"] == 0.9   # before: 0.0 for every runtime
    untuned = [label for label in topic["labels"] if label not in ("arms_control", "trade")]
    kept = float(rescale(np.array(0.3), "multi", topic["temperature"]))   # the same decisions at the new temperature
    assert all(topic["thresholds"][label] == pytest.approx(kept) for label in untuned)   # before: 0.5, no positive
    manifest["runtimes"] = {"torch": {"dev": {"entities": 0.9}, "words_per_second": 1.0}}   # one runtime's only
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 0
    runtimes = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))["runtimes"]
    assert runtimes["torch"]["dev"]["entities"] != 0.9   # the other runtimes lack it: measured again for all


def test_calibrate_rewrites_the_model_card_with_where_the_calibration_now_comes_from(tiny_checkpoint, tmp_path, capsys):
    """Before: README.md kept saying the calibration was fitted on the dev set."""
    from training.config import TrainConfig
    ckpt, older = _copy(tiny_checkpoint, tmp_path,
                        training={"config": TrainConfig(train="train.jsonl", model_card="card.md").record()})
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--device", "cpu"]) == 0
    assert "(README.md, written by an older version, is not rewritten)" in capsys.readouterr().err
    assert not (ckpt / "README.md").exists()
    older["training"]["train_counts"] = TRAIN_COUNTS
    (ckpt / "manifest.json").write_text(json.dumps(older), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--device", "cpu"]) == 0
    assert "and README.md, the model card (card.md, its copy at training, is not)" in capsys.readouterr().err
    card = (ckpt / "README.md").read_text(encoding="utf-8")
    assert f"entities: a span calibrator, fitted on `{dev}` (2 documents, `newsmodel calibrate`" in card
    assert "- 3 training documents\n- `entities` (ner): PER 2\n" in card
    recalibrated = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))["training"]["recalibrated"]
    assert list(recalibrated) == ["entities"] and recalibrated["entities"]["data"] == str(dev)
    assert recalibrated["entities"]["documents"] == 2 and {"ece_before", "ece_after"} <= set(recalibrated["entities"])


def test_a_calibrate_interrupted_while_measuring_leaves_the_next_one_to_measure(tiny_checkpoint, tmp_path, monkeypatch):
    """Before: the figures were dropped for good, and the checkpoint ran fp32 until retrained."""
    import training.runtime_figures
    ckpt, _ = _copy(tiny_checkpoint, tmp_path, runtimes=_every_runtime(0.1))
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    with monkeypatch.context() as patch:
        patch.setattr(training.runtime_figures, "measure_runtimes", interrupted)
        assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--device", "cpu"]) == 130
    assert json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))["runtimes"] == {}
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--device", "cpu"]) == 0
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["runtimes"]) == set(available()) and "runtimes_pending" not in manifest["training"]
    assert manifest["runtimes"]["torch"]["dev"]["topic"] == 0.7   # not in that data: its figure kept through both
    assert manifest["runtimes"]["torch"]["dev"]["entities"] != 0.1
    manifest["runtimes"], manifest["training"]["runtimes_pending"] = {}, True   # as an earlier version left it
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--device", "cpu"]) == 0
    assert set(json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))["runtimes"]) == set(available())


def test_calibrate_that_refits_no_task_keeps_the_runtime_figures(tiny_checkpoint, tmp_path, capsys):
    """Before: they were measured again on that data (a kept task's figure and every speed replaced)."""
    ckpt, manifest = _copy(tiny_checkpoint, tmp_path, runtimes=_every_runtime(0.9))
    data = tmp_path / "no_entities.jsonl"   # entities annotated as none: nothing to fit against
    data.write_text("".join(json.dumps({"text": f"Talks on arms in Geneva, round {i}.", "entities": []}) + "\n"
                            for i in range(6)), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 0
    assert "calibration of no task refitted" in capsys.readouterr().err
    after = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    assert after["runtimes"] == manifest["runtimes"] and "runtimes_pending" not in after["training"]


def test_the_model_card_is_written_when_the_reader_of_stdout_stops_early(tiny_checkpoint, tmp_path, monkeypatch):
    import os
    import sys
    from training.config import TrainConfig
    ckpt, _ = _copy(tiny_checkpoint, tmp_path,
                    training={"config": TrainConfig(train="train.jsonl").record(), "train_counts": TRAIN_COUNTS})
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    read, write = os.pipe()
    os.close(read)   # `| head -0`, with stdout unbuffered (PYTHONUNBUFFERED=1): the first write fails
    monkeypatch.setattr(sys, "stdout", open(write, "w", encoding="utf-8", buffering=1))
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--device", "cpu"]) == 0
    assert f"fitted on `{dev}`" in (ckpt / "README.md").read_text(encoding="utf-8")   # before: no card


def test_a_pair_task_annotated_without_second_texts_is_refused(tiny_base, tmp_path, capsys):
    """Before: a CSV read without --pair-field refitted a headline-against-body stance head on the
    headlines alone ("calibration of stance refitted on 3 documents"), and evaluate scored it so,
    where a news record annotating it is refused, and --init-from refuses the kind."""
    from conftest import _tiny_checkpoint
    from inference.manifest import TaskSpec
    ckpt = _tiny_checkpoint(tmp_path / "pairs", tiny_base, [TaskSpec("stance", "pair", ["agree", "discuss"])])
    before = (ckpt / "manifest.json").read_bytes()
    data = tmp_path / "stances.csv"
    data.write_text("text,body,label\nTalks resume,In Geneva.,agree\nTalks end,In Oslo.,discuss\n", encoding="utf-8")
    for command in ("calibrate", "evaluate"):
        assert main([command, "--checkpoint", str(ckpt), "--data", str(data), "--task", "stance",
                     "--device", "cpu"]) == 2
        assert f"{data}:2: task 'stance' of the model reads text pairs (a headline against its body), but this " \
            "document is one text (its second text: --format classification with --pair-field, or --format pairs with " \
            "--bodies; a Label Studio or Doccano export holds one); also 1 more document(s)" \
            in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--task", "stance",
                 "--pair-field", "body", "--device", "cpu"]) == 0


def test_calibrate_refuses_the_file_the_checkpoint_trained_on(tiny_checkpoint, tmp_path, capsys):
    """Before, `calibrate --data train.jsonl` without --train fitted on training documents, whose scores are
    surer than on new text: on a checkpoint of 60 bundled articles topic's temperature went from 1.92 (dev)
    to 0.71, and the span calibrator read every name as seen, though the manifest holds that file's SHA-256."""
    from training.config import TrainConfig
    from training.data import fingerprint
    train = tmp_path / "run" / "train.jsonl"
    train.parent.mkdir()
    train.write_text(_right_and_wrong_entities(tiny_checkpoint, "Peter Blackburn visits Brussels, the EU said."),
                     encoding="utf-8")
    dev = tmp_path / "run" / "dev.jsonl"
    dev.write_text(json.dumps({"text": "Talks in Geneva.", "entities": []}) + "\n", encoding="utf-8")
    test = tmp_path / "run" / "test.jsonl"
    test.write_text(json.dumps({"text": "Talks in Oslo.", "entities": []}) + "\n", encoding="utf-8")
    config = TrainConfig(train="train.jsonl", dev="dev.jsonl", test="test.jsonl").record()   # as the run named them
    ckpt, _ = _copy(tiny_checkpoint, tmp_path, training={"config": config, "data_sha256": {
        "train.jsonl": fingerprint(train), "dev.jsonl": fingerprint(dev), "test.jsonl": fingerprint(test)}})
    before = (ckpt / "manifest.json").read_bytes()
    copy = tmp_path / "copy.jsonl"   # the same file by another name
    copy.write_bytes(train.read_bytes())
    for data in (train, copy):
        assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 2
        assert f"{data}: the checkpoint was trained on this file (train.jsonl, by the SHA-256 its manifest records)" \
            in capsys.readouterr().err
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(test), "--device", "cpu"]) == 2
    assert f"{test}: this is the checkpoint's test file (test.jsonl, by the SHA-256 its manifest records): fitted " \
        "on it, its test figures would no longer be held out; give held-out data" in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before


def test_calibrate_refuses_a_second_data_file_rather_than_drop_the_first(tiny_checkpoint, tmp_path, capsys):
    """Before: `--data a --data b` (as train takes --dev) fitted on b alone, and a was never read."""
    ckpt, _ = _copy(tiny_checkpoint, tmp_path)
    before = (ckpt / "manifest.json").read_bytes()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    second.write_text(_right_and_wrong_entities(ckpt, "Kofi Annan met Putin in Geneva."), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(first), "--data", str(second),
                 "--device", "cpu"]) == 2
    assert f"--data given 2 times ({first}, {second}): calibrate fits on one file; join them into one" \
        in capsys.readouterr().err
    assert (ckpt / "manifest.json").read_bytes() == before


def test_a_card_that_cannot_be_written_says_the_new_calibration_is_in_place(tiny_checkpoint, tmp_path, capsys):
    """Before: "error: [Errno 21] Is a directory: '.../README.md'", as if nothing had been written,
    when the manifest already held the new calibration."""
    from training.config import TrainConfig
    ckpt, _ = _copy(tiny_checkpoint, tmp_path,
                    training={"config": TrainConfig(train="train.jsonl").record(), "train_counts": TRAIN_COUNTS})
    (ckpt / "README.md").mkdir()   # a card that cannot be written
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(dev), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"error: {ckpt / 'README.md'}: the model card could not be written (Is a directory); the new calibration " \
           f"is already in place in {ckpt / 'manifest.json'}: once the card can be written, run this calibrate " \
           "again" in err
    assert "entities" in json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))["training"]["recalibrated"]
    assert sorted(p.name for p in ckpt.iterdir() if p.name.endswith(".tmp")) == []


def test_the_card_after_calibrate_shows_the_ece_of_the_calibration_now_in_place(tiny_checkpoint, tmp_path):
    """Before: the card kept the run's dev `ece_after` of the calibration calibrate replaced."""
    from training.config import TrainConfig
    ckpt, _ = _copy(tiny_checkpoint, tmp_path, metrics={"dev": {"stance": {"accuracy": 0.5, "ece_before": 0.3,
                                                                           "ece_after": 0.25}}},
                    training={"config": TrainConfig(train="train.jsonl").record(), "train_counts": TRAIN_COUNTS})
    text = "Talks resume in Geneva"
    data = tmp_path / "stances.csv"   # one text, three labels: the one predicted is right, the others wrong
    data.write_text("text,label\n" + "".join(f"{text},{label}\n" for label in ("neutral", "critical", "supportive")),
                    encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--task", "stance", "--device", "cpu"]) == 0
    top = load(ckpt, device="cpu").predict(text).labels["stance"][0].score   # at the calibration now in place
    by_hand = abs(1 / 3 - top)   # every score in one bin: |accuracy - confidence|
    rows = (ckpt / "README.md").read_text(encoding="utf-8").splitlines()
    assert "| dev | stance | ece_after | 0.2500 |" not in rows and "| dev | stance | ece_before | 0.3000 |" in rows
    after = [row for row in rows if row.startswith(f"| `{data}` (calibrate) | stance | ece_after |")]
    assert len(after) == 1 and float(after[0].split("|")[4]) == pytest.approx(by_hand, abs=1e-4)
    recorded = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))["training"]["recalibrated"]["stance"]
    assert recorded["ece_after"] == pytest.approx(by_hand, abs=1e-5) and recorded["documents"] == 3


def test_a_span_calibrator_left_out_is_said_of_the_data_calibrate_fitted_on(tiny_checkpoint, tmp_path, monkeypatch,
                                                                             capsys):
    """Before: "on these 2 dev entities", of calibrate's own --data file."""
    import inference.calibration
    ckpt, _ = _copy(tiny_checkpoint, tmp_path)
    data = tmp_path / "newer.jsonl"
    data.write_text(_right_and_wrong_entities(ckpt, "Peter Blackburn visits Brussels, the EU said."), encoding="utf-8")
    monkeypatch.setattr(inference.calibration, "fit_logistic",   # as a fit whose surer spans were wronger
                        lambda x, y: (np.r_[-1.0, np.zeros(x.shape[1] - 1)], 0.0))
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert f"entities: no span calibrator: on these " in err and f" entities of {data} the surer spans" in err
    assert "dev entities" not in err


def test_calibrate_that_refits_no_task_writes_nothing_and_says_so(tiny_checkpoint, tmp_path, capsys):
    """Before: the manifest and card were written again, the manifest of a run without dev data
    gaining an empty `calibration`, so that the card no longer said its scores were uncalibrated."""
    from training.config import TrainConfig
    ckpt, _ = _copy(tiny_checkpoint, tmp_path,
                    training={"config": TrainConfig(train="train.jsonl").record(), "train_counts": TRAIN_COUNTS})
    (ckpt / "README.md").write_text("the card as it was\n", encoding="utf-8")
    before = (ckpt / "manifest.json").read_bytes()
    data = tmp_path / "no_entities.jsonl"   # entities annotated as none: nothing to fit against
    data.write_text("".join(json.dumps({"text": f"Talks on arms in Geneva, round {i}.", "entities": []}) + "\n"
                            for i in range(3)), encoding="utf-8")
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert f"calibration of no task refitted on 3 documents of {data}" in err
    assert f"nothing written: {ckpt}/manifest.json and README.md are as they were" in err and "written to" not in err
    assert (ckpt / "manifest.json").read_bytes() == before
    assert (ckpt / "README.md").read_text(encoding="utf-8") == "the card as it was\n"
