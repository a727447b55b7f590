"""Hugging Face datasets in: saved folders, Parquet files and Dataset objects, built here in memory."""
import json

import pytest

datasets = pytest.importorskip("datasets")

from training.config import TrainConfig  # noqa: E402
from training.corpus import DataError  # noqa: E402
from training.data import read_data  # noqa: E402
from training.readers import read_hf  # noqa: E402
from training.sources import Source, read_source  # noqa: E402

TAGS = datasets.ClassLabel(names=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
NER = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": datasets.Sequence(TAGS)})


def ner_dataset(rows):
    return datasets.Dataset.from_dict({"tokens": [r[0] for r in rows], "ner_tags": [r[1] for r in rows]}, features=NER)


def test_ner_from_a_saved_folder_uses_the_classlabel_names(tmp_path):
    ner_dataset([(["Anna", "Berg", "visited", "New", "York", "."], [1, 2, 0, 3, 4, 0]),
                 (["Talks", "ended", "."], [0, 0, 0])]).save_to_disk(tmp_path / "train")
    docs, multi = read_hf(tmp_path / "train")
    assert not multi and docs[0].text == "Anna Berg visited New York ."
    assert [(docs[0].text[s.start:s.end], s.label) for s in docs[0].spans["entities"]] == \
        [("Anna Berg", "PER"), ("New York", "LOC")]
    assert [docs[0].text[a:b] for a, b in docs[0].tokens][:2] == ["Anna", "Berg"] and docs[1].spans["entities"] == []


def test_ner_tag_names_and_tag_strings_are_stripped_as_other_readers_strip_labels(tmp_path):
    """Before: "unknown tag ' I-PER'", and "B-PER " made a type "PER " of its own."""
    padded = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": datasets.Sequence(
        datasets.ClassLabel(names=["O", "B-PER ", " I-PER", "B-LOC", "I-LOC"]))})
    datasets.Dataset.from_dict({"tokens": [["Anna", "Berg", "visited", "Paris"]], "ner_tags": [[1, 2, 0, 3]]},
                               features=padded).save_to_disk(tmp_path / "names")
    datasets.Dataset.from_dict({"tokens": [["Anna", "Berg", "visited", "Paris"]],
                                "ner_tags": [["B-PER ", "I-PER", "O", " B-LOC"]]}).save_to_disk(tmp_path / "strings")
    for folder in ("names", "strings"):
        [doc], _ = read_hf(tmp_path / folder)
        assert [(doc.text[s.start:s.end], s.label) for s in doc.spans["entities"]] == \
            [("Anna Berg", "PER"), ("Paris", "LOC")]


def test_classification_from_parquet_with_pairs_and_string_labels(tmp_path):
    datasets.Dataset.from_dict({"headline": ["Rates rise", "Team wins"], "body": ["The bank said ...", "In the final ..."],
                                "label": ["agree", "unrelated"]}).to_parquet(tmp_path / "pairs.parquet")
    docs, multi = read_hf(tmp_path / "pairs.parquet", task="stance", text_field="headline", pair_field="body")
    assert not multi and [d.labels["stance"] for d in docs] == [["agree"], ["unrelated"]]
    assert docs[1].text_pair == "In the final ..."


def test_multi_label_classlabel_lists():
    topics = datasets.Sequence(datasets.ClassLabel(names=["trade", "grain", "crude"]))
    ds = datasets.Dataset.from_dict({"text": ["Wheat exports", "Oil and grain"], "label": [[1], [2, 1]]},
                                    features=datasets.Features({"text": datasets.Value("string"), "label": topics}))
    docs, multi = read_hf(ds, task="topic")
    assert multi and docs[1].labels["topic"] == ["crude", "grain"]


def test_bad_rows_are_reported_by_index_and_nothing_is_read(tmp_path):
    rows = [(["Anna"], ["B-PER"]), (["Berg", "said"], ["O"]), ([], []), (["ok"], ["PER"])]
    ds = datasets.Dataset.from_dict({"tokens": [r[0] for r in rows], "ner_tags": [r[1] for r in rows]})
    ds.save_to_disk(tmp_path / "bad")
    with pytest.raises(DataError) as err:
        read_hf(tmp_path / "bad")
    problems = err.value.problems
    assert any(p.startswith(f"{tmp_path / 'bad'}:1: 1 tags for 2 tokens") for p in problems)
    assert any(p.startswith(f"{tmp_path / 'bad'}:2: ") for p in problems)
    assert any(":3: unknown tag 'PER'" in p for p in problems)      # tag strings when there is no ClassLabel
    assert not any(":0:" in p for p in problems)


def test_an_unknown_tag_is_said_in_row_order_before_later_rows_shape_problems(tmp_path):
    """Before: the rows' shape problems came first, so an unknown tag in row 0 fell under the 20 a
    message shows."""
    rows = [(["Geneva"], ["PER"])] + [(["Berg", "said"], ["O"])] * 25
    datasets.Dataset.from_dict({"tokens": [r[0] for r in rows], "ner_tags": [r[1] for r in rows]}).save_to_disk(
        tmp_path / "bad")
    with pytest.raises(DataError) as err:
        read_hf(tmp_path / "bad")
    assert err.value.problems[0].startswith(f"{tmp_path / 'bad'}:0: unknown tag 'PER'")
    assert err.value.problems[1].startswith(f"{tmp_path / 'bad'}:1: 1 tags for 2 tokens")
    assert "unknown tag 'PER'" in str(err.value)


def test_tags_without_prefixes_are_named_once_per_dataset_with_their_count(tmp_path):
    """Before: "unknown tag 'PER'" once per token of every row."""
    tags = datasets.ClassLabel(names=["O", "PER", "LOC"])   # an IO-tagged dataset's names
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(tags)})
    datasets.Dataset.from_dict({"tokens": [["Talks", "ended"], ["Anna", "Berg", "left", "Oslo"], ["Karl", "said"]],
                                "ner_tags": [[0, 0], [1, 1, 0, 2], [1, 0]]}, features=features).save_to_disk(tmp_path / "io")
    with pytest.raises(DataError) as err:
        read_hf(tmp_path / "io")
    assert [p.split(": expected")[0] for p in err.value.problems] == [
        f"{tmp_path / 'io'}:1: unknown tag 'PER' (on 3 tokens, the first here)", f"{tmp_path / 'io'}:1: unknown tag 'LOC'"]
    assert err.value.problems[0].endswith("tag them I-PER to read them as IOB1")


def test_a_split_the_dataset_dict_lacks_names_those_it_has(tmp_path):
    """Before: "dd/test: no such file or folder", and under format auto a FileNotFoundError from the CoNLL reader."""
    datasets.DatasetDict({"train": ner_dataset([(["Anna"], [1])]),
                          "validation": ner_dataset([(["Berg"], [1])])}).save_to_disk(tmp_path / "dd")
    want = f"{tmp_path / 'dd' / 'test'}: the DatasetDict folder {tmp_path / 'dd'} has no split 'test' (it has: " \
           "train, validation)"
    for fmt in ("hf", "auto"):
        with pytest.raises(DataError) as err:
            read_source(Source(str(tmp_path / "dd" / "test"), fmt), {})
        assert err.value.problems == [want]


def test_a_classlabel_id_out_of_range_is_named_with_its_field():
    """Before: "label id -1 is not one of the 2 ClassLabel names", naming no field, nor what -1 means."""
    topics = datasets.Features({"text": datasets.Value("string"),
                                "topic": datasets.ClassLabel(names=["sport", "trade"])})
    ds = datasets.Dataset.from_dict({"text": ["Goal.", "Untold."], "topic": [0, -1]}, features=topics)
    with pytest.raises(DataError) as err:
        read_hf(ds, label_field="topic")
    assert err.value.problems == [f"<dataset {ds._fingerprint}>:1: field 'topic': label id -1 is not one of the 2 "
                                  "ClassLabel names (-1: a row without a label, as in a test split of the Hub)"]
    tagged = datasets.Dataset.from_dict({"words": [["Anna"]], "tags": [[-1]]}, features=datasets.Features(
        {"words": datasets.Sequence(datasets.Value("string")), "tags": datasets.Sequence(TAGS)}))
    with pytest.raises(DataError) as err:
        read_hf(tagged, tokens_field="words", tags_field="tags")
    assert err.value.problems == [f"<dataset {tagged._fingerprint}>:0: field 'tags': tag id -1 is not one of the 5 "
                                  "ClassLabel names"]


def test_dataset_dict_folder_asks_for_a_split(tmp_path):
    datasets.DatasetDict({"train": ner_dataset([(["Anna"], [1])])}).save_to_disk(tmp_path / "dd")
    with pytest.raises(DataError, match="DatasetDict folder; give one of its splits \\(train\\)"):
        read_hf(tmp_path / "dd")


def test_a_dataset_dict_without_a_train_split_names_a_split_it_has(tmp_path):
    datasets.DatasetDict({"validation": ner_dataset([(["Anna"], [1])])}).save_to_disk(tmp_path / "dd")
    with pytest.raises(DataError) as err:
        read_hf(tmp_path / "dd")
    assert str(err.value).endswith(f"(validation), e.g. {tmp_path / 'dd' / 'validation'}")   # before: .../train


def test_an_empty_or_broken_dataset_is_a_problem_that_names_it(tmp_path):
    empty = datasets.Dataset.from_dict({"text": [], "label": []})
    empty.save_to_disk(tmp_path / "empty")
    datasets.Dataset.from_dict({"text": ["Talks"], "label": ["a"]}).to_parquet(tmp_path / "whole.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "whole.parquet").read_bytes()[:100])   # a download cut short
    (tmp_path / "mixed").mkdir()   # Parquet files of different columns
    for name, columns in (("a", {"text": ["Talks"], "label": ["a"]}), ("b", {"other": [1]})):
        datasets.Dataset.from_dict(columns).to_parquet(tmp_path / "mixed" / f"{name}.parquet")
    with pytest.raises(DataError) as err:   # before: IndexError, ArrowInvalid and DatasetGenerationError, unnamed
        read_data(TrainConfig(train=[str(tmp_path / name) for name in ("empty", "cut.parquet", "mixed")]))
    problems = err.value.problems
    assert problems[0] == f"{tmp_path / 'empty'}: no records"
    assert problems[1].startswith(f"{tmp_path / 'cut.parquet'}: not a readable Hugging Face dataset: ")
    assert problems[2].startswith(f"{tmp_path / 'mixed'}: not a readable Hugging Face dataset: ")


def test_a_dataset_dict_or_a_folder_of_parquet_files_is_known_without_format(tmp_path):
    dd = datasets.DatasetDict({"train": ner_dataset([(["Anna"], [1])]), "validation": ner_dataset([(["Oslo"], [3])])})
    dd.save_to_disk(tmp_path / "dd")
    with pytest.raises(DataError, match="DatasetDict folder; give one of its splits"):   # before: "Is a directory"
        read_data(TrainConfig(train=str(tmp_path / "dd"), dev_fraction=0))
    with pytest.raises(ValueError, match=r"train 1: a DatasetDict; give one of its splits \(train, validation\), "
                                         r"e.g. dataset\['train'\]"):   # before: taken for a table
        read_data(TrainConfig(train=dd, dev_fraction=0))
    (tmp_path / "pq").mkdir()
    ner_dataset([(["Anna", "Berg"], [1, 2])]).to_parquet(str(tmp_path / "pq" / "part-0.parquet"))
    assert Source(str(tmp_path / "pq")).resolved_format == "hf"


def test_spaces_around_a_token_are_no_part_of_its_entity(tmp_path):
    [doc], _ = read_hf(datasets.Dataset.from_dict({"tokens": [[" Anna ", "spoke in", "New York\t"]],
                                                   "ner_tags": [["B-PER", "O", "B-LOC"]]}))
    assert doc.text == "Anna spoke in New York"   # as the CoNLL reader reads "Anna \tB-PER"
    assert [(doc.text[s.start:s.end], s.label) for s in doc.spans["entities"]] == [("Anna", "PER"), ("New York", "LOC")]


def test_tag_ids_without_names_are_one_clear_problem(tmp_path):
    plain = datasets.Dataset.from_dict({"tokens": [["Anna", "Berg"]] * 30, "ner_tags": [[1, 2]] * 30})
    with pytest.raises(DataError) as err:
        read_hf(plain)
    assert len(err.value.problems) == 1 and "'ner_tags' holds tag ids without their names" in err.value.problems[0]


def test_multi_makes_single_labels_a_multi_label_task(tmp_path):
    single = datasets.Dataset.from_dict({"text": ["Talks.", "Sanctions."], "label": ["summit", "trade"]})
    source = {"path": single, "format": "hf", "options": {"task": "topic", "multi": True}}
    data = read_data(TrainConfig(train=[source], dev_fraction=0))
    assert data.schema["topic"]["kind"] == "multi"   # before: --multi was taken and dropped


def test_a_multi_label_dataset_leaves_the_callers_options_as_given():
    """Before: read_source wrote multi = True into the caller's table, and a single-label dataset read
    with the same options in a later run became a multi-label task."""
    topics = datasets.Features({"text": datasets.Value("string"),
                                "label": datasets.Sequence(datasets.ClassLabel(names=["trade", "grain"]))})
    several = datasets.Dataset.from_dict({"text": ["Wheat.", "Oil and grain."], "label": [[0], [0, 1]]},
                                         features=topics)
    single = datasets.Dataset.from_dict({"text": ["Talks.", "Sanctions."], "label": ["summit", "trade"]})
    options = {"task": "topic"}
    assert read_data(TrainConfig(train={"path": several, "format": "hf", "options": options}, dev_fraction=0)) \
        .schema["topic"]["kind"] == "multi"
    assert options == {"task": "topic"}
    data = read_data(TrainConfig(train={"path": single, "format": "hf", "options": options}, dev_fraction=0))
    assert data.schema["topic"]["kind"] == "single"


def test_training_config_takes_a_dataset_object_and_a_folder_by_extension(tmp_path):
    ds = ner_dataset([(["Anna", "Berg", "visited", "Oslo"], [1, 2, 0, 3])] * 3)
    ds.save_to_disk(tmp_path / "dev")
    config = TrainConfig(train=ds, dev=str(tmp_path / "dev"), output=str(tmp_path / "out"))
    data = read_data(config)
    assert data.schema == {"entities": {"kind": "ner", "labels": ["LOC", "PER"]}} and len(data.train) == 3
    assert any(k.startswith("<datasets.Dataset ") for k in data.sha256) and str(tmp_path / "dev") in data.sha256
    assert json.dumps(config.record())   # the manifest can hold it


def test_labels_are_read_as_the_classification_reader_reads_them():
    """Before: ' sport' and 'sport ' were two more classes, ["x", "x"] a label twice, True the
    label 'True', and a multi-label row with no label refused."""
    strings = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "label": [" sport", "sport ", "politics"]})
    assert [d.labels["label"] for d in read_hf(strings)[0]] == [["sport"], ["sport"], ["politics"]]
    lists = datasets.Dataset.from_dict({"text": ["a", "b"], "label": [["x", "x"], []]})
    assert [d.labels["label"] for d in read_hf(lists)[0]] == [["x"], []]
    with pytest.raises(DataError, match=r":0: field 'label': a label must be a string, not True"):
        read_hf(datasets.Dataset.from_dict({"text": ["a"], "label": [True]}))


def test_docstart_rows_are_no_documents():
    ds = ner_dataset([(["-DOCSTART-"], [0]), (["Anna", "Berg", "spoke"], [1, 2, 0])])
    assert [d.text for d in read_hf(ds)[0]] == ["Anna Berg spoke"]   # before: a document '-DOCSTART-'


def test_a_folder_of_the_hubs_split_files_is_refused(tmp_path):
    """Before: train-, validation- and test- files were read as one training set."""
    (tmp_path / "data").mkdir()
    for split, name in (("train", "Anna"), ("validation", "Oslo"), ("test", "Berg")):
        ner_dataset([([name], [1])]).to_parquet(str(tmp_path / "data" / f"{split}-00000-of-00001.parquet"))
    with pytest.raises(DataError, match=r"Parquet files of several splits \(test, train, validation\); give the "
                                        r"files of one, e.g. .*train-00000-of-00001.parquet"):
        read_hf(tmp_path / "data")
    docs, _ = read_hf(tmp_path / "data" / "train-00000-of-00001.parquet")
    assert [d.text for d in docs] == ["Anna"]


@pytest.mark.parametrize("fmt", ["numpy", "torch"])
def test_a_dataset_saved_with_an_output_format_reads_as_python_rows(tmp_path, fmt):
    """Before: numpy rows crashed the NER reader; torch label ids were refused as no ClassLabel id."""
    ner = ner_dataset([(["Anna", "Berg", "spoke"], [1, 2, 0])])
    ner.set_format(fmt)
    ner.save_to_disk(tmp_path / "ner")
    docs, _ = read_hf(tmp_path / "ner")
    assert [(s.label, s.start, s.end) for s in docs[0].spans["entities"]] == [("PER", 0, 9)]
    classes = datasets.Dataset.from_dict({"text": ["Oil rose"], "label": [1]}, features=datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["sport", "trade"])}))
    classes.set_format(fmt)
    docs, _ = read_hf(classes, task="topic")
    assert docs[0].labels["topic"] == ["trade"]


def test_a_label_field_reads_a_dataset_with_ner_columns_as_classification():
    """Before: the NER columns won and --label-field was dropped, an NER task trained under its name."""
    ds = ner_dataset([(["Oil", "rose"], [0, 0])]).add_column("text", ["Oil rose"]).add_column("topic", ["trade"])
    docs, multi = read_hf(ds, task="topic", label_field="topic")
    assert not multi and docs[0].labels == {"topic": ["trade"]} and docs[0].spans == {}
    assert read_hf(ds)[0][0].spans["entities"] == []   # without it: NER, as before
    assert read_hf(ds, label_field="category")[0][0].spans["entities"] == []   # a column it lacks: another file's flag


def test_an_entity_the_encoder_cannot_read_is_refused_with_its_row():
    dataset = datasets.Dataset.from_dict({"tokens": [["Anna", "said"], ["\U0001F600", "said"]],
                                          "ner_tags": [["B-PER", "O"], ["B-PER", "O"]]})
    with pytest.raises(DataError) as err:
        read_hf(dataset)
    assert err.value.problems == [f"<dataset {dataset._fingerprint}>:1: entity PER '😀' has only white space or "
                                  "characters the encoder does not read"]


def test_a_parquet_file_named_in_capitals_is_read_as_its_format_was_guessed(tmp_path):
    path = tmp_path / "TRAIN.PARQUET"
    datasets.Dataset.from_dict({"text": ["Talks ended."], "label": ["politics"]}).to_parquet(str(path))
    source = Source(str(path))
    assert source.resolved_format == "hf"
    [doc], _ = read_hf(source.path)   # before: "neither a save_to_disk folder nor Parquet files"
    assert (doc.text, doc.labels) == ("Talks ended.", {"label": ["politics"]})


def test_a_folder_of_parquet_files_named_in_capitals_is_guessed_and_read(tmp_path):
    (tmp_path / "pq").mkdir()
    dataset = datasets.Dataset.from_dict({"text": ["Talks ended."], "label": ["politics"]})
    dataset.to_parquet(str(tmp_path / "pq" / "TRAIN.PARQUET"))
    source = Source(str(tmp_path / "pq"))
    assert source.resolved_format == "hf"   # before: conll
    [doc], _ = read_hf(source.path)   # before: "neither a save_to_disk folder nor Parquet files"
    assert (doc.text, doc.labels) == ("Talks ended.", {"label": ["politics"]})
    dataset.to_parquet(str(tmp_path / "pq" / "TEST.PARQUET"))   # the split files of the Hub's layout, in capitals
    with pytest.raises(DataError, match=r"Parquet files of several splits \(test, train\); give the files of one, "
                                        r"e.g. .*TRAIN.PARQUET"):
        read_hf(source.path)


def test_a_dataset_of_no_rows_in_memory_is_named_as_one_in_a_file_is():
    """Before: "no training data: give --train FILE", for a Dataset given (filtered down to nothing, say)."""
    empty = ner_dataset([])
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=empty))
    assert err.value.problems == [f"<dataset {empty._fingerprint}>: no records"]   # as dev=empty says


def test_a_dataframe_is_refused_with_the_way_to_a_dataset():
    """Before: pandas' "The truth value of a DataFrame is ambiguous", naming no setting."""
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"text": ["Talks ended."], "label": ["politics"]})
    with pytest.raises(ValueError, match=r"^train 1: a path, a table or a datasets.Dataset, not DataFrame: "
                                         r"datasets.Dataset.from_pandas\(frame\) makes one$"):
        read_data(TrainConfig(train=frame))
    with pytest.raises(ValueError, match=r"^dev_fraction: 0.5 holds out training documents only without dev data"):
        TrainConfig(train=datasets.Dataset.from_pandas(frame), dev=frame, dev_fraction=0.5)


def test_a_dataset_in_a_table_is_named_by_its_fingerprint_and_read_by_the_hf_reader_alone():
    """Before: a DatasetDict's repr over seven lines, a bare TypeError ("expected str, bytes or
    os.PathLike object, not Dataset") for another format, and a Dataset's repr before a wrong option."""
    ds = datasets.Dataset.from_dict({"text": ["Talks ended."], "category": ["politics"]})
    with pytest.raises(ValueError, match=r"^train 1: a DatasetDict; give one of its splits \(train\), "
                                         r"e.g. dataset\['train'\]$"):
        read_data(TrainConfig(train=[{"path": datasets.DatasetDict({"train": ds}), "format": "hf"}]))
    with pytest.raises(ValueError, match=rf"^<dataset {ds._fingerprint}>: a dataset in memory is read by the hf reader, "
                                         r"not classification: give format hf, or leave the format out$"):
        read_data(TrainConfig(train=[{"path": ds, "format": "classification", "options": {"label_field": "category"}}]))
    with pytest.raises(ValueError, match=rf"^<dataset {ds._fingerprint}>: the hf reader takes no option\(s\) "
                                         r"label_column \(it takes: [a-z_, ]+\)$"):
        read_data(TrainConfig(train=[{"path": ds, "options": {"label_column": "category"}}]))
    [doc] = read_data(TrainConfig(train=[{"path": ds, "options": {"label_field": "category"}}])).train
    assert doc.labels == {"label": ["politics"]}


def test_an_arrow_file_is_refused_pointing_at_its_save_to_disk_folder(tmp_path):
    """Before: "neither a save_to_disk folder nor Parquet files", with no word of the folder the file is in."""
    dataset = datasets.Dataset.from_dict({"text": ["Talks ended."], "label": ["politics"]})
    dataset.save_to_disk(str(tmp_path / "saved"))
    [arrow] = (tmp_path / "saved").glob("*.arrow")
    with pytest.raises(DataError, match=rf"{arrow}: an Arrow data file; give its save_to_disk folder, {tmp_path}/saved$"):
        read_hf(str(arrow))
    (tmp_path / "cache").mkdir()   # one of datasets' cache, which has no state.json beside it
    arrow.rename(tmp_path / "cache" / arrow.name)
    with pytest.raises(DataError, match=r"an Arrow data file; give its save_to_disk folder \(dataset\.save_to_disk"):
        read_hf(str(tmp_path / "cache" / arrow.name))


def test_ner_columns_under_other_names_are_refused_naming_the_flags_that_name_them(tmp_path):
    """Before: the columns and the defaults were listed, not the flags that take other names."""
    datasets.Dataset.from_dict({"words": [["Talks"]], "tags": [["O"]]}).save_to_disk(str(tmp_path / "ner"))
    with pytest.raises(DataError, match=r"no column 'text', 'label' \(columns: words, tags\); NER data needs 'tokens' "
                                        r"and 'ner_tags' \(--tokens-field and --tags-field name other columns"):
        read_hf(str(tmp_path / "ner"))
    [doc], _ = read_hf(str(tmp_path / "ner"), tokens_field="words", tags_field="tags")
    assert doc.text == "Talks"
