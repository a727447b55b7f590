import pytest

from training.schema import NEWS_SCHEMA, load_schema


def test_no_file_means_the_news_schema():
    assert load_schema(None) is NEWS_SCHEMA


def test_a_type_named_like_a_tag_among_others_is_a_type(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text('{"cells": {"kind": "ner", "labels": ["B-cell", "T-cell"]}}', encoding="utf-8")
    assert load_schema(path)["cells"]["labels"] == ["B-cell", "T-cell"]


def test_a_schema_file_may_start_with_a_byte_order_mark(tmp_path):
    """As data files may (Notepad writes one); before, refused as not valid JSON."""
    path = tmp_path / "schema.json"
    path.write_text('\ufeff{"topic": {"kind": "multi", "labels": ["trade"]}}', encoding="utf-8")
    assert load_schema(path) == {"topic": {"kind": "multi", "labels": ["trade"]}}


@pytest.mark.parametrize("content, message", [
    ('{"entities": {"kind": "ner", "labels": ["PER",]}}', "not valid JSON (Expecting value at line 1, column 47)"),
    ('["PER"]', "a schema is an object of task name"),
    ('{"entities": {"kind": "ner", "labels": "PERSON"}}', "task 'entities' needs exactly 'kind' and a non-empty"),
    ('{"topic": {"kind": "multi", "labels": [1, 2]}}', "'labels' list of non-blank strings"),
    ('{"topic": ["trade"]}', "task 'topic' needs exactly 'kind'"),
    ('{"topic": {"kind": "multiple", "labels": ["trade"]}}', "task 'topic': unknown kind 'multiple'"),
    ('{"type": {"kind": "single", "labels": ["news"]}}', "task name 'type' is a name the model keeps for itself"),
    ('{"my.topic": {"kind": "single", "labels": ["news"]}}', "task name 'my.topic' is empty or holds a '.'"),
    ('{"text": {"kind": "single", "labels": ["news"]}}', "task name 'text' is a field of the news records"),
    ('{"id": {"kind": "single", "labels": ["news"]}}', "task name 'id' is a field of the news records"),
    ('{"topic ": {"kind": "single", "labels": ["news"]}}',   # before: read, and a record's "topic" refused as
     "task name 'topic ' has white space around it"),        # a misspelling, "rename it 'topic '"
    ('{}', "at least one task"),   # before: read, and every file's tasks refused as not in it
    ('{"entities": {"kind": "ner", "labels": ["O", "B-PER", "ORG"]}}',   # before: tags B-B-PER, I-B-PER and B-O
     "task 'entities' lists tags (O, B-PER): an entity task lists its types"),
    ('{"entities": {"kind": "ner", "labels": ["B-PER", "I-PER", "S-LOC"]}}', "lists tags (B-PER, I-PER, S-LOC)"),
    ('{"entities": {"kind": "ner", "labels": ["PER", " "]}}', "'labels' list of non-blank strings"),   # B- and I-
    ('{"topic": {"kind": "multi", "labels": ["trade ", "sanctions"]}}',   # before: "trade" in the data unknown
     "task 'topic' lists 'trade ' with white space around it"),
    ('{"stance": {"kind": "pair", "labels": ["agree"]}}',   # before: a pair head trained on single texts
     "task 'stance' is of kind pair, but a news record holds one text"),
    ('{"topic": {"kind": "multi", "labels": ["trade"]}, "topic": {"kind": "single", "labels": ["news"]}}',
     "'topic' is given twice in one object"),   # before: the last alone was read, the first lost unsaid
    ('{"topic": {"kind": "multi", "labels": ["trade"], "labels": ["news"]}}', "'labels' is given twice"),
], ids=["syntax", "not-an-object", "labels-a-string", "labels-not-strings", "spec-not-an-object", "unknown-kind",
        "torch-attribute", "dotted", "text", "id", "padded-task", "no-task", "tags-as-types", "tags-alone",
        "blank-type", "padded-label", "pair", "task-twice", "field-twice"])
def test_a_bad_schema_file_is_refused_with_its_name(tmp_path, content, message):
    path = tmp_path / "schema.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="^" + str(path).replace(".", r"\.") + ": ") as raised:
        load_schema(path)
    assert message in str(raised.value)
