import pytest

from training.metrics import entity_metrics, headline, multi_label_metrics, single_label_metrics


def test_entity_metrics_are_strict():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "B-LOC"]]        # truncated name counts as wrong
    m = entity_metrics(gold, pred)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["per_type"]["LOC"]["f1"] == 1.0 and m["per_type"]["PER"]["f1"] == 0.0


def test_document_metrics():
    assert single_label_metrics(["a", "b"], ["a", "a"])["accuracy"] == 0.5
    m = multi_label_metrics([["a", "b"], ["c"]], [["a"], ["c"]], ["a", "b", "c"])
    assert m["micro_f1"] == pytest.approx(0.8) and m["macro_f1"] == pytest.approx(2 / 3)
    assert headline({"x": {"f1": 0.5}, "y": {"micro_f1": 1.0}}) == 0.75


def test_multi_label_macro_f1_leaves_out_labels_neither_gold_nor_predictions_have():
    m = multi_label_metrics([["trade"], ["trade"]], [["trade"], ["trade"]], ["arms", "trade", "other"])
    assert m["macro_f1"] == 1.0   # before: 1/3, "arms" and "other" counted as F1 0
    assert single_label_metrics(["trade"], ["trade"])["macro_f1"] == 1.0   # as single-label macro-F1 is
    assert multi_label_metrics([["trade"]], [["trade", "arms"]], ["arms", "trade", "other"])["macro_f1"] == 0.5


def test_headline_can_follow_one_task():
    metrics = {"entities": {"f1": 0.5}, "stance": {"accuracy": 1.0, "macro_f1": 0.9}}
    assert headline(metrics, select_by="entities") == 0.5
    assert headline(metrics, select_by="stance") == 0.9


def test_data_without_entities_scores_zero_without_numpy_warnings():
    import warnings
    from training.metrics import entity_metrics
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # before: "Mean of empty slice", "invalid value encountered"
        result = entity_metrics([["O", "O"]], [["O", "O"]])
    assert (result["f1"], result["per_type"]) == (0.0, {})
