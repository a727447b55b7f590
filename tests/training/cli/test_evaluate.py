import json
import sys

import pytest

from training.cli import main


def test_evaluate_scores_a_file_of_any_format_as_one_json_line(tiny_checkpoint, tmp_path, capsys):
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n",
                    encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--format", "conll",
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert len(out) == 1
    assert f"1 documents of {data}, scored by {tiny_checkpoint} through runtime torch on cpu (" in captured.err
    metrics = json.loads(out[0])
    assert set(metrics) == {"entities"} and metrics["entities"]["documents"] == 1
    assert 0.0 <= metrics["entities"]["f1"] <= 1.0


def test_evaluate_names_the_checkpoint_tasks_its_data_does_not_annotate(tiny_checkpoint, tmp_path, capsys):
    """Before: left out of the JSON without a word, where calibrate names them (as kept, not annotated there)."""
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert set(json.loads(captured.out)) == {"entities"}
    assert "topic, stance not scored (not annotated there)" in captured.err


def test_evaluate_scores_through_the_runtime_it_is_given(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import training.evaluation
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n", encoding="utf-8")
    scored_by, evaluate = [], training.evaluation.evaluate
    monkeypatch.setattr(training.evaluation, "evaluate",
                        lambda model, docs, **kw: scored_by.append(model.runtime) or evaluate(model, docs, **kw))
    for flags in (["--quantize"], ["--runtime", "torch"], ["--runtime", "torch-int8"]):   # the name it prints
        assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "cpu",
                     *flags]) == 0
    assert scored_by == ["torch-int8", "torch", "torch-int8"]
    assert all(json.loads(line)["entities"]["documents"] == 1 for line in capsys.readouterr().out.splitlines())


def test_a_device_that_names_none_is_refused_with_its_flag_before_the_checkpoint_loads(tiny_checkpoint, tmp_path,
                                                                                        capsys, monkeypatch):
    """Before: "unknown device 'gpu'" from the load, naming no flag."""
    import training.cli.evaluate
    monkeypatch.setattr(training.cli.evaluate, "open_checkpoint", lambda *a, **kw: pytest.fail("loaded"))
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "gpu"]) == 2
    assert "error: --device gpu: unknown device 'gpu' (expected one of" in capsys.readouterr().err


def test_a_cpu_only_runtime_with_device_cuda_names_its_flag_before_the_checkpoint_loads(tiny_checkpoint, tmp_path,
                                                                                         capsys, monkeypatch):
    """Before, on a GPU machine: "runtime onnx runs on the CPU only, not on 'cuda'" from the load, naming no flag."""
    import torch
    import training.cli.evaluate
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(training.cli.evaluate, "open_checkpoint", lambda *a, **kw: pytest.fail("loaded"))
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "cuda",
                 "--runtime", "onnx"]) == 2
    assert ("error: --runtime onnx runs on the CPU only, not with --device cuda: give --device cpu, or leave "
            "--device out") in capsys.readouterr().err


def test_labels_the_checkpoint_lacks_are_scored_as_misses_with_a_warning(tiny_checkpoint, tmp_path, capsys):
    """Before: refused (the news reader too), as if a corpus with one more entity type or topic could not be scored."""
    conll = tmp_path / "gold.conll"
    conll.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\n-DOCSTART- -X- -X- O\n\nIn IN O O\nMosul NNP B-NP B-GPE\n"
                     "and CC O O\nBasra NNP B-NP B-GPE\n", encoding="utf-8")
    news = tmp_path / "gold.jsonl"
    news.write_text(json.dumps({"text": "Talks in Mosul.", "entities": [{"start": 9, "end": 14, "label": "GPE"}],
                                "topic": ["fishing"], "stance": "hostile"}) + "\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(conll), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert f"warning: entities label 'GPE' is not among the model's (PER, ORG, LOC, MISC): its 2 span(s) in 1 " \
        f"document(s) scored as misses (first: {conll}:5)" in captured.err
    gpe = json.loads(captured.out)["entities"]["per_type"]["GPE"]
    assert gpe["recall"] == 0.0 and gpe["support"] == 2
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(news), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    for task, label in (("topic", "fishing"), ("stance", "hostile")):
        assert f"warning: {task} label '{label}' is not among the model's (" in captured.err
        assert f"its 1 document(s) scored as misses (first: {news}:1)" in captured.err
    metrics = json.loads(captured.out)
    assert metrics["entities"]["recall"] == metrics["topic"]["micro_f1"] == metrics["stance"]["accuracy"] == 0.0


def test_a_blank_label_is_refused_and_one_with_spaces_around_is_the_label(tiny_checkpoint, tmp_path, capsys):
    """Before, both were read as labels the checkpoint lacks and scored as misses."""
    news = tmp_path / "gold.jsonl"
    news.write_text(json.dumps({"text": "Talks in Mosul.", "stance": ""}) + "\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(news), "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert f"{news}:1: field 'stance': a label must be a non-blank string, not ''" in captured.err and not captured.out
    news.write_text(json.dumps({"text": "Talks in Mosul.", "stance": " neutral"}) + "\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(news), "--device", "cpu"]) == 0
    assert "scored as misses" not in capsys.readouterr().err


def test_evaluate_refuses_data_that_annotates_none_of_the_tasks(tiny_checkpoint, tmp_path, capsys):
    data = tmp_path / "labels.csv"
    data.write_text("text,label\nTariffs rise,trade\n", encoding="utf-8")   # task "label": not the model's
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert f"{data}: no document is annotated for any of the model's tasks (entities, topic, stance); give the " \
        "task its labels belong to with --task" in captured.err and not captured.out


def test_a_doccano_classification_export_not_read_as_one_is_told_how_to_read_it(tiny_checkpoint, tmp_path, capsys):
    """Before: "no document is annotated for any of the model's tasks" alone, where train names
    --format doccano, and, read as Doccano, nothing of --label-task."""
    data = tmp_path / "doccano.jsonl"
    data.write_text(json.dumps({"text": "Tariffs rise again.", "label": ["trade"]}) + "\n", encoding="utf-8")
    for flags, advice in (([], "; check the field names, or give the format of the tool that wrote it (a Doccano "
                                "classification export: --format doccano)"),
                          (["--format", "doccano"], "; give the task its labels belong to with --label-task")):
        assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "cpu",
                     *flags]) == 2
        assert f"{data}: no document is annotated for any of the model's tasks (entities, topic, stance){advice}" \
            in capsys.readouterr().err


def test_a_task_the_checkpoint_lacks_beside_one_it_has_is_named_as_left_out(tiny_checkpoint, tmp_path, capsys):
    """Before: a Doccano export's labels (task "label" unless --label-task) went unscored without a word."""
    data = tmp_path / "doccano.jsonl"
    data.write_text(json.dumps({"text": "EU talks.", "entities": [[0, 2, "ORG"]], "label": ["trade"]}) + "\n",
                    encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--format", "doccano",
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert f"warning: {data}: 1 document(s) annotated for task 'label', which is none of the model's (entities, " \
        "topic, stance): left out; give the task its labels belong to with --label-task" in captured.err
    assert set(json.loads(captured.out)) == {"entities"}


def test_evaluate_refuses_a_task_annotated_as_the_other_kind(tiny_checkpoint, tmp_path, capsys):
    data = tmp_path / "stances.csv"
    data.write_text("text,label\nTalks resume in Geneva,neutral\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--task", "entities",
                 "--device", "cpu"]) == 2   # before: 0, and {} printed
    captured = capsys.readouterr()
    assert f"{data}:2: entities is an entity task of the model, but annotated here with document labels " \
        "(check --task)" in captured.err and not captured.out


def test_evaluate_takes_the_reader_flags_train_takes(tiny_checkpoint, tmp_path, capsys):
    data = tmp_path / "stances.csv"
    data.write_text("headline,verdict\nTalks resume in Geneva,neutral\nSanctions condemned,critical\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--task", "stance",
                 "--text-field", "headline", "--label-field", "verdict", "--device", "cpu"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"stance"} and metrics["stance"]["documents"] == 2
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--bodies", "b.csv"]) == 2
    assert "--bodies: no reader of the files given takes it (check --format)" in capsys.readouterr().err
    (tmp_path / "plots.png").write_bytes(b"")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none"), "--data", str(data), "--task", "stance",
                 "--plots", str(tmp_path / "plots.png")]) == 2   # refused before the checkpoint is even looked for
    assert f"--plots {tmp_path / 'plots.png'}: a file is there; give a folder" in capsys.readouterr().err


def test_a_plots_folder_that_cannot_be_made_is_refused_before_scoring(tmp_path, capsys):
    """Before: a --plots folder under a file failed after every figure was computed, and they were lost."""
    (tmp_path / "plots.png").write_bytes(b"")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none"), "--data", "x.jsonl",
                 "--plots", str(tmp_path / "plots.png" / "more")]) == 2
    assert f"--plots {tmp_path / 'plots.png' / 'more'}: {tmp_path / 'plots.png'} is a file; give a folder" \
        in capsys.readouterr().err


def test_a_plots_folder_in_a_checkpoint_is_refused_before_scoring(tiny_checkpoint, tmp_path, capsys):
    """Before: the plots were written into the checkpoint, whose next save (train --output, --resume) then
    refused to replace it, as predict --html and export refuse to write there; then refused in a tangled
    sentence ("... would be refused while it held the folder, or delete the plots; give a folder elsewhere")."""
    import shutil
    checkpoint = shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    data = tmp_path / "gold.conll"
    data.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n", encoding="utf-8")
    for plots in (checkpoint / "plots", checkpoint):
        assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(data), "--device", "cpu",
                     "--plots", str(plots)]) == 2
        assert f"--plots {plots}: that is inside the checkpoint {checkpoint}, which a later save (train --output, " \
            "--resume) could not replace while it held the plots: give a folder elsewhere\n" in capsys.readouterr().err
    assert sorted(p.name for p in checkpoint.iterdir()) == sorted(p.name for p in tiny_checkpoint.iterdir())


def test_a_document_with_two_labels_for_a_single_label_task_is_refused_with_its_place(tiny_checkpoint, tmp_path,
                                                                                      capsys):
    """Before: scored by its first label ('critical'), without a word."""
    data = tmp_path / "doccano.jsonl"
    data.write_text("\n".join(json.dumps({"text": text, "label": labels}) for text, labels in
                              (("Talks resume.", ["neutral"]), ("Talks stall.", ["critical", "neutral"]))) + "\n",
                    encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--format", "doccano",
                 "--label-task", "stance", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert f"{data}:2: task 'stance' is single-label in the model, but this document gives it other than one " \
        "label" in captured.err and not captured.out


def test_evaluate_warns_of_gold_entities_across_a_line_break(tiny_checkpoint, tmp_path, capsys):
    """No prediction crosses a line break, so each such gold entity is a miss: said, not left to puzzle over."""
    data = tmp_path / "gold.jsonl"
    text = "Bush\n\nCherie Blair spoke."
    data.write_text(json.dumps({"text": text, "entities": [{"start": 0, "end": 18, "label": "PER"}]}) + "\n",
                    encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "cpu"]) == 0
    assert f"warning: 1 entity span(s) of the file {data} cross a line break (first: {data}:1 " \
           "'Bush\\n\\nCherie Blair')" in capsys.readouterr().err


def test_evaluate_warns_of_documents_given_twice(tiny_checkpoint, tmp_path, capsys):
    """Before: a record given twice (files joined by cat) was scored twice, weighing double, unsaid."""
    data = tmp_path / "gold.jsonl"
    records = [{"id": "a1", "text": "Talks in Geneva.", "topic": ["trade"]},
               {"id": "a2", "text": "Sanctions on Minsk.", "topic": ["sanctions"]}]
    data.write_text("".join(json.dumps(r) + "\n" for r in [*records, records[0]]), encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert f"warning: 1 document(s) of {data} repeat another one's text, 0 of them annotated differently (e.g. " \
           f"{data}:1 and {data}:3): each copy is scored" in err
    assert f"repeat an earlier record's id in the same file (first: id 'a1' at {data}:1 and {data}:3)" in err


def test_evaluate_refuses_a_second_data_file_rather_than_score_the_last_alone(tiny_checkpoint, tmp_path, capsys):
    """Before: `--data a --data b` printed b's figures alone, and a was never read."""
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (first, second):
        path.write_text(json.dumps({"text": "Talks in Geneva.", "entities": []}) + "\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(first), "--data", str(second),
                 "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert f"--data given 2 times ({first}, {second}): evaluate scores one file; join them into one" in captured.err
    assert not captured.out


def test_evaluate_warns_that_figures_on_the_training_file_are_not_held_out(tiny_checkpoint, tmp_path, capsys):
    """Before: `evaluate --data train.jsonl` printed training figures as any others, though the manifest records
    that file's SHA-256 (train warns of dev documents it trains on; calibrate refuses the file)."""
    import shutil
    from training.config import TrainConfig
    from training.data import fingerprint
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train.write_text(json.dumps({"text": "Talks in Geneva.", "entities": []}) + "\n", encoding="utf-8")
    test.write_text(json.dumps({"text": "Talks in Oslo.", "entities": []}) + "\n", encoding="utf-8")
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    manifest["training"] = {"config": TrainConfig(train="train.jsonl", test="test.jsonl").record(),
                            "data_sha256": {"train.jsonl": fingerprint(train), "test.jsonl": fingerprint(test)}}
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for data, warned in ((train, True), (test, False)):
        assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]) == 0
        assert (f"warning: {data}: the checkpoint was trained on this file (train.jsonl, by the SHA-256 its manifest "
                "records): its figures are not held out" in capsys.readouterr().err) is warned


def test_a_missing_file_is_named_with_its_flag_before_the_checkpoint_loads(tiny_checkpoint, tmp_path, capsys,
                                                                           monkeypatch):
    """Before: "[Errno 2] No such file or directory: '...'" after the weights loaded (5-15 s), naming no flag;
    `--data ""` read the working folder ("Is a directory: '.'"), as any folder given was read."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import training.cli.evaluate

    def loaded(*args, **kwargs):
        raise ValueError("loaded")
    monkeypatch.setattr(training.cli.evaluate, "open_checkpoint", loaded)
    stances = tmp_path / "stances.csv"
    stances.write_text("Headline,Body ID,Stance\nTalks resume,1,agree\n", encoding="utf-8")
    missing, dataset = tmp_path / "absent.jsonl", tmp_path / "dataset"
    dataset.mkdir()
    pq.write_table(pa.table({"tokens": [["EU", "talks"]], "ner_tags": [["B-ORG", "O"]]}), dataset / "test.parquet")
    (tmp_path / "dd").mkdir()   # a DatasetDict's folder without that split
    (tmp_path / "dd" / "dataset_dict.json").write_text('{"splits": ["train"]}', encoding="utf-8")
    for flags, error in ((["--data", str(missing)], f"--data {str(missing)!r}: No such file or directory"),
                         (["--data", ""], "--data '': give a file name"),
                         (["--data", str(tmp_path)], f"--data {str(tmp_path)!r}: a folder; give a file"),
                         (["--data", str(stances), "--format", "pairs", "--bodies", str(tmp_path / "bodies.csv")],
                          f"--bodies {str(tmp_path / 'bodies.csv')!r}: No such file or directory"),
                         (["--data", str(dataset)], "loaded"),   # a Hugging Face dataset's folder is read
                         (["--data", str(tmp_path / "dd" / "validation")], "loaded")):   # the hf reader names its splits
        assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", *flags]) == 2
        captured = capsys.readouterr()
        assert f"error: {error}" in captured.err and not captured.out


def test_plots_without_matplotlib_are_refused_before_scoring(tmp_path, capsys, monkeypatch):
    """Before: the whole file was scored, then the first plot's `import matplotlib` failed and every
    figure was lost (nothing on stdout), an empty --plots folder left behind."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # importing it raises ImportError, as if not installed
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none"), "--data", "x.jsonl",
                 "--plots", str(tmp_path / "plots")]) == 2   # refused before the checkpoint is even looked for
    assert "pip install 'newsmodel[train]'" in capsys.readouterr().err
    assert not (tmp_path / "plots").exists()
