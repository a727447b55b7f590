"""The model card says what this checkpoint's tasks are, and nothing of tasks it lacks."""
from dataclasses import replace

import pytest

from conftest import REPO
from inference.manifest import Manifest, TaskSpec
from training.config import TrainConfig
from training.corpus import Document, Span
from training.model_card import train_counts, write_model_card

NER = TaskSpec("entities", "ner", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
TOPIC = TaskSpec("topic", "multi", ["arms_control", "trade"])
STANCE = TaskSpec("stance", "single", ["critical", "neutral", "supportive"])
DOCS = [Document("Putin met Trump.", spans={"entities": [Span(0, 5, "PER")]}, labels={"topic": ["trade"]})]


def card(tmp_path, tasks, train, calibrated=True):
    """calibrated: every task, as the end of a run with dev data leaves it; or the names of those dev annotates."""
    manifest = Manifest(tasks=tasks, base_model="minilm")
    manifest.training = {"config": TrainConfig(train=train, learning_rate=1e-4, head_learning_rate=1e-3).record()}
    if calibrated:
        names = [t.name for t in tasks] if calibrated is True else calibrated
        manifest.training["calibration"] = {name: {} for name in names}
        manifest.metrics = {"dev": {name: {"f1": 0.5} for name in names}}
    return write_model_card(tmp_path, _counted(manifest))


def _counted(manifest: Manifest) -> Manifest:
    manifest.training["train_counts"] = train_counts(manifest, DOCS)
    return manifest


def test_a_card_of_entities_alone_speaks_of_entities_alone(tmp_path):
    text = card(tmp_path, [NER], "eng.train")
    assert "pipeline_tag: token-classification\ntags:\n- named-entity-recognition\n- news\n---" in text
    assert "# News: entities\n" in text and "gives its named entities (PER, LOC), each with a probability" in text
    assert "stance" not in text.lower() and "topic" not in text and "bundled corpus is small" not in text
    assert "before the NER head" in text   # the NER procedure is described
    assert "- 1 training documents\n- `entities` (ner): PER 1\n" in text   # from the manifest's train_counts


def test_a_card_of_document_tasks_alone_has_no_ner_procedure(tmp_path):
    text = card(tmp_path, [TOPIC, STANCE], str(REPO / "data" / "train.jsonl"))
    assert "pipeline_tag: text-classification\ntags:\n- text-classification\n- news\n- multi-task\n---" in text
    assert "gives its `topic` labels (several may apply) and its `stance` label, each" in text
    for entities_only in ("NER head", "Viterbi", "named entities", "Entities: seqeval", "entity scores", "span calibrator"):
        assert entities_only not in text
    assert "bundled corpus is small" in text and "hardest of\n  the bundled tasks" in text
    assert "Calibration of the scores, per task: topic: none (a fit on the dev set did not lower its ECE); stance: " \
           "none (a fit on the dev set did not lower its ECE).\n  Check the `ece_after`" in text


def test_the_card_says_what_calibration_each_task_has_and_where_it_came_from(tmp_path):
    """Before: every task was said to be calibrated on dev, whether dev annotated it, the fit was
    dropped, or the calibration was an --init-from checkpoint's."""
    ner = replace(NER, span_calibrator={"types": ["PER", "LOC"], "coef": [1.0, 0.5], "intercept": 0.1})
    topic = replace(TOPIC, temperature=1.3, thresholds={"trade": 0.4})   # carried over, not fitted here
    text = card(tmp_path, [ner, topic, STANCE], "train.jsonl", calibrated=["entities"])
    assert ("- Calibration of the scores, per task: entities: a span calibrator, fitted on the dev set; topic: a "
            "temperature and thresholds, kept from the checkpoint this run continued; stance: none (the data it was "
            "fitted on does not annotate it, or its outcomes were all alike).") in text
    text = card(tmp_path, [replace(NER, temperature=1.2), topic], "train.jsonl", calibrated=False)
    assert ("Trained without a dev set: the scores are the model's own, uncalibrated (`newsmodel calibrate` fits them\n"
            "  on annotated data), except where said: entities: a temperature, "
            "kept from the checkpoint this run continued; topic: a temperature and thresholds, kept") in text


def test_a_run_without_dev_or_test_data_and_a_carried_over_task_are_said_as_such(tmp_path):
    """Before: "best epoch by dev score" without a dev set, "test figures on `(none)`", "Figures of this run" over an empty
    table, and "`topic` (multi): " with nothing after it for a task the checkpoint carried over."""
    manifest = Manifest(tasks=[NER, STANCE], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="more.jsonl", init_from="checkpoints/news", epochs=3,
                                               learning_rate=1e-4, head_learning_rate=1e-3).record(), "best_epoch": 3}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "- 3 epochs, no dev set: the last one kept (epoch 3);" in text and "by dev score" not in text
    assert "Trained on `more.jsonl`; no dev or test data.\n" in text and "(none)" not in text
    assert "No dev or test data in this run: no figures." in text and "| split |" not in text
    assert "- `stance` (single): not annotated in this run's training data, carried over from the checkpoint it " \
           "continued\n" in text
    assert "`load()` runs" not in text   # no runtime measured
    manifest.training["train_counts"] = train_counts(manifest, [Document("No names here.", spans={"entities": []})])
    assert "- `entities` (ner): annotated in 1 documents, with no entity\n" in write_model_card(tmp_path, manifest)


def test_a_dev_set_held_out_of_the_training_files_is_said_as_such(tmp_path):
    """--dev-fraction: before, "no dev or test data" above the dev figures and the best epoch by dev score."""
    manifest = Manifest(tasks=[NER], base_model="minilm", metrics={"dev": {"entities": {"f1": 0.9}}})
    manifest.training = {"config": TrainConfig(train="t.jsonl", dev_fraction=0.25, learning_rate=1e-4,
                                               head_learning_rate=1e-3).record(), "best_epoch": 2}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("Trained on `t.jsonl`, model selection on a 0.25 share of the training documents held out "
            "(`--dev-fraction`); no test data.\n") in text and "no dev" not in text


def test_the_card_names_the_runtime_load_takes_on_the_cpu(tmp_path):
    manifest = Manifest(tasks=[NER], base_model="minilm", metrics={"dev": {"entities": {"f1": 0.9}}})
    manifest.runtimes = {"torch": {"dev": {"entities": 0.9}, "words_per_second": 100.0}}
    manifest.training = {"config": TrainConfig(train="train.jsonl", learning_rate=1e-4, head_learning_rate=1e-3).record(),
                         "best_epoch": 2}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "best epoch by dev score: epoch 2;" in text and "| dev | entities | f1 | 0.9000 |" in text
    assert "The figures above are fp32 PyTorch's. On the CPU, `load()` runs `torch` by default" in text


def test_figures_scored_on_a_gpu_are_not_called_fp32(tmp_path):
    """The end of a run scores dev and test on its own device, on a GPU under bf16 autocast: before, the
    card called them fp32 PyTorch's, beside the runtimes measured on the CPU."""
    manifest = Manifest(tasks=[NER], base_model="minilm", metrics={"dev": {"entities": {"f1": 0.9}}})
    manifest.runtimes = {"torch": {"dev": {"entities": 0.9}, "words_per_second": 100.0}}
    manifest.training = {"config": TrainConfig(train="train.jsonl", learning_rate=1e-4, head_learning_rate=1e-3).record(),
                         "best_epoch": 2, "device": "NVIDIA H100 80GB HBM3", "precision": "bf16"}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "fp32 PyTorch's" not in text
    assert ("The figures above are PyTorch's on the GPU that trained it (NVIDIA H100 80GB HBM3: fp32 weights under "
            "bf16 autocast). On the CPU, `load()` runs `torch`") in text


def test_the_card_says_what_picked_the_best_epoch_and_what_cut_the_run(tmp_path):
    """Before: "best epoch by dev score" whatever --select-by picked it by, and nothing of --max-steps."""
    manifest = Manifest(tasks=[NER, TOPIC], base_model="minilm", metrics={"dev": {"entities": {"f1": 0.9}}})
    manifest.training = {"config": TrainConfig(train="train.jsonl", epochs=2, max_steps=5, select_by="entities",
                                               learning_rate=1e-4, head_learning_rate=1e-3).record(), "best_epoch": 1}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("- 2 epochs at most (at most 5 optimiser steps: `--max-steps`), best epoch by dev score (`entities` alone: "
            "`--select-by`): epoch 1;") in text
    manifest.training["config"]["epochs"] = 1
    assert "- 1 epoch at most (at most 5" in write_model_card(tmp_path, manifest)


def test_a_calibration_refitted_by_the_calibrate_command_names_its_data(tmp_path):
    """Before: the card kept saying "fitted on the dev set" after `newsmodel calibrate`."""
    ner = replace(NER, span_calibrator={"types": ["PER", "LOC"], "coef": [1.0, 0.5], "intercept": 0.1})
    manifest = Manifest(tasks=[ner, TOPIC], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="train.jsonl", learning_rate=1e-4, head_learning_rate=1e-3).record(),
                         "calibration": {"entities": {}, "topic": {}},
                         "recalibrated": {"topic": {"data": "newer_dev.jsonl", "documents": 40}}}
    manifest.metrics = {"dev": {"entities": {"f1": 0.9}}}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("per task: entities: a span calibrator, fitted on the dev set; topic: none (a fit on `newer_dev.jsonl` "
            "(40 documents, `newsmodel calibrate`, after the figures above) did not lower its ECE).") in text
    manifest.metrics = {}   # no figures to be after, or to check
    text = write_model_card(tmp_path, manifest)
    assert "(40 documents, `newsmodel calibrate`) did not" in text and "figures above" not in text


def test_an_entity_task_left_without_a_span_calibrator_is_not_said_to_have_missed_on_ece_alone(tmp_path):
    """Before: "none (a fit on the dev set did not lower its ECE)", also where the fit was dropped
    for its sign (surer spans more often wrong on dev), as training warns; the manifest keeps no reason."""
    text = card(tmp_path, [NER, STANCE], "train.jsonl")
    assert ("entities: none (a fit on the dev set was not kept: it did not lower its ECE, or it would have scored "
            "surer spans lower); stance: none (a fit on the dev set did not lower its ECE).") in text


def test_only_the_projects_own_folder_is_the_bundled_corpus(tmp_path):
    elsewhere = tmp_path / "shared" / "data" / "fnc1" / "train_stances.csv"   # another corpus's data/ folder
    text = card(tmp_path, [STANCE], str(elsewhere))
    assert "bundled corpus is small" not in text and "is original, written for this project" not in text
    assert "main actors" not in text   # the stance caveat is the bundled corpus's
    assert "of this run.\nSingle-label tasks: accuracy and macro F1.\n`ece_before`" in text and "Multi-label" not in text


def test_the_bundled_corpus_is_known_wherever_the_package_is_installed(tmp_path):
    """`pip install .` puts the package in site-packages, away from the checkout's data/: before,
    a run on the checkout's data/train.jsonl was not known as the bundled corpus."""
    import shutil
    data = tmp_path / "checkout" / "data"   # a checkout that is not where the package is imported from
    data.mkdir(parents=True)
    for name in ("README.md", "train.jsonl"):
        shutil.copy(REPO / "data" / name, data / name)
    text = card(tmp_path, [TOPIC, STANCE], str(data / "train.jsonl"))
    assert "is original, written for this project" in text and "bundled corpus is small" in text


def test_only_the_bundled_corpus_names_its_subjects_as_the_intended_use(tmp_path):
    """Before: a BBC News or CoNLL-2003 checkpoint was meant for those who follow arms control and
    summit diplomacy, the bundled corpus's subjects."""
    text = card(tmp_path, [NER], "eng.train")
    assert "Analysts and ML engineers who follow news and need, for each article,\nits named entities" in text
    assert "arms control" not in text
    text = card(tmp_path, [TOPIC, STANCE], str(REPO / "data" / "train.jsonl"))
    assert ("who follow international news (arms control, summit diplomacy,\nsanctions, conflict, trade) and need, "
            "for each article,\nits `topic` labels") in text


def test_a_pair_task_is_called_with_its_pair_and_a_run_without_dev_claims_no_calibration(tmp_path):
    text = card(tmp_path, [TaskSpec("stance", "pair", ["agree", "unrelated"])], "stances.csv", calibrated=False)
    assert "its `stance` label (of a text pair: a headline against its body)" in text
    assert "call `predict(text, pair=second_text)`" in text
    assert "ece_before" not in text and "calibrated on the dev set" not in text
    assert "Trained without a dev set: the scores are the model's own, uncalibrated" in text


def test_the_window_overlap_is_said_with_a_pairs_exception_only_where_there_is_a_pair_task(tmp_path):
    """Before, a pair checkpoint's card said neighbours share "at least" the overlap, where cut_windows
    shares half the body's room when the first text leaves less than twice the overlap."""
    pair = card(tmp_path, [TaskSpec("stance", "pair", ["agree", "unrelated"])], "stances.csv", calibrated=False)
    assert ("neighbours sharing at least 64 (along a pair's body, half the room its first text leaves where that "
            "is less).") in pair
    assert "neighbours sharing at least 64.\n" in card(tmp_path, [NER, TOPIC], "train.jsonl")


def test_a_run_continued_from_a_checkpoint_says_so(tmp_path):
    manifest = Manifest(tasks=[NER], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="more.jsonl", init_from="checkpoints/news", learning_rate=1e-4,
                                               head_learning_rate=1e-3).record()}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "Continued from the checkpoint at `checkpoints/news` (`--init-from`)" in text   # before: only its 4 documents


def test_a_checkpoints_encoder_given_as_base_names_that_checkpoints_base(tmp_path):
    """Before: "A local encoder: `checkpoints/news`.", with no origin or licence."""
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "manifest.json").write_text(Manifest(tasks=[NER], base_model="e5-small").to_json(), encoding="utf-8")
    manifest = Manifest(tasks=[NER], base_model=str(earlier))
    manifest.training = {"config": TrainConfig(train="more.jsonl", base=str(earlier), learning_rate=1e-4,
                                               head_learning_rate=1e-3).record()}
    text = write_model_card(tmp_path, _counted(manifest))
    assert f"The encoder of the checkpoint at `{earlier}` (`--base`), its heads trained afresh; " \
           "that checkpoint's base: `intfloat/multilingual-e5-small` (`--base e5-small`)" in text
    assert "base_model: intfloat/multilingual-e5-small\n" in text and "license: mit\n" in text


def test_the_runs_paths_are_read_from_the_folder_it_ran_in(tmp_path, monkeypatch):
    """`newsmodel calibrate` from another folder: before, the card lost the bundled corpus's note."""
    manifest = Manifest(tasks=[TOPIC], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="data/train.jsonl", learning_rate=1e-4,
                                               head_learning_rate=1e-3).record(), "cwd": str(REPO)}
    monkeypatch.chdir(REPO)   # where the run ran: the bundled corpus is known then, and recorded
    _counted(manifest)
    assert manifest.training["train_counts"]["bundled"] is True
    monkeypatch.chdir(tmp_path)
    text = write_model_card(tmp_path, manifest)
    assert "is original, written for this project" in text and "bundled corpus is small" in text
    del manifest.training["train_counts"]["bundled"]   # counts recorded without it: read from the run's folder
    assert "is original, written for this project" in write_model_card(tmp_path, manifest)


def test_a_run_of_several_processes_says_each_ran_on_its_device(tmp_path):
    manifest = Manifest(tasks=[NER], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="t.jsonl", learning_rate=1e-4, head_learning_rate=1e-3).record(),
                         "device": "cpu (1 threads)", "precision": "fp32", "processes": 2}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "training on 2 processes, each on cpu (1 threads), fp32" in text   # before: "on cpu (1 threads)"
    assert "batch size 8 per process x 2 processes" in text
    manifest.training["processes"] = 1
    assert "training on cpu (1 threads), fp32" in write_model_card(tmp_path, manifest)


def test_a_label_with_a_bar_stays_in_its_table_cell():
    """Before: the row of the type "A|B" had five cells, its F1 under no heading."""
    from training.model_card import metrics_table
    table = metrics_table({"dev": {"a|b": {"f1": 0.5, "per_type": {"A|B": {"f1": 0.25}}}}})
    assert "| dev | a\\|b | A\\|B F1 | 0.2500 |" in table.splitlines()
    assert all(len(row.replace("\\|", "").split("|")) == 6 for row in table.splitlines())   # four cells each


def test_a_card_of_heads_that_read_words_says_so_and_what_epoch_0_is(tmp_path):
    """Before: nothing of --lexical-terms or a gate, and "best epoch by dev score: epoch 0" unexplained."""
    stance = replace(STANCE, lexical=True, gate="neutral")
    manifest = Manifest(tasks=[NER, replace(TOPIC, lexical=True), stance], base_model="minilm",
                        lexicon=["geneva", "talks", "trade"], metrics={"dev": {"topic": {"micro_f1": 0.5}}})
    manifest.training = {"config": TrainConfig(train="train.jsonl", epochs=2, learning_rate=1e-4,
                                               head_learning_rate=1e-3).record(), "best_epoch": 0}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "best epoch by dev score: epoch 0 (before any fine-tuning step, the lexical branches just fitted);" in text
    assert ("- the `topic` and `stance` heads also read TF-IDF features over 3 training terms (`--lexical-terms`),\n"
            "  through a logistic regression fitted before fine-tuning and held fixed; `stance` decides `neutral` "
            "from them first (`--gate-label`)\n") in text
    assert "--lexical-terms" not in card(tmp_path, [NER, TOPIC], "train.jsonl")


def test_names_with_markdown_characters_are_read_as_written(tmp_path):
    """Before: a type "*P*" was set in italics, "<b>" read as HTML, a type with a line break split its
    table row, a backtick in a file name ended its code span, and "# 2" in a local encoder's path
    was a YAML comment."""
    ner = TaskSpec("entities", "ner", ["O", "B-*P*", "I-*P*", "B-<b>", "I-<b>", "B-x\ny", "I-x\ny"])
    topic = TaskSpec("_t_", "multi", ["__init__", "arms_control"])
    manifest = Manifest(tasks=[ner, topic], base_model="enc # 2",
                        metrics={"dev": {"entities": {"f1": 0.5, "per_type": {"x\ny": {"f1": 0.25}}}}})
    manifest.training = {"config": TrainConfig(train="my`file.jsonl", learning_rate=1e-4,
                                               head_learning_rate=1e-3).record()}
    manifest.training["train_counts"] = train_counts(manifest, [Document("Putin met Trump.", spans={
        "entities": [Span(0, 5, "*P*")]}, labels={"_t_": ["arms_control"]})])
    text = write_model_card(tmp_path, manifest)
    assert "base_model: \"enc # 2\"\n" in text and "A local encoder: `enc # 2`." in text
    assert "# News: entities, \\_t\\_\n" in text
    assert "`entities` (ner: O, B-\\*P\\*, I-\\*P\\*, B-\\<b>, I-\\<b>, B-x y, I-x y), `_t_` (multi: " \
           "\\_\\_init\\_\\_, arms_control)" in text   # within a word, "_" is no emphasis
    assert "Trained on ``my`file.jsonl``;" in text and "- `entities` (ner): \\*P\\* 1\n" in text
    assert "| dev | entities | x y F1 | 0.2500 |\n" in text


def test_a_dataset_given_in_memory_is_said_as_such_not_as_the_configs_marker(tmp_path):
    """Before: "Trained on `<datasets.Dataset 2cac67a8894830c7>`", a repr to a reader of the card."""
    datasets = __import__("pytest").importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": ["Putin met Trump."], "label": ["trade"]})
    manifest = Manifest(tasks=[NER], base_model="minilm")
    manifest.training = {"config": TrainConfig(train=[ds, "more.jsonl"], dev=ds, learning_rate=1e-4,
                                               head_learning_rate=1e-3).record(), "best_epoch": 1}
    text = write_model_card(tmp_path, _counted(manifest))
    fingerprint = ds._fingerprint
    assert (f"Trained on `more.jsonl` and a `datasets.Dataset` given in memory (fingerprint `{fingerprint}`), model "
            f"selection on a `datasets.Dataset` given in memory (fingerprint `{fingerprint}`); no test data.\n") in text
    assert "<datasets.Dataset" not in text


def test_a_pairs_file_is_named_with_the_bodies_file_it_joins_to(tmp_path):
    """Before: "Trained on `stances.csv`", the half of the data that the bodies file holds unnamed."""
    pairs = {"path": "stances.csv", "format": "pairs", "options": {"task": "stance", "bodies": "bodies.csv"}}
    manifest = Manifest(tasks=[TaskSpec("stance", "pair", ["agree", "unrelated"])], base_model="minilm")
    manifest.training = {"config": TrainConfig(train=[pairs], test=[pairs, "more.csv"], learning_rate=1e-4,
                                               head_learning_rate=1e-3).record(), "best_epoch": 1}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("Trained on `stances.csv` (bodies `bodies.csv`), test figures on `stances.csv, more.csv` "
            "(bodies `bodies.csv`); no dev data.\n") in text


def test_the_card_says_the_decision_rule_of_a_multi_label_task(tmp_path):
    """Before, a topic head trained on documents with no topic was said to give labels ("several
    may apply"), never none, and the card said no rule for a document no label reaches."""
    text = card(tmp_path, [TOPIC, STANCE], "train.jsonl")
    assert "- a document gets every `topic` label at or above its threshold, else the best one\n" in text
    text = card(tmp_path, [replace(TOPIC, allows_none=True), STANCE], "train.jsonl")
    assert "gives its `topic` labels (several may apply, or none) and its `stance` label" in text
    assert ("- a document gets every `topic` label at or above its threshold, none where no label reaches it (its "
            "training data had documents with none)\n") in text


def test_a_card_whose_write_fails_leaves_the_old_card_whole(tmp_path, monkeypatch):
    """Before: README.md was written in place, and a full disk left it cut short after `calibrate`
    had already replaced the manifest."""
    import errno
    import pathlib
    (tmp_path / "README.md").write_text("the card of the run\n", encoding="utf-8")
    written = pathlib.Path.write_text

    def disk_full(self, text, *args, **kwargs):
        written(self, text[:100], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(pathlib.Path, "write_text", disk_full)
    with pytest.raises(OSError):
        card(tmp_path, [NER], "train.jsonl")
    monkeypatch.undo()
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "the card of the run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]   # no half-written file beside it


def test_after_calibrate_the_table_shows_the_ece_of_the_calibration_in_place(tmp_path):
    """Before: the run's `ece_after` of a task `newsmodel calibrate` refitted stayed in the table, the
    ECE of a calibration no longer in the manifest, and the ECE calibrate measured was nowhere."""
    manifest = Manifest(tasks=[NER, TOPIC], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="train.jsonl", learning_rate=1e-4, head_learning_rate=1e-3).record(),
                         "calibration": {"entities": {}, "topic": {}},
                         "recalibrated": {"topic": {"data": "new|dev.jsonl", "documents": 40, "ece_before": 0.3,
                                                    "ece_after": 0.05}}}
    manifest.metrics = {"dev": {"entities": {"f1": 0.9, "ece_before": 0.2, "ece_after": 0.1},
                                "topic": {"micro_f1": 0.8, "ece_before": 0.4, "ece_after": 0.25}}}
    text = write_model_card(tmp_path, _counted(manifest))
    rows = text.splitlines()
    assert "| dev | topic | ece_after | 0.2500 |" not in rows   # of the calibration replaced
    assert "| dev | topic | ece_before | 0.4000 |" in rows and "| dev | entities | ece_after | 0.1000 |" in rows
    assert "| `new\\|dev.jsonl` (calibrate) | topic | ece_before | 0.3000 |" in rows
    assert "| `new\\|dev.jsonl` (calibrate) | topic | ece_after | 0.0500 |" in rows
    assert ("Refitted by `newsmodel calibrate` after the run: topic; the run's `ece_after` of these is left out, of "
            "the calibration replaced; the rows `(calibrate)` give the ECE on the data it fitted on") in text
    manifest.metrics = {}   # a run without dev or test data, calibrated since: its ECE is the only figure
    text = write_model_card(tmp_path, manifest)
    assert "no figures; the ECE below is that of `newsmodel calibrate`'s fit, on the data it fitted on." in text
    assert "| `new\\|dev.jsonl` (calibrate) | topic | ece_after | 0.0500 |" in text.splitlines()


def test_a_run_with_test_data_and_no_dev_says_what_its_ece_rows_are(tmp_path):
    """Before: `ece_before` and `ece_after` rows, the same figures, and no line of what they are."""
    manifest = Manifest(tasks=[STANCE], base_model="minilm",
                        metrics={"test": {"stance": {"accuracy": 0.5, "ece_before": 0.2, "ece_after": 0.2}}})
    manifest.training = {"config": TrainConfig(train="t.jsonl", test="test.jsonl", learning_rate=1e-4,
                                               head_learning_rate=1e-3).record(), "best_epoch": 1}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("`ece_before` / `ece_after`: expected calibration error (15 bins) before and after calibration, for\n"
            "the top label's (single-label).\nThis run had no dev data to fit a calibration on: a test `ece_after` "
            "is its `ece_before`.\n") in text
    manifest.training["config"]["init_from"] = "checkpoints/news"
    assert ("a test `ece_after` is its `ece_before`, but for a task that kept the calibration of the checkpoint it "
            "continued.") in write_model_card(tmp_path, manifest)


def test_the_card_says_the_training_settings_the_manifest_records(tmp_path):
    """Before: nothing of --max-train-docs (a seeded random sample), weight decay, layer-wise learning-rate
    decay or label smoothing, and windows "of 256 tokens", which are at most that long."""
    manifest = Manifest(tasks=[NER], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="t.jsonl", max_train_docs=1, weight_decay=0.05, layer_decay=0.8,
                                               label_smoothing=0.1, learning_rate=1e-4, head_learning_rate=1e-3,
                                               seed=7).record()}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("- 1 training documents (`--max-train-docs 1`: where the training data held more, a random sample of that "
            "many, drawn with the run's seed)\n") in text
    assert ("AdamW (weight decay 0.05: the encoder's weights, not biases or LayerNorm), encoder learning rate 0.0001 at "
            "its top layer, times 0.8 per layer below (`--layer-decay`),\n  heads 0.001, linear warm-up over the first 0.1 of "
            "the steps (`--warmup-ratio`), then linear decay, "
            "label smoothing 0.1 (single-label losses, and NER's without a CRF), seed 7\n") in text
    assert "overlapping windows of at most 256 tokens, neighbours sharing at least 64." in text
    config = manifest.training["config"]
    config.update(max_train_docs=5, weight_decay=0.0, layer_decay=1.0, label_smoothing=0.0)   # 1 document: no sample
    text = write_model_card(tmp_path, manifest)
    assert "- 1 training documents\n" in text and ("AdamW (no weight decay), encoder learning rate 0.0001,\n  heads "
                                                   "0.001, linear warm-up over the first 0.1 of the steps (`--warmup-ratio`), then linear decay, seed 7\n") in text
    for key in ("weight_decay", "layer_decay", "label_smoothing", "max_train_docs"):   # a config recorded before them
        del config[key]
    assert "AdamW, encoder learning rate 0.0001,\n  heads 0.001, linear" in write_model_card(tmp_path, manifest)


def test_the_card_says_the_warm_up_the_config_records(tmp_path):
    """Before: "linear warm-up and decay" whatever `--warmup-ratio` the run had, 0 (no warm-up at all) too."""
    manifest = Manifest(tasks=[TOPIC], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="t.jsonl", warmup_ratio=0.25, learning_rate=1e-4,
                                               head_learning_rate=1e-3).record()}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "heads 0.001, linear warm-up over the first 0.25 of the steps (`--warmup-ratio`), then linear decay," in text
    manifest.training["config"]["warmup_ratio"] = 0.0
    assert "heads 0.001, no warm-up, linear decay," in write_model_card(tmp_path, manifest)
    del manifest.training["config"]["warmup_ratio"]   # a config recorded without it: said as before
    assert "heads 0.001, linear warm-up and decay," in write_model_card(tmp_path, manifest)


def test_the_card_says_whether_the_word_shapes_enter_the_encoder(tmp_path):
    """Before: "with the manifest's `shape_input` the shapes also enter the encoder" on every card,
    a checkpoint trained with --no-shape-input too."""
    manifest = Manifest(tasks=[NER], base_model="minilm", shape_input=True)
    manifest.training = {"config": TrainConfig(train="t.jsonl", learning_rate=1e-4, head_learning_rate=1e-3).record()}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("before the NER head, because the uncased encoder cannot see capitalisation;\n  the shapes also enter the "
            "encoder through its token-type embedding (`shape_input`)\n- entities are decoded") in text
    manifest.shape_input = False
    text = write_model_card(tmp_path, manifest)
    assert ("before the NER head, because the uncased encoder cannot see capitalisation, and there alone (not in the "
            "encoder: `--no-shape-input`)\n- entities are decoded") in text and "token-type" not in text


def test_the_figures_of_a_multi_label_task_calibrate_refitted_are_marked_as_before_its_thresholds(tmp_path):
    """Before: the run's topic micro-F1 stood as this checkpoint's, at thresholds `calibrate` had replaced."""
    manifest = Manifest(tasks=[TOPIC, STANCE], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="t.jsonl", learning_rate=1e-4, head_learning_rate=1e-3).record(),
                         "calibration": {"topic": {}, "stance": {}},
                         "recalibrated": {name: {"data": "new.jsonl", "documents": 4, "ece_before": 0.2,
                                                 "ece_after": 0.1} for name in ("topic", "stance")}}
    manifest.metrics = {split: {"topic": {"micro_f1": 0.5, "ece_before": 0.3, "ece_after": 0.2},
                                "stance": {"accuracy": 0.75, "ece_before": 0.3, "ece_after": 0.2}}
                        for split in ("dev", "test")}
    rows = write_model_card(tmp_path, _counted(manifest)).splitlines()
    for split in ("dev", "test"):
        assert f"| {split} | topic | micro_f1 (thresholds before calibrate) | 0.5000 |" in rows
        assert f"| {split} | topic | ece_before | 0.3000 |" in rows   # of the raw scores: no calibration in it
        assert f"| {split} | stance | accuracy | 0.7500 |" in rows   # a temperature moves no single-label decision
    assert ("The run's figures of topic other than `ece_before` predate that refit: they are at the thresholds it "
            "replaced (marked so in the table); `newsmodel evaluate` scores the ones now in place.") in rows


def test_how_to_retrain_gives_the_command_of_this_run_not_the_bundled_corpus(tmp_path):
    """Before: every card, a run on CoNLL-2003 too, showed the bundled corpus's command."""
    manifest = Manifest(tasks=[NER], base_model="minilm")
    manifest.training = {"config": TrainConfig(train="eng.train", dev="eng.testa", output="checkpoints/conll",
                                               epochs=3, crf=True, learning_rate=1e-4, head_learning_rate=1e-3).record()}
    text = write_model_card(tmp_path, _counted(manifest))
    assert ("This run's command, from the folder it ran in (the settings at their defaults left out):\n```bash\n"
            "python -m training train --train eng.train --dev eng.testa --output checkpoints/conll --epochs 3 \\\n"
            "    --learning-rate 0.0001 --head-learning-rate 0.001 --crf\n```\n") in text
    assert "data/train.jsonl --dev" not in text
    manifest.training["config"]["dev"] = [{"path": "dev.csv", "format": "classification", "options": {"task": "topic"}}]
    assert "give its `training.config` as a TOML `--config` file" in write_model_card(tmp_path, manifest)
    # a review's case: a run on the bundled training file alone, with settings of its own, got `make train`'s
    # command, with --dev and --test files it never read and without its settings
    bundled = card(tmp_path, [TOPIC], str(REPO / "data" / "train.jsonl"))
    assert f"python -m training train --train {REPO / 'data' / 'train.jsonl'}" in bundled
    assert "--dev" not in bundled


CSV = {"path": "-topics.csv", "format": "classification", "options": {"multi": True, "task": "topic", "skip_empty": False}}


@pytest.mark.parametrize("train, settings", [
    ("eng.train", {"epochs": 3, "crf": True, "learning_rate": 1e-4, "measure_runtimes": False, "lexical_terms": 500,
                   "warmup_ratio": 0.2, "max_train_docs": 100}),
    ("eng.train", {"dev_fraction": 0.2, "base": "e5-small", "seed": 4, "shape_input": False, "recase_capitals": False,
                   "precision": "bf16"}),
    # a review's case: reader flags on or off (--multi True was no flag), and a path opening with a dash
    (CSV, {"epochs": 2}),
    # a review's cases: any value opening with a dash, not only a data path's
    ({**CSV, "path": "topics.csv", "options": {"delimiter": "-;", "task": "topic"}}, {"output": "-ckpt"}),
    ({"path": "stances.csv", "format": "pairs", "options": {"bodies": "-bodies.csv"}}, {"model_card": "-card.md"})])
def test_the_retrain_command_on_a_card_parses_into_the_run_it_names(train, settings):
    """The card's rebuilt command, read by `train`'s own parser, gives the config it was rebuilt from."""
    import argparse
    import shlex
    from training.cli import train as train_command
    from training.model_card import _command
    recorded = TrainConfig(train=train, **{"output": "checkpoints/conll", **settings}).record()
    parser = argparse.ArgumentParser()
    train_command.add_parser(parser.add_subparsers(dest="command"))
    words = shlex.split(_command(recorded).replace("\\\n", " "))
    assert words[:4] == ["python", "-m", "training", "train"]
    parsed = train_command.train_config(parser.parse_args(words[3:])).record()
    table = {"path": "eng.train", "format": "auto", "options": {}} if train == "eng.train" else \
        {**train, "options": {k: v for k, v in train["options"].items() if v is not False}}   # a flag left off is not recorded
    assert parsed == {**recorded, "train": [table]}


@pytest.mark.parametrize("options", [{"strict": True}, {"id_field": "ID"}])
def test_a_reader_option_only_a_config_file_sets_gets_the_config_file_advice(options):
    """A review's case: `strict` became `--strict`, which `train` has no flag for."""
    from training.model_card import _command
    assert _command(TrainConfig(train=[{"path": "x.conll", "format": "conll", "options": options}]).record()) is None


def test_a_run_on_the_bundled_files_and_its_own_gets_its_own_command(tmp_path):
    """A review's case: a run on data/train.jsonl and a file of its own got the bundled corpus's
    command, which drops its file."""
    manifest = Manifest(tasks=[TOPIC], base_model="minilm")
    manifest.training = {"cwd": str(REPO), "config": TrainConfig(
        train=["data/train.jsonl", "mine.jsonl"], learning_rate=1e-4, head_learning_rate=1e-3).record()}
    text = write_model_card(tmp_path, _counted(manifest))
    assert "python -m training train --train data/train.jsonl --train mine.jsonl" in text
