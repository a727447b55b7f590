import gc
import json

import pytest

from conftest import REPO
from training.cli import main
from training.config import TrainConfig, options

CONLL = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n\n"
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


def test_an_output_that_is_not_a_checkpoint_is_refused_before_reading_the_data(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.jsonl").write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    missing = tmp_path / "absent.jsonl"   # were the data read first, its error would come instead
    assert main(["train", "--train", str(missing), "--output", str(corpus)]) == 2
    assert f"error: output {corpus} exists and is not a checkpoint" in capsys.readouterr().err   # before: no option
    assert [p.name for p in corpus.iterdir()] == ["train.jsonl"]


def test_paths_given_with_a_tilde_no_shell_expanded_are_in_the_home_folder(tmp_path, monkeypatch, capsys):
    """Before: --output=~/corpus and --train '~/x' (no shell expands ~ after "=" or in quotes) were
    read as a folder named "~" in the working one: the corpus was not found to be refused."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["train", "--train", "~/absent.jsonl", "--output=~/corpus"]) == 2
    assert f"error: output {tmp_path / 'corpus'} exists and is not a checkpoint" in capsys.readouterr().err
    assert main(["train", "--train", "~/absent.jsonl", "--output=~/new"]) == 2
    assert f"error: {tmp_path / 'absent.jsonl'}: No such file or directory" in capsys.readouterr().err


def test_a_state_folder_that_is_not_a_training_state_is_refused_before_reading_the_data(tmp_path, capsys):
    (tmp_path / "ckpt.state").mkdir()
    (tmp_path / "ckpt.state" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["train", "--train", str(tmp_path / "absent.jsonl"), "--output", str(tmp_path / "ckpt")]) == 2
    assert f"{tmp_path / 'ckpt.state'} exists and is not a training state" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "ckpt.state").iterdir()] == ["notes.txt"]


def test_an_interrupted_runs_state_is_not_replaced_without_resume(tmp_path, capsys):
    (tmp_path / "ckpt.state").mkdir()
    (tmp_path / "ckpt.state" / "state.json").write_text("{}", encoding="utf-8")   # what an interrupted run left
    assert main(["train", "--train", str(tmp_path / "absent.jsonl"), "--output", str(tmp_path / "ckpt")]) == 2
    assert (f"{tmp_path / 'ckpt.state'} holds the state of an interrupted run: give --resume to go on from it, or "
            "remove that folder to start again") in capsys.readouterr().err   # before: replaced at the first save
    assert [p.name for p in (tmp_path / "ckpt.state").iterdir()] == ["state.json"]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ner.conll").write_text(CONLL, encoding="utf-8")
    return tmp_path


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
    assert main(["train", "--config", str(config_file), "--epochs", "5"]) == 0
    config = captured["config"]
    assert config.epochs == 5 and config.seed == 7           # the flag wins, the file fills the rest
    assert config.train == [{"path": str(files / "ner.conll"), "format": "conll"}]


def test_a_missing_config_file_is_named_with_its_flag(files, capsys):
    """Before: "[Errno 2] No such file or directory: 'nope.toml'", naming no flag."""
    assert main(["train", "--config", str(files / "nope.toml")]) == 2
    assert f"error: --config {files / 'nope.toml'}: No such file or directory" in capsys.readouterr().err


def test_a_config_saved_with_a_byte_order_mark_is_read(files, monkeypatch):
    """Before: "not valid TOML: Invalid statement (at line 1, column 1)" for a file Notepad or Windows
    PowerShell saved as UTF-8, whose mark the data readers drop."""
    config_file = files / "run.toml"
    config_file.write_bytes(f'\ufeffepochs = 2\n[[train]]\npath = "{files / "ner.conll"}"\n'.encode("utf-8"))
    captured = {}
    monkeypatch.setattr("training.trainer.train", lambda config, log: captured.setdefault("config", config))
    assert main(["train", "--config", str(config_file)]) == 0
    assert captured["config"].epochs == 2 and captured["config"].train == [{"path": str(files / "ner.conll")}]


def test_a_reader_flag_written_as_a_config_key_is_pointed_to_its_table(files, capsys):
    """--help says the keys are as the flags below, which list --format and the reader flags; before,
    `format = "conll"` was an unknown setting, with no word of where it goes."""
    (files / "bad.toml").write_text('format = "conll"\ntext-field = "body"\nepochs = 2\n[[train]]\npath = "x.conll"\n',
                                    encoding="utf-8")
    assert main(["train", "--config", str(files / "bad.toml")]) == 2
    assert ("unknown setting(s) format, text-field (format, text-field: a file's format and reader options go in its "
            "table: [[train]] path = ..., format = ..., options = {...})") in capsys.readouterr().err
    assert "[[train]] tables, each with its file's format and reader options" in _train_help()


def test_a_config_path_starting_with_a_tilde_is_in_the_home_folder(files, monkeypatch):
    """As a shell expands it on the command line; before, a folder named "~" was made in the
    working directory. A delimiter "~" is no path and stays as written."""
    monkeypatch.setenv("HOME", str(files))
    (files / "run.toml").write_text('output = "~/ckpt"\ninit_from = "~/old"\nschema = "~/s.json"\nmodel_card = "~/c.md"\n'
                                    'base = "~/enc"\ntrain = ["~/news.jsonl"]\n[[dev]]\npath = "~/topics.csv"\n'
                                    'options = {delimiter = "~", multi = true}\n[[test]]\npath = "~/st.csv"\n'
                                    'format = "pairs"\noptions = {bodies = "~/b.csv"}\n', encoding="utf-8")
    captured = {}
    monkeypatch.setattr("training.trainer.train", lambda config, log: captured.setdefault("config", config))
    assert main(["train", "--config", str(files / "run.toml")]) == 0
    config = captured["config"]
    assert [config.output, config.init_from, config.schema, config.model_card, config.base] == [
        str(files / name) for name in ("ckpt", "old", "s.json", "c.md", "enc")]
    assert config.train == [str(files / "news.jsonl")]
    assert config.test == [{"path": str(files / "st.csv"), "format": "pairs", "options": {"bodies": str(files / "b.csv")}}]
    assert config.dev == [{"path": str(files / "topics.csv"), "options": {"delimiter": "~", "multi": True}}]


@pytest.mark.parametrize("toml, message", [
    ('epochs = 3\n[[train]\npath = "x.jsonl"\n', "not valid TOML: Expected ']]'"),
    ('[[train]]\npath = "x.jsonl"\nfromat = "news"\n',
     "train table 1: unknown key(s) fromat (a table takes path, format, options)"),
    ('[[train]]\npath = "x.jsonl"\n[[dev]]\nformat = "news"\n', "dev table 1: no path"),
    ('[[train]]\npath = "x.conll"\noptions = {text_field = "text"}\n',
     "x.conll: the conll reader takes no option(s) text_field (it takes: task, scheme, strict)"),
    ('[[train]]\npath = "x.csv"\noptions = {multi = "false"}\n', "x.csv: reader option multi: 'false' is not true or false"),
    ('[[train]]\npath = "x.csv"\noptions = "multi"\n', "x.csv: reader options must be a table"),
    ('[[train]]\npath = "x.conll"\noptions = {strict = "false"}\n', "x.conll: reader option strict: 'false' is not"),
    ('[[train]]\npath = "x.csv"\nformat = "pairs"\n', "x.csv: the pairs reader needs the bodies file"),
    ('[[train]]\npath = "x.conll"\noptions = {scheme = 5}\n', "x.conll: reader option scheme: 5 is not a string"),
    ('train = 5\n', "train 1: a path, a table or a datasets.Dataset, not int"),
    ('[[train]]\npath = 7\n', "path: 7 is not a file or folder name"),
    ('epochs = "3"\n[[train]]\npath = "x.jsonl"\n', "epochs: '3' is not a whole number of at least 1"),
    (b'output = "caf\xe9"\n', "not valid TOML: 'utf-8' codec can't decode byte 0xe9"),   # a Latin-1 file
    ('init_from = ""\n[[train]]\npath = "x.jsonl"\n', "init_from: empty: give a value"),   # before: trained from scratch
    ('dev_fraction = 0.1\ntrain = "x.jsonl"\ndev = "y.jsonl"\n',   # before: the fraction was silently unused
     "dev_fraction: 0.1 holds out training documents only without dev data"),
    ('train = "x.jsonl"\ndev = ""\n', "dev 1: an empty path"),   # before: trained with no dev data, unsaid
    ('train = "x.jsonl"\n[[test]]\npath = ""\n', "test 1: an empty path"),   # before: ".: Is a directory"
], ids=["syntax", "table-key", "table-path", "reader-option", "reader-flag", "reader-options", "reader-bool",
        "pairs-bodies", "reader-string", "train-number", "path-number", "setting-value",
        "not-utf8", "empty-setting", "dev-fraction-beside-dev", "empty-dev", "empty-path"])
def test_a_config_mistake_is_named_with_the_config_file(tmp_path, capsys, toml, message):
    config = tmp_path / "run.toml"
    config.write_bytes(toml if isinstance(toml, bytes) else toml.encode("utf-8"))
    assert main(["train", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
    assert f"{config}: {message}" in capsys.readouterr().err


def test_an_empty_file_name_is_refused_not_read_as_the_working_folder(tmp_path, capsys):
    (tmp_path / "train.jsonl").write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert main(["train", "--train", str(tmp_path / "train.jsonl"), "--dev", "", "--output", str(tmp_path / "o")]) == 2
    assert "dev 1: an empty path (an unset shell variable?): give a file or folder" in capsys.readouterr().err


def test_reader_flags_reach_the_files_whose_reader_takes_them(files, monkeypatch, capsys):
    captured = {}
    monkeypatch.setattr("training.trainer.train", lambda config, log: captured.setdefault("config", config))
    news = str(files / "news.jsonl")
    assert main(["train", "--train", str(files / "ner.conll"), "--train", news, "--scheme", "IOB1"]) == 0
    assert [t["options"] for t in captured["config"].train] == [{"scheme": "IOB1"}, {}]   # news takes none
    assert main(["train", "--train", news, "--scheme", "IOB1"]) == 2
    assert "--scheme: no reader of the files given takes it" in capsys.readouterr().err


def test_an_empty_reader_flag_is_refused_naming_the_flag(tmp_path, capsys):
    """Before: "none of its 2 documents annotates a task", which did not say that `--label-field ""` read no labels."""
    data = tmp_path / "topics.csv"
    data.write_text("text,label\nTariffs rise,earn\nTroops move,war\n", encoding="utf-8")
    assert main(["train", "--train", str(data), "--label-field", "", "--output", str(tmp_path / "out")]) == 2
    assert f"{data}: reader option label_field (flag --label-field): an empty string (an unset shell variable?): " \
           "give one, or leave it out for its default, 'label'" in capsys.readouterr().err


def test_pairs_take_their_bodies_file_from_the_flag(tmp_path, monkeypatch):
    captured = {}
    monkeypatch.setattr("training.trainer.train", lambda config, log: captured.setdefault("config", config))
    stances, bodies = str(tmp_path / "stances.csv"), str(tmp_path / "bodies.csv")
    assert main(["train", "--format", "pairs", "--task", "stance", "--train", stances, "--bodies", bodies]) == 0
    assert captured["config"].train == [{"path": stances, "format": "pairs",
                                         "options": {"task": "stance", "bodies": bodies}}]


def test_a_setting_of_the_wrong_type_is_named(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(f'output = 5\n[[train]]\npath = "{tmp_path / "x.jsonl"}"\n', encoding="utf-8")
    assert main(["train", "--config", str(config)]) == 2
    assert "output: 5 is not a string" in capsys.readouterr().err


def test_unknown_config_setting_is_an_error(files, capsys):
    (files / "bad.toml").write_text('epoch = 3\n[[train]]\npath = "x.jsonl"\n', encoding="utf-8")
    assert main(["train", "--config", str(files / "bad.toml")]) == 2
    assert "unknown setting(s) epoch" in capsys.readouterr().err


def test_a_config_key_spelt_as_its_flag_is_named_with_its_spelling(files, capsys):
    """--help says the keys are as the flags; the flags' "-" is "_" in a key."""
    (files / "bad.toml").write_text('batch-size = 4\n[[train]]\npath = "x.jsonl"\n', encoding="utf-8")
    assert main(["train", "--config", str(files / "bad.toml")]) == 2
    assert ("unknown setting(s) batch-size (a key is written with _ where its flag has -: batch_size)"
            in capsys.readouterr().err)
    assert "keys as the flags below with _ for -" in _train_help()


def test_every_option_is_a_flag_with_its_help_and_overrides_the_default(tmp_path, monkeypatch, capsys):
    help_text = _train_help()
    for f in options():
        assert f"--{f.name.replace('_', '-')}" in help_text and " ".join(f.metadata["help"].split()) in help_text
    captured = {}
    monkeypatch.setattr("training.trainer.train", lambda config, log: captured.setdefault("config", config))
    assert main(["train", "--train", "x.jsonl", "--learning-rate", "3e-5", "--no-shape-input", "--device", "cpu",
                 "--max-steps", "7"]) == 0
    config = captured["config"]
    assert (config.learning_rate, config.shape_input, config.device, config.max_steps) == (3e-5, False, "cpu", 7)
    assert config.epochs == TrainConfig.__dataclass_fields__["epochs"].default


def test_help_states_each_base_encoders_own_defaults_and_no_empty_default():
    import re
    from training.base_models import BASE_MODELS, OTHER_RECIPE
    assert "(default: None)" not in _train_help()
    def value(text: str) -> float | bool:
        return {"on": True, "off": False}[text] if text in ("on", "off") else float(text)

    for setting in ("learning_rate", "head_learning_rate", "attention_dropout", "recase_capitals"):
        stated = re.search(r"base encoder's, (.*)\)", TrainConfig.__dataclass_fields__[setting].metadata["help"])[1]
        default, _, ner_only = stated.partition("; NER only: ")
        by_path = getattr(OTHER_RECIPE, setting)   # None: the encoder's own, not stated
        assert {name: value(v) for name, v in (pair.split() for pair in default.split(", "))} == {
            name: getattr(base.recipe, setting) for name, base in BASE_MODELS.items()} | (
            {"folder": by_path} if by_path is not None else {})
        ner_only = {name: value(v) for name, v in (pair.split() for pair in ner_only.split(", ") if pair)}
        assert all(getattr(BASE_MODELS[name].entities_only, setting) == value for name, value in ner_only.items())


def test_help_says_what_leaving_out_each_option_does():
    """README: `train --help` gives every option with its default; an option whose default is None
    said nothing of what leaving it out does (--max-steps, --model-card, --dev, --bodies)."""
    import argparse
    import training.cli.train as train_command
    parser = argparse.ArgumentParser()
    train_command.add_parser(parser.add_subparsers())
    train = parser._subparsers._group_actions[0].choices["train"]
    silent = [a.option_strings[0] for a in train._actions
              if a.option_strings and a.dest != "help" and "default:" not in " ".join((a.help or "").split())]
    assert silent == []


def _train_help() -> str:
    """`newsmodel train --help`, white space collapsed."""
    import training.cli.train as train_command
    parser = __import__("argparse").ArgumentParser()
    train_command.add_parser(parser.add_subparsers())
    return " ".join(parser._subparsers._group_actions[0].choices["train"].format_help().split())


def test_a_closed_log_stops_training_with_an_error_not_a_success(tiny_base, tmp_path):
    import os
    import subprocess
    import sys
    from conftest import REPO
    (tmp_path / "train.jsonl").write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "training", "train", "--train", str(tmp_path / "train.jsonl"), "--base",
               str(tiny_base), "--output", str(tmp_path / "out"), "--max-steps", "1", "--no-measure-runtimes"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()   # `newsmodel train ... | true`
    error = proc.stderr.read().decode()
    assert proc.wait() == 2 and "training stopped" in error


def test_ctrl_c_says_how_to_go_on_instead_of_a_traceback(files, tmp_path, monkeypatch, capsys):
    def interrupted(config, log):
        raise KeyboardInterrupt
    monkeypatch.setattr("training.trainer.train", interrupted)
    output = ["--output", str(tmp_path / "ckpt")]
    assert main(["train", "--train", str(files / "ner.conll"), *output]) == 130
    assert capsys.readouterr().err == "\ninterrupted; before an epoch was saved: nothing to resume\n"   # before: "kept"
    (tmp_path / "ckpt.state").mkdir()
    (tmp_path / "ckpt.state" / "state.json").write_text("{}", encoding="utf-8")   # an epoch saved
    assert main(["train", "--train", str(files / "ner.conll"), *output]) == 130
    assert capsys.readouterr().err == ("\ninterrupted; the last saved epoch is kept, and the same command with --resume "
                                       "goes on from it\n")


def test_ctrl_c_in_an_epoch_leaves_its_bar_above_the_message_not_below(tiny_base, tmp_path, monkeypatch, capsys):
    """Before: the bar, held open by the interrupt's traceback, was drawn once more when that went,
    after the "interrupted; ..." line."""
    import training.trainer as trainer
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    loss, steps = trainer.batch_loss, []

    def ctrl_c_at_the_second_step(*args, **kwargs):
        steps.append(1)
        if len(steps) == 2:
            raise KeyboardInterrupt
        return loss(*args, **kwargs)
    monkeypatch.setattr(trainer, "batch_loss", ctrl_c_at_the_second_step)
    code = main(["train", "--train", str(tmp_path / "train.jsonl"), "--base", tiny_base, "--output",
                 str(tmp_path / "out"), "--epochs", "1", "--batch-size", "4", "--window-length", "64",
                 "--window-overlap", "16"])
    gc.collect()
    err = capsys.readouterr().err
    assert code == 130 and "epoch 1/1" in err
    assert err.endswith("\ninterrupted; before an epoch was saved: nothing to resume\n")


def test_the_model_card_may_not_replace_an_input(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    before = data.read_bytes()
    assert main(["train", "--train", str(data), "--output", str(tmp_path / "ckpt"), "--model-card", str(data)]) == 2
    assert f"model_card {data}: that is an input of this run; give another file" in capsys.readouterr().err
    assert data.read_bytes() == before   # before: replaced by the card after the whole run


def test_the_model_card_may_not_replace_the_config_file(tmp_path, monkeypatch, capsys):
    config = tmp_path / "run.toml"
    config.write_text(f'train = "{tmp_path / "train.jsonl"}"\n', encoding="utf-8")
    before = config.read_bytes()
    monkeypatch.setattr("training.trainer.train", lambda config, log: None)
    assert main(["train", "--config", str(config), "--model-card", str(config)]) == 2
    assert f"model_card {config}: that is an input of this run; give another file" in capsys.readouterr().err
    assert config.read_bytes() == before   # before: the run's recipe was replaced by the card after the whole run


def test_the_model_card_may_not_go_inside_the_output_folder(tiny_checkpoint, tiny_base, tmp_path, capsys):
    """Before: `--model-card CKPT/manifest.json` over an existing checkpoint replaced its manifest with the card."""
    import shutil
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    output = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, output)
    card = output / "manifest.json"
    assert main(["train", "--train", str(data), "--output", str(output), "--model-card", str(card), "--base", tiny_base,
                 "--epochs", "1", "--no-measure-runtimes"]) == 2
    assert f"model_card {card}: that is inside the output folder" in capsys.readouterr().err
    card = tmp_path / "ckpt.state" / "card.md"   # before: written, then deleted with the state at the run's end
    card.parent.mkdir()
    assert main(["train", "--train", str(data), "--output", str(output), "--model-card", str(card), "--base", tiny_base,
                 "--epochs", "1", "--no-measure-runtimes"]) == 2
    assert f"model_card {card}: that is inside the training state {tmp_path / 'ckpt.state'}" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--init-from", "--base"])
def test_the_model_card_may_not_go_inside_a_folder_the_run_reads(tiny_checkpoint, tmp_path, capsys, flag):
    """Before: `--init-from CKPT --model-card CKPT/manifest.json` left that checkpoint unloadable."""
    import shutil
    folder = tmp_path / "read"
    shutil.copytree(tiny_checkpoint, folder)
    card = folder / "manifest.json"
    before = card.read_bytes()
    assert main(["train", "--train", str(tmp_path / "absent.jsonl"), flag, str(folder), "--output",
                 str(tmp_path / "out"), "--model-card", str(card)]) == 2
    name = flag[2:].replace("-", "_")
    assert f"model_card {card}: that is inside the {name} folder {folder}, an input of this run" in capsys.readouterr().err
    assert card.read_bytes() == before


def test_a_schema_listing_a_label_twice_or_missing_is_named(tmp_path, capsys):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"stance": {"kind": "single", "labels": ["neutral", "critical", "neutral"]}}),
                      encoding="utf-8")
    assert main(["train", "--train", "x.jsonl", "--schema", str(schema), "--output", str(tmp_path / "c")]) == 2
    assert f"{schema}: task 'stance' lists 'neutral' more than once" in capsys.readouterr().err
    assert main(["train", "--train", "x.jsonl", "--schema", str(tmp_path / "nope.json"),
                 "--output", str(tmp_path / "c")]) == 2
    assert f"schema {tmp_path / 'nope.json'}: No such file or directory" in capsys.readouterr().err


def test_reader_flags_beside_a_config_of_files_say_where_they_go(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('[[train]]\npath = "eng.train"\nformat = "conll"\n', encoding="utf-8")
    for flags in (["--scheme", "IOB1"], ["--format", "conll"]):   # before: refused as taken by no reader, or ignored
        assert main(["train", "--config", str(config), *flags, "--output", str(tmp_path / "c")]) == 2
        assert (f"--format and the reader flags apply to files given on the command line; the files of {config} "
                "take theirs in their tables") in capsys.readouterr().err


def test_a_config_or_data_file_inside_the_output_checkpoint_is_refused(tmp_path, monkeypatch, capsys):
    """A save replaces the output folder whole; before, `--config CKPT/run.toml` (or a training file kept
    there) over an existing checkpoint was deleted by the run's first save."""
    output = tmp_path / "ckpt"
    output.mkdir()
    (output / "manifest.json").write_text("{}", encoding="utf-8")   # what marks a checkpoint a save may replace
    data, config = output / "train.jsonl", output / "run.toml"
    data.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    config.write_text(f'output = "{output}"\ntrain = "{tmp_path / "elsewhere.jsonl"}"\n', encoding="utf-8")
    monkeypatch.setattr("training.trainer.train", lambda config, log: None)
    assert main(["train", "--config", str(config)]) == 2
    assert (f"{config}: the config file is inside the output folder {output}, which a save replaces whole: "
            "move it out, or choose another output") in capsys.readouterr().err
    monkeypatch.undo()
    assert main(["train", "--train", str(data), "--output", str(output)]) == 2
    assert (f"{data}: inside the output folder {output}, which a save replaces whole: move it out, or choose "
            "another output") in capsys.readouterr().err
    assert sorted(p.name for p in output.iterdir()) == ["manifest.json", "run.toml", "train.jsonl"]
    state = tmp_path / "ckpt.state"   # replaced whole by the first epoch's state save
    state.mkdir()
    (state / "train.jsonl").write_bytes(data.read_bytes())
    assert main(["train", "--train", str(state / "train.jsonl"), "--output", str(output), "--resume"]) == 2
    assert f"{state / 'train.jsonl'}: inside the training state {state}, which a save replaces whole" \
        in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)   # an empty output is not taken for the folder the command runs in
    (tmp_path / "run.toml").write_text(f'train = "{data}"\n', encoding="utf-8")
    assert main(["train", "--config", str(tmp_path / "run.toml"), "--output", ""]) == 2
    assert "the output path is empty: name the folder to write" in capsys.readouterr().err


def test_a_window_overlap_the_config_file_gave_is_named_with_the_file(tmp_path, capsys):
    """The README: a value out of range is named after the config file's where the file gave it; before, a
    window_overlap = 256 of the file was refused as "window_length: 256 ..." without the file's name."""
    config = tmp_path / "run.toml"
    config.write_text('window_overlap = 256\ntrain = "x.jsonl"\n', encoding="utf-8")
    assert main(["train", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
    assert f"{config}: window_length: 256 leaves no room beyond window_overlap (256)" in capsys.readouterr().err


@pytest.mark.parametrize("text, flags, error", [
    ('[[train]]\npath = "x.jsonl"\n[[dev]]\npath = "y.jsonl"\n', ["--dev-fraction", "0.1"],
     "dev_fraction: 0.1 holds out training documents only without dev data, and dev data is given"),
    ('gate_label = "neutral"\n[[train]]\npath = "x.jsonl"\n', [],
     "gate_label 'neutral': the gate reads the lexical features; give lexical_terms too"),
    ('epochs = 1\n', [], "no training data: give --train FILE or a config with [[train]] tables")])
def test_a_config_refused_for_what_it_gives_or_lacks_is_named(tmp_path, capsys, text, flags, error):
    """Before: refused without the config file's name, where a value out of range the file gave is named with it."""
    config = tmp_path / "run.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["train", "--config", str(config), "--output", str(tmp_path / "out"), *flags]) == 2
    assert f"error: {config}: {error}" in capsys.readouterr().err


def test_a_misspelt_config_key_is_answered_with_the_setting_it_is_near(files, capsys):
    (files / "bad.toml").write_text('learning_rat = 1e-4\nepoch = 3\nnonsense = 1\n[[train]]\npath = "x.jsonl"\n',
                                    encoding="utf-8")
    assert main(["train", "--config", str(files / "bad.toml")]) == 2
    assert ("unknown setting(s) epoch, learning_rat, nonsense (did you mean: epoch: epochs, learning_rat: "
            "learning_rate?)") in capsys.readouterr().err


def test_a_misspelt_reader_option_as_a_config_key_is_pointed_to_its_table(files, capsys):
    """Before: `schem = "IOB1"` was answered "did you mean: schem: schema?" alone, a setting of the run."""
    (files / "bad.toml").write_text('schem = "IOB1"\ntext_feld = "body"\n[[train]]\npath = "x.conll"\n',
                                    encoding="utf-8")
    assert main(["train", "--config", str(files / "bad.toml")]) == 2
    assert ("unknown setting(s) schem, text_feld (did you mean: schem: schema?) (near a reader option: schem: scheme, "
            "text_feld: text_field; a file's format and reader options go in its table: [[train]] path = ..., "
            "format = ..., options = {...})") in capsys.readouterr().err


def test_an_empty_config_path_is_refused_not_left_out(files, monkeypatch, capsys):
    """Before: `--config "$UNSET"` was no config at all, and the run trained with the defaults."""
    monkeypatch.setattr("training.trainer.train", lambda config, log: pytest.fail("trained without its config"))
    assert main(["train", "--config", "", "--train", str(files / "ner.conll")]) == 2
    assert "--config: an empty path (an unset shell variable?)" in capsys.readouterr().err


def test_a_config_path_found_only_beside_the_config_file_says_where_paths_are_read_from(files, monkeypatch, capsys):
    """Before: "tr.jsonl: No such file or directory", naming neither the config file nor the folder it is read from."""
    (files / "runs").mkdir()
    (files / "runs" / "tr.jsonl").write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    (files / "runs" / "run.toml").write_text('[[train]]\npath = "tr.jsonl"\n', encoding="utf-8")
    monkeypatch.chdir(files)
    monkeypatch.setattr("training.trainer.train", lambda config, log: pytest.fail("trained"))
    assert main(["train", "--config", "runs/run.toml"]) == 2
    assert (f"runs/run.toml: tr.jsonl: no such file in the folder the command runs in ({files}), where a config's "
            "paths are read from, as on the command line; the one beside the config file is runs/tr.jsonl"
            ) in capsys.readouterr().err
