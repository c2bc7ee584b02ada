"""pyproject.toml declares what the code imports, nothing it does not, and the lock pins it all."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
CHECKER = REPO / ".ci" / "check_dependencies.py"


def load_checker():
    spec = importlib.util.spec_from_file_location("check_dependencies", CHECKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_import_is_declared_and_every_declaration_used():
    result = subprocess.run([sys.executable, str(CHECKER)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every import is declared" in result.stdout


def test_checker_names_an_import_the_embedded_default_would_miss(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["pyyaml>=6,<7"]\n'
        '[project.optional-dependencies]\ndocker = ["numpy>=2,<3", "pandas>=2,<3"]\n', encoding="utf-8")
    package = tmp_path / "yd_platform"
    package.mkdir()
    (package / "loads.py").write_text("import numpy\nimport yaml\n", encoding="utf-8")
    (package / "lazy.py").write_text("def f():\n    import pandas\n", encoding="utf-8")
    (package / "forgot.py").write_text("def g():\n    import duckdb\n", encoding="utf-8")
    (tmp_path / "yd_platform_tests").mkdir()
    found = load_checker().problems(tmp_path)
    assert any(p.startswith("numpy") and "yd_platform/loads.py loads" in p for p in found), found
    assert any(p.startswith("duckdb") and "declared nowhere" in p for p in found), found
    assert not any(p.startswith(("pandas", "yaml")) for p in found), found  # lazy import of an extra is fine


def test_lock_pins_every_declared_package_inside_its_range():
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *(r for reqs in project["optional-dependencies"].values() for r in reqs)]
    for text in requirements:
        req = Requirement(text)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{name} is not in constraints.txt: run bash .ci/lock"
        assert req.specifier.contains(pins[name]), f"constraints.txt pins {name}=={pins[name]}, outside {text}"
        bounds = {s.operator for s in req.specifier}
        assert "==" in bounds or "<" in bounds, f"{text}: no upper bound (cap it below the next major version)"


def test_ci_and_image_install_from_the_lock():
    setup = (REPO / ".ci" / "setup").read_text(encoding="utf-8")
    installs = [ln for ln in setup.splitlines() if "pip install" in ln]
    assert installs and all("-c constraints.txt" in ln for ln in installs), installs
    dockerfile = (REPO / "docker" / "Dockerfile").read_text(encoding="utf-8")
    image_installs = [ln for ln in dockerfile.splitlines() if "pip install" in ln]
    assert image_installs and all("-c constraints.txt" in ln for ln in image_installs), image_installs
    assert "COPY pyproject.toml README.md constraints.txt" in dockerfile
    assert "!constraints.txt" in (REPO / "docker" / "Dockerfile.dockerignore").read_text(encoding="utf-8")
