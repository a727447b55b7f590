import pytest

from training.config import TrainConfig


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_attention_dropout_must_be_a_probability(p):
    with pytest.raises(ValueError, match=rf"attention_dropout: {p} is not a probability in \[0, 1\)"):
        TrainConfig(train="train.jsonl", attention_dropout=p)


def test_attention_dropout_is_left_to_the_base_encoders_recipe_unless_given():
    assert TrainConfig(train="train.jsonl").attention_dropout is None
    assert TrainConfig(train="train.jsonl", attention_dropout=0.0).attention_dropout == 0.0


@pytest.mark.parametrize("name, value, meaning", [
    ("epochs", 0, "a whole number of at least 1"),
    ("epochs", 2.5, "a whole number of at least 1"),
    ("batch_size", 0, "a whole number of at least 1"),
    ("max_steps", 0, r"a whole number of at least 1 \(leave it out for no limit\)"),
    ("learning_rate", -1e-4, "a number above 0"),
    ("head_learning_rate", "5e-3", "a number above 0"),   # a TOML string is not read as a number
    ("dev_fraction", 1.5, r"in \[0, 1\)"),
    ("label_smoothing", 2.0, r"in \[0, 1\)"),
    ("layer_decay", 0.0, r"in \(0, 1\]"),
    ("window_overlap", -1, "a whole number of at least 0"),
    ("ema_decay", True, r"in \[0, 1\)"),
    ("seed", -1, r"a whole number in \[0, 2\*\*32\)"),
    ("learning_rate", float("inf"), "a number above 0"),
    ("max_train_docs", 0, "a whole number of at least 1"),
    ("window_length", 0, "a whole number of at least 1"),
    ("lexical_terms", -5, "a whole number of at least 0"),
    ("weight_decay", -0.01, "a number of at least 0"),
    ("warmup_ratio", 1.5, r"in \[0, 1\]"),
])
def test_a_numeric_setting_out_of_its_range_is_refused_with_what_it_may_be(name, value, meaning):
    with pytest.raises(ValueError, match=rf"^{name}: {value!r} is not {meaning}$"):
        TrainConfig(train="train.jsonl", **{name: value})


def test_a_dev_fraction_beside_dev_data_is_refused_not_left_unused():
    with pytest.raises(ValueError, match=r"^dev_fraction: 0.2 holds out training documents only without dev data"):
        TrainConfig(train="train.jsonl", dev="dev.jsonl", dev_fraction=0.2)
    assert TrainConfig(train="train.jsonl", dev=["dev.jsonl"], dev_fraction=0.0).dev == ["dev.jsonl"]


def test_a_window_must_hold_more_than_its_overlap_and_the_special_tokens():
    with pytest.raises(ValueError, match=r"window_length: 66 leaves no room beyond window_overlap \(64\)"):
        TrainConfig(train="train.jsonl", window_length=66)
    TrainConfig(train="train.jsonl", window_length=67, max_steps=1, dev_fraction=0.0, learning_rate=3e-5)


def test_every_numeric_setting_has_its_range_and_numbers_of_any_kind_pass():
    import numpy as np
    from dataclasses import fields
    from training.config import BOUNDS
    numeric = {f.name for f in fields(TrainConfig) if f.type.split(" | ")[0] in ("int", "float")}
    assert numeric == set(BOUNDS)
    config = TrainConfig(train="train.jsonl", epochs=np.int64(3), seed=np.int64(5), learning_rate=np.float32(1e-4),
                         warmup_ratio=1.0)
    assert (type(config.epochs), type(config.seed), type(config.learning_rate)) == (int, int, float)
    recorded = config.record()
    assert (recorded["epochs"], recorded["seed"], recorded["warmup_ratio"]) == (3, 5, 1.0)
    assert recorded["learning_rate"] == pytest.approx(1e-4)


def test_string_settings_take_strings_and_paths_and_the_device_a_torch_device():
    import torch
    from pathlib import Path
    assert TrainConfig(train="x", output=Path("out"), device=torch.device("cpu")).device == torch.device("cpu")
    with pytest.raises(ValueError, match="output: 5 is not a string"):
        TrainConfig(train="x", output=5)
    with pytest.raises(ValueError, match="device: 5 is not a string"):
        TrainConfig(train="x", device=5)
    with pytest.raises(ValueError, match="output: None is not a string"):   # before: a TypeError from pathlib, later
        TrainConfig(train="x", output=None)
    assert TrainConfig(train="x", device=None).device == "auto"


def test_a_path_object_is_kept_as_the_string_the_manifest_records():
    """Before: `TrainConfig(base=Path(folder))` trained an epoch, then its checkpoint could not be saved
    (the manifest's base_model a PosixPath, which JSON cannot write)."""
    from pathlib import Path
    from inference.manifest import Manifest
    config = TrainConfig(train="x", base=Path("encoder"), init_from=Path("ckpt"), model_card=Path("card.md"))
    assert [config.base, config.init_from, config.model_card] == ["encoder", "ckpt", "card.md"]
    assert '"base_model": "encoder"' in Manifest(tasks=[], base_model=config.base).to_json()


@pytest.mark.parametrize("name", ["base", "init_from", "model_card", "schema", "select_by", "gate_label"])
def test_an_empty_optional_setting_is_refused_not_taken_for_its_default(name):
    """Before: `--init-from ""` (an unset shell variable) trained from scratch, `--base ""` MiniLM,
    `--model-card ""` wrote none, all without a word."""
    with pytest.raises(ValueError, match=f"^{name}: empty: give a value, or leave the setting out"):
        TrainConfig(train="x", **{name: ""})


def test_a_device_this_machine_cannot_use_is_refused_naming_the_setting():
    import torch
    with pytest.raises(ValueError, match="^device: unknown device 'gpu'"):   # before: no setting named, after reading data
        TrainConfig(train="x", device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="^device: 'cuda' was asked for, but torch sees no GPU"):
            TrainConfig(train="x", device="cuda")


@pytest.mark.parametrize("name", ["epochs", "seed", "batch_size", "window_overlap", "shape_input", "measure_runtimes"])
def test_none_for_a_setting_without_a_none_default_is_refused(name):
    """Before: accepted, to fail later (epochs, seed, a TypeError for window_overlap) or silently
    read as off (shape_input, measure_runtimes)."""
    with pytest.raises(ValueError, match=rf"^{name}: None: give a value, or leave the setting out for its default$"):
        TrainConfig(train="train.jsonl", **{name: None})
    assert TrainConfig(train="train.jsonl", max_steps=None, base=None).max_steps is None   # None is their default
