"""Where the incentive tables live in the object store: one parquet file per partition,
overwritten on every run so a rerun or backfill replaces rather than appends."""

from __future__ import annotations

import io

import pandas as pd

PREFIX = "incentives"


def contracts_key(month: str, city: str) -> str:
    return f"{PREFIX}/contracts/month={month}/city={city}/contracts.parquet"


def rewards_key(month: str, city: str) -> str:
    return f"{PREFIX}/rewards/month={month}/city={city}/rewards.parquet"


def awards_key(month: str, city: str) -> str:
    return f"{PREFIX}/rewards/month={month}/city={city}/awards.parquet"


def violations_key(day: str) -> str:
    return f"{PREFIX}/sla_violations/dt={day}/violations.parquet"


def write_frame(store, key: str, frame: pd.DataFrame) -> str:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    store.put_bytes(key, buf.getvalue(), content_type="application/vnd.apache.parquet")
    return store.uri(key)


def read_frame(store, key: str) -> pd.DataFrame | None:
    if not store.exists(key):
        return None
    return pd.read_parquet(io.BytesIO(store.get_bytes(key)))


def records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def technician_status_key() -> str:
    return f"{PREFIX}/technician_status/latest.parquet"
