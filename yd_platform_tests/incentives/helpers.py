"""Materialize the incentive assets in-process on a test instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from yd_platform.incentives import ledger
from yd_platform.incentives.assets import build_assets
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.metabase import MetabaseResource
from yd_platform.resources.app_db import AppDatabaseResource, engine_for
from yd_platform.resources.object_store import ObjectStoreResource

REWARD_ASSETS = ("contracts", "rewards", "reward_notices")


def resources(home: Path, db_url: str, metabase: MetabaseResource | None = None) -> dict:
    return {"object_store": ObjectStoreResource(backend="local", root=str(Path(home) / "objects")),
            "app_db": AppDatabaseResource(url=db_url), "incentives_metabase": metabase or MetabaseResource()}


def run(cfg: IncentivesConfig, names: tuple[str, ...], partition: str, instance, home, db_url: str,
        metabase: MetabaseResource | None = None) -> dg.ExecuteInProcessResult:
    assets = [a for a in build_assets(cfg) if a.key.path[-1] in names]
    return dg.materialize(assets, partition_key=partition, instance=instance,
                          resources=resources(home, db_url, metabase), raise_on_error=False)


def materialization(result: dg.ExecuteInProcessResult, name: str) -> dict:
    events = [e for e in result.get_asset_materialization_events()
              if e.asset_key == dg.AssetKey(["incentives", name])]
    assert events, f"{name} was not materialized"
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def ledger_rows(db_url: str, kind_prefix: str = "") -> list[sa.Row]:
    with engine_for(db_url).connect() as conn:
        rows = conn.execute(sa.select(ledger.notices).order_by(ledger.notices.c.notice_id)).all()
    return [r for r in rows if r.kind.startswith(kind_prefix)]
