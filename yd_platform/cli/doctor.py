"""`yd-platform doctor`: checks every outside part the platform talks to.

The parts are the deployment's resources (`deployment_resources`), each checked
with its own client (`check()`), plus the Dagster instance, the alert channels and the
messages waiting for them. One line per check, OK / WARN / FAIL, and for anything not OK
what to do about it. The exit status is 1 when any check FAILs, so deploy scripts can
gate on it. Each check is a small function returning a `Check`, so tests and other tools
can call them one by one. Secrets (passwords, keys, webhook URLs) are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from yd_platform.cli.terminal import column_widths, columns
from yd_platform.deployment import (
    APP_DB_VARIABLE,
    DEPLOYMENT_VARIABLE,
    EMBEDDED,
    MissingVariables,
    current_deployment,
    env,
)
from yd_platform.resources.object_store import (
    ACCESS_KEY_VARIABLE,
    BACKEND_VARIABLE,
    BUCKET_VARIABLE,
    ENDPOINT_VARIABLE,
    SECRET_KEY_VARIABLE,
    SECURE_VARIABLE,
)

OK, WARN, FAIL = "OK", "WARN", "FAIL"
COMPOSE = "docker-compose -f docker/docker-compose.yml"
# Where each robot type's webhooks live; a URL elsewhere must at least be https.
ROBOT_HOSTS = {"wecom": "qyapi.weixin.qq.com", "dingtalk": "oapi.dingtalk.com"}


@dataclass(frozen=True)
class Check:
    name: str
    state: str
    detail: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        """Nothing to fix before the platform works (OK, or a WARN)."""
        return self.state != FAIL

    def text(self) -> str:
        """The detail, and for anything not OK what to do about it."""
        return f"{self.detail}  -- fix: {self.hint}" if self.hint and self.state != OK else self.detail

    def line(self) -> str:
        return render([self])[0]

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "state": self.state, "detail": self.detail,
                "fix": self.hint if self.hint and self.state != OK else None}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def _redacted(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is reported by the caller
        return "<unparsable URL>"


def _built(name: str, build: Callable[[], object]) -> object | Check:
    """The resource `build` makes from the deployment's variables, or a FAIL naming what is missing."""
    try:
        return build()
    except MissingVariables as exc:
        names = ", ".join([*exc.missing, *exc.invalid])
        return Check(name, FAIL, f"{exc.deployment}: {names}", "set them as docker/.env.example shows "
                     "(yd-platform doctor --only deployment lists what each is for)")


def check_deployment() -> Check:
    """Every resource of the deployment can be built from its variables (what the code location needs to load)."""
    from yd_platform.deployment_resources import resources_for

    try:
        name = current_deployment()
        resources = resources_for(name)
    except MissingVariables as exc:
        lines = [f"{n} ({purpose})" for n, purpose in exc.missing.items()]
        lines += [f"{n}: {problem}" for n, problem in exc.invalid.items()]
        return Check("deployment", FAIL, f"{exc.deployment}: " + "; ".join(lines),
                     "set them in docker/.env (docker/.env.example has the production set)")
    except ValueError as exc:
        return Check("deployment", FAIL, _first_line(exc), f"set {DEPLOYMENT_VARIABLE} to embedded or production")
    return Check("deployment", OK, f"{name}: {len(resources)} resources")


def check_app_db(url: str | None = None) -> Check:
    """The app database: MySQL in production, SQLite embedded (`AppDatabaseResource.check`)."""
    from yd_platform.resources.app_db import AppDatabaseResource, app_db_from_env

    resource = AppDatabaseResource(url=url) if url else _built("app database", app_db_from_env)
    if isinstance(resource, Check):
        return resource
    try:
        return Check("app database", OK, resource.check())
    except Exception as exc:  # noqa: BLE001 - every failure becomes a FAIL line
        hint = (f"start MySQL ({COMPOSE} up -d mysql) or correct {APP_DB_VARIABLE} "
                "(mysql+pymysql://USER:PASSWORD@HOST:3306/DB)")
        if not resource.url.startswith("mysql"):
            hint = f"check that YD_HOME is writable, or set {APP_DB_VARIABLE}"
        return Check("app database", FAIL, f"{_redacted(resource.url)}: {_first_line(exc)}", hint)


def _env_references(config: Path) -> set[str]:
    """Every `env: NAME` in an instance config."""
    import yaml

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if set(node) == {"env"} and isinstance(node["env"], str):
                found.add(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(config.read_text(encoding="utf-8")))
    return found


def check_dagster_instance(home: str | None = None) -> Check:
    """The Dagster instance of DAGSTER_HOME (embedded: `YD_HOME/dagster_home` when unset): its
    storage answers (MySQL in production). A folder without its instance file is reported,
    never opened (Dagster would warn and fall back to its defaults there)."""
    import dagster as dg

    from yd_platform.cli.instance_home import INSTANCE_FILE, embedded_home

    home = home or env("DAGSTER_HOME")
    if not home and current_deployment() == EMBEDDED:
        embedded = embedded_home()
        if not (embedded / INSTANCE_FILE).is_file():
            return Check("dagster instance", OK, f"embedded instance at {embedded} (created by the first "
                         "yd-platform up, run or status)")
        home = str(embedded)
    if not home:
        return Check("dagster instance", WARN, "DAGSTER_HOME is not set",
                     "set DAGSTER_HOME to the folder holding the production instance config "
                     "(a copy of docker/dagster.yaml); yd-platform up uses the embedded SQLite "
                     "instance under YD_HOME")
    config = Path(home) / INSTANCE_FILE
    if not config.is_file():
        return Check("dagster instance", WARN, f"{config} does not exist (Dagster defaults to SQLite there)",
                     "copy docker/dagster.yaml (production) or the top-level dagster.yaml "
                     "(embedded default) into DAGSTER_HOME")
    unset = sorted(name for name in _env_references(config) if os.environ.get(name) is None)
    if unset:
        return Check("dagster instance", FAIL, f"{config} reads unset variables {', '.join(unset)}",
                     "set them as in docker/.env.example (an empty password must still be set)")
    try:
        with dg.DagsterInstance.from_config(home) as instance:
            runs = instance.get_runs_count()
            storage = type(instance.run_storage).__name__
    except Exception as exc:  # noqa: BLE001
        return Check("dagster instance", FAIL, f"{config}: {_first_line(exc)}",
                     f"set DAGSTER_MYSQL_HOST/PORT/USER/PASSWORD/DB, {BUCKET_VARIABLE} and "
                     f"DAGSTER_COMPUTE_LOGS_ENDPOINT_URL (docker/.env.example), and start MySQL ({COMPOSE} up -d mysql)")
    return Check("dagster instance", OK, f"{storage}, {runs} runs ({config})")


def check_object_store() -> Check:
    """The S3 server answering with its bucket, or the local folder writable (`ObjectStoreResource.check`)."""
    from yd_platform.resources.object_store import object_store_from_env

    store = _built("object store", object_store_from_env)
    if isinstance(store, Check):
        return store
    try:
        detail = store.check()
    except Exception as exc:  # noqa: BLE001
        if store.backend == "local":
            return Check("object store", FAIL, str(exc), "make the folder writable or point YD_HOME elsewhere")
        return Check("object store", FAIL, str(exc),
                     f"start the S3 server ({COMPOSE} up -d s3), create the bucket ({COMPOSE} up s3-init), "
                     f"or correct {ENDPOINT_VARIABLE}/{SECURE_VARIABLE}, {ACCESS_KEY_VARIABLE}/{SECRET_KEY_VARIABLE} "
                     f"and {BUCKET_VARIABLE}")
    if store.backend == "local":
        return Check("object store", OK, f"{detail} (embedded; {BACKEND_VARIABLE}=minio for S3)")
    return Check("object store", OK, detail)


def check_table_engine() -> Check:
    """DuckDB runs (embedded) or Dremio answers and accepts the login (`TableEngineResource.check`)."""
    from yd_platform.resources.table_engine import table_engine_from_env

    engine = _built("table engine", table_engine_from_env)
    if isinstance(engine, Check):
        return engine
    try:
        return Check("table engine", OK, engine.check())
    except Exception as exc:  # noqa: BLE001
        if engine.engine == "duckdb":
            return Check("table engine", FAIL, f"duckdb: {_first_line(exc)}", "pip install duckdb")
        return Check("table engine", FAIL, f"dremio {engine.dremio_url or '(no URL)'}: {_first_line(exc)}",
                     f"start Dremio ({COMPOSE} up -d dremio dremio-init) or correct YD_DREMIO_URL and "
                     "YD_DREMIO_USER/YD_DREMIO_PASSWORD (or YD_DREMIO_TOKEN)")


def check_shop_source() -> Check:
    """Every platform's shops can be listed (the catalog, or the `<platform>_shops` tables)."""
    from yd_platform.catalog import load_catalog
    from yd_platform.resources.shops import shop_source_from_env

    source = _built("shop source", shop_source_from_env)
    if isinstance(source, Check):
        return source
    catalog = load_catalog()
    try:
        counts = {code: len(source.active_shops(catalog, code)) for code in catalog.platforms}
    except Exception as exc:  # noqa: BLE001
        return Check("shop source", FAIL, _first_line(exc),
                     "create the <platform>_shops tables in YD_SHOPS_DB_URL's database (else the app database), "
                     "or set YD_SHOPS_SOURCE=config to use the catalog's shops")
    where = "the catalog" if source.source == "config" else f"tables in {_redacted(source.db_url)}"
    return Check("shop source", OK, f"{where}: " + ", ".join(f"{c} {n}" for c, n in counts.items()) + " active shops")


def _probed(name: str, factory: Callable[[], Any], probe: Callable[[Any], str],
            target: Callable[[Any], str], hint: str) -> Check:
    """Build a resource from the environment and ask it `probe` (what it answered is the
    detail); a failure is shown as `target(resource): first line of the error` with `hint`."""
    resource = _built(name, factory)
    if isinstance(resource, Check):
        return resource
    try:
        return Check(name, OK, probe(resource))
    except Exception as exc:  # noqa: BLE001
        where = target(resource)
        return Check(name, FAIL, f"{where}: {_first_line(exc)}" if where else str(exc), hint)


def check_pms_db() -> Check:
    """The PMS database answers (`PmsDatabaseResource.check`)."""
    from yd_platform.resources.pms_db import pms_db_from_env

    return _probed("PMS database", pms_db_from_env, lambda db: db.check(), lambda db: _redacted(db.url),
                   "correct YD_PMS_DB_URL (the project-management system's MySQL)")


def check_warehouse() -> Check:
    """The warehouse the `warehouse` collector copies answers (the `collector` resource's `warehouse_url`)."""
    from yd_platform.resources.app_db import check_database
    from yd_platform.resources.merchant_backends import collector_from_env

    return _probed("warehouse", collector_from_env, lambda c: check_database(c.warehouse_url),
                   lambda c: _redacted(c.warehouse_url),
                   "correct YD_WAREHOUSE_URL (the database holding the dw feature tables)")


def check_metabase() -> Check:
    """Metabase answers and accepts the key or login, or the demo source is chosen (`MetabaseResource.check`)."""
    from yd_platform.resources.metabase import metabase_from_env

    return _probed("metabase", metabase_from_env, lambda m: m.check(), lambda m: "",
                   "correct YD_METABASE_URL and YD_METABASE_API_KEY (or YD_METABASE_USER/YD_METABASE_PASSWORD)")


def check_webserver() -> Check:
    """The Dagster webserver answers at YD_UI_URL (`DagsterWebserverResource.check`)."""
    from yd_platform.resources.dagster_webserver import dagster_webserver_from_env

    webserver = _built("webserver", dagster_webserver_from_env)
    if isinstance(webserver, Check):
        return webserver
    try:
        return Check("webserver", OK, webserver.check())
    except Exception as exc:  # noqa: BLE001
        state = WARN if current_deployment() == EMBEDDED else FAIL
        return Check("webserver", state, str(exc),
                     "start it (yd-platform up) or set YD_UI_URL" if state == WARN else
                     f"start it ({COMPOSE} up -d webserver) or correct YD_UI_URL")


def check_spark() -> Check:
    """Java and pyspark for Spark; the master too when it is a cluster's (`SparkResource.check`)."""
    from yd_platform.resources.spark import spark_from_env

    spark = _built("spark/java", spark_from_env)
    if isinstance(spark, Check):
        return spark
    try:
        return Check("spark/java", OK, spark.check())
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        if text.startswith("java"):
            hint = "install a JRE (apt-get install -y openjdk-17-jre-headless)"
        elif "pyspark" in text:
            hint = "pip install pyspark"
        else:
            hint = f"start Spark ({COMPOSE} up -d spark-master spark-worker) or correct YD_SPARK_MASTER"
        return Check("spark/java", FAIL, text, hint)


def check_chromium(path: str | None = None) -> Check:
    """The browser the collectors drive, and which back-ends they reach (`CollectorResource.check`)."""
    from yd_platform.resources.merchant_backends import (
        CollectorResource,
        collector_from_env,
    )

    collector = CollectorResource(executable_path=path) if path else _built("chromium", collector_from_env)
    if isinstance(collector, Check):
        return collector
    try:
        return Check("chromium", OK, collector.check())
    except Exception as exc:  # noqa: BLE001
        return Check("chromium", FAIL, str(exc), "apt-get install -y chromium, or set YD_CHROMIUM to the browser")


def _webhook_problem(channel, url: str) -> str | None:
    """What is wrong with a robot's webhook URL, if it is set and not shaped like one."""
    if not url:
        return None
    parsed, host = urlparse(url), ROBOT_HOSTS.get(channel.type)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        return f"{channel.url_env} is not a URL"
    if parsed.hostname != host and parsed.scheme != "https":
        return f"{channel.url_env} points at {parsed.hostname} without https"
    if parsed.hostname == host and not any(k in parsed.query for k in ("key=", "access_token=")):
        return f"{channel.url_env} has no key/access_token"
    return None


def check_webhooks() -> Check:
    """The alert channels of alerts.yaml set up, robots' URLs shaped like webhooks (the
    `alert_channels` resource; a key is never shown)."""
    from yd_platform.outbox.channel_config import load_outbox_config
    from yd_platform.outbox.channel_resources import alert_channels_now

    channels, resource = load_outbox_config().channels, alert_channels_now()
    configured, problems, unset = [], [], []
    for name, channel in channels.items():
        problem = _webhook_problem(channel, resource.robot(name).url) if channel.is_robot else None
        missing = resource.missing(name, channel)
        if problem:
            problems.append(problem)
        elif missing:
            unset += missing
        elif channel.is_robot:
            configured.append(f"{name} ({urlparse(resource.robot(name).url).hostname})")
        else:
            configured.append(f"{name} (smtp {resource.smtp.host})")
    if problems:
        return Check("alert channels", FAIL, "; ".join(problems),
                     "copy the robot's full webhook URL from the group settings (https://...?key=...)")
    if not configured:
        return Check("alert channels", WARN, "no channel set up: alerts only reach the run logs",
                     f"set {', '.join(dict.fromkeys(unset))} (alerts.yaml names the channels)")
    return Check("alert channels", OK, ", ".join(configured))


def check_pending_alerts(url: str | None = None) -> Check:
    """Failing checks against the channels that could announce them (the app database's
    alert state, kept by the yd_notify sensor)."""
    from yd_platform.notify.pending import failing_checks, unannounced_now
    from yd_platform.resources.app_db import app_db_from_env, engine_for

    failing = failing_checks(engine_for(url or app_db_from_env().url))
    pending = unannounced_now(failing)
    if pending:
        return Check("pending alerts", FAIL, pending.removeprefix("ALERTS PENDING: "),
                     "set a channel's variables (docker/.env), then the next yd_notify tick sends them")
    errors = sum(c.severity == "ERROR" for c in failing)
    if failing:
        return Check("pending alerts", WARN, f"{len(failing)} check(s) failing ({errors} ERROR); "
                     "channels are set, see yd-platform status", "look at the failing checks in the UI")
    return Check("pending alerts", OK, "no failing checks")


def check_shadow_mode(url: str | None = None) -> Check:
    """Whether outgoing messages are sent or held (YD_SHADOW_MODE), and what a shadow run held."""
    from yd_platform.outbox.shadow import describe, held_by_kind, shadow_from_env
    from yd_platform.resources.app_db import app_db_from_env, engine_for

    on, held = shadow_from_env(), held_by_kind(engine_for(url or app_db_from_env().url))
    if on:
        return Check("shadow mode", WARN, describe(on, held),
                     "at the cutover set YD_SHADOW_MODE=false (README: Shadow run)")
    return Check("shadow mode", OK, describe(on, held))


CHECKS: dict[str, Callable[[], Check]] = {
    "deployment": check_deployment,
    "app-db": check_app_db,
    "dagster": check_dagster_instance,
    "object-store": check_object_store,
    "table-engine": check_table_engine,
    "shops": check_shop_source,
    "pms-db": check_pms_db,
    "warehouse": check_warehouse,
    "metabase": check_metabase,
    "webserver": check_webserver,
    "spark": check_spark,
    "chromium": check_chromium,
    "webhooks": check_webhooks,
    "alerts": check_pending_alerts,
    "shadow": check_shadow_mode,
}


def run_checks(names: list[str] | None = None) -> list[Check]:
    results = []
    for name in names or list(CHECKS):
        try:
            results.append(CHECKS[name]())
        except Exception as exc:  # noqa: BLE001 - a broken check must not hide the others
            results.append(Check(name, FAIL, f"the check itself failed: {_first_line(exc)}", "report this"))
    return results


def render(results: list[Check]) -> list[str]:
    """One line per check: state, name and detail in columns (at least as wide as FAIL and
    the longest check name, so the output keeps its shape whatever passed)."""
    rows = [[c.state, c.name, c.text()] for c in results]
    widths = [max(w, least) for w, least in zip(column_widths(rows), (4, 16, 0))]
    return columns(rows, widths=widths)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor", help="check the deployment's variables and every outside part it talks to",
        description="One line per check: OK, WARN (works, but look at it) or FAIL (fix it first), and for "
                    "anything not OK what to do about it. Exit status 1 when a check FAILs, else 0.")
    parser.add_argument("--only", nargs="+", choices=list(CHECKS), metavar="CHECK",
                        help=f"run only these checks ({', '.join(CHECKS)})")
    parser.add_argument("--json", action="store_true",
                        help='machine-readable: {"ok": ..., "checks": [{"name", "ok", "state", "detail", "fix"}]}')
    parser.set_defaults(func=doctor_cmd)


def doctor_cmd(args: argparse.Namespace) -> int:
    results = run_checks(args.only)
    failed = [c.name for c in results if c.state == FAIL]
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [c.as_json() for c in results]}, ensure_ascii=False, indent=2))
        return 1 if failed else 0
    for line in render(results):
        print(line, flush=True)
    warned = [c.name for c in results if c.state == WARN]
    print(f"\n{len(results) - len(failed) - len(warned)} ok, {len(warned)} warnings, {len(failed)} failed")
    return 1 if failed else 0
