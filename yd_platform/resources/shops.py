"""Where the list of shops comes from: the catalog (embedded) or MySQL `<platform>_shops`.

The shops sensor mirrors this list into each platform's dynamic shop partitions; the
`plan` command reads it directly.
"""

from __future__ import annotations

from typing import Literal

import dagster as dg
import sqlalchemy as sa

from yd_platform.catalog import Catalog, PlatformSpec, ShopSpec


class ShopSourceError(RuntimeError):
    """The shop source could not be read; the message names the table and database."""


def read_mysql_shops(db_url: str, platform: PlatformSpec) -> list[ShopSpec]:
    """Active shops from `<platform>_shops` (shop_id, shop_name, account, active)."""
    table = platform.mysql_shops_table
    engine = sa.create_engine(db_url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            tbl = sa.Table(table, meta, autoload_with=conn)
            cols = tbl.c
            if "shop_id" not in cols:
                raise ShopSourceError(f"shops table {table!r} has no column 'shop_id'")
            query = sa.select(tbl)
            if "active" in cols:
                query = query.where(cols.active == sa.true())
            rows = conn.execute(query).mappings().all()
    except sa.exc.NoSuchTableError:
        raise ShopSourceError(f"shops table {table!r} does not exist in {engine.url.render_as_string()}") from None
    except sa.exc.SQLAlchemyError as exc:
        raise ShopSourceError(f"reading shops table {table!r}: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    return [
        ShopSpec(id=str(r["shop_id"]), name=str(r.get("shop_name") or r["shop_id"]),
                 account=(str(r["account"]) if r.get("account") else None))
        for r in rows
    ]


class ShopSourceResource(dg.ConfigurableResource):
    """Lists the active shops per platform."""

    source: Literal["config", "mysql"] = "config"
    db_url: str = ""

    def active_shops(self, catalog: Catalog, platform_code: str) -> list[ShopSpec]:
        platform = catalog.platforms[platform_code]
        if self.source == "config" or platform.shops_from_catalog:
            return platform.active_shops()
        if not self.db_url:
            raise ShopSourceError("shop source 'mysql' needs db_url (YD_SHOPS_DB_URL)")
        return read_mysql_shops(self.db_url, platform)
