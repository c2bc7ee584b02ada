"""Core resources built from the environment (see `yd_platform.settings`).

Secrets are passed as `dg.EnvVar` so the UI and run config show the variable name,
never the value.
"""

from __future__ import annotations

import dagster as dg

from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform.resources.shops import ShopSourceResource
from yd_platform.settings import app_db_url, env, env_flag, yd_home


def secret(name: str) -> dg.EnvVar | str:
    """An EnvVar reference when the variable is set, else an empty string."""
    return dg.EnvVar(name) if env(name) else ""


def object_store_from_env() -> ObjectStoreResource:
    if (env("YD_OBJECT_STORE") or "local") == "minio":
        return ObjectStoreResource(
            backend="minio",
            endpoint=env("YD_MINIO_ENDPOINT", "127.0.0.1:9000"),
            access_key=secret("YD_MINIO_ACCESS_KEY"),
            secret_key=secret("YD_MINIO_SECRET_KEY"),
            bucket=env("YD_MINIO_BUCKET", "warehouse"),
            secure=env_flag("YD_MINIO_SECURE"),
            region=env("YD_MINIO_REGION"),
        )
    return ObjectStoreResource(backend="local", root=str(yd_home() / "objects"))


def shop_source_from_env() -> ShopSourceResource:
    if (env("YD_SHOPS_SOURCE") or "config") == "mysql":
        return ShopSourceResource(source="mysql", db_url=env("YD_SHOPS_DB_URL") or app_db_url())
    return ShopSourceResource(source="config")


def app_db_from_env() -> AppDatabaseResource:
    return AppDatabaseResource(url=dg.EnvVar("YD_APP_DB_URL") if env("YD_APP_DB_URL") else app_db_url())


def core_resources() -> dict[str, object]:
    """Every outside system as a registered resource; settings that come from variables
    are `dg.EnvVar`s, so the UI shows which variable, and tests swap the resource."""
    from yd_platform.collect.settings import collector_from_env
    from yd_platform.tables.engine import table_engine_from_env

    return {
        "object_store": object_store_from_env(),
        "shop_source": shop_source_from_env(),
        "app_db": app_db_from_env(),
        "collector": collector_from_env(as_env_vars=True),
        "table_engine": table_engine_from_env(as_env_vars=True),
    }
