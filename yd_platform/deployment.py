"""Which deployment runs, and the variables each outside system is read from.

`YD_DEPLOYMENT` names the deployment: `embedded` (the default) or `production`.

- **embedded** needs no outside service: a local folder as object store, DuckDB, SQLite
  for the app, PMS and warehouse databases, the catalog's shops, the demo merchant portal
  and the demo Metabase source. A variable that is set still chooses the outside system
  (`YD_OBJECT_STORE=minio` with `YD_MINIO_*`, `YD_APP_DB_URL`, ...).
- **production** reads every outside system from its variables. Nothing falls back to
  the demo portal, a local folder, SQLite or the catalog's shops unless a variable
  chooses it (`YD_OBJECT_STORE=local`, `YD_TABLE_ENGINE=duckdb`, `YD_SHOPS_SOURCE=config`,
  a `sqlite:///` URL, `YD_PORTAL_URL=demo`, `YD_METABASE_URL=demo`). When a required
  variable is unset, the code location refuses to load with one error naming every
  missing variable and what it is for; `yd-platform doctor` says the same.

Each outside system is a Dagster resource of its own module under
`yd_platform.resources`; `yd_platform.resources.resources_for(deployment)` builds them
all. Settings that come from a variable are `dg.EnvVar` fields: the UI shows the
variable's name, never its value. `docker/.env.example` is a complete production set.

| system (resource)              | variable                  | embedded                         | production                                    |
|--------------------------------|---------------------------|----------------------------------|-----------------------------------------------|
| deployment                     | YD_DEPLOYMENT             | embedded                         | production                                    |
| local state                    | YD_HOME                   | <repo>/.yd_home                  | optional: scratch, sessions, screenshots      |
| object store (`object_store`)  | YD_OBJECT_STORE           | local (YD_HOME/objects)          | optional: minio (S3) unless `local`           |
|                                | YD_MINIO_ENDPOINT         | 127.0.0.1:9000 (with `minio`)    | required: S3 endpoint host:port               |
|                                | YD_MINIO_ACCESS_KEY       | empty                            | required                                      |
|                                | YD_MINIO_SECRET_KEY       | empty                            | required                                      |
|                                | YD_MINIO_BUCKET           | warehouse                        | required                                      |
|                                | YD_MINIO_SECURE           | false                            | optional: true for https                      |
|                                | YD_MINIO_REGION           | none                             | optional                                      |
| table engine (`table_engine`)  | YD_TABLE_ENGINE           | duckdb                           | optional: dremio unless `duckdb`              |
|                                | YD_DREMIO_URL             |                                  | required with dremio                          |
|                                | YD_DREMIO_USER            |                                  | required with dremio (or YD_DREMIO_TOKEN)     |
|                                | YD_DREMIO_PASSWORD        |                                  | required with dremio (or YD_DREMIO_TOKEN)     |
|                                | YD_DREMIO_TOKEN           |                                  | optional: personal access token               |
| app database (`app_db`)        | YD_APP_DB_URL             | sqlite:///YD_HOME/app.db         | required                                      |
| shops (`shop_source`)          | YD_SHOPS_SOURCE           | config (the catalog)             | optional: mysql unless `config`               |
|                                | YD_SHOPS_DB_URL           | the app database                 | optional: the app database                    |
| old task tables (`task_tables`)| YD_TASK_TABLES_DB_URL     | shops database, else app database| optional: shops database, else app database   |
| merchant back-ends (`collector`)| YD_PORTAL_URL            | demo portal in each process      | required: a URL, `live` or `demo`             |
|                                | YD_PORTAL_DEMO            | true without YD_PORTAL_URL       | optional: false unless `demo`                 |
|                                | YD_WAREHOUSE_URL          | sqlite:///YD_HOME/warehouse.db   | required: the warehouse of the dw tables      |
| PMS database (`pms_db`)        | YD_PMS_DB_URL             | sqlite:///YD_HOME/pms.db         | required                                      |
| Metabase (`incentives_metabase`)| YD_METABASE_URL          | demo source                      | required: a URL or `demo`                     |
|                                | YD_METABASE_API_KEY       |                                  | required with a URL (or user and password)    |
|                                | YD_METABASE_USER          |                                  | required with a URL (or the API key)          |
|                                | YD_METABASE_PASSWORD      |                                  | required with a URL (or the API key)          |
| Spark (`spark`)                | YD_SPARK_MASTER           | tags.yaml's master, local[*]     | required: spark://host:7077 or local[*]       |
|                                | YD_TAGS_FEATURE_READ      | s3a on a cluster with S3         | optional: s3a or stage                        |
| webserver (`dagster_webserver`)| YD_UI_URL                 | http://127.0.0.1:3000            | required: the UI's address (links, GraphQL)   |
| alert channels (`alert_channels`)| YD_WECOM_WEBHOOK_URL, YD_DINGTALK_WEBHOOK_URL, YD_DINGTALK_SECRET, YD_ALERT_MAIL_TO, YD_SMTP_HOST, YD_SMTP_PORT, YD_SMTP_USER, YD_SMTP_PASSWORD, YD_SMTP_FROM, YD_SMTP_STARTTLS | unset: not sent | optional (alerts.yaml names them) |
|                                | YD_SHADOW_MODE            | false                            | optional: hold every message                  |

Per-platform back-end URLs (`YD_PORTAL_URL_<PLATFORM>`), the browser, the collectors'
retries and timeouts are in `yd_platform.resources.merchant_backends`, the S3A jars of
Spark in `yd_platform.resources.spark`; merchant logins
(`YD_CRED_<PLATFORM>_<ACCOUNT>_USER` / `_PASSWORD`) are read when an account logs in,
never as resource settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

PACKAGE_DIR = Path(__file__).resolve().parent

DEPLOYMENT_VARIABLE = "YD_DEPLOYMENT"
EMBEDDED, PRODUCTION = "embedded", "production"
DEPLOYMENTS = (EMBEDDED, PRODUCTION)
DEMO = "demo"
"""The value that chooses a demo stand-in explicitly (YD_PORTAL_URL, YD_METABASE_URL)."""

APP_DB_VARIABLE = "YD_APP_DB_URL"
APP_DB_PURPOSE = "app database: SQLAlchemy URL (mysql+pymysql://USER:PASSWORD@HOST:3306/DB)"
UI_URL_VARIABLE = "YD_UI_URL"
UI_URL_PURPOSE = "Dagster webserver: the UI's public URL (links in alerts, the GraphQL client)"
EMBEDDED_UI_URL = "http://127.0.0.1:3000"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}

N = TypeVar("N", int, float)


class DeploymentError(ValueError):
    """The deployment or one of its variables is wrong; the message names each variable."""


class MissingVariables(DeploymentError):
    """Required variables of the deployment are unset (or hold a value the platform refuses)."""

    def __init__(self, deployment: str, missing: Mapping[str, str], invalid: Mapping[str, str] | None = None):
        self.deployment = deployment
        self.missing = dict(missing)
        self.invalid = dict(invalid or {})
        lines = [f"{DEPLOYMENT_VARIABLE}={deployment}: the code location cannot load its resources."]
        if self.missing:
            lines.append(f"Set {'this variable' if len(self.missing) == 1 else 'these variables'} "
                         "(docker/.env.example has the production set):")
            lines += [f"  {name}: {purpose}" for name, purpose in self.missing.items()]
        if self.invalid:
            lines.append("Correct:")
            lines += [f"  {name}: {problem}" for name, problem in self.invalid.items()]
        super().__init__("\n".join(lines))


def env(name: str, default: str | None = None) -> str | None:
    """The variable's value; an empty value counts as unset."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_flag(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in TRUE_WORDS


def current_deployment() -> str:
    """The deployment `YD_DEPLOYMENT` names (default embedded)."""
    name = (env(DEPLOYMENT_VARIABLE) or EMBEDDED).strip().lower()
    if name not in DEPLOYMENTS:
        raise DeploymentError(f"{DEPLOYMENT_VARIABLE}={name!r}: use {' or '.join(DEPLOYMENTS)}")
    return name


def _repo_root() -> Path | None:
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").exists() else None


def yd_home() -> Path:
    """Root of local state: object-store folder, SQLite files, sessions, screenshots."""
    configured = env("YD_HOME")
    if configured:
        path = Path(configured)
    else:
        root = _repo_root()
        path = (root / ".yd_home") if root else Path.home() / ".yd_platform"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def embedded_sqlite(name: str) -> str:
    """URL of an embedded SQLite database file under YD_HOME."""
    return f"sqlite:///{yd_home() / name}"


def app_db_url() -> str:
    """The app database: YD_APP_DB_URL; embedded without it, SQLite under YD_HOME."""
    return Variables().require(APP_DB_VARIABLE, APP_DB_PURPOSE, embedded=lambda: embedded_sqlite("app.db"),
                               strict=True)


def ui_url() -> str:
    """The Dagster webserver's public URL: YD_UI_URL; embedded without it, the local UI."""
    return Variables().require(UI_URL_VARIABLE, UI_URL_PURPOSE, embedded=EMBEDDED_UI_URL, strict=True).rstrip("/")


class Variables:
    """The variables of one deployment, read in one place.

    Resource modules read through it, so the production rules hold everywhere: a required
    variable that is unset is recorded (`missing`) instead of replaced by an embedded
    stand-in, a refused value is recorded (`invalid`), and `check()` raises one error
    naming all of them. `environ` replaces the process environment (tests, and listing
    what production requires)."""

    def __init__(self, deployment: str | None = None, environ: Mapping[str, str] | None = None):
        self.deployment = deployment or current_deployment()
        if self.deployment not in DEPLOYMENTS:
            raise DeploymentError(f"deployment {self.deployment!r}: use {' or '.join(DEPLOYMENTS)}")
        self.environ = os.environ if environ is None else environ
        self.missing: dict[str, str] = {}
        self.invalid: dict[str, str] = {}

    @property
    def production(self) -> bool:
        return self.deployment == PRODUCTION

    def is_set(self, name: str) -> bool:
        return self.environ.get(name) not in (None, "")

    def value(self, name: str, default: str | None = None) -> str | None:
        """An optional variable: its value, else `default`."""
        return self.environ[name] if self.is_set(name) else default

    def prefixed(self, prefix: str) -> dict[str, str]:
        """{the rest of the name: value} of every set variable starting with `prefix`."""
        return {name.removeprefix(prefix): value for name, value in self.environ.items()
                if name.startswith(prefix) and value}

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.value(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            self.invalid[name] = f"{value!r} is not true or false"
            return default
        return word in TRUE_WORDS

    def number(self, name: str, default: N, kind: Callable[[str], N]) -> N:
        value = self.value(name)
        if value is None:
            return default
        try:
            return kind(value)
        except ValueError:
            self.invalid[name] = f"{value!r} is not a {kind.__name__}"
            return default

    def require(self, name: str, purpose: str, embedded: str | Callable[[], str] | None = None,
                strict: bool = False) -> str:
        """A variable production needs. Unset: in production it is recorded as missing
        ("" is returned; `strict` raises at once), embedded gives `embedded`."""
        if self.is_set(name):
            return self.environ[name]
        if self.production:
            self.missing[name] = purpose
            if strict:
                self.check()
            return ""
        if callable(embedded):
            return embedded()
        return embedded or ""

    def record_missing(self, label: str, purpose: str) -> None:
        """A requirement no single variable states (a user and a password, or a token)."""
        self.missing[label] = purpose

    def choice(self, name: str, options: tuple[str, ...], embedded: str, production: str) -> str:
        """One of `options`; unset: the deployment's own choice. A value outside them is recorded."""
        value = (self.value(name) or "").strip().lower()
        if not value:
            return production if self.production else embedded
        if value not in options:
            self.invalid[name] = f"{value!r}: use {' or '.join(repr(o) for o in options)}"
            return production if self.production else embedded
        return value

    def check(self) -> None:
        """Raise one error naming every missing and refused variable (nothing when all is well)."""
        if self.missing or self.invalid:
            raise MissingVariables(self.deployment, self.missing, self.invalid)
