"""`pip install .` without extras is enough to predict and export: the training-only packages
are made unimportable here, as they are in such an install."""
import subprocess
import sys

from conftest import REPO

TRAINING_ONLY = ("seqeval", "sklearn", "datasets", "matplotlib", "scipy", "spacy", "onnxruntime", "onnxscript")
RUN_WITHOUT_THEM = f"""
import sys
for name in {TRAINING_ONLY!r}:
    sys.modules[name] = None   # importing it now raises ImportError, as if it were not installed
from training.cli import main
sys.exit(main(sys.argv[1:]))
"""


def newsmodel(*args):
    return subprocess.run([sys.executable, "-c", RUN_WITHOUT_THEM, *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def test_predict_and_export_work_without_the_training_extras(tiny_checkpoint, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("GENEVA, May 4 - Negotiators met on Tuesday.", encoding="utf-8")
    predicted = newsmodel("predict", "--checkpoint", tiny_checkpoint, "--file", article)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert '"entities"' in predicted.stdout
    exported = newsmodel("export", "--checkpoint", tiny_checkpoint, "--output", tmp_path / "ner")
    assert exported.returncode == 0, exported.stderr[-2000:]


def test_training_without_its_extras_says_what_to_install(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"text": "Talks in Geneva.", "stance": "neutral"}\n', encoding="utf-8")
    trained = newsmodel("train", "--train", data, "--output", tmp_path / "out")
    assert trained.returncode == 2 and "pip install 'newsmodel[train]'" in trained.stderr
