"""The two instance configurations: the embedded default at the repository root (what a
Dagster user's first command finds) and the production one under docker/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.ref import InstanceRef

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = REPO / "docker" / "dagster.yaml"
EMBEDDED = REPO / "dagster.yaml"


def test_root_instance_needs_no_variables():
    config = yaml.safe_load(EMBEDDED.read_text(encoding="utf-8"))
    assert "env:" not in EMBEDDED.read_text(encoding="utf-8")
    assert "storage" not in config  # SQLite in DAGSTER_HOME (or dagster dev's temporary folder)
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_production_instance_loads_the_docker_run_launcher(tmp_path, monkeypatch):
    shutil.copy(PRODUCTION, tmp_path / "dagster.yaml")
    monkeypatch.setenv("YD_DOCKER_NETWORK", "yd_platform")
    ref = InstanceRef.from_dir(str(tmp_path))
    launcher = ref.run_launcher
    assert type(launcher).__module__.startswith("dagster_docker")
    assert type(launcher).__name__ == "DockerRunLauncher"
    assert launcher.networks == ["yd_platform"]
    assert launcher.image is None  # the code location's image (DAGSTER_CURRENT_IMAGE)
    assert "YD_APP_DB_URL" in launcher.env_vars
    assert ref.settings["run_retries"]["retry_on_asset_or_op_failure"] is False
    assert ref.settings["concurrency"]["pools"]["default_limit"] == 1


@pytest.mark.slow
def test_definitions_validate_from_a_fresh_clone_root(tmp_path):
    """`dagster definitions validate` in the repository root, nothing set but PATH."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "YD_HOME": str(tmp_path / "yd_home")}
    result = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Validation successful" in result.stdout + result.stderr
