import re

import pytest
import torch

from inference.checkpoint import load_checkpoint
from training.schema import NEWS_SCHEMA
from training.sources import merge_schemas
from training.initial_model import continue_from


def test_new_labels_get_new_rows_and_old_rows_are_kept(tiny_checkpoint):
    old, _, _ = load_checkpoint(tiny_checkpoint)
    wider = merge_schemas(NEWS_SCHEMA, {"topic": {"kind": "multi", "labels": ["cyber"]},
                                        "entities": {"kind": "ner", "labels": ["WEAPON"]},
                                        "region": {"kind": "single", "labels": ["europe", "asia"]}},
                          "the news schema", "data")
    messages = []
    model, _, base, schema, lexicon = continue_from(str(tiny_checkpoint), wider, messages.append)
    assert model.tasks["topic"].labels[-1] == "cyber" and "B-WEAPON" in model.tasks["entities"].labels
    for task in ("topic", "entities", "stance"):
        old_labels = old.tasks[task].labels
        for row, label in enumerate(model.tasks[task].labels):
            if label in old_labels:
                assert torch.equal(model.heads[task].weight[row], old.heads[task].weight[old_labels.index(label)])
    assert torch.equal(model.shape_embedding.weight, old.shape_embedding.weight)
    assert any("new labels cyber" in m for m in messages) and any("new task 'region'" in m for m in messages)
    assert lexicon == []   # the tiny checkpoint has no lexical branches


def test_a_kind_conflict_with_the_checkpoint_names_it(tiny_checkpoint):
    with pytest.raises(ValueError, match=rf"^task 'stance' is multi at this run's data but single in the checkpoint "
                                         rf"{re.escape(str(tiny_checkpoint))}$"):
        continue_from(str(tiny_checkpoint), {"stance": {"kind": "multi", "labels": ["neutral"]}}, print)


def test_a_task_the_run_does_not_train_keeps_its_calibration(tiny_checkpoint, tmp_path):
    """Before: every carried-over head came back uncalibrated (temperature 1, thresholds 0.5, no
    span calibrator), and a task the new dev set does not annotate stayed so."""
    import json
    import shutil
    checkpoint = shutil.copytree(tiny_checkpoint, tmp_path / "calibrated")
    manifest = json.loads((checkpoint / "manifest.json").read_text())
    calibration = {"topic": {"temperature": 1.7, "thresholds": {"trade": 0.3}}, "stance": {"temperature": 0.8},
                   "entities": {"span_calibrator": {"types": ["PER"], "coef": [1.0, 0.0, 0.0, 0.0], "intercept": -0.5}}}
    for task in manifest["tasks"]:
        task.update(calibration[task["name"]])
    (checkpoint / "manifest.json").write_text(json.dumps(manifest))
    model, *_ = continue_from(str(checkpoint), {"topic": {"kind": "multi", "labels": ["trade"]}}, print)
    stance, entities, topic = (model.tasks[name] for name in ("stance", "entities", "topic"))
    assert stance.temperature == 0.8 and entities.span_calibrator == calibration["entities"]["span_calibrator"]
    assert (topic.temperature, topic.thresholds) == (1.0, {})   # trained again: fitted anew, or left raw


def test_a_lexical_head_the_run_does_not_train_is_carried_over_whole(tiny_base, tmp_path):
    """Before: its lexical branch came back empty and fitting the new data's (none of it annotated
    for the task) zeroed its encoder part too, so the carried-over head lost all it had learnt."""
    from transformers import AutoModel, AutoTokenizer
    from inference.checkpoint import save_checkpoint
    from inference.lexical import Lexicon
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    from training.corpus import Document, Span
    from training.lexical_fit import fit_lexical_heads, fit_lexicon, flag_tasks
    from training.schema import task_specs
    docs = [Document(t, labels={"topic": [l], "stance": [s]}) for t, l, s in [
        ("Oil talks in Vienna.", "trade", "neutral"), ("Grain exports fell.", "trade", "critical"),
        ("Troops moved.", "other", "supportive")]]
    tasks = task_specs({"topic": {"kind": "multi", "labels": ["trade", "other"]}, "entities": NEWS_SCHEMA["entities"],
                        "stance": {"kind": "single", "labels": ["neutral", "critical", "supportive"]}})
    flag_tasks(tasks, lexical=True, gate_label="neutral")   # stance's gate decides neutral first
    lexicon = fit_lexicon(docs, 20)
    torch.manual_seed(0)
    old = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), tasks, lexicon_size=len(lexicon))
    fit_lexical_heads(old, docs, lexicon, print)
    save_checkpoint(old, AutoTokenizer.from_pretrained(tiny_base),
                    Manifest(tasks=tasks, base_model="tiny", lexicon=lexicon.vocabulary), tmp_path / "lexical")
    new_docs = [Document("Talks in Vienna.", spans={"entities": [Span(9, 15, "LOC")]})]
    model, _, _, _, vocabulary = continue_from(str(tmp_path / "lexical"), {"entities": NEWS_SCHEMA["entities"]}, print)
    fit_lexical_heads(model, new_docs, Lexicon(vocabulary, model.lexicon_idf.numpy()), print)
    assert torch.equal(model.lexical["topic"], old.lexical["topic"]) and not model.lexical["topic"].requires_grad
    assert torch.equal(model.heads["topic"].weight, old.heads["topic"].weight)
    assert old.gates["stance"].abs().sum() > 0   # fitted, so a gate left at its zero start would show
    assert torch.equal(model.gates["stance"], old.gates["stance"]) and not model.gates["stance"].requires_grad
    assert torch.equal(model.lexical["stance"], old.lexical["stance"])


@pytest.mark.parametrize("name, content, flag, head", [
    ("t.csv", "text,label\nTariffs rose in Paris.,trade\nTroops moved.,other\n", "--task", "topic"),
    ("d.jsonl", '{"text": "Tariffs rose.", "label": ["trade"]}\n', "--label-task", "topic"),
    ("a.conll", "Putin NNP B-NP B-PER\nin IN B-PP O\n", "--task", "names"),
])
def test_data_whose_task_name_is_the_readers_default_is_refused_beside_a_checkpoint_head_of_its_kind(
        tmp_path, name, content, flag, head):
    """Before: `--init-from` a checkpoint with a `topic` head and a CSV of topic labels without --task
    trained a new head `label` beside `topic` (the CSV reader's default name), saying only "new task
    'label'", and `topic` learnt nothing from the new annotations."""
    from inference.checkpoint import write_manifest
    from inference.manifest import Manifest
    from training.config import TrainConfig
    from training.corpus import DataError
    from training.data import read_data
    from training.schema import task_specs
    checkpoint = tmp_path / "news"
    checkpoint.mkdir()
    schema = {**NEWS_SCHEMA, "names": NEWS_SCHEMA["entities"]}
    del schema["entities"]
    write_manifest(checkpoint, Manifest(tasks=task_specs(schema), base_model="tiny"))
    (tmp_path / name).write_text(content, encoding="utf-8")
    source = {"path": str(tmp_path / name), "format": "doccano"} if name.endswith("jsonl") else str(tmp_path / name)
    default = "entities" if name.endswith("conll") else "label"
    with pytest.raises(DataError, match=rf"^{re.escape(str(tmp_path / name))}: its .* go to task '{default}', the "
                                        rf".* reader's default name, and the checkpoint {re.escape(str(checkpoint))} "
                                        rf"has no task '{default}' \(its tasks: topic \(multi\), stance \(single\), "
                                        rf"names \(ner\)\): the run would train a new head '{default}' beside them. "
                                        rf"Give {flag} {head} \(reader option .*\) to train the checkpoint's head, or "
                                        rf"{flag} {default} for a new head$"):
        read_data(TrainConfig(train=source, init_from=str(checkpoint)))
    option = flag[2:].replace("-", "_")
    for task in (head, default):   # named: the checkpoint's head, or a new one asked for
        given = {"path": str(tmp_path / name), "options": {option: task}}
        assert task in read_data(TrainConfig(train=given if "jsonl" not in name else {**given, "format": "doccano"},
                                             init_from=str(checkpoint))).schema


def test_a_default_named_task_of_a_new_kind_or_new_labels_is_no_head_of_the_checkpoints():
    """A review's cases, refused before as if they annotated a head: labels of a pair beside a head of
    one text that shares them (and the reverse), labels shared with no head, and a test file."""
    from inference.manifest import Manifest
    from training.corpus import Document
    from training.data import defaulted_new_tasks
    from training.schema import task_specs
    from training.sources import Source
    kept = Manifest(tasks=task_specs({**NEWS_SCHEMA, "tone": {"kind": "pair", "labels": ["agree", "neutral"]}}),
                    base_model="tiny")
    source = Source("t.csv")
    doc = lambda labels, pair=None: Document("Talks resume.", labels={"label": labels}, text_pair=pair)
    refused = lambda split, *docs: defaulted_new_tasks({split: [(source, list(docs))]}, kept, "news")
    assert refused("train", doc(["neutral"]))   # shares stance's label, a head of one text: the likely head
    assert "Give --task stance " in refused("train", doc(["neutral"]))[0]
    assert "Give --task tone " in refused("train", doc(["agree"], "The body."))[0]   # a pair: tone, not stance
    assert refused("train", doc(["agree"])) == []   # one text: no head of one text has it
    assert refused("train", doc(["pos"]), doc(["neg"])) == []   # shared with no head: a new task
    assert refused("test", doc(["neutral"])) == []   # trains no head


def test_a_continued_checkpoint_records_the_sha256_of_the_weights_it_started_from(tiny_checkpoint, tmp_path):
    """Before: the manifest named the --init-from checkpoint by its path alone, so a checkpoint moved
    or replaced there since could not be told from the one the run started from."""
    import hashlib
    import json
    import shutil
    from conftest import REPO
    from training.config import TrainConfig
    from training.trainer import train
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    start = shutil.copytree(tiny_checkpoint, tmp_path / "start")
    files = ("model.safetensors", "heads.safetensors")
    before = {name: hashlib.sha256((start / name).read_bytes()).hexdigest() for name in files}
    for output in (tmp_path / "next", start):   # in place too: the weights it started from, not its own save's
        train(TrainConfig(train=str(tmp_path / "train.jsonl"), init_from=str(start), output=str(output), epochs=1,
                          max_steps=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False),
              log=lambda m: None)
        assert json.loads((output / "manifest.json").read_text())["training"]["init_from_sha256"] == before
