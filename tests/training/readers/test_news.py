import json
import re
from collections import Counter

import pytest

from training.corpus import DataError
from training.readers import read_jsonl
from training.schema import NEWS_SCHEMA

GOOD = {"text": "Putin met Trump in Helsinki.", "topic": ["summit_diplomacy"], "stance": "neutral",
        "entities": [{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 15, "label": "PER"},
                     {"start": 19, "end": 27, "label": "LOC"}]}


def write(tmp_path, lines):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n", encoding="utf-8")
    return path


def test_good_record(tmp_path):
    [doc] = read_jsonl(write(tmp_path, [GOOD]), NEWS_SCHEMA)
    assert [doc.text[s.start:s.end] for s in doc.spans["entities"]] == ["Putin", "Trump", "Helsinki"]
    assert doc.labels == {"topic": ["summit_diplomacy"], "stance": ["neutral"]}
    assert doc.source.endswith("data.jsonl:1")


def test_tasks_may_be_missing_or_null(tmp_path):
    """null is the same as leaving the field out, for entities as for labels (before, "entities":
    null was refused as not a list)."""
    nulls = {"text": "No labels here.", "entities": None, "topic": None, "stance": None}
    for doc in read_jsonl(write(tmp_path, [{"text": "No labels here."}, nulls]), NEWS_SCHEMA):
        assert doc.spans == {} and doc.labels == {}
    [empty] = read_jsonl(write(tmp_path, [{"text": "No names here.", "entities": []}]), NEWS_SCHEMA)
    assert empty.spans == {"entities": []}   # annotated: no entity
    [twice] = read_jsonl(write(tmp_path, [dict(GOOD, topic=["trade", "sanctions", "trade"])]), NEWS_SCHEMA)
    assert twice.labels["topic"] == ["trade", "sanctions"]   # each label once, as the other readers give them


def test_every_bad_record_is_reported_with_file_and_line(tmp_path):
    past_end = dict(GOOD, entities=[{"start": 19, "end": 99, "label": "LOC"}])
    overlap = dict(GOOD, entities=[{"start": 0, "end": 5, "label": "PER"}, {"start": 3, "end": 9, "label": "ORG"}])
    unknown = dict(GOOD, entities=[{"start": 0, "end": 5, "label": "PERSON"}])
    bad_topic = dict(GOOD, topic=["weather"])
    path = write(tmp_path, [GOOD, past_end, overlap, "{not json", unknown, bad_topic, {"text": ""}])
    with pytest.raises(DataError) as err:
        read_jsonl(path, NEWS_SCHEMA)
    problems = err.value.problems
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in problems] == ["2", "3", "4", "5", "6", "7"]
    assert "past the end" in problems[0] and "overlap" in problems[1] and "invalid JSON" in problems[2]
    assert "unknown entity label 'PERSON'" in problems[3] and "unknown label 'weather'" in problems[4]
    assert "'text'" in problems[5]
    assert all(p.startswith(str(path)) for p in problems)


@pytest.mark.parametrize("change,reason", [
    ({"entities": [{"start": 5, "end": 5, "label": "PER"}]}, "empty span 5..5"),
    ({"entities": [{"start": "0", "end": 5, "label": "PER"}]}, "integers"),
    ({"entities": [{"start": 0, "label": "PER"}]}, "needs 'start'"),
    ({"stance": ["neutral", "critical"]}, "exactly one label"),
    ({"topic": []}, "empty label list"),
    ({"text": 5}, "field 'text' must be a string, not int$"),   # before: "missing or empty"
    ({"text": None}, "field 'text' is missing or empty"),
])
def test_malformed_fields(tmp_path, change, reason):
    with pytest.raises(DataError, match=reason):
        read_jsonl(write(tmp_path, [dict(GOOD, **change)]), NEWS_SCHEMA)


def test_a_label_that_is_no_string_is_named_as_such_not_as_unknown(tmp_path):
    schema = {"ner": {"kind": "ner", "labels": ["1"]}, "sentiment": {"kind": "single", "labels": ["0", "1"]}}
    path = write(tmp_path, [{"text": "Good news", "sentiment": 1}, {"text": "Bad news", "sentiment": ["0"]},
                            {"text": "EU", "ner": [{"start": 0, "end": 2, "label": 1}]}])
    with pytest.raises(DataError) as err:
        read_jsonl(path, schema)
    assert err.value.problems == [   # before: unknown label 1 (known: 0, 1)
        f"{path}:1: field 'sentiment': a label must be a non-blank string, not 1",
        f"{path}:3: ner[0]: a label must be a non-blank string, not 1"]


@pytest.mark.parametrize("open_schema", [False, True])
def test_a_blank_label_is_refused_and_one_with_spaces_around_is_read_stripped(tmp_path, open_schema):
    """Under evaluate's open schema a blank label was read as one the checkpoint lacks (scored as
    a miss), and " neutral" too, where the classification reader strips it."""
    schema = {name: {**spec, "open": open_schema} for name, spec in NEWS_SCHEMA.items()}
    blank = [dict(GOOD, stance=""), dict(GOOD, topic=["trade", "  "]),
             dict(GOOD, entities=[{"start": 0, "end": 5, "label": ""}])]
    path = write(tmp_path, blank)
    with pytest.raises(DataError) as err:
        read_jsonl(path, schema)
    assert err.value.problems == [f"{path}:1: field 'stance': a label must be a non-blank string, not ''",
                                  f"{path}:2: field 'topic': a label must be a non-blank string, not '  '",
                                  f"{path}:3: entities[0]: a label must be a non-blank string, not ''"]
    spaced = dict(GOOD, stance=" neutral", topic=["trade ", "trade"], entities=[{"start": 0, "end": 5, "label": "PER "}])
    [doc] = read_jsonl(write(tmp_path, [spaced]), schema)
    assert doc.labels == {"topic": ["trade"], "stance": ["neutral"]} and doc.spans["entities"][0].label == "PER"


def test_a_record_that_is_null_is_named_so(tmp_path):
    with pytest.raises(DataError, match=r":1: a record must be a JSON object, not null$"):   # before: NoneType
        read_jsonl(write(tmp_path, ["null"]), NEWS_SCHEMA)


def test_a_task_field_misspelt_in_some_records_is_refused(tmp_path):
    """A record whose "entites" stood for "entities" would train as a text naming nobody. A near
    name that is no annotation of the task is metadata ("topics" of a publisher's own, a null,
    "distance" beside "stance"), and one beside the task's own field is left alone."""
    misspelt = {k: v for k, v in GOOD.items() if k != "entities"} | {"entites": GOOD["entities"]}
    capitals = {k: v for k, v in GOOD.items() if k != "topic"} | {"Topics": ["trade"], "url": "https://x"}
    metadata = [{k: v for k, v in GOOD.items() if k != "topic"} | {"topics": ["World", "Politics"]},
                {k: v for k, v in GOOD.items() if k != "stance"} | {"stances": None, "distance": 3, "instance": "dev-1"},
                dict(GOOD, topics=["trade"], source="wire")]
    path = write(tmp_path, [GOOD, misspelt, capitals, *metadata])
    with pytest.raises(DataError) as err:
        read_jsonl(path, NEWS_SCHEMA)
    assert err.value.problems == [
        f"{path}:2: field 'entites' holds 'entities' annotations under another name: rename it 'entities' "
        f"(or, if it is metadata, to a name unlike the tasks': entities, topic, stance)",
        f"{path}:3: field 'Topics' holds 'topic' annotations under another name: rename it 'topic' "
        f"(or, if it is metadata, to a name unlike the tasks': entities, topic, stance)"]
    assert len(read_jsonl(write(tmp_path, [GOOD, *metadata]), NEWS_SCHEMA)) == 4


def test_wrong_encoding_is_reported(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps({"text": "Zürich"}, ensure_ascii=False).encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        read_jsonl(path, NEWS_SCHEMA)


def test_bundled_corpus_is_valid():
    from conftest import REPO
    for split in ("train", "dev", "test"):
        docs = read_jsonl(REPO / "data" / f"{split}.jsonl", NEWS_SCHEMA)
        assert docs
        assert not [d.source for d in docs if "other" in d.labels.get("topic", []) and len(d.labels["topic"]) > 1]


def _bundled(split: str) -> list[dict]:
    from conftest import REPO
    return [json.loads(line) for line in (REPO / "data" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def test_bundled_corpus_has_the_counts_its_readme_gives():
    """data/README.md's tables: articles, words, articles with 2+ topics, and each label, per split."""
    from conftest import REPO
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| ((?:words|articles|entity|stance|topic)[^|]*?) \| ([\d |]+?) \|$", readme, re.M))
    for column, split in enumerate(("train", "dev", "test")):
        records = _bundled(split)
        counts = Counter({"words": sum(len(r["text"].split()) for r in records), "articles": len(records),
                          "articles with 2+ topics": sum(len(r["topic"]) > 1 for r in records)})
        counts.update(f"entity {e['label']}" for r in records for e in r["entities"])
        counts.update(f"stance {r['stance']}" for r in records)
        counts.update(f"topic {t}" for r in records for t in r["topic"])
        assert {row: int(cells.split(" | ")[column]) for row, cells in table.items()} == counts, split
        assert f"| `{split}.jsonl` | {len(records)} |" in readme


def test_bundled_corpus_never_splits_a_name_it_annotates_whole_elsewhere():
    """Before: b6-024 and b6-027 split "United Nations Security Council" into two ORG spans, which
    b4-009 and every "UN Security Council" annotate as one. b2-019's "U.S. Treasury" (LOC + ORG)
    is a split data/README.md keeps, with b3-016's."""
    records = [r for split in ("train", "dev", "test") for r in _bundled(split)]
    whole = {r["text"][e["start"]:e["end"]] for r in records for e in r["entities"]}
    split = []
    for r in records:
        spans = sorted(r["entities"], key=lambda e: e["start"])
        for a, b in zip(spans, spans[1:]):
            if r["text"][a["end"]:b["start"]] == " " and r["text"][a["start"]:b["end"]] in whole:
                split.append((r["id"], a["start"], r["text"][a["start"]:b["end"]]))
    assert split == [("b2-019", 726, "U.S. Treasury")]


def test_bundled_corpus_types_a_name_one_way_but_where_its_guidelines_part_the_uses():
    """Before: b4-010's "a Gulf economy" was LOC, where "Gulf states", "a Gulf minister" and "Gulf
    investment" are MISC (a region's name as an adjective); "the Gulf" is the region, LOC. Astana is
    the capital (LOC) and a football club (ORG)."""
    records = [r for split in ("train", "dev", "test") for r in _bundled(split)]
    types = {}
    for r in records:
        for e in r["entities"]:
            types.setdefault(r["text"][e["start"]:e["end"]], set()).add(e["label"])
    assert sorted(name for name, labels in types.items() if len(labels) > 1) == ["Astana", "Caribbean", "Gulf", "Pacific"]
    regions = [(r["id"], e["start"], e["label"]) for r in records for e in r["entities"]
               if r["text"][e["start"]:e["end"]] in ("Caribbean", "Gulf", "Pacific")
               and e["label"] != ("LOC" if r["text"][:e["start"]].endswith("the ") else "MISC")]
    assert regions == []


def test_lines_json_itself_refuses_are_named_and_the_others_are_read(tmp_path):
    path = write(tmp_path, [GOOD, '{"text": "a", "id": ' + "[" * 100_000 + "]" * 100_000 + "}", GOOD,
                            '{"text": "a", "id": ' + "1" * 5000 + "}"])
    with pytest.raises(DataError) as err:   # before: a RecursionError traceback; the digits' error with no place
        read_jsonl(path, NEWS_SCHEMA)
    assert err.value.problems[0] == f"{path}:2: invalid JSON (nested too deeply)"
    assert err.value.problems[1].startswith(f"{path}:4: invalid JSON (Exceeds the limit (4300 digits)")


def test_a_field_given_twice_in_one_record_is_refused_not_read_as_the_last(tmp_path):
    """Before: the last "entities" ([]) was read, and the first's three names lost unsaid."""
    entities = json.dumps(GOOD["entities"])
    path = write(tmp_path, [GOOD, '{"text": "Putin met Trump.", "entities": %s, "entities": []}' % entities,
                            '{"text": "Putin met Trump.", "entities": [{"start": 0, "end": 5, "label": "PER", '
                            '"label": "ORG"}]}'])
    with pytest.raises(DataError) as err:
        read_jsonl(path, NEWS_SCHEMA)
    assert err.value.problems == [f"{path}:2: 'entities' is given twice in one object (JSON keeps the last alone)",
                                  f"{path}:3: 'label' is given twice in one object (JSON keeps the last alone)"]


def test_a_record_annotating_a_pair_task_is_refused(tmp_path):
    """A checkpoint's pair task (under --init-from, evaluate or calibrate): before, a record's field
    was read as a single text's label for the pair head."""
    path = write(tmp_path, [dict(GOOD, fnc="agree"), GOOD])
    with pytest.raises(DataError) as raised:
        read_jsonl(path, {**NEWS_SCHEMA, "fnc": {"kind": "pair", "labels": ["agree", "unrelated"]}})
    assert raised.value.problems == [f"{path}:1: field 'fnc': task 'fnc' is of kind pair, and a news record holds "
                                     "one text; pairs are read with --format pairs, or --format classification "
                                     "with --pair-field"]


def test_an_open_schema_reads_labels_it_does_not_list_and_still_checks_the_rest(tmp_path):
    """evaluate's: a label the checkpoint lacks is read (and scored as a miss); a bad span is not."""
    schema = {name: {**spec, "open": True} for name, spec in NEWS_SCHEMA.items()}
    [doc] = read_jsonl(write(tmp_path, [{**GOOD, "topic": ["fishing"], "entities": [{"start": 19, "end": 27,
                                                                                       "label": "GPE"}]}]), schema)
    assert doc.labels["topic"] == ["fishing"] and doc.spans["entities"][0].label == "GPE"
    with pytest.raises(DataError, match="unknown label 'fishing'"):
        read_jsonl(tmp_path / "data.jsonl", NEWS_SCHEMA)
    with pytest.raises(DataError, match=r"entities\[0\]"):
        read_jsonl(write(tmp_path, [{**GOOD, "entities": [{"start": 19, "end": 99, "label": "GPE"}]}]), schema)


def test_an_open_schema_refuses_a_misspelt_task_field_that_holds_a_label_the_checkpoint_lacks(tmp_path):
    """evaluate's: before, "topics": ["trade", "fishing"] was metadata (fishing not listed), though
    "topic" holding it is read, and the task went unscored without a word. Labels none of which the
    task lists stay metadata, as in training."""
    schema = {name: {**spec, "open": True} for name, spec in NEWS_SCHEMA.items()}
    without = lambda *fields: {k: v for k, v in GOOD.items() if k not in fields}
    misspelt = [without("topic") | {"topics": ["trade", "fishing"]},
                without("entities") | {"entites": [{"start": 0, "end": 5, "label": "PER"},
                                                   {"start": 19, "end": 27, "label": "GPE"}]}]
    path = write(tmp_path, [GOOD, *misspelt])
    with pytest.raises(DataError) as err:
        read_jsonl(path, schema)
    assert [p.split(": ", 2)[:2] for p in err.value.problems] == [[f"{path}:2", "field 'topics' holds 'topic' "
                                                                   "annotations under another name"],
                                                                  [f"{path}:3", "field 'entites' holds 'entities' "
                                                                   "annotations under another name"]]
    metadata = [without("topic") | {"topics": ["World", "Politics"]},
                without("entities") | {"entites": [{"start": 19, "end": 27, "label": "GPE"}]}]
    assert len(read_jsonl(write(tmp_path, [GOOD, *metadata]), schema)) == 3
