#!/usr/bin/env python3
"""Every package the code imports is declared in pyproject.toml, and every declared one is used.

- yd_platform/, imported when a module loads: in [project].dependencies, since the
  embedded default is installed without extras;
- yd_platform/, imported inside a function only (a production-only path): there or in an extra;
- yd_platform_tests/: in the dependencies or the dev and docker extras (what .ci/setup installs);
- declared but imported nowhere: only the ones in NOT_IMPORTED, each with its reason.

Run it with the project's virtualenv, whose installed distributions tell which package an
import name belongs to: `.venv/bin/python .ci/check_dependencies.py`. It prints each
problem and exits 1 when there is one.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
OWN = {"yd_platform", "yd_platform_tests"}
TEST_EXTRAS = ("dev", "docker")
# Declared for what they do when installed, not for an import.
NOT_IMPORTED = {
    "dagster-webserver": "the UI and GraphQL server (`dagster-webserver`, started by `yd-platform up` and docker/)",
    "dagster-docker": "the run launcher docker/dagster.yaml names",
    "dagster-mysql": "the instance storage docker/dagster.yaml names",
    "dagster-aws": "the compute log manager docker/dagster.yaml names",
    "dagster-k8s": "the run launcher of the Kubernetes path",
    "pytest-timeout": "a pytest plugin (`timeout` in [tool.pytest.ini_options])",
    "import-linter": "checks the package's layers (`lint-imports`, .importlinter), run by .ci/run",
    "ruff": "the linter (`ruff check .`), run by .ci/run",
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(repo: Path) -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    main = {normalize(Requirement(r).name) for r in project["dependencies"]}
    extras = {extra: {normalize(Requirement(r).name) for r in reqs}
              for extra, reqs in project.get("optional-dependencies", {}).items()}
    return main, extras


def imports(folder: Path, repo: Path) -> dict[str, dict[str, bool]]:
    """{top-level module: {file: imported when the module loads}} of every .py file."""
    found: dict[str, dict[str, bool]] = {}

    def visit(node: ast.AST, path: str, at_load: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, path, False)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, path, False)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                if isinstance(child, ast.ImportFrom) and (child.level or not child.module):
                    continue
                names = [a.name for a in child.names] if isinstance(child, ast.Import) else [child.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OWN:
                        seen = found.setdefault(top, {})
                        seen[path] = seen.get(path, False) or at_load
            else:
                visit(child, path, at_load)

    for file in sorted(folder.rglob("*.py")):
        visit(ast.parse(file.read_text(encoding="utf-8")), str(file.relative_to(repo)), True)
    return found


def problems(repo: Path = REPO) -> list[str]:
    main, extras = declared(repo)
    any_extra = set().union(*extras.values())
    for_tests = main.union(*(extras.get(e, set()) for e in TEST_EXTRAS))
    owners = {name: {normalize(d) for d in dists} for name, dists in packages_distributions().items()}
    out: list[str] = []
    used: set[str] = set()

    def distributions(module: str, files: dict[str, bool]) -> set[str]:
        dists = owners.get(module)
        if not dists:
            out.append(f"{module}: imported by {sorted(files)[0]} but no installed distribution provides it")
            return set()
        used.update(dists)
        return dists

    for module, files in sorted(imports(repo / "yd_platform", repo).items()):
        dists = distributions(module, files)
        at_load = sorted(f for f, loaded in files.items() if loaded)
        if dists and not dists & main:
            if at_load:
                out.append(f"{module} ({', '.join(sorted(dists))}): imported when {at_load[0]} loads, "
                           "but not in [project].dependencies")
            elif not dists & any_extra:
                out.append(f"{module} ({', '.join(sorted(dists))}): imported by {sorted(files)[0]}, "
                           "but declared nowhere in pyproject.toml")
    for module, files in sorted(imports(repo / "yd_platform_tests", repo).items()):
        dists = distributions(module, files)
        if dists and not dists & for_tests:
            out.append(f"{module} ({', '.join(sorted(dists))}): imported by {sorted(files)[0]}, "
                       f"but not in the dependencies nor the {'/'.join(TEST_EXTRAS)} extras")
    for name in sorted((main | any_extra) - used - set(NOT_IMPORTED)):
        out.append(f"{name}: declared in pyproject.toml but imported nowhere (drop it, or say why in NOT_IMPORTED)")
    return out


if __name__ == "__main__":
    found = problems()
    for line in found:
        print(line)
    if not found:
        print("every import is declared and every declared package is used")
    sys.exit(1 if found else 0)
