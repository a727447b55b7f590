"""The resume state: every tensor it saves comes back, the moving average of the weights included."""
import json
import random
import re

import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from training.state import load_state, run_digest, run_identity, save_state, spellings

PROGRESS = {"epoch": 1, "step": 4, "best_score": 0.5, "history": [], "best_epoch": 1, "minutes": 0.1}   # the trainer's


def _run(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer)
    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.5))
    return model, optimizer, scheduler, average


def test_the_moving_average_survives_a_save_and_load(tmp_path):
    model, optimizer, scheduler, average = _run(0)
    for _ in range(3):
        model(torch.ones(1, 4)).sum().backward()
        optimizer.step()
        scheduler.step()
        average.update_parameters(model)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, average)

    fresh = _run(1)
    assert load_state(tmp_path / "s", *fresh[:3], random.Random(), fresh[3]) == PROGRESS
    assert torch.equal(fresh[3].module.weight, average.module.weight)
    assert not torch.equal(average.module.weight, model.weight)      # the average is its own tensor
    assert int(fresh[3].n_averaged) == 3


def test_each_process_resumes_with_its_own_torch_generator(tmp_path):
    """Before: process 0's generator alone was saved, and every process resumed with it, so the
    dropout of the others took another course than in an uninterrupted run."""
    model, optimizer, scheduler, _ = _run(0)
    states = [torch.manual_seed(seed).get_state() for seed in (10, 11)]   # processes 0 and 1
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS,
               generators={"torch_rng": states})
    one = torch.manual_seed(12).get_state()
    save_state(tmp_path / "one", model, optimizer, scheduler, random.Random(1), PROGRESS)   # one process's
    for rank in (0, 1):
        load_state(tmp_path / "s", *_run(1)[:3], random.Random(), rank=rank)
        assert torch.equal(torch.get_rng_state(), states[rank])
    load_state(tmp_path / "one", *_run(1)[:3], random.Random(), rank=1)   # a state of one process: its own
    assert torch.equal(torch.get_rng_state(), one)


def test_a_gpu_generator_goes_back_to_the_gpu_of_its_process(tmp_path, monkeypatch):
    """Before: set on the current GPU (cuda:0) whatever the process's."""
    model, optimizer, scheduler, _ = _run(0)
    states = [torch.manual_seed(seed).get_state() for seed in (10, 11)]
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS,
               generators={"torch_rng": states, "cuda_rng": [s.clone() for s in states]})
    set_on = []
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device: set_on.append((state, device)))
    load_state(tmp_path / "s", *_run(1)[:3], random.Random(), rank=1, device=torch.device("cuda:1"))
    load_state(tmp_path / "s", *_run(1)[:3], random.Random(), rank=0, device=torch.device("cpu"))   # none on a CPU
    assert len(set_on) == 1 and torch.equal(set_on[0][0], states[1]) and set_on[0][1] == torch.device("cuda:1")


def test_resuming_with_an_average_that_was_not_kept_says_so(tmp_path):
    model, optimizer, scheduler, _ = _run(0)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS)
    fresh = _run(1)
    with pytest.raises(ValueError, match="kept no moving average.*without --ema-decay"):
        load_state(tmp_path / "s", *fresh[:3], random.Random(), fresh[3])


def test_a_lost_average_of_a_run_that_kept_one_is_damage_not_a_setting_to_drop(tmp_path):
    model, optimizer, scheduler, average = _run(0)
    run = run_identity({"ema_decay": 0.5}, {}, {}, 1)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, average, run=run)
    (tmp_path / "s" / "average.safetensors").unlink()
    fresh = _run(1)   # before: "resume it without --ema-decay", which the run's identity then refuses
    with pytest.raises(ValueError, match=r"it is damaged \(FileNotFoundError: no average.safetensors"):
        load_state(tmp_path / "s", *fresh[:3], random.Random(), fresh[3], run=run)


def test_a_run_that_trains_something_else_is_refused_before_anything_is_restored(tmp_path):
    model, optimizer, scheduler, _ = _run(0)
    config = {"epochs": 3, "seed": 5, "device": "cpu", "output": "a", "train": "t.jsonl"}
    schema = {"entities": {"kind": "ner", "labels": ["O", "B-PER", "I-PER"]}}
    saved = run_identity(config, {"t.jsonl": "aa", "d.jsonl": "bb"}, schema, 1)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, run=saved)
    fresh = _run(1)
    weight = fresh[0].weight.clone()
    # where it runs may change; what it trains may not
    same = run_identity({**config, "device": "cuda", "output": "b"}, {"t.jsonl": "aa", "d.jsonl": "bb"}, schema, 1)
    assert load_state(tmp_path / "s", *fresh[:3], random.Random(), run=same) == PROGRESS
    wider = {"entities": {"kind": "ner", "labels": ["O", "B-PER", "I-PER", "B-WEIRD", "I-WEIRD"]}}   # from a test file
    other = run_identity({**config, "epochs": 4}, {"t.jsonl": "cc", "e.jsonl": "dd"}, wider, 2)
    fresh = _run(1)
    with pytest.raises(ValueError) as refused:
        load_state(tmp_path / "s", *fresh[:3], random.Random(), run=other)
    assert ("epochs was 3, now 4; d.jsonl left out; e.jsonl added; t.jsonl changed; task entities was "
            '{"kind": "ner", "labels": ["O", "B-PER", "I-PER"]}, now {"kind": "ner", "labels": ["O", "B-PER", '
            '"I-PER", "B-WEIRD", "I-WEIRD"]}; processes was 1, now 2. Run the same command, '
            f"or remove {tmp_path / 's'} to start again") in str(refused.value)   # before: "without --resume",
    # which is refused too while the state is there
    assert torch.equal(fresh[0].weight, weight)


@pytest.mark.parametrize("damage", [
    lambda s: (s / "state.json").write_text('{"progress": {"epoch": 1}, "param_gr', encoding="utf-8"),   # cut short
    lambda s: (s / "optimizer.safetensors").write_bytes((s / "optimizer.safetensors").read_bytes()[:40]),
    lambda s: (s / "model.safetensors").unlink(),
    lambda s: (s / "state.json").write_text('{"progress": {"epoch": 1}}', encoding="utf-8"),   # fields missing
    lambda s: (s / "state.json").write_text("[1, 2]", encoding="utf-8"),
])
def test_a_damaged_state_is_named_not_met_as_a_traceback(tmp_path, damage):
    model, optimizer, scheduler, _ = _run(0)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS)
    damage(tmp_path / "s")
    with pytest.raises(ValueError, match=rf"^{tmp_path / 's'} cannot be resumed from, it is damaged \(\w+.*\); "
                                         "delete it and run the command without --resume$"):
        load_state(tmp_path / "s", *_run(1)[:3], random.Random())



@pytest.mark.parametrize("edit, named", [
    (lambda meta: meta["progress"].update(step="16"), 'progress.step is "16", not a whole number'),
    (lambda meta: meta["progress"].update(step=-5), "progress.step is -5, not a whole number"),
    (lambda meta: meta["progress"].pop("epoch"), "progress.epoch is missing"),
    (lambda meta: meta["progress"].update(history=5), "progress.history is 5, not a list"),
    (lambda meta: meta["progress"].update(best_score=float("nan")), "progress.best_score is NaN, not a finite number"),
    (lambda meta: meta.update(progress="x"), 'progress is "x", not an object'),
    (lambda meta: meta.update(scheduler="x"), 'scheduler is "x", not an object'),
    (lambda meta: meta["scheduler"].update(last_epoch="5"), 'scheduler.last_epoch is "5", not a whole number'),
    (lambda meta: meta["scheduler"].update(last_epoch=-3), "scheduler.last_epoch is -3, not a whole number"),
    (lambda meta: meta["scheduler"].pop("last_epoch"), "scheduler.last_epoch is missing"),
    (lambda meta: meta["scheduler"].update(base_lrs=[-0.1]), "scheduler.base_lrs is [-0.1], not a list of numbers"),
    (lambda meta: meta["scheduler"].update(base_lrs="x"), 'scheduler.base_lrs is "x", not a list of numbers'),
    (lambda meta: meta["scheduler"].update(base_lrs=[0.1, 0.1]),
     "scheduler.base_lrs has 2 learning rate(s), not one for each of the 1 param_groups"),
    (lambda meta: meta["scheduler"].update(_step_count="2"), 'scheduler._step_count is "2", not a whole number'),
    (lambda meta: meta["param_groups"][0].update(lr=-1.0), "param_groups[0].lr is -1.0, not a number of at least 0"),
    (lambda meta: meta["param_groups"][0].update(lr="x"), 'param_groups[0].lr is "x", not a number of at least 0'),
    # before: restored as they stood; a ZeroDivisionError or a TypeError at the first step, or trained on silently
    (lambda meta: meta["param_groups"][0].update(betas=[1.0, 0.999]),
     "param_groups[0].betas is [1.0, 0.999], not a list of two numbers in [0, 1)"),
    (lambda meta: meta["param_groups"][0].update(betas=[0.9]), "param_groups[0].betas is [0.9], not a list of two"),
    (lambda meta: meta["param_groups"][0].update(betas="x"), 'param_groups[0].betas is "x", not a list of two'),
    (lambda meta: meta["param_groups"][0].pop("betas"), "param_groups[0].betas is null, not a list of two"),
    (lambda meta: meta["param_groups"][0].update(eps=-1e-8), "param_groups[0].eps is -1e-08, not a number of at least 0"),
    (lambda meta: meta["param_groups"][0].update(eps=float("nan")), "param_groups[0].eps is NaN, not a number"),
    (lambda meta: meta["param_groups"][0].update(weight_decay=-0.5),
     "param_groups[0].weight_decay is -0.5, not a number of at least 0"),
    (lambda meta: meta["param_groups"][0].update(weight_decay="0.01"),
     'param_groups[0].weight_decay is "0.01", not a number of at least 0'),
    (lambda meta: meta["param_groups"][0].update(maximize=True), "param_groups[0].maximize is true, not false"),
    (lambda meta: meta["param_groups"][0].update(amsgrad=True), "param_groups[0].amsgrad is true, not false"),
    # before: restored, then an AssertionError at the first step on a CPU
    (lambda meta: meta["param_groups"][0].update(capturable=True), "param_groups[0].capturable is true, not false"),
    # before: restored, and every later step a little other than an uninterrupted run's
    (lambda meta: meta["param_groups"][0].update(differentiable=True),
     "param_groups[0].differentiable is true, not false"),
    (lambda meta: meta["param_groups"][0].update(fused=True), "param_groups[0].fused is true, not false"),
    (lambda meta: meta.update(run="x"), 'run is "x", not null or an object'),
    (lambda meta: meta["run"].pop("config"), "run.config is missing"),
])
def test_a_state_json_of_the_wrong_shape_names_its_field(tmp_path, edit, named):
    """Before: a traceback, at the resume or epochs later (a step of "16" compared with a number),
    or a KeyError or AttributeError that named no field; a scheduler's values were restored as
    they stood (a negative last_epoch or base_lrs trained at a negative learning rate)."""
    model, optimizer, scheduler, _ = _run(0)
    run = run_identity({"epochs": 3}, {}, {}, 1)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, run=run)
    meta = json.loads((tmp_path / "s" / "state.json").read_text(encoding="utf-8"))
    edit(meta)
    (tmp_path / "s" / "state.json").write_text(json.dumps(meta), encoding="utf-8")
    fresh = _run(1)
    weight = fresh[0].weight.clone()
    with pytest.raises(ValueError, match=rf"^{tmp_path / 's'} cannot be resumed from, it is damaged \(state.json: "
                                         rf"{re.escape(named)}.*\); delete it and run the command without --resume$"):
        load_state(tmp_path / "s", *fresh[:3], random.Random(), run=run)
    assert torch.equal(fresh[0].weight, weight)   # nothing restored

def test_paths_name_files_not_spellings_in_a_runs_identity(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train.jsonl").write_text("{}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    typed = [run_identity({"train": path, "epochs": 3}, {path: "abc"}, {}, 1)
             for path in ("d/train.jsonl", "./d/train.jsonl", str(tmp_path / "d" / "train.jsonl"))]
    assert typed[0] == typed[1] == typed[2]   # before: "./d/train.jsonl added; d/train.jsonl left out"
    assert typed[0]["config"]["train"] == "d/train.jsonl"   # from where it runs: a moved run still finds its files
    assert run_identity({"train": "d/other.jsonl"}, {}, {}, 1) != run_identity({"train": "d/train.jsonl"}, {}, {}, 1)
    model, optimizer, scheduler, _ = _run(0)   # a state saved with the paths as typed resumes
    old = run_identity({"train": "./d/train.jsonl"}, {"./d/train.jsonl": "abc"}, {}, 1, typed=True)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, run=old)
    now = run_identity({"train": "d/train.jsonl"}, {"d/train.jsonl": "abc"}, {}, 1)
    assert load_state(tmp_path / "s", *_run(1)[:3], random.Random(), run=now) == PROGRESS


def test_the_same_files_resume_from_another_working_folder(tmp_path, monkeypatch):
    """The same command, its paths absolute, run from another folder: before, refused with
    every file "left out" and "added" (the paths were compared as written from each folder)."""
    (tmp_path / "run" / "d").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    data = tmp_path / "run" / "d" / "train.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    identity = lambda path: run_identity({"train": path, "epochs": 3}, {path: "abc"}, {}, 1)
    monkeypatch.chdir(tmp_path / "run")
    model, optimizer, scheduler, _ = _run(0)
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, run=identity(str(data)))
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_state(tmp_path / "s", *_run(1)[:3], random.Random(), run=identity(str(data))) == PROGRESS
    other = tmp_path / "run" / "d" / "other.jsonl"   # another file is still another file
    other.write_text("{}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="d/other.jsonl added"):
        load_state(tmp_path / "s", *_run(1)[:3], random.Random(), run=identity(str(other)))


def test_the_default_base_spelt_out_is_the_same_run(tmp_path):
    """Before: the same command with `--base minilm` added was refused: "base was None, now 'minilm'"."""
    left_out, spelt = (run_identity({"base": base, "epochs": 3}, {}, {}, 1) for base in (None, "minilm"))
    assert left_out == spelt
    model, optimizer, scheduler, _ = _run(0)
    recorded = {"config": {"base": "minilm", "epochs": 3}, "data_sha256": {}, "schema": {}, "processes": 1}
    for name, run in (("new", left_out), ("old", recorded)):   # "old": as runs saved before recorded it
        save_state(tmp_path / name, model, optimizer, scheduler, random.Random(1), PROGRESS, run=run)
        assert load_state(tmp_path / name, *_run(1)[:3], random.Random(), run=spelt) == PROGRESS
        assert load_state(tmp_path / name, *_run(1)[:3], random.Random(), run=left_out) == PROGRESS
    assert run_digest(recorded) in map(run_digest, spellings(spelt))   # a run that ended so is found ended
    with pytest.raises(ValueError, match="base was None, now 'e5-small'"):   # another base is another run
        load_state(tmp_path / "new", *_run(1)[:3], random.Random(), run=run_identity({"base": "e5-small", "epochs": 3},
                                                                                    {}, {}, 1))


def test_settings_the_init_from_checkpoint_overrides_are_the_same_run(tmp_path):
    """They have no effect beside --init-from. Before: "base was None, now 'e5-small'"."""
    given = {"base": "e5-small", "lexical_terms": 50, "shape_input": False, "gate_label": "unrelated"}
    left_out = {"base": None, "lexical_terms": 0, "shape_input": True, "gate_label": None}
    runs = [run_identity({"init_from": "c", **settings, "epochs": 3}, {}, {}, 1) for settings in (left_out, given)]
    assert runs[0] == runs[1]
    assert run_identity({**given, "epochs": 3}, {}, {}, 1) != run_identity({**left_out, "epochs": 3}, {}, {}, 1)
    model, optimizer, scheduler, _ = _run(0)   # as runs saved before recorded them: as given
    recorded = {"config": {"init_from": "c", **given, "epochs": 3}, "data_sha256": {}, "schema": {}, "processes": 1}
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, run=recorded)
    assert load_state(tmp_path / "s", *_run(1)[:3], random.Random(), run=runs[0]) == PROGRESS


def test_a_setting_an_older_state_does_not_record_is_named_as_such(tmp_path):
    """Before: "crf was None, now False. Run the same command": the user changed nothing."""
    model, optimizer, scheduler, _ = _run(0)
    recorded = {"config": {"epochs": 3, "label_all_subwords": False}, "data_sha256": {}, "schema": {}, "processes": 1}
    save_state(tmp_path / "s", model, optimizer, scheduler, random.Random(1), PROGRESS, run=recorded)
    now = run_identity({"epochs": 3, "crf": False}, {}, {}, 1)
    with pytest.raises(ValueError) as refused:
        load_state(tmp_path / "s", *_run(1)[:3], random.Random(), run=now)
    assert ("crf: not recorded in state.json, saved by an older version of newsmodel; label_all_subwords: recorded "
            "in state.json by the version that saved it, no longer a setting. Run the same command with the version "
            "that saved it, or remove") in str(refused.value)


def test_a_checkpoints_differences_name_its_manifest_where_a_setting_is_unrecorded():
    """Before: a setting an older checkpoint's manifest lacks was "not recorded in state.json"."""
    from training.state import checkpoint_differences
    now = {"config": {"epochs": 2, "ema": False}, "data_sha256": {}, "schema": {}, "processes": 1}
    assert checkpoint_differences({"epochs": 1}, {}, {}, 1, None, now) == [
        "ema: not recorded in manifest.json, saved by an older version of newsmodel", "epochs was 1, now 2"]
