"""Every resource of a deployment, in one place: the code location registers them
(`yd_platform.definitions`) and `yd-platform doctor` checks the same ones.

Each outside system's module builds its resource from the deployment's variables
(`yd_platform.deployment`); a production deployment with required variables missing
fails here, when the code location loads, with one error naming all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from yd_platform.deployment import PRODUCTION, Variables
from yd_platform.outbox.channel_resources import channel_resources
from yd_platform.resources.app_db import app_db_for
from yd_platform.resources.dagster_webserver import dagster_webserver_for
from yd_platform.resources.merchant_backends import collector_for
from yd_platform.resources.metabase import metabase_for
from yd_platform.resources.object_store import object_store_for
from yd_platform.resources.pms_db import pms_db_for
from yd_platform.resources.shops import shop_source_for
from yd_platform.resources.spark import spark_for
from yd_platform.resources.table_engine import table_engine_for
from yd_platform.resources.task_tables import task_tables_from_env


def _from_variables(variables: Variables) -> dict[str, object]:
    """The resources every outside system's module builds from the variables."""
    store = object_store_for(variables)
    return {
        "object_store": store,
        "table_engine": table_engine_for(variables),
        "app_db": app_db_for(variables),
        "shop_source": shop_source_for(variables),
        "collector": collector_for(variables),
        "pms_db": pms_db_for(variables),
        "incentives_metabase": metabase_for(variables),
        "spark": spark_for(variables, store),
        "dagster_webserver": dagster_webserver_for(variables),
    }


def resources_for(deployment: str | None = None) -> dict[str, object]:
    """Every resource of the deployment (default: YD_DEPLOYMENT), by the key assets,
    checks and sensors ask for it; raises `MissingVariables` naming every variable the
    deployment needs and lacks."""
    variables = Variables(deployment)
    resources = _from_variables(variables)
    variables.check()
    resources["task_tables"] = task_tables_from_env(as_env_vars=True)
    resources.update(channel_resources())
    return resources


def missing_variables(deployment: str = PRODUCTION, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """{variable: what it is for} of what the deployment requires and `environ` lacks
    (default: an empty environment, so everything the deployment requires)."""
    variables = Variables(deployment, environ={} if environ is None else environ)
    _from_variables(variables)
    return variables.missing
