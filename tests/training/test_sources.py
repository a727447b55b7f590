import csv
import json
import re

import pytest

from training.corpus import DataError
from training.sources import Source, merge_schemas, read_source
from training.config import TrainConfig
from training.data import read_data
from training.schema import NEWS_SCHEMA

CONLL = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP I-MISC\ncall NN I-NP O\n\n"
NEWS = {"text": "Putin met Trump in Helsinki.", "entities": [{"start": 0, "end": 5, "label": "PER"}],
        "topic": ["summit_diplomacy"], "stance": "neutral"}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ner.conll").write_text(CONLL, encoding="utf-8")
    (tmp_path / "news.jsonl").write_text(json.dumps(NEWS) + "\n", encoding="utf-8")
    (tmp_path / "topics.csv").write_text("text,labels\nOil prices rose,crude;trade\nWheat fell,grain\n", encoding="utf-8")
    return tmp_path


def test_formats_by_extension(files):
    assert Source(str(files / "ner.conll")).resolved_format == "conll"
    assert Source(str(files / "news.jsonl")).resolved_format == "news"
    assert Source(str(files / "topics.csv")).resolved_format == "classification"
    with pytest.raises(ValueError, match="unknown format"):
        Source("x", format="xml")
    (files / "export.json").write_text('\ufeff\n [{"id": 1, "data": {"text": "Talks"}, "annotations": []}]', encoding="utf-8")
    (files / "news.json").write_text(json.dumps(NEWS) + "\n", encoding="utf-8")
    assert Source(str(files / "export.json")).resolved_format == "label-studio"   # one JSON list
    assert Source(str(files / "news.json")).resolved_format == "news"
    assert Source(str(files / "missing.json")).resolved_format == "news"   # its reader names it missing
    (files / "list.json").write_text(json.dumps([NEWS] * 30), encoding="utf-8")   # news records, but in one list
    with pytest.raises(DataError) as err:
        read_source(Source(str(files / "list.json")), {})
    assert str(err.value).splitlines()[1] == (f"{files / 'list.json'}: read as a Label Studio export because it "
                                              "holds a JSON list; give --format if it is another (classification: "
                                              "a list of records, as pandas' orient=\"records\" writes)")   # in sight
    (files / "export.json").write_text(json.dumps([{"id": 1, "data": {"text": "Talks"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 0, "end": 9, "labels": ["PER"]}}]}]}]), encoding="utf-8")
    with pytest.raises(DataError) as err:   # an export's own problem: no hint toward classification
        read_source(Source(str(files / "export.json")), {})
    assert str(err.value).splitlines()[1] == (f"{files / 'export.json'}: read as a Label Studio export because it "
                                              "holds a JSON list; give --format if it is another")


def test_a_json_list_of_text_and_label_records_is_read_as_classification(files):
    """pandas' to_json(orient="records"); before: taken for Label Studio under --format auto, every record
    refused as "data.text is missing or empty". A "label" string or number is neither tool's."""
    records = files / "records.json"
    records.write_text(json.dumps([{"text": "Wheat fell.", "label": None}, {"text": "Oil rose.", "label": "crude"},
                                   {"text": "Talks.", "label": 3}]), encoding="utf-8")
    assert Source(str(records)).resolved_format == "classification"
    with pytest.raises(DataError) as err:   # the null label: a record of the list, named with the guess first
        read_source(Source(str(records)), {})
    assert err.value.problems[0] == (f"{records}: read as a list of classification records because its first record "
                                     'with a label has "text" and one "label"; give --format if it is another')
    assert err.value.problems[1].startswith(f"{records}: record 0: ")
    records.write_text(json.dumps([{"text": "Oil rose.", "label": "crude"}, {"text": "Talks.", "label": 3}]),
                       encoding="utf-8")
    assert [doc.labels for doc in read_source(Source(str(records)), {})] == [{"label": ["crude"]}, {"label": ["3"]}]
    records.write_text(json.dumps([{"text": "Oil rose.", "label": True}]), encoding="utf-8")   # no class name
    assert Source(str(records)).resolved_format == "label-studio"


def test_a_doccano_export_is_known_by_its_spans(files):
    triples = files / "triples.jsonl"
    triples.write_text(json.dumps({"text": "Putin met Trump.", "label": [[0, 5, "PER"], [10, 15, "PER"]]}) + "\n",
                       encoding="utf-8")
    offsets = files / "offsets.jsonl"
    offsets.write_text(json.dumps({"text": "Putin met Trump.", "entities": [
        {"start_offset": 0, "end_offset": 5, "label": "PER"}], "cats": ["summit"]}) + "\n", encoding="utf-8")
    named_label = files / "named_label.jsonl"   # a news task may be called "label": its value is no triple
    named_label.write_text(json.dumps({"text": "Talks.", "label": ["summit"]}) + "\n", encoding="utf-8")
    assert Source(str(triples)).resolved_format == "doccano"
    assert Source(str(offsets)).resolved_format == "doccano"
    assert Source(str(named_label)).resolved_format == "news"
    old = files / "old.jsonl"   # Doccano up to 1.2 spelt it "labels"; before: read as news, its entities dropped
    old.write_text(json.dumps({"text": "Putin met Trump.", "labels": [[0, 5, "PER"]]}) + "\n", encoding="utf-8")
    assert Source(str(old)).resolved_format == "doccano"
    unlabelled_first = files / "unlabelled_first.jsonl"   # Doccano lists unlabelled examples too
    unlabelled_first.write_text("\n".join(json.dumps(r) for r in [
        {"text": "Nothing to see here.", "label": []},
        {"text": "Barack Obama visited Paris.", "label": [[0, 12, "PER"], [21, 26, "LOC"]]}]) + "\n", encoding="utf-8")
    assert Source(str(unlabelled_first)).resolved_format == "doccano"   # before: news, the entities dropped
    joined = files / "joined.jsonl"   # cat of two exports saved with a byte-order mark: the second's mark kept
    joined.write_bytes(unlabelled_first.read_bytes().replace(b"\n{", b"\n\xef\xbb\xbf{"))
    assert Source(str(joined)).resolved_format == "doccano"   # before: news, its spans' line unread
    news_with_none_first = files / "news_none_first.jsonl"
    news_with_none_first.write_text(json.dumps({"text": "No names.", "entities": []}) + "\n" + json.dumps(NEWS) + "\n",
                                    encoding="utf-8")
    assert Source(str(news_with_none_first)).resolved_format == "news"
    docs = read_source(Source(str(triples)), {})
    assert [(s.start, s.end, s.label) for s in docs[0].spans["entities"]] == [(0, 5, "PER"), (10, 15, "PER")]
    triples.write_text(json.dumps({"text": "Putin met Trump.", "label": [[0, 99, "PER"]]}) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_source(Source(str(triples)), {})
    assert "read as a Doccano export because its first record with spans has Doccano's" in str(err.value)


def test_a_doccano_json_export_is_known_by_its_records(files):
    """Doccano's JSON export (one list of its records); before: taken for Label Studio, every record
    refused as "data.text is missing or empty", the advice "give --format" naming none."""
    classes = files / "classes.json"
    classes.write_text(json.dumps([{"id": 1, "text": "Nothing yet.", "label": []},   # unlabelled: decides nothing
                                   {"id": 2, "text": "Talks in Vienna.", "label": ["summit"]}], indent=2),
                       encoding="utf-8")
    spans = files / "spans.json"
    spans.write_text(json.dumps([{"id": 1, "text": "Putin met Trump.", "label": [[0, 5, "PER"]]}]), encoding="utf-8")
    assert Source(str(classes)).resolved_format == Source(str(spans)).resolved_format == "doccano"
    assert [doc.labels for doc in read_source(Source(str(classes)), {})] == [{}, {"label": ["summit"]}]
    [doc] = read_source(Source(str(spans)), {})
    assert [(s.start, s.end, s.label) for s in doc.spans["entities"]] == [(0, 5, "PER")]
    json_min = files / "json_min.json"   # Label Studio's flat records: regions under a control named label
    json_min.write_text(json.dumps([{"id": 1, "text": "Putin met Trump.", "annotator": 1, "annotation_id": 2,
                                     "label": [{"start": 0, "end": 5, "text": "Putin", "labels": ["PER"]}]}]),
                        encoding="utf-8")
    assert Source(str(json_min)).resolved_format == "label-studio"
    unlabelled = files / "unlabelled.json"   # before: Label Studio, each record refused as "data.text is missing"
    unlabelled.write_text(json.dumps([{"id": 1, "text": "Nothing yet.", "label": []}]), encoding="utf-8")
    assert Source(str(unlabelled)).resolved_format == "doccano"
    old = files / "old.json"   # "labels" as Doccano up to 1.2 spelt it, holding names, or empty
    old.write_text(json.dumps([{"id": 1, "text": "Good news", "labels": ["positive"]}]), encoding="utf-8")
    assert Source(str(old)).resolved_format == "doccano"
    old.write_text(json.dumps([{"id": 1, "text": "Nothing yet.", "labels": []}]), encoding="utf-8")
    assert Source(str(old)).resolved_format == "doccano"
    news = files / "news_list.json"   # a news record's empty "entities" is no sign of Doccano: still refused
    news.write_text(json.dumps([{"id": "a", "text": "Oil rose.", "entities": [], "topic": ["crude"]}]),
                    encoding="utf-8")
    assert Source(str(news)).resolved_format == "label-studio"
    spans.write_text(json.dumps([{"id": 1, "text": "Putin met Trump.", "label": [[0, 99, "PER"]]}]), encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_source(Source(str(spans)), {})
    assert str(err.value).splitlines()[1] == (f"{spans}: read as a Doccano export because its first record with "
                                              "labels or spans has Doccano's; give --format if it is another")


def test_json_under_an_extension_read_as_conll_says_how_it_was_read(files):
    """Before: "x.ndjson:1: unknown tag '{}}': expected O, or B-, ..." alone, with no word of CoNLL or
    of the extension that chose it."""
    for name, text in (("export.ndjson", json.dumps(NEWS) + "\n"), ("compact.txt", json.dumps(NEWS, separators=(",", ":"))),
                       ("list.jsonlines", json.dumps([NEWS]))):
        (files / name).write_text(text, encoding="utf-8")
        with pytest.raises(DataError) as err:
            read_source(Source(str(files / name)), NEWS_SCHEMA)
        assert err.value.problems[0] == (
            f"{files / name}: read as CoNLL columns, as a file whose extension is none of .jsonl, .json, .csv, .tsv "
            "or .parquet is, but it opens as JSON does: give --format, or name it .jsonl (JSON lines) or .json")
        assert len(err.value.problems) > 1   # the CoNLL reader's own follow
    for name, text in (("bad.conll", "EU B-ORG\nrejects X-Y\n"), ("brackets.conll", "[ O\nEU B-ORG\n] O\n\nrejects X-Y\n"),
                       ("brace.txt", "{ O\nrejects X-Y\n"),
                       ("footnote.conll", "[1] O\nrejects X-Y\n"), ("empty.conll", "{} O\nrejects X-Y\n")):   # a CoNLL file's own problems stand alone
        (files / name).write_text(text, encoding="utf-8")
        with pytest.raises(DataError) as err:
            read_source(Source(str(files / name)), NEWS_SCHEMA)
        assert "read as CoNLL" not in str(err.value) and "unknown tag 'X-Y'" in err.value.problems[0]
    long = files / "long.txt"   # a JSON list longer than what is looked at
    long.write_text(json.dumps([NEWS] * 2000, indent=1), encoding="utf-8")
    with pytest.raises(DataError, match="read as CoNLL columns"):
        read_source(Source(str(long)), NEWS_SCHEMA)


def test_a_json_list_is_read_as_far_as_the_record_that_tells_its_tool(files):
    """The file is read as far as that record (before, whole, on each of a run's looks at its format:
    0.75 s each for a 206 MB Label Studio export): one longer than what is read first is read on."""
    from training.sources import resolve_format
    long_first = files / "long.json"
    long_first.write_text(json.dumps([{"id": 1, "text": "Talks. " * 20_000, "label": [[0, 5, "EVENT"]]}]),
                          encoding="utf-8")
    assert resolve_format(long_first) == "doccano"
    label_studio = files / "tasks.json"   # a task of a long text, then a record that would say Doccano
    label_studio.write_text(json.dumps([{"data": {"text": "Talks. " * 20_000}, "annotations": []},
                                        {"text": "Talks.", "label": [[0, 5, "EVENT"]]}]), encoding="utf-8")
    assert resolve_format(label_studio) == "label-studio"
    unread = files / "unread.json"   # what follows the deciding record is not read: bytes no codec reads there
    unread.write_bytes(b"[" + json.dumps({"text": "Talks.", "label": ["summit"]}).encode()
                       + b", \"" + b"x" * 1_000_000 + b"\xff\"]")
    assert resolve_format(unread) == "doccano"
    edges = files / "edges.json"   # a list after much white space; a number cut where the first read ends
    for head in (b" " * 200_000 + b"[", b"[" + b" " * ((1 << 16) - 2) + b"1.5, "):
        edges.write_bytes(head + json.dumps({"text": "Talks.", "label": ["summit"]}).encode() + b"]")
        assert resolve_format(edges) == "doccano"


def test_tasks_from_different_files_in_one_run(files):
    config = TrainConfig(train=[{"path": str(files / "ner.conll")}, str(files / "news.jsonl"),
                                {"path": str(files / "topics.csv"),
                                 "options": {"task": "commodity", "label_field": "labels", "multi": True, "delimiter": ";"}}],
                         output=str(files / "out"))
    data = read_data(config)
    assert data.schema["entities"]["labels"] == ["PER", "ORG", "LOC", "MISC"]   # news types, CoNLL adds none
    assert data.schema["commodity"] == {"kind": "multi", "labels": ["crude", "grain", "trade"]}
    assert {"topic", "stance"} <= set(data.schema) and data.dev is None and data.test is None
    assert len(data.train) == 4 and len(data.sha256) == 3
    conll_doc = data.train[0]
    assert conll_doc.spans["entities"][0].label == "ORG" and "topic" not in conll_doc.labels


def test_problems_of_every_file_are_reported_together(files):
    (files / "bad.conll").write_text("EU B-ORG extra\nfoo O\nbar O\n", encoding="utf-8")
    (files / "bad.jsonl").write_text("{broken\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=[str(files / "bad.conll"), str(files / "bad.jsonl")], output="x",
                              test=[str(files), str(files / "missing.jsonl")]))
    assert any("bad.conll:1" in p for p in err.value.problems)
    assert any("bad.jsonl:1" in p for p in err.value.problems)
    assert f"{files}: Is a directory" in err.value.problems and f"{files / 'missing.jsonl'}: No such file or directory" \
        in err.value.problems   # a file that cannot be read is one problem among the others


def test_dev_fraction_holds_out_train_documents(files):
    lines = [dict(NEWS, text=f"Putin met Trump in Helsinki, round {i}.") for i in range(10)]
    (files / "many.jsonl").write_text("\n".join(json.dumps(l) for l in lines) + "\n", encoding="utf-8")
    data = read_data(TrainConfig(train=str(files / "many.jsonl"), output="x", dev_fraction=0.2))
    assert len(data.train) == 8 and len(data.dev) == 2


def test_schema_merge_and_conflicts():
    merged = merge_schemas({"t": {"kind": "single", "labels": ["a"]}}, {"t": {"kind": "single", "labels": ["b", "a"]}},
                           "s.json", "f")
    assert merged["t"]["labels"] == ["a", "b"]
    with pytest.raises(ValueError, match=r"^task 't' is multi at f.csv:3 but single in s.json$"):
        merge_schemas({"t": {"kind": "single", "labels": ["a"]}}, {"t": {"kind": "multi", "labels": ["a"]}},
                      "s.json", {"t": "f.csv:3"})
    assert merge_schemas({"t": {"kind": "multi", "labels": ["a"]}}, {"t": {"kind": "single", "labels": ["b"]}},
                         "s.json", "f") == {"t": {"kind": "multi", "labels": ["a", "b"]}}   # one label a document fits


def test_a_kind_conflict_between_the_news_schema_and_another_file_names_both(files):
    (files / "stances.csv").write_text("text,label\nTalks.,supportive|neutral\n", encoding="utf-8")
    config = TrainConfig(train=[str(files / "news.jsonl"), {"path": str(files / "stances.csv"), "options": {
        "task": "stance", "multi": True, "delimiter": "|"}}], dev_fraction=0)
    with pytest.raises(ValueError) as err:
        read_data(config)
    assert str(err.value) == (f"task 'stance' is multi at {files / 'stances.csv'}:2 but single in the schema "
                              "(the news schema, data/README.md)")


def test_a_schema_beside_no_news_file_is_refused_not_ignored(files):
    """Before: a run of CoNLL or CSV files with --schema trained without a word, the schema unread."""
    (files / "schema.json").write_text(json.dumps({"topic": {"kind": "multi", "labels": ["summit_diplomacy"]}}),
                                       encoding="utf-8")
    config = TrainConfig(train=[str(files / "ner.conll"), {"path": str(files / "topics.csv"), "options": {
        "label_field": "labels"}}], schema=str(files / "schema.json"), dev_fraction=0)
    with pytest.raises(ValueError) as err:
        read_data(config)
    assert str(err.value) == (f"schema {files / 'schema.json'}: only news JSON lines are read by a schema, and no file "
                              "of this run is one (classification, conll): leave it out, or check the files' format")
    config = TrainConfig(train=[str(files / "ner.conll"), str(files / "news.jsonl")], schema=str(files / "schema.json"),
                         dev_fraction=0)
    assert read_data(config).schema["topic"] == {"kind": "multi", "labels": ["summit_diplomacy"]}   # read by it


def test_several_labels_on_a_document_make_a_task_multi_label(tmp_path):
    tasks = [{"data": {"text": "Talks in Geneva."}, "annotations": [{"result": [
        {"type": "choices", "from_name": "topic", "value": {"choices": ["summit_diplomacy", "arms_control"]}}]}]},
        {"data": {"text": "Tariffs rise."}, "annotations": [{"result": [
            {"type": "choices", "from_name": "topic", "value": {"choices": ["trade"]}}]}]}]
    (tmp_path / "ls.json").write_text(json.dumps(tasks), encoding="utf-8")
    (tmp_path / "news.jsonl").write_text(json.dumps(NEWS) + "\n", encoding="utf-8")
    config = TrainConfig(train=[{"path": str(tmp_path / "ls.json"), "format": "label-studio"}], dev_fraction=0)
    assert read_data(config).schema["topic"] == {"kind": "multi", "labels": ["arms_control", "summit_diplomacy", "trade"]}
    config.train.append(str(tmp_path / "news.jsonl"))   # with the news corpus, whose topic is multi-label too
    assert read_data(config).schema["topic"]["kind"] == "multi"


def test_each_format_takes_its_own_readers_options():
    Source("a.conll", options={"strict": True, "scheme": "IOB1"})
    Source("export.json", "label-studio", {"ner_task": "entities", "choice_tasks": {"sentiment": "stance"}})
    Source("stances.csv", "pairs", {"bodies": "bodies.csv", "id_field": "Body ID"})
    with pytest.raises(ValueError, match="the news reader takes no option.s. task .it takes: none."):
        Source("data/train.jsonl", options={"task": "entities"})


@pytest.mark.parametrize("option, name, problem", [
    ("task", "a.b", "is empty or holds a '.'"), ("task", "text", "is a field of the news records"),
    ("label_task", "pool_count", "is a name the model keeps for itself"),
    ("ner_task", "keys", "is a name the model keeps for itself")])
def test_a_task_name_no_model_can_have_is_refused_as_the_option_is_read(option, name, problem):
    """Before, --task a.b or --task text was read with every file, then refused when the model was made."""
    fmt = {"label_task": "doccano", "ner_task": "label-studio"}.get(option, "conll")
    with pytest.raises(ValueError) as raised:
        Source("a.conll", fmt, {option: name})
    assert str(raised.value) == f"a.conll: reader option {option}: {name!r} {problem}: give another"


@pytest.mark.parametrize("tasks, says", [
    ("stance", "'stance' is not a table of choice control = task name"),
    ({"sentiment": 3}, "3 is not a string: give another"),
    ({"sentiment": "type"}, "'type' is a name the model keeps for itself: give another")])
def test_label_studio_choice_tasks_is_a_table_of_task_names(tasks, says):
    """Before: an AttributeError or a TypeError traceback, the name 'type' refused only once every file was read."""
    with pytest.raises(ValueError) as raised:
        Source("export.json", "label-studio", {"choice_tasks": tasks})
    assert str(raised.value) == f"export.json: reader option choice_tasks: {says}"


def test_a_label_studio_choice_control_named_as_no_task_can_be_is_refused_where_it_is_read(files):
    """Before: read, then refused once the encoder was loaded as "task name 'type' is a name the model keeps for
    itself: rename the task (its schema entry, field or annotation)", naming no file."""
    path = files / "export.json"
    path.write_text(json.dumps([{"id": 1, "data": {"text": "Putin met Trump."}, "annotations": [{"result": [
        {"type": "choices", "from_name": "type", "to_name": "text", "value": {"choices": ["report"]}}]}]}]),
        encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        read_data(TrainConfig(train=str(path), dev_fraction=0))
    assert str(raised.value) == (f"{path}: task 0 (id 1): task name 'type' is a name the model keeps for itself: give "
                                 "it another (a Label Studio choice control's, by the reader option choice_tasks in a "
                                 '--config file\'s table, e.g. {"type" = "doc_type"})')
    config = TrainConfig(train={"path": str(path), "options": {"choice_tasks": {"type": "doc_type"}}}, dev_fraction=0)
    assert read_data(config).schema == {"doc_type": {"kind": "single", "labels": ["report"]}}


def test_the_task_of_a_doccano_exports_document_labels_is_a_flag(files):
    """Before: reachable only through a TOML table's options, so `cats` topics trained a new task `label`."""
    import argparse
    from training.cli.reading import add_reader_arguments, file_sources
    path = files / "export.jsonl"
    path.write_text(json.dumps({"text": "Putin met Trump.", "entities": [[0, 5, "PER"], [10, 15, "PER"]],
                                "cats": ["summit_diplomacy"]}) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_reader_arguments(parser)
    [source] = file_sources(parser.parse_args(["--label-task", "topic"]), [(str(path), None)])
    [doc] = read_source(Source(**source), {})
    assert doc.labels == {"topic": ["summit_diplomacy"]} and len(doc.spans["entities"]) == 2


def test_a_task_no_training_document_annotates_is_left_out(tmp_path):
    renamed = {k: v for k, v in NEWS.items() if k != "topic"} | {"subject": ["trade"]}
    (tmp_path / "train.jsonl").write_text(json.dumps(renamed) + "\n", encoding="utf-8")
    (tmp_path / "dev.jsonl").write_text(json.dumps(NEWS) + "\n", encoding="utf-8")
    data = read_data(TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "dev.jsonl")))
    assert list(data.schema) == ["entities", "stance"] and data.untrained == ["topic"]
    (tmp_path / "bare.jsonl").write_text(json.dumps({"text": "Putin met Trump."}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bare.jsonl: none of its 1 documents annotates a task of the schema "
                                        r"\(entities, topic, stance\): check the field names, or give the format"):
        read_data(TrainConfig(train=[str(tmp_path / "train.jsonl"), str(tmp_path / "bare.jsonl")]))   # before: trained


def test_a_test_file_that_annotates_no_trained_task_is_refused_before_training(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps({k: v for k, v in NEWS.items() if k != "topic"}) + "\n",
                                          encoding="utf-8")
    (tmp_path / "bare.jsonl").write_text(json.dumps({"text": "Putin met Trump.", "topic": ["trade"]}) + "\n",
                                         encoding="utf-8")   # a task no training document annotates
    with pytest.raises(DataError, match="no test document is annotated for a task this run scores"):
        read_data(TrainConfig(train=str(tmp_path / "train.jsonl"), test=str(tmp_path / "bare.jsonl")))


def test_a_task_of_two_kinds_is_named_with_both_places(files):
    (files / "ents.csv").write_text("text,label\nEU rejects,ORG\n", encoding="utf-8")
    table = {"path": str(files / "ents.csv"), "options": {"task": "entities"}}
    with pytest.raises(ValueError, match=r"ents.csv:2: task 'entities' is single here but ner at .*ner.conll:"):
        read_data(TrainConfig(train=[str(files / "ner.conll"), table]))
    with pytest.raises(ValueError, match=r"ner.conll:.*: task 'entities' is ner here but single at .*ents.csv:2"):
        read_data(TrainConfig(train=[table, str(files / "ner.conll")]))


def test_none_is_an_option_only_where_the_reader_takes_it(tmp_path):
    (tmp_path / "texts.csv").write_text("text\nTariffs rise\n", encoding="utf-8")
    [doc] = read_source(Source(str(tmp_path / "texts.csv"), "classification", {"label_field": None}), {})
    assert doc.text == "Tariffs rise" and doc.labels == {}   # label_field None: text to predict on
    with pytest.raises(ValueError, match=r"reader option text_field: the classification reader needs a value "
                                         r"\(leave it out for its default, 'text'\)"):
        Source("x.csv", "classification", {"text_field": None})
    with pytest.raises(ValueError, match="the pairs reader needs the bodies file"):
        Source("x.csv", "pairs", {"bodies": None})


def test_an_empty_bodies_path_is_refused_not_read_as_the_working_folder():
    with pytest.raises(ValueError, match=r"^x.csv: reader option bodies: an empty path \(an unset shell variable\?\)"):
        Source("x.csv", "pairs", {"bodies": ""})   # before: ".: cannot tell csv, tsv or jsonl from the extension ''"


@pytest.mark.parametrize("options, default", [({"delimiter": "", "multi": True}, ""),
                                              ({"label_field": ""}, " for its default, 'label'"),
                                              ({"pair_field": ""}, "")])
def test_an_empty_string_option_is_refused_naming_its_flag(options, default):
    """Before: an empty delimiter cut no labels ("earn;acq" trained as one label), an empty
    label_field read none, an empty pair_field read no pairs, unsaid."""
    name = next(iter(options))
    with pytest.raises(ValueError, match=rf"^x.csv: reader option {name} \(flag --{name.replace('_', '-')}\): an empty "
                                         rf"string \(an unset shell variable\?\): give one, or leave it out{default}$"):
        Source("x.csv", "classification", options)


def test_a_missing_bodies_file_is_named_itself(tmp_path):
    (tmp_path / "stances.csv").write_text("Headline,Body ID,Stance\nA,1,agree\n", encoding="utf-8")
    table = {"path": str(tmp_path / "stances.csv"), "format": "pairs", "options": {"bodies": str(tmp_path / "b.csv")}}
    with pytest.raises(DataError) as raised:
        read_data(TrainConfig(train=[table]))
    assert raised.value.problems == [f"{tmp_path / 'b.csv'}: No such file or directory"]


def test_tasks_are_counted_on_the_documents_trained_on_and_dev_must_annotate_one(tmp_path):
    from training.data import hold_out
    [held] = hold_out(list(range(10)), 0.1, 13)[1]   # the record read_data's hold-out takes at seed 13
    records = [{k: v for k, v in NEWS.items() if k != "topic" or i == held} | {"text": f"Putin met Trump, round {i}."}
               for i in range(10)]   # topic in that record only
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    data = read_data(TrainConfig(train=str(tmp_path / "train.jsonl"), dev_fraction=0.1, seed=13))
    assert [d.labels.get("topic") for d in data.dev] == [["summit_diplomacy"]]
    assert data.untrained == ["topic"] and list(data.schema) == ["entities", "stance"]
    (tmp_path / "bare.jsonl").write_text(json.dumps({"text": "Putin met Trump.", "topic": ["trade"]}) + "\n",
                                         encoding="utf-8")
    (tmp_path / "no_topic.jsonl").write_text("\n".join(json.dumps(r) for r in records if "topic" not in r) + "\n",
                                             encoding="utf-8")
    with pytest.raises(DataError, match="no dev document is annotated for a task this run scores"):
        read_data(TrainConfig(train=str(tmp_path / "no_topic.jsonl"), dev=str(tmp_path / "bare.jsonl")))


def test_an_entity_type_with_next_to_no_mentions_is_warned_about_as_a_likely_typo():
    from training.corpus import Document, Span
    from training.data import rare_entity_types
    docs = [Document("Putin spoke.", spans={"entities": [Span(0, 5, "PER")]}, source=f"a.conll:{3 * i + 1}")
            for i in range(60)]
    docs[7].spans["entities"].append(Span(6, 11, "PRE"))
    schema = {"entities": {"kind": "ner", "labels": ["O", "B-PER", "I-PER", "B-PRE", "I-PRE"]}}
    assert rare_entity_types(schema, docs) == [
        "entity type 'PRE' of task 'entities' has 1 training mention(s), against PER 60, PRE 1: a typo in a tag? "
        "The first is in the document at a.conll:22"]
    assert rare_entity_types(schema, docs[:40]) == []   # in a small corpus every type is rare


def test_a_label_without_a_training_example_is_warned_about():
    from training.corpus import Document, Span
    from training.data import labels_without_examples
    docs = [Document("Putin spoke.", spans={"entities": [Span(0, 5, "PER")]}, labels={"topic": ["trade"]})]
    schema = {"entities": {"kind": "ner", "labels": ["PER", "FAC"]}, "topic": {"kind": "multi", "labels": ["trade", "energy"]}}
    assert labels_without_examples(schema, docs) == [   # before: nothing said, "at most two mentions" left out zero
        "task 'entities': no training example of 'FAC': the data never shows it, so training only lowers its scores",
        "task 'topic': no training example of 'energy': the data never shows it, so training only lowers its scores"]


def test_a_label_dev_lacks_is_warned_about_for_the_tasks_dev_annotates():
    """A type --init-from adds that the older dev set predates: every prediction of it counted wrong
    in the figures the epoch is chosen on, with no word. A task dev leaves out is warned about apart."""
    from training.corpus import Document, Span
    from training.data import labels_without_examples
    dev = [Document("Putin spoke.", spans={"entities": [Span(0, 5, "PER")]})]
    schema = {"entities": {"kind": "ner", "labels": ["PER", "DATE"]}, "topic": {"kind": "multi", "labels": ["trade"]}}
    assert labels_without_examples(schema, dev, dev=True) == [
        "task 'entities': no dev example of 'DATE': dev figures count every prediction of it wrong (and so does "
        "the choice of the best epoch, unless --select-by names another task)"]


def test_the_checkpoints_labels_a_continued_run_lacks_are_named_whatever_the_format(tmp_path):
    """A CoNLL file with PER and LOC alone continuing a checkpoint of four types: ORG and MISC stay in
    the model and each dev prediction of them counts wrong, but the run's schema (from its data)
    lacked them, so nothing was said, where a news file (read with the checkpoint's schema) warned."""
    from inference.checkpoint import write_manifest
    from inference.manifest import Manifest
    from training.data import labels_without_examples, predicted_schema
    from training.schema import task_specs
    news = tmp_path / "news"
    news.mkdir()
    write_manifest(news, Manifest(tasks=task_specs(NEWS_SCHEMA), base_model="tiny"))
    (tmp_path / "a.conll").write_text("Putin NNP B-NP B-PER\nin IN B-PP O\nParis NNP B-NP B-LOC\n", encoding="utf-8")
    data = read_data(TrainConfig(train=str(tmp_path / "a.conll"), dev=str(tmp_path / "a.conll"), init_from=str(news)))
    predicted = predicted_schema(data)
    assert set(predicted) == {"entities", "topic", "stance"} and data.schema["entities"]["labels"] == ["LOC", "PER"]
    [line] = labels_without_examples(predicted, data.dev, dev=True)   # topic and stance: dev does not annotate them
    assert line.startswith("task 'entities': no dev example of 'ORG', 'MISC': ")


def test_labels_differing_only_in_case_are_warned_about(files):
    """A CSV's 'Trade' beside the news schema's 'trade' became a 7th topic, with no word."""
    from training.data import labels_differing_in_case
    (files / "more.csv").write_text("text,label\nTariffs rose,Trade\n", encoding="utf-8")
    data = read_data(TrainConfig(train=[str(files / "news.jsonl"), {"path": str(files / "more.csv"),
                                                                    "options": {"task": "topic"}}],
                                 output=str(files / "out")))
    assert labels_differing_in_case(data.schema) == [
        "task 'topic': labels 'trade' and 'Trade' differ only in case or white space around them: they are learnt "
        "as different classes"]


def test_labels_differing_only_in_white_space_around_them_are_one_label(tmp_path):
    """Doccano kept a type's white space: 'PER ' beside 'PER' was a type of its own, warned about."""
    from training.data import labels_differing_in_case
    (tmp_path / "d.jsonl").write_text('{"text": "Putin met Trump.", "label": [[0, 5, "PER"], [10, 15, "PER "]]}\n',
                                      encoding="utf-8")
    data = read_data(TrainConfig(train=str(tmp_path / "d.jsonl")))
    assert data.schema["entities"]["labels"] == ["PER"] and labels_differing_in_case(data.schema) == []


def test_a_hold_out_of_one_document_is_refused():
    from training.data import hold_out
    with pytest.raises(DataError, match="dev_fraction 0.5: 1 training document\\(s\\) cannot be split"):
        hold_out([1], 0.5, 13)


def test_a_file_given_twice_and_test_documents_also_trained_on_are_warned_about(files, tmp_path):
    from training.data import overlaps
    twice = tmp_path / "twice.jsonl"
    twice.write_text((files / "news.jsonl").read_text(encoding="utf-8"), encoding="utf-8")   # a copy: the same texts
    config = TrainConfig(train=[str(files / "news.jsonl"), str(files / "news.jsonl")], test=str(twice), dev_fraction=0)
    data = read_data(config)
    lines = overlaps(config, data)
    assert lines[0] == f"{files / 'news.jsonl'} is given twice, in train data"
    assert lines[1] == (f"1 training document(s) repeat another one's text, 0 of them annotated differently "
                        f"(e.g. {files / 'news.jsonl'}:1 and {files / 'news.jsonl'}:1)")
    assert lines[2].endswith("test documents are also training documents (the same text): test figures on them are "
                             "not held out")   # before: nothing said, and the figures read as held out


def test_training_documents_that_repeat_one_another_are_warned_about(tmp_path):
    from training.data import overlaps
    other = dict(NEWS, text="Trump met Putin in Helsinki.")
    reordered = dict(NEWS, text="Putin and Trump met.", topic=["arms_control", "summit_diplomacy"])
    records = [NEWS, other, NEWS, dict(NEWS, stance="critical"),   # a copy, and one annotated differently
               reordered, dict(reordered, topic=["summit_diplomacy", "arms_control"])]   # the same labels
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "train.jsonl"), dev_fraction=0)
    assert overlaps(config, read_data(config)) == [
        f"3 training document(s) repeat another one's text, 1 of them annotated differently "
        f"(e.g. {tmp_path / 'train.jsonl'}:1 and {tmp_path / 'train.jsonl'}:3)"]


def test_records_of_one_file_that_share_an_id_are_warned_about(tmp_path):
    from training.data import overlaps
    records = [dict(NEWS, id="a-1"), dict(NEWS, id="a-2", text="Trump met Putin."), dict(NEWS, id=7, text="Talks."),
               dict(NEWS, id="a-1", text="Putin and Trump met.")]   # an id given to another record: both read
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (tmp_path / "dev.jsonl").write_text(json.dumps(dict(NEWS, id=7, text="Summit ends.")) + "\n", encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "dev.jsonl"))
    assert overlaps(config, read_data(config)) == [   # an id again in another file is no repeat
        f"1 record(s) repeat an earlier record's id in the same file (first: id 'a-1' at {tmp_path / 'train.jsonl'}:1 "
        f"and {tmp_path / 'train.jsonl'}:4): both are read"]


def test_doccano_records_that_share_an_id_are_warned_about(tmp_path):
    from training.data import overlaps
    records = [{"id": 4, "text": "Putin met Trump.", "label": [[0, 5, "PER"]]},
               {"id": 4, "text": "Trump met Putin.", "label": [[0, 5, "PER"]]}]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "d.jsonl"))
    assert overlaps(config, read_data(config)) == [
        f"1 record(s) repeat an earlier record's id in the same file (first: id 4 at {tmp_path / 'd.jsonl'}:1 "
        f"and {tmp_path / 'd.jsonl'}:2): both are read"]


def test_records_of_a_doccano_json_export_that_share_an_id_are_warned_about(tmp_path):
    """Its records are named by their place in the list: before, not warned about (no line to read)."""
    from training.data import overlaps
    records = [{"id": 4, "text": "Putin met Trump.", "label": [[0, 5, "PER"]]},
               {"id": 5, "text": "Talks ended.", "label": []}, {"id": 4, "text": "Trump met Putin.", "label": [[0, 5, "PER"]]}]
    (tmp_path / "d.json").write_text(json.dumps(records), encoding="utf-8")
    config = TrainConfig(train={"path": str(tmp_path / "d.json"), "format": "doccano"})
    assert overlaps(config, read_data(config)) == [
        f"1 record(s) repeat an earlier record's id in the same file (first: id 4 at {tmp_path / 'd.json'}: record 0 "
        f"(id 4) and {tmp_path / 'd.json'}: record 2 (id 4)): both are read"]


def test_classification_rows_that_share_an_id_are_warned_about(tmp_path):
    from training.data import overlaps
    (tmp_path / "t.csv").write_text('id,text,label\n1,"Tariffs\nrose",trade\n,Talks,other\n1,Sanctions,trade\n'
                                    ',Summit,other\n', encoding="utf-8")   # an empty cell names no record
    config = TrainConfig(train=str(tmp_path / "t.csv"))
    assert overlaps(config, read_data(config)) == [   # line numbers where each row begins
        f"1 record(s) repeat an earlier record's id in the same file (first: id '1' at {tmp_path / 't.csv'}:2 "
        f"and {tmp_path / 't.csv'}:5): both are read"]


def test_documents_that_differ_only_in_white_space_are_the_same_text(tmp_path):
    from training.data import overlaps
    spaced = dict(NEWS, text="  Putin met Trump\nin  Helsinki.\n",   # exported again, or with a trailing new line
                  entities=[{"start": 2, "end": 7, "label": "PER"}])   # the same name, its offsets shifted
    retyped = dict(spaced, entities=[{"start": 2, "end": 7, "label": "ORG"}])
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(d) + "\n" for d in (NEWS, spaced)), encoding="utf-8")
    (tmp_path / "dev.jsonl").write_text(json.dumps(dict(NEWS, text=NEWS["text"] + " ")) + "\n", encoding="utf-8")
    config = TrainConfig(train=str(tmp_path / "train.jsonl"), dev=str(tmp_path / "dev.jsonl"))
    lines = overlaps(config, read_data(config))   # before: nothing said of either
    assert lines[0].startswith("1 training document(s) repeat another one's text, 0 of them annotated differently")
    assert lines[1].startswith("1 of the 1 dev documents are also training documents")
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(d) + "\n" for d in (NEWS, retyped)), encoding="utf-8")
    assert overlaps(config, read_data(config))[0].startswith(
        "1 training document(s) repeat another one's text, 1 of them annotated differently")


def test_spans_inside_words_are_warned_about_but_not_in_scripts_without_spaces():
    from training.corpus import Document, Span
    from training.data import spans_inside_words
    text = "Müller met Jürgen Weiß in Zürich."
    as_bytes = [Span(0, 7, "PER"), Span(12, 25, "PER")]   # shifted, as byte offsets shift them: "Müller ", "ürgen Weiß in"
    docs = [Document(text, spans={"entities": as_bytes}, source="a.jsonl:1"),
            Document("习近平会见普京。", spans={"entities": [Span(0, 3, "PER"), Span(5, 7, "PER")]}, source="a.jsonl:2")]
    assert spans_inside_words(docs, "train data") == [   # before: stretched to whole words, silently
        "1 entity span(s) of the train data start or end inside a word, and are read as the whole words they touch "
        "(first: a.jsonl:1 'ürgen Weiß in'): do the offsets count characters?"]
    assert spans_inside_words(docs[1:], "train data") == []


def test_documents_with_no_letter_or_digit_are_warned_about():
    """Before, an emoji-only training text made no window, and its labels went untrained without a word."""
    from training.corpus import Document
    from training.data import unreadable
    docs = [Document("Talks resume.", labels={"topic": ["trade"]}, source="a.jsonl:1"),
            Document("\U0001f600\U0001f600", labels={"topic": ["trade"]}, source="a.jsonl:2"),
            Document("!!! ???", labels={"topic": ["other"]}, source="a.jsonl:3"),
            Document("!!!", text_pair="Body 1.", labels={"stance": ["neutral"]}, source="a.jsonl:4")]
    assert unreadable(docs, "train data") == [
        "2 document(s) of the train data have no letter or digit (first: a.jsonl:2 '\U0001f600\U0001f600'): predict "
        "gives such a text no label or entity"]


def test_spans_across_a_line_break_are_warned_about():
    """predict never gives such an entity; before, nothing said the gold had some."""
    from training.corpus import Document, Span
    from training.data import spans_across_lines
    text = "Talks in\nGeneva\nBush\n\nCherie Blair spoke.\n"
    docs = [Document(text, spans={"entities": [Span(8, 16, "LOC"), Span(16, 34, "PER")]}, source="a.jsonl:3")]
    assert spans_across_lines(docs, "dev data") == [   # "\nGeneva\n": line breaks at its edges alone are no crossing
        "1 entity span(s) of the dev data cross a line break (first: a.jsonl:3 'Bush\\n\\nCherie Blair'): "
        "predict decodes each line on its own, and never gives one"]


def test_one_file_read_as_two_tasks_or_pairs_with_other_bodies_is_no_overlap(tmp_path):
    from training.data import overlaps
    both = tmp_path / "both.csv"
    both.write_text("text,topic,stance\nTalks resume.,summit,neutral\nSanctions bite.,trade,critical\n", encoding="utf-8")
    tables = [{"path": str(both), "options": {"task": task, "label_field": task}} for task in ("topic", "stance")]
    config = TrainConfig(train=tables, dev_fraction=0)
    assert overlaps(config, read_data(config)) == []   # read as two tasks: not a mistake
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("text,body,label\nTalks,Body one.,agree\nTalks,Body two.,agree\n", encoding="utf-8")
    source = {"path": str(pairs), "options": {"task": "stance", "pair_field": "body"}}
    config = TrainConfig(train=[source], dev_fraction=0.5)
    assert overlaps(config, read_data(config)) == []   # one headline, two bodies: two documents


def test_a_continued_run_reads_news_files_with_the_checkpoints_tasks_and_other_files_as_before(tmp_path):
    """News files take the checkpoint's tasks beside --schema's; a checkpoint whose task is of
    another kind than the bundled schema's (FNC-1's pair stance) still continues on its own
    format; a folder that is no checkpoint is named as init_from before the data is read."""
    from inference.checkpoint import write_manifest
    from inference.manifest import Manifest, TaskSpec
    from training.schema import task_specs
    news = tmp_path / "news"
    news.mkdir()
    write_manifest(news, Manifest(tasks=task_specs(NEWS_SCHEMA), base_model="tiny"))
    (tmp_path / "topic.json").write_text(json.dumps({"topic": {"kind": "multi", "labels": ["energy"]}}), encoding="utf-8")
    (tmp_path / "train.jsonl").write_text(json.dumps(dict(NEWS, topic=["energy"])) + "\n", encoding="utf-8")
    data = read_data(TrainConfig(train=str(tmp_path / "train.jsonl"), schema=str(tmp_path / "topic.json"),
                                 init_from=str(news), dev_fraction=0))
    assert set(data.schema) == {"entities", "topic", "stance"} and data.train[0].spans["entities"]
    fnc = tmp_path / "fnc"
    fnc.mkdir()
    write_manifest(fnc, Manifest(tasks=[TaskSpec("stance", "pair", ["agree", "unrelated"])], base_model="tiny"))
    (tmp_path / "stances.csv").write_text("Headline,Body ID,Stance\nTalks,1,agree\n", encoding="utf-8")
    (tmp_path / "bodies.csv").write_text("Body ID,articleBody\n1,Talks resumed.\n", encoding="utf-8")
    pairs = {"path": str(tmp_path / "stances.csv"), "format": "pairs", "options": {"bodies": str(tmp_path / "bodies.csv")}}
    assert read_data(TrainConfig(train=[pairs], init_from=str(fnc), dev_fraction=0)).schema["stance"]["kind"] == "pair"
    with pytest.raises(ValueError, match=f"^init_from {tmp_path}: not a checkpoint folder"):
        read_data(TrainConfig(train=str(tmp_path / "train.jsonl"), init_from=str(tmp_path), dev_fraction=0))


def test_an_export_given_as_init_from_is_named_as_one(tiny_checkpoint, tmp_path):
    """Before: "init_from X: not a checkpoint folder ([Errno 2] No such file ... manifest.json)"."""
    from inference import load
    from inference.export import export_ner
    exported = export_ner(load(tiny_checkpoint), "entities", tmp_path / "ner")
    (tmp_path / "train.jsonl").write_text(json.dumps(NEWS) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(
            f"init_from {exported}: a `newsmodel export` of the NER task 'entities' (a token classifier), not a "
            f"checkpoint: give the checkpoint it was exported from, or train anew from its encoder with --base "
            f"{exported} (base in a config file)")):
        read_data(TrainConfig(train=str(tmp_path / "train.jsonl"), init_from=str(exported), dev_fraction=0))


def test_a_task_of_another_kind_than_the_checkpoints_names_the_record_before_the_model_loads(tmp_path):
    """Before: refused only once the checkpoint was loaded, as "at this run's data", naming no file."""
    from inference.checkpoint import write_manifest
    from inference.manifest import Manifest
    from training.schema import task_specs
    news = tmp_path / "news"
    news.mkdir()
    write_manifest(news, Manifest(tasks=task_specs(NEWS_SCHEMA), base_model="tiny"))
    (tmp_path / "stance.csv").write_text("text,label\nTalks resumed.,neutral\n", encoding="utf-8")
    source = {"path": str(tmp_path / "stance.csv"), "options": {"task": "stance", "multi": True}}
    with pytest.raises(ValueError, match=rf"^task 'stance' is multi at {re.escape(str(tmp_path))}/stance.csv:2 but "
                                         rf"single in the checkpoint {re.escape(str(news))}$"):
        read_data(TrainConfig(train=[source], init_from=str(news), dev_fraction=0))
    (tmp_path / "stance.jsonl").write_text("".join(json.dumps({"text": text, "label": labels}) + "\n" for text, labels in
                                                   [("Talks resumed.", ["neutral"]), ("Talks ended.", ["neutral", "critical"])]),
                                           encoding="utf-8")
    source = {"path": str(tmp_path / "stance.jsonl"), "format": "doccano", "options": {"label_task": "stance"}}
    with pytest.raises(ValueError, match=r"^task 'stance' is multi at .*stance.jsonl:2 but single in the checkpoint"):
        read_data(TrainConfig(train=[source], init_from=str(news), dev_fraction=0))


def test_a_label_studio_export_annotating_nothing_is_refused_saying_why(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps(NEWS) + "\n", encoding="utf-8")
    export = [{"id": 1, "data": {"text": "No names here."}, "annotations": [{"result": []}]}]
    (tmp_path / "ls.json").write_text(json.dumps(export), encoding="utf-8")
    with pytest.raises(DataError, match=r"ls.json: none of its 1 documents annotates a task \(an export without a "
                                        r"single span annotates no entities"):   # before: trained on as nothing
        read_data(TrainConfig(train=[str(tmp_path / "train.jsonl"), str(tmp_path / "ls.json")]))


def test_training_documents_the_hold_out_leaves_unannotated_are_refused(tmp_path):
    from training.data import hold_out
    [held] = hold_out([0, 1], 0.5, 13)[1]   # the record read_data's hold-out takes at seed 13
    records = [NEWS if i == held else {"text": f"Talks, round {i}."} for i in range(2)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with pytest.raises(DataError, match=r"no training document is annotated for any task \(entities, topic, stance\)"):
        read_data(TrainConfig(train=str(tmp_path / "train.jsonl"), dev_fraction=0.5, seed=13))


@pytest.mark.parametrize("labels, refused", [(["agree"], None), (["agree", "discuss"], "['agree', 'discuss']"),
                                             ([], "[]")])
def test_text_pairs_with_several_labels_or_none_are_refused_not_cut_to_the_first(tmp_path, labels, refused):
    rows = [{"text": "Talks", "body": "In Geneva.", "label": labels},
            {"text": "Tariffs", "body": "They rise.", "label": ["discuss"]}]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = TrainConfig(train={"path": str(tmp_path / "pairs.jsonl"), "format": "classification",
                                "options": {"pair_field": "body", "multi": True}})
    if refused is None:   # label lists of one label each: a single-label pair task
        assert read_data(config).schema == {"label": {"kind": "pair", "labels": ["agree", "discuss"]}}
        return
    with pytest.raises(ValueError) as err:   # before: the first label trained, the rest dropped; [] crashed
        read_data(config)
    assert str(err.value).endswith(f"pairs.jsonl:1: task 'label' reads text pairs, which take exactly one label "
                                   f"each, not {refused}")


def test_a_first_line_nested_too_deeply_is_named_by_the_reader_not_lost_in_format_detection(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a", "id": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    with pytest.raises(DataError) as err:   # before: a RecursionError traceback while the format was sniffed
        read_data(TrainConfig(train=str(path)))
    assert f"{path}:1: invalid JSON (nested too deeply)" in err.value.problems


def test_dev_fraction_holds_out_pairs_by_their_second_text(tmp_path):
    """Before, pairs were held out one by one: dev bodies were training bodies too."""
    rows = [{"Headline": f"Headline {h} on body {b}", "Body": f"Body number {b} of the talks.", "Stance": "agree"}
            for b in range(10) for h in range(3)]
    with (tmp_path / "pairs.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    source = {"path": str(tmp_path / "pairs.csv"),
              "options": {"task": "stance", "text_field": "Headline", "pair_field": "Body", "label_field": "Stance"}}
    data = read_data(TrainConfig(train=[source], dev_fraction=0.2, seed=13))
    dev_bodies = {d.text_pair for d in data.dev}
    assert len(dev_bodies) == 2 and len(data.dev) == 6 and not dev_bodies & {d.text_pair for d in data.train}


def test_the_task_help_names_the_default_task_of_each_reader_that_takes_it():
    """Before: the hf reader's defaults (entities for NER data, else label) were not named."""
    datasets = pytest.importorskip("datasets")
    from training.readers import read_hf
    from training.sources import READER_OPTIONS, reader_options
    help = READER_OPTIONS["task"][1]
    for fmt in ("conll", "classification", "pairs"):
        assert f"{fmt} {reader_options(fmt)['task']}" in help
    ner = datasets.Dataset.from_dict({"tokens": [["EU", "rejects"]], "ner_tags": [["B-ORG", "O"]]})
    text = datasets.Dataset.from_dict({"text": ["EU rejects"], "label": ["politics"]})
    ner_task, text_task = (next(iter({**doc.spans, **doc.labels})) for doc in (read_hf(ner)[0][0], read_hf(text)[0][0]))
    assert f"hf {ner_task} for NER data, else {text_task}" in help
