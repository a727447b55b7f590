"""pyproject.toml: what building the project needs."""
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
