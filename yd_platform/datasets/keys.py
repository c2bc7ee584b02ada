"""Asset keys of a dataset's three stages, and the names of their checks.

`<platform>/<dataset>/<dataset>_<stage>`: the graph shows a node by the last part of its
key, so that part names dataset and stage on its own, while `<platform>/<dataset>` stays
the folder the asset catalog and selections (`key:"pdd/badscore/*"`) find.
"""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import DatasetSpec

STAGES = ("raw", "merged", "ods")

# Run tag of a raw run that files a report an operator dropped (`collect.landing`) instead
# of downloading one: the object's key.
LANDING_TAG = "yd/landing_object"


def stage_key(ds: DatasetSpec, stage: str) -> dg.AssetKey:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    return dg.AssetKey([*ds.key_prefix, f"{ds.code}_{stage}"])


def raw_key(ds: DatasetSpec) -> dg.AssetKey:
    return stage_key(ds, "raw")


def merged_key(ds: DatasetSpec) -> dg.AssetKey:
    return stage_key(ds, "merged")


def ods_key(ds: DatasetSpec) -> dg.AssetKey:
    return stage_key(ds, "ods")


def dataset_tags(ds: DatasetSpec) -> dict[str, str]:
    """Tags every asset of the dataset carries (the UI filters on them)."""
    return {"yd/platform": ds.platform, "yd/dataset": ds.code, "yd/cadence": ds.cadence.value}


def dataset_metadata(ds: DatasetSpec) -> dict[str, object]:
    """What the UI shows about the dataset on each of its assets."""
    when = f"T{ds.offset:+d}" if ds.offset else ("T" if ds.offset == 0 else str(ds.range))
    return {
        "dataset": ds.name,
        "cadence": ds.cadence.value,
        "period_rule": when.replace("+0", ""),
        "schedule": f"{ds.cron} ({ds.timezone})",
        "object_path": ds.object_path,
        "table": ds.table,
        "enabled": ds.enabled,
    }


def dataset_asset_args(ds: DatasetSpec) -> dict[str, object]:
    """The `@dg.asset` arguments the three stages of a dataset share."""
    return dict(group_name=ds.platform, owners=ds.owners, tags=dataset_tags(ds), metadata=dataset_metadata(ds))


def dataset_about(ds: DatasetSpec) -> str:
    return f"{ds.name} ({ds.platform}/{ds.code}). {ds.description}".strip()
