"""Definitions of the collect stage: every dataset's `raw` asset, the sensors that keep
the shop partitions in step with the shop source, the landing sensor (manual fallback)
and the sensor that keeps the per-platform pools at the catalog's numbers.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.collect.landing import LandingNameError, move_landing, parse_landing_name, pending_files
from yd_platform.collect.raw_asset import build_raw_asset
from yd_platform.collect.shops_sensor import build_shops_sensors
from yd_platform.datasets.keys import LANDING_TAG, raw_key
from yd_platform.datasets.partitions import raw_partition_key, shop_partitions
from yd_platform.instance.pools import platform_limits, sync_platform_pools
from yd_platform.resources.object_store import ObjectStoreResource

LANDING_SENSOR = "collect_landing_files"
POOL_SENSOR = "yd_pool_limits"


def landing_run_key(store, key: str) -> str:
    """One run per file content: a file waiting for its run is not requested twice, and a
    corrected file dropped under the same name (even of the same size) gets its own run."""
    return f"landing|{key}|{hashlib.sha256(store.get_bytes(key)).hexdigest()[:16]}"


def build_landing_sensor(catalog: Catalog) -> dg.SensorDefinition:
    datasets = catalog.datasets()

    @dg.sensor(
        name=LANDING_SENSOR,
        asset_selection=dg.AssetSelection.assets(*[raw_key(ds) for ds in datasets]),
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Files report files dropped into landing/<platform>/<dataset>/ as <shop>_<period>.xlsx "
                    "as the raw partition (manual fallback when a back-end needs a human).",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, object_store: ObjectStoreResource):
        store = object_store.client()
        requests = []
        for ds in datasets:
            files = pending_files(store, ds)
            if not files:
                continue
            shops = set(context.instance.get_dynamic_partitions(shop_partitions(ds.platform).name))
            for obj in files:
                name = obj.key.rsplit("/", 1)[-1]
                try:
                    shop, period_key = parse_landing_name(ds, name, shops)
                except LandingNameError as exc:
                    target = move_landing(store, ds, obj.key, "rejected", str(exc))
                    context.log.warning(f"rejected {obj.key} -> {target}: {exc}")
                    continue
                requests.append(dg.RunRequest(
                    run_key=landing_run_key(store, obj.key),
                    asset_selection=[raw_key(ds)],
                    partition_key=raw_partition_key(period_key, shop),
                    tags={LANDING_TAG: obj.key, "yd/source": "landing", "yd/platform": ds.platform,
                          "yd/dataset": ds.code, "yd/shop": f"{ds.platform}:{shop}"},
                ))
        if not requests:
            return dg.SkipReason("no files waiting in landing/")
        return dg.SensorResult(run_requests=requests)

    return landing_sensor


def build_pool_sensor(catalog: Catalog) -> dg.SensorDefinition:
    limits = ", ".join(f"{pool}={slots}" for pool, slots in platform_limits(catalog).items())

    @dg.sensor(
        name=POOL_SENSOR, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Keeps the per-platform collect pools at max_concurrent_runs from platforms.yaml ({limits}) "
                    "and one slot per listed merchant account.",
    )
    def pool_limits(context: dg.SensorEvaluationContext):
        changed = sync_platform_pools(context.instance, catalog)
        if changed:
            return dg.SkipReason(f"pool limits set: {', '.join(f'{p}={n}' for p, n in changed.items())}")
        return dg.SkipReason(f"pool limits as in platforms.yaml: {limits}")

    return pool_limits


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(
        assets=[build_raw_asset(ds) for ds in catalog.datasets()],
        sensors=[*build_shops_sensors(catalog), build_landing_sensor(catalog), build_pool_sensor(catalog)],
    )
