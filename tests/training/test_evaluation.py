import math

import pytest

from inference import load
from training.corpus import Document
from training.evaluation import evaluate
from training.metrics import single_label_metrics


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    return load(tiny_checkpoint, device="cpu")


@pytest.mark.parametrize("nothing_to_read", ["😀😀", "!!! ???"])
def test_a_text_with_nothing_to_read_is_scored_as_predict_labels_it(model, nothing_to_read):
    """predict gives such a text no label; evaluate scored it by its first label (NaN scores
    decided as the first), which a gold first label counted as right, and its NaN row made the
    stance ECE NaN."""
    assert model.predict(nothing_to_read).labels == {"topic": [], "stance": []}
    stance = model.manifest.task("stance").labels
    docs = [Document("Moscow backs the treaty.", labels={"stance": [stance[0]], "topic": ["arms_control"]}),
            Document(nothing_to_read, labels={"stance": [stance[0]], "topic": ["other"]})]
    metrics = evaluate(model, docs)
    read = evaluate(model, docs[:1])
    for task in ("stance", "topic"):
        assert metrics[task]["documents"] == 2
        assert metrics[task]["ece_before"] == pytest.approx(read[task]["ece_before"], abs=1e-6) and not math.isnan(metrics[task]["ece_after"])
    assert metrics["stance"]["accuracy"] == read["stance"]["accuracy"] / 2   # a miss, whatever the first doc scored


def test_no_label_is_a_miss_and_no_label_of_the_macro_average():
    assert single_label_metrics(["a", "b"], ["a", None]) == {"accuracy": 0.5, "macro_f1": 0.5}   # "" as a label: 1/3


def test_a_task_name_with_a_slash_gets_its_reliability_diagram(tmp_path, tiny_base):
    """Before: its file name named a folder that is not there, and the figures were lost after scoring."""
    import dataclasses
    from conftest import _tiny_checkpoint
    from training.schema import NEWS_SCHEMA, task_specs
    tasks = [dataclasses.replace(t, name="stance/eu") if t.name == "stance" else t for t in task_specs(NEWS_SCHEMA)]
    model = load(_tiny_checkpoint(tmp_path / "ckpt", tiny_base, tasks), device="cpu")
    docs = [Document("Moscow backs the treaty.", labels={"stance/eu": [tasks[-1].labels[0]]})]
    metrics = evaluate(model, docs, plots=tmp_path / "plots")
    assert metrics["stance/eu"]["documents"] == 1
    assert (tmp_path / "plots" / "reliability_stance%2Feu.png").stat().st_size > 0


def test_gold_labels_the_model_lacks_count_as_misses(model, monkeypatch):
    """An entity type, a topic or a stance the checkpoint was not trained on: recall 0 for it, and
    the overall figures lowered as by any miss (before: refused; a topic so binarized was dropped)."""
    import training.evaluation
    from training.corpus import Span
    monkeypatch.setattr(training.evaluation, "entity_spans",   # each text's first word predicted ORG
                        lambda task, probs, *args: [[(0, 1, "ORG", 0.9)] for _ in probs])
    monkeypatch.setattr(type(model.manifest.task("topic")), "decide",
                        lambda task, row: ["trade"] if task.kind == "multi" else ["neutral"])
    known = [Document("EU talks.", {"entities": [Span(0, 2, "ORG")]}, {"topic": ["trade"], "stance": ["neutral"]})]
    lacking = Document("Mosul talks.", {"entities": [Span(0, 5, "GPE")]}, {"topic": ["fishing"], "stance": ["hostile"]})
    alone, both = evaluate(model, known), evaluate(model, known + [lacking])
    assert alone["entities"]["recall"] == 1.0 and both["entities"]["recall"] == 0.5
    assert both["entities"]["per_type"]["GPE"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert alone["topic"]["micro_f1"] == 1.0 and both["topic"]["micro_f1"] == 0.5   # trade right, fishing missed
    assert both["topic"]["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    assert alone["stance"]["accuracy"] == 1.0 and both["stance"]["accuracy"] == 0.5


def test_a_document_given_no_label_is_scored_as_predict_gives_it(model, monkeypatch):
    """A topic head that allows none gives a document no label where none reaches its threshold;
    evaluate scores that empty prediction against the gold, as it scored the best label before."""
    texts = ["EU trade talks resume.", "Moscow backs the treaty."]
    trade = [next(l.score for l in model.predict(t).labels["topic"] if l.label == "trade") for t in texts]
    assert trade[0] != trade[1]
    task = model.manifest.task("topic")   # trade chosen for the likelier text alone; no other topic
    monkeypatch.setattr(task, "thresholds", {label: 1.0 for label in task.labels} | {"trade": sum(trade) / 2})
    likelier = trade.index(max(trade))
    docs = [Document(t, labels={"topic": ["trade"] if i == likelier else []}) for i, t in enumerate(texts)]
    assert evaluate(model, docs)["topic"]["micro_f1"] == pytest.approx(2 / 3)   # the other text: its best topic
    monkeypatch.setattr(task, "allows_none", True)
    assert model.predict(texts[1 - likelier]).chosen("topic") == []
    assert evaluate(model, docs)["topic"]["micro_f1"] == 1.0


def test_an_entity_is_scored_as_predict_shows_it_without_a_symbol_word_at_its_edge(model, monkeypatch):
    """predict trims a symbol off an entity's edge ("© AFP" shows as "AFP"); evaluate scored the
    decoded words untrimmed: a miss and a false positive where predict's entity is the gold one."""
    import inference.calibration
    import inference.predictor
    from training.corpus import Span
    decoded = lambda task, probs, *args, **kwargs: [[(2, 4, "ORG", 0.9)] for _ in probs]   # the words "©", "AFP"
    monkeypatch.setattr(inference.calibration, "decode_task", decoded)
    monkeypatch.setattr(inference.predictor, "decode_task", decoded)
    text = "Photo: © AFP said."
    [entity] = model.predict(text).entities
    assert (entity.text, entity.start, entity.end, entity.label) == ("AFP", 9, 12, "ORG")
    m = evaluate(model, [Document(text, {"entities": [Span(9, 12, "ORG")]})])["entities"]
    assert (m["precision"], m["recall"]) == (1.0, 1.0)


def test_the_ece_judges_an_entity_as_predict_shows_it_without_a_symbol_word_at_its_edge(model, monkeypatch):
    """evaluate scored "\u00a9 AFP" right against gold "AFP" (predict shows "AFP"), but its ECE judged
    the untrimmed words, a wrong entity: 0.9 at a score of 0.9 instead of 0.1."""
    import inference.calibration
    import inference.predictor
    from training.corpus import Span
    decoded = lambda task, probs, *args, **kwargs: [[(2, 4, "ORG", 0.9)] for _ in probs]   # the words "\u00a9", "AFP"
    monkeypatch.setattr(inference.calibration, "decode_task", decoded)
    monkeypatch.setattr(inference.predictor, "decode_task", decoded)
    text = "Photo: \u00a9 AFP said."
    [entity] = model.predict(text).entities
    m = evaluate(model, [Document(text, {"entities": [Span(9, 12, "ORG")]})])["entities"]
    assert m["f1"] == 1.0 and m["ece_before"] == pytest.approx(1 - 0.9)
    assert m["ece_after"] == pytest.approx(1 - entity.score, abs=1e-6)   # the score predict shows, judged right
