import json

import pytest

from training.corpus import DataError, Span
from training.readers import read_doccano, read_label_studio

TEXT = "Putin met Trump in Helsinki."


def entities(doc, task="entities"):
    return [(doc.text[s.start:s.end], s.label) for s in doc.spans[task]]


def ls_span(start, end, label, text=None, from_name="label"):
    value = {"start": start, "end": end, "labels": [label]}
    if text is not None:
        value["text"] = text
    return {"type": "labels", "from_name": from_name, "to_name": "text", "value": value}


def ls_choice(from_name, *choices):
    return {"type": "choices", "from_name": from_name, "to_name": "text", "value": {"choices": list(choices)}}


def ls_task(task_id, text, *result, cancelled_first=False):
    annotations = [{"id": 1, "result": result}]
    if cancelled_first:
        annotations.insert(0, {"id": 0, "was_cancelled": True, "result": []})
    return {"id": task_id, "data": {"text": text}, "annotations": annotations}


def write_json(tmp_path, value, name="export.json"):
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def write_jsonl(tmp_path, records, name="export.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_label_studio_spans_and_choices(tmp_path):
    path = write_json(tmp_path, [
        ls_task(41, TEXT, ls_span(19, 27, "LOC", "Helsinki"), ls_span(0, 5, "PER", "Putin"), ls_span(10, 15, "PER"),
                ls_choice("topic", "summit_diplomacy"), ls_choice("stance", "neutral"),
                {"type": "relation", "from_id": "a", "to_id": "b"}),
        ls_task(42, "Nothing here.", ls_choice("topic", "other"), cancelled_first=True)])
    first, second = read_label_studio(path)
    assert entities(first) == [("Putin", "PER"), ("Trump", "PER"), ("Helsinki", "LOC")]
    assert first.labels == {"topic": ["summit_diplomacy"], "stance": ["neutral"]}
    assert first.source == f"{path}: task 0 (id 41)"
    assert second.spans == {"entities": []} and second.labels == {"topic": ["other"]}


def test_label_studio_choice_tasks_rename_and_select(tmp_path):
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_choice("sentiment", "neutral"), ls_choice("topic", "x"))])
    [doc] = read_label_studio(path, ner_task=None, choice_tasks={"sentiment": "stance"})
    assert doc.labels == {"stance": ["neutral"]} and doc.spans == {}


def test_label_studio_choices_alone_annotate_no_entities(tmp_path):
    """Before, a project of choices alone gave every text "no entities", which trained names as O
    beside an NER file."""
    path = write_json(tmp_path, [ls_task(1, "NATO troops fought near Kharkiv.", ls_choice("topic", "military_conflict")),
                                 ls_task(2, "The summit in Geneva ended.", ls_choice("topic", "summit_diplomacy"))])
    assert [doc.spans for doc in read_label_studio(path)] == [{}, {}]


def test_label_studio_reads_the_ground_truth_annotation_and_each_choice_once(tmp_path):
    task = ls_task(1, TEXT, ls_choice("topic", "trade"))
    task["annotations"].append({"id": 2, "ground_truth": True,
                                "result": [ls_span(0, 5, "PER"), ls_choice("topic", "trade"), ls_choice("topic", "trade")]})
    [doc] = read_label_studio(write_json(tmp_path, [task]))
    assert entities(doc) == [("Putin", "PER")]
    assert doc.labels == {"topic": ["trade"]}   # before: ["trade", "trade"], which made the task multi-label


def test_label_studio_spans_it_cannot_read_are_refused(tmp_path):
    two_types = ls_span(0, 5, "PER")
    two_types["value"]["labels"] = ["PER", "ORG"]
    html = {"type": "hypertextlabels", "from_name": "h", "to_name": "text",
            "value": {"start": "/p[1]/text()[1]", "end": "/p[1]/text()[1]", "startOffset": 0, "endOffset": 5,
                      "hypertextlabels": ["PER"]}}
    path = write_json(tmp_path, [ls_task(1, TEXT, two_types, html, ls_choice("topic", "trade"))])
    [doc] = read_label_studio(path, ner_task=None)   # choices alone: the spans are no concern
    assert doc.labels == {"topic": ["trade"]} and doc.spans == {}
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [
        f"{path}: task 0 (id 1): result[0]: a span of several types ['PER', 'ORG']: an entity has one",
        f"{path}: task 0 (id 1): result[1]: hypertextlabels spans index HTML or dialogue paragraphs, not "
        "data.text, so they cannot be read; label the text with Labels"]


def test_label_studio_blank_entity_types_and_choices_are_refused(tmp_path):
    """Before: read as an entity type "" (tags "B-", "I-") and a topic " "."""
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER"), ls_span(10, 15, ""), ls_choice("topic", " "))])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [
        f"{path}: task 0 (id 1): result[1]: value.labels must be a non-empty list of non-blank strings, not ['']",
        f"{path}: task 0 (id 1): result[2]: value.choices must be a non-empty list of non-blank strings, not [' ']"]


def test_label_studio_problems_name_task_index_and_id(tmp_path):
    path = write_json(tmp_path, [
        ls_task(1, TEXT, ls_span(0, 5, "PER")),
        ls_task(2, "", ls_span(0, 5, "PER")),
        ls_task(3, TEXT, ls_span(0, 99, "PER"), ls_span(10, 15, "PER", "Biden")),
        {"id": 4, "data": {"text": TEXT}, "annotations": []},
        ls_task(5, TEXT, ls_span(0, 9, "PER"), ls_span(6, 15, "ORG"))])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [
        f"{path}: task 1 (id 2): data.text is missing or empty",
        f"{path}: task 2 (id 3): result[0]: offset 99 is past the end of the text (28 characters)",
        f"{path}: task 2 (id 3): result[1]: span 10..15 reads 'Trump' but the annotation says 'Biden'",
        f"{path}: task 4 (id 5): entities overlap: 0..9 PER 'Putin met' and 6..15 ORG 'met Trump'"]


def test_label_studio_problems_name_the_annotation_read_where_a_task_has_several(tmp_path):
    """Before: "task 0 (id 1): result[0]: ..." where the annotation read was the second, its
    first result fine: which annotator's region was wrong went unsaid."""
    task = ls_task(1, TEXT, ls_span(0, 5, "PER"), cancelled_first=True)
    task["annotations"].append({"id": 2, "ground_truth": True, "result": [ls_span(0, 99, "PER"), ls_span(0, 9, "PER"),
                                                                         ls_span(6, 15, "ORG")]})
    path = write_json(tmp_path, [task, ls_task(2, TEXT, ls_span(0, 99, "PER"))])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [
        f"{path}: task 0 (id 1): annotations[2] (id 2): result[0]: offset 99 is past the end of the text (28 characters)",
        f"{path}: task 0 (id 1): annotations[2] (id 2): entities overlap: 0..9 PER 'Putin met' and 6..15 ORG "
        "'met Trump'",
        f"{path}: task 1 (id 2): result[0]: offset 99 is past the end of the text (28 characters)"]
    task["annotations"][2]["result"] = {"0": ls_span(0, 5, "PER")}
    with pytest.raises(DataError, match=r"task 0 \(id 1\): annotations\[2\] \(id 2\): the annotation's result must "
                                        "be a list, not dict"):
        read_label_studio(write_json(tmp_path, [task]))


def test_label_studio_a_region_drawn_twice_alike_is_one_entity(tmp_path):
    """Before: refused as "entities overlap: 0..5 PER 'Putin' and 0..5 PER 'Putin'"."""
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER"), ls_span(0, 5, "PER", from_name="claims"),
                                         ls_span(10, 15, "PER"))])
    assert entities(read_label_studio(path)[0]) == [("Putin", "PER"), ("Trump", "PER")]
    write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER"), ls_span(0, 5, "ORG"))])   # two types: still refused
    with pytest.raises(DataError, match="entities overlap: 0..5 PER 'Putin' and 0..5 ORG 'Putin'"):
        read_label_studio(path)


def test_label_studio_leaves_out_tasks_skipped_or_with_predictions_alone(tmp_path):
    """Before: one skipped task refused the whole export."""
    skipped = ls_task(2, "Skipped.", ls_span(0, 7, "ORG"))
    skipped["annotations"][0]["was_cancelled"] = True
    predicted = {"id": 3, "data": {"text": TEXT}, "annotations": [], "predictions": [{"result": [ls_span(0, 5, "PER")]}]}
    docs = read_label_studio(write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER")), skipped, predicted]))
    assert [d.source.split(": ")[-1] for d in docs] == ["task 0 (id 1)"]
    with pytest.raises(DataError) as err:   # none annotated at all: before, "no records"
        read_label_studio(write_json(tmp_path, [skipped, predicted]))
    assert err.value.problems == [f"{tmp_path / 'export.json'}: no task has an annotation (2 in the export; a "
                                  "task skipped, cancelled or with predictions alone is left out)"]


def test_label_studio_annotations_or_results_that_are_no_lists_are_refused_not_read_as_none(tmp_path):
    result_object = ls_task(2, TEXT)
    result_object["annotations"][0]["result"] = {"0": ls_span(0, 5, "PER")}   # before: a text naming no one
    annotation_object = ls_task(3, TEXT)
    annotation_object["annotations"] = {"result": [ls_span(0, 5, "PER")]}   # before: left out
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER")), result_object, annotation_object])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [f"{path}: task 1 (id 2): the annotation's result must be a list, not dict",
                                  f"{path}: task 2 (id 3): annotations must be a list of objects, found dict"]
    number, result_number = ls_task(4, TEXT), ls_task(5, TEXT)
    number["annotations"] = 5
    result_number["annotations"][0]["result"] = 7
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER")), number, result_number])
    with pytest.raises(DataError) as err:   # before: TypeError, 'int' object is not iterable
        read_label_studio(path)
    assert err.value.problems == [f"{path}: task 1 (id 4): annotations must be a list of objects, found int",
                                  f"{path}: task 2 (id 5): the annotation's result must be a list, not int"]


def test_label_studio_results_that_are_no_objects_are_refused_not_passed_over(tmp_path):
    """Before: read as a text naming no one, the region lost unsaid."""
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER"), 5, [ls_span(10, 15, "PER")])])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [f"{path}: task 0 (id 1): result[1]: a result must be a JSON object, not int",
                                  f"{path}: task 0 (id 1): result[2]: a result must be a JSON object, not list"]


def test_label_studio_exports_before_1_0_hold_completions(tmp_path):
    task = ls_task(1, TEXT, ls_span(0, 5, "PER"))
    task["completions"] = task.pop("annotations")
    skipped = ls_task(2, "Skipped.", ls_span(0, 7, "ORG"))
    skipped["completions"] = [{"skipped": True, "result": []}]   # before: read as a text naming nothing
    del skipped["annotations"]
    docs = read_label_studio(write_json(tmp_path, [task, skipped]))
    assert len(docs) == 1 and entities(docs[0]) == [("Putin", "PER")]   # before: left out


def test_label_studio_spans_on_another_text_object_say_which_key_to_read(tmp_path):
    task = ls_task(1, TEXT, {**ls_span(0, 6, "MISC", "Summit"), "to_name": "title"})
    task["data"]["title"] = "Summit ends"
    with pytest.raises(DataError, match=r"reads 'Putin ' but the annotation says 'Summit' \(it is drawn on 'title': "
                                        r"if that is data.title, give --text-key title\)"):
        read_label_studio(write_json(tmp_path, [task]))
    task["annotations"][0]["result"] = ({**ls_span(0, 40, "MISC"), "to_name": "title"},)
    task["data"]["title"] = "Summit ends after two days of talks in Vienna"
    with pytest.raises(DataError, match=r"past the end of the text \(28 characters\) \(it is drawn on 'title'"):
        read_label_studio(write_json(tmp_path, [task]))


def test_label_studio_leaves_out_span_attributes_and_refuses_spans_on_two_texts(tmp_path):
    """Before: a per-region choice became a document label (a task of its own), and spans drawn on
    the title were read at their offsets in the text."""
    per_region = {"type": "choices", "from_name": "kind", "to_name": "text",
                  "value": {"start": 19, "end": 27, "text": "Helsinki", "choices": ["capital"]}}
    on_title = {**ls_choice("topic", "summit"), "to_name": "title"}   # a document label, whichever text it names
    task = ls_task(1, TEXT, ls_span(19, 27, "LOC"), per_region, on_title)
    task["data"]["title"] = "Summit ends"
    [doc] = read_label_studio(write_json(tmp_path, [task]))
    assert entities(doc) == [("Helsinki", "LOC")] and doc.labels == {"topic": ["summit"]}
    task["annotations"][0]["result"] += ({**ls_span(0, 6, "ORG"), "to_name": "title"},)
    with pytest.raises(DataError, match=r"spans are drawn on 2 text objects \(text, title\): this reader reads one "
                                        r"text per task \(data.text\)"):
        read_label_studio(write_json(tmp_path, [task]))
    task["data"] = {"body": TEXT, "text": "A summary."}   # one object, <Text name="text" value="$body"/>
    task["annotations"][0]["result"] = [ls_span(19, 27, "LOC")]
    assert entities(read_label_studio(write_json(tmp_path, [task]), text_key="body")[0]) == [("Helsinki", "LOC")]


def test_label_studio_offsets_older_versions_counted_in_utf16_units(tmp_path):
    """An emoji is two UTF-16 units: before, a span after one was refused as reading the wrong text."""
    text = "\U0001F4A9 Putin met Trump in Helsinki."   # Putin: 2..7 in characters, 3..8 in UTF-16 units
    path = write_json(tmp_path, [ls_task(1, text, ls_span(3, 8, "PER", "Putin"), ls_span(13, 18, "PER", "Trump"),
                                         ls_span(21, 29, "LOC"))])   # no text: counted as written
    assert entities(read_label_studio(path)[0]) == [("Putin", "PER"), ("Trump", "PER"), ("Helsinki", "LOC")]
    path = write_json(tmp_path, [ls_task(1, text, ls_span(3, 8, "PER", "Trump"))])   # neither count reads it
    with pytest.raises(DataError, match=r"span 3..8 reads 'utin ' but the annotation says 'Trump'"):
        read_label_studio(path)


def test_label_studio_text_under_another_key(tmp_path):
    task = ls_task(1, TEXT, ls_span(0, 5, "PER"))
    task["data"] = {"article": task["data"].pop("text")}
    path = write_json(tmp_path, [task])
    with pytest.raises(DataError, match=r"data.text is missing or empty \(data holds article: give the text's key, "
                                        r"--text-key or text_key\)"):
        read_label_studio(path)
    assert entities(read_label_studio(path, text_key="article")[0]) == [("Putin", "PER")]


def test_label_studio_broken_json_gives_the_line(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[\n  {"id": 1, "data": {"text": "a"}\n  {"id": 2}\n]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    [problem] = err.value.problems
    assert problem.startswith(f"{path}:3: invalid JSON (Expecting ',' delimiter")


def test_label_studio_export_not_utf8_names_its_line_not_invalid_json(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b'[{"id": 1, "data": {"text": "M\xfcller met"}}]')   # Latin-1
    with pytest.raises(DataError) as err:   # before: "path: invalid JSON (path:1: not valid UTF-8 ...)"
        read_label_studio(path)
    assert err.value.problems == [f"{path}:1: not valid UTF-8 (invalid start byte at byte 30); re-save it as UTF-8"]


def test_label_studio_export_must_be_a_list(tmp_path):
    with pytest.raises(DataError, match="a Label Studio export is a JSON list of tasks, not dict"):
        read_label_studio(write_json(tmp_path, {"data": {"text": TEXT}}))


def ls_taxonomy(from_name, *paths):
    return {"type": "taxonomy", "from_name": from_name, "to_name": "text", "value": {"taxonomy": list(paths)}}


def test_label_studio_taxonomy_picks_are_labels_of_their_control(tmp_path):
    """Before, taxonomy results were dropped unsaid: a project of a Taxonomy alone trained nothing."""
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_taxonomy("topic", ["Politics", "Elections"], ["Europe"])),
                                 ls_task(2, TEXT, ls_taxonomy("topic", ["Politics"]))])
    assert [doc.labels for doc in read_label_studio(path)] == [{"topic": ["Politics / Elections", "Europe"]},
                                                               {"topic": ["Politics"]}]
    [doc] = read_label_studio(write_json(tmp_path, [ls_task(1, TEXT, ls_taxonomy("topic", ["Sport"]))]),
                              choice_tasks={"topic": "section"})
    assert doc.labels == {"section": ["Sport"]}
    with pytest.raises(DataError) as err:
        read_label_studio(write_json(tmp_path, [ls_task(1, TEXT, ls_taxonomy("topic", "Politics", []))]))
    assert err.value.problems == [f"{tmp_path / 'export.json'}: task 0 (id 1): result[0]: value.taxonomy must be a "
                                  "non-empty list of paths (non-empty lists of non-blank strings), not ['Politics', []]"]


JSON_MIN_META = {"annotator": 1, "created_at": "2024-05-02T10:00:00Z", "updated_at": "2024-05-02T10:00:00Z",
                 "lead_time": 4.2}


def min_record(task_id, annotation_id, text=TEXT, **controls):
    return {"text": text, "id": task_id, **controls, "annotation_id": annotation_id, **JSON_MIN_META}


def min_span(start, end, label):
    return {"start": start, "end": end, "text": TEXT[start:end], "labels": [label]}


def test_label_studio_json_min_export(tmp_path):
    """Before, every record of a JSON_MIN export was refused: data.text is missing or empty."""
    path = write_json(tmp_path, [
        min_record(1, 12, label=[min_span(10, 15, "PER"), min_span(0, 5, "PER")], sentiment="Neutral",
                   topic=[{"taxonomy": [["Politics", "Summits"]]}], genre={"choices": ["news", "analysis"]}),
        min_record(1, 11, label=[min_span(19, 27, "LOC")], sentiment="Positive"),   # an older annotation
        min_record(2, None, text="Not annotated yet."),
        min_record(3, 13, text="Nothing here.", sentiment="Negative")])
    first, second = read_label_studio(path, choice_tasks={"sentiment": "sentiment", "topic": "topic",
                                                          "genre": "genre"})
    assert entities(first) == [("Putin", "PER"), ("Trump", "PER")]
    assert first.labels == {"sentiment": ["Neutral"], "topic": ["Politics / Summits"], "genre": ["news", "analysis"]}
    assert first.source == f"{path}: record 0 (id 1)"
    assert second.spans == {"entities": []} and second.labels == {"sentiment": ["Negative"]}


def test_label_studio_json_min_strings_are_choices_only_where_named(tmp_path):
    path = write_json(tmp_path, [min_record(1, 5, title="Summit", sentiment="Neutral", genre={"choices": ["news"]})])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [
        f"{path}: a Label Studio JSON_MIN export does not say whether its fields sentiment, title hold choices or the "
        "task's data: name its choice controls, each one to read (reader option choice_tasks in the options table of "
        "`train --config`, e.g. {sentiment = \"sentiment\", genre = \"genre\"}; {} for none), or export JSON (which "
        "evaluate and calibrate read)"]
    [doc] = read_label_studio(path, choice_tasks={"sentiment": "stance"})
    assert doc.labels == {"stance": ["Neutral"]}


def test_label_studio_json_min_advice_names_every_choice_control(tmp_path):
    """Before, the advice named the one-choice control alone (e.g. {stance = "stance"}), and followed,
    it read the stance alone: the topics picked two at a time and the taxonomy were left out unsaid."""
    path = write_json(tmp_path, [min_record(1, 5, stance="neutral", topic={"choices": ["trade", "sanctions"]},
                                            section=[{"taxonomy": [["World", "Europe"]]}])])
    with pytest.raises(DataError, match=r'e\.g\. \{stance = "stance", section = "section", topic = "topic"\}; '):
        read_label_studio(path)
    [doc] = read_label_studio(path, choice_tasks={"stance": "stance", "section": "section", "topic": "topic"})
    assert doc.labels == {"stance": ["neutral"], "topic": ["trade", "sanctions"], "section": ["World / Europe"]}


def test_label_studio_json_min_problems_name_record_and_field(tmp_path):
    path = write_json(tmp_path, [
        min_record(1, 5, label=[min_span(0, 5, "PER"), {"start": 0, "end": 99, "labels": ["X"]}, 7,
                                {"start": 10, "end": 15, "labels": [""]}], topic=[{"taxonomy": [[]]}]),
        {"body": TEXT, "id": 2, "annotation_id": 6, **JSON_MIN_META}, 3])
    with pytest.raises(DataError) as err:
        read_label_studio(path, choice_tasks={})
    assert err.value.problems == [
        f"{path}: record 0 (id 1): label[1]: offset 99 is past the end of the text (28 characters)",
        f"{path}: record 0 (id 1): label[2]: a region must be a JSON object, not 7",
        f"{path}: record 0 (id 1): label[3]: labels must be a non-empty list of non-blank strings, not ['']",
        f"{path}: record 1 (id 2): field 'text' is missing or empty (the record holds body: give the text's key, "
        "--text-key or text_key)",
        f"{path}: record 2: a record must be a JSON object, not int"]
    with pytest.raises(DataError, match=r"record 0 \(id 1\): topic\[0\]: taxonomy must be a non-empty list of paths"):
        read_label_studio(write_json(tmp_path, [min_record(1, 5, topic=[{"taxonomy": [[]]}])]))


def test_label_studio_a_key_given_twice_is_refused_naming_task_and_key(tmp_path):
    """Before: JSON kept the last value alone, and the span read ORG, or the JSON_MIN record no span."""
    span = '{"type": "labels", "from_name": "label", "to_name": "text", "value": {"start": 0, "end": 5, ' \
           '"labels": ["PER"], "labels": ["ORG"]}}'
    good = json.dumps(ls_task(8, TEXT, ls_span(0, 5, "PER")))
    path = tmp_path / "export.json"
    path.write_text(f'[ {good} ,\n{{"id": 9, "data": {{"text": "{TEXT}"}}, "annotations": [{{"result": [{span}]}}]}},'
                    f'{good}]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [
        f"{path}: task 1 (id 9): 'labels' is given twice in one object (JSON keeps the last alone)"]
    record = json.dumps(min_record(1, 5, label=[min_span(0, 5, "PER")]))
    path.write_text(f'[{record}, {record[:-1]}, "label": []}}]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_label_studio(path, choice_tasks={})
    assert err.value.problems == [
        f"{path}: record 1 (id 1): 'label' is given twice in one object (JSON keeps the last alone)"]


def test_label_studio_json_min_a_key_given_twice_is_named_with_the_unclear_fields(tmp_path):
    """Before: only the unclear fields were named; the repeated key (and a record that is no object)
    came up once they were named."""
    record = json.dumps(min_record(1, 5, title="Summit"))
    path = tmp_path / "export.json"
    path.write_text(f'[{record}, {record[:-1]}, "title": "Talk"}}, 7]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems[:2] == [
        f"{path}: record 1 (id 1): 'title' is given twice in one object (JSON keeps the last alone)",
        f"{path}: record 2: a record must be a JSON object, not int"]
    assert err.value.problems[2].startswith(f"{path}: a Label Studio JSON_MIN export does not say whether its "
                                            "fields title hold choices")
    assert len(err.value.problems) == 3


def test_label_studio_choices_without_a_control_name_are_refused(tmp_path):
    """Before: a from_name that is a list was a TypeError traceback, and a missing one lost its choices unsaid."""
    path = write_json(tmp_path, [ls_task(1, TEXT, {**ls_choice("topic", "x"), "from_name": ["topic"]}),
                                 ls_task(2, TEXT, {"type": "choices", "value": {"choices": ["x"]}})])
    for choice_tasks in (None, {"topic": "topic"}):
        with pytest.raises(DataError) as err:
            read_label_studio(path, choice_tasks=choice_tasks)
        assert err.value.problems == [
            f"{path}: task 0 (id 1): result[0]: from_name must name a control (a non-blank string), not ['topic']",
            f"{path}: task 1 (id 2): result[0]: from_name must name a control (a non-blank string), not None"]


def test_label_studio_spans_of_two_labels_controls_are_one_entity_task(tmp_path):
    """Both exports read every Labels control's spans as the one entity task (documented)."""
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER"), ls_span(10, 15, "CLAIM", from_name="claims"))])
    want = [Span(0, 5, "PER"), Span(10, 15, "CLAIM")]
    assert read_label_studio(path)[0].spans == {"entities": want}
    write_json(tmp_path, [min_record(1, 5, label=[min_span(0, 5, "PER")], claims=[min_span(10, 15, "CLAIM")])])
    assert read_label_studio(path, choice_tasks={})[0].spans == {"entities": want}


def test_doccano_sequence_labelling_triples(tmp_path):
    path = write_jsonl(tmp_path, [{"id": 1, "text": TEXT, "label": [[10, 15, "PER"], [0, 5, "PER"], [19, 27, "LOC"]]},
                                  {"id": 2, "text": "No entities.", "label": []}])
    first, second = read_doccano(path)
    assert entities(first) == [("Putin", "PER"), ("Trump", "PER"), ("Helsinki", "LOC")]
    assert first.labels == {} and first.source == f"{path}:1"
    assert second.spans == {"entities": []}   # a sentence without entities still trains "O"


def test_doccano_up_to_1_2_spelt_the_field_labels(tmp_path):
    """Before: "labels" was not read, and every record came out with no entities and no error."""
    path = write_jsonl(tmp_path, [{"id": 1, "text": TEXT, "labels": [[0, 5, "PER"], [19, 27, "LOC"]]},
                                  {"id": 2, "text": "No entities.", "labels": []}])
    first, second = read_doccano(path)
    assert entities(first) == [("Putin", "PER"), ("Helsinki", "LOC")] and second.spans == {"entities": []}
    with pytest.raises(DataError, match=r":1: labels\[0\]: offset 99 is past the end"):
        read_doccano(write_jsonl(tmp_path, [{"text": TEXT, "labels": [[0, 99, "PER"]]}]))
    [doc] = read_doccano(write_jsonl(tmp_path, [{"text": "Good news", "labels": ["positive"]}]), label_task="sentiment")
    assert doc.labels == {"sentiment": ["positive"]} and doc.spans == {}


def test_doccano_1_0s_label_ids_without_names_are_refused_saying_how_to_get_names(tmp_path):
    """Before: read as texts with neither labels nor entities, every annotation lost without a word."""
    path = write_jsonl(tmp_path, [{"id": 1, "text": "Talks resumed.", "annotations": [{"label": 7, "user": 1}]},
                                  {"id": 2, "text": TEXT, "annotations": [
                                      {"label": 3, "start_offset": 0, "end_offset": 5, "user": 1},
                                      {"label": 3, "start_offset": 10, "end_offset": 15, "user": 1}]}])
    with pytest.raises(DataError) as error:
        read_doccano(path)
    assert f"{path}:1: field 'annotations' holds label ids (7) without their names, as Doccano 1.0 exported them: " \
           'export the project from a later Doccano, which writes names in "label"' in str(error.value)
    assert f"{path}:2: field 'annotations' holds label ids (3) without" in str(error.value)


def test_doccano_annotations_holding_label_names_are_refused_not_read_as_unlabelled(tmp_path):
    """Before: only integer ids were refused; names (a script's conversion) read as texts without labels or
    entities, every annotation lost without a word."""
    path = write_jsonl(tmp_path, [{"id": 1, "text": TEXT, "annotations": [
                                      {"label": "PER", "start_offset": 0, "end_offset": 5, "user": 1},
                                      {"label": "PER", "start_offset": 10, "end_offset": 15, "user": 2}]},
                                  {"id": 2, "text": "Talks resumed.", "annotations": [{"label": "politics", "user": 1}]},
                                  {"id": 3, "text": "Unlabelled.", "annotations": []}])
    with pytest.raises(DataError) as err:
        read_doccano(path)
    assert err.value.problems == [
        f'{path}:1: field \'annotations\' holds labels ("PER") in Doccano 1.0\'s shape, one list of every annotator\'s, '
        'which this reader does not read: give each record a "label" field of names, or of [start, end, type] '
        'triples for spans, as later Doccano exports write',
        f'{path}:2: field \'annotations\' holds labels ("politics") in Doccano 1.0\'s shape, one list of every '
        'annotator\'s, which this reader does not read: give each record a "label" field of names, or of [start, end, '
        'type] triples for spans, as later Doccano exports write']


def test_doccano_a_span_given_twice_alike_is_one_entity(tmp_path):
    """Before: refused as "entities overlap: 0..5 PER 'Putin' and 0..5 PER 'Putin'"."""
    path = write_jsonl(tmp_path, [{"text": TEXT, "label": [[0, 5, "PER"], [10, 15, "PER"], [0, 5, "PER"]]}])
    assert entities(read_doccano(path)[0]) == [("Putin", "PER"), ("Trump", "PER")]
    with pytest.raises(DataError, match="entities overlap: 0..5 PER 'Putin' and 0..5 ORG 'Putin'"):
        read_doccano(write_jsonl(tmp_path, [{"text": TEXT, "label": [[0, 5, "PER"], [0, 5, "ORG"]]}]))


def test_doccano_offsets_count_utf16_units_as_its_editor_does(tmp_path):
    """Before: each emoji before a span moved it one character on, silently ('in me' for 'Putin')."""
    text = "\U0001F468\U0001F3FB\u200d\U0001F692 Putin met Trump in \U0001F1EB\U0001F1EE Helsinki."
    path = write_jsonl(tmp_path, [{"text": text, "label": [[8, 13, "PER"], [18, 23, "PER"], [32, 40, "LOC"]]},
                                  {"text": text, "entities": [{"start_offset": 32, "end_offset": 40, "label": "LOC"}]}])
    first, second = read_doccano(path)
    assert entities(first) == [("Putin", "PER"), ("Trump", "PER"), ("Helsinki", "LOC")]
    assert entities(second) == [("Helsinki", "LOC")]
    with pytest.raises(DataError, match=r":1: label\[0\]: offset 1 falls inside '\U0001F468' counted in UTF-16 units, "
                                        r"as Doccano counts \(an emoji is two\)"):
        read_doccano(write_jsonl(tmp_path, [{"text": text, "label": [[1, 13, "PER"]]}]))


def test_doccano_shaped_offsets_a_script_counted_in_characters_are_read_so(tmp_path):
    """A file a script wrote counts Python characters: read as UTF-16 units, its spans would miss
    their words (' Puti' for 'Putin'); read so, they fall on word edges."""
    text = "\U0001F4A9 Putin met Trump in \U0001F1EB\U0001F1EE Helsinki."
    [doc] = read_doccano(write_jsonl(tmp_path, [{"text": text, "label": [[2, 7, "PER"], [12, 17, "PER"],
                                                                         [24, 32, "LOC"]]}]))
    assert entities(doc) == [("Putin", "PER"), ("Trump", "PER"), ("Helsinki", "LOC")]


def test_doccano_offsets_a_project_counted_in_grapheme_clusters_are_read_so(tmp_path):
    """Before, an emoji with its skin tone, a flag or a letter and its combining accent before a
    span moved it on silently ('\U0001F3FD Pa' for 'Paris', ' Zo' for 'Zoe\u0308')."""
    path = write_jsonl(tmp_path, [
        {"text": "\U0001F44D\U0001F3FD Paris and Rome.", "label": [[2, 7, "LOC"], [12, 16, "LOC"]]},
        {"text": "\U0001F1EB\U0001F1F7 Macron met Scholz.", "label": [[2, 8, "PER"], [13, 19, "PER"]]},
        {"text": "Cafe\u0301 owner Zoe\u0308 met Rene\u0301 Dupont.", "label": [[11, 14, "PER"], [19, 30, "PER"]]},
        {"text": "\U0001F468\u200d\U0001F469\u200d\U0001F467 Merkel spoke.", "label": [[2, 8, "PER"]]}])
    assert [entities(doc) for doc in read_doccano(path)] == [
        [("Paris", "LOC"), ("Rome", "LOC")], [("Macron", "PER"), ("Scholz", "PER")],
        [("Zoe\u0308", "PER"), ("Rene\u0301 Dupont", "PER")], [("Merkel", "PER")]]


def test_doccano_a_span_that_cuts_a_grapheme_cluster_is_refused(tmp_path):
    """No count puts 'Ame' of 'Ame\u0301lie' on a word's edge: its end would split the accent from its letter."""
    path = write_jsonl(tmp_path, [{"text": "Ame\u0301lie Dupont", "label": [[0, 3, "PER"]]}])
    with pytest.raises(DataError, match=r":1: label\[0\]: span 0\.\.3 counted in characters cuts 'e\u0301' in two: "
                                        r"are these offsets counted otherwise\?"):
        read_doccano(path)


def test_doccano_entities_with_cats(tmp_path):
    path = write_jsonl(tmp_path, [{"text": TEXT, "cats": ["summit_diplomacy", "other"],
                                   "entities": [{"id": 7, "start_offset": 19, "end_offset": 27, "label": "LOC"}]}])
    [doc] = read_doccano(path, label_task="topic")
    assert entities(doc) == [("Helsinki", "LOC")] and doc.labels == {"topic": ["summit_diplomacy", "other"]}


def test_doccano_text_classification_label_list(tmp_path):
    path = write_jsonl(tmp_path, [{"text": "Good news", "label": ["positive"]}, {"text": "Unlabelled", "label": []}])
    first, second = read_doccano(path, label_task="sentiment")
    assert first.labels == {"sentiment": ["positive"]} and first.spans == {}
    assert second.labels == {}


def test_doccano_problems_are_all_reported_with_their_lines(tmp_path):
    path = write_jsonl(tmp_path, [
        {"text": TEXT, "label": [[0, 5, "PER"]]},
        '{"text": "broken',
        {"text": "   ", "label": []},
        {"text": TEXT, "label": [[5, 0, "PER"], [0, 5]]},
        {"text": TEXT, "entities": [{"start_offset": 0, "end_offset": 5, "label": ""}]},
        {"text": TEXT, "label": [[0, 5, "  "]]}])   # before: an entity type "  "
    with pytest.raises(DataError) as err:
        read_doccano(path)
    problems = err.value.problems
    assert problems[0].startswith(f"{path}:2: invalid JSON (Unterminated string")
    assert problems[1:] == [
        f"{path}:3: field 'text' is missing or empty",
        f"{path}:4: label[0]: reversed span 5..0 (end before start)",
        f"{path}:4: label[1]: expected [start, end, label] or {{start_offset, end_offset, label}}, got [0, 5]",
        f"{path}:5: entities[0]: label must be a non-blank string, not ''",
        f"{path}:6: label[0]: label must be a non-blank string, not '  '"]


def test_doccano_reversed_and_empty_spans_say_so_with_the_offsets_the_file_gives(tmp_path):
    """Before: "empty or reversed span 7..2" for a span written 8..3 after an emoji (UTF-16 units)."""
    text = "\U0001F4A9 " + TEXT
    path = write_jsonl(tmp_path, [{"text": TEXT, "label": [[5, 0, "PER"], [3, 3, "PER"], [-1, 5, "PER"]]},
                                  {"text": text, "label": [[8, 3, "PER"], [3, 8, "PER"]]}])
    with pytest.raises(DataError) as err:
        read_doccano(path)
    assert err.value.problems == [
        f"{path}:1: label[0]: reversed span 5..0 (end before start)",
        f"{path}:1: label[1]: empty span 3..3",
        f"{path}:1: label[2]: negative offset -1 in span -1..5",
        f"{path}:2: label[0]: reversed span 8..3 (end before start)"]


def test_doccano_span_messages_name_offsets_and_length_in_the_files_own_count(tmp_path):
    """Before: "reversed span 40..2 ... (written 40..3 ...)" and "past the end of the text (30 characters)"
    for offsets counted in UTF-16 units: the offsets and the length named came from two counts."""
    text = "\U0001F4A9 Putin met Trump in Helsinki."   # 30 characters, 31 UTF-16 units
    path = write_jsonl(tmp_path, [{"text": text, "label": [[40, 3, "PER"], [3, 40, "PER"], [0, 2, "PER"],
                                                           [3, 8, "PER"], [32, 33, "LOC"]]}])
    with pytest.raises(DataError) as err:
        read_doccano(path)
    assert err.value.problems == [
        f"{path}:1: label[0]: reversed span 40..3 (end before start)",
        f"{path}:1: label[1]: offset 40 is past the end of the text (31 UTF-16 units)",
        f"{path}:1: label[2]: span 0..2 (counted in UTF-16 units) covers only white space or characters "
        "the encoder does not read ('\U0001F4A9')",
        f"{path}:1: label[4]: offset 33 is past the end of the text (31 UTF-16 units)"]


def test_doccano_spans_that_are_no_list_are_named_with_their_value(tmp_path):
    path = write_jsonl(tmp_path, [{"text": TEXT, "label": [[0, 5, "PER"]]}, {"text": TEXT, "label": "PER"},
                                  {"text": TEXT, "entities": None}])
    with pytest.raises(DataError) as err:
        read_doccano(path)
    assert err.value.problems == [f"{path}:2: field 'label' must be a list of spans, not 'PER'",   # before: got None
                                  f"{path}:3: field 'entities' must be a list of spans, not None"]


def test_doccano_wrong_encoding(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b'{"text": "ok", "label": []}\n{"text": "caf\xe9", "label": []}\n')
    with pytest.raises(DataError) as err:
        read_doccano(path)
    [problem] = err.value.problems
    assert problem.startswith(f"{path}:2: not valid UTF-8")


def test_doccano_intent_exports_with_span_triples_under_entities_are_known_without_format(tmp_path):
    """Doccano's intent detection and slot filling export; before: read as news, and refused."""
    from training.sources import resolve_format
    path = tmp_path / "intent.jsonl"
    path.write_text(json.dumps({"text": "Find a flight from Memphis to Tacoma", "entities": [[19, 26, "City"]],
                                "cats": ["flight"]}) + "\n", encoding="utf-8")
    assert resolve_format(path) == "doccano"
    [doc] = read_doccano(path)
    assert [(doc.text[s.start:s.end], s.label) for s in doc.spans["entities"]] == [("Memphis", "City")]
    assert doc.labels == {"label": ["flight"]}


def test_label_studio_json_nested_too_deeply_is_a_problem_of_the_file(tmp_path):
    path = tmp_path / "export.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(DataError) as err:   # before: a RecursionError traceback
        read_label_studio(path)
    assert err.value.problems == [f"{path}: invalid JSON (nested too deeply)"]


def test_a_json_list_of_news_records_is_no_json_min_export(tmp_path):
    """A list of flat records without JSON_MIN's own fields is refused as before (data.text is
    missing, so the format hint follows), not read as JSON_MIN with every annotation dropped."""
    path = write_json(tmp_path, [{"text": "NATO met in Paris.", "entities": [{"start": 0, "end": 4, "label": "ORG"}],
                                  "topic": ["trade"]}])
    with pytest.raises(DataError, match="data.text is missing or empty"):
        read_label_studio(path)


def test_a_text_that_is_no_string_is_named_so_and_a_null_task_as_null(tmp_path):
    """Before, a number or an object as the text read as "missing or empty", and a null task
    as "not NoneType"."""
    path = write_json(tmp_path, [{"id": 1, "data": {"text": 5}, "annotations": []}, None,
                                 ls_task(3, {"body": TEXT}, ls_span(0, 5, "PER"))])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [f"{path}: task 0 (id 1): data.text must be a string, not int",
                                  f"{path}: task 1: a task must be a JSON object, not null",
                                  f"{path}: task 2 (id 3): data.text must be a string, not dict"]
    path = write_json(tmp_path, [min_record(1, 5, text=5), None])
    with pytest.raises(DataError) as err:
        read_label_studio(path, choice_tasks={})
    assert err.value.problems == [f"{path}: record 0 (id 1): field 'text' must be a string, not int",
                                  f"{path}: record 1: a record must be a JSON object, not null"]
    path = write_jsonl(tmp_path, [{"text": 5, "label": ["a"]}, {"text": ["a", "b"]}, "null"])
    with pytest.raises(DataError) as err:
        read_doccano(path)
    assert err.value.problems == [f"{path}:1: field 'text' must be a string, not int",   # in line order, though
                                  f"{path}:2: field 'text' must be a string, not list",  # line 3's is found on reading
                                  f"{path}:3: a record must be a JSON object, not null"]


def test_label_studio_data_that_is_no_object_is_named_so(tmp_path):
    """Before: "data.text is missing or empty", of a task whose data is the text itself."""
    path = write_json(tmp_path, [{"id": 1, "data": TEXT, "annotations": []}, {"id": 2, "data": None}])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [f"{path}: task 0 (id 1): data must be a JSON object of the task's fields, not str",
                                  f"{path}: task 1 (id 2): data must be a JSON object of the task's fields, not null"]


def test_labels_are_read_without_the_white_space_around_them(tmp_path):
    """As the classification and news readers read them: before, "PER " was a type of its own,
    scored as a miss by evaluate."""
    path = write_json(tmp_path, [ls_task(1, TEXT, ls_span(0, 5, "PER "), ls_choice("topic", " trade", "trade"))])
    [doc] = read_label_studio(path)
    assert entities(doc) == [("Putin", "PER")] and doc.labels == {"topic": ["trade"]}
    path = write_jsonl(tmp_path, [{"text": TEXT, "label": [[0, 5, " PER"]]}])
    assert entities(read_doccano(path)[0]) == [("Putin", "PER")]
    path = write_jsonl(tmp_path, [{"text": TEXT, "cats": ["trade ", "trade"]}])
    assert read_doccano(path, label_task="topic")[0].labels == {"topic": ["trade"]}


def test_label_studio_names_a_span_counted_in_utf16_units_as_the_file_writes_it(tmp_path):
    """Before: "span 2..3 covers only white space ..." for a span written 3..5 (UTF-16 units)."""
    text = "\U0001F4A9 \U0001F4A9 Putin met Trump."
    path = write_json(tmp_path, [ls_task(1, text, ls_span(3, 5, "PER", "\U0001F4A9"))])
    with pytest.raises(DataError) as err:
        read_label_studio(path)
    assert err.value.problems == [f"{path}: task 0 (id 1): result[0]: span 3..5 (counted in UTF-16 units) covers only "
                                  f"white space or characters the encoder does not read ('\U0001F4A9')"]


def test_doccano_json_export_is_a_list_of_its_records(tmp_path):
    """Doccano offers text classification as JSON too: one list of the JSONL export's records (pandas
    writes it on one line). Before: "a record must be a JSON object, not list", and where the list was
    indented, "a Label Studio export is read with --format label-studio"."""
    path = write_json(tmp_path, [{"id": 1, "text": "Good news", "label": ["positive"], "Comments": []},
                                 {"id": 2, "text": "Unlabelled", "label": [], "Comments": []}])
    first, second = read_doccano(path, label_task="sentiment")
    assert first.labels == {"sentiment": ["positive"]} and second.labels == {}
    assert (first.source, first.id) == (f"{path}: record 0 (id 1)", 1)
    path.write_text(json.dumps([{"text": TEXT, "label": [[0, 5, "PER"], [19, 27, "LOC"]]}], indent=2), encoding="utf-8")
    assert entities(read_doccano(path)[0]) == [("Putin", "PER"), ("Helsinki", "LOC")]
    path.write_text(f'[{{"id": 1, "text": "{TEXT}", "label": [[0, 5, "PER"], [0, 9, "PER"]]}}, 7, '
                    f'{{"id": 3, "text": "a", "text": "b"}}]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_doccano(path)
    assert err.value.problems == [
        f"{path}: record 1: a record must be a JSON object, not int",
        f"{path}: record 2 (id 3): 'text' is given twice in one object (JSON keeps the last alone)",
        f"{path}: record 0 (id 1): entities overlap: 0..5 PER 'Putin' and 0..9 PER 'Putin met'"]
    path.write_text('[\n  {"text": "a", "label": []}\n  {"text": "b"}\n]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_doccano(path)
    [problem] = err.value.problems
    assert problem.startswith(f"{path}:3: invalid JSON (Expecting ',' delimiter")
