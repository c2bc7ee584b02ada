"""One whole dataset chain materialised in-process on the embedded default
(reports downloaded through Chromium from the embedded demo portal)."""

import io
from datetime import date

import pandas as pd
import pytest

from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import stage_key
from yd_platform.definitions import build_definitions
from yd_platform.pipeline.local_run import run_chain
from yd_platform.pipeline.plan import plan_dataset
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.resources.shops import shop_source_from_env


@pytest.mark.slow
def test_whole_chain_for_one_partition(yd_home, instance, catalog):
    defs = build_definitions(catalog)
    shops = sync_shops(instance, catalog, shop_source_from_env())
    ds = catalog.dataset("pdd", "badscore")
    plan = plan_dataset(ds, date(2025, 10, 2), shops["pdd"])
    result = run_chain(defs, instance, plan)
    assert result.success, result

    store = object_store_from_env().client()
    raws = store.list("raw/pdd/badscore/2025-10-01")
    assert [o.key.rsplit("/", 1)[1] for o in raws] == [f"{s}.xlsx" for s in sorted(shops["pdd"])]
    ods_files = store.list("ods/pdd/pdd_badscore/dt=2025-10-01")
    assert len(ods_files) == 1
    table = pd.read_parquet(io.BytesIO(store.get_bytes(ods_files[0].key)))
    assert set(table["shop_id"]) == set(shops["pdd"])
    assert {"order_id", "goods_id", "score"} <= set(table.columns)

    for stage in ("raw", "merged", "ods"):
        assert instance.get_latest_materialization_event(stage_key(ds, stage)) is not None

    # a rerun replaces the partition: same rows, still one file
    rows = len(table)
    assert run_chain(defs, instance, plan).success
    ods_files = store.list("ods/pdd/pdd_badscore/dt=2025-10-01")
    assert len(ods_files) == 1
    assert len(pd.read_parquet(io.BytesIO(store.get_bytes(ods_files[0].key)))) == rows
