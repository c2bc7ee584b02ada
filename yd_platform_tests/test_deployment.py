"""The deployment decides the resources: the embedded default loads with nothing set, a
production code location with a variable missing refuses to load and names it, and only
the resource modules read the object store's, the mail server's and the robots' variables."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from yd_platform.deployment_resources import missing_variables

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "yd_platform"
DOCKER = REPO / "docker"
LOAD = ("import json, yd_platform.definitions as d; "
        "print(json.dumps({k: r._convert_to_config_dictionary() for k, r in d.defs.resources.items() "
        "if k in ('object_store', 'collector', 'table_engine')}, default=str))")
# Only the resource modules may name these variables in code (docstrings aside).
GUARDED = re.compile(r"YD_(MINIO|SMTP)_[A-Z_]+|YD_[A-Z_]*WEBHOOK[A-Z_]*|YD_DINGTALK_SECRET")
RESOURCE_MODULES = ("yd_platform/resources/", "yd_platform/outbox/channel_resources.py",
                    "yd_platform/outbox/channel_config.py")


def example_env() -> dict[str, str]:
    """docker/.env.example as an operator's docker/.env starts."""
    out = {}
    for line in (DOCKER / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


def load_code_location(tmp_path, variables: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the code location in a fresh process with only these variables set."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "YD_HOME": str(tmp_path / "yd_home"), **variables}
    return subprocess.run([sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


def test_the_embedded_default_loads_with_nothing_set(tmp_path):
    result = load_code_location(tmp_path, {})
    assert result.returncode == 0, result.stderr[-3000:]
    resources = json.loads(result.stdout.splitlines()[-1])
    assert resources["object_store"]["backend"] == "local"
    assert resources["object_store"]["root"] == str(tmp_path / "yd_home" / "objects")
    assert resources["table_engine"]["engine"] == "duckdb"
    assert resources["collector"]["portal_url"] == "" and resources["collector"]["demo_login"] is True


def test_production_with_a_variable_missing_fails_at_load_naming_it(tmp_path):
    variables = {k: v for k, v in example_env().items() if k != "YD_MINIO_SECRET_KEY"}
    result = load_code_location(tmp_path, variables)
    assert result.returncode != 0
    assert "MissingVariables: YD_DEPLOYMENT=production" in result.stderr, result.stderr[-3000:]
    assert "YD_MINIO_SECRET_KEY: object store: the S3 secret key" in result.stderr
    named = [line.split(":")[0].strip() for line in result.stderr.splitlines() if line.startswith("  YD_")]
    assert named == ["YD_MINIO_SECRET_KEY"]  # only what is missing


def test_production_loads_with_the_example_env_and_shows_variable_names_not_values(tmp_path):
    result = load_code_location(tmp_path, example_env())
    assert result.returncode == 0, result.stderr[-3000:]
    resources = json.loads(result.stdout.splitlines()[-1])
    store = resources["object_store"]
    assert store["backend"] == "minio"
    assert store["secret_key"] == {"env": "YD_MINIO_SECRET_KEY"} and store["endpoint"] == {"env": "YD_MINIO_ENDPOINT"}
    assert "change-me-s3-secret" not in result.stdout
    assert resources["table_engine"]["engine"] == "dremio"
    assert resources["collector"]["portal_url"] == {"env": "YD_PORTAL_URL"}
    assert resources["collector"]["demo_login"] is False


def test_the_example_env_holds_everything_production_requires():
    assert example_env()["YD_DEPLOYMENT"] == "production"
    assert missing_variables("production", example_env()) == {}


def test_run_containers_and_compose_services_get_what_production_requires():
    required = {name for label in missing_variables("production") for name in re.findall(r"YD_[A-Z_]+", label)}
    assert {"YD_MINIO_SECRET_KEY", "YD_PORTAL_URL", "YD_PMS_DB_URL", "YD_UI_URL"} <= required
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    passed_on = set(instance["run_launcher"]["config"]["env_vars"])
    assert not ({"YD_DEPLOYMENT"} | required) - passed_on, sorted(({"YD_DEPLOYMENT"} | required) - passed_on)
    compose_env = yaml.safe_load((DOCKER / "docker-compose.yml").read_text(encoding="utf-8"))["x-yd-env"]
    assert compose_env["YD_DEPLOYMENT"] == "${YD_DEPLOYMENT:-production}"
    assert not required - set(compose_env), sorted(required - set(compose_env))


def _guarded_names(path: Path) -> list[str]:
    """`line: name` of every guarded variable named in code (not in a docstring or comment)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = {id(node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            found += [f"{node.lineno}: {m.group(0)}" for m in GUARDED.finditer(node.value)]
    return found


def test_only_the_resource_modules_read_s3_mail_and_robot_variables():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith(RESOURCE_MODULES):
            continue
        names = _guarded_names(path)
        if names:
            offenders[relative] = names
    assert not offenders, offenders
    # the scan sees what it must: the object store's module names them
    assert _guarded_names(PACKAGE / "resources" / "object_store.py")
