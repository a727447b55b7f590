"""benchmarks/ensemble.py: the members' scores averaged, decoded as one checkpoint's."""
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from test_smoke import BENCHMARKS, run

sys.path.insert(0, str(BENCHMARKS))
from ensemble import Readings, ensemble  # noqa: E402

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
TEXT = "Anna Berg met John Smith in Paris. Berg flew home to New York."


def _ner_checkpoint(path, base: str, seed: int, lexicon: tuple[str, ...] = (), temperature: float = 1.0,
                    labels: list[str] = LABELS):
    """An untrained NER-only CRF checkpoint; `seed` draws its head and its transition scores."""
    from transformers import AutoModel, AutoTokenizer
    from inference.checkpoint import save_checkpoint
    from inference.manifest import Manifest, TaskSpec
    from inference.modeling import MultiTaskModel
    torch.manual_seed(seed)
    task = TaskSpec(name="entities", kind="ner", labels=labels, crf=True, temperature=temperature)
    model = MultiTaskModel(AutoModel.from_pretrained(base, add_pooling_layer=False), [task], lexicon_size=len(lexicon))
    with torch.no_grad():
        model.transitions["entities"].normal_()
    model.sync_transitions([task])
    manifest = Manifest(tasks=[task], base_model="tiny", window_length=32, window_overlap=8, lexicon=list(lexicon))
    save_checkpoint(model, AutoTokenizer.from_pretrained(base), manifest, path)
    return str(path)


@pytest.fixture(scope="module")
def members(tmp_path_factory, tiny_base):
    d = tmp_path_factory.mktemp("members")
    return [_ner_checkpoint(d / f"m{seed}", tiny_base, seed) for seed in (1, 2)]


def test_one_member_predicts_as_the_checkpoint_itself(members):
    from inference import load
    alone = load(members[0], runtime="torch", quantize=False, device="cpu")
    assert ensemble(members[:1]).predict(TEXT).to_dict() == alone.predict(TEXT).to_dict()


def test_members_outputs_and_transitions_are_averaged(members):
    from inference import load
    single = [load(m, runtime="torch", quantize=False, device="cpu") for m in members]
    both = ensemble(members)
    inputs = {"input_ids": torch.tensor([[101, 2198, 3044, 2777, 102]]), "attention_mask": torch.ones(1, 5, dtype=torch.long),
              "shape_ids": torch.zeros(1, 5, dtype=torch.long), "pool_mask": torch.ones(1, 5)}
    with torch.inference_mode():
        mean = both.model(**inputs)["entities"]
        a, b = (s.model(**inputs)["entities"] for s in single)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(mean, (a + b) / 2)
    ta, tb = (torch.tensor(s.manifest.task("entities").transitions) for s in single)
    torch.testing.assert_close(torch.tensor(both.manifest.task("entities").transitions), (ta + tb) / 2)


def test_readings_average_the_word_scores_of_each_window_length(tmp_path, tiny_base):
    import dataclasses
    import numpy as np
    from inference import load
    hot = _ner_checkpoint(tmp_path / "hot", tiny_base, 1, temperature=2.0)   # calibrated scores are logits / 2
    model = load(hot, runtime="torch", quantize=False, device="cpu")
    texts = [TEXT * 4]   # long enough for windows of 32 and of 24 subwords to cut it differently
    alone = []
    for length in (32, 24):
        model.manifest = dataclasses.replace(model.manifest, window_length=length)
        alone.append(model.analyse(texts)[0].word_probs["entities"])
    assert not np.allclose(alone[0], alone[1])
    own = load(hot, runtime="torch", quantize=False, device="cpu")
    read_twice = Readings(own, [32, 24])
    mean = read_twice.analyse(texts)[0].word_probs["entities"]
    logits = (np.log(alone[0]) + np.log(alone[1])) / 2   # log-probabilities differ from logits by a constant per word
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(mean, expected, rtol=1e-5, atol=1e-7)
    read_once = Readings(own, [24]).analyse(texts)[0].word_probs["entities"]   # another length alone
    np.testing.assert_allclose(read_once, alone[1], rtol=1e-5, atol=1e-7)


def test_readings_read_a_generator_once_and_predict_through_every_length(tmp_path, tiny_base):
    """Before, each reading read the texts anew: the first emptied a generator, and the second read nothing."""
    from inference import load
    read_twice = Readings(load(_ner_checkpoint(tmp_path / "m", tiny_base, 1), runtime="torch", quantize=False,
                               device="cpu"), [32, 24])
    texts = [TEXT * 4, TEXT]
    listed = [a.word_probs["entities"] for a in read_twice.analyse(texts)]
    for got, expected in zip(read_twice.analyse(t for t in texts), listed):
        np.testing.assert_array_equal(got.word_probs["entities"], expected)
    read = []
    for reader in read_twice.readers:   # predict goes through each reading too
        reader._analyse = lambda *args, real=reader._analyse: read.append(args[0]) or real(*args)
    read_twice.predict_batch(t for t in texts)
    assert read == [texts, texts]


def test_ensemble_reads_through_other_window_lengths_only_when_asked(members):
    assert isinstance(ensemble(members, [32, 24]), Readings)
    assert isinstance(ensemble(members, [24]), Readings)
    assert not isinstance(ensemble(members, [32]), Readings)   # the checkpoints' own length
    assert not isinstance(ensemble(members), Readings)


@pytest.mark.parametrize("lengths, why", [([32, 10], "must exceed the overlap"), ([32, 1024], "positions"),
                                          ([24, 24], "given twice")])
def test_readings_refuse_window_lengths_that_cannot_work(members, lengths, why):
    with pytest.raises(ValueError, match=why):
        ensemble(members, lengths)


@pytest.mark.parametrize("lengths, why", [(["32", "10"], "window length 10: it must exceed the overlap"),
                                          (["32", "1024"], "window length 1024: it must exceed the overlap (8) and "
                                                           "the 2 special tokens, and fit the encoder's 512 positions"),
                                          (["24", "24"], "window lengths [24, 24]: one is given twice")])
def test_the_script_refuses_window_lengths_before_any_member_loads(members, tmp_path, monkeypatch, lengths, why):
    """Before: refused only once every member had loaded (minutes for five real checkpoints)."""
    import ensemble as script
    conll = tmp_path / "test.conll"
    conll.write_text("Anna NNP I-NP I-PER\nBerg NNP I-NP I-PER\n", encoding="utf-8")
    monkeypatch.setattr(script, "load", lambda *args, **kwargs: pytest.fail("a member loaded"))
    options = [option for n in lengths for option in ("--window-length", n)]
    monkeypatch.setattr(sys, "argv", ["ensemble.py", "--checkpoint", members[0], "--checkpoint", members[1],
                                      "--conll", str(conll), *options])
    with pytest.raises(SystemExit, match="^" + re.escape(f"error: {why}")):
        script.main()


def test_a_damaged_config_is_left_for_the_member_load_to_name(members, tmp_path, monkeypatch):
    """Before: with --window-length, transformers' own error on the first member's config.json,
    naming no path, where the load names it."""
    import shutil
    import ensemble as script
    first = tmp_path / "first"
    shutil.copytree(members[0], first)
    (first / "config.json").write_text('{"model_type": "nosuch"}', encoding="utf-8")
    conll = tmp_path / "test.conll"
    conll.write_text("Anna NNP I-NP I-PER\n", encoding="utf-8")

    def load(path, **options):
        raise ValueError(f"{path}: named by the load")
    monkeypatch.setattr(script, "load", load)
    monkeypatch.setattr(sys, "argv", ["ensemble.py", "--checkpoint", str(first), "--checkpoint", members[1],
                                      "--conll", str(conll), "--window-length", "24"])
    with pytest.raises((SystemExit, ValueError), match=re.escape(f"{first}: named by the load")):
        script.main()


def test_readings_refuse_document_tasks(tiny_checkpoint):
    from inference import load
    with pytest.raises(ValueError, match="document tasks"):
        Readings(load(tiny_checkpoint, runtime="torch", quantize=False, device="cpu"), [32, 24])


def test_a_lexicon_left_by_training_does_not_stop_the_ensemble(members, tmp_path, tiny_base):
    # a NER-only run with --lexical-terms keeps its TF-IDF vocabulary, which no NER head reads
    with_lexicon = _ner_checkpoint(tmp_path / "lexicon", tiny_base, 1, lexicon=("deal", "summit"))
    assert ensemble([with_lexicon]).predict(TEXT).to_dict() == ensemble(members[:1]).predict(TEXT).to_dict()


def test_checkpoints_with_document_tasks_are_refused(members, tiny_checkpoint):
    with pytest.raises(ValueError, match="document tasks"):
        ensemble([members[0], str(tiny_checkpoint)])


def test_members_must_share_labels(members, tmp_path, tiny_base):
    other = _ner_checkpoint(tmp_path / "other", tiny_base, 3, labels=["O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"])
    with pytest.raises(ValueError, match="differ from"):
        ensemble([members[0], other])


def test_script_prints_one_line_with_every_file(members, tmp_path):
    """A smoke run of the command line: untrained members score near 0, so what it checks is the
    line's shape and that it carries the figures `evaluate` gives the ensemble."""
    conll = tmp_path / "test.conll"
    conll.write_text("-DOCSTART- -X- -X- O\n\nAnna NNP I-NP I-PER\nBerg NNP I-NP I-PER\nmet VB I-VP O\n"
                     "in IN I-PP O\nParis NNP I-NP I-LOC\n. . O O\n", encoding="utf-8")
    line = run("ensemble.py", "--checkpoint", members[0], "--checkpoint", members[1], "--conll", conll,
               "--window-length", 32, "--window-length", 24, "--threads", 1)
    assert (line["benchmark"], line["checkpoints"], line["window_lengths"], list(line["files"])) == \
        ("ensemble", members, [32, 24], [str(conll)])
    from training.evaluation import evaluate
    from training.readers import read_conll
    m = evaluate(ensemble(members, [32, 24]), read_conll(conll, task="entities"))["entities"]
    assert {k: line["files"][str(conll)][k] for k in ("precision", "recall", "f1")} == \
        {k: round(float(m[k]), 4) for k in ("precision", "recall", "f1")}
    assert set(line["files"][str(conll)]["per_type_f1"]) == set(m["per_type"]) and line["device"] == "cpu (1 threads)"
    out = subprocess.run([sys.executable, str(BENCHMARKS / "ensemble.py"), "--checkpoint", str(members[0]),
                          "--conll", str(conll), "--conll", str(tmp_path / "typo.conll")],
                         cwd=BENCHMARKS.parent, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "typo.conll" in out.stderr.splitlines()[-1]
    for args, error in (
            (["--checkpoint", members[0], "--checkpoint", members[0], "--conll", conll], "given twice"),
            (["--checkpoint", members[0], "--conll", conll, "--conll", conll], "given twice"),
            (["--checkpoint", members[0], "--conll", tmp_path / "orgs.conll"], "entity types ORG, which the "
                                                                                  "checkpoints lack (LOC, PER)")):
        (tmp_path / "orgs.conll").write_text("UN NNP I-NP I-ORG\n", encoding="utf-8")
        out = subprocess.run([sys.executable, str(BENCHMARKS / "ensemble.py"), *map(str, args)],
                             cwd=BENCHMARKS.parent, capture_output=True, text=True, timeout=120)
        # before: a checkpoint or file twice read as two; a type it lacks, a traceback after the first files
        assert out.returncode == 1 and error in out.stderr.splitlines()[-1]


def test_a_member_without_the_entity_task_is_named(members, tmp_path, tiny_base):
    """Before: "no task 'entities' in this checkpoint", not saying which of the members."""
    from inference.checkpoint import write_manifest
    from inference.manifest import Manifest
    other = _ner_checkpoint(tmp_path / "other", tiny_base, 3)
    manifest = Manifest.read(f"{other}/manifest.json")
    manifest.tasks[0].name = "names"
    write_manifest(other, manifest)
    conll = tmp_path / "test.conll"
    conll.write_text("Anna NNP I-NP I-PER\nBerg NNP I-NP I-PER\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / "ensemble.py"), "--checkpoint", members[0],
                          "--checkpoint", other, "--conll", str(conll)],
                         cwd=BENCHMARKS.parent, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.splitlines()[-1].startswith(f"error: --checkpoint {other}: no task")


@pytest.mark.parametrize("member, problem", [("missing", "does not exist"), ("test.conll", "a file, not a checkpoint folder"),
                                             ("empty", "not a checkpoint: it has no manifest.json")])
def test_a_member_that_is_no_checkpoint_folder_is_named_with_its_option(tiny_checkpoint, tmp_path, member, problem):
    """Before: "[Errno 2] No such file or directory: 'missing/manifest.json'" (or "[Errno 20] Not a
    directory"), naming no option and a file the user never gave."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "test.conll").write_text("Anna NNP I-NP I-PER\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / "ensemble.py"), "--checkpoint", str(tiny_checkpoint),
                          "--checkpoint", member, "--conll", "test.conll"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert out.stderr.splitlines()[-1] == f"error: --checkpoint {member}: {problem}"
