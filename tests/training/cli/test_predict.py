import json
import re
import shutil

import pytest

from training.cli import main
from training.cli import predict as predict_command


def test_predict_command_writes_json_lines(tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "docs.txt"
    src.write_text('Talks in Geneva.\n{"id": "a7", "text": "Sanctions on Iran."}\n', encoding="utf-8")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--file", str(src), "--jsonl"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(l) for l in captured.out.splitlines()]
    assert len(rows) == 2 and set(rows[0]) == {"entities", "labels"} and rows[1]["id"] == "a7"
    assert "Loading weights" not in captured.err   # no bar for a load of a second


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["predict", "x", "--checkpoint", str(tmp_path / "none")]) == 2
    # a command that trains: before, `newsmodel train --output ...`, refused for want of --train
    assert f"train one with `newsmodel train --train FILE --dev FILE --output '{tmp_path / 'none'}'`" \
        in capsys.readouterr().err


def test_predict_writes_an_html_page(tiny_checkpoint, tmp_path, capsys):
    page = tmp_path / "page.html"
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "Talks in Geneva.", "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    text = html[html.index('<div class="text" dir="auto">'):html.index("</section>")]
    assert html.startswith("<!DOCTYPE html>") and "<h2>topic</h2>" in html
    assert re.sub(r"<[^>]+>", "", text) == "Talks in Geneva.\n"          # the whole text, highlights around it
    lines = '{"id": null, "text": "Talks."}\n{"id": 0, "text": "More talks."}'
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", lines, "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "<h1>document 1</h1>" in html and "<h1>0</h1>" in html   # before: "None"


def test_an_empty_id_titles_its_section_as_no_id_does(tiny_checkpoint, tmp_path, capsys):
    page = tmp_path / "page.html"
    lines = '{"id": "", "text": "Talks."}\n{"id": "a", "text": "More talks."}'
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", lines, "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")   # before: an empty <h1></h1>
    assert "<h1>document 1</h1>" in html and "<h1>a</h1>" in html and "<h1></h1>" not in html


def test_a_json_lines_own_file_field_does_not_title_its_section(tiny_checkpoint, tmp_path, capsys):
    page = tmp_path / "page.html"
    lines = '{"text": "Talks.", "file": 3}\n{"text": "More talks.", "file": "notes.txt"}'
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", lines, "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")   # before: a traceback for 3, "notes.txt" as the title
    assert "<h1>document 1</h1>" in html and "<h1>document 2</h1>" in html


def test_a_sections_title_is_its_id_as_the_json_line_echoes_it(tiny_checkpoint, tmp_path, capsys):
    page = tmp_path / "page.html"
    lines = '{"id": true, "text": "Talks."}\n{"id": {"desk": "Geneva"}, "text": "More talks."}'
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", lines, "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")   # before: Python's True and {'desk': 'Geneva'}
    assert "<h1>true</h1>" in html and "<h1>{&quot;desk&quot;: &quot;Geneva&quot;}</h1>" in html


def test_a_json_line_naming_a_key_twice_is_refused_with_its_place(tmp_path, capsys):
    folder = tmp_path / "not-a-checkpoint"   # the input is refused before the checkpoint loads
    folder.mkdir()
    line = '{"id": 1, "text": "Talks resume", "text": "Officials in Geneva said the talks went on."}'
    assert main(["predict", "--checkpoint", str(folder), "--jsonl", line]) == 2   # before: the headline dropped
    assert "the text argument:1: 'text' is given twice in one object" in capsys.readouterr().err

def test_a_json_line_after_a_byte_order_mark_is_read_as_its_object(tiny_checkpoint, tmp_path, capsys):
    records = tmp_path / "joined.jsonl"   # two files joined, the second saved with a byte-order mark
    records.write_text('{"id": 1, "text": "Talks."}\n\ufeff{"id": 2, "text": "In Geneva."}\n', encoding="utf-8")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", "--file", str(records)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row.get("id") for row in rows] == [1, 2]   # before: the second line read as text, its id lost
    assert all(e["end"] <= len("In Geneva.") for e in rows[1]["entities"])

def test_a_plain_line_after_a_byte_order_mark_is_read_without_it():
    """Before: a plain-text line of a second file joined by cat kept its mark, which the first line
    (read as utf-8-sig) and JSON lines drop: the model read a character the text does not show."""
    lines = ["Talks.", "\ufeffIn Geneva.", "\ufeff", "\ufeff42"]
    records = [record for record, _ in predict_command._line_records(lines, "joined.txt")]
    assert [record["text"] for record in records] == ["Talks.", "In Geneva.", "", "42"]


def test_a_json_line_with_a_misspelt_key_is_refused_with_its_place(tmp_path, capsys):
    folder = tmp_path / "not-a-checkpoint"   # the input is refused before the checkpoint loads
    folder.mkdir()
    records = tmp_path / "records.jsonl"
    for key, near, line in (("pairs", "pair", '{"text": "Talks resume", "pairs": "In Geneva."}'),
                            ("Pair", "pair", '{"text": "Talks resume", "Pair": "In Geneva."}'),
                            ("ID", "id", '{"ID": "a2", "text": "Talks resume"}'),
                            ("Text", "text", '{"id": "a2", "Text": "Talks resume"}')):
        records.write_text('{"id": 1, "text": "Talks."}\n' + line + "\n", encoding="utf-8")
        assert main(["predict", "--checkpoint", str(folder), "--jsonl", "--file", str(records)]) == 2
        assert f'{records}:2: key "{key}" looks like "{near}" misspelt' in capsys.readouterr().err   # before: dropped
    records.write_text('{"text": "Talks.", "idx": 3, "title": "Geneva", "topic": ["trade"], "entities": []}\n',
                       encoding="utf-8")   # metadata, an annotated file's fields: ignored, as before
    assert main(["predict", "--checkpoint", str(folder), "--jsonl", "--file", str(records)]) == 2
    assert "not a checkpoint" in capsys.readouterr().err


def test_a_line_opening_with_a_brace_but_no_json_says_it_is_read_as_an_object(tmp_path, capsys):
    folder = tmp_path / "not-a-checkpoint"   # the input is refused before the checkpoint loads
    folder.mkdir()
    assert main(["predict", "--checkpoint", str(folder), "--jsonl", "Talks.\n  {Reuters} Talks resume."]) == 2
    err = capsys.readouterr().err
    assert "the text argument:2: invalid JSON" in err and 'a line opening with "{" is read as a JSON object' in err


def test_a_pair_file_folder_is_named_as_a_file_folder_is(tmp_path, capsys):
    folder = tmp_path / "not-a-checkpoint"   # refused before the checkpoint loads
    folder.mkdir()
    assert main(["predict", "Talks.", "--pair-file", str(tmp_path), "--checkpoint", str(folder)]) == 2
    assert f"error: --pair-file {str(tmp_path)!r}: a folder; give a file" in capsys.readouterr().err   # before: "Is a directory"


def test_predict_reads_a_headline_with_its_body(tiny_checkpoint, tmp_path, capsys):
    body = tmp_path / "body.txt"
    body.write_text("Officials in Geneva said the talks went on. " * 40, encoding="utf-8")
    with pytest.warns(UserWarning, match="no pair task"):   # the tiny checkpoint reads no pairs: said, then done
        assert main(["predict", "--checkpoint", str(tiny_checkpoint), "Talks resume", "--pair-file", str(body)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert all(e["end"] <= len("Talks resume") for e in row["entities"])   # entities of the first text only
    records = tmp_path / "pairs.jsonl"
    records.write_text(json.dumps({"id": 1, "text": "Talks resume", "pair": "In Geneva."}) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="no pair task"):
        assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", "--file", str(records)]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == 1


def test_predict_runs_the_checkpoints_chosen_runtime_unless_told_otherwise(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    manifest["runtimes"] = {"torch": {"dev": {"entities": 0.9}, "words_per_second": 100.0},
                            "torch-int8": {"dev": {"entities": 0.9}, "words_per_second": 300.0}}
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    used = []
    opened = predict_command.open_checkpoint

    def spy(*args, **kwargs):
        model = opened(*args, **kwargs)
        used.append(model.runtime)
        return model
    monkeypatch.setattr(predict_command, "open_checkpoint", spy)
    for flags in ([], ["--runtime", "torch"], ["--quantize"]):
        assert main(["predict", "--checkpoint", str(ckpt), "--device", "cpu", "Talks in Geneva.", *flags]) == 0
    assert used == ["torch-int8", "torch", "torch-int8"]


def test_bad_input_is_refused_with_its_place_before_the_checkpoint_loads(tmp_path, monkeypatch, capsys):
    import io
    import types
    folder = tmp_path / "not-a-checkpoint"   # were it loaded first, its error would come instead
    folder.mkdir()
    checkpoint = ["--checkpoint", str(folder)]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Talks\r\nin\rGeneva \xff.")
    assert main(["predict", *checkpoint, "--file", str(bad)]) == 2
    assert f"{bad}:3: not valid UTF-8" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(b"Talks\n\xff")))
    assert main(["predict", *checkpoint]) == 2
    assert "stdin:2: not valid UTF-8" in capsys.readouterr().err
    records = tmp_path / "records.jsonl"
    records.write_text('{"text": "Talks."}\n\n{"text": "In Geneva.", "pair": 3}\n', encoding="utf-8")
    assert main(["predict", *checkpoint, "--jsonl", "--file", str(records)]) == 2
    assert f'{records}:3: "pair" must be a string' in capsys.readouterr().err
    assert main(["predict", *checkpoint, "--jsonl", '{"text": "Talks.", "pair": 3}']) == 2
    assert 'the text argument:1: "pair" must be a string' in capsys.readouterr().err
    records.write_text('{"id": "a1", "body": "Talks."}\n{"id": "a2", "text": "Truncated\n', encoding="utf-8")
    assert main(["predict", *checkpoint, "--jsonl", "--file", str(records)]) == 2
    assert f'{records}:1: a JSON object needs a "text" string' in capsys.readouterr().err   # not read as text
    records.write_text('{"id": "a2", "text": "Truncated\n', encoding="utf-8")
    assert main(["predict", *checkpoint, "--jsonl", "--file", str(records)]) == 2
    assert f"{records}:1: invalid JSON (Unterminated string" in capsys.readouterr().err
    records.write_text('{"id": "ok", "text": "Talks."}\n{"id": 1e999, "text": "More talks."}\n', encoding="utf-8")
    assert main(["predict", *checkpoint, "--jsonl", "--file", str(records)]) == 2   # not an id of Infinity echoed
    assert f'{records}:2: "id" holds a number JSON cannot write back' in capsys.readouterr().err
    assert main(["predict", *checkpoint, "Talks.", "--file", str(records)]) == 2
    assert "give the text or --file, not both" in capsys.readouterr().err
    assert main(["predict", *checkpoint, "--file", str(records), "--file", str(records), "--pair", "x"]) == 2
    assert "--pair and --pair-file go with one document" in capsys.readouterr().err
    assert main(["predict", *checkpoint, "Talks.", "--pair", "x", "--pair-file", str(records)]) == 2
    assert "give --pair or --pair-file, not both" in capsys.readouterr().err   # before: --pair dropped
    for option, given in (("--pair-file", ["Talks.", "--pair-file"]), ("--file", ["--file"])):
        assert main(["predict", *checkpoint, *given, ""]) == 2   # before: --pair-file "" was dropped
        assert f"{option} '': give a file name" in capsys.readouterr().err
        assert main(["predict", *checkpoint, *given, str(tmp_path / "missing.txt")]) == 2
        assert f"{option} {str(tmp_path / 'missing.txt')!r}: No such file or directory" in capsys.readouterr().err
    for page in (tmp_path, tmp_path / "no-such-folder" / "page.html"):
        assert main(["predict", *checkpoint, "Talks.", "--html", str(page)]) == 2
        assert f"--html {str(page)!r}: give a file in an existing folder" in capsys.readouterr().err
    (tmp_path / "linked.html").hardlink_to(records)
    stdin = open(records, "rb")
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=stdin, fileno=stdin.fileno))
    for page, given in ((records, ["--file", str(records)]), (records, ["Talks.", "--pair-file", str(records)]),
                        (tmp_path / "linked.html", ["--file", str(records)]), (records, [])):   # the last from stdin
        assert main(["predict", *checkpoint, *given, "--html", str(page)]) == 2   # before: written over the input
        assert f"--html {str(page)!r}: that is an input of this command" in capsys.readouterr().err
    stdin.close()
    (folder / "manifest.json").write_text("{}", encoding="utf-8")   # a checkpoint to the check, which runs before it loads
    assert main(["predict", *checkpoint, "Talks.", "--html", str(folder / "page.html")]) == 2
    assert f"that is inside the checkpoint {folder}, which predict leaves as it is" in capsys.readouterr().err
    other = tmp_path / "other-checkpoint"   # not the one predict loads: a page there would block its next save too
    (other / "plots").mkdir(parents=True)
    (other / "manifest.json").write_text("{}", encoding="utf-8")
    assert main(["predict", *checkpoint, "Talks.", "--html", str(other / "plots" / "page.html")]) == 2
    assert f"that is inside the checkpoint {other}, which predict leaves as it is" in capsys.readouterr().err
    assert records.read_text(encoding="utf-8").startswith("{") and not (folder / "page.html").exists()


def test_a_text_argument_not_in_utf8_is_refused_before_the_checkpoint_loads(tmp_path, capsys):
    """Bytes of another encoding in an argument (`"$(cat latin1.txt)"`) reach Python as lone surrogates;
    before, they were read as the text ("Caf\\udce9" an entity), where a --file or stdin of the same
    bytes is refused."""
    import os
    folder = tmp_path / "not-a-checkpoint"   # were it loaded first, its error would come instead
    folder.mkdir()
    text = os.fsdecode(b"Caf\xe9 in M\xfcnchen")
    for given, name in (([text], "the text argument"), (["Talks.", "--pair", text], "--pair"),
                        (["--jsonl", text], "the text argument")):
        assert main(["predict", "--checkpoint", str(folder), *given]) == 2
        assert f"{name}: not valid UTF-8 at character 4: give the text in UTF-8" in capsys.readouterr().err


def test_a_json_line_nested_too_deeply_is_refused_with_its_place(tmp_path, capsys):
    folder = tmp_path / "not-a-checkpoint"   # the input is refused before the checkpoint loads
    folder.mkdir()
    records = tmp_path / "records.jsonl"
    records.write_text('{"text": "Talks."}\n{"text": "In Geneva.", "id": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
                       encoding="utf-8")
    assert main(["predict", "--checkpoint", str(folder), "--jsonl", "--file", str(records)]) == 2   # before: a traceback
    assert f"{records}:2: invalid JSON (nested too deeply)" in capsys.readouterr().err


def test_each_file_given_is_one_document_in_order(tiny_checkpoint, tmp_path, capsys):
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    files[0].write_text("Talks in Geneva.", encoding="utf-8")
    files[1].write_text("Sanctions on Iran were lifted by the European Union.", encoding="utf-8")
    checkpoint = ["--checkpoint", str(tiny_checkpoint), "--device", "cpu"]
    alone = []
    for file in files:
        assert main(["predict", *checkpoint, "--file", str(file)]) == 0
        alone.append(json.loads(capsys.readouterr().out))
    page = tmp_path / "page.html"
    assert main(["predict", *checkpoint, "--file", str(files[0]), "--file", str(files[1]), "--html", str(page)]) == 0
    together = [json.loads(row) for row in capsys.readouterr().out.splitlines()]
    assert [_without_scores(row) for row in together] == [_without_scores(row) for row in alone]
    assert max(abs(a - b) for row, one in zip(together, alone) for a, b in zip(_scores(row), _scores(one))) < 1e-4
    html = page.read_text(encoding="utf-8")
    assert html.index(str(files[0])) < html.index(str(files[1]))   # each titled by its file


def test_line_separators_inside_a_line_keep_it_one_record(tiny_checkpoint, tmp_path, capsys):
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"id": "a", "text": "Talks\u2028in Geneva."}, ensure_ascii=False) + "\n"
                       + "Talks in Geneva.\x0cEnd.\n", encoding="utf-8")   # a JSON line, then a plain-text one
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", "--file", str(records)]) == 0
    rows = [json.loads(row) for row in capsys.readouterr().out.split("\n") if row]   # output keeps them raw too
    assert len(rows) == 2 and rows[0]["id"] == "a"


def test_a_missing_checkpoint_is_reported_before_stdin_is_waited_on(tmp_path, monkeypatch, capsys):
    import types

    def read():
        raise AssertionError("stdin was read before the checkpoint was looked for")
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=types.SimpleNamespace(read=read)))
    assert main(["predict", "--checkpoint", str(tmp_path / "none")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_a_closed_stdin_is_a_clear_error(tiny_checkpoint, monkeypatch, capsys):
    """Before: AttributeError ('NoneType' object has no attribute 'buffer'), a traceback."""
    monkeypatch.setattr("sys.stdin", None)   # Python's stdin when started with it closed (`<&-`)
    assert main(["predict", "--checkpoint", str(tiny_checkpoint)]) == 2
    assert "on stdin, which is closed" in capsys.readouterr().err


@pytest.mark.parametrize("lines", [2000, 1], ids=["more-than-a-pipe-holds", "left-in-the-buffer"])
def test_a_reader_that_stops_early_ends_the_command_quietly(tiny_checkpoint, tmp_path, lines):
    import os
    import subprocess
    import sys
    from conftest import REPO
    text = tmp_path / "lines.txt"
    text.write_text("Talks in Geneva.\n" * lines, encoding="utf-8")
    command = [sys.executable, "-m", "training", "predict", "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
               "--jsonl", "--file", str(text)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}   # output buffered, as in a shell
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if lines > 1:
        assert json.loads(proc.stdout.readline())["entities"] is not None   # as `| head -1` reads it
    proc.stdout.close()   # for one line: before anything is read, as `| true` does
    error = proc.stderr.read().decode()
    assert proc.wait() == 0 and "Broken pipe" not in error and "Exception ignored" not in error


def test_jsonl_output_lines_up_with_the_input_lines(tiny_checkpoint, tmp_path, capsys):
    records = tmp_path / "records.jsonl"
    records.write_text('Talks in Geneva.\n\n{"id": "c", "text": "Sanctions on Iran."}\n  \nEnd.\n', encoding="utf-8")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", "--file", str(records)]) == 0
    rows = [json.loads(row) for row in capsys.readouterr().out.splitlines()]
    assert len(rows) == 5 and rows[2]["id"] == "c"   # before: 3 rows, the blank lines skipped
    assert rows[1] == rows[3] == {"entities": [], "labels": {"topic": [], "stance": []}}


def test_half_an_emoji_is_written_as_its_json_escape(tiny_checkpoint, tmp_path, capsys):
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": "t", "text": "Geneva \\ud83d talks."}\n{"id": "u", "text": "Oslo talks."}\n',
                       encoding="utf-8")
    page = tmp_path / "page.html"
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--jsonl", "--file", str(records),
                 "--html", str(page)]) == 0
    out = capsys.readouterr().out
    out.encode("utf-8")   # writable as UTF-8: before, the command failed writing the first line
    rows = [json.loads(row) for row in out.splitlines()]
    assert [row["id"] for row in rows] == ["t", "u"] and "\ufffd" in page.read_text(encoding="utf-8")
    assert all(text[e["start"]:e["end"]] == e["text"] for row, text in zip(rows, ["Geneva \ud83d talks.", "Oslo talks."])
               for e in row["entities"])   # read back, the offsets index the text as it came in


def test_a_text_argument_naming_a_file_is_warned_about(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("Talks in Geneva.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Talks in Oslo.", encoding="utf-8")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "a.txt"]) == 0
    captured = capsys.readouterr()
    assert "warning: reading the text 'a.txt' itself, not the file of that name: give --file a.txt" in captured.err
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--file", "a.txt", "b.txt"]) == 2
    assert capsys.readouterr().err == ("error: give the text or --file, not both (for several files, repeat --file: "
                                       "--file a.txt --file b.txt)\n")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--file", "a.txt", "--file", "b.txt"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_a_warning_is_one_line_without_source(tiny_checkpoint):
    import subprocess
    import sys
    import warnings
    from conftest import REPO
    before = warnings.formatwarning
    command = [sys.executable, "-m", "training", "predict", "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
               "Talks resume", "--pair", "In Geneva."]
    error = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stderr
    assert error == ("warning: this checkpoint has no pair task: a second text joins the first as one reading, which "
                     "changes its document labels; entities are the first text's\n")   # before: with a line of code
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "Talks resume"]) == 0
    assert warnings.formatwarning is before   # main() leaves the caller's as it was


def test_only_a_missing_training_extra_asks_for_the_training_extras(monkeypatch, capsys):
    for name, message, advice in ((None, 'runtime="onnx" needs ONNX Runtime: pip install "newsmodel[onnx]"', False),
                                  ("seqeval", "No module named 'seqeval'", True)):
        def run(args, exc=ImportError(message, name=name)):
            raise exc
        monkeypatch.setattr(predict_command, "run", run)
        assert main(["predict", "x"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and ("newsmodel[train]" in err) == advice


def test_a_batch_size_below_one_is_refused_before_loading(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "x", "--batch-size", "0"])
    assert "--batch-size: '0' is not a positive whole number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "x", "--batch-size", "x"])
    assert "--batch-size: 'x' is not a positive whole number" in capsys.readouterr().err


def _without_scores(row: dict) -> dict:
    """A prediction row without its scores, which a batch's padding moves in the 6th place."""
    return {"entities": [{k: v for k, v in e.items() if k != "score"} for e in row["entities"]],
            "labels": {t: [{k: v for k, v in l.items() if k != "score"} for l in ls] for t, ls in row["labels"].items()}}


def _scores(row: dict) -> list[float]:
    return [e["score"] for e in row["entities"]] + [l["score"] for ls in row["labels"].values() for l in ls]


def test_a_device_that_names_none_is_one_line_with_any_runtime(tiny_checkpoint, capsys):
    for flags in (["--quantize"], ["--runtime", "onnx"], []):   # before: torch's RuntimeError, a traceback
        assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--device", "gpu", *flags, "Talks."]) == 2
        assert "error: --device gpu: unknown device 'gpu'" in capsys.readouterr().err   # before: no flag named


@pytest.mark.parametrize("gpu", [True, False])
def test_a_cpu_only_runtime_with_device_cuda_names_its_flags_before_the_checkpoint_loads(tiny_checkpoint, capsys,
                                                                                          monkeypatch, gpu):
    """Before, on a GPU machine: "runtime torch-int8 runs on the CPU only, not on 'cuda'", naming no flag."""
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    monkeypatch.setattr(predict_command, "open_checkpoint", lambda *a, **kw: pytest.fail("loaded"))
    for flags, named in ((["--quantize"], "--quantize"), (["--runtime", "torch-int8"], "--runtime torch-int8"),
                         (["--runtime", "onnx", "--quantize"], "--runtime onnx --quantize")):
        assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--device", "cuda", *flags, "Talks."]) == 2
        assert (f"error: {named} runs on the CPU only, not with --device cuda: give --device cpu, or leave --device "
                "out") in capsys.readouterr().err


def test_the_html_page_is_written_whole_when_the_reader_stops_early(tiny_checkpoint, tmp_path, monkeypatch):
    import os
    import sys
    text, page = tmp_path / "lines.txt", tmp_path / "page.html"
    text.write_text("Talks in Geneva.\n" * 200, encoding="utf-8")   # more than stdout's buffer holds
    read, write = os.pipe()
    os.close(read)   # `| head -0`: every write to stdout fails
    monkeypatch.setattr(sys, "stdout", open(write, "w", encoding="utf-8"))
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--jsonl", "--file", str(text),
                 "--html", str(page)]) == 0
    assert page.read_text(encoding="utf-8").count("<section>") == 200   # before: no page, and 0 all the same


def test_a_stdout_that_is_not_utf8_gets_json_escapes(tiny_checkpoint, monkeypatch, capsys):
    import io
    import sys
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")   # Windows, redirected to a file
    monkeypatch.setattr(sys, "stdout", stdout)
    line = json.dumps({"id": "Łódź-7 \ud83d", "text": "Talks in Łódź."})
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--jsonl", line]) == 0
    stdout.flush()   # before: an error, 'charmap' codec can't encode, and no output
    assert json.loads(stdout.buffer.getvalue().decode("cp1252"))["id"] == "Łódź-7 \ud83d"


def test_a_closed_stdout_is_a_clear_error(tiny_checkpoint, monkeypatch, capsys):
    import sys
    monkeypatch.setattr(sys, "stdout", None)   # started with `>&-`
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "Talks in Geneva."]) == 2   # before: a traceback
    assert "error: stdout is closed" in capsys.readouterr().err


class _Lines:
    """stdin's bytes, a line at a time, noting how many output lines were written as each was read."""
    def __init__(self, text: str, stdout):
        self.lines, self.stdout, self.written = text.encode("utf-8").splitlines(keepends=True), stdout, []

    def __iter__(self):
        for line in self.lines:
            self.written.append(self.stdout.getvalue().count("\n"))
            yield line

    def read(self) -> bytes:
        return b"".join(self)


def test_jsonl_is_read_predicted_and_written_a_batch_at_a_time(tiny_checkpoint, monkeypatch):
    """Before, every line was read and predicted before the first was written: nothing came out until the
    end, and memory grew with the input (5,000 lines: 1.2 GB)."""
    import io
    import sys
    import types
    from inference import load
    lines = ['Talks in Geneva.', '', '{"id": "a", "text": "Sanctions on Iran."}', '  ', 'Officials in Oslo said so.',
             '{"id": 7, "text": "Talks resume", "pair": "In Geneva, officials met."}', '{"text": "No id here."}',
             'Plain text { with a brace.', '', '{"id": null, "text": "Trade talks in Brussels."}', 'End.']
    stdout = io.StringIO()
    stdin = _Lines("\r\n".join(lines) + "\r\n", stdout)
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=stdin))
    with pytest.warns(UserWarning, match="no pair task"):
        assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--jsonl",
                     "--batch-size", "4"]) == 0
    assert stdin.written == [0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8]   # before: nothing until the last line was read
    rows = [json.loads(row) for row in stdout.getvalue().splitlines()]
    records = [json.loads(line) if line.startswith("{") else {"text": line} for line in lines]
    with pytest.warns(UserWarning, match="no pair task"):   # what the command wrote before: all in one call
        alone = load(tiny_checkpoint, device="cpu").predict_batch([r["text"] for r in records],
                                                                   pairs=[r.get("pair") for r in records])
    assert [row.get("id", "none") for row in rows] == [r.get("id", "none") for r in records]
    assert [_without_scores(row) for row in rows] == [_without_scores(p.to_dict()) for p in alone]
    assert max(abs(a - b) for row, p in zip(rows, alone) for a, b in zip(_scores(row), _scores(p.to_dict()))) < 1e-4


def test_a_bad_line_after_the_first_batch_stops_there_and_says_what_was_written(tiny_checkpoint, tmp_path, capsys):
    records = tmp_path / "records.jsonl"
    records.write_text("Talks in Geneva.\n" * 6 + '{"id": 7, "text": "Cut short\n' + "Talks in Oslo.\n" * 3,
                       encoding="utf-8")
    page = tmp_path / "page.html"
    page.write_text("the page of an earlier run", encoding="utf-8")
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--jsonl", "--file", str(records),
                 "--batch-size", "3", "--html", str(page)]) == 2
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 6   # the batches before the line's own; before: nothing
    assert captured.err == (f"error: {records}:7: invalid JSON (Unterminated string starting at column 19) (stopped "
                            f"there: the output holds the predictions of the input through {records}:6, 6 lines)\n")
    assert page.read_text(encoding="utf-8") == "the page of an earlier run"   # a page is written for the whole input


def test_a_dash_reads_stdin(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    import io
    import types
    checkpoint = ["--checkpoint", str(tiny_checkpoint), "--device", "cpu"]
    assert main(["predict", *checkpoint, "Talks in Geneva."]) == 0
    want = capsys.readouterr().out
    for given in (["-"], ["--file", "-"], ["--jsonl", "-"], ["--jsonl", "--file", "-"]):
        monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(b"Talks in Geneva.\n")))
        assert main(["predict", *checkpoint, *given]) == 0
        assert capsys.readouterr().out == want   # before: the text "-" read (no entity, no label), or no file "-"
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(b"Talks.")))
    assert main(["predict", *checkpoint, "--file", "-", "--pair-file", "-"]) == 2   # the second would read nothing
    assert "stdin is read once" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(b"Talks\n\xff")))
    assert main(["predict", *checkpoint, "--jsonl", "--file", "-"]) == 2
    assert "stdin:2: not valid UTF-8" in capsys.readouterr().err


def test_a_pair_argument_not_in_utf8_points_to_pair_file(tmp_path, capsys):
    """Before: "... or the file with --file", which would read the body as the document, not as its pair."""
    folder = tmp_path / "not-a-checkpoint"   # refused before the checkpoint loads
    folder.mkdir()
    assert main(["predict", "--checkpoint", str(folder), "Talks resume", "--pair", "Officials in Gen\udce8ve"]) == 2
    assert capsys.readouterr().err == ("error: --pair: not valid UTF-8 at character 17: give the text in UTF-8 (from a "
                                       "file in another encoding: iconv -f ENCODING -t UTF-8 FILE), or the file with "
                                       "--pair-file\n")


def test_an_html_page_that_cannot_be_written_over_is_refused_before_the_checkpoint_loads(tmp_path, monkeypatch,
                                                                                          capsys):
    """Before: a read-only page of an earlier run passed the check of its folder, and the command
    failed once the whole input was predicted ("[Errno 13] Permission denied"), naming no flag."""
    import os
    folder = tmp_path / "not-a-checkpoint"
    folder.mkdir()
    page = tmp_path / "page.html"
    page.write_text("the page of an earlier run", encoding="utf-8")
    access = os.access   # a file mode alone would not do: root may write any file
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: os.fspath(path) != str(page) and access(path, mode, **kw))
    assert main(["predict", "--checkpoint", str(folder), "Talks.", "--html", str(page)]) == 2
    assert f"--html {str(page)!r}: give a file in an existing folder you can write to" in capsys.readouterr().err


def test_the_html_page_of_a_pair_shows_its_second_text(tiny_checkpoint, tmp_path, capsys):
    """Before: the page showed the headline alone, with labels decided on the headline and the body."""
    body, page = tmp_path / "body.txt", tmp_path / "page.html"
    body.write_text("Officials in Geneva said the talks went on.", encoding="utf-8")
    with pytest.warns(UserWarning, match="no pair task"):
        assert main(["predict", "--checkpoint", str(tiny_checkpoint), "Talks resume", "--pair-file", str(body),
                     "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "<h2>second text</h2>" in html and "Officials in Geneva said the talks went on." in html
    assert set(json.loads(capsys.readouterr().out)) == {"entities", "labels"}   # the JSON line is as it was


def test_an_html_page_stdout_is_redirected_to_is_refused_before_the_checkpoint_loads(tmp_path, monkeypatch, capsys):
    """Before: `newsmodel predict ... --html out.html > out.html` wrote the page over the JSON lines."""
    import sys
    folder = tmp_path / "not-a-checkpoint"   # refused before it loads
    folder.mkdir()
    (tmp_path / "link.html").symlink_to(tmp_path / "out.html")
    with open(tmp_path / "out.html", "w", encoding="utf-8") as out:
        monkeypatch.setattr(sys, "stdout", out)
        for page in (tmp_path / "out.html", tmp_path / "link.html"):
            assert main(["predict", "--checkpoint", str(folder), "Talks.", "--html", str(page)]) == 2
            assert f"error: --html {str(page)!r}: that is where stdout is redirected" in capsys.readouterr().err


def test_an_html_page_stderr_is_redirected_to_is_refused_before_the_checkpoint_loads(tmp_path, monkeypatch):
    """Before: `newsmodel predict ... --html out.html 2> out.html` was taken: the page was written over
    the warnings, and a later warning into the page."""
    import sys
    folder = tmp_path / "not-a-checkpoint"   # refused before it loads
    folder.mkdir()
    page = tmp_path / "out.html"
    with open(page, "w", encoding="utf-8") as err:
        monkeypatch.setattr(sys, "stderr", err)
        assert main(["predict", "--checkpoint", str(folder), "Talks.", "--html", str(page)]) == 2
    assert page.read_text(encoding="utf-8") == (f"error: --html {str(page)!r}: that is where stderr is redirected, "
                                                "which warnings and errors are written to; give another file\n")


def test_file_pair_file_and_html_with_a_tilde_no_shell_expanded_are_in_the_home_folder(tiny_checkpoint, tmp_path,
                                                                                       monkeypatch, capsys):
    """Before: --file=~/article.txt (no shell expands ~ after "=" or in quotes) was "--file
    '~/article.txt': No such file or directory", read in a folder named "~" of the working one."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    (tmp_path / "article.txt").write_text("Talks in Geneva.", encoding="utf-8")
    (tmp_path / "body.txt").write_text("Officials said the talks went on.", encoding="utf-8")
    with pytest.warns(UserWarning, match="no pair task"):
        assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--file=~/article.txt", "--pair-file",
                     "~/body.txt", "--html=~/page.html"]) == 0
    assert json.loads(capsys.readouterr().out)
    assert "Officials said the talks went on." in (tmp_path / "page.html").read_text(encoding="utf-8")
    assert list((tmp_path / "work").iterdir()) == []   # no folder named "~"


def test_a_checkpoint_option_with_a_tilde_no_shell_expanded_is_in_the_home_folder(tiny_checkpoint, tmp_path,
                                                                                   monkeypatch, capsys):
    """Before: --checkpoint=~/ckpt (the shell expands no ~ after "=") was "no checkpoint at ~/ckpt"; a
    path ending in a newline ($(cat file)) made a message of two lines."""
    import shutil
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    (tmp_path / "article.txt").write_text("Talks in Geneva.\n", encoding="utf-8")
    assert main(["predict", "--checkpoint=~/ckpt", "--device", "cpu", "--file", str(tmp_path / "article.txt")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])
    assert main(["predict", "--checkpoint", f"{tmp_path}/none\n"]) == 2
    assert capsys.readouterr().err.count("\n") == 1   # one line
