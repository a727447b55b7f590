import pytest

from inference.manifest import Manifest, TaskSpec


def test_manifest_round_trip(tmp_path):
    m = Manifest(tasks=[TaskSpec("topic", "multi", ["a", "b"], temperature=1.5, thresholds={"a": 0.3})],
                 base_model="x", metrics={"dev": {"topic": {"micro_f1": 0.5}}})
    (tmp_path / "manifest.json").write_text(m.to_json())
    assert Manifest.read(tmp_path / "manifest.json") == m


def test_unknown_kind_and_version_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown kind"):
        TaskSpec("x", "regression", ["a"])
    (tmp_path / "manifest.json").write_text('{"format_version": 99, "tasks": [], "base_model": "x"}')
    with pytest.raises(ValueError, match="format_version"):
        Manifest.read(tmp_path / "manifest.json")


def test_a_manifest_of_a_newer_format_says_to_update(tmp_path):
    """Before: "unsupported checkpoint format_version 2", which did not say what a user can do."""
    path = tmp_path / "manifest.json"
    path.write_text('{"format_version": 2, "tasks": [], "base_model": "x"}')
    with pytest.raises(ValueError, match=r"manifest.json: unsupported checkpoint format_version 2 \(this version of "
                                         r"newsmodel reads 1; a newer version wrote it: update newsmodel to load it\)$"):
        Manifest.read(path)
    path.write_text('{"format_version": "2", "tasks": [], "base_model": "x"}')   # no version we wrote: nothing to update
    with pytest.raises(ValueError, match=r"format_version '2' \(this version of newsmodel reads 1\)$"):
        Manifest.read(path)


def test_decide_multi_label_uses_thresholds_and_keeps_the_best():
    task = TaskSpec("topic", "multi", ["a", "b", "c"], thresholds={"b": 0.2})
    assert task.decide([0.7, 0.25, 0.1]) == ["a", "b"]
    assert task.decide([0.3, 0.1, 0.4]) == ["c"]   # none passes: the best one
    assert TaskSpec("stance", "single", ["x", "y"]).decide([0.4, 0.6]) == ["y"]
    nothing_read = [float("nan")] * 2   # before: the first label
    assert task.decide(nothing_read + [float("nan")]) == TaskSpec("stance", "single", ["x", "y"]).decide(nothing_read) == []


def refusal(path, data) -> str:
    """The error of reading `data` written as the manifest at `path`."""
    import json
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        Manifest.read(path)
    return str(raised.value)


def test_a_field_of_the_wrong_type_is_named_when_the_manifest_is_read(tmp_path):
    import json
    path = tmp_path / "manifest.json"
    good = Manifest(tasks=[TaskSpec("entities", "ner", ["O", "B-PER", "I-PER"]), TaskSpec("topic", "multi", ["a"])],
                    base_model="m")
    path.write_text(good.to_json(), encoding="utf-8")
    assert Manifest.read(path) == good
    data = json.loads(good.to_json())
    data |= {"window_length": "256", "recase_capitals": "false", "lexicon": None}
    data["tasks"][0] |= {"labels": "O B-PER", "temperature": 0}
    data["tasks"][1] |= {"gate": 3, "temperature": 2, "thresholds": {"a": 0.5}}   # a whole number is a number
    assert refusal(path, data) == (
        f'{path}: window_length must be int, not "256"; recase_capitals must be bool, not "false"; '
        "lexicon must be list of str, not null; task 'entities': labels must be list of str, not \"O B-PER\"; "
        "task 'topic': gate must be str or null, not 3; task 'entities': temperature must be a number from 0.001 to 1000")


@pytest.mark.parametrize("temperature", [float("inf"), float("nan"), -1.0, 1e-300, 1e4])
def test_a_temperature_outside_its_limits_is_refused(tmp_path, temperature):
    """Before, an infinite temperature (1e400 in a hand edit) was read, and every topic scored 0.5;
    one of 1e-300 was read too, and float32 logits divided by it made every score NaN."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("topic", "multi", ["a", "b"])], base_model="m").to_json())
    data["tasks"][0]["temperature"] = temperature
    assert refusal(path, data) == f"{path}: task 'topic': temperature must be a number from 0.001 to 1000"


@pytest.mark.parametrize("threshold", [float("nan"), 1.5, -0.1])
def test_a_threshold_outside_0_to_1_is_refused(tmp_path, threshold):
    """Before, a threshold of NaN was read and the label was never chosen (unless best); one of
    1.5 the same, with no word of why."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("topic", "multi", ["a", "b"])], base_model="m").to_json())
    data["tasks"][0]["thresholds"] = {"a": 0.0, "b": threshold}
    assert refusal(path, data) == f"{path}: task 'topic': thresholds must lie from 0 to 1, not b: {threshold}"


def test_a_span_calibrator_predict_cannot_apply_is_refused(tmp_path):
    """Before, a coefficient too few was read, and predict failed in a matrix product naming no file."""
    import json
    path = tmp_path / "manifest.json"
    calibrator = {"types": ["PER"], "coef": [1.0, 0.5, 0.1, 0.2], "intercept": 0.0}
    good = Manifest(tasks=[TaskSpec("entities", "ner", ["O", "B-PER", "I-PER"], span_calibrator=calibrator)],
                    base_model="m")
    path.write_text(good.to_json(), encoding="utf-8")
    assert Manifest.read(path) == good
    data = json.loads(good.to_json())
    data["tasks"][0]["span_calibrator"]["coef"] = [1.0, 0.5]
    assert refusal(path, data) == (
        f"{path}: task 'entities': span_calibrator must be empty or an object of types (list of str), coef (a number "
        'per type and 3 more) and intercept (number), not {"types": ["PER"], "coef": [1.0, 0.5], "')


def test_a_threshold_of_a_label_the_task_does_not_have_is_refused(tmp_path):
    """Before, a misspelt label's threshold was read and ignored: the label decided at 0.5."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("topic", "multi", ["trade", "arms"])], base_model="m").to_json())
    data["tasks"][0]["thresholds"] = {"trade": 0.3, "tarde": 0.3, "arms": 0.4}
    assert refusal(path, data) == f"{path}: task 'topic': thresholds of labels it does not have: tarde"


def test_the_items_of_a_list_or_an_object_are_checked_too(tmp_path):
    """A threshold of "0.5" or a label of 1 failed at the first predict, not when the manifest was read."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("entities", "ner", ["O", "B-PER", "I-PER"], crf=True,
                                               transitions=[[0.0] * 3] * 3),
                                      TaskSpec("topic", "multi", ["a", "b"])], base_model="m").to_json())
    data["tasks"][0]["transitions"] = [[0, 0, 0], [0, "1", 2], [0, 0, 0]]
    data["tasks"][1] |= {"thresholds": {"a": "0.5", "b": 1}, "labels": ["a", 1]}
    assert refusal(path, data) == (
        f"{path}: task 'entities': transitions must be list of list of number, not "
        '[[0, 0, 0], [0, "1", 2], [0, 0, 0]]; '
        "task 'topic': labels must be list of str, not [\"a\", 1]; "
        "task 'topic': thresholds must be object of number, not {\"a\": \"0.5\", \"b\": 1}")


def test_tags_transition_scores_or_calibrator_types_decoding_cannot_read_are_refused(tmp_path):
    """Before, a transitions table a row short failed at the first predict as numpy's "operands
    could not be broadcast", and a tag "PER" (for "B-PER") as "'B-R' is not in list"."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("entities", "ner", ["O", "B-PER", "I-PER"], crf=True,
                                               transitions=[[0.0] * 3] * 3)], base_model="m").to_json())
    data["tasks"][0]["transitions"] = [[0.0] * 3] * 2
    assert refusal(path, data) == (f"{path}: task 'entities': transitions must be empty or 3 rows of 3 numbers, "
                                   "a row and a column per label")
    data["tasks"][0] |= {"transitions": [], "labels": ["O", "PER", "I-PER"]}
    assert refusal(path, data) == (f"{path}: task 'entities': labels must be O and a B- and an I- tag per entity "
                                   'type, once each, not ["O", "PER", "I-PER"]')
    data["tasks"][0] |= {"labels": ["O", "B-PER", "I-PER"],   # before: read, and PER spans scored as of no type
                         "span_calibrator": {"types": ["PERSON"], "coef": [1.0, 0.5, 0.1, 0.2], "intercept": 0.0}}
    assert refusal(path, data) == (f"{path}: task 'entities': span_calibrator types must be among its entity types "
                                   "(PER), not PERSON")


def test_a_task_or_a_label_listed_twice_is_refused(tmp_path):
    """Before: read, a second task of one name given the first's head, a label twice given two rows."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("topic", "multi", ["a", "b"]), TaskSpec("stance", "single", ["x", "y"])],
                               base_model="m").to_json())
    data["tasks"][1] |= {"name": "topic", "labels": ["x", "y", "x"]}
    assert refusal(path, data) == f"{path}: task 'topic' is listed 2 times; task 'topic': labels listed twice: x"
    data["tasks"][1] |= {"name": ["x"], "labels": ["x", "y"]}   # named by the type checks, not counted
    assert "task ['x']: name must be str" in refusal(path, data)


def test_runtime_figures_load_cannot_choose_from_are_named_when_the_manifest_is_read(tmp_path):
    """A runtime's figures without words/s, or with a figure as text, failed in load() with a
    KeyError or TypeError from the runtime choice, naming neither the file nor the field."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("topic", "multi", ["a", "b"])], base_model="m").to_json())
    good = {"dev": {"topic": 0.9}, "words_per_second": 100.5}
    data["runtimes"] = {"torch": good, "torch-int8": {"dev": {"topic": 0.9}}, "onnx": {"dev": {"topic": "0.9"},
                        "words_per_second": 5}, "onnx-int8": {**good, "words_per_second": 0}}
    assert refusal(path, data) == (
        f"{path}: runtimes: 'torch-int8' must have dev (an object of number) and words_per_second (a number above 0), "
        'not {"dev": {"topic": 0.9}}; '
        "runtimes: 'onnx' must have dev (an object of number) and words_per_second (a number above 0), "
        'not {"dev": {"topic": "0.9"}, "words_per_second": 5}; '
        "runtimes: 'onnx-int8' must have dev (an object of number) and words_per_second (a number above 0), "
        'not {"dev": {"topic": 0.9}, "words_per_second": 0}')
    data["runtimes"] = {"torch": good}
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Manifest.read(path).runtimes == {"torch": good}


def test_a_gate_of_a_label_the_task_does_not_have_is_refused(tmp_path):
    """Before, a gate renamed by hand ("Neutral" for "neutral") was read, and the first predict
    failed with "'Neutral' is not in list", naming neither the file nor the field."""
    import json
    path = tmp_path / "manifest.json"
    data = json.loads(Manifest(tasks=[TaskSpec("stance", "single", ["agree", "neutral"], lexical=True, gate="neutral")],
                               base_model="m").to_json())
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Manifest.read(path).tasks[0].gate == "neutral"
    data["tasks"][0]["gate"] = "Neutral"
    assert refusal(path, data) == f"{path}: task 'stance': gate must be one of its labels, not 'Neutral'"


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_transition_scores_or_a_span_calibrator_holding_nan_or_infinity_are_refused(tmp_path, value):
    """Before, read: NaN transition scores lost every entity without a word, and a NaN coefficient
    gave every entity a NaN score."""
    import json
    path = tmp_path / "manifest.json"
    calibrator = {"types": ["PER"], "coef": [1.0, 0.5, 0.1, 0.2], "intercept": 0.0}
    data = json.loads(Manifest(tasks=[TaskSpec("entities", "ner", ["O", "B-PER", "I-PER"], crf=True,
                                               transitions=[[0.0] * 3] * 3, span_calibrator=calibrator)],
                               base_model="m").to_json())
    data["tasks"][0]["transitions"][1] = [0.0, value, 0.0]
    data["tasks"][0]["span_calibrator"]["intercept"] = value
    assert refusal(path, data) == (f"{path}: task 'entities': transitions holds NaN or infinity; "
                                   "task 'entities': span_calibrator holds NaN or infinity")


def test_a_bad_byte_after_a_byte_order_mark_is_named_at_its_own_byte(tmp_path):
    """utf-8-sig counts from after the mark: before, byte 9 was named for the byte at 12."""
    from inference.manifest import read_json
    path = tmp_path / "schema.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\xff')
    with pytest.raises(ValueError, match=r"not UTF-8 text \(invalid start byte at byte 12\)$"):
        read_json(path)


def test_a_multi_label_task_that_allows_none_gives_no_label_below_every_threshold(tmp_path):
    """Before, decide gave the best label where none reached its threshold, whatever the task:
    a model trained on documents with no topic (1,828 Reuters stories) could never say "none"."""
    import json
    task = TaskSpec("topic", "multi", ["a", "b", "c"], thresholds={"b": 0.2}, allows_none=True)
    assert task.decide([0.3, 0.1, 0.4]) == []
    assert task.decide([0.7, 0.25, 0.1]) == ["a", "b"]
    path = tmp_path / "manifest.json"
    path.write_text(Manifest(tasks=[task], base_model="m").to_json(), encoding="utf-8")
    assert Manifest.read(path).tasks[0].allows_none is True
    # a manifest written before the field reads, and decides, as it did: the best label
    data = json.loads(path.read_text())
    del data["tasks"][0]["allows_none"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Manifest.read(path).tasks[0].decide([0.3, 0.1, 0.4]) == ["c"]
    data["tasks"][0].update(kind="single", thresholds={}, allows_none=True)   # a hand edit decide would ignore
    assert refusal(path, data) == f"{path}: task 'topic': allows_none is for multi-label tasks, not single"
