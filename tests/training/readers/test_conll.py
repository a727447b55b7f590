import pytest

from training.corpus import DataError
from training.readers import read_conll
from training.sources import Source, infer_schema


def write(tmp_path, text, name="data.conll"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def entities(doc, task="entities"):
    return [(doc.text[s.start:s.end], s.label) for s in doc.spans[task]]


def line_numbers(problems):
    return [int(p.split(": ")[0].rsplit(":", 1)[1]) for p in problems]


# CoNLL-2003 as distributed: 4 space-separated columns, IOB1, -DOCSTART- lines.
IOB1_FILE = """\
-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
and CC O O
John NNP B-NP I-PER
Smith NNP I-NP I-PER
B B-NP B-NP B-PER

-DOCSTART- -X- -X- O

New NNP B-NP I-LOC
York NNP I-NP I-LOC
Stock NNP I-NP I-ORG
Exchange NNP I-NP I-ORG
"""


def test_iob1_with_docstart_gives_one_document_per_docstart(tmp_path):
    path = write(tmp_path, IOB1_FILE)
    first, second = read_conll(path)
    assert first.text == "EU rejects German call .\nPeter Blackburn and John Smith B"
    assert entities(first) == [("EU", "ORG"), ("German", "MISC"), ("Peter Blackburn", "PER"),
                               ("John Smith", "PER"), ("B", "PER")]   # B- splits two PER entities
    assert first.source == f"{path}:1" and second.source == f"{path}:16"
    assert second.text == "New York Stock Exchange"
    assert entities(second) == [("New York", "LOC"), ("Stock Exchange", "ORG")]   # type change splits
    assert [second.text[a:b] for a, b in second.tokens] == ["New", "York", "Stock", "Exchange"]
    assert infer_schema([(Source(str(path)), [first, second])])[0]["entities"]["labels"] == ["LOC", "MISC", "ORG", "PER"]


def test_offsets_cover_exactly_the_entity_tokens(tmp_path):
    [doc, _] = read_conll(write(tmp_path, IOB1_FILE))
    assert len(doc.tokens) == 11
    words = [doc.text[a:b] for a, b in doc.tokens]
    assert words == "EU rejects German call . Peter Blackburn and John Smith B".split()
    peter = doc.spans["entities"][2]
    assert (peter.start, peter.end) == (doc.text.index("Peter"), doc.text.index("Blackburn") + len("Blackburn"))
    for span in doc.spans["entities"]:   # every span starts and ends on token boundaries
        assert span.start in {a for a, _ in doc.tokens} and span.end in {b for _, b in doc.tokens}


def test_bioes_and_bilou_tags_become_spans(tmp_path):
    text = ("Angela\tB-PER\nMerkel\tE-PER\nvisited\tO\nParis\tS-LOC\nand\tO\n"
            "the\tO\nUnited\tB-ORG\nNations\tI-ORG\nOffice\tL-ORG\nin\tO\nBonn\tU-LOC\n")
    [doc] = read_conll(write(tmp_path, text))
    assert entities(doc) == [("Angela Merkel", "PER"), ("Paris", "LOC"), ("United Nations Office", "ORG"),
                             ("Bonn", "LOC")]
    assert doc.spans["entities"][0].start == 0 and doc.spans["entities"][0].end == len("Angela Merkel")


def test_file_without_docstart_gives_one_document_per_sentence(tmp_path):
    path = write(tmp_path, "Obama B-PER\nspoke O\n\n\nIn O\nBerlin B-LOC\n. O\n")
    first, second = read_conll(path)
    assert (first.text, second.text) == ("Obama spoke", "In Berlin .")
    assert entities(second) == [("Berlin", "LOC")]
    assert (first.source, second.source) == (f"{path}:1", f"{path}:5")


def test_tab_separated_tokens_may_hold_spaces_and_iob2_is_detected(tmp_path):
    text = "The\tO\nNew York\tB-LOC\nTimes\tB-ORG\nreported\tO\n"
    [doc] = read_conll(write(tmp_path, text), task="ner")
    assert entities(doc, "ner") == [("New York", "LOC"), ("Times", "ORG")]   # B- after B- of another type


def test_strict_iob2_accepts_well_formed_tags(tmp_path):
    [doc] = read_conll(write(tmp_path, "Kim B-PER\nJong I-PER\nUn I-PER\n"), scheme="IOB2", strict=True)
    assert entities(doc) == [("Kim Jong Un", "PER")]


def test_explicit_scheme_must_be_known():
    with pytest.raises(ValueError, match="^whatever.conll: unknown tag scheme 'IOE2'"):   # the file it was given for
        read_conll("whatever.conll", scheme="IOE2")


def test_space_separated_docstart_lines_in_a_tab_file_start_documents(tmp_path):
    """Before: a first -DOCSTART- line with spaces made the file space-separated ("lines have 1
    columns"), and one further down was a ragged line."""
    text = "-DOCSTART- -X- -X- O\n\nEU\tNNP\tB-NP\tB-ORG\nNew York\tNNP\tI-NP\tB-LOC\n\n" \
           "-DOCSTART- -X- -X- O\n\nKim\tNNP\tB-NP\tB-PER\n"
    first, second = read_conll(write(tmp_path, text))
    assert entities(first) == [("EU", "ORG"), ("New York", "LOC")] and entities(second) == [("Kim", "PER")]


def test_ragged_columns_are_all_reported(tmp_path):
    text = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman B-MISC\ncall NN I-NP O\n\nfine NN B-NP O\nbad O\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_conll(path)
    assert err.value.problems == [
        f"{path}:3: ragged columns: 2 here, 4 in the rest of the file (space-separated)",
        f"{path}:7: ragged columns: 2 here, 4 in the rest of the file (space-separated)"]


def test_a_space_separated_line_in_a_tab_file_is_ragged(tmp_path):
    path = write(tmp_path, "EU\tB-ORG\nrejects O\n")
    with pytest.raises(DataError) as err:
        read_conll(path)
    assert err.value.problems == [f"{path}:2: ragged columns: 1 here, 2 in the rest of the file (tab-separated)"]


def test_unknown_tag_prefixes_and_foreign_scheme_tags_are_all_reported(tmp_path):
    path = write(tmp_path, "EU X-ORG\nsays O\nGerman MISC\nis O\nParis S-LOC\n")
    with pytest.raises(DataError) as err:
        read_conll(path, scheme="IOB2")
    assert line_numbers(err.value.problems) == [1, 3, 5]
    assert err.value.problems[0] == (f"{path}:1: unknown tag 'X-ORG': expected O, or B-, I-, E-, S-, L- "
                                     f"or U- followed by the entity type")
    assert "'MISC'" in err.value.problems[1]
    assert err.value.problems[2] == f"{path}:5: tag 'S-LOC' does not belong to the IOB2 scheme"


def test_a_file_tagged_io_names_each_unknown_tag_once_with_its_count(tmp_path):
    """Before: "unknown tag 'PER'" once per token, a file's worth of lines for one cause."""
    path = write(tmp_path, "John PER\nSmith PER\nvisited O\nParis LOC\n\nMary PER\nwent O\n")
    with pytest.raises(DataError) as err:
        read_conll(path)
    hint = "; a type without a prefix (IO tagging?) does not say where one entity ends and the next begins: tag them "
    assert err.value.problems == [
        f"{path}:1: unknown tag 'PER' (on 3 tokens, the first here): expected O, or B-, I-, E-, S-, L- or U- followed "
        f"by the entity type{hint}I-PER to read them as IOB1",
        f"{path}:4: unknown tag 'LOC': expected O, or B-, I-, E-, S-, L- or U- followed by the entity type{hint}I-LOC "
        "to read them as IOB1"]


def test_an_unknown_tag_is_said_at_its_own_place_among_the_problems(tmp_path):
    """Before (once a file): the tag's problem came after every other problem of the file, under
    the 20 a message shows; a zero for the letter O was told to tag it I-0."""
    path = write(tmp_path, "Geneva\tPER\ntalks\t0\n" + " \tO\n" * 25)   # 25 empty tokens after them
    with pytest.raises(DataError) as err:
        read_conll(path)
    assert err.value.problems[0].startswith(f"{path}:1: unknown tag 'PER'")
    assert err.value.problems[1] == (f"{path}:2: unknown tag '0': expected O, or B-, I-, E-, S-, L- or U- followed by "
                                     "the entity type; the outside tag is the letter O")
    assert "unknown tag 'PER'" in str(err.value)


def test_a_scheme_problem_is_said_in_line_order_with_the_lines_problems(tmp_path):
    """Before: a tag outside the scheme (found when the sentences are decoded) came after every
    problem of the lines, under the 20 a message shows."""
    path = write(tmp_path, "Geneva\tS-LOC\ntalks\tO\n" + " \tO\n" * 25)
    with pytest.raises(DataError) as err:
        read_conll(path, scheme="IOB2")
    assert err.value.problems[0].startswith(f"{path}:1: tag 'S-LOC' does not belong to the IOB2 scheme")
    assert err.value.problems[1] == f"{path}:3: empty token"


def test_strict_iob2_reports_every_i_that_starts_an_entity(tmp_path):
    path = write(tmp_path, "The O\nUnited I-ORG\nNations I-ORG\n\nParis I-LOC\nand O\nLondon B-LOC\nBank I-ORG\n")
    with pytest.raises(DataError) as err:
        read_conll(path, scheme="IOB2", strict=True)
    assert err.value.problems == [
        f"{path}:2: I-ORG after O: an entity starts with B- in strict IOB2",
        f"{path}:5: I-LOC at the start of a sentence: an entity starts with B- in strict IOB2",
        f"{path}:8: I-ORG after B-LOC: an entity starts with B- in strict IOB2"]
    # Without strict the same file reads as IOB1 would: each such I- starts an entity.
    docs = read_conll(path)
    assert [entities(d) for d in docs] == [[("United Nations", "ORG")],
                                           [("Paris", "LOC"), ("London", "LOC"), ("Bank", "ORG")]]


def test_strict_auto_detection_treats_i_after_o_as_an_iob2_error(tmp_path):
    path = write(tmp_path, "The O\nUnited I-ORG\n")
    with pytest.raises(DataError, match=r":2: I-ORG after O"):
        read_conll(path, strict=True)


def test_strict_bioes_reports_entities_left_open(tmp_path):
    path = write(tmp_path, "Angela B-PER\nsaid O\nParis E-LOC\n")
    with pytest.raises(DataError) as err:
        read_conll(path, strict=True)
    assert err.value.problems == [f"{path}:1: B-PER ends the entity: BIOES ends it with E-PER",
                                  f"{path}:3: E-LOC after O: an entity starts with B- or S- in strict BIOES"]


def test_all_kinds_of_error_in_one_file_come_in_one_error(tmp_path):
    path = write(tmp_path, "EU B-ORG\nrejects\tO\nGerman Q-MISC\n")
    with pytest.raises(DataError) as err:
        read_conll(path)
    assert line_numbers(err.value.problems) == [2, 3]
    assert str(err.value) == "2 problems:\n" + "\n".join(err.value.problems)
    with pytest.raises(DataError, match=r"^[^\n]*no sentences$"):   # one problem alone, under no count
        read_conll(write(tmp_path, "\n\n"))
    bad = write(tmp_path, "".join(f"word{i} Q-X{i}\n" for i in range(30)))   # another format: every line wrong
    with pytest.raises(DataError) as err:
        read_conll(bad)
    err = DataError(err.value.problems + ["dev.conll: no such file"])   # the other files' problems stay in sight
    lines = str(err).splitlines()
    assert len(err.problems) == 31 and lines[0] == "31 problems:" and len(lines) == 23
    assert lines[-2:] == ["dev.conll: no such file", f"... and 10 more in {bad} (is its format the one given or guessed?)"]


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.conll"
    path.write_bytes("Paris B-LOC\n\nZ\u00fcrich B-LOC\n".encode("latin-1"))
    with pytest.raises(DataError) as err:
        read_conll(path)
    [problem] = err.value.problems
    assert problem.startswith(f"{path}:3: not valid UTF-8")


@pytest.mark.parametrize("columns", [3, 5])   # CoNLL-2002 (token pos tag); German CoNLL-2003 (token lemma pos chunk tag)
def test_any_column_count_reads_the_token_first_and_the_tag_last(tmp_path, columns):
    middle = " X" * (columns - 2)
    [doc] = read_conll(write(tmp_path, f"European{middle} B-ORG\nUnion{middle} I-ORG\nsays{middle} O\n"))
    assert doc.text == "European Union says"
    assert [(doc.text[s.start:s.end], s.label) for s in doc.spans["entities"]] == [("European Union", "ORG")]


@pytest.mark.parametrize("text,reason", [
    ("0\tHer\tO\n1\tTuvalu\tB-LOC\n\n0\tEU\tB-ORG\n", "the first column is a number on every line"),   # WikiNEuRal
    ("EU B-ORG B-ORG\nin O O\nGerman B-MISC B-PER\n", "the last two columns both hold NER tags"),   # gold, predicted
    ("EU NNP B-NP B-ORG B-ORG\nsays VBZ B-VP O O\n", "the last two columns both hold NER tags"),   # conlleval's input
])
def test_a_file_whose_token_is_not_first_or_gold_tag_not_last_is_refused(tmp_path, text, reason):
    """Read as token first, tag last, these trained on token numbers or on predicted tags."""
    with pytest.raises(DataError, match=reason):
        read_conll(write(tmp_path, text))


def test_a_one_column_file_is_refused(tmp_path):
    path = write(tmp_path, "EU\nsays\n")
    with pytest.raises(DataError, match="lines have 1 column; a CoNLL line has the token first and the NER tag last"):
        read_conll(path)


@pytest.mark.parametrize("text, separator", [("EU\tB-ORG\nrejects O\nGerman B-MISC\ncall O\n", "space"),
                                             ("EU B-ORG\nrejects\tO\nGerman\tB-MISC\ncall\tO\n", "tab")])
def test_the_separator_most_lines_use_is_the_files_and_an_odd_first_line_is_the_one_reported(tmp_path, text,
                                                                                              separator):
    """Before: the first line chose the separator, and the file was said to have lines of 1 column."""
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_conll(path)
    assert err.value.problems == [f"{path}:1: ragged columns: 1 here, 2 in the rest of the file ({separator}-separated)"]


def test_tabs_ending_lines_do_not_make_a_file_tab_separated(tmp_path):
    [sentence] = read_conll(write(tmp_path, "EU B-ORG\nrejects O\t\nGerman B-MISC\t\ncall O\t\n"))
    assert [(sentence.text[s.start:s.end], s.label) for s in sentence.spans["entities"]] == [("EU", "ORG"),
                                                                                            ("German", "MISC")]


def test_an_entity_the_encoder_cannot_read_is_refused_with_its_line(tmp_path):
    # as the other readers refuse a span of only a zero-width space or an emoji: it would vanish
    path = write(tmp_path, "EU B-ORG\n\u200b B-PER\n😀 I-PER\nsaid O\n\nhi O\n\U0001F600 B-MISC\n")
    with pytest.raises(DataError) as err:
        read_conll(path)
    assert err.value.problems == [
        f"{path}:2: entity PER '\\u200b 😀' has only white space or characters the encoder does not read",
        f"{path}:7: entity MISC '😀' has only white space or characters the encoder does not read"]


@pytest.mark.parametrize("text", [
    "# sent_id = 1\n# text = EU rejects #EU\nEU B-ORG\nrejects O\n#EU B-ORG\n# O\n\n# sent_id = 2\nParis B-LOC\n",
    "# sent_id = 1\n# text = EU rejects #EU\nEU\tB-ORG\nrejects\tO\n#EU\tB-ORG\n#\tO\n\n# sent_id = 2\nParis\tB-LOC\n",
    "# id a1 domain=en\n# text = EU rejects #EU\nEU _ _ B-ORG\nrejects _ _ O\n#EU _ _ B-ORG\n# _ _ O\n\n# id a2 domain=en\nParis _ _ B-LOC\n"])
def test_comment_lines_are_skipped_and_a_hash_token_is_read(tmp_path, text):
    first, second = read_conll(write(tmp_path, text))   # before: each comment was "ragged columns"
    assert (first.text, entities(first)) == ("EU rejects #EU #", [("EU", "ORG"), ("#EU", "ORG")])
    assert (second.text, entities(second), second.source) == ("Paris", [("Paris", "LOC")], f"{tmp_path}/data.conll:9")


def test_a_byte_order_mark_inside_a_joined_file_does_not_hide_a_docstart(tmp_path):
    path = tmp_path / "joined.conll"
    path.write_bytes(b"\xef\xbb\xbf" + IOB1_FILE.encode() + b"\n\xef\xbb\xbf" + IOB1_FILE.encode())   # cat a b
    docs = read_conll(path)
    assert len(docs) == 4 and docs[2].text == docs[0].text   # before: 3, a token '\ufeff-DOCSTART-' in the second
    path.write_bytes(IOB1_FILE.encode() + b"\xef\xbb\xbf\n" + IOB1_FILE.encode())   # cat a empty b: an empty file's mark
    assert len(read_conll(path)) == 4   # before: "ragged columns: 1 here", of a character no editor shows


def test_an_entity_type_is_read_without_the_white_space_around_it_and_a_blank_one_is_refused(tmp_path):
    # a tab-separated tag cell "B- PER": before, the type ' PER', another class than 'PER'
    [doc] = read_conll(write(tmp_path, "Peter\tB- PER\nBlackburn\tI-PER \nsaid\tO\n"))
    assert entities(doc) == [("Peter Blackburn", "PER")]
    path = write(tmp_path, "Peter\tB- \nsaid\tO\nhere\tO\n")
    with pytest.raises(DataError) as err:
        read_conll(path)
    assert err.value.problems == [f"{path}:1: unknown tag 'B-': expected O, or B-, I-, E-, S-, L- or U- followed by "
                                  "the entity type"]
