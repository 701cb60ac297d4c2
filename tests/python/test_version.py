"""The version is written in three places: CMakeLists.txt's project() (which the C++ CLI prints with
--version), pyproject.toml (the wheel's) and the package's __version__. They must agree."""

import re
import tomllib
from pathlib import Path

import fp4moe

ROOT = Path(__file__).resolve().parents[2]


def test_versions_agree():
    cmake = re.search(r"project\(fp4moe VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    assert cmake, "CMakeLists.txt: no project(fp4moe VERSION ...)"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (fp4moe.__version__, pyproject) == (cmake.group(1), cmake.group(1))
