"""Manual fallback: report files operators drop into the object store by hand.

Drop a file at `landing/<platform>/<dataset>/<shop>_<period>.<xlsx|xls|csv>`, where
`<period>` is the partition key (daily `2025-10-01`, weekly the window's first day
`2025-09-25` or the old label `2025-09-25_2025-10-01`, monthly `2025-09`). The landing
sensor requests a run of the dataset's raw asset for that partition; the run verifies
the file like a download, files it at the raw path and moves it to `processed/`.
A file with a bad name or content goes to `rejected/` with a `.reason.txt` next to it,
and so does a file for a period the dataset has no partition for (before its start date,
not yet begun, or not the start of one of its windows): the partitions definition decides,
so a run is never requested for a partition key that does not exist.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import dagster as dg

from yd_platform.catalog import Cadence, DatasetSpec
from yd_platform.catalog.periods import period_from_key, period_from_label
from yd_platform.datasets.layout import landing_prefix
from yd_platform.datasets.partitions import time_partitions

NAME_RE = re.compile(
    r"^(?P<shop>[A-Za-z0-9_.\-]+?)_(?P<period>\d{4}-\d{2}(?:-\d{2}(?:_\d{4}-\d{2}-\d{2})?)?)\.(?P<ext>xlsx|xls|csv)$",
    re.IGNORECASE,
)


class LandingNameError(ValueError):
    """The file name does not say which shop and period it is."""


def check_period_partition(ds: DatasetSpec, name: str, key: str, now: datetime | None = None) -> None:
    """Refuse a period key that is not one of the dataset's time partitions as of `now`
    (default: the current time), naming the period and the partitions that exist."""
    partitions = time_partitions(ds)
    with dg.partition_loading_context(effective_dt=now):
        if partitions.has_partition_key(key):
            return
        first, last = partitions.get_first_partition_key(), partitions.get_last_partition_key()
    valid = f"{first} .. {last}" if first else "none yet"
    if first and last and first <= key <= last:
        why = f"{key} is not the start of one of its {ds.cadence.value} windows"
    else:
        why = f"{key} is {'before the first' if first and key < first else 'after the last'} one"
    raise LandingNameError(f"{name!r}: period outside the dataset's partitions: {why} "
                           f"({ds.platform}/{ds.code} {ds.cadence.value} partitions: {valid})")


def parse_landing_name(ds: DatasetSpec, name: str, shops: set[str] | None = None,
                       now: datetime | None = None) -> tuple[str, str]:
    """(shop, partition key) from `<shop>_<period>.<ext>`; the error says what is wrong.
    The period must be one of the dataset's partitions as of `now` (see
    `check_period_partition`)."""
    match = NAME_RE.match(name)
    if not match:
        raise LandingNameError(
            f"{name!r} is not named <shop>_<period>.xlsx|xls|csv (e.g. shop_2025-10-01.xlsx)"
        )
    shop, period = match["shop"], match["period"]
    try:
        if "_" in period:
            key = period_from_label(Cadence.weekly, period).key if ds.cadence is Cadence.weekly else None
            if key is None:
                raise ValueError(f"{period!r} is a weekly window but {ds.slug} is {ds.cadence.value}")
        else:
            key = period
        period_from_key(ds.cadence, key)
    except ValueError as exc:
        raise LandingNameError(f"{name!r}: {exc}") from None
    check_period_partition(ds, name, key, now)
    if shops is not None and shop not in shops:
        raise LandingNameError(f"{name!r}: unknown {ds.platform} shop {shop!r} (known: {sorted(shops)})")
    return shop, key


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def move_landing(store, ds: DatasetSpec, key: str, folder: str, reason: str | None = None,
                 data: bytes | None = None) -> str:
    """Move a landing file to `processed/` or `rejected/` (with the reason beside it).

    `data` is the file's content when the caller already holds it, so a MinIO object
    is not downloaded twice; without it the file is read from the store.
    """
    name = key.rsplit("/", 1)[-1]
    target = f"{landing_prefix(ds)}/{folder}/{_stamp()}_{name}"
    store.put_bytes(target, store.get_bytes(key) if data is None else data)
    if reason is not None:
        store.put_bytes(f"{target}.reason.txt", reason.encode("utf-8"), "text/plain; charset=utf-8")
    store.delete([key])
    return target


def pending_files(store, ds: DatasetSpec):
    """Files directly under the dataset's landing folder (not processed/ or rejected/)."""
    prefix = landing_prefix(ds) + "/"
    return [o for o in store.list(landing_prefix(ds)) if "/" not in o.key[len(prefix):]]
