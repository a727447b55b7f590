"""A run killed with SIGKILL resumes and ends where an uninterrupted run ends; training runs
as two data-parallel processes under torchrun. Both on a one-layer encoder, to stay fast."""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO

KILL_AFTER_FIRST_SAVE = """
import os, signal, sys
import training.trainer as trainer
save = trainer.save_state
def save_then_die(*args, **kwargs):
    save(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
trainer.save_state = save_then_die
from training.cli import main
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def run_args(tmp_path_factory, tiny_base):
    tmp = tmp_path_factory.mktemp("resume")
    lines = (REPO / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp / "train.jsonl").write_text("\n".join(lines[:16]) + "\n", encoding="utf-8")
    (tmp / "dev.jsonl").write_text("\n".join(lines[16:20]) + "\n", encoding="utf-8")
    return tmp, ["train", "--base", tiny_base, "--train", str(tmp / "train.jsonl"), "--dev", str(tmp / "dev.jsonl"),
                 "--epochs", "3", "--batch-size", "4", "--window-length", "64", "--window-overlap", "16",
                 "--seed", "5"]


def run(args, env_extra=None, code=None, cwd=REPO):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env_extra or {})}
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "training", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def dev_metrics(path):
    return json.loads((path / "manifest.json").read_text())["metrics"]["dev"]


def test_kill_9_then_resume_ends_like_an_uninterrupted_run(run_args):
    tmp, args = run_args
    args = args + ["--ema-decay", "0.9"]   # the moving average, saved and scored, must resume too
    whole = run(args + ["--output", str(tmp / "whole")])
    assert whole.returncode == 0, whole.stderr[-2000:]

    killed = run(args + ["--output", str(tmp / "killed")], code=KILL_AFTER_FIRST_SAVE)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp / "killed.state" / "state.json").exists()
    assert (tmp / "killed" / "manifest.json").exists()  # epoch 1's checkpoint survived the kill

    changed = run(args + ["--output", str(tmp / "killed"), "--resume", "--epochs", "4"])
    assert changed.returncode == 2 and "epochs was 3, now 4" in changed.stderr
    # a test file changes nothing that trains: it may come with the resumed command
    (tmp / "test.jsonl").write_text((tmp / "dev.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    # killed between the renames of a later save: the state moved aside is put back for --resume
    (tmp / "killed.state").rename(tmp / ".killed.state.old-0123456789ab")
    resumed = run(args + ["--output", str(tmp / "killed"), "--resume", "--test", str(tmp / "test.jsonl")])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from" in resumed.stdout + resumed.stderr
    assert not (tmp / "killed.state").exists()
    # the same weights kept: with a lost average the resumed epochs would average other weights
    whole_weights, killed_weights = (load_file(str(tmp / name / "model.safetensors")) for name in ("whole", "killed"))
    assert all(torch.allclose(whole_weights[k], killed_weights[k], atol=1e-5) for k in whole_weights)
    a, b = dev_metrics(tmp / "whole"), dev_metrics(tmp / "killed")
    for task in a:
        for key, value in a[task].items():
            if isinstance(value, float):
                assert b[task][key] == pytest.approx(value, abs=1e-6), (task, key)


def test_a_run_killed_after_its_last_step_resumes_to_its_end_and_no_further(run_args):
    tmp, args = run_args
    args = args + ["--max-steps", "2", "--ema-decay", "0.5"]   # the last step in epoch 1; the average would move
    whole = run(args + ["--output", str(tmp / "whole2")])
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert "epoch 1/1: 100%|██████████| 2/2 " in whole.stderr   # the bar counts the last step it takes
    killed = run(args + ["--output", str(tmp / "killed2")], code=KILL_AFTER_FIRST_SAVE)
    assert killed.returncode == -signal.SIGKILL
    resumed = run(args + ["--output", str(tmp / "killed2"), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "epoch 2/" not in resumed.stdout + resumed.stderr   # no epoch after the last step
    whole_weights, resumed_weights = (load_file(str(tmp / name / "model.safetensors")) for name in ("whole2", "killed2"))
    assert all(torch.equal(whole_weights[k], resumed_weights[k]) for k in whole_weights)
    # the same command with --resume once the run has ended: nothing trained, nothing replaced
    written = (tmp / "whole2" / "model.safetensors").stat().st_mtime_ns
    again = run(args + ["--output", str(tmp / "whole2"), "--resume"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert "this run has already ended" in again.stdout and "epoch 1/" not in again.stdout + again.stderr
    assert (tmp / "whole2" / "model.safetensors").stat().st_mtime_ns == written
    # the same from another folder (its paths absolute): before, trained again and replaced
    again = run(args + ["--output", str(tmp / "whole2"), "--resume"], cwd=tmp)
    assert "this run has already ended" in again.stdout, again.stderr[-2000:]
    assert (tmp / "whole2" / "model.safetensors").stat().st_mtime_ns == written
    # with a test file the ended run did not score: refused, saying how to score it, not skipped
    (tmp / "test2.jsonl").write_text((tmp / "dev.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    again = run(args + ["--output", str(tmp / "whole2"), "--resume", "--test", str(tmp / "test2.jsonl")])
    assert again.returncode == 2 and "already ended into" in again.stderr and "newsmodel evaluate" in again.stderr
    assert (tmp / "whole2" / "model.safetensors").stat().st_mtime_ns == written


# Put on the processes' path: a process still running after 450 s (the runs here take under a
# minute alone, two under load) prints where each of its threads waits and ends, so a hang fails with its stacks.
STACKS_ON_HANG = "import faulthandler\nfaulthandler.dump_traceback_later(450, exit=True)\n"


def torchrun(args, tmp):
    program = os.path.join(os.path.dirname(sys.executable), "torchrun")  # installed with torch
    (tmp / "stacks_on_hang").mkdir(exist_ok=True)
    (tmp / "stacks_on_hang" / "sitecustomize.py").write_text(STACKS_ON_HANG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp / "stacks_on_hang")]), "OMP_NUM_THREADS": "1"}
    return subprocess.run([program, "--standalone", "--nproc_per_node", "2", "-m", "training", *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def test_two_processes_with_torchrun(run_args):
    tmp, args = run_args
    proc = torchrun([*args, "--output", str(tmp / "ddp")], tmp)
    assert proc.returncode == 0, proc.stderr[-8000:]
    assert "2 process(es)" in proc.stdout
    assert set(dev_metrics(tmp / "ddp")) == {"entities", "topic", "stance"}
    assert json.loads((tmp / "ddp" / "manifest.json").read_text())["training"]["processes"] == 2
    assert "batch size 4 per process x 2 processes" in (tmp / "ddp" / "README.md").read_text()   # before: "4"


def test_a_crf_trains_under_torchrun(run_args):
    # the loss reads the CRF's transition scores, which data parallelism must count as used
    tmp, args = run_args
    proc = torchrun([*args, "--crf", "--epochs", "1", "--output", str(tmp / "ddp-crf")], tmp)
    assert proc.returncode == 0, proc.stderr[-8000:]
    manifest = json.loads((tmp / "ddp-crf" / "manifest.json").read_text())
    ner = next(t for t in manifest["tasks"] if t["kind"] == "ner")
    transitions = load_file(str(tmp / "ddp-crf" / "heads.safetensors"))[f"transitions.{ner['name']}"]
    assert ner["crf"] and transitions.abs().max() > 0


def test_fewer_batches_than_processes_is_refused_not_left_waiting(run_args):
    tmp, args = run_args
    proc = torchrun([*args, "--batch-size", "1000", "--output", str(tmp / "ddp-one-batch")], tmp)   # one batch, two processes
    assert proc.returncode != 0   # before: the process with a batch waited for the other's for ever
    assert "make 1 batch(es) of 1000 for 2 processes: each needs one" in proc.stderr
    assert not (tmp / "ddp-one-batch").exists()


def test_a_kill_while_the_ended_runs_state_is_removed_leaves_none_of_it(run_args, tiny_base, monkeypatch):
    """Before: the state was deleted file by file, and a kill in between left part of it: with
    state.json, --resume called the ended run's state damaged; without, every later run was refused."""
    from training.config import TrainConfig
    from training.trainer import train
    tmp, _ = run_args
    config = TrainConfig(train=str(tmp / "train.jsonl"), base=tiny_base, output=str(tmp / "ended"), epochs=1,
                         max_steps=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False)
    rmtree = shutil.rmtree

    def killed_midway(path, *args, **kwargs):
        if os.path.exists(os.path.join(path, "state.json")):   # the state: one file gone, then the kill
            os.remove(os.path.join(path, "model.safetensors"))
            raise KeyboardInterrupt
        rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        train(config, log=lambda m: None)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    logged = []
    train(TrainConfig(**{**config.__dict__, "resume": True}), log=logged.append)
    assert any(line.startswith("this run has already ended") for line in logged), logged
    assert not [p.name for p in tmp.iterdir() if p.name.startswith((".ended", "ended."))]


def _stopped_after_its_last_epoch(config, monkeypatch) -> None:
    """Train `config`, stopped (Ctrl-C) after its last epoch was saved, before it ends."""
    from training.trainer import Trainer, train

    def killed(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "finish", killed)
    with pytest.raises(KeyboardInterrupt):
        train(config, log=lambda m: None)
    monkeypatch.undo()


@pytest.mark.parametrize("name, meanwhile, now", [
    ("lost", lambda tmp, output: shutil.rmtree(output), "holds no checkpoint now: put it back"),
    # before: resumed, and the other run's checkpoint calibrated and ended as this run's best epoch
    ("taken", lambda tmp, output: (shutil.rmtree(output), shutil.copytree(tmp / "other", output)),
     "now holds another run's checkpoint: put this run's back"),
])
def test_a_resume_whose_kept_checkpoint_is_gone_or_another_runs_is_refused_before_training(run_args, tiny_base,
                                                                                          monkeypatch, name, meanwhile,
                                                                                          now):
    """Before (lost): the epochs ran, then the run failed at its end, loading a checkpoint that is not there."""
    from training.config import TrainConfig
    from training.trainer import train
    tmp, _ = run_args
    output = tmp / name
    config = TrainConfig(train=str(tmp / "train.jsonl"), base=tiny_base, output=str(output), epochs=1,
                         max_steps=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False)
    if not (tmp / "other").exists():
        train(TrainConfig(**{**config.__dict__, "seed": 6, "output": str(tmp / "other")}), log=lambda m: None)
    _stopped_after_its_last_epoch(config, monkeypatch)
    meanwhile(tmp, output)
    with pytest.raises(ValueError, match=rf"best epoch so far \(1\) was saved to {output}, which {now}, or "
                                         rf"remove .*{output.name}.state to start again"):
        train(TrainConfig(**{**config.__dict__, "resume": True}), log=lambda m: None)


def _killed_before_its_first_state(config, monkeypatch) -> None:
    """Run `config` to its first checkpoint's save and stop it there, before its state is saved."""
    import training.trainer as trainer

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "save_state", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config, log=lambda m: None)
    monkeypatch.undo()


def test_an_epochs_checkpoint_without_a_state_is_no_ended_run(run_args, tiny_base, monkeypatch):
    """A run killed between its first checkpoint and its first state starts again on --resume."""
    import training.trainer as trainer
    from training.config import TrainConfig
    tmp, _ = run_args
    config = TrainConfig(train=str(tmp / "train.jsonl"), base=tiny_base, output=str(tmp / "early"), epochs=1,
                         max_steps=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False)
    _killed_before_its_first_state(config, monkeypatch)
    logged = []
    trainer.train(TrainConfig(**{**config.__dict__, "resume": True}), log=logged.append)
    assert any(line.startswith("nothing to resume") for line in logged), logged


def test_an_in_place_continue_interrupted_before_its_state_is_refused_rather_than_trained_twice(
        run_args, tiny_checkpoint, monkeypatch):
    """Before: `--init-from X --output X` killed between its first checkpoint and its first state
    had replaced X; the same command, with --resume ("nothing to resume") or without, trained
    that epoch's weights again as if they were X, and the card said it started from X."""
    import training.trainer as trainer
    from training.config import TrainConfig
    tmp, _ = run_args
    output = shutil.copytree(tiny_checkpoint, tmp / "in_place")
    config = TrainConfig(train=str(tmp / "train.jsonl"), init_from=str(output), output=str(output), epochs=1,
                         max_steps=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False)
    _killed_before_its_first_state(config, monkeypatch)
    saved = (output / "model.safetensors").read_bytes()   # the interrupted run's epoch, not tiny_checkpoint's
    for resume in (True, False):
        with pytest.raises(ValueError, match=rf"^init_from {output}: it holds the best epoch so far \(1\) of an "
                                             "interrupted run that continued it in place, not the checkpoint that run "
                                             r"started from, which its first save replaced; .* copy it and give the "
                                             "copy to --init-from$"):
            trainer.train(TrainConfig(**{**config.__dict__, "resume": resume}), log=lambda m: None)
    assert (output / "model.safetensors").read_bytes() == saved
    copy = shutil.copytree(output, tmp / "in_place_copy")   # as the message advises: trains, in place too
    trainer.train(TrainConfig(**{**config.__dict__, "init_from": str(copy), "output": str(copy)}), log=lambda m: None)


@pytest.mark.parametrize("settings", [{"base": "e5-small"}, {"base": "tiny_base"},
                                      {"lexical_terms": 50, "shape_input": False, "gate_label": "unrelated"}])
def test_settings_without_effect_beside_init_from_make_no_other_run(run_args, tiny_base, tiny_checkpoint,
                                                                    monkeypatch, settings):
    """Before: `--init-from X --base B` (B ignored, the encoder is the checkpoint's) was refused as another
    run than `--init-from X` ("base was None, now 'e5-small'"; a --base folder also "added"); so were the
    checkpoint's lexicon, word-shape input and gates given otherwise."""
    from training.config import TrainConfig
    from training.trainer import train
    tmp, _ = run_args
    output = tmp / "-".join(["on", *map(str, settings.values())])
    config = TrainConfig(train=str(tmp / "train.jsonl"), init_from=str(tiny_checkpoint), output=str(output), epochs=1,
                         max_steps=1, batch_size=4, window_length=64, window_overlap=16, measure_runtimes=False)
    settings = {k: tiny_base if v == "tiny_base" else v for k, v in settings.items()}
    _stopped_after_its_last_epoch(config, monkeypatch)
    logged = []
    train(TrainConfig(**{**config.__dict__, **settings, "resume": True}), log=logged.append)
    assert any(line.startswith("resuming from") for line in logged), logged
    logged = []   # ended: the same run, with those settings or without
    train(TrainConfig(**{**config.__dict__, "resume": True}), log=logged.append)
    assert any(line.startswith("this run has already ended") for line in logged), logged


def test_measure_runtimes_on_the_resume_of_a_run_ended_without_them_measures_them(run_args, tiny_base, monkeypatch):
    """Before: the ended run was found and nothing measured, nor said; a second --resume measures nothing again."""
    import training.trainer as trainer
    from training.config import TrainConfig
    tmp, _ = run_args
    config = TrainConfig(train=str(tmp / "train.jsonl"), dev=str(tmp / "dev.jsonl"), base=tiny_base,
                         output=str(tmp / "unmeasured"), epochs=1, max_steps=1, batch_size=4, window_length=64,
                         window_overlap=16, measure_runtimes=False, model_card=str(tmp / "card.md"))
    trainer.train(config, log=lambda m: None)
    measured = []
    monkeypatch.setattr(trainer, "measure_runtimes", lambda path, dev, log: measured.append(path) or {
        "torch": {"dev": {"entities": 0.5}, "words_per_second": 100.0}})
    for _ in range(2):
        logged = []
        trainer.train(TrainConfig(**{**config.__dict__, "resume": True, "measure_runtimes": True}), log=logged.append)
        assert any(line.startswith("this run has already ended") for line in logged), logged
    assert measured == [tmp / "unmeasured"]
    manifest = json.loads((tmp / "unmeasured" / "manifest.json").read_text())
    assert manifest["runtimes"]["torch"]["words_per_second"] == 100.0
    assert manifest["training"]["config"]["measure_runtimes"] is False   # as the run was trained
    for card in (tmp / "unmeasured" / "README.md", tmp / "card.md"):
        assert "`load()` runs `torch` by default" in card.read_text()


def _ended_without_runtimes(tmp, tiny_base, name):
    from training.config import TrainConfig
    from training.trainer import train
    config = TrainConfig(train=str(tmp / "train.jsonl"), dev=str(tmp / "dev.jsonl"), base=tiny_base,
                         output=str(tmp / name), epochs=1, max_steps=1, batch_size=4, window_length=64,
                         window_overlap=16, measure_runtimes=False)
    train(config, log=lambda m: None)
    return TrainConfig(**{**config.__dict__, "resume": True, "measure_runtimes": True})


def test_a_kill_while_an_ended_runs_card_is_written_leaves_the_runtimes_to_measure_again(run_args, tiny_base,
                                                                                          monkeypatch):
    """Before: the manifest took the runtimes first, so a kill before the card was written left a card
    without them (or cut short) that every later --resume, finding them measured, left as it was."""
    import training.trainer as trainer
    tmp, _ = run_args
    config = _ended_without_runtimes(tmp, tiny_base, "card-killed")
    monkeypatch.setattr(trainer, "measure_runtimes", lambda path, dev, log: {
        "torch": {"dev": {"entities": 0.5}, "words_per_second": 100.0}})
    card = trainer.write_model_card

    def killed(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(trainer, "write_model_card", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config, log=lambda m: None)
    monkeypatch.setattr(trainer, "write_model_card", card)
    trainer.train(config, log=lambda m: None)
    assert "`load()` runs `torch` by default" in (tmp / "card-killed" / "README.md").read_text()


def test_a_card_that_cannot_be_written_after_an_ended_runs_runtimes_says_the_checkpoint_is_complete(
        run_args, tiny_base, monkeypatch):
    """Before: a bare OSError ("[Errno 28] No space left on device: '.../README.md.tmp'"), where the end of
    training's card write says what is in place and what writes it; the same command then writes it."""
    import training.trainer as trainer
    tmp, _ = run_args
    config = _ended_without_runtimes(tmp, tiny_base, "card-unwritten")
    monkeypatch.setattr(trainer, "measure_runtimes", lambda path, dev, log: {
        "torch": {"dev": {"entities": 0.5}, "words_per_second": 100.0}})
    card = trainer.write_model_card

    def full_disk(checkpoint, *args, **kwargs):
        raise OSError(28, "No space left on device", str(checkpoint / "README.md.tmp"))
    monkeypatch.setattr(trainer, "write_model_card", full_disk)
    with pytest.raises(ValueError) as error:
        trainer.train(config, log=lambda m: None)
    assert str(error.value) == (
        f"{tmp / 'card-unwritten' / 'README.md'}: the model card could not be written (No space left on device); the "
        f"checkpoint itself is complete in {config.output}, as the run ended: once the card can be written, the same "
        "command with --resume (it measures the runtimes again) to write it")
    assert not json.loads((tmp / "card-unwritten" / "manifest.json").read_text())["runtimes"]
    monkeypatch.setattr(trainer, "write_model_card", card)
    trainer.train(config, log=lambda m: None)
    assert "`load()` runs `torch` by default" in (tmp / "card-unwritten" / "README.md").read_text()


@pytest.mark.parametrize("stopped, said", [
    ("measure_runtimes", "the run had already ended: its checkpoint at {output} is kept as it ended, and the same "
                         "command with --resume finishes what this one began"),
    ("read_data", "the ended run's checkpoint at {output} is kept as it was: the same command with --resume finishes "
                  "that run where it is this one (the same settings and data), else is refused, naming what differs"),
])
def test_ctrl_c_in_a_resume_of_an_ended_run_says_its_checkpoint_is_kept(run_args, monkeypatch, capsys, stopped, said):
    """Before: "before an epoch was saved: nothing to resume", of a run that had ended whole, while
    its runtimes were measured or its data read again; reading its data, the run does not know yet
    whether that checkpoint is its own (a --resume with a setting changed starts again)."""
    import training.trainer as trainer
    from training.cli import main
    tmp, args = run_args
    args = [*args, "--output", str(tmp / f"{stopped}-stopped"), "--max-steps", "1"]
    assert main([*args, "--no-measure-runtimes"]) == 0
    before = (tmp / f"{stopped}-stopped" / "manifest.json").read_text()

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(trainer, stopped, ctrl_c)
    capsys.readouterr()
    assert main([*args, "--resume"]) == 130
    assert capsys.readouterr().err.endswith(f"\ninterrupted; {said.format(output=tmp / f'{stopped}-stopped')}\n")
    assert (tmp / f"{stopped}-stopped" / "manifest.json").read_text() == before


def test_a_resume_of_another_run_over_an_ended_checkpoint_is_refused_naming_the_differences(run_args, capsys):
    """Before: `--resume` with a setting or training file changed since the run that ended into --output
    logged "nothing to resume at ...: starting from the beginning", naming nothing, and its first save
    replaced the ended run's checkpoint."""
    from training.cli import main
    tmp, args = run_args
    args = [*args, "--output", str(tmp / "ended-then-other"), "--no-measure-runtimes"]
    assert main([*args, "--max-steps", "1"]) == 0
    before = {name: (tmp / "ended-then-other" / name).read_bytes() for name in ("manifest.json", "model.safetensors")}
    (tmp / "other-train.jsonl").write_text("\n".join((tmp / "train.jsonl").read_text().splitlines()[:12]) + "\n")
    other = [str(tmp / "other-train.jsonl") if a == str(tmp / "train.jsonl") else a for a in args]
    for changed, said in (([*args, "--max-steps", "2"], "max_steps was 1, now 2"),
                          ([*other, "--max-steps", "1", "--seed", "6"], "seed was 5, now 6; train was ")):
        capsys.readouterr()
        assert main([*changed, "--resume"]) == 2
        err = capsys.readouterr().err
        assert f"--resume: {tmp / 'ended-then-other'} holds the checkpoint of another run than this one, which " \
               f"ended: {said}" in err, err
        assert "other-train.jsonl added" in err or changed == [*args, "--max-steps", "2"]
        assert "give another --output; to train this run from the beginning over it, leave out --resume" in err
        assert {name: (tmp / "ended-then-other" / name).read_bytes() for name in before} == before


def test_ctrl_c_in_a_resume_that_started_again_does_not_call_the_run_ended(run_args, monkeypatch, capsys):
    """Before: `--resume` of a run continuing in place an ended checkpoint (another run's, so nothing of it to
    resume) that was stopped in its first epoch said "the run had already ended: its checkpoint ... is kept as it
    ended, and the same command with --resume finishes what this one began", when that command starts from the
    beginning again and replaces that checkpoint at its first save."""
    import training.trainer as trainer
    from training.cli import main
    tmp, args = run_args
    output = str(tmp / "ended-then-in-place")
    args = [*args, "--output", output, "--no-measure-runtimes"]
    assert main([*args, "--max-steps", "1"]) == 0
    before = (tmp / "ended-then-in-place" / "manifest.json").read_text()

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(trainer.Trainer, "_epoch", ctrl_c)
    capsys.readouterr()
    assert main([*args, "--max-steps", "1", "--init-from", output, "--resume"]) == 130   # nothing of it to resume
    out, err = capsys.readouterr()
    assert "nothing to resume at" in out
    assert err.endswith("\ninterrupted; before an epoch was saved: nothing to resume\n"), err
    assert (tmp / "ended-then-in-place" / "manifest.json").read_text() == before
