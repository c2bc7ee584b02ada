"""The merchant back-ends the collectors reach (the `collector` resource), and how.

| variable                          | embedded                        | production                                 |
|-----------------------------------|---------------------------------|--------------------------------------------|
| YD_PORTAL_URL                     | unset: the demo portal, started in each process | required: base URL (platforms under /<platform>), `live` (the real hosts) or `demo` |
| YD_PORTAL_URL_<PLATFORM>          | YD_PORTAL_URL/<platform>        | optional: one platform's back-end          |
| YD_PORTAL_DEMO                    | true without YD_PORTAL_URL      | false unless YD_PORTAL_URL=demo: accounts without credentials use the demo password |
| YD_WAREHOUSE_URL                  | YD_HOME/warehouse.db (SQLite)   | required: the warehouse the `warehouse` collector copies (`resources.warehouse_db`) |
| YD_CHROMIUM                       | /usr/bin/chromium               | browser executable                         |
| YD_BROWSER_HEADLESS               | true                            |                                            |
| YD_COLLECT_ATTEMPTS               | 3                               | step attempts per collection (RetryPolicy) |
| YD_COLLECT_BACKOFF_SECONDS        | 5                               | first retry pause (doubles, plus jitter)   |
| YD_COLLECT_TIMEOUT_SECONDS        | 30                              | per page action / API call                 |
| YD_REPORT_WAIT_SECONDS            | 300                             | longest wait for a report to be generated  |

A merchant account's login (`YD_CRED_<PLATFORM>_<ACCOUNT>_USER` / `_PASSWORD`) is read
from the environment when the account logs in (`collect.credentials`): it is never part
of the resource config or logs.

How many collections of one platform may run at once is the platform's
`max_concurrent_runs` in the catalog, and one merchant account downloads one report at
a time: both are Dagster pools (`yd_platform.instance.pools`), held across every run and
container.
"""

from __future__ import annotations

import os
import subprocess
import threading

import dagster as dg
from pydantic import Field

from yd_platform.catalog import load_catalog
from yd_platform.catalog.collectors import BROWSERLESS_COLLECTORS
from yd_platform.datasets.keys import LANDING_TAG, raw_key
from yd_platform.deployment import DEMO, Variables
from yd_platform.resources.chromium import warm_up
from yd_platform.resources.variables import env_field, from_environment
from yd_platform.resources.warehouse_db import warehouse_url_for

PORTAL_VARIABLE = "YD_PORTAL_URL"
PLATFORM_PORTAL_PREFIX = "YD_PORTAL_URL_"
DEMO_LOGIN_VARIABLE = "YD_PORTAL_DEMO"
CHROMIUM_VARIABLE = "YD_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"


_lock = threading.Lock()
_portal = None


def embedded_portal_url() -> str:
    """The demo portal of this process, started on 127.0.0.1 on first use (`yd-platform up`
    starts one portal process for every run instead and sets YD_PORTAL_URL to it)."""
    global _portal
    with _lock:
        if _portal is None:
            from yd_platform.demo.portal import DemoPortal

            portal = DemoPortal("127.0.0.1", 0)
            portal.start()
            _portal = portal
        return _portal.url


class CollectorResource(dg.ConfigurableResource):
    """How collectors reach the back-ends and drive Chromium."""

    portal_url: str = Field(default="", description=f"Base URL of the back-ends ({PORTAL_VARIABLE}): `live` "
                                                    "for the real hosts; empty or `demo`: the demo portal")
    platform_urls: dict[str, str] = Field(default_factory=dict, description="Per-platform base URL overrides")
    demo_login: bool = Field(default=True, description="Accounts without credentials use the demo password")
    executable_path: str = Field(default=DEFAULT_CHROMIUM, description=f"the browser ({CHROMIUM_VARIABLE})")
    headless: bool = True
    timeout_seconds: float = Field(default=30.0, description="Per page action / API call")
    report_wait_seconds: float = Field(default=300.0, description="Longest wait for a report to be generated")
    poll_seconds: float = Field(default=5.0, description="Longest pause between status polls")
    attempts: int = Field(default=3, ge=1, description="Tries per collection for transient failures")
    backoff_seconds: float = Field(default=5.0, description="First retry pause; doubles, plus jitter")
    lock_wait_seconds: float = Field(default=3600.0, description="Longest wait for the account's pool slot")
    warehouse_url: str = Field(default="", description="SQLAlchemy URL of the warehouse the `warehouse` "
                                                       "collector copies (YD_WAREHOUSE_URL)")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run that downloads through Chromium launches it as the run starts: its
        resources are set up before its step waits for the platform's pool, so the
        launch (seconds) overlaps that wait instead of holding the slot."""
        if downloads_through_chromium(context.dagster_run, context.instance):
            warm_up(self.executable_path, self.headless)

    def base_url(self, platform: str) -> str:
        if platform in self.platform_urls:
            return self.platform_urls[platform].rstrip("/")
        root = self.portal_url
        if not root or root == DEMO:
            root = embedded_portal_url()
        return f"{root.rstrip('/')}/{platform}"

    def check(self) -> str:
        """The browser starts (`--version`); says which one and which back-ends. Raises
        OSError or RuntimeError naming the problem."""
        path = self.executable_path
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise OSError(f"{path} not found or not executable")
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"{path} --version exited {out.returncode}")
        browser = (out.stdout.strip() or path).splitlines()[0]
        where = ("the demo portal" if self.portal_url in ("", DEMO)
                 else "the real hosts" if self.portal_url == "live" else self.portal_url)
        return f"{browser}; back-ends: {where}"


def downloads_through_chromium(run: dg.DagsterRun | None, instance: dg.DagsterInstance | None = None) -> bool:
    """Whether `run` materializes the raw asset of a dataset whose collector logs in
    through Chromium (a landing run files a dropped report instead). A run launched with
    an asset selection (backfills, the UI) names its assets; a whole job's run (schedules,
    `dagster job launch`) has them in its execution plan, as steps named by asset key."""
    if run is None or LANDING_TAG in run.tags:
        return False
    steps = {key.to_python_identifier() for key in run.asset_selection or ()}
    if not steps and instance is not None and run.execution_plan_snapshot_id:
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        steps = set(plan.step_keys_to_execute or (step.key for step in plan.steps))
    browser_raw = {raw_key(ds).to_python_identifier() for ds in load_catalog().datasets()
                   if ds.collector not in BROWSERLESS_COLLECTORS}
    return not browser_raw.isdisjoint(steps)


def collector_for(variables: Variables) -> CollectorResource:
    """Embedded: the demo portal unless YD_PORTAL_URL names back-ends. Production:
    YD_PORTAL_URL is required (`demo` chooses the demo portal)."""
    portal = variables.require(PORTAL_VARIABLE, "merchant back-ends: their base URL, `live` for the real hosts, "
                                                "or `demo` for the demo portal")
    overrides = {name.lower(): url for name, url in variables.prefixed(PLATFORM_PORTAL_PREFIX).items()}
    demo = portal in ("", DEMO) and not overrides if not variables.production else portal == DEMO
    return CollectorResource(
        portal_url=dg.EnvVar(PORTAL_VARIABLE) if variables.is_set(PORTAL_VARIABLE) else "",
        platform_urls=overrides,
        demo_login=variables.flag(DEMO_LOGIN_VARIABLE, default=demo),
        executable_path=env_field(variables, CHROMIUM_VARIABLE, embedded=DEFAULT_CHROMIUM),
        headless=variables.flag("YD_BROWSER_HEADLESS", default=True),
        attempts=variables.number("YD_COLLECT_ATTEMPTS", 3, int),
        backoff_seconds=variables.number("YD_COLLECT_BACKOFF_SECONDS", 5.0, float),
        timeout_seconds=variables.number("YD_COLLECT_TIMEOUT_SECONDS", 30.0, float),
        report_wait_seconds=variables.number("YD_REPORT_WAIT_SECONDS", 300.0, float),
        warehouse_url=warehouse_url_for(variables),
    )


def collector_from_env(deployment: str | None = None) -> CollectorResource:
    """The deployment's collector settings read now (commands, tests, the raw asset's retry policy)."""
    return from_environment(collector_for, deployment)
