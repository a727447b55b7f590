"""Options a run would not honour and inputs it would misread, refused or recorded before any
training: cheap runs on small files written here."""
import csv
import json
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


def test_a_test_bodies_file_without_a_pair_id_is_named_not_its_temporary_copy(fnc):
    """Before: 'error: /tmp/tmpXXXX/test.csv:2: missing pair id: Body ID '99' is not in
    /tmp/tmpXXXX/test_bodies.csv', copies the user cannot open."""
    test = write_csv(fnc / "test_stances.csv", ["Headline", "Body ID", "Stance"], [["A summit", "99", "agree"]])
    assert refusal("stance.py", *stance_args(fnc, test, fnc / "bodies.csv")) == (
        f"error: --test-stances {test}: Body ID '99' is not in --test-bodies {fnc / 'bodies.csv'}")


def test_a_bodies_file_without_its_columns_is_one_line(fnc):
    """Before: a traceback, KeyError: 'articleBody' (e.g. the stances file given as the bodies)."""
    test = write_csv(fnc / "test_stances.csv", ["Headline", "Body ID", "Stance"], [["A summit", "1", "agree"]])
    assert refusal("stance.py", *stance_args(fnc, test, test)) == (
        f"error: --test-bodies {test}: no column 'articleBody' (columns: Headline, Body ID, Stance)")


def test_a_stance_outside_fnc1s_four_is_refused(fnc):
    """Before: tfidf-svm scored 'agre' as a class no system can predict: FNC score 0.0, no error."""
    test = write_csv(fnc / "test_stances.csv", ["Headline", "Body ID", "Stance"], [["A summit", "1", "agre"]])
    assert refusal("stance.py", *stance_args(fnc, test, fnc / "bodies.csv")) == (
        f"error: --test-stances {test}: stance 'agre' is not one of agree, disagree, discuss, unrelated")


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
