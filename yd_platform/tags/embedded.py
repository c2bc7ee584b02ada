"""First start of the embedded default: the shipped tags and their demo feature tables.

`yd-platform up` calls `prepare_embedded_tags` before its first run, so a fresh machine
computes the seed tags on the demo users without any outside warehouse.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from yd_platform.settings import env


def prepare_embedded_tags(today: date | None = None) -> list[str]:
    """Seed the tag tables; without YD_WAREHOUSE_URL, (re)write the demo feature tables
    for today (same users and seed as last time), unless a real table is in the way."""
    from yd_platform.catalog import load_catalog
    from yd_platform.collect.platforms.warehouse import warehouse_url
    from yd_platform.resources.core import app_db_from_env
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.demo_data import DEMO_SEED, DEMO_USERS, DemoDataError, write_demo_data, written_by_demo
    from yd_platform.tags.seed import apply_seed

    catalog = load_catalog()
    cfg = load_tags_config(catalog=catalog)
    messages = [apply_seed(app_db_from_env().engine(), cfg.seed).summary()]
    if env("YD_WAREHOUSE_URL"):
        return messages
    today = today or datetime.now(ZoneInfo(cfg.timezone)).date()
    engine = sa.create_engine(warehouse_url())
    try:
        previous = next(iter(written_by_demo(engine).values()), {})
    finally:
        engine.dispose()
    try:
        written = write_demo_data(warehouse_url(), catalog, previous.get("users", DEMO_USERS),
                                  previous.get("seed", DEMO_SEED), today)
    except DemoDataError as exc:
        messages.append(f"demo feature tables not written: {exc}")
        return messages
    messages.append(f"demo feature tables for {today} in {written.url}: "
                    + ", ".join(f"{n} {c} rows" for n, c in written.rows.items()))
    return messages
