"""What every reader shares (training/readers/_files.py)."""
import bz2
import gzip
import io
import json
import zipfile

import pytest

from training.config import TrainConfig
from training.corpus import DataError
from training.data import read_data

LINE = json.dumps({"text": "Putin met Trump in Helsinki.", "stance": "neutral"}).encode() + b"\n"


def zipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("train.jsonl", data * 50)
    return buffer.getvalue()


@pytest.mark.parametrize("tool, compress", [("gzip", gzip.compress), ("bzip2", bz2.compress), ("zip", zipped)])
def test_a_compressed_file_is_named_as_such_not_as_bad_utf8(tmp_path, tool, compress):
    path = tmp_path / "train.jsonl.packed"
    path.write_bytes(compress(LINE))
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=str(path)))
    # before: "train.jsonl.packed:1: not valid UTF-8 (...); re-save it as UTF-8"
    assert err.value.problems == [f"{path}: a file compressed with {tool}; decompress it first"]


INDENTED = json.dumps([json.loads(LINE)] * 20, indent=2)


@pytest.mark.parametrize("text", [
    INDENTED,
    INDENTED.replace("\n ", "", 1),                                        # first line "[{", more than a bracket
    json.dumps({"data": [json.loads(LINE)] * 2}, indent=1).replace("\n ", "", 1),   # '{"data": ['
    INDENTED[:len(INDENTED) // 2],                                         # cut short
    INDENTED[:-2] + ",\n]",                                                # a comma too many
], ids=["indented", "first-line-a-bracket-and-more", "first-line-a-field", "cut-short", "a-comma-too-many"])
def test_one_json_document_read_as_json_lines_is_named_once(tmp_path, text):
    """Before, each of its lines was "invalid JSON", with no word of why (and only a first line of
    "[" or "{" alone was known)."""
    path = tmp_path / "train.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=str(path)))
    assert err.value.problems == [f"{path}:1: one JSON document over many lines, not JSON lines (one record a line); "
                                  "a Label Studio export is read with --format label-studio"]


def test_a_latin1_text_starting_like_bzip2_is_named_as_not_utf8(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes("BZh, Zürich".encode("latin-1"))
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=str(path)))
    assert "not valid UTF-8" in err.value.problems[0]


def test_a_json_lines_file_whose_first_line_is_broken_is_not_called_one_document(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"{\n" + LINE)
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=str(path)))
    assert err.value.problems[0].startswith(f"{path}:1: invalid JSON")


def test_byte_order_marks_of_json_lines_files_joined_by_cat_are_dropped(tmp_path):
    from training.readers import read_classification
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + LINE + b"\xef\xbb\xbf" + LINE + b"\xef\xbb\xbf\n")   # cat a.jsonl b.jsonl c.jsonl, each
    # saved with one, c.jsonl empty
    # before: "train.jsonl:2: invalid JSON (Unexpected UTF-8 BOM (decode using utf-8-sig) at column 1)"
    assert [doc.source for doc in read_data(TrainConfig(train=str(path))).train] == [f"{path}:1", f"{path}:2"]
    assert [doc.labels for doc in read_classification(path, label_field="stance")] == [{"label": ["neutral"]}] * 2


@pytest.mark.parametrize("mark", [" ", "\u200b", "\x07", "\u00ad", "\u0600", "\U0001f1fa\U0001f1f8"])
def test_a_span_of_nothing_the_encoder_reads_is_refused_not_dropped(mark):
    """A zero-width space, a control, a joiner (any format character) or a flag alone makes no word:
    the entity vanished from training and from the gold spans that score it."""
    from training.readers._files import span_problem
    text = f"Putin {mark} met Trump."
    assert span_problem(6, 6 + len(mark), text) == (f"span 6..{6 + len(mark)} covers only white space or characters "
                                                    f"the encoder does not read ({mark!r})")
    assert span_problem(0, 5, text) is None


@pytest.mark.parametrize("line, reason", [('{"text": "Talks', "Unterminated string starting at column 10"),
                                          ('{"text": "Talks\tended"}', "Invalid control character at column 16"),
                                          ('{"text": "Talks" "ended"}', "Expecting ',' delimiter at column 18")])
def test_a_broken_json_line_names_its_column_once(tmp_path, line, reason):
    path = tmp_path / "train.jsonl"
    path.write_text(LINE.decode() + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=str(path)))
    assert f"{path}:2: invalid JSON ({reason})" in err.value.problems   # before: "starting at at column 10"


def test_json_list_names_each_item_that_gives_a_key_twice():
    from training.readers._files import json_list
    text = '\n [ {"a": [1, {"b": 2}]} ,\t{"a": 1, "a": 2},\r\n[{"c": {"d": 1, "d": 1}}], "x, [" ]'
    assert json_list(text) == ([{"a": [1, {"b": 2}]}, {"a": 2}, [{"c": {"d": 1}}], "x, ["],
                                   {1: "'a' is given twice in one object (JSON keeps the last alone)",
                                    2: "'d' is given twice in one object (JSON keeps the last alone)"})
    assert json_list('{"a": 1, "a": 2}') == ({"a": 2}, {})   # no list: its reader refuses it as such


def test_a_json_list_after_any_length_of_white_space_opens_a_list(tmp_path):
    """Before: only the first 4,096 bytes were looked at, so a list after more white space was read as
    JSON lines and refused as "one JSON document over many lines"."""
    from training.readers._files import opens_a_list
    path = tmp_path / "export.json"
    for blank in (b"", b"\xef\xbb\xbf \n", b" \r\n\t" * 5000):
        path.write_bytes(blank + b'[{"text": "Talks."}]')
        assert opens_a_list(path)
    path.write_bytes(b"\n" * 10_000 + b'{"text": "Talks."}\n')
    assert not opens_a_list(path)
    path.write_bytes(b" " * 10_000)
    assert not opens_a_list(path)


def test_bad_bytes_after_a_byte_order_mark_are_placed_on_their_line_and_byte(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + LINE + b"\xff" + LINE)   # Notepad's mark, then a Latin-1 byte opening line 2
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=str(path)))
    # before: line 1, at byte 61: utf-8-sig counts from after the mark
    assert err.value.problems == [f"{path}:2: not valid UTF-8 (invalid start byte at byte {3 + len(LINE)}); "
                                  "re-save it as UTF-8"]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"a", b"a\n", b"a\r\n\rb\r", b"\xef\xbb\xbfa\r\r\n\nb", b"\n\n",
                                  b"a\r\nb\xc3\xa9\r", b"\xef\xbb\xbf\xef\xbb\xbfa\n", b"a\n\xff", b"a\rb\xc3",
                                  b"\xef\xbb\xbf\xff", gzip.compress(LINE), bz2.compress(LINE),
                                  # a character cut short by a line end: its reason as decode_utf8 gives it
                                  b"a\xc3\rb", b"a\xe2\x82\r\nb", b"\xef\xbb\xbfa\xc3\rb", b"a\xf0\x9f\r",
                                  b"\xef\xbb\r", b"x\n\xef\xbb\xbf\xff", b"\r\xef\xbb\xbfa", b"a\r\r\n", b"\r"])
def test_lines_read_as_they_come_are_the_lines_of_the_whole_text(data):
    from training.readers._files import decode_utf8, split_lines, utf8_lines

    def lines(read):
        try:
            return read()
        except DataError as exc:
            return exc.problems
    whole = lines(lambda: split_lines(decode_utf8(data, "f")))
    assert lines(lambda: list(utf8_lines(io.BytesIO(data), "f"))) == (whole[:-1] if whole[-1:] == [""] else whole)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_named_as_such_not_as_bad_utf8_at_byte_0(encoding):
    """Notepad's "Unicode" and Windows PowerShell's > write UTF-16 with its mark; before: "not valid
    UTF-8 (invalid start byte at byte 0)", as for any binary file."""
    import codecs
    from training.readers._files import decode_utf8, utf8_lines
    data = codecs.BOM_UTF16_BE + "Talks\nin Geneva".encode("utf-16-be") if encoding == "utf-16-be" \
        else "Talks\nin Geneva".encode(encoding)
    says = "a.txt: a file in UTF-16 (its byte-order mark says so); re-save it as UTF-8"
    for read in (lambda: decode_utf8(data, "a.txt"), lambda: list(utf8_lines(io.BytesIO(data), "a.txt"))):
        with pytest.raises(DataError) as err:
            read()
        assert err.value.problems[0].startswith(says)
