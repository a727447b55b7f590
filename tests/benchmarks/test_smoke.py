"""Smoke runs of the benchmark scripts on small files written here (CI has no ../shared): each
script must run end to end and end its output with the one JSON result line."""
import csv
import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import REPO

BENCHMARKS = REPO / "benchmarks"
RESULT_KEYS = {"benchmark", "system", "split", "train_seconds", "words_per_second", "limit"}
PEOPLE = [["John", "Smith"], ["Maria", "Garcia"], ["Li", "Wei"], ["Anna", "Berg"]]
ORGS = [["European", "Union"], ["Reuters"], ["United", "Nations"]]
PLACES = [["Germany"], ["Paris"], ["New", "York"]]


def run(script: str, *args) -> dict:
    """The last stdout line of `python benchmarks/<script> args...`, parsed; stdout holds nothing else."""
    out = subprocess.run([sys.executable, str(BENCHMARKS / script), *map(str, args)], cwd=REPO,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-4000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout[-2000:]
    return json.loads(lines[-1])


def sentence(i: int, iob2: bool) -> list[tuple[str, str]]:
    """`<person> of <org> met officials in <place> .` tagged IOB1 (I- only) or IOB2."""
    words = []
    for name, etype in ((PEOPLE[i % 4], "PER"), (["of"], None), (ORGS[i % 3], "ORG"), (["met", "officials", "in"], None),
                        (PLACES[i % 3], "LOC"), (["."], None)):
        for k, w in enumerate(name):
            words.append((w, "O" if etype is None else f"{'B' if iob2 and k == 0 else 'I'}-{etype}"))
    return words


def write_conll(path, docs: int, iob2: bool, four_columns: bool = True, docstart: bool = True) -> None:
    lines = []
    for d in range(docs):
        if docstart:
            lines += ["-DOCSTART- -X- -X- O", ""]
        for s in range(2):
            for w, tag in sentence(d + s, iob2):
                lines.append(f"{w} NNP I-NP {tag}" if four_columns else f"{w}\t{tag}")
            lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def write_csv(path, header, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])


TOPIC_WORDS = {"business": "shares profit market bank", "sport": "match goal team season", "tech": "software phone chip internet"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench_data")
    write_conll(d / "eng.train", 24, iob2=False)
    write_conll(d / "eng.testa", 6, iob2=False)
    write_conll(d / "eng.testb", 6, iob2=False)
    write_conll(d / "conllpp.txt", 6, iob2=True)
    write_conll(d / "re3d-train.conll", 30, iob2=True, four_columns=False, docstart=False)
    write_conll(d / "re3d-test.conll", 8, iob2=True, four_columns=False, docstart=False)
    topics = list(TOPIC_WORDS)
    bbc = lambda n: [{"id": str(i), "text": f"Headline {i}\n\nThe {TOPIC_WORDS[topics[i % 3]]} story {i}.",
                      "label": topics[i % 3]} for i in range(n)]
    write_jsonl(d / "bbc_train.jsonl", bbc(30))
    write_jsonl(d / "bbc_dev.jsonl", bbc(9))
    write_jsonl(d / "bbc_test.jsonl", bbc(9))
    reuters_labels = [["earn"], ["acq"], ["earn", "acq"], ["crude"], [], ["grain", "crude"]]
    reuters = lambda n, extra: [{"id": str(i), "title": f"STORY {i}", "text": f"{' '.join(reuters_labels[i % 6])} news {i}",
                                 "labels": reuters_labels[i % 6] + ([extra] if i == 0 else [])} for i in range(n)]
    write_jsonl(d / "reuters_train.jsonl", reuters(30, "only-in-train"))
    write_jsonl(d / "reuters_test.jsonl", reuters(12, "only-in-test"))
    stances = ["agree", "disagree", "discuss", "unrelated", "unrelated"]
    body = lambda i: f'Officials said, "the deal {i} is done".\nMarkets rose {i}% on the news, analysts said.'
    write_csv(d / "bodies.csv", ["Body ID", "articleBody"], [[i, body(i)] for i in range(10)])
    write_csv(d / "stances.csv", ["Headline", "Body ID", "Stance"],
              [[f"Deal {i % 10} done, say officials", i % 10, stances[i % 5]] for i in range(40)])
    write_csv(d / "test_bodies.csv", ["Body ID", "articleBody"], [[i, body(i)] for i in range(100, 104)])
    write_csv(d / "test_stances.csv", ["Headline", "Body ID", "Stance"],
              [[f"Deal {i} done?", 100 + i % 4, stances[i % 5]] for i in range(15)])
    return d


def test_conll_ours_with_conllpp(data, tiny_base, tmp_path):
    line = run("conll.py", "--system", "ours", "--train", data / "eng.train", "--dev", data / "eng.testa",
               "--test", data / "eng.testb", "--conllpp", data / "conllpp.txt", "--limit", 20, "--epochs", 1,
               "--max-steps", 2, "--base", tiny_base, "--output", tmp_path / "ckpt")
    assert RESULT_KEYS | {"precision", "recall", "f1", "dev_f1", "conllpp_f1", "per_type_f1"} <= set(line)
    assert (line["benchmark"], line["system"], line["split"], line["train_documents"]) == ("conll2003", "ours", "eng.testb", 20)
    assert 0.0 <= line["f1"] <= 1.0 and line["words_per_second"] > 0
    # what made the figures, and where: the runtime load() chose from the checkpoint's own measurements
    from inference.runtimes import choose
    chosen = choose(json.loads((tmp_path / "ckpt" / "manifest.json").read_text())["runtimes"])[0]
    assert line["runtime"] == chosen and line["output"] == str(tmp_path / "ckpt")


def refusal(script: str, *args) -> str:
    """The error of a run refused before any work: exit status 1 and stderr's last line."""
    out = subprocess.run([sys.executable, str(BENCHMARKS / script), *map(str, args)], cwd=REPO,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 1 and out.stdout == "", out.stderr[-2000:]
    return out.stderr.strip().splitlines()[-1]


def test_settings_that_would_be_ignored_or_score_a_split_on_itself_are_refused(data, tiny_checkpoint, tmp_path):
    assert refusal("conll.py", "--system", "ours", "--checkpoint", tiny_checkpoint, "--epochs", 2, "--no-crf") == (
        "error: --checkpoint scores a trained checkpoint; --epochs, --crf would train one: leave them out")
    assert refusal("conll.py", "--system", "spacy", "--window-length", 128, "--crf", "--base", "minilm") == (
        "error: --system spacy does not read --window-length, --crf, --base: they set --system ours")   # before: dropped
    assert refusal("topic.py", "--system", "tfidf-svm", "--test", data / "bbc_test.jsonl", "--epochs", 2) == (
        "error: --system tfidf-svm does not read --epochs: they set --system ours")
    assert refusal("conll.py", "--system", "spacy", "--device", "cuda") == (
        "error: --system spacy runs on the CPU here, not on --device cuda")
    assert refusal("topic.py", "--system", "tfidf-svm", "--train", data / "bbc_train.jsonl", "--dev",
                   data / "bbc_dev.jsonl", "--test", data / "bbc_dev.jsonl") == (
        f"error: --dev and --test are the same file ({data / 'bbc_dev.jsonl'}): a split would be scored on what it "
        "trained or selected on")
    assert refusal("conll.py", "--system", "spacy", "--train", data / "eng.train", "--dev", data / "eng.testa",
                   "--test", data / "eng.testb", "--conllpp", data / "eng.testa") == (   # before: scored
        f"error: --dev and --conllpp are the same file ({data / 'eng.testa'}): a split would be scored on what it "
        "trained or selected on")
    assert refusal("conll.py", "--system", "ours", "--checkpoint", tiny_checkpoint, "--max-train-docs", 5) == (
        "error: --checkpoint scores a trained checkpoint; --max-train-docs would train one: leave them out")
    test_file = data / "bbc_test.jsonl"   # --output-json appends: before, to the test file or the manifest
    assert refusal("topic.py", "--system", "tfidf-svm", "--test", test_file, "--output-json", test_file) == (
        f"error: --output-json {test_file} is --test, an input of this run: give a results file of its own")
    assert refusal("conll.py", "--system", "ours", "--checkpoint", tiny_checkpoint, "--output-json",
                   tiny_checkpoint / "manifest.json") == (
        f"error: --output-json {tiny_checkpoint / 'manifest.json'} is inside the --checkpoint folder: give a results "
        "file elsewhere")
    assert refusal("topic.py", "--system", "tfidf-svm", "--test", test_file, "--output-json", tmp_path) == (
        f"error: --output-json {tmp_path}: give a file in an existing folder")   # before: after the whole run
    stance = ["--train", data / "stances.csv", "--bodies", data / "bodies.csv", "--test-stances",
              data / "test_stances.csv", "--test-bodies", data / "test_bodies.csv"]
    for script, args, error in (
            ("topic.py", ["--system", "tfidf-svm", "--limit", "-5"], "--limit: '-5' is not a whole number of at least 1"),
            ("stance.py", ["--system", "ours", "--checkpoint", tiny_checkpoint, *stance, "--unrelated-fraction", "0.5"],
             "--unrelated-fraction samples the training pairs; --checkpoint scores a trained checkpoint"),
            ("stance.py", ["--system", "tfidf-svm", *stance, "--max-body-words", "-1"], "--max-body-words must be 0")):
        out = subprocess.run([sys.executable, str(BENCHMARKS / script), *map(str, args)], cwd=REPO, capture_output=True,
                             text=True, timeout=180)
        assert out.returncode == 2 and error in out.stderr   # before: cut off the end, recorded, or a word cut off
    assert refusal("conll.py", "--system", "spacy", "--dataset", "re3d", "--train",
                   data / "re3d-train.conll", "--test", data / "re3d-test.conll", "--limit", 1) == (
        "error: too few training documents to hold out a dev set (1; raise --limit, or give more data)")   # before: give --dev
    (tmp_path / "ner_only").mkdir()
    manifest = json.loads((tiny_checkpoint / "manifest.json").read_text())
    manifest["tasks"] = [t for t in manifest["tasks"] if t["name"] == "entities"]
    (tmp_path / "ner_only" / "manifest.json").write_text(json.dumps(manifest))
    assert refusal("stance.py", "--system", "ours", "--checkpoint", tmp_path / "ner_only", "--train", data / "stances.csv",
                   "--bodies", data / "bodies.csv", "--test-stances", data / "test_stances.csv", "--test-bodies",
                   data / "test_bodies.csv") == (
        f"error: checkpoint {tmp_path / 'ner_only'} has no task 'stance' (tasks: entities)")


def test_bad_input_met_during_a_run_is_one_line_naming_the_users_file(data, tiny_checkpoint, tmp_path):
    """Before: tracebacks, one after the model loaded naming a deleted temporary copy of the data."""
    assert refusal("topic.py", "--system", "ours", "--checkpoint", tiny_checkpoint, "--train", data / "bbc_train.jsonl",
                   "--dev", data / "bbc_dev.jsonl", "--test", data / "bbc_test.jsonl", "--limit", 5) == (
        f"error: --checkpoint {tiny_checkpoint}: its 'topic' labels (arms_control, military_conflict, other, "
        "sanctions, summit_diplomacy, trade) lack business, sport, tech, which the benchmark's data holds: it was "
        "trained for other labels")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    assert refusal("conll.py", "--system", "ours", "--train", data / "eng.train", "--dev", data / "eng.testa",
                   "--test", data / "eng.testb", "--limit", 5, "--max-steps", 1, "--output", mine).startswith(
        f"error: output {mine} exists and is not a checkpoint")
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "mine"
    no_text = tmp_path / "no_text.jsonl"
    no_text.write_text('{"body": "Talks in Geneva."}\n', encoding="utf-8")
    assert refusal("runtime_agreement.py", "--checkpoint", tiny_checkpoint, "--articles", no_text) == (
        f'error: {no_text}:1: not a JSON object with a "text" field')   # before: KeyError: 'text'


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is there: cuda is usable")
@pytest.mark.parametrize("script, args", [("conll.py", ["--system", "ours", "--limit", 5]),
                                          ("consistency.py", ["--file", "data/example_article.txt"]),
                                          ("word_types.py", ["--articles", "data/example_article.txt", "--word", "US"]),
                                          ("capital_lines.py", ["--conll", "x.conll"])])
def test_a_device_the_machine_lacks_is_refused_before_any_work(tiny_checkpoint, script, args):
    if script != "conll.py":
        args = [*args, "--checkpoint", tiny_checkpoint]
    assert refusal(script, *args, "--device", "cuda").startswith(   # before: a traceback, for some after training
        "error: --device cuda: 'cuda' was asked for, but torch sees no GPU")


@pytest.mark.parametrize("script, args", [("consistency.py", ["--file", "data/example_article.txt"]),
                                          ("word_types.py", ["--articles", "data/example_article.txt", "--word", "US"]),
                                          ("capital_lines.py", ["--conll", "x.conll"])])
def test_a_gpu_with_a_cpu_only_runtime_is_refused_naming_the_flags(tiny_checkpoint, script, args):
    """Before: "--device cuda: ... no GPU" on a machine without one, and on a GPU machine a failure at
    load, after reading the input, naming neither flag (the commands named both)."""
    assert refusal(script, *args, "--checkpoint", tiny_checkpoint, "--device", "cuda", "--runtime", "onnx") == (
        "error: --runtime onnx runs on the CPU only, not with --device cuda: give --device cpu, or leave --device out")


def test_conll_hf_recipe_on_re3d(data, tiny_base):
    line = run("conll.py", "--dataset", "re3d", "--system", "hf-recipe", "--train", data / "re3d-train.conll",
               "--test", data / "re3d-test.conll", "--limit", 20, "--max-steps", 2, "--base", tiny_base)
    assert RESULT_KEYS | {"precision", "recall", "f1", "dev_f1"} <= set(line)
    assert (line["benchmark"], line["train_documents"]) == ("re3d", 18)   # 2 of 20 held out as dev


@pytest.mark.skipif(importlib.util.find_spec("spacy") is None, reason="spacy is not installed")
def test_conll_spacy(data):
    line = run("conll.py", "--system", "spacy", "--train", data / "eng.train", "--dev", data / "eng.testa",
               "--test", data / "eng.testb", "--limit", 20, "--max-steps", 2)
    assert RESULT_KEYS | {"precision", "recall", "f1", "dev_f1"} <= set(line)


def test_topic_bbc_tfidf_svm(data):
    line = run("topic.py", "--system", "tfidf-svm", "--train", data / "bbc_train.jsonl",
               "--dev", data / "bbc_dev.jsonl", "--test", data / "bbc_test.jsonl", "--limit", 20, "--max-train-docs", 6)
    assert RESULT_KEYS | {"accuracy", "macro_f1", "dev_accuracy"} <= set(line)
    assert line["train_documents"] == line["max_train_docs"] == 6
    assert line["accuracy"] == 1.0   # the classes share no word: a linear model separates them


def test_topic_reuters_ours(data, tiny_base, tmp_path):
    line = run("topic.py", "--dataset", "reuters", "--system", "ours", "--train", data / "reuters_train.jsonl",
               "--test", data / "reuters_test.jsonl", "--limit", 20, "--max-steps", 2, "--base", tiny_base,
               "--output", tmp_path / "ckpt")
    assert RESULT_KEYS | {"micro_f1", "macro_f1", "dev_micro_f1"} <= set(line)
    assert (line["benchmark"], line["topics"]) == ("reuters-r90", 4)   # only-in-train / only-in-test are out
    sampled = run("topic.py", "--dataset", "reuters", "--system", "ours", "--train", data / "reuters_train.jsonl",
                  "--test", data / "reuters_test.jsonl", "--limit", 20, "--max-steps", 2, "--base", tiny_base,
                  "--max-train-docs", 2, "--output", tmp_path / "sampled")
    assert sampled["topics"] < 4   # topics the sample left out are not scored against a model that never saw them


def test_stance_tfidf_svm(data):
    line = run("stance.py", "--system", "tfidf-svm", "--train", data / "stances.csv", "--bodies", data / "bodies.csv",
               "--test-stances", data / "test_stances.csv", "--test-bodies", data / "test_bodies.csv",
               "--limit", 20, "--unrelated-fraction", 0.5, "--max-body-words", 0)
    assert RESULT_KEYS | {"fnc_score", "macro_f1", "dev_fnc_score", "unrelated_fraction", "max_body_words"} <= set(line)
    assert line["unrelated_fraction"] == 0.5 and line["test_pairs"] == 15
    assert line["max_body_words"] == 0   # as given; before: null


def test_stance_ours(data, tiny_base, tmp_path):
    line = run("stance.py", "--system", "ours", "--train", data / "stances.csv", "--bodies", data / "bodies.csv",
               "--test-stances", data / "test_stances.csv", "--test-bodies", data / "test_bodies.csv",
               "--limit", 20, "--max-steps", 2, "--base", tiny_base, "--output", tmp_path / "ckpt")
    assert RESULT_KEYS | {"fnc_score", "macro_f1"} <= set(line)


def test_a_run_that_cuts_its_files_finds_them_again_on_resume(data, tiny_base, tmp_path):
    """The files a run cuts (FNC-1's dev held out, --limit) are kept in <output>.data/: before, each
    run wrote them to a new temporary folder, so --resume refused every such run as another."""
    args = ["--system", "ours", "--train", data / "stances.csv", "--bodies", data / "bodies.csv",
            "--test-stances", data / "test_stances.csv", "--test-bodies", data / "test_bodies.csv",
            "--limit", 20, "--max-steps", 2, "--base", tiny_base, "--output", tmp_path / "ckpt"]
    first = run("stance.py", *args)
    saved = (tmp_path / "ckpt" / "manifest.json").stat().st_mtime_ns
    out = subprocess.run([sys.executable, str(BENCHMARKS / "stance.py"), *map(str, args), "--resume"], cwd=REPO,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "this run has already ended" in out.stderr
    assert (tmp_path / "ckpt" / "manifest.json").stat().st_mtime_ns == saved   # nothing trained again
    assert json.loads(out.stdout)["fnc_score"] == first["fnc_score"]
    assert sorted(p.name for p in (tmp_path / "ckpt.data").iterdir()) == [
        "bodies.csv", "dev.csv", "test.csv", "test_bodies.csv", "train.csv"]


def test_output_json_is_checked_against_the_folder_ours_trains_into_by_default(tmp_path, monkeypatch):
    sys.path.insert(0, str(BENCHMARKS))
    import common
    monkeypatch.setattr(common, "ROOT", tmp_path)
    (tmp_path / "runs" / "bbc-ours").mkdir(parents=True)   # a checkpoint trained there before
    results = tmp_path / "runs" / "bbc-ours" / "results.jsonl"
    args = common.parser("", ["ours"]).parse_args(["--system", "ours", "--output-json", str(results)])
    with pytest.raises(SystemExit, match="is inside the --output folder"):   # before: appended into the checkpoint
        common.main(lambda _: pytest.fail("the run started"), args, None, "bbc")


def test_only_our_own_refusals_lose_their_traceback():
    sys.path.insert(0, str(BENCHMARKS))
    import common
    from inference.manifest import TaskSpec
    for raise_it, ours in ((lambda: TaskSpec("x", "regression", ["a"]), True), (lambda: json.loads("{"), False)):
        with pytest.raises(ValueError) as raised:
            raise_it()
        assert common._raised_here(raised.value) is ours


def test_fnc_score_is_the_official_one():
    sys.path.insert(0, str(BENCHMARKS))
    from stance import fnc_score
    gold = ["agree", "unrelated", "discuss", "disagree"]
    # best 1 + .25 + 1 + 1 = 3.25; got: agree right (1), unrelated right (.25), discuss as agree (.25), none (0)
    assert fnc_score(gold, ["agree", "unrelated", "agree", "unrelated"]) == pytest.approx(1.5 / 3.25)
    assert fnc_score(gold, gold) == 1.0


def test_fnc1_is_scored_and_timed_through_the_call_its_docs_name(tiny_checkpoint, monkeypatch):
    """benchmarks/README.md and stance.py said predict_batch; the labels (and the words/s) came
    from head_outputs, the encoder pass evaluate takes, and the checkpoint's decision rule."""
    import re
    import training.evaluation
    from inference import load
    from inference.predictor import NewsModel
    from training.corpus import Document
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import stance
    model = load(tiny_checkpoint, device="cpu")
    predicted = model.predict("Deal done, say officials.").chosen("stance")
    called, head_outputs = [], training.evaluation.head_outputs
    monkeypatch.setattr(training.evaluation, "head_outputs",
                        lambda *a, **k: called.append("head_outputs") or head_outputs(*a, **k))
    predict_batch = NewsModel.predict_batch
    monkeypatch.setattr(NewsModel, "predict_batch",
                        lambda *a, **k: called.append("predict_batch") or predict_batch(*a, **k))
    labels, _ = stance.ours(model, [Document("Deal done, say officials.", labels={"stance": ["neutral"]})])
    assert labels == predicted   # as predict decides
    readme = (REPO / "benchmarks" / "README.md").read_text(encoding="utf-8")
    timed = re.search(r"For `ours` the timed\s+call is (.*?) hf-recipe", readme, re.S).group(1)
    named = set(re.findall(r"\b(head_outputs|predict_batch)\b", timed + stance.__doc__))
    assert named == set(called) == {"head_outputs"}


def test_speed_times_every_runtime(tiny_checkpoint):
    pytest.importorskip("onnxruntime")
    out = subprocess.run([sys.executable, str(BENCHMARKS / "speed.py"), "--checkpoint", str(tiny_checkpoint),
                          "--limit", "2", "--repeat", "1", "--long", "--latency-articles", "1", "--onnx", "--quantize",
                          "--rounds", "2", "--tuned-malloc"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    [line] = [json.loads(l) for l in out.stdout.strip().splitlines()]   # the JSON line alone; the table on stderr
    assert "ratio" in out.stderr and line["runtime"] == "torch"
    assert "ours = entities + topic + stance, pipeline = entities only" in out.stderr   # the checkpoint's tasks
    for prefix in ("", "int8_", "onnx_", "onnx_int8_"):
        assert line[f"{prefix}words_per_second"] > 0
    assert set(line["accuracy"]) == {"ours", "ours-int8", "ours-onnx", "ours-onnx-int8"}
    assert (line["rounds"], line["malloc"]) == (2, "tuned")
    assert len(line["ratio_per_round"]) == len(line["onnx_int8_ratio_per_round"]) == 2


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "argument --threads: '0' is not a whole number of at least 1"),
    (["--latency-articles", "0"], "argument --latency-articles: '0' is not a whole number of at least 1"),
    (["--batch-size", "0"], "argument --batch-size: '0' is not a whole number of at least 1"),
    (["--repeat", "-1"], "--repeat must be at least 0"),
    (["--repeat", "0", "--long"], "no article to time: --repeat 0 times the --long articles alone, and none is there"),
    (["--stride", "-1"], "--stride must be at least 0"),
    (["--stride", "510"], "--stride 510: the pipeline's windows hold 510 tokens; give a smaller overlap"),
])
def test_speed_refuses_settings_a_system_process_would_fail_on(tiny_checkpoint, args, message):
    """Before, each was met by a child process after the export, as a traceback (set_num_threads,
    an empty latency list, the pipeline given no input, the tokenizer given a stride it cannot take)."""
    out = subprocess.run([sys.executable, str(BENCHMARKS / "speed.py"), "--checkpoint", str(tiny_checkpoint),
                          "--limit", "1", "--rounds", "1", *args], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and out.stdout == "", out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1].endswith(message)


def test_speed_names_the_long_articles_it_timed_with_repeat_0(tiny_checkpoint, tmp_path):
    """Before: --repeat 0 times the --long articles alone, but the line's split named --articles
    ("test.jsonl"), a file none of whose texts was timed."""
    (tmp_path / "long.txt").write_text("Putin met Trump in Helsinki. " * 20, encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / "speed.py"), "--checkpoint", str(tiny_checkpoint),
                          "--limit", "1", "--repeat", "0", "--long", str(tmp_path / "long.txt"),
                          str(tmp_path / "gone.txt"), "--rounds", "1", "--latency-articles", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    line = json.loads(out.stdout)
    assert (line["split"], line["articles"], line["repeat"]) == ("long.txt", 1, 0)


def test_speed_system_processes_time_the_articles_the_parent_read(tiny_checkpoint, tmp_path):
    """Before, each system process read --articles again: a file gone or changed meanwhile failed
    it, or had it time other texts than its peers."""
    texts = ["Putin met Trump in Helsinki.", "Talks in Geneva."]
    child = subprocess.Popen([sys.executable, str(BENCHMARKS / "speed.py"), "--system", "ours", "--exported", "none",
                              "--checkpoint", str(tiny_checkpoint), "--articles", str(tmp_path / "gone.jsonl"),
                              "--long", "--latency-articles", "1"], cwd=REPO, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = child.communicate(json.dumps(texts) + "\nround\nfinish\n", timeout=180)
    assert child.returncode == 0, err[-2000:]
    summary = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    assert (summary["articles"], summary["words"]) == (2, 8)


def test_speed_reports_the_runtime_its_ours_process_ran_and_the_latency_articles(tiny_checkpoint, tmp_path,
                                                                                 monkeypatch, capsys):
    """Before, the line's runtime was the parent's choose(): a chosen ONNX runtime whose export failed in
    the "ours" process, which then ran fp32 PyTorch, was reported under the ONNX name; and the line
    left out --latency-articles, which moves p50 / p95."""
    sys.path.insert(0, str(BENCHMARKS))
    import speed
    import inference.runtimes
    monkeypatch.setattr(inference.runtimes, "choose", lambda measured: ("onnx", "the fastest"))
    summary = {"articles": 1, "words": 4, "seconds": 1.0, "rounds": [1.0], "words_per_second": 4.0,
               "first_round_words_per_second": 4.0, "p50_ms": 1.0, "p95_ms": 1.0, "peak_rss_mb": 1.0}
    monkeypatch.setattr(speed, "time_systems", lambda args, systems, exported, texts: {
        name: {**summary, "system": name, "runtime": {"pipeline": None, "ours": "torch"}.get(name, name)}
        for name in systems})
    (tmp_path / "plain.jsonl").write_text('{"text": "Putin met Trump."}\n', encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["speed.py", "--checkpoint", str(tiny_checkpoint), "--articles",
                                      str(tmp_path / "plain.jsonl"), "--long", "--rounds", "1",
                                      "--latency-articles", "7"])
    speed.main()
    line = json.loads(capsys.readouterr().out)
    assert (line["runtime"], line["latency_articles"]) == ("torch", 7)


@pytest.mark.parametrize("twice", [False, True])
def test_speed_names_long_articles_of_one_name_apart_and_refuses_one_given_twice(tiny_checkpoint, tmp_path,
                                                                                 monkeypatch, capsys, twice):
    """Before: two --long files of one name in different folders made the split "long.txt +
    long.txt", and a file given twice was timed twice under that same split."""
    sys.path.insert(0, str(BENCHMARKS))
    import speed
    summary = {"articles": 2, "words": 4, "seconds": 1.0, "rounds": [1.0], "words_per_second": 4.0, "runtime": "torch",
               "first_round_words_per_second": 4.0, "p50_ms": 1.0, "p95_ms": 1.0, "peak_rss_mb": 1.0}
    monkeypatch.setattr(speed, "time_systems", lambda args, systems, exported, texts: {
        name: {**summary, "system": name} for name in systems})
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "long.txt").write_text("Putin met Trump in Helsinki.", encoding="utf-8")
    long = [tmp_path / "a" / "long.txt", tmp_path / ("a" if twice else "b") / "long.txt"]
    monkeypatch.setattr(sys, "argv", ["speed.py", "--checkpoint", str(tiny_checkpoint), "--repeat", "0", "--long",
                                      *map(str, long), "--rounds", "1", "--latency-articles", "1"])
    if twice:
        with pytest.raises(SystemExit):
            speed.main()
        assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
            f"error: --long {long[1]} is given twice: give each article once")
    else:
        speed.main()
        assert json.loads(capsys.readouterr().out)["split"] == "a/long.txt + b/long.txt"


def test_speed_system_processes_say_the_runtime_they_ran(tiny_checkpoint):
    child = subprocess.Popen([sys.executable, str(BENCHMARKS / "speed.py"), "--system", "ours-int8", "--exported",
                              "none", "--checkpoint", str(tiny_checkpoint), "--long", "--latency-articles", "1"],
                             cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = child.communicate(json.dumps(["Talks in Geneva."]) + "\nround\nfinish\n", timeout=180)
    assert child.returncode == 0, err[-2000:]
    assert json.loads([line for line in out.splitlines() if line.startswith("{")][-1])["runtime"] == "torch-int8"


def test_speed_refuses_a_checkpoint_without_an_ner_task(tiny_base, news_tasks, tmp_path):
    """Before: export_ner's "no task 'entities'" as a traceback; a task of another name is exported."""
    from conftest import _tiny_checkpoint
    checkpoint = _tiny_checkpoint(tmp_path / "topics", tiny_base, [t for t in news_tasks if t.kind != "ner"])
    out = subprocess.run([sys.executable, str(BENCHMARKS / "speed.py"), "--checkpoint", str(checkpoint),
                          "--limit", "1", "--rounds", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and out.stdout == "", out.stderr[-2000:]
    assert out.stderr.strip().endswith("has no NER task: the transformers pipeline timed against it is a token "
                                       "classifier")


@pytest.mark.parametrize("script, args", [("capital_lines.py", ["--conll", "x.conll"]),
                                          ("word_types.py", ["--articles", "x.conll", "--word", "EU"]),
                                          ("consistency.py", ["--file", "x.conll"])])
def test_entity_scripts_refuse_a_checkpoint_without_an_entity_task(tiny_base, news_tasks, tmp_path, script, args):
    """Before: capital_lines scored every gold entity as missed (F1 0.0) and word_types counted every
    occurrence as outside an entity, without a word on why."""
    from conftest import _tiny_checkpoint
    checkpoint = _tiny_checkpoint(tmp_path / "topics", tiny_base, [t for t in news_tasks if t.kind != "ner"])
    (tmp_path / "x.conll").write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n",
                                      encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / script), *args, "--checkpoint", str(checkpoint)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and out.stdout == "", out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1].startswith(f"error: checkpoint {checkpoint} has no entity task: ")


def test_speed_loads_our_variants_on_the_cpu_as_the_pipeline_runs(tiny_checkpoint, monkeypatch):
    """Before, "ours" loaded with device "auto": on a GPU machine, a GPU timed against the CPU
    pipeline under a CPU label."""
    import argparse
    sys.path.insert(0, str(BENCHMARKS))
    import speed
    from inference import load
    asked = []

    def recording_load(path, **kwargs):
        asked.append(kwargs)
        return load(path, **kwargs)
    monkeypatch.setattr(speed, "load", recording_load)
    args = argparse.Namespace(checkpoint=str(tiny_checkpoint), articles=str(REPO / "data" / "test.jsonl"), limit=2)
    docs = speed.annotated_articles(args, load(tiny_checkpoint).manifest)
    asked.clear()
    speed.accuracy_cost(args, ["ours", "ours-fp32"], docs)
    assert [kwargs.get("device") for kwargs in asked] == ["cpu", "cpu"]


def test_speed_measures_no_accuracy_on_articles_without_annotations(tiny_checkpoint, tmp_path, capsys):
    """Before, such articles gave an accuracy block of empty objects, one per variant; and a bad
    annotation is named before the timing, not after it."""
    import argparse
    sys.path.insert(0, str(BENCHMARKS))
    import speed
    from inference import load
    from training.corpus import DataError
    manifest = load(tiny_checkpoint).manifest
    (tmp_path / "plain.jsonl").write_text('{"text": "Putin met Trump in Helsinki."}\n', encoding="utf-8")
    args = argparse.Namespace(checkpoint=str(tiny_checkpoint), articles=str(tmp_path / "plain.jsonl"), limit=None)
    assert speed.annotated_articles(args, manifest) is None
    assert "annotates none of the checkpoint's tasks: no accuracy measured" in capsys.readouterr().err
    (tmp_path / "plain.jsonl").write_text('{"text": "Putin met Trump.", "stance": "angry"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="plain.jsonl:1: field 'stance': unknown label 'angry'"):
        speed.annotated_articles(args, manifest)


def test_memory_names_a_source_without_texts_before_loading(tmp_path):
    for content, error in (("", "no texts"), ("plain words\n", ":1: not a JSON object with a \"text\" field")):
        (tmp_path / "source.jsonl").write_text(content, encoding="utf-8")
        out = subprocess.run([sys.executable, str(BENCHMARKS / "memory.py"), "--checkpoint", str(tmp_path / "none"),
                              "--source", str(tmp_path / "source.jsonl")], cwd=REPO, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 1 and out.stderr.strip().endswith(error), out.stderr[-2000:]


@pytest.mark.parametrize("script, args, error", [
    ("memory.py", ["--checkpoint", "none", "--megabytes", "inf"], "give a size of at least one character"),
    ("memory.py", ["--checkpoint", "none", "--megabytes", "-1"], "give a size of at least one character"),
    ("word_types.py", ["--checkpoint", "none", "--articles", "x.txt", "--word", " "], "give a word, not blank space"),
    ("word_types.py", ["--checkpoint", "none", "--articles", "latin1.txt", "--word", "US"], "not valid UTF-8"),
    ("consistency.py", ["--checkpoint", "none", "--file", "missing.txt"], "--file 'missing.txt': No such file or directory"),
    ("consistency.py", ["--checkpoint", "none", "--file", "empty.conll"], "error: empty.conll: no text"),
    ("memory.py", ["--checkpoint", "none", "--source", "blank.jsonl"], "error: blank.jsonl: no texts"),
    ("speed.py", ["--checkpoint", "none", "--limit", "1", "--rounds", "1"], "error: --checkpoint none: does not exist"),
    ("speed.py", ["--checkpoint", "none", "--limit", "1", "--long", "latin1.txt"], "latin1.txt:1: not valid UTF-8"),
    ("speed.py", ["--checkpoint", "none", "--limit", "1", "--long", "."], "--long '.': a folder; give a file"),
    ("capital_lines.py", ["--checkpoint", "none", "--conll", "missing.conll"], "No such file or directory"),
    ("runtime_agreement.py", ["--checkpoint", "none", "--file", "missing.txt"],
     "--file 'missing.txt': No such file or directory"),
    ("runtime_agreement.py", ["--checkpoint", "none", "--file", "latin1.txt"], "not valid UTF-8"),
    ("runtime_agreement.py", ["--checkpoint", "none", "--file", "empty.conll"], "error: empty.conll: no text"),
    ("runtime_agreement.py", ["--checkpoint", "none", "--file", "news.jsonl"], "error: --checkpoint none: does not exist"),
    ("e5_conversion.py", ["--conll", "empty.conll"], "--conll empty.conll: no sentences to compare"),
    ("e5_conversion.py", ["--conll", "latin1.txt"], "latin1.txt:1: not valid UTF-8"),
    ("e5_conversion.py", ["--conll", "empty.conll", "--news", "news.jsonl"],
     'news.jsonl:3: not a JSON object with a "text" field'),
    ("standins.py", ["--data", "nodata", "--output", "out"], "--data nodata: no bbc_news/train.jsonl")])
def test_diagnostic_scripts_refuse_bad_input_in_one_line_before_loading(tmp_path, script, args, error):
    """Before: an OverflowError after loading, 287 occurrences of a blank word, tracebacks (standins:
    after making its output folder; runtime_agreement: a missing or undecodable file, no checkpoint;
    speed: a --long file not UTF-8 or a folder); consistency found no mixed types in an empty
    article, and memory timed 0 characters of a source whose texts are all empty."""
    (tmp_path / "latin1.txt").write_bytes("Z\xfcrich".encode("latin-1"))
    (tmp_path / "empty.conll").write_text("", encoding="utf-8")
    (tmp_path / "news.jsonl").write_text('{"text": "One."}\n\nplain words\n', encoding="utf-8")
    (tmp_path / "blank.jsonl").write_text('{"text": ""}\n{"text": " \\n"}\n', encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1 and error in out.stderr.strip().splitlines()[-1], out.stderr[-2000:]
    assert "Traceback" not in out.stderr and not (tmp_path / "out").exists()


# runs a benchmark script as on a machine without the onnx extra
WITHOUT_ONNX = ("import runpy, sys; sys.modules['onnxruntime'] = None; sys.path.insert(0, sys.argv[1]); "
                "sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')")


@pytest.mark.parametrize("script, args", [
    ("consistency.py", ["--file", "article.txt", "--runtime", "onnx"]),
    ("speed.py", ["--onnx", "--articles", "news.jsonl", "--repeat", "1", "--rounds", "1", "--long"])])
def test_an_onnx_runtime_without_the_onnx_extra_is_refused_in_one_line(tiny_checkpoint, tmp_path, script, args):
    """Before: a traceback, ImportError (consistency, word_types, capital_lines: after the checkpoint
    loaded; speed: its ONNX system process's, after the export and the other systems' warm-up)."""
    (tmp_path / "article.txt").write_text("Putin met Biden in Geneva.", encoding="utf-8")
    (tmp_path / "news.jsonl").write_text('{"text": "Putin met Biden in Geneva."}\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", WITHOUT_ONNX, str(BENCHMARKS), str(BENCHMARKS / script),
                          "--checkpoint", str(tiny_checkpoint), *args], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "onnx" in out.stderr.strip().splitlines()[-1] and not out.stdout.strip()


def test_memory_says_which_runtime_and_device_it_measured(tiny_checkpoint):
    """Before, the line left them out, though the peak memory moves with the runtime."""
    line = run("memory.py", "--checkpoint", tiny_checkpoint, "--megabytes", "0.001")
    assert line["runtime"] == "torch" and line["device"]


def test_memory_keeps_the_repeated_texts_apart(tiny_checkpoint, tmp_path):
    """Before, one copy's last word was glued to the next copy's first: 1,000 characters of
    "Geneva" repeated were one word, "GenevaGeneva..."."""
    write_jsonl(tmp_path / "one.jsonl", [{"text": "Geneva"}])
    line = run("memory.py", "--checkpoint", tiny_checkpoint, "--source", tmp_path / "one.jsonl", "--megabytes", "0.001")
    assert line["characters"] == 1000 and line["words"] == 125   # "Geneva\n\n" is 8 characters


# memory.py with a load whose own peak passes 600 MB above what it keeps (int8's load copies the weights)
LOAD_PEAK = ("import runpy, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import inference; "
             "real = inference.load\n"
             "def load(*a, **k):\n"
             "    ballast = b'x' * (600 << 20); del ballast; model = real(*a, **k)\n"
             "    print([l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')][0], "
             "file=sys.stderr); return model\n"
             "inference.load = load; sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def test_memory_measures_the_peak_of_predict_not_of_loading(tiny_checkpoint):
    """Before, both figures were the process's peak since it started: rss_after_load_mb was the
    load's own peak, not what stayed, and peak_rss_mb hid all that predict took below it (on an
    untrained MiniLM checkpoint in torch-int8 the two were equal, 582.6 MB, at 50,000 characters)."""
    out = subprocess.run([sys.executable, "-c", LOAD_PEAK, str(BENCHMARKS), str(BENCHMARKS / "memory.py"),
                          "--checkpoint", str(tiny_checkpoint), "--megabytes", "0.001"],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    load_peak = int([l for l in out.stderr.splitlines() if l.startswith("VmHWM")][0].split()[1]) / 1024
    line = json.loads(out.stdout)
    assert line["rss_after_load_mb"] < load_peak - 300 and line["peak_rss_mb"] < load_peak - 300, (load_peak, line)
    assert line["peak_rss_mb"] >= line["rss_after_load_mb"] and line["peak_since"] == "load"


def test_speed_reports_each_process_its_own_peak_memory():
    ballast = b"x" * (1 << 30)   # this process's peak passes 1 GB; a child's own must not count it
    child = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "from common import peak_rss_mb; import speed; print(peak_rss_mb())", str(BENCHMARKS)],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    del ballast
    assert child.returncode == 0, child.stderr[-2000:]
    assert 0 < float(child.stdout) < 1000   # torch and transformers imported; ru_maxrss said more than 1024 here


def test_consistency_lists_words_with_more_than_one_type(tiny_checkpoint, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    from consistency import mixed_types

    from inference import Entity
    entities = [Entity("Putin", "PER", 0, 5, 0.9), Entity("Putin-Trump", "MISC", 10, 21, 0.8),
                Entity("TASS", "ORG", 30, 34, 0.9), Entity("Trump", "PER", 40, 45, 0.9)]
    assert mixed_types(entities) == {"Putin": ["MISC", "PER"], "Trump": ["MISC", "PER"]}
    accented = [Entity("Élysée", "LOC", 0, 6, 0.9), Entity("Élysée Palace", "ORG", 10, 23, 0.9),
                Entity("d'Öcalan", "PER", 30, 38, 0.9)]
    assert mixed_types(accented) == {"Élysée": ["LOC", "ORG"]}   # capitals beyond A-Z; "d'Öcalan" starts lower
    irish = [Entity("Sean O'Brien", "PER", 0, 12, 0.9), Entity("O'Hare", "LOC", 20, 26, 0.9),
             Entity("O’Neill", "PER", 30, 37, 0.9), Entity("O’Hare", "LOC", 40, 46, 0.9)]
    assert mixed_types(irish) == {}   # before: "O" was both PER and LOC
    possessive = [Entity("Putin's", "PER", 0, 7, 0.9), Entity("PUTIN'S", "PER", 10, 17, 0.9),
                  Entity("Jones'", "PER", 20, 26, 0.9), Entity("Putin", "ORG", 30, 35, 0.9),
                  Entity("PUTIN", "ORG", 40, 45, 0.9), Entity("Jones", "ORG", 50, 55, 0.9)]
    assert mixed_types(possessive) == {name: ["ORG", "PER"] for name in ("Jones", "PUTIN", "Putin")}
    dotted = [Entity("U.S.", "LOC", 0, 4, 0.9), Entity("U.N. Security Council", "ORG", 10, 31, 0.9),
              Entity("Washington.", "LOC", 40, 51, 0.9), Entity("Washington", "LOC", 60, 70, 0.9)]
    assert mixed_types(dotted) == {}   # before: "U" was both LOC and ORG
    article = tmp_path / "article.txt"
    article.write_text("Putin met Trump in Helsinki. TASS said Putin was pleased.", encoding="utf-8")
    line = run("consistency.py", "--checkpoint", tiny_checkpoint, "--file", article, "--device", "cpu")
    assert line["entities"] == len(line["spans"]) and isinstance(line["mixed_types"], dict)
    assert line["device"].startswith("cpu (") and line["runtime"] == "torch"


def test_consistency_compares_types_within_one_ner_task(tiny_base, tmp_path):
    """Before: a name that two NER tasks type each in its own way ("Kalashnikov" PER in entities,
    WEAPON in weapons) was listed as typed inconsistently, and so was every name of a checkpoint
    whose second task renames the first's types."""
    sys.path.insert(0, str(BENCHMARKS))
    from consistency import mixed_types

    from inference import Entity
    entities = [Entity("Kalashnikov", "PER", 0, 11, 0.9), Entity("Kalashnikov", "WEAPON", 0, 11, 0.9, "weapons"),
                Entity("Putin", "PER", 20, 25, 0.9), Entity("Putin", "ORG", 30, 35, 0.9)]
    assert mixed_types(entities) == {"Putin (entities)": ["ORG", "PER"]}
    assert mixed_types(entities[2:]) == {"Putin": ["ORG", "PER"]}   # one task: named as before
    import torch
    from transformers import AutoModel, AutoTokenizer
    from inference.checkpoint import save_checkpoint
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    from training.schema import NEWS_SCHEMA, task_specs
    renamed = {"PER": "PERSON", "ORG": "ORGANISATION", "LOC": "PLACE", "MISC": "OTHER"}
    tasks = task_specs({**NEWS_SCHEMA, "twin": {"kind": "ner", "labels": list(renamed.values())}})
    torch.manual_seed(0)
    model = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), tasks)
    model.heads["twin"].load_state_dict(model.heads["entities"].state_dict())   # entities' spans, renamed
    checkpoint = save_checkpoint(model, AutoTokenizer.from_pretrained(tiny_base),
                                 Manifest(tasks=tasks, base_model="tiny", window_length=32, window_overlap=8),
                                 tmp_path / "ckpt")
    article = tmp_path / "article.txt"
    article.write_text("Putin met Biden in Geneva. Putin said the US would leave.", encoding="utf-8")
    line = run("consistency.py", "--checkpoint", checkpoint, "--file", article, "--device", "cpu")
    twins = [span for span in line["spans"] if span[4] == "twin"]
    assert any(any(c.isupper() for c in span[0]) for span in twins)   # names the twin types: the check can fail
    assert len(twins) * 2 == line["entities"] == len(line["spans"])
    assert all(set(types) <= set(renamed) or set(types) <= set(renamed.values())
               for types in line["mixed_types"].values()), line["mixed_types"]


def test_word_types_counts_the_type_that_covers_each_occurrence(tiny_checkpoint, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    from word_types import word_types

    from inference import Entity, Prediction
    text = "US envoys met us. The US Treasury agreed. USA and AUS did not. Team US won. US-led talks."
    entities = [Entity("US", "LOC", 0, 2, 0.9), Entity("US Treasury", "ORG", 22, 33, 0.8),
                Entity("Team US", "ORG", 63, 70, 0.7), Entity("US-l", "MISC", 76, 80, 0.5)]
    result = word_types([text], [Prediction(entities=entities, labels={})], "US")
    assert result == {"occurrences": 4, "types": {"ORG": 2, "LOC": 1, "MISC": 1}, "in_longer_spans": 3,
                      "longer_spans": {"US Treasury (ORG)": 1, "Team US (ORG)": 1, "US-l (MISC)": 1}}
    assert word_types([text], [Prediction(entities=entities, labels={})], "us")["types"] == {"none": 1}
    assert word_types([text], [Prediction(entities=entities, labels={})], "Team US won")["types"] == {"partial": 1}
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps({"text": text}) + "\n", encoding="utf-8")
    line = run("word_types.py", "--checkpoint", tiny_checkpoint, "--articles", articles, "--word", "US", "--quantize")
    assert line["articles"] == 1 and line["words"]["US"]["occurrences"] == 4
    assert line["device"].startswith("cpu (") and line["runtime"] == "torch-int8"


def test_runtime_agreement_compares_every_variant_with_fp32(tiny_checkpoint, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("Putin met Trump in Helsinki. TASS said Putin was pleased.", encoding="utf-8")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "article.txt").write_text("Merkel met Macron in Berlin.", encoding="utf-8")
    line = run("runtime_agreement.py", "--checkpoint", tiny_checkpoint, "--file", article,
               "--file", tmp_path / "other" / "article.txt")
    assert list(line["files"]) == [str(article), str(tmp_path / "other" / "article.txt")]   # one name, two files
    result = line["files"][str(article)]
    from inference.runtimes import available
    assert set(result) == {"fp32", "pipeline", *(set(available()) - {"torch"})}
    for variant in set(result) - {"fp32"}:
        assert result[variant]["same"] + len(result[variant]["only_fp32"]) == result["fp32"]
    assert line["device"] == "cpu"
    out = subprocess.run([sys.executable, str(BENCHMARKS / "runtime_agreement.py"), "--checkpoint", str(tiny_checkpoint),
                          "--file", str(article), "--task", "topic"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 2 and "--task topic: the checkpoint's NER tasks are entities" in out.stderr   # before: 0 of 0
    out = subprocess.run([sys.executable, str(BENCHMARKS / "runtime_agreement.py"), "--checkpoint", str(tiny_checkpoint),
                          "--file", str(article), "--variants", ","], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 2 and "--variants ',': no names: give some of " in out.stderr   # before: "--variants:  not among"


def test_runtime_agreement_compares_the_pipeline_with_the_entities_of_its_task_alone(tiny_base, tmp_path):
    """The export carries one NER task (--task): before, the pipeline was compared with every NER
    task's entities, and counted as missing those of the others ("WEAPON" spans for an export of
    entities, which has no such type)."""
    from conftest import _tiny_checkpoint
    from inference import load
    from training.schema import NEWS_SCHEMA, task_specs
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", tiny_base,
                                  task_specs({**NEWS_SCHEMA, "weapons": {"kind": "ner", "labels": ["WEAPON", "PER"]}}))
    text = "Putin met Trump in Helsinki. TASS said Putin was pleased."
    (tmp_path / "article.txt").write_text(text, encoding="utf-8")
    (tmp_path / "articles.jsonl").write_text(json.dumps({"text": text}) + "\n", encoding="utf-8")
    entities = load(checkpoint, runtime="torch").predict(text).entities
    ours = {(e.start, e.end, e.label) for e in entities if e.task == "entities"}
    assert any(e.task == "weapons" for e in entities)   # untrained: the other task finds spans too
    line = run("runtime_agreement.py", "--checkpoint", checkpoint, "--file", tmp_path / "article.txt",
               "--articles", tmp_path / "articles.jsonl", "--variants", "pipeline")
    pipeline = line["files"][str(tmp_path / "article.txt")]["pipeline"]
    assert not any(" WEAPON " in span for span in pipeline["only_fp32"])
    assert pipeline["fp32"] == len(ours) == pipeline["same"] + len(pipeline["only_fp32"])
    counted = line["articles"]["pipeline"]
    assert counted["fp32"] == len(ours) == counted["same"] + counted["only_fp32"]


def test_runtime_agreement_counts_a_span_that_two_ner_tasks_find_once_for_each(tiny_base, tmp_path):
    """Before: the runtimes' entities were keyed without their task, so a span found by two NER tasks
    counted once, and a runtime that lost it in one task alone still agreed on it."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from inference import load
    from inference.checkpoint import save_checkpoint
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    from training.schema import NEWS_SCHEMA, task_specs
    tasks = task_specs({**NEWS_SCHEMA, "twin": NEWS_SCHEMA["entities"]})   # entities' labels, and its head
    torch.manual_seed(0)
    model = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), tasks)
    model.heads["twin"].load_state_dict(model.heads["entities"].state_dict())
    checkpoint = save_checkpoint(model, AutoTokenizer.from_pretrained(tiny_base),
                                 Manifest(tasks=tasks, base_model="tiny", window_length=32, window_overlap=8),
                                 tmp_path / "ckpt")
    text = "Putin met Trump in Helsinki. TASS said Putin was pleased."
    (tmp_path / "article.txt").write_text(text, encoding="utf-8")
    entities = load(checkpoint, runtime="torch").predict(text).entities
    twins = {(e.start, e.end, e.label) for e in entities if e.task == "twin"}
    assert twins and twins == {(e.start, e.end, e.label) for e in entities if e.task == "entities"}
    result = run("runtime_agreement.py", "--checkpoint", checkpoint, "--file", tmp_path / "article.txt",
                 "--variants", "torch-int8")["files"][str(tmp_path / "article.txt")]
    assert result["fp32"] == len(entities) == 2 * len(twins)
    int8 = result["torch-int8"]
    assert int8["same"] + len(int8["only_fp32"]) == result["fp32"]
    assert all(span.endswith(("(entities)", "(twin)")) for span in int8["only_fp32"] + int8["only_this"])


def test_runtime_agreement_counts_articles_together_for_the_variants_asked(tiny_checkpoint, tmp_path):
    articles = tmp_path / "articles.jsonl"
    texts = ["Putin met Trump in Helsinki.", "TASS said Putin was pleased."]
    articles.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    line = run("runtime_agreement.py", "--checkpoint", tiny_checkpoint, "--articles", articles,
               "--variants", "torch-int8,")   # before: "--variants:  not among ...", an empty name refused
    counts = line["articles"]
    assert line["files"] == {} and counts["documents"] == 2 and set(counts) == {"documents", "fp32", "torch-int8"}
    assert counts["torch-int8"]["same"] + counts["torch-int8"]["only_fp32"] == counts["fp32"]


def test_capital_lines_scores_sentences_in_capitals_apart(tiny_checkpoint, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    from capital_lines import split_by_capitals

    from inference import Entity, Prediction
    from training.metrics import entity_metrics
    from training.readers import read_conll
    conll = tmp_path / "capitals.conll"
    conll.write_text("-DOCSTART- -X- -X- O\n\nSOCCER NN I-NP O\n- : O O\nJAPAN NNP I-NP I-LOC\nWIN VB I-VP O\n\n"
                     "Japan NNP I-NP I-LOC\nbeat VB I-VP O\nSyria NNP I-NP I-LOC\n\nUS NNP I-NP I-LOC\n",
                     encoding="utf-8")
    doc, = read_conll(conll)
    assert doc.text == "SOCCER - JAPAN WIN\nJapan beat Syria\nUS"
    # "JAPAN" in the headline missed, the body right, "US" (too short to be a headline) typed ORG
    predicted = [Entity("Japan", "LOC", 19, 24, 0.9), Entity("Syria", "LOC", 30, 35, 0.9), Entity("US", "ORG", 36, 38, 0.6)]
    groups = split_by_capitals([doc], [Prediction(entities=predicted, labels={})])
    assert [len(gold) for gold, _ in groups.values()] == [1, 2]
    assert entity_metrics(*groups["capitals"])["recall"] == 0.0
    other = entity_metrics(*groups["other"])
    assert (other["precision"], other["recall"]) == (2 / 3, 2 / 3)
    line = run("capital_lines.py", "--checkpoint", tiny_checkpoint, "--conll", conll, "--threads", 1, "--device", "cpu")
    assert line["device"].startswith("cpu (") and line["runtime"] == "torch"
    assert (line["capitals"]["sentences"], line["other"]["sentences"]) == (1, 2)
    assert 0.0 <= line["other"]["f1"] <= 1.0
    body = tmp_path / "body.conll"
    body.write_text("Japan NNP I-NP I-LOC\nbeat VB I-VP O\nSyria NNP I-NP I-LOC\n", encoding="utf-8")
    line = run("capital_lines.py", "--checkpoint", tiny_checkpoint, "--conll", body, "--device", "cpu")
    assert line["capitals"] == {"sentences": 0} and line["other"]["sentences"] == 1   # before: seqeval's TypeError


def test_capital_lines_refuses_entity_types_the_checkpoint_lacks(tiny_checkpoint, tmp_path):
    """Before: a re3d file scored with a CoNLL checkpoint printed F1 0.0 for every type, read as a
    result, where conll.py and ensemble.py refuse it."""
    conll = tmp_path / "re3d.conll"
    conll.write_text("Steel\tB-Organisation\nmet\tO\nJones\tB-Person\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(BENCHMARKS / "capital_lines.py"), "--checkpoint", str(tiny_checkpoint),
                          "--conll", str(conll), "--device", "cpu"], cwd=REPO, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 1 and not out.stdout and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1] == (f"error: {conll}: entity types Organisation, Person, which checkpoint "
                                                   f"{tiny_checkpoint} lacks (LOC, MISC, ORG, PER)")
