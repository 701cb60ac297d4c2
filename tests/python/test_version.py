"""The version is written in three places: CMakeLists.txt's project() (which the C++ CLI prints with
--version), pyproject.toml (the wheel's) and the package's __version__. They must agree."""

import re
from pathlib import Path

import fp4moe

ROOT = Path(__file__).resolve().parents[2]


def test_versions_agree():
    cmake = re.search(r"project\(fp4moe VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    assert cmake, "CMakeLists.txt: no project(fp4moe VERSION ...)"
    # The version line of the [project] table, up to the next table (tomllib needs Python 3.11, the
    # package supports 3.9).
    project = re.search(r"^\[project\]\n(.*?)(?=^\[|\Z)", (ROOT / "pyproject.toml").read_text(), re.M | re.S)
    pyproject = project and re.search(r'^version = "([^"]+)"', project.group(1), re.M)
    assert pyproject, "pyproject.toml: no version in [project]"
    assert (fp4moe.__version__, pyproject.group(1)) == (cmake.group(1), cmake.group(1))
