"""The runtime figures behind load()'s default runtime: scored on all of dev, timed on its start."""
from types import SimpleNamespace

import pytest

from conftest import REPO
from inference.manifest import _measured
from inference.predictor import NewsModel
from training import runtime_figures
from training.corpus import Document
from training.readers import read_jsonl
from training.schema import NEWS_SCHEMA


def test_every_runtime_is_scored_on_all_of_dev_and_timed_on_its_first_words(tiny_checkpoint, monkeypatch):
    dev = read_jsonl(REPO / "data" / "dev.jsonl", NEWS_SCHEMA)[:3]
    monkeypatch.setattr(runtime_figures, "available", lambda: ["torch", "torch-int8"])   # ONNX export: slow, and alike
    first_words = len(dev[0].text.split())
    monkeypatch.setattr(runtime_figures, "MEASURED_WORDS", first_words)   # the timing reads dev[0] alone
    monkeypatch.setattr(runtime_figures, "MIN_TIMED_WORDS", first_words)
    scored, timed = [], []
    real_evaluate, real_predict_batch = runtime_figures.evaluate, NewsModel.predict_batch
    monkeypatch.setattr(runtime_figures, "evaluate", lambda model, docs: scored.append(len(docs)) or real_evaluate(model, docs))
    monkeypatch.setattr(NewsModel, "predict_batch",
                        lambda self, texts, **kw: timed.append(len(texts)) or real_predict_batch(self, texts, **kw))

    figures = runtime_figures.measure_runtimes(tiny_checkpoint, dev, log=lambda line: None)

    assert set(figures) == {"torch", "torch-int8"}
    assert scored == [len(dev)] * 2
    assert set(timed) == {1}    # warm-up and every timed pass: the first document only
    assert all(f["words_per_second"] > 0 and set(f["dev"]) == {"entities", "topic", "stance"}
               for f in figures.values())



def test_a_short_dev_set_is_timed_repeated_up_to_the_minimum(tiny_checkpoint, monkeypatch):
    """Before: a pass over a 130-word dev set lasted milliseconds, and the runtime choice followed noise."""
    dev = read_jsonl(REPO / "data" / "dev.jsonl", NEWS_SCHEMA)[:1]
    words = len(dev[0].text.split())
    monkeypatch.setattr(runtime_figures, "available", lambda: ["torch"])
    monkeypatch.setattr(runtime_figures, "MIN_TIMED_WORDS", 2 * words + 1)
    timed, real_predict_batch = [], NewsModel.predict_batch
    monkeypatch.setattr(NewsModel, "predict_batch",
                        lambda self, texts, **kw: timed.append(len(texts)) or real_predict_batch(self, texts, **kw))
    runtime_figures.measure_runtimes(tiny_checkpoint, dev, log=lambda line: None)
    assert timed[1:] == [3] * runtime_figures.PASSES   # after the warm-up: the document three times a pass


def test_the_runtimes_are_timed_in_turns(tiny_checkpoint, monkeypatch):
    """Before: each runtime's passes ran back to back, so the machine slowing down during one of
    them moved the ratio the default runtime is chosen on (the bundled run read torch-int8 at
    1.21x, 1.06x and 0.99x fp32 on three runs)."""
    dev = read_jsonl(REPO / "data" / "dev.jsonl", NEWS_SCHEMA)[:1]
    monkeypatch.setattr(runtime_figures, "available", lambda: ["torch", "torch-int8"])
    monkeypatch.setattr(runtime_figures, "MIN_TIMED_WORDS", 1)
    order, real_predict_batch = [], NewsModel.predict_batch
    monkeypatch.setattr(NewsModel, "predict_batch", lambda self, texts, **kw:
                        order.append(self.runtime) or real_predict_batch(self, texts, **kw))
    monkeypatch.setattr(runtime_figures, "evaluate", lambda model, docs: {})
    runtime_figures.measure_runtimes(tiny_checkpoint, dev, log=lambda line: None)
    timed = order[2:]   # after each runtime's warm-up
    assert order[:2] == ["torch", "torch-int8"]
    assert timed == ["torch", "torch-int8", "torch-int8", "torch", "torch", "torch-int8"]


def test_no_figure_is_written_that_the_manifest_refuses(tiny_checkpoint, monkeypatch):
    """Before: words_per_second 0.0 (dev without words, or a rate under 0.05 rounded), which the
    manifest reader refuses: the checkpoint would not load."""
    monkeypatch.setattr(runtime_figures, "available", lambda: ["torch"])
    blank = [Document(" ", labels={"topic": ["trade"]})]
    assert runtime_figures.measure_runtimes(tiny_checkpoint, blank, log=lambda line: None) == {}
    clock = iter(range(0, 10**9, 10**6))   # a million seconds a pass
    monkeypatch.setattr(runtime_figures, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    dev = read_jsonl(REPO / "data" / "dev.jsonl", NEWS_SCHEMA)[:1]
    figures = runtime_figures.measure_runtimes(tiny_checkpoint, dev, log=lambda line: None)
    assert _measured(figures["torch"]) and figures["torch"]["words_per_second"] < 0.05


def test_a_runtime_that_cannot_be_built_here_is_left_out_and_said_to_be(tiny_checkpoint, monkeypatch):
    """Before: an ONNX export failing on this machine raised out of the run's last step, after
    every epoch and the calibration, with no model card written; --resume failed there again."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import inference.onnx_runtime as onnx_runtime

    def failing(*args):
        raise RuntimeError("the exporter failed")
    monkeypatch.setattr(onnx_runtime, "_export", failing)
    monkeypatch.setattr(runtime_figures, "available", lambda: ["torch", "onnx-int8"])
    dev = read_jsonl(REPO / "data" / "dev.jsonl", NEWS_SCHEMA)[:1]
    logged = []
    figures = runtime_figures.measure_runtimes(tiny_checkpoint, dev, log=logged.append)
    assert set(figures) == {"torch"}
    assert ("warning: runtime onnx-int8 not measured: it could not be built here (RuntimeError: the exporter "
            "failed); load() will not choose it") in logged


def test_dev_texts_without_a_pair_beside_a_pair_task_are_measured_without_a_warning(tiny_base, news_tasks, tmp_path,
                                                                                    monkeypatch):
    """Dev of NER beside FNC-1 pairs holds texts without pairs: predict's warning about them is for a
    user's call, not for every runtime measured at the end of training."""
    import warnings
    from conftest import _tiny_checkpoint
    from inference.manifest import TaskSpec
    checkpoint = _tiny_checkpoint(tmp_path / "mixed", tiny_base,
                                  [news_tasks[0], TaskSpec("stance", "pair", ["agree", "unrelated"])])
    dev = [*read_jsonl(REPO / "data" / "dev.jsonl", NEWS_SCHEMA)[:1],
           Document("Talks resume", labels={"stance": ["agree"]}, text_pair="Officials in Geneva said so.")]
    dev[0].labels.clear()
    monkeypatch.setattr(runtime_figures, "available", lambda: ["torch"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figures = runtime_figures.measure_runtimes(checkpoint, dev, log=lambda line: None)
    assert set(figures["torch"]["dev"]) == {"entities", "stance"}
