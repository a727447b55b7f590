"""main(): the parser every command shares, --help, --version."""
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest

from conftest import REPO

# Each argument list ends in the parser (help, or an argument error) before any command runs
PARSED_ONLY = [["--help"], ["--version"], [], ["train", "--bogus"], ["evaluate"], ["calibrate", "--data"],
               *([command, "--help"] for command in ("train", "evaluate", "calibrate", "predict", "export"))]


def test_help_and_argument_errors_import_no_torch_nor_transformers():
    """Before: `newsmodel --help` (any command's, and a mistyped flag) imported torch and
    transformers first, 4.6 of its 5-6 seconds: `import training` imported inference, which
    imported both, and the commands' modules imported the readers and TrainConfig, which did too."""
    script = f"""
import sys
from training.cli import main
for argv in {PARSED_ONLY!r}:
    try:
        main(argv)
    except SystemExit:
        pass
    heavy = [name for name in ("torch", "transformers") if name in sys.modules]
    assert not heavy, (argv, heavy)
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]


def test_a_commands_argument_errors_import_no_torch_nor_transformers(tmp_path):
    """Before: main() imported transformers (and torch) to quiet its logging before any command ran,
    and the commands imported the readers, devices and checkpoint modules before their checks: `train`
    without --train, `predict` without a checkpoint, took seconds to say so."""
    missing, folder = str(tmp_path / "missing"), str(tmp_path)
    failing = [["train", "--output", missing], ["predict", "Talks.", "--checkpoint", missing],
               ["predict", "Talks.", "--pair-file", folder, "--checkpoint", folder],
               ["evaluate", "--data", missing, "--checkpoint", missing],
               ["evaluate", "--data", missing, "--checkpoint", folder],
               ["calibrate", "--data", missing, "--checkpoint", folder],
               ["export", "--output", missing, "--checkpoint", missing]]
    _refused_without_torch(failing)


def test_version_is_the_projects(capsys):
    from training.cli import main
    with open(REPO / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"newsmodel {project['version']}")


def test_version_of_an_installed_package_and_of_none(monkeypatch, tmp_path):
    """No source tree beside the code (a wheel's install): the package's metadata, and where that is
    missing too, a version that says why it is unknown, not a traceback."""
    import training.cli
    monkeypatch.setattr(training.cli, "__file__", str(tmp_path / "site-packages" / "training" / "cli" / "__init__.py"))
    monkeypatch.setattr(metadata, "version", lambda name: "9.8.7" if name == "newsmodel" else pytest.fail(name))
    assert training.cli.version() == "9.8.7"

    def missing(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "version", missing)
    assert training.cli.version().startswith("unknown (not installed")


def test_readme_names_version():
    assert "newsmodel --version" in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_train_extra_hint_covers_each_package_of_the_train_extra():
    """An ImportError of a module in TRAINING_EXTRAS is told to install the train extra. Before:
    scipy (training/lexical_fit.py) was left out, and `newsmodel train` without it said
    "No module named 'scipy'" alone."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from training.cli import TRAINING_EXTRAS
    with open(REPO / "pyproject.toml", "rb") as f:
        train = tomllib.load(f)["project"]["optional-dependencies"]["train"]
    extra = {canonicalize_name(Requirement(r).name) for r in train}
    distributions = metadata.packages_distributions()   # import name -> the distributions holding it
    hinted = {canonicalize_name(d) for name in TRAINING_EXTRAS for d in distributions.get(name, [])}
    assert hinted == extra, f"pyproject.toml's train extra {sorted(extra)}, the hint's packages {sorted(hinted)}"


def test_device_precision_value_and_export_output_errors_import_no_torch_nor_transformers(tmp_path):
    """Before: the device and precision names lived beside torch (inference.devices), and the export's
    and --html's folder checks beside transformers (inference.export, inference.checkpoint): `--device
    gpu`, `--epochs 0` or an export over a folder of notes took seconds to be refused."""
    missing, folder, notes = str(tmp_path / "missing"), str(tmp_path / "folder"), tmp_path / "notes"
    (tmp_path / "folder").mkdir()
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me", encoding="utf-8")
    failing = [["train", "--train", missing, "--epochs", "0"], ["train", "--train", missing, "--device", "gpu"],
               ["train", "--train", missing, "--precision", "fp16"],
               ["predict", "Talks.", "--checkpoint", folder, "--device", "gpu"],
               ["predict", "Talks.", "--checkpoint", folder, "--html", str(tmp_path / "p.html"), "--device", "gpu"],
               ["predict", "Talks.", "--checkpoint", folder, "--runtime", "onnx", "--device", "cuda"],
               ["evaluate", "--data", str(notes / "todo.txt"), "--checkpoint", folder, "--device", "gpu"],
               ["export", "--output", str(notes), "--checkpoint", folder]]
    stderr = _refused_without_torch(failing)
    assert "error: epochs: 0 is not" in stderr and "error: --device gpu: unknown device 'gpu'" in stderr
    assert f"error: --output {notes} exists and is not an earlier export" in stderr


def _refused_without_torch(failing: list[list[str]]) -> str:
    """The stderr of main() refusing each argv in one fresh process, after checking each returned 2
    with neither torch nor transformers imported."""
    script = f"""
import sys
from training.cli import main
for argv in {failing!r}:
    assert main(argv) == 2, argv
    heavy = [name for name in ("torch", "transformers") if name in sys.modules]
    assert not heavy, (argv, heavy)
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stderr.count("error: ") == len(failing), ran.stderr
    return ran.stderr
