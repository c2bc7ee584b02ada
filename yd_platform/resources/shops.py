"""Where the list of shops comes from: the catalog (embedded) or MySQL `<platform>_shops`.

The shops sensor mirrors this list into each platform's dynamic shop partitions; the
`plan` command reads it directly.

The MySQL table may be the platform's own (`shop_id`, `shop_name`, `account`, `active`)
or the old system's, keyed by `shop_name` alone (`pdd_shops`, `tm_shops`: `shop_name`,
`account`, `status`, cookies, tm's `userNick` and `reportTemplateId`, ...). Its columns
are mapped onto the platform's shop model, so the old table works as it is:

- id: the `shop_id` column when there is one; else the id of the catalog shop with
  the same name (list a shop in platforms.yaml to give it a readable id and back-end
  settings); else an id derived from the name, `<platform>_<10 hex digits>`, stable as
  long as the name is (partition keys and object names must be plain ASCII, shop names
  are Chinese).
- account: `account` (or `login_account`, `username`), else the catalog shop's.
- active: false when an `active` / `is_active` / `enabled` column says so, or `status`
  holds an inactive word (`inactive`, `disabled`, `停用`, ...). tm's `status` is the old
  daily cookie state (empty, `active`, `已完成`): a shop in any of those is active.
- back-end settings: the catalog shop's `backend:`, completed from tm's
  `reportTemplateId` / `userNick` and the ERP's `owner_co_id` / `authorize_co_id` /
  `uid` columns where the table has them.

Only these columns are read; cookies and passwords stay in the database.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import dagster as dg
import sqlalchemy as sa

from yd_platform.catalog import Catalog, PlatformSpec, ShopSpec
from yd_platform.deployment import APP_DB_VARIABLE, Variables, app_db_url
from yd_platform.resources.variables import env_field, from_environment


class ShopSourceError(RuntimeError):
    """The shop source could not be read; the message names the table and database."""


ID_COLUMNS = ("shop_id",)
NAME_COLUMNS = ("shop_name", "name")
ACCOUNT_COLUMNS = ("account", "login_account", "username", "user_name")
ACTIVE_FLAG_COLUMNS = ("active", "is_active", "enabled")
STATUS_COLUMNS = ("status", "shop_status")
INACTIVE_STATUS = {"inactive", "disabled", "closed", "0", "false", "停用", "禁用", "关闭", "已关闭", "下线", "无效"}
# table column -> key of the shop's `backend:` settings (as platforms.yaml names them)
BACKEND_COLUMNS = {
    "reporttemplateid": "template_id",
    "template_id": "template_id",
    "usernick": "user_nick",
    "user_nick": "user_nick",
    "owner_co_id": "owner_co_id",
    "authorize_co_id": "authorize_co_id",
    "uid": "uid",
}


def derived_shop_id(platform: str, name: str) -> str:
    """A partition-safe id for a shop known only by its name (stable for that name)."""
    return f"{platform}_{hashlib.blake2s(name.strip().encode(), digest_size=5).hexdigest()}"


def shop_id_for_name(catalog: Catalog, platform: str, name: str) -> str:
    """The catalog shop's id for a shop name, else the id derived from the name."""
    spec = catalog.platforms.get(platform)
    for shop in spec.shops if spec else []:
        if shop.name == name.strip():
            return shop.id
    return derived_shop_id(platform, name)


def _pick(columns: dict[str, sa.Column], names: tuple[str, ...]) -> sa.Column | None:
    return next((columns[n] for n in names if n in columns), None)


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _is_active(row: dict, flag: str | None, status: str | None) -> bool:
    if flag is not None and row[flag] is not None:
        value = row[flag]
        if isinstance(value, str):
            return value.strip().lower() not in INACTIVE_STATUS
        return bool(value)
    if status is not None:
        return _text(row[status]).lower() not in INACTIVE_STATUS
    return True


def _backend_value(value) -> str | int | None:
    text = _text(value)
    if not text:
        return None
    return int(text) if text.isdigit() else text


def read_mysql_shops(db_url: str, platform: PlatformSpec, catalog: Catalog | None = None,
                     include_inactive: bool = False) -> list[ShopSpec]:
    """Shops of `<platform>_shops` in the platform's shop model (active ones unless
    `include_inactive`), whichever of the shapes above the table has."""
    table = platform.mysql_shops_table
    by_id = {s.id: s for s in platform.shops}
    engine = sa.create_engine(db_url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            tbl = sa.Table(table, sa.MetaData(), autoload_with=conn)
            columns = {c.name.lower(): c for c in tbl.c}
            id_col, name_col = _pick(columns, ID_COLUMNS), _pick(columns, NAME_COLUMNS)
            if id_col is None and name_col is None:
                raise ShopSourceError(f"shops table {table!r} has neither 'shop_id' nor 'shop_name' "
                                      f"(columns: {', '.join(c.name for c in tbl.c)})")
            account_col = _pick(columns, ACCOUNT_COLUMNS)
            flag_col, status_col = _pick(columns, ACTIVE_FLAG_COLUMNS), _pick(columns, STATUS_COLUMNS)
            backend_cols = {columns[n]: key for n, key in BACKEND_COLUMNS.items() if n in columns}
            wanted = [c for c in (id_col, name_col, account_col, flag_col, status_col, *backend_cols)
                      if c is not None]
            rows = conn.execute(sa.select(*wanted)).mappings().all()
    except sa.exc.NoSuchTableError:
        raise ShopSourceError(f"shops table {table!r} does not exist in {engine.url.render_as_string()}") from None
    except sa.exc.SQLAlchemyError as exc:
        raise ShopSourceError(f"reading shops table {table!r}: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    catalog_named = catalog or _catalog_of(platform)
    shops = []
    for row in rows:
        name = _text(row[name_col.name]) if name_col is not None else ""
        if id_col is not None and _text(row[id_col.name]):
            shop_id = _text(row[id_col.name])
        elif name:
            shop_id = shop_id_for_name(catalog_named, platform.code, name)
        else:
            continue  # a row without id or name names no shop
        if not include_inactive and not _is_active(row, flag_col.name if flag_col is not None else None,
                                                   status_col.name if status_col is not None else None):
            continue
        known = by_id.get(shop_id)
        backend = dict(known.backend) if known else {}
        for column, key in backend_cols.items():
            value = _backend_value(row[column.name])
            if value is not None:
                backend.setdefault(key, value)
        account = _text(row[account_col.name]) if account_col is not None else ""
        try:
            shops.append(ShopSpec(id=shop_id, name=name or (known.name if known else shop_id),
                                  account=account or (known.account if known else None), backend=backend))
        except ValueError as exc:
            raise ShopSourceError(f"shops table {table!r}: shop {shop_id!r}: {exc}") from None
    return shops


def _catalog_of(platform: PlatformSpec) -> Catalog:
    return Catalog(platforms={platform.code: platform})


class ShopSourceResource(dg.ConfigurableResource):
    """Lists the shops per platform."""

    source: Literal["config", "mysql"] = "config"
    db_url: str = ""

    def _from_catalog(self, catalog: Catalog, platform_code: str) -> bool:
        return self.source == "config" or catalog.platforms[platform_code].shops_from_catalog

    def active_shops(self, catalog: Catalog, platform_code: str) -> list[ShopSpec]:
        platform = catalog.platforms[platform_code]
        if self._from_catalog(catalog, platform_code):
            return platform.active_shops()
        if not self.db_url:
            raise ShopSourceError("shop source 'mysql' needs db_url (YD_SHOPS_DB_URL)")
        return read_mysql_shops(self.db_url, platform, catalog)

    def all_shops(self, catalog: Catalog, platform_code: str) -> list[ShopSpec]:
        """Every shop the source knows, inactive ones too (their history stays theirs)."""
        platform = catalog.platforms[platform_code]
        if self._from_catalog(catalog, platform_code):
            return list(platform.shops)
        if not self.db_url:
            raise ShopSourceError("shop source 'mysql' needs db_url (YD_SHOPS_DB_URL)")
        return read_mysql_shops(self.db_url, platform, catalog, include_inactive=True)

    def shop_names(self, catalog: Catalog, platform_code: str) -> dict[str, str]:
        """{shop id: shop name} of every shop the source knows, and of the catalog's."""
        names = {s.id: s.name for s in catalog.platforms[platform_code].shops}
        names.update({s.id: s.name for s in self.all_shops(catalog, platform_code)})
        return names


SOURCE_VARIABLE = "YD_SHOPS_SOURCE"
DB_URL_VARIABLE = "YD_SHOPS_DB_URL"


def shop_source_for(variables: Variables) -> ShopSourceResource:
    """Embedded: the catalog unless YD_SHOPS_SOURCE=mysql. Production: the `<platform>_shops`
    tables unless YD_SHOPS_SOURCE=config, in YD_SHOPS_DB_URL's database, else the app database."""
    source = variables.choice(SOURCE_VARIABLE, ("config", "mysql"), embedded="config", production="mysql")
    if source == "config":
        return ShopSourceResource(source="config")
    if variables.is_set(DB_URL_VARIABLE):
        return ShopSourceResource(source="mysql", db_url=env_field(variables, DB_URL_VARIABLE))
    if variables.is_set(APP_DB_VARIABLE) or variables.production:
        return ShopSourceResource(source="mysql", db_url=env_field(variables, APP_DB_VARIABLE))
    return ShopSourceResource(source="mysql", db_url=app_db_url())


def shop_source_from_env(deployment: str | None = None) -> ShopSourceResource:
    """The deployment's shop source with its settings read now (commands, tests)."""
    return from_environment(shop_source_for, deployment)
