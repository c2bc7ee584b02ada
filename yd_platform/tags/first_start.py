"""First start of the embedded default: the shipped tags and their demo feature tables.

`yd-platform up` calls `prepare_embedded_tags` before its first run, so a fresh machine
computes the seed tags on the demo users without any outside warehouse. Like `defs`, it
is an entry point that puts parts together: it reads the whole tags.yaml (whose `seed:`
must fit the configured features) and uses `seed`, so it sits beside them, not inside.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def prepare_embedded_tags(today: date | None = None) -> list[str]:
    """Seed the tag tables; without YD_WAREHOUSE_URL, (re)write the demo feature tables
    for today (same users and seed as last time), unless a real table is in the way."""
    from yd_platform.catalog import load_catalog
    from yd_platform.resources.app_db import app_db_from_env
    from yd_platform.resources.warehouse_db import warehouse_engine, warehouse_is_configured, warehouse_url
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.seed.demo_data import DEMO_SEED, DEMO_USERS, DemoDataError, write_demo_data, written_by_demo
    from yd_platform.tags.seed.shipped import apply_seed

    catalog = load_catalog()
    cfg = load_tags_config(catalog=catalog)
    messages = [apply_seed(app_db_from_env().engine(), cfg.seed).summary()]
    if warehouse_is_configured():
        return messages
    today = today or datetime.now(ZoneInfo(cfg.timezone)).date()
    with warehouse_engine() as engine:
        previous = next(iter(written_by_demo(engine).values()), {})
    try:
        written = write_demo_data(warehouse_url(), catalog, previous.get("users", DEMO_USERS),
                                  previous.get("seed", DEMO_SEED), today)
    except DemoDataError as exc:
        messages.append(f"demo feature tables not written: {exc}")
        return messages
    messages.append(f"demo feature tables for {today} in {written.url}: "
                    + ", ".join(f"{n} {c} rows" for n, c in written.rows.items()))
    return messages
