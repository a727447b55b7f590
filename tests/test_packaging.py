"""pyproject.toml: what building and installing the project needs."""
import importlib.metadata
import tomllib

from packaging.requirements import Requirement
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
