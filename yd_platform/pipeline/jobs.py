"""Jobs per dataset, for schedules, the UI launchpad and `dagster job launch`.

- `<platform>__<dataset>__collect`: the raw asset (partition `DATE|SHOP`)
- `<platform>__<dataset>__publish`: merged + ods and their checks (partition `DATE`)
"""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.keys import merged_key, ods_key, raw_key


def collect_job_name(ds: DatasetSpec) -> str:
    return f"{ds.slug}__collect"


def publish_job_name(ds: DatasetSpec) -> str:
    return f"{ds.slug}__publish"


def build_dataset_jobs(ds: DatasetSpec) -> list[dg.UnresolvedAssetJobDefinition]:
    tags = {"yd/platform": ds.platform, "yd/dataset": ds.code}
    return [
        dg.define_asset_job(
            collect_job_name(ds),
            selection=dg.AssetSelection.assets(raw_key(ds)),
            description=f"Download {ds.name} ({ds.platform}/{ds.code}) for one period and shop.",
            tags=tags,
        ),
        dg.define_asset_job(
            publish_job_name(ds),
            selection=dg.AssetSelection.assets(merged_key(ds), ods_key(ds)),
            description=f"Merge and publish {ds.name} ({ds.platform}/{ds.code}) for one period.",
            tags=tags,
        ),
    ]
