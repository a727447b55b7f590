import json

import pytest

from training.corpus import DataError
from training.readers import read_classification, read_pairs_joined


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(tmp_path, records, name="data.jsonl"):
    return write(tmp_path, name, "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")


def test_csv_single_label_with_quoted_multiline_text(tmp_path):
    path = write(tmp_path, "news.csv", 'text,label\n"Markets fell.\nOil rose.",business\nA goal at last,sport\n')
    first, second = read_classification(path, task="topic")
    assert (first.text, first.labels) == ("Markets fell.\nOil rose.", {"topic": ["business"]})
    assert (first.source, second.source) == (f"{path}:2", f"{path}:4")   # the line each record starts on
    assert second.text_pair is None


def test_tsv_and_other_field_names(tmp_path):
    path = write(tmp_path, "news.tsv", "id\tbody\ttopic\n1\tRates, again, unchanged\teconomy\n")
    [doc] = read_classification(path, text_field="body", label_field="topic", task="topic")
    assert (doc.text, doc.labels["topic"]) == ("Rates, again, unchanged", ["economy"])


def test_jsonl_multi_label_list_and_empty_list(tmp_path):
    path = jsonl(tmp_path, [{"text": "Grain and oil", "labels": ["grain", "crude", "grain"]},
                            {"text": "No topic", "labels": []}])
    first, second = read_classification(path, label_field="labels", task="topic", multi=True)
    assert first.labels == {"topic": ["grain", "crude"]} and second.labels == {"topic": []}


def test_csv_multi_label_split_on_delimiter(tmp_path):
    path = write(tmp_path, "topics.csv", "text,topics\nSummit on arms,arms_control; summit_diplomacy\n")
    [doc] = read_classification(path, label_field="topics", task="topic", multi=True, delimiter=";")
    assert doc.labels == {"topic": ["arms_control", "summit_diplomacy"]}


def test_a_json_list_of_records_is_read_as_pandas_writes_it(tmp_path):
    """Before: "a record must be a JSON object, not list" (all on one line, as pandas' to_json(orient="records")
    writes it), or, indented, "one JSON document over many lines ... read with --format label-studio"."""
    records = [{"text": "Wheat exports rose", "label": "trade"}, {"text": "Talks in Vienna", "label": "arms", "id": 9},
               {"text": "", "label": "trade"}, ["a list"]]
    for name, text in (("one_line.json", json.dumps(records)), ("indented.json", json.dumps(records, indent=2))):
        path = write(tmp_path, name, text)
        with pytest.raises(DataError) as err:
            read_classification(path)
        assert err.value.problems == [f"{path}: record 2: empty text in field 'text'",
                                      f"{path}: record 3: a record must be a JSON object, not list"]
        first, second = read_classification(write(tmp_path, name, json.dumps(records[:2])))
        assert (first.text, first.labels, first.source) == ("Wheat exports rose", {"label": ["trade"]}, f"{path}: record 0")
        assert (second.source, second.id) == (f"{path}: record 1 (id 9)", 9)


def test_text_pairs_from_json_lines_with_numeric_labels(tmp_path):
    path = jsonl(tmp_path, [{"premise": "Rain fell.", "hypothesis": "It was wet.", "label": 0}], name="pairs.json")
    [doc] = read_classification(path, text_field="premise", pair_field="hypothesis", task="nli")
    assert (doc.text, doc.text_pair, doc.labels) == ("Rain fell.", "It was wet.", {"nli": ["0"]})


def test_unlabelled_file_for_prediction(tmp_path):
    [doc] = read_classification(jsonl(tmp_path, [{"text": "Just text"}]), label_field=None)
    assert doc.labels == {}


def test_fnc1_join_puts_the_body_beside_each_headline(tmp_path):
    bodies = write(tmp_path, "bodies.csv", 'Body ID,articleBody\n0,"A meteorite fell.\n\nNobody was hurt."\n7,Cats can swim.\n')
    stances = write(tmp_path, "stances.csv", "Headline,Body ID,Stance\nMeteorite hits Nicaragua,0,agree\n"
                                             "Cat swims,7,discuss\nMeteorite was a hoax,0,disagree\n")
    docs = read_pairs_joined(stances, bodies)
    assert [(d.text, d.text_pair, d.labels["stance"]) for d in docs] == [
        ("Meteorite hits Nicaragua", "A meteorite fell.\n\nNobody was hurt.", ["agree"]),
        ("Cat swims", "Cats can swim.", ["discuss"]),
        ("Meteorite was a hoax", "A meteorite fell.\n\nNobody was hurt.", ["disagree"])]
    assert docs[2].source == f"{stances}:4"


@pytest.mark.parametrize("bodies_csv, stances_csv, problems", [
    ("Body ID,articleBody\n0,Some body.\n", "Headline,Body ID,Stance\nA,0,agree\nB,99,agree\nC,0,agree\nD,5,discuss\n",
     ["{stances}:3: missing pair id: Body ID '99' is not in {bodies}",
      "{stances}:5: missing pair id: Body ID '5' is not in {bodies}"]),
    ("Body ID,articleBody\n0,Body.\n0,Again.\n1,\n", "Headline,Body ID,Stance\n,0,agree\n",
     ["{bodies}:3: duplicate Body ID '0' (first at {bodies}:2)", "{bodies}:4: empty text in field 'articleBody'",
      "{stances}:2: empty text in field 'Headline'"]),
    ("Body ID,articleBody\n0,Body.\n1,\n", "Headline,Body ID,Stance\nA,1,agree\nB,0,agree\nC,1,discuss\n",
     ["{bodies}:3: empty text in field 'articleBody'"]),   # before: and "'1' is not in"
], ids=["missing pair ids, each at its line", "both files' problems together", "a body with a problem, not as missing"])
def test_the_problems_of_fnc1_pairs_are_all_reported_with_their_lines(tmp_path, bodies_csv, stances_csv, problems):
    bodies, stances = write(tmp_path, "bodies.csv", bodies_csv), write(tmp_path, "stances.csv", stances_csv)
    with pytest.raises(DataError) as err:
        read_pairs_joined(stances, bodies)
    assert err.value.problems == [p.format(bodies=bodies, stances=stances) for p in problems]


def test_empty_texts_and_labels_are_all_reported(tmp_path):
    path = write(tmp_path, "news.csv", "text,label\nGood,sport\n   ,sport\nNo label,\n\"\",\n")
    with pytest.raises(DataError) as err:
        read_classification(path)
    assert err.value.problems == [f"{path}:3: empty text in field 'text'",
                                  f"{path}:4: empty label in field 'label'",
                                  f"{path}:5: empty text in field 'text'",
                                  f"{path}:5: empty label in field 'label'"]


@pytest.mark.parametrize("text, options, problem", [
    ("headline,topic\nA,b\n", {"text_field": "headline"}, "1: missing column 'label' (columns present: 'headline', 'topic')"),
    ("text,label,label\nTariffs rise,trade,sanctions\n", {}, "1: column 'label' appears more than once"),
    ("\ntext,topic\nTariffs rise,trade\n", {}, "2: missing column 'label' (columns present: 'text', 'topic')"),
], ids=["a missing column, named with the columns present", "a column named twice", "after a blank line"])
def test_a_header_problem_is_named_at_the_header_line(tmp_path, text, options, problem):
    path = write(tmp_path, "news.csv", text)
    with pytest.raises(DataError) as err:
        read_classification(path, **options)
    assert err.value.problems == [f"{path}:{problem}"]


def test_blank_lines_before_the_header_are_skipped_and_lines_still_count(tmp_path):
    path = write(tmp_path, "news.csv", "\n  \ntext,label\nTariffs rise,trade\n")
    [doc] = read_classification(path)   # before: "no header row"
    assert (doc.text, doc.labels, doc.source) == ("Tariffs rise", {"label": ["trade"]}, f"{path}:4")


@pytest.mark.parametrize("name, separator", [("news.csv", ","), ("news.tsv", "\t")])
def test_lines_of_white_space_alone_among_the_rows_are_skipped_as_blank_lines_are(tmp_path, name, separator):
    path = write(tmp_path, name, f"text{separator}label\nTariffs rise{separator}trade\n  \n\nTalks end{separator}other\n \n")
    docs = read_classification(path)   # before: "news.csv:3: 1 fields, the header has 2 (a line cut short, ...?)"
    assert [(doc.text, doc.source) for doc in docs] == [("Tariffs rise", f"{path}:2"), ("Talks end", f"{path}:5")]
    one = write(tmp_path, "one" + name[-4:], "text\nTariffs rise\n  \nTalks end\n")   # texts to predict on: one column
    assert [doc.text for doc in read_classification(one, label_field=None)] == ["Tariffs rise", "Talks end"]
    three = write(tmp_path, "three" + name[-4:], f"text{separator}label{separator}id\nTariffs rise{separator}trade{separator}1\n"
                  f"{separator}\n")   # separators: a line cut short, not a blank one
    with pytest.raises(DataError, match=rf"{name[-4:]}:3: 2 fields, the header has 3"):
        read_classification(three)


def test_a_header_whose_quote_never_closes_is_a_problem_of_its_line(tmp_path):
    path = write(tmp_path, "news.csv", '\n"text,label\nTariffs rise,trade\n')
    with pytest.raises(DataError) as err:   # before: the csv module's own error, naming no file
        read_classification(path)
    assert err.value.problems[0].startswith(f"{path}:2: unreadable CSV (unexpected end of data) (lines 2-3: ")


def test_joined_text_fields_must_hold_text(tmp_path):
    path = jsonl(tmp_path, [{"title": ["Tariffs", "rise"], "text": "Body", "label": "trade"},
                            {"title": None, "text": 12, "label": "trade"}, {"title": "Ok", "text": None, "label": "a"}])
    with pytest.raises(DataError) as err:
        read_classification(path, text_field="title+text")
    assert err.value.problems == [f"{path}:1: field 'title' must be a string, not list",
                                  f"{path}:2: field 'text' must be a string, not int"]


def test_missing_field_in_json_lines_names_the_fields_present(tmp_path):
    path = jsonl(tmp_path, [{"text": "ok", "label": "a"}, {"body": "x", "label": "a"}])
    with pytest.raises(DataError) as err:
        read_classification(path)
    assert err.value.problems == [f"{path}:2: missing field 'text' (fields present: body, label)"]


def test_ragged_csv_rows_are_reported_at_their_line(tmp_path):
    path = write(tmp_path, "news.csv", "text,label\nFine,a\nCommas, unquoted,a\n")
    with pytest.raises(DataError, match=r"news.csv:3: 3 fields, the header has 2"):
        read_classification(path)


def test_a_row_short_of_fields_is_not_blamed_on_an_unquoted_separator(tmp_path):
    path = write(tmp_path, "news.csv", "text,label\nCommas, unquoted,a\nTariffs rise\nThe end,b")
    with pytest.raises(DataError) as err:
        read_classification(path)
    assert err.value.problems == [f"{path}:2: 3 fields, the header has 2 (an unquoted ',' in a field?)",
                                  f"{path}:3: 1 fields, the header has 2 (a line cut short, or a line break in an "
                                  "unquoted field?)"]   # before: "(an unquoted ',' in a field?)" here too


def test_wrong_encoding_names_the_line(tmp_path):
    path = tmp_path / "news.csv"
    path.write_bytes("text,label\nFine,a\nCaf\u00e9 au lait,b\n".encode("cp1252"))
    with pytest.raises(DataError) as err:
        read_classification(path)
    [problem] = err.value.problems
    assert problem.startswith(f"{path}:3: not valid UTF-8")


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("text,label\nHello,a\n".encode("utf-8-sig"))
    assert read_classification(path)[0].text == "Hello"


def test_broken_json_lines_are_all_reported(tmp_path):
    path = jsonl(tmp_path, ['{"text": "ok", "label": "a"}', '{"text": "cut', '["a list"]',
                            '{"text": "two", "label": ["a", "b"]}'])
    with pytest.raises(DataError) as err:
        read_classification(path)
    assert err.value.problems[0].startswith(f"{path}:2: invalid JSON (Unterminated string")
    assert err.value.problems[1:] == [
        f"{path}:3: a record must be a JSON object, not list",
        f"{path}:4: field 'label' holds a list ['a', 'b']; pass multi=True for a multi-label task"]


def test_unknown_extension_needs_fmt(tmp_path):
    path = write(tmp_path, "news.txt", "text\tlabel\nHello\ta\n")
    with pytest.raises(ValueError, match=r"rename it, or give the reader option fmt in a --config file"):
        read_classification(path)   # before: "pass fmt=", which no command-line flag is
    assert read_classification(path, fmt="tsv")[0].labels == {"label": ["a"]}
    with pytest.raises(ValueError, match="fmt 'xlsx' is none of csv, tsv, jsonl"):
        read_classification(path, fmt="xlsx")


@pytest.mark.parametrize("odd", ["bodies", "stances"])
def test_a_pairs_file_of_unknown_extension_is_not_told_to_give_the_fmt_it_does_not_take(tmp_path, odd):
    bodies = write(tmp_path, "bodies.txt" if odd == "bodies" else "bodies.csv", "Body ID,articleBody\n1,A body.\n")
    stances = write(tmp_path, "stances.txt" if odd == "stances" else "stances.csv",
                    "Headline,Body ID,Stance\nA headline,1,agree\n")
    with pytest.raises(ValueError) as err:   # before: "give the reader option fmt", which the pairs reader refuses
        read_pairs_joined(stances, bodies)
    assert str(err.value) == (f"{tmp_path / (odd + '.txt')}: cannot tell csv, tsv or jsonl from the extension '.txt'; "
                              "rename it to end in .csv, .tsv or .jsonl (the pairs reader takes no option fmt)")


def test_a_stray_quote_is_a_problem_of_its_lines_not_a_silent_merge(tmp_path):
    """Before: the quote swallowed two rows into one text labelled 'business', and '"Quoted"
    headline' lost its quotes; neither was said."""
    path = write(tmp_path, "q.tsv", 'text\tlabel\n"Unbalanced quote headline\tsport\nplain text\tpolitics\n'
                                    'more "text\tbusiness\nok\tfine\n"Quoted" headline\tsport\nlast\tone\n')
    with pytest.raises(DataError) as err:
        read_classification(path)
    hint = "; a cell that starts with a quote is quoted whole, its own quotes doubled, or give --quotes-as-text"
    assert err.value.problems == [
        f"{path}:2: unreadable CSV ('\\t' expected after '\"') (lines 2-4: a quote opens a field there){hint}",
        f"{path}:6: unreadable CSV ('\\t' expected after '\"'){hint}"]
    docs = read_classification(path, quotes_as_text=True)   # the file's quotes are text: read as written
    assert [d.text for d in docs] == ['"Unbalanced quote headline', "plain text", 'more "text', "ok",
                                      '"Quoted" headline', "last"]


def test_a_stray_quote_in_a_pairs_file_is_not_fixed_with_an_option_the_pairs_reader_lacks(tmp_path):
    """Before: the problem advised --quotes-as-text, which `--format pairs` then refused ("no reader
    of the files given takes it")."""
    bodies = write(tmp_path, "bodies.csv", "Body ID,articleBody\n1,A body.\n")
    stances = write(tmp_path, "stances.csv", 'Headline,Body ID,Stance\n"Quoted" headline,1,agree\n')
    with pytest.raises(DataError) as err:
        read_pairs_joined(stances, bodies)
    assert err.value.problems == [f"{stances}:2: unreadable CSV (',' expected after '\"'); a cell that starts with "
                                  "a quote is quoted whole, its own quotes doubled"]


def test_a_field_longer_than_the_csv_modules_limit_is_read(tmp_path):
    article = "Talks resumed in Geneva. " * 8000   # 200,000 characters: over csv's default 131,072
    path = write(tmp_path, "long.csv", f"text,label\n{article},a\nshort,b\n")
    assert [d.text for d in read_classification(path)] == [article, "short"]


def test_reader_options_that_cannot_work_are_refused(tmp_path):
    path = write(tmp_path, "m.csv", "text,label\nOil,earn;acq\n")
    with pytest.raises(ValueError, match="delimiter ';' cuts the labels of a multi-label task: add --multi"):
        read_classification(path, delimiter=";")   # before: one label 'earn;acq'
    with pytest.raises(ValueError, match=r"text_field 'text\+': a field name is empty"):
        read_classification(path, text_field="text+")   # before: KeyError ''


def test_skip_empty_leaves_out_records_without_text(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"title": "", "text": "", "labels": ["ship"]}\n{"title": "Oil", "text": "up", "labels": ["crude"]}\n',
                    encoding="utf-8")
    with pytest.raises(DataError, match="empty text"):
        read_classification(path, text_field="title+text", label_field="labels", multi=True)
    [doc] = read_classification(path, text_field="title+text", label_field="labels", multi=True, skip_empty=True)
    assert doc.text == "Oil\nup" and doc.labels["label"] == ["crude"]


def test_skip_empty_leaves_out_no_record_whose_text_is_of_the_wrong_type(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"title": null, "text": " ", "labels": ["ship"]}\n{"title": null, "text": [], "labels": ["ship"]}\n'
                    '{"title": "Oil", "text": "up", "labels": ["crude"]}\n', encoding="utf-8")
    with pytest.raises(DataError) as err:   # before: the second record left out with the first, unsaid
        read_classification(path, text_field="title+text", label_field="labels", multi=True, skip_empty=True)
    assert err.value.problems == [f"{path}:2: field 'text' must be a string, not list"]


def test_a_pair_id_that_is_empty_or_null_is_refused_not_joined_to_another(tmp_path):
    bodies = write(tmp_path, "bodies.csv", "Body ID,articleBody\n,A body without an id.\n0,Body.\n")
    stances = write(tmp_path, "stances.csv", "Headline,Body ID,Stance\nA,,agree\nB,0,agree\n")
    with pytest.raises(DataError) as err:
        read_pairs_joined(stances, bodies)
    says = "field 'Body ID' names no id: an id is a non-blank string or a whole number, not"
    assert err.value.problems == [f"{bodies}:2: {says} ''", f"{stances}:2: {says} ''"]
    bodies = jsonl(tmp_path, [{"Body ID": None, "articleBody": "Body."}], "bodies.jsonl")
    stances = jsonl(tmp_path, [{"Headline": "A", "Body ID": None, "Stance": "agree"}], "stances.jsonl")
    with pytest.raises(DataError) as err:
        read_pairs_joined(stances, bodies)
    assert err.value.problems == [f"{bodies}:1: {says} None", f"{stances}:1: {says} None"]


def test_a_null_text_or_pair_is_named_null(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"text": null, "body": "Oil up", "label": "crude"}\n'
                    '{"text": "Oil", "body": null, "label": "crude"}\n', encoding="utf-8")
    with pytest.raises(DataError) as err:   # before: "not NoneType"
        read_classification(path, pair_field="body")
    assert err.value.problems == [f"{path}:1: field 'text' must be a string, not null",
                                  f"{path}:2: field 'body' must be a string, not null"]


def test_a_blank_label_in_a_list_is_refused_not_dropped(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"text": "Oil up", "labels": ["crude", "  "]}\n', encoding="utf-8")
    with pytest.raises(DataError) as err:   # before: read as ["crude"]
        read_classification(path, label_field="labels", multi=True)
    assert err.value.problems == [f"{path}:1: field 'labels': a blank label in ['crude', '  ']"]
