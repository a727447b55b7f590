"""End to end: train a few steps on a slice of the bundled corpus, then predict."""
import json
import os
import re
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO
from inference import load
from inference.lexical import vocabulary_sha256
from inference.runtimes import available, choose
from inference.manifest import Manifest
from training.corpus import DataError
from training.config import TrainConfig
from training.trainer import check_before_reading, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp / "train.jsonl").write_text("\n".join(lines[:12]) + "\n", encoding="utf-8")
    (tmp / "dev.jsonl").write_text("\n".join(lines[12:16]) + "\n", encoding="utf-8")
    config = TrainConfig(train=str(tmp / "train.jsonl"), dev=str(tmp / "dev.jsonl"), test=str(tmp / "dev.jsonl"),
                         output=str(tmp / "ckpt"), epochs=2, batch_size=4, max_steps=4, window_length=128,
                         window_overlap=32, group_by_length=True, attention_dropout=0.0,
                         model_card=str(tmp / "card.md"))
    result = train(config, log=lambda m: None)
    return config, result


def test_training_writes_a_loadable_checkpoint_with_metrics(trained):
    config, result = trained
    manifest = json.loads(open(f"{config.output}/manifest.json").read())
    assert {t["name"] for t in manifest["tasks"]} == {"entities", "topic", "stance"}
    assert set(manifest["metrics"]) == {"dev", "test"}
    assert 0.0 <= result["test"]["entities"]["f1"] <= 1.0
    assert manifest["training"]["data_sha256"][config.train]
    recorded = manifest["training"]["config"]   # the base encoder's rates, resolved, so the run can be repeated
    assert (recorded["learning_rate"], recorded["head_learning_rate"]) == (1.5e-4, 1e-3)
    assert recorded["attention_dropout"] == 0.0
    assert json.loads(open(f"{config.output}/config.json").read())["attention_probs_dropout_prob"] == 0.0
    entities = next(t for t in manifest["tasks"] if t["name"] == "entities")
    assert "Moscow" in entities["seen_entities"] or len(entities["seen_entities"]) > 20   # training names, for calibration
    model = load(config.output)
    assert set(manifest["runtimes"]) == set(available())               # each scored and timed on dev
    assert all(set(r["dev"]) == {"entities", "topic", "stance"} and r["words_per_second"] > 0
               for r in manifest["runtimes"].values())
    assert model.runtime == choose(manifest["runtimes"])[0]
    text = "GENEVA, May 4 - Russian and American negotiators met on Tuesday."
    prediction = model.predict(text)
    assert all(text[e.start:e.end] == e.text for e in prediction.entities)
    assert len(prediction.labels["topic"]) == 6


def test_model_card_holds_this_runs_figures(trained):
    config, result = trained
    card = open(config.model_card).read()
    assert card.startswith("---\n") and "base_model:" in card
    assert f"| test | entities | f1 | {result['test']['entities']['f1']:.4f} |" in card
    assert "batch size 4 (windows of similar length together)" in card   # the run's batching, as configured
    assert ("linear warm-up over the first 0.1 of the steps (`--warmup-ratio`), then linear decay, no dropout on the "
            "attention probabilities, seed 13") in card   # before: "linear warm-up and decay", the ratio unsaid
    assert "through its token-type embedding (`shape_input`)\n" in card   # the run's default, --shape-input
    assert "(Viterbi); within a document" in card   # no CRF
    assert "minutes of training on cpu (" in card and "threads), fp32\n" in card   # what made the figures
    assert open(f"{config.output}/README.md").read() == card
    counts = Manifest.read(f"{config.output}/manifest.json").training["train_counts"]   # the card can be redrawn
    assert f"- {counts['documents']} training documents\n" in card and counts["documents"] > 0


def test_same_seed_same_metrics(trained, tmp_path):
    config, result = trained
    again = train(TrainConfig(**{**config.__dict__, "output": str(tmp_path / "again"), "model_card": None}),
                  log=lambda m: None)
    assert again["dev"] == result["dev"]


def test_select_by_an_unknown_task_stops_before_training(trained, tmp_path):
    config, _ = trained
    bad = TrainConfig(**{**config.__dict__, "output": str(tmp_path / "bad"), "select_by": "sentiment"})
    with pytest.raises(DataError, match="select_by: no task 'sentiment'.*entities, stance, topic"):
        train(bad, log=lambda m: None)
    assert not (tmp_path / "bad").exists()


def test_select_by_without_dev_data_stops_before_training(trained, tmp_path):
    config, _ = trained
    bad = TrainConfig(**{**config.__dict__, "output": str(tmp_path / "bad"), "select_by": "topic", "dev": None,
                         "dev_fraction": 0.0})
    with pytest.raises(DataError, match="select_by 'topic': there is no dev data to select the epoch on"):
        train(bad, log=lambda m: None)   # before: taken, and nothing selected
    assert not (tmp_path / "bad").exists()


def test_layer_decay_lowers_the_learning_rate_layer_by_layer(news_tasks):
    from transformers import BertConfig, BertModel

    from inference.modeling import MultiTaskModel
    from training.optimization import optimizer_for
    encoder = BertModel(BertConfig(vocab_size=100, hidden_size=8, num_hidden_layers=3, num_attention_heads=2,
                                   intermediate_size=16), add_pooling_layer=False)
    model = MultiTaskModel(encoder, news_tasks)
    config = TrainConfig(train="x", output="y", learning_rate=1.0, head_learning_rate=5.0, layer_decay=0.5)
    lr_of = {id(p): g["lr"] for g in optimizer_for(model, config).param_groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert lr_of[id(named["encoder.embeddings.word_embeddings.weight"])] == 0.5 ** 3
    for layer in range(3):
        assert lr_of[id(named[f"encoder.encoder.layer.{layer}.output.dense.weight"])] == 0.5 ** (2 - layer)
    assert lr_of[id(named["heads.entities.weight"])] == 5.0
    assert len(lr_of) == len(named)  # every parameter is optimised, once


def test_lexical_branches_are_fitted_first_and_kept_in_the_checkpoint(trained, tmp_path):
    config, _ = trained
    lexical = TrainConfig(**{**config.__dict__, "output": str(tmp_path / "lexical"), "model_card": None,
                             "lexical_terms": 300, "measure_runtimes": False})
    result = train(lexical, log=lambda m: None)
    manifest = json.loads((tmp_path / "lexical" / "manifest.json").read_text())
    assert len(manifest["lexicon"]) == 300
    assert manifest["lexicon_sha256"] == vocabulary_sha256(manifest["lexicon"])   # before: none, edits went unseen
    assert {t["name"]: t["lexical"] for t in manifest["tasks"]} == {"entities": False, "topic": True, "stance": True}
    assert manifest["training"]["history"][0]["epoch"] == 0      # the lexical branches alone, scored first
    model = load(tmp_path / "lexical")
    assert model.lexicon is not None and len(model.lexicon) == 300
    prediction = model.predict("Sanctions on Iran's oil exports were tightened in Vienna.")
    assert abs(sum(l.score for l in prediction.labels["stance"]) - 1) < 1e-4
    assert result["dev"]["topic"]["documents"] == 4


def test_each_run_trains_with_the_recipe_of_its_base_and_tasks(tiny_base, tmp_path, monkeypatch):
    import dataclasses
    import shutil

    from training import base_models
    # e5-small's two recipes on a tiny encoder: with document heads its default, with NER alone the other
    tiny = dataclasses.replace(base_models.BASE_MODELS["e5-small"], name="tiny")
    monkeypatch.setitem(base_models.BASE_MODELS, "tiny", tiny)
    monkeypatch.setitem(base_models._LOCATORS, "tiny", lambda: tiny_base)
    (tmp_path / "ner.conll").write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
                                        "German JJ B-NP B-MISC\ncall NN I-NP O\n\n", encoding="utf-8")
    news = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    (tmp_path / "news.jsonl").write_text("\n".join(news) + "\n", encoding="utf-8")
    assert tiny.entities_only.learning_rate != tiny.recipe.learning_rate
    assert tiny.entities_only.attention_dropout != tiny.recipe.attention_dropout
    assert tiny.entities_only.recase_capitals != tiny.recipe.recase_capitals
    assert tiny.entities_only.crf != tiny.recipe.crf
    given = base_models.Recipe(learning_rate=2e-5, head_learning_rate=3e-3, attention_dropout=0.2,
                               recase_capitals=False, crf=False)

    def recorded(data: str, output: str, **settings) -> tuple:
        train(TrainConfig(**{"train": str(tmp_path / data), "base": "tiny", "output": str(tmp_path / output),
                             "epochs": 1, "max_steps": 1, "window_length": 64, "window_overlap": 16,
                             "measure_runtimes": False, **settings}), log=lambda m: None)
        manifest = json.loads((tmp_path / output / "manifest.json").read_text())
        config = manifest["training"]["config"]
        saved = json.loads((tmp_path / output / "config.json").read_text())["attention_probs_dropout_prob"]
        assert saved == config["attention_dropout"]   # the checkpoint says what it trained with
        assert manifest["recase_capitals"] == config["recase_capitals"]
        assert all(t["crf"] == config["crf"] for t in manifest["tasks"] if t["kind"] == "ner")
        return config["learning_rate"], config["head_learning_rate"], config["attention_dropout"], \
            config["recase_capitals"], config["crf"]

    def pair(recipe) -> tuple:
        return (recipe.learning_rate, recipe.head_learning_rate, recipe.attention_dropout, recipe.recase_capitals,
                recipe.crf)

    assert recorded("ner.conll", "ner") == pair(tiny.entities_only)
    assert recorded("news.jsonl", "news") == pair(tiny.recipe)
    assert recorded("ner.conll", "ner_given", **given.__dict__) == pair(given)   # flags win over the recipe
    # continued on NER alone, a checkpoint with document heads keeps them, so their recipe
    assert recorded("ner.conll", "news_then_ner", init_from=str(tmp_path / "news")) == pair(tiny.recipe)
    assert recorded("news.jsonl", "ner_given_then_news", init_from=str(tmp_path / "ner_given")) == pair(tiny.recipe)
    # an encoder given by path: the rates for any encoder, and the dropout its own config gives
    folder = shutil.copytree(tiny_base, tmp_path / "folder")
    encoder_config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**encoder_config, "attention_probs_dropout_prob": 0.3}))
    assert recorded("ner.conll", "by_path", base=str(folder)) == (*pair(base_models.OTHER_RECIPE)[:2], 0.3, False,
                                                                  False)


def test_a_moving_average_of_the_weights_is_what_gets_scored_and_saved(tiny_base, tmp_path):
    from safetensors.torch import load_file

    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:8]) + "\n", encoding="utf-8")

    def saved_weights(output: str, ema_decay: float) -> dict:
        # one epoch of 3 steps: its checkpoint is the one saved
        train(TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "train.jsonl"), base=tiny_base,
                          output=str(tmp_path / output), epochs=1, max_steps=3, batch_size=4, window_length=64,
                          window_overlap=16, ema_decay=ema_decay, measure_runtimes=False, model_card=None),
              log=lambda m: None)
        card = (tmp_path / output / "README.md").read_text()
        assert ("moving average of the weights kept" in card) == bool(ema_decay)
        return load_file(str(tmp_path / output / "model.safetensors"))

    plain, averaged, tracking = saved_weights("plain", 0.0), saved_weights("ema", 0.9), saved_weights("near", 1e-9)
    assert plain.keys() == averaged.keys()
    assert any(not (plain[k] - averaged[k]).abs().max() < 1e-6 for k in plain)  # the average, not the last step
    assert all((plain[k] - tracking[k]).abs().max() < 1e-5 for k in plain)      # decay ~0: the last step itself


def train_on_four_articles(tmp_path, name: str, **settings):
    """A one-epoch run on the first four bundled training articles (also its dev set), into tmp_path/name."""
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    train(TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "train.jsonl"), output=str(tmp_path / name),
                      epochs=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False,
                      model_card=None, **settings),
          log=lambda m: None)
    return tmp_path / name


def test_recasing_is_recorded_and_used_by_predict(tiny_e5_base, tmp_path):
    from inference.tokenization import encode

    output = train_on_four_articles(tmp_path, "recased", base=tiny_e5_base, max_steps=1, recase_capitals=True)
    assert json.loads((output / "manifest.json").read_text())["recase_capitals"] is True
    assert "lines wholly in capitals" in (output / "README.md").read_text()
    model = load(str(output))
    text = "RUSSIA AND UKRAINE RESUME TALKS\nOfficials of Russia and Ukraine said talks resume."
    assert model.encode([text])[0].input_ids == encode(model.tokenizer, text, recase=True).input_ids
    assert model.encode([text])[0].input_ids != encode(model.tokenizer, text).input_ids
    assert model.encode([text])[0].words == encode(model.tokenizer, text).words   # offsets of the text as written
    # continued without the flag, the checkpoint goes on reading text as it learnt to
    train(TrainConfig(train=str(tmp_path / "train.jsonl"), init_from=str(output), output=str(tmp_path / "continued"),
                      epochs=1, max_steps=1, batch_size=4, window_length=64, window_overlap=16,
                      measure_runtimes=False, model_card=None),
          log=lambda m: None)
    assert json.loads((tmp_path / "continued" / "manifest.json").read_text())["recase_capitals"] is True


def test_a_continued_run_reads_the_checkpoints_manifest_once(tiny_checkpoint, tmp_path, monkeypatch):
    """Before: read and parsed four times at startup (data, warnings, the model, its recasing)."""
    read, reads = Manifest.read.__func__, []
    monkeypatch.setattr(Manifest, "read", classmethod(lambda cls, path: reads.append(Path(path)) or read(cls, path)))
    train_on_four_articles(tmp_path, "continued", init_from=str(tiny_checkpoint), max_steps=1)
    assert reads.count(tiny_checkpoint / "manifest.json") == 1


def test_a_continued_checkpoint_records_the_runs_before_it_and_calibrate_refuses_their_training_files(
        tiny_checkpoint, tmp_path, capsys):
    """Before: a checkpoint continued with --init-from recorded its latest run's files alone, so
    `calibrate --data` an earlier run's training file fitted on documents the weights had learnt,
    and the card sent the reader to the earlier checkpoint's card (one an in-place run replaced)."""
    from training.cli import main
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    files = [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]
    for n, file in enumerate(files):
        file.write_text("\n".join(lines[4 * n:4 * n + 4]) + "\n", encoding="utf-8")
    # the tiny checkpoint (no record of its training) -> first -> second, then second again in place
    for data, start, output in ((files[0], tiny_checkpoint, "first"), (files[1], tmp_path / "first", "second"),
                                (files[1], tmp_path / "second", "second")):
        train(TrainConfig(train=str(data), init_from=str(start), output=str(tmp_path / output), epochs=1, max_steps=1,
                          batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False),
              log=lambda m: None)
    checkpoint = tmp_path / "second"
    runs = json.loads((checkpoint / "manifest.json").read_text())["training"]["earlier_runs"]
    assert [run["train"] for run in runs] == [None, str(files[0]), str(files[1])]
    assert list(runs[1]["data_sha256"]) == [str(files[0])]
    card = (checkpoint / "README.md").read_text()
    assert (f"Those runs, oldest first:\n- a run whose data files its checkpoint does not record\n- Trained on "
            f"`{files[0]}`; no dev or test data\n- Trained on `{files[1]}`; no dev or test data\n") in card
    before = (checkpoint / "manifest.json").read_bytes()
    assert main(["calibrate", "--checkpoint", str(checkpoint), "--data", str(files[0]), "--device", "cpu"]) == 2
    assert f"{files[0]}: the checkpoint was trained on this file ({files[0]}, by the SHA-256 its manifest records)" \
        in capsys.readouterr().err
    assert (checkpoint / "manifest.json").read_bytes() == before


def test_a_checkpoint_continued_before_runs_were_kept_counts_a_run_it_does_not_record():
    """Before, its own run alone was listed, and the card's "Those runs, oldest first" read as complete."""
    from types import SimpleNamespace
    from training.trainer import earlier_runs
    config = {"train": "b.jsonl", "dev": None, "test": None, "dev_fraction": 0.0}
    continued = SimpleNamespace(training={"config": {**config, "init_from": "a"}, "data_sha256": {"b.jsonl": "f0"}})
    assert earlier_runs(continued) == [{}, {**config, "data_sha256": {"b.jsonl": "f0"}}]
    fresh = SimpleNamespace(training={"config": config, "data_sha256": {"b.jsonl": "f0"}})
    assert earlier_runs(fresh) == [{**config, "data_sha256": {"b.jsonl": "f0"}}]
    from training.model_card import _earlier_run
    assert _earlier_run({}) == "- one or more runs whose data files were not recorded (continued before runs were kept)"


def test_a_crf_head_keeps_its_transitions_in_the_checkpoint_and_decodes_with_them(tiny_base, tmp_path):
    from safetensors.torch import load_file

    from training.initial_model import continue_from

    output = train_on_four_articles(tmp_path, "crf", base=tiny_base, max_steps=2, crf=True)
    task = next(t for t in json.loads((output / "manifest.json").read_text())["tasks"] if t["kind"] == "ner")
    saved = load_file(str(output / "heads.safetensors"))[f"transitions.{task['name']}"]
    assert task["crf"] and saved.shape == (len(task["labels"]),) * 2 and saved.abs().max() > 0   # trained
    assert saved.flatten().tolist() == pytest.approx(sum(task["transitions"], []))   # decoding reads what training learnt
    assert "(Viterbi, adding the transition scores of a CRF trained with the encoder)" in (output / "README.md").read_text()
    model = load(str(output))
    ner = model.manifest.task(task["name"])
    ner.transitions = [[-1e3 if label == "O" else 0.0 for label in ner.labels] for _ in ner.labels]   # O ruled out
    words = "Officials of Russia and Ukraine met in Geneva".split()
    covered = sum(len(e.text.split()) for e in model.predict(" ".join(words)).entities)
    assert covered >= len(words) - 1   # only a text's first word can still be O: predict decodes with the transitions
    continued, *_ = continue_from(str(output), {}, log=lambda m: None)
    assert continued.tasks[task["name"]].crf
    assert continued.transitions[task["name"]].tolist() == saved.tolist()


def test_label_smoothing_with_a_crf_says_the_ner_loss_takes_none(tiny_base, tmp_path, monkeypatch):
    from training.trainer import Trainer

    class Stop(Exception):
        pass

    def stop(self):
        raise Stop
    monkeypatch.setattr(Trainer, "run_epochs", stop)   # the warning comes before the first step
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    for crf in (True, False):
        logged = []
        with pytest.raises(Stop):
            train(TrainConfig(train=str(tmp_path / "train.jsonl"), output=str(tmp_path / "out"), base=tiny_base,
                              crf=crf, label_smoothing=0.1, window_length=64, window_overlap=16), log=logged.append)
        assert any("--label-smoothing 0.1 leaves the NER loss unsmoothed" in line for line in logged) == crf


def test_a_setting_that_is_on_or_off_takes_true_or_false_only():
    with pytest.raises(ValueError, match="recase_capitals: 'false' is not true or false"):
        TrainConfig(train="x", output="y", recase_capitals="false")   # as a TOML string would give it


def test_bf16_on_the_cpu_is_recorded_and_trains_other_weights_than_fp32(tiny_base, tmp_path):
    from safetensors.torch import load_file

    runs = {p: train_on_four_articles(tmp_path, p, base=tiny_base, max_steps=2, precision=p) for p in ("fp32", "bf16")}
    assert [json.loads((runs[p] / "manifest.json").read_text())["training"]["precision"] for p in runs] == list(runs)
    fp32, bf16 = (load_file(str(runs[p] / "model.safetensors")) for p in runs)
    assert all(w.dtype == bf16[k].dtype for k, w in fp32.items())    # fp32 weights either way
    assert any(not torch.equal(w, bf16[k]) for k, w in fp32.items())  # the steps did run in bf16


def test_an_unknown_precision_stops_before_training():
    with pytest.raises(ValueError, match="precision: 'fp16' is not one of auto, fp32, bf16"):
        TrainConfig(train="x", output="y", precision="fp16")


def test_ema_decay_must_be_below_one():
    with pytest.raises(ValueError, match="ema_decay: 1.0 is not in"):
        TrainConfig(train="x", output="y", ema_decay=1.0)


def test_windows_longer_than_the_encoders_positions_are_refused_before_the_first_step(tiny_base, tmp_path):
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    positions = json.loads((Path(str(tiny_base)) / "config.json").read_text())["max_position_embeddings"]
    with pytest.raises(ValueError, match=rf"window length {positions + 1}: .* fit the encoder's {positions} positions"):
        train(TrainConfig(train=str(tmp_path / "train.jsonl"), base=tiny_base, output=str(tmp_path / "out"),
                          window_length=positions + 1, window_overlap=16, measure_runtimes=False, model_card=None),
              log=lambda m: None)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("start", ["base folder", "minilm", "init_from"])
def test_windows_longer_than_the_encoders_positions_are_refused_before_the_data_are_read(tiny_base, tiny_checkpoint,
                                                                                         tmp_path, start):
    """Before: refused only once every file was read and the encoder loaded (a minute on 2 cores),
    though its config.json says its positions: here the training file is not there to read."""
    settings = {"base folder": {"base": tiny_base}, "minilm": {"base": "minilm"},
                "init_from": {"init_from": str(tiny_checkpoint)}}[start]
    with pytest.raises(ValueError) as refused:
        train(TrainConfig(train=str(tmp_path / "gone.jsonl"), output=str(tmp_path / "out"), window_length=100_000,
                          measure_runtimes=False, model_card=None, **settings), log=lambda m: None)
    assert str(refused.value) == "window length 100000: it must exceed the overlap (64) and the 2 special tokens, " \
                                 "and fit the encoder's 512 positions"


def _pickled_base(tiny_base, tmp_path):
    import shutil
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_base, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    return folder


def _gpt2_base(tiny_base, tmp_path):
    import shutil
    folder = tmp_path / "gpt2"
    shutil.copytree(tiny_base, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}), encoding="utf-8")
    return folder


@pytest.mark.parametrize("base, refusal", [
    (lambda tiny_checkpoint, tiny_base, tmp_path: tiny_checkpoint, "that is a checkpoint of this project; give it as --init-from"),
    (lambda tiny_checkpoint, tiny_base, tmp_path: _pickled_base(tiny_base, tmp_path), "its weights are in pytorch_model.bin, a pickle"),
    (lambda tiny_checkpoint, tiny_base, tmp_path: _gpt2_base(tiny_base, tmp_path), 'model_type "gpt2", which cannot be trained'),
    (lambda tiny_checkpoint, tiny_base, tmp_path: tmp_path / "nowhere", "neither a known encoder"),
])
def test_a_base_that_cannot_be_trained_is_named_for_that_before_its_windows(base, refusal, tiny_checkpoint, tiny_base,
                                                                             tmp_path):
    """Before: a checkpoint of this project given as --base was told its window length was too long
    first, where the fix is --init-from; so was a folder of pickled weights, whose refusal came
    only once the data was read."""
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "train.jsonl"), base=str(base(tiny_checkpoint, tiny_base, tmp_path)),
                         output=str(tmp_path / "out"), window_length=100_000, measure_runtimes=False, model_card=None)
    with pytest.raises((ValueError, OSError), match=refusal):
        check_before_reading(config)


def test_init_from_a_folder_that_is_no_checkpoint_is_refused_as_that_before_its_windows(tiny_base, tmp_path):
    """Before: --init-from of an encoder folder with a window too long was told about the window;
    the fix is --base."""
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    with pytest.raises((ValueError, OSError)) as refused:
        train(TrainConfig(train=str(tmp_path / "train.jsonl"), init_from=str(tiny_base), output=str(tmp_path / "out"),
                          window_length=100_000, measure_runtimes=False, model_card=None), log=lambda m: None)
    assert "window length" not in str(refused.value) and str(tiny_base) in str(refused.value)


def test_a_base_config_too_deep_to_read_is_left_for_the_encoder_load_to_name(tiny_base, tmp_path):
    """Before: the early window check met a config.json thousands of brackets deep with a
    RecursionError traceback; the load names the file."""
    import shutil
    base = tmp_path / "base"
    shutil.copytree(tiny_base, base)
    (base / "config.json").write_text("[" * 100_000, encoding="utf-8")
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"base: the encoder \(config.json, model.safetensors\) cannot be read"):
        train(TrainConfig(train=str(tmp_path / "train.jsonl"), base=str(base), output=str(tmp_path / "out"),
                          window_length=100_000, measure_runtimes=False, model_card=None), log=lambda m: None)


def test_training_names_are_kept_as_the_encoder_reads_them():
    """"Pu\u00adtin" in the training data counts as a seen "Putin" for the span calibrator."""
    from inference.manifest import TaskSpec
    from training.corpus import Document, Span
    from training.trainer import seen_entities
    task = TaskSpec(name="entities", kind="ner", labels=["O", "B-PER", "I-PER"])
    document = Document(text="Pu\u00adtin met Ko\u200dfi", spans={"entities": [Span(0, 6, "PER"), Span(11, 16, "PER")]})
    assert seen_entities(task, [document]) == ["Kofi", "Putin"]


def test_a_task_no_training_document_annotates_gets_no_head(tiny_base, tmp_path):
    records = [json.loads(line) for line in (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:4]]
    for record in records:
        record["subject"] = record.pop("topic")   # the field named otherwise in every record
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    logged = []
    train(TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "train.jsonl"), base=tiny_base,
                      output=str(tmp_path / "out"), epochs=1, max_steps=1, batch_size=4, window_length=64,
                      window_overlap=16, measure_runtimes=False, model_card=None), log=logged.append)
    assert "warning: none of the documents trained on (after any hold-out or sample) is annotated for task " \
        "'topic': left out of the checkpoint" in logged
    assert [t.name for t in load(tmp_path / "out").manifest.tasks] == ["entities", "stance"]


def test_a_run_without_dev_data_records_no_dev_score(tiny_base, tmp_path):
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:4]
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    train(TrainConfig(train=str(tmp_path / "train.jsonl"), base=tiny_base, output=str(tmp_path / "out"), epochs=2,
                      max_steps=2, batch_size=64, window_length=64, window_overlap=16, measure_runtimes=False),
          log=lambda m: None)
    training = load(tmp_path / "out").manifest.training
    # before: each epoch's number recorded as its dev score (1.0, 2.0), a figure no dev set gave
    assert [(h["epoch"], h["dev_score"]) for h in training["history"]] == [(1, None), (2, None)]
    assert training["best_epoch"] == 2   # the last epoch kept


def test_training_documents_all_of_the_gate_label_are_refused_as_such(tiny_base, tmp_path):
    records = [json.loads(line) for line in (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    kept = [{"id": r["id"], "text": r["text"], "stance": r["stance"]} for r in records if r["stance"] == "critical"][:4]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in kept) + "\n", encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "train.jsonl"), base=tiny_base, output=str(tmp_path / "out"), epochs=1,
                         batch_size=2, window_length=64, window_overlap=16, lexical_terms=20, gate_label="critical",
                         measure_runtimes=False)
    with pytest.raises(ValueError, match="none of the 4 training documents leaves the encoder anything to learn "
                                         r"\(documents of a gate label \(stance: 'critical'\) teach it nothing"):
        train(config, log=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_settings_that_would_fail_after_training_are_refused_before_it(tiny_base, tmp_path):
    ents = [{k: v for k, v in json.loads(line).items() if k not in ("topic", "stance")}
            for line in (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:4]]
    (tmp_path / "train.jsonl").write_text((REPO / "data" / "train.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in ents) + "\n", encoding="utf-8")
    settings = dict(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "dev.jsonl"), base=tiny_base,
                    output=str(tmp_path / "out"), max_steps=1, window_length=64, window_overlap=16,
                    measure_runtimes=False)
    with pytest.raises(DataError, match="select_by: no dev document is annotated for task 'stance'"):
        train(TrainConfig(**settings, select_by="stance"), log=lambda m: None)
    (tmp_path / "no_entities.jsonl").write_text("\n".join(json.dumps({**r, "entities": []}) for r in ents) + "\n",
                                                encoding="utf-8")   # before: F1 0 at every epoch, the first kept
    with pytest.raises(DataError, match="select_by: the dev documents have no entity or label of task 'entities'"):
        train(TrainConfig(**{**settings, "dev": str(tmp_path / "no_entities.jsonl")}, select_by="entities"),
              log=lambda m: None)
    for card in (tmp_path, tmp_path / "no-such-folder" / "card.md"):
        with pytest.raises(ValueError, match="give a file in an existing folder"):
            train(TrainConfig(**settings, model_card=str(card)), log=lambda m: None)
    with pytest.raises(ValueError, match="gate_label 'neutral': the gate reads the lexical features; give lexical_terms"):
        train(TrainConfig(**settings, gate_label="neutral"), log=lambda m: None)
    with pytest.raises(DataError, match=r"gate_label: no single-label task has a label 'unrelated'; tasks: stance \("):
        train(TrainConfig(**settings, gate_label="unrelated", lexical_terms=100), log=lambda m: None)
    assert not (tmp_path / "out").exists()   # nothing trained


def test_an_output_the_command_runs_in_is_refused_before_the_data_is_read(tmp_path, monkeypatch):
    (tmp_path / "ckpt").mkdir()
    monkeypatch.chdir(tmp_path / "ckpt")
    for output in (".", str(tmp_path / "ckpt")):   # before: "PosixPath('.') has an empty name", or for the
        # absolute path an epoch trained, then its save renamed the working folder away: "No such file"
        with pytest.raises(ValueError, match=f"{output}: that is the folder this command runs in, or holds it"):
            train(TrainConfig(train="missing.jsonl", output=output), log=lambda m: None)
    with pytest.raises(ValueError, match="the output path is empty"):
        train(TrainConfig(train="missing.jsonl", output=""), log=lambda m: None)


def test_train_leaves_the_callers_config_as_it_was(trained, tmp_path):
    import dataclasses
    config, _ = trained
    sweep = TrainConfig(**{**config.__dict__, "output": str(tmp_path / "sweep"), "model_card": None,
                           "learning_rate": None, "head_learning_rate": None, "crf": None, "attention_dropout": None,
                           "max_steps": 1})
    before = dataclasses.asdict(sweep)
    train(sweep, log=lambda m: None)
    assert dataclasses.asdict(sweep) == before   # before: the base's rates written in, then reused for another base


def test_a_continued_run_reads_the_checkpoints_tasks_keeps_its_names_and_warns_of_ignored_settings(tiny_base, tmp_path):
    """Before: a --schema naming only the task to widen left the other tasks' annotations unread,
    the names seen in training were those of the new data alone, and --lexical-terms and
    --no-shape-input were ignored without a word."""
    base = train_on_four_articles(tmp_path, "base", base=tiny_base, max_steps=1)
    base_names = set(load(str(base)).manifest.task("entities").seen_entities)
    records = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    for record in records[2:]:   # their names were seen by the checkpoint, not by this run
        del record["entities"]
    records[0]["topic"] = records[0]["topic"] + ["energy"]
    (tmp_path / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (tmp_path / "schema.json").write_text(json.dumps({"topic": {"kind": "multi", "labels": ["energy"]}}), encoding="utf-8")
    logged = []
    result = train(TrainConfig(train=str(tmp_path / "more.jsonl"), dev=str(tmp_path / "more.jsonl"),
                               schema=str(tmp_path / "schema.json"), init_from=str(base), output=str(tmp_path / "more"),
                               epochs=1, max_steps=1, batch_size=4, window_length=64, window_overlap=16,
                               lexical_terms=50, shape_input=False, measure_runtimes=False, model_card=None),
                   log=logged.append)
    assert set(result["dev"]) == {"entities", "topic", "stance"}   # before: topic alone
    continued = load(str(tmp_path / "more")).manifest
    assert "energy" in continued.task("topic").labels
    assert base_names and set(continued.task("entities").seen_entities) >= base_names
    assert (continued.lexicon, continued.shape_input) == ([], True)
    assert "warning: --lexical-terms 50 has no effect with --init-from: the document heads read no lexical " \
           "features, as the checkpoint's" in logged
    assert "warning: --no-shape-input has no effect with --init-from: the checkpoint's encoder reads word shapes" in logged


def test_a_continued_run_selects_by_a_carried_over_task_and_warns_of_tasks_dev_leaves_out(tiny_base, tmp_path):
    """Before: --select-by refused a task the checkpoint carries over though dev scores it, and a
    dev set annotating some tasks alone passed without a word (the card claimed all calibrated)."""
    base = train_on_four_articles(tmp_path, "base", base=tiny_base, max_steps=1)
    records = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    write = lambda name, keep: (tmp_path / name).write_text(   # noqa: E731
        "".join(json.dumps({k: v for k, v in r.items() if k in keep}) + "\n" for r in records), encoding="utf-8")
    write("entities.jsonl", {"text", "entities"})
    settings = dict(init_from=str(base), epochs=1, max_steps=1, batch_size=4, window_length=64, window_overlap=16,
                    measure_runtimes=False, model_card=None)
    write("topic.jsonl", {"text", "topic"})
    result = train(TrainConfig(train=str(tmp_path / "entities.jsonl"), dev=str(tmp_path / "topic.jsonl"),
                               select_by="topic", output=str(tmp_path / "by_topic"), **settings), log=lambda m: None)
    assert set(result["dev"]) == {"topic"}   # dev annotates the carried-over task alone
    logged = []
    train(TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "entities.jsonl"),
                      output=str(tmp_path / "dev_entities"), **settings), log=logged.append)
    assert ("warning: no dev document is annotated for task(s) topic, stance: the best epoch is chosen without them, "
            "and their scores are not calibrated on dev") in logged
    assert "topic: none (the data it was fitted on does not annotate it, or its outcomes were all alike); stance: " \
           "none (the data it was fitted on does not annotate it" in (tmp_path / "dev_entities" / "README.md").read_text()


def test_lexical_terms_with_no_word_to_build_a_vocabulary_from_are_refused(tiny_base, tmp_path):
    records = [{"text": t, "stance": s} for t, s in [("a b c", "critical"), ("x y z", "neutral")] * 2]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    settings = dict(train=str(tmp_path / "train.jsonl"), base=tiny_base, output=str(tmp_path / "out"), max_steps=1,
                    batch_size=2, window_length=64, window_overlap=16, lexical_terms=20, measure_runtimes=False)
    for gate in (None, "neutral"):   # before: trained without the branch, the manifest naming a gate it lacked
        with pytest.raises(ValueError, match="lexical_terms 20: no training text has a word of two or more letters"):
            train(TrainConfig(**settings, gate_label=gate), log=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_the_start_line_and_the_bars_count_the_epochs_and_steps_that_run(tiny_base, tmp_path, monkeypatch, capsys):
    """Before: "3 epochs" and "epoch 1/3" where --max-steps ended the run in epoch 1, and a resumed
    run counted again the epochs and steps it had taken before it was stopped; then "1 epochs, 1 steps"."""
    import re

    import training.trainer as trainer

    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    settings = dict(train=str(tmp_path / "train.jsonl"), base=tiny_base, batch_size=4, window_length=64,
                    window_overlap=16, measure_runtimes=False, model_card=None)
    logged = []
    train(TrainConfig(**settings, epochs=3, max_steps=1, output=str(tmp_path / "short")), log=logged.append)
    assert any(line.startswith("training on 4 documents") and ", 1 epoch, 1 step, " in line for line in logged)
    bars = capsys.readouterr().err
    assert "epoch 1/1" in bars and "epoch 1/3" not in bars

    class Stopped(Exception):
        pass

    save = trainer.save_state

    def save_then_stop(*args, **kwargs):
        save(*args, **kwargs)
        raise Stopped
    monkeypatch.setattr(trainer, "save_state", save_then_stop)
    with pytest.raises(Stopped):   # after epoch 1 of 2
        train(TrainConfig(**settings, epochs=2, output=str(tmp_path / "out")), log=lambda m: None)
    monkeypatch.setattr(trainer, "save_state", save)
    capsys.readouterr()
    logged = []
    train(TrainConfig(**settings, epochs=2, output=str(tmp_path / "out"), resume=True), log=logged.append)
    start = next(line for line in logged if line.startswith("training on"))
    windows = int(re.search(r"\((\d+) windows?\)", start).group(1))
    assert f", 1 epoch, {-(-windows // 4)} step" in start   # epoch 2's steps alone; before: "1 epochs"
    bars = capsys.readouterr().err
    assert "epoch 2/2" in bars and "epoch 1/2" not in bars


def test_a_continued_run_warns_of_the_checkpoints_labels_its_data_lacks_whatever_the_format(tiny_checkpoint, tmp_path,
                                                                                            monkeypatch):
    """A CoNLL file of PER and LOC alone and a CSV of topic 'Trade' continuing a news checkpoint: ORG
    and MISC stay in the model and 'Trade' sits beside its 'trade', but only a news file (read with
    the checkpoint's schema) was warned about; the warnings read the run's data's labels alone."""
    from training.trainer import Trainer

    class Stop(Exception):
        pass

    def stop(self):
        raise Stop
    monkeypatch.setattr(Trainer, "run_epochs", stop)   # the warnings come before the first step
    (tmp_path / "a.conll").write_text("Putin NNP B-NP B-PER\nin IN B-PP O\nParis NNP B-NP B-LOC\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text("text,label\nTariffs rose in Paris.,Trade\n", encoding="utf-8")
    logged = []
    with pytest.raises(Stop):
        train(TrainConfig(train=[str(tmp_path / "a.conll"), {"path": str(tmp_path / "t.csv"), "options": {"task": "topic"}}],
                          dev=str(tmp_path / "a.conll"), init_from=str(tiny_checkpoint), output=str(tmp_path / "out"),
                          window_length=64, window_overlap=16, measure_runtimes=False), log=logged.append)
    assert "warning: task 'entities': no training example of 'ORG', 'MISC': the data never shows them, so training " \
           "only lowers their scores" in logged
    assert any(line.startswith("warning: task 'entities': no dev example of 'ORG', 'MISC': ") for line in logged)
    assert any("labels 'trade' and 'Trade' differ only in case" in line for line in logged)


def test_a_task_that_one_document_made_multi_label_is_named_with_that_document(tiny_base, tmp_path, monkeypatch):
    """A Doccano export says nothing of whether a task is single-label: one record given two labels
    made `label` multi-label (sigmoids and thresholds in place of the best of a softmax), silently."""
    from training.trainer import Trainer

    class Stop(Exception):
        pass

    def stop(self):
        raise Stop
    monkeypatch.setattr(Trainer, "run_epochs", stop)   # the warnings come before the first step
    rows = [("Talks went well.", ["pos"]), ("Talks failed.", ["neg", "pos"]), ("Talks failed again.", ["neg"])]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows),
                                      encoding="utf-8")
    logged = []
    with pytest.raises(Stop):
        train(TrainConfig(train={"path": str(tmp_path / "d.jsonl"), "format": "doccano"}, base=tiny_base,
                          output=str(tmp_path / "out"), measure_runtimes=False), log=logged.append)
    assert "warning: task 'label' is multi-label (each label its own probability, chosen at its own threshold), as " \
           f"1 of the 3 documents annotating it in the run's files gives it several labels, the first {tmp_path / 'd.jsonl'}:2; where " \
           "that is a slip, give each of them one label" in logged


@pytest.mark.parametrize("diverges", ["at once", "in epoch 2"])
def test_a_run_that_diverges_stops_at_that_step_naming_it(tiny_base, tmp_path, monkeypatch, diverges):
    """Before: every later step trained NaN weights; where epoch 1 diverged, each epoch saved them as
    the best (a dev score of 0 beats none) and the run failed only at its end, on loading its own
    checkpoint ("the run that wrote it diverged, or the file is damaged"), as did each --resume;
    where a later epoch did, its epochs ran on for nothing and the run ended as if they had not."""
    import re
    import training.trainer as trainer
    from safetensors.torch import load_file
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:8]) + "\n", encoding="utf-8")
    (tmp_path / "dev.jsonl").write_text("\n".join(lines[8:10]) + "\n", encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "dev.jsonl"), base=tiny_base,
                         output=str(tmp_path / "ckpt"), epochs=3, batch_size=4, window_length=64, window_overlap=16,
                         measure_runtimes=False)
    if diverges == "at once":   # a learning rate far too high
        config = TrainConfig(**{**config.__dict__, "learning_rate": 1e6, "head_learning_rate": 1e6})
    saved, later, save, loss = [], [], trainer.save_state, trainer.batch_loss
    monkeypatch.setattr(trainer, "save_state", lambda *args, **kwargs: saved.append(args[5]["step"]) or save(*args,
                                                                                                              **kwargs))

    def nan_in_epoch_2(*args, **kwargs):   # a loss of NaN at epoch 2's second step
        later.extend([1] if saved else [])
        return loss(*args, **kwargs) * (float("nan") if len(later) == 2 and diverges != "at once" else 1.0)
    monkeypatch.setattr(trainer, "batch_loss", nan_in_epoch_2)
    with pytest.raises(ValueError) as diverged:
        train(config, log=lambda m: None)
    if diverges == "at once":
        assert re.match(r"^training diverged at epoch 1, step \d+ of the run \(loss \S+\): its gradients are not "
                        r"finite, and a step would leave every weight NaN; train again with a lower --learning-rate "
                        r"\(1e\+06\) or --head-learning-rate \(1e\+06\)$", str(diverged.value)), str(diverged.value)
        assert not saved and not (tmp_path / "ckpt").exists()   # no epoch ended: none saved
    else:
        assert str(diverged.value) == (
            f"training diverged at epoch 2, step {saved[0] + 2} of the run (loss nan): its gradients are not finite, "
            "and a step would leave every weight NaN; train again with a lower --learning-rate (0.00015) or "
            f"--head-learning-rate (0.001), after removing {tmp_path / 'ckpt.state'} (--resume would diverge there again)")
        assert len(saved) == 1   # epoch 1's state, kept
        weights = load_file(str(tmp_path / "ckpt" / "model.safetensors"))   # epoch 1's checkpoint, as saved
        assert all(w.isfinite().all() for w in weights.values())
        assert json.loads((tmp_path / "ckpt" / "manifest.json").read_text())["training"]["best_epoch"] == 1


def test_a_multi_label_task_trained_on_documents_with_no_label_may_give_none(tiny_base, tmp_path):
    """Before, a document no label applies to (`"labels": []`, 1,828 of Reuters' 9,603 training
    stories) trained the head on "none of them", yet decide gave every document its best label
    where none reached its threshold: each such story got a topic. --init-from keeps what the
    head learnt."""
    stories = [("Oil prices rose in Vienna.", ["crude"]), ("Wheat exports fell sharply.", ["grain", "trade"]),
               ("The council met on Tuesday.", []), ("Tariffs on steel were raised.", ["trade"])]
    for name, rows in (("labelled", [s for s in stories if s[1]]), ("all", stories)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"text": t, "labels": l}) + "\n" for t, l in rows),
                                                encoding="utf-8")

    def run(data: str, output: str, **settings):
        source = {"path": str(tmp_path / f"{data}.jsonl"), "format": "classification",
                  "options": {"task": "topic", "multi": True, "label_field": "labels"}}
        train(TrainConfig(train=source, dev=source, output=str(tmp_path / output), epochs=1, max_steps=1, batch_size=4,
                          window_length=64, window_overlap=16, measure_runtimes=False, model_card=None, **settings),
              log=lambda m: None)
        return load(str(tmp_path / output)).manifest.task("topic")

    assert not run("labelled", "first", base=tiny_base).allows_none   # every document has a label: the best, as before
    task = run("all", "second", init_from=str(tmp_path / "first"))
    assert task.allows_none
    assert task.decide([task.threshold(label) / 2 for label in task.labels]) == []
    assert run("labelled", "third", init_from=str(tmp_path / "second")).allows_none


@pytest.mark.parametrize("dev_fraction", [0.0, 0.5])
def test_a_multi_label_task_whose_dev_documents_alone_have_no_label_is_named(tiny_base, tmp_path, monkeypatch,
                                                                            dev_fraction):
    """Before, a multi-label task whose `"labels": []` documents were all in dev (given so, or held
    out there by --dev-fraction) was trained without "none of them", silently: each such dev
    document got its best label, scored as a wrong one."""
    from training.trainer import Trainer

    class Stop(Exception):
        pass

    def stop(self):
        raise Stop
    monkeypatch.setattr(Trainer, "run_epochs", stop)   # the warnings come before the first step
    labelled = [("Oil prices rose in Vienna.", ["crude"]), ("Wheat exports fell sharply.", ["grain", "trade"]),
                ("Tariffs on steel were raised.", ["trade"]), ("Crude stocks fell.", ["crude"])]
    unlabelled = [("The council met on Tuesday.", []), ("A parade was held.", [])]
    write = lambda name, rows: (tmp_path / name).write_text(
        "".join(json.dumps({"text": t, "labels": l}) + "\n" for t, l in rows), encoding="utf-8")
    source = lambda name: {"path": str(tmp_path / name), "format": "classification",
                           "options": {"task": "topic", "multi": True, "label_field": "labels"}}
    if dev_fraction:   # a hold-out that puts both unlabelled documents in dev (seeded)
        write("all.jsonl", labelled + unlabelled)
        monkeypatch.setattr("training.data.hold_out_documents", lambda docs, fraction, seed: (docs[:4], docs[4:]))
        data = {"train": source("all.jsonl"), "dev_fraction": dev_fraction}
        where, trained, dev = f"{tmp_path / 'all.jsonl'}:5", 4, 2
    else:
        write("train.jsonl", labelled), write("dev.jsonl", labelled[:1] + unlabelled)
        data = {"train": source("train.jsonl"), "dev": source("dev.jsonl")}
        where, trained, dev = f"{tmp_path / 'dev.jsonl'}:2", 4, 3
    logged = []
    with pytest.raises(Stop):
        train(TrainConfig(**data, base=tiny_base, output=str(tmp_path / "out"), window_length=64, window_overlap=16,
                          measure_runtimes=False), log=logged.append)
    assert f"warning: task 'topic' gives every document a label (its best, where none reaches its threshold), as " \
           f"none of the {trained} training documents annotating it (after any hold-out or sample) has none, but 2 " \
           f"of the {dev} dev documents annotating it do, the first {where}; each is scored as given its best " \
           "label: where a document may have no label, give training documents without one too" in logged, logged


def test_the_bars_give_a_log_file_lines_not_carriage_returns(tiny_base, tmp_path, capsys):
    """`newsmodel train ... 2> log`: before, each epoch's bar was redrawn with carriage returns, one
    line of the file holding every redraw (`cat` showed the last alone, `grep` all at once)."""
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    capsys.readouterr()
    train(TrainConfig(train=str(tmp_path / "train.jsonl"), base=tiny_base, batch_size=1, window_length=64,
                      window_overlap=16, epochs=2, measure_runtimes=False, model_card=None,
                      output=str(tmp_path / "out")), log=lambda m: None)
    err = capsys.readouterr().err   # captured: no terminal, as a file is not
    bars = [line for line in err.split("\n") if "epoch " in line]   # (transformers' own bars aside)
    assert bars and all(line.startswith("epoch ") and line.rstrip() == line and "\r" not in line for line in bars)
    for epoch in (1, 2):   # each epoch's last line: all its steps, and the time they took
        last = [line for line in bars if line.startswith(f"epoch {epoch}/2:")][-1]
        assert "100%" in last and re.search(r"\[\d\d:\d\d<", last)
    assert len(bars) <= 6   # a line now and then (every 30 s), not one for each step


def test_the_bars_take_a_stderr_that_only_writes(tiny_base, tmp_path, monkeypatch):
    """A notebook's or a logger's stand-in for stderr (write alone): before, train() failed at the first
    epoch's bar with "AttributeError: ... no attribute 'isatty'" (and 'flush' where it had isatty)."""
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")

    class Writes:
        def __init__(self):
            self.text = []

        def write(self, text):
            self.text.append(text)

    class WritesAndSays(Writes):
        def isatty(self):
            return False

    for n, stderr in enumerate((Writes(), WritesAndSays())):
        monkeypatch.setattr(sys, "stderr", stderr)
        train(TrainConfig(train=str(tmp_path / "train.jsonl"), base=tiny_base, batch_size=1, window_length=64,
                          window_overlap=16, epochs=1, measure_runtimes=False, model_card=None,
                          output=str(tmp_path / f"out{n}")), log=lambda m: None)
        assert "epoch 1/1" in "".join(stderr.text)


def test_a_jupyter_kernels_stderr_keeps_tqdms_own_bar(monkeypatch):
    """A kernel's stderr redraws a carriage return in place (tqdm's bar, as on a terminal), and is
    no terminal; one redirected from a notebook to a file gets a line per redraw."""
    from training.trainer import _bar_output
    kernel_stream = type("OutStream", (), {"__module__": "ipykernel.iostream", "isatty": lambda self: False,
                                           "write": lambda self, text: None})
    monkeypatch.setattr(sys, "stderr", kernel_stream())
    assert _bar_output() == {}
    monkeypatch.setitem(sys.modules, "ipykernel", type(sys)("ipykernel"))   # a notebook, its stderr redirected
    with open(os.devnull, "w") as log:
        monkeypatch.setattr(sys, "stderr", log)
        assert _bar_output()["mininterval"] == 30


def test_a_model_card_copy_that_cannot_be_written_is_named_as_given(tmp_path, monkeypatch):
    """A review's case: the OSError names "card.md" for `--model-card ./card.md`; the two are one
    file, so the message names the copy, not the checkpoint's README.md."""
    import training.trainer
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(train="train.jsonl", output="ckpt", model_card="./card.md", epochs=1, batch_size=4,
                         max_steps=1, window_length=64, window_overlap=16, measure_runtimes=False)

    def read_only(checkpoint, manifest, extra_path=None):
        raise OSError(30, "Read-only file system", "card.md")
    monkeypatch.setattr(training.trainer, "write_model_card", read_only)
    with pytest.raises(ValueError, match=r"^\./card\.md: the model card could not be written \(Read-only file system\)"):
        train(config, log=lambda m: None)


def test_a_card_that_cannot_be_written_at_the_end_says_the_checkpoint_is_complete(tmp_path, monkeypatch):
    """Before: a bare OSError after the manifest was written, as if the run had failed; the same
    command with --resume, as it now says, writes the card."""
    import training.trainer
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "train.jsonl"), output=str(tmp_path / "ckpt"), epochs=1, batch_size=4,
                         max_steps=1, window_length=64, window_overlap=16, measure_runtimes=False)
    written = training.trainer.write_model_card

    def full_disk(checkpoint, *args, **kwargs):
        raise OSError(28, "No space left on device", str(checkpoint / "README.md.tmp"))
    monkeypatch.setattr(training.trainer, "write_model_card", full_disk)
    with pytest.raises(ValueError) as error:
        train(config, log=lambda m: None)
    assert str(error.value) == (
        f"{tmp_path / 'ckpt' / 'README.md'}: the model card could not be written (No space left on device); the "
        f"checkpoint itself is complete in {config.output}: once the card can be written, the same command with "
        "--resume (it trains no further: it calibrates and scores the kept checkpoint again) to write it")
    assert "train_minutes" in Manifest.read(tmp_path / "ckpt" / "manifest.json").training
    monkeypatch.setattr(training.trainer, "write_model_card", written)
    log = []
    train(TrainConfig(**{**config.__dict__, "resume": True}), log=log.append)
    assert (tmp_path / "ckpt" / "README.md").is_file() and any("resuming from" in line for line in log)
    assert not (tmp_path / "ckpt.state").exists()


def test_a_continued_run_reads_each_file_of_the_checkpoint_it_starts_from_once(tiny_checkpoint, tmp_path, monkeypatch):
    """Before: the run's identity hashed every file of the --init-from folder, then init_from_sha256 read its two
    weights files again (a second or two on a large encoder); the folder's fingerprint is unchanged."""
    import hashlib
    import shutil
    import training.data
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    start = shutil.copytree(tiny_checkpoint, tmp_path / "start")
    old_fingerprint = hashlib.sha256()   # as runs recorded it: a --resume of one finds it its own
    for file in sorted(p for p in start.rglob("*") if p.is_file()):
        old_fingerprint.update(str(file.relative_to(start)).encode() + b"\0"
                               + hashlib.sha256(file.read_bytes()).digest())
    assert training.data.fingerprint(start) == old_fingerprint.hexdigest()
    read = []
    read_bytes, file_digest = Path.read_bytes, hashlib.file_digest
    monkeypatch.setattr(Path, "read_bytes", lambda path: read.append(Path(path)) or read_bytes(path))
    monkeypatch.setattr(hashlib, "file_digest", lambda f, *args: read.append(Path(f.name)) or file_digest(f, *args))
    train(TrainConfig(train=str(tmp_path / "train.jsonl"), init_from=str(start), output=str(tmp_path / "next"),
                      epochs=1, max_steps=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False),
          log=lambda m: None)
    weights = [start / "model.safetensors", start / "heads.safetensors"]
    assert sorted(path for path in read if path in weights) == sorted(weights)
    recorded = Manifest.read(tmp_path / "next" / "manifest.json").training["init_from_sha256"]
    assert recorded == {path.name: hashlib.sha256(read_bytes(path)).hexdigest() for path in weights}
