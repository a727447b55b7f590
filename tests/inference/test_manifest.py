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


def test_decide_multi_label_uses_thresholds_and_keeps_the_best():
    task = TaskSpec("topic", "multi", ["a", "b", "c"], thresholds={"b": 0.2})
    assert task.decide([0.7, 0.25, 0.1]) == ["a", "b"]
    assert task.decide([0.3, 0.1, 0.4]) == ["c"]   # none passes: the best one
    assert TaskSpec("stance", "single", ["x", "y"]).decide([0.4, 0.6]) == ["y"]
