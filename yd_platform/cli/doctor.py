"""`yd-platform doctor`: checks every outside part the platform talks to.

One line per check, OK / WARN / FAIL, and for anything not OK what to do about it.
The exit status is 1 when any check FAILs, so deploy scripts can gate on it. Each
check is a small function returning a `Check`, so tests and other tools can call them
one by one. Secrets (passwords, webhook keys) are never printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from yd_platform.settings import app_db_url, env

OK, WARN, FAIL = "OK", "WARN", "FAIL"
CONNECT_TIMEOUT = 5
COMPOSE = "docker-compose -f docker/docker-compose.yml"
DEFAULT_CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Check:
    name: str
    state: str
    detail: str
    hint: str = ""

    def line(self) -> str:
        text = f"{self.state:4}  {self.name:16} {self.detail}"
        return f"{text}  -- fix: {self.hint}" if self.hint and self.state != OK else text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def _redacted(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is reported by the caller
        return "<unparsable URL>"


def _tcp_reachable(host: str, port: int) -> str | None:
    """None when a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            return None
    except OSError as exc:
        return f"{host}:{port} {exc.strerror or exc}"


def check_app_db(url: str | None = None) -> Check:
    """The app database (YD_APP_DB_URL): MySQL in production, SQLite embedded."""
    import sqlalchemy as sa

    url = url or app_db_url()
    shown = _redacted(url)
    try:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT} if url.startswith("mysql") else {}
        engine = sa.create_engine(url, connect_args=connect_args)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - every failure becomes a FAIL line
        hint = (f"start MySQL ({COMPOSE} up -d mysql) or correct YD_APP_DB_URL "
                "(mysql+pymysql://USER:PASSWORD@HOST:3306/DB)")
        if not url.startswith("mysql"):
            hint = "check that YD_HOME is writable, or set YD_APP_DB_URL"
        return Check("app database", FAIL, f"{shown}: {_first_line(exc)}", hint)
    kind = "embedded SQLite" if url.startswith("sqlite") else "reachable"
    return Check("app database", OK, f"{shown} ({kind})")


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
    """The Dagster instance of DAGSTER_HOME: its storage answers (MySQL in production)."""
    import dagster as dg

    home = home or env("DAGSTER_HOME")
    if not home:
        return Check("dagster instance", WARN, "DAGSTER_HOME is not set",
                     "set DAGSTER_HOME to the folder holding the production instance config "
                     "(a copy of docker/dagster.yaml); yd-platform up uses the embedded SQLite "
                     "instance under YD_HOME")
    config = Path(home) / "dagster.yaml"
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
                     f"set DAGSTER_MYSQL_HOST/PORT/USER/PASSWORD/DB, YD_MINIO_BUCKET and "
                     f"DAGSTER_COMPUTE_LOGS_ENDPOINT_URL (docker/.env.example), and start MySQL ({COMPOSE} up -d mysql)")
    return Check("dagster instance", OK, f"{storage}, {runs} runs ({config})")


def _minio_client(store):
    """A client for the store's MinIO that gives up after CONNECT_TIMEOUT, without retries."""
    import urllib3
    from minio import Minio

    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=CONNECT_TIMEOUT),
                               retries=urllib3.Retry(total=0))
    return Minio(store.endpoint, access_key=store.access_key, secret_key=store.secret_key, secure=store.secure,
                 region=store.region, http_client=http)


def check_object_store() -> Check:
    """MinIO reachable with its bucket, or the local folder writable."""
    backend = env("YD_OBJECT_STORE") or "local"
    if backend not in ("local", "minio"):
        return Check("object store", FAIL, f"YD_OBJECT_STORE={backend!r}", "use 'local' or 'minio'")
    from yd_platform.resources.core import object_store_from_env

    store = object_store_from_env().resolved()
    if store.backend == "local":
        root = Path(store.root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / f".doctor-{uuid.uuid4().hex}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            return Check("object store", FAIL, f"local folder {root}: {exc}",
                         "make the folder writable or point YD_HOME elsewhere")
        return Check("object store", OK, f"local folder {root} (embedded default)")
    endpoint, bucket = store.endpoint, store.bucket
    missing = [n for n, v in (("YD_MINIO_ACCESS_KEY", store.access_key), ("YD_MINIO_SECRET_KEY", store.secret_key))
               if not v]
    if missing:
        return Check("object store", FAIL, f"minio {endpoint}: {', '.join(missing)} not set",
                     "set the MinIO credentials (docker/.env.example)")
    try:
        exists = _minio_client(store).bucket_exists(bucket)
    except Exception as exc:  # noqa: BLE001
        return Check("object store", FAIL, f"minio {endpoint}: {_first_line(exc)}",
                     f"start MinIO ({COMPOSE} up -d minio) or correct YD_MINIO_ENDPOINT/YD_MINIO_SECURE "
                     "and the credentials")
    if not exists:
        return Check("object store", FAIL, f"minio {endpoint}: bucket {bucket!r} does not exist",
                     f"create it: {COMPOSE} up minio-init (or mc mb ALIAS/{bucket})")
    return Check("object store", OK, f"minio {endpoint}, bucket {bucket!r}")


def check_table_engine() -> Check:
    """DuckDB importable (embedded) or Dremio answering (production)."""
    engine = env("YD_TABLE_ENGINE") or "duckdb"
    if engine == "duckdb":
        try:
            import duckdb

            duckdb.connect().execute("SELECT 1").fetchall()
        except Exception as exc:  # noqa: BLE001
            return Check("table engine", FAIL, f"duckdb: {_first_line(exc)}", "pip install duckdb")
        return Check("table engine", OK, f"duckdb {duckdb.__version__}")
    if engine != "dremio":
        return Check("table engine", FAIL, f"YD_TABLE_ENGINE={engine!r}", "use 'duckdb' or 'dremio'")
    import requests

    url = (env("YD_DREMIO_URL") or "").rstrip("/")
    if not url:
        return Check("table engine", FAIL, "dremio: YD_DREMIO_URL is not set",
                     "set YD_DREMIO_URL (e.g. http://dremio:9047), YD_DREMIO_USER and YD_DREMIO_PASSWORD")
    try:
        resp = requests.get(f"{url}/apiv2/server_status", timeout=CONNECT_TIMEOUT)
    except requests.RequestException as exc:
        return Check("table engine", FAIL, f"dremio {url}: {_first_line(exc)}",
                     "start Dremio (uncomment the dremio service in docker/docker-compose.yml) or fix YD_DREMIO_URL")
    if resp.status_code >= 500:
        return Check("table engine", FAIL, f"dremio {url}: HTTP {resp.status_code}", "look at Dremio's log")
    if not (env("YD_DREMIO_USER") and env("YD_DREMIO_PASSWORD")):
        return Check("table engine", WARN, f"dremio {url} answers, but YD_DREMIO_USER/PASSWORD are not set",
                     "set YD_DREMIO_USER and YD_DREMIO_PASSWORD")
    return Check("table engine", OK, f"dremio {url}")


def check_spark() -> Check:
    """Java and pyspark for local Spark; the master too when YD_SPARK_MASTER is set."""
    java = shutil.which("java")
    if not java:
        return Check("spark/java", FAIL, "java not found on PATH",
                     "install a JRE (apt-get install -y openjdk-17-jre-headless)")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
        version = (out.stderr or out.stdout).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        return Check("spark/java", FAIL, f"java -version: {exc}", "reinstall the JRE")
    try:
        import pyspark
    except ImportError as exc:
        return Check("spark/java", FAIL, f"{version}; pyspark: {exc}", "pip install pyspark")
    master = env("YD_SPARK_MASTER")
    if master and master.startswith("spark://"):
        parsed = urlparse(master)
        problem = _tcp_reachable(parsed.hostname or "", parsed.port or 7077)
        if problem:
            return Check("spark/java", FAIL, f"spark master {master}: {problem}",
                         f"start Spark ({COMPOSE} up -d spark-master spark-worker) or unset YD_SPARK_MASTER")
    where = master or "local[*]"
    return Check("spark/java", OK, f"{version}; pyspark {pyspark.__version__}; master {where}")


def check_chromium(path: str | None = None) -> Check:
    """The browser the collectors drive (YD_CHROMIUM, default /usr/bin/chromium)."""
    path = path or env("YD_CHROMIUM") or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return Check("chromium", FAIL, f"{path} not found or not executable",
                     "apt-get install -y chromium, or set YD_CHROMIUM to the browser")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("chromium", FAIL, f"{path} --version: {exc}", "reinstall chromium")
    if out.returncode != 0:
        return Check("chromium", FAIL, f"{path} --version exited {out.returncode}", "reinstall chromium")
    return Check("chromium", OK, (out.stdout.strip() or path).splitlines()[0])


WEBHOOK_HOSTS = {
    "YD_WECOM_WEBHOOK_URL": "qyapi.weixin.qq.com",
    "YD_DINGTALK_WEBHOOK_URL": "oapi.dingtalk.com",
}


def check_webhooks() -> Check:
    """Alert channels configured and shaped like robot URLs (the key is never shown)."""
    configured, problems = [], []
    for name, host in WEBHOOK_HOSTS.items():
        value = env(name)
        if not value:
            continue
        parsed = urlparse(value)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            problems.append(f"{name} is not a URL")
        elif parsed.hostname != host and parsed.scheme != "https":
            problems.append(f"{name} points at {parsed.hostname} without https")
        elif parsed.hostname == host and not any(k in parsed.query for k in ("key=", "access_token=")):
            problems.append(f"{name} has no key/access_token")
        else:
            configured.append(f"{name.removeprefix('YD_').removesuffix('_WEBHOOK_URL').lower()} ({parsed.hostname})")
    if env("YD_SMTP_HOST"):
        configured.append(f"smtp ({env('YD_SMTP_HOST')})")
    if problems:
        return Check("alert channels", FAIL, "; ".join(problems),
                     "copy the robot's full webhook URL from the group settings (https://...?key=...)")
    if not configured:
        return Check("alert channels", WARN, "no webhook configured: alerts only reach the run logs",
                     "set YD_WECOM_WEBHOOK_URL (and/or YD_DINGTALK_WEBHOOK_URL, YD_SMTP_*)")
    return Check("alert channels", OK, ", ".join(configured))


def check_pending_alerts(url: str | None = None) -> Check:
    """Failing checks against the channels that could announce them (the app database's
    alert state, kept by the yd_notify sensor)."""
    from yd_platform.notify.config import load_notify_config
    from yd_platform.notify.pending import failing_checks, unannounced
    from yd_platform.resources.app_db import engine_for

    config = load_notify_config()
    failing = failing_checks(engine_for(url or app_db_url()))
    pending = unannounced(failing, config)
    if pending:
        return Check("pending alerts", FAIL, pending.removeprefix("ALERTS PENDING: "),
                     "set a channel's variables (docker/.env), then the next yd_notify tick sends them")
    errors = sum(c.severity == "ERROR" for c in failing)
    if failing:
        return Check("pending alerts", WARN, f"{len(failing)} check(s) failing ({errors} ERROR); "
                     "channels are set, see yd-platform status", "look at the failing checks in the UI")
    return Check("pending alerts", OK, "no failing checks")


CHECKS: dict[str, Callable[[], Check]] = {
    "app-db": check_app_db,
    "dagster": check_dagster_instance,
    "object-store": check_object_store,
    "table-engine": check_table_engine,
    "spark": check_spark,
    "chromium": check_chromium,
    "webhooks": check_webhooks,
    "alerts": check_pending_alerts,
}


def run_checks(names: list[str] | None = None) -> list[Check]:
    results = []
    for name in names or list(CHECKS):
        try:
            results.append(CHECKS[name]())
        except Exception as exc:  # noqa: BLE001 - a broken check must not hide the others
            results.append(Check(name, FAIL, f"the check itself failed: {_first_line(exc)}", "report this"))
    return results


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check MySQL, Dagster storage, object store, engines, browser, alerts")
    parser.add_argument("--only", nargs="+", choices=list(CHECKS), metavar="CHECK",
                        help=f"run only these checks ({', '.join(CHECKS)})")
    parser.set_defaults(func=doctor_cmd)


def doctor_cmd(args: argparse.Namespace) -> int:
    results = run_checks(args.only)
    for check in results:
        print(check.line(), flush=True)
    failed = [c.name for c in results if c.state == FAIL]
    warned = [c.name for c in results if c.state == WARN]
    print(f"\n{len(results) - len(failed) - len(warned)} ok, {len(warned)} warnings, {len(failed)} failed")
    return 1 if failed else 0
