"""The MySQL instance's body columns: Dagster creates some as 64 KiB TEXT, `prepare-instance`
widens them so the automation daemon's larger evaluations are stored, and it is idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
import yaml
from dagster._core.storage.schedules.schema import AssetDaemonAssetEvaluationsTable

from yd_platform.instance.mysql_storage import BODY_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def _column_types(url: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                                    "WHERE TABLE_SCHEMA = DATABASE()")).all()
    engine.dispose()
    return {f"{t}.{c}": d.lower() for t, c, d in rows if c in BODY_COLUMNS.get(t, ())}


def test_prepare_instance_widens_body_columns_once(tmp_path, mysql_url):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": {"mysql": {"mysql_url": mysql_url}}}))
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = [sys.executable, "-m", "yd_platform.cli.main", "prepare-instance"]

    first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "asset_daemon_asset_evaluations.asset_evaluation_body" in first.stdout
    types = _column_types(mysql_url)
    assert types["asset_daemon_asset_evaluations.asset_evaluation_body"] == "longtext"
    assert types["job_ticks.tick_body"] == "longtext"
    assert set(types.values()) == {"longtext"}, types

    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "already LONGTEXT" in again.stdout

    # an evaluation body past TEXT's 64 KiB is stored whole
    body = "x" * 200_000
    with dg.DagsterInstance.from_config(str(home)) as instance:
        engine = sa.create_engine(instance.schedule_storage.mysql_url)
        with engine.begin() as conn:
            conn.execute(AssetDaemonAssetEvaluationsTable.insert().values(
                evaluation_id=1, asset_key="big", asset_evaluation_body=body, num_requested=0))
            stored = conn.execute(sa.select(AssetDaemonAssetEvaluationsTable.c.asset_evaluation_body)).scalar_one()
        engine.dispose()
    assert len(stored) == len(body)
