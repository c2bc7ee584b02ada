"""Collector settings (a Dagster resource) and where credentials come from.

| variable                          | default                         | meaning                                   |
|-----------------------------------|---------------------------------|-------------------------------------------|
| YD_PORTAL_URL                     | (unset: embedded demo portal)   | base URL, platforms under /<platform>      |
| YD_PORTAL_URL_<PLATFORM>          | YD_PORTAL_URL/<platform>        | one platform's back-end                    |
| YD_PORTAL_DEMO                    | true when YD_PORTAL_URL unset   | accounts without credentials use the demo password |
| YD_CHROMIUM                       | /usr/bin/chromium               | browser executable                         |
| YD_BROWSER_HEADLESS               | true                            |                                            |
| YD_COLLECT_ATTEMPTS               | 3                               | step attempts per collection (RetryPolicy) |
| YD_COLLECT_BACKOFF_SECONDS        | 5                               | first retry pause (doubles, plus jitter)   |
| YD_COLLECT_TIMEOUT_SECONDS        | 30                              | per page action / API call                 |
| YD_REPORT_WAIT_SECONDS            | 300                             | longest wait for a report to be generated  |
| YD_CRED_<PLATFORM>_<ACCOUNT>_USER / _PASSWORD | (demo: account / demo password) | login of one merchant account |

`<ACCOUNT>` is the account upper-cased with every other character than A-Z/0-9 as `_`
(`pdd_acc_01` -> `YD_CRED_PDD_PDD_ACC_01_USER`). Credentials are read from the
environment at login time only; they are never part of the resource config or logs.

How many collections of one platform may run at once is the platform's
`max_concurrent_runs` in the catalog, and one merchant account downloads one report at
a time: both are Dagster pools (`yd_platform.launch.pools`), held across every run and
container. Transient failures are retried by the raw asset's `RetryPolicy`
(`collect_retry_policy`), each attempt visible in the UI.
"""

from __future__ import annotations

import os
import re

import dagster as dg
from pydantic import Field

from yd_platform.collect.errors import PermanentError
from yd_platform.settings import env, env_flag


class CollectorResource(dg.ConfigurableResource):
    """How collectors reach the back-ends and drive Chromium."""

    portal_url: str = Field(default="", description="Base URL of the back-ends; empty = embedded demo portal")
    platform_urls: dict[str, str] = Field(default_factory=dict, description="Per-platform base URL overrides")
    demo_login: bool = Field(default=True, description="Accounts without credentials use the demo password")
    executable_path: str = "/usr/bin/chromium"
    headless: bool = True
    timeout_seconds: float = Field(default=30.0, description="Per page action / API call")
    report_wait_seconds: float = Field(default=300.0, description="Longest wait for a report to be generated")
    poll_seconds: float = Field(default=5.0, description="Longest pause between status polls")
    attempts: int = Field(default=3, ge=1, description="Tries per collection for transient failures")
    backoff_seconds: float = Field(default=5.0, description="First retry pause; doubles, plus jitter")
    lock_wait_seconds: float = Field(default=3600.0, description="Longest wait for the account's lock")

    def base_url(self, platform: str) -> str:
        if platform in self.platform_urls:
            return self.platform_urls[platform].rstrip("/")
        root = self.portal_url
        if not root:
            from yd_platform.collect.embedded import embedded_portal_url

            root = embedded_portal_url()
        return f"{root.rstrip('/')}/{platform}"


def collector_from_env(as_env_vars: bool = False) -> CollectorResource:
    """The settings the environment gives.

    `as_env_vars=True` is the form registered as the `collector` resource: the URL and
    browser settings are `dg.EnvVar`s that Dagster resolves in each run (the UI shows
    the variable names); otherwise plain values, for commands and code outside a run.
    """
    def text(name: str, default: str) -> str:
        return dg.EnvVar(name) if as_env_vars and env(name) else (env(name) or default)

    portal = env("YD_PORTAL_URL") or ""
    overrides = {}
    for name, value in os.environ.items():
        if name.startswith("YD_PORTAL_URL_") and value:
            overrides[name.removeprefix("YD_PORTAL_URL_").lower()] = value
    return CollectorResource(
        portal_url=text("YD_PORTAL_URL", ""),
        platform_urls=overrides,
        demo_login=env_flag("YD_PORTAL_DEMO", default=not portal and not overrides),
        executable_path=text("YD_CHROMIUM", "/usr/bin/chromium"),
        headless=env_flag("YD_BROWSER_HEADLESS", default=True),
        attempts=_number("YD_COLLECT_ATTEMPTS", 3, int),
        backoff_seconds=_number("YD_COLLECT_BACKOFF_SECONDS", 5.0, float),
        timeout_seconds=_number("YD_COLLECT_TIMEOUT_SECONDS", 30.0, float),
        report_wait_seconds=_number("YD_REPORT_WAIT_SECONDS", 300.0, float),
    )


def collect_retry_policy(settings: CollectorResource) -> dg.RetryPolicy:
    """Dagster's retries of a collect step: `attempts` in all, the first pause
    `backoff_seconds`, doubling, each stretched or shrunk at random (so collections that
    failed together do not hit the back-end together again)."""
    return dg.RetryPolicy(max_retries=settings.attempts - 1, delay=settings.backoff_seconds,
                          backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def _number(name: str, default, kind):
    value = env(name)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not a {kind.__name__}") from None


def credential_var(platform: str, account: str, part: str) -> str:
    return f"YD_CRED_{platform.upper()}_{re.sub(r'[^A-Z0-9]', '_', account.upper())}_{part}"


def credentials(platform: str, account: str, demo_login: bool) -> tuple[str, str]:
    """User and password of one account; on the demo portal, the account and demo password."""
    user_var, pw_var = credential_var(platform, account, "USER"), credential_var(platform, account, "PASSWORD")
    user, password = env(user_var), env(pw_var)
    if password:
        return user or account, password
    if demo_login:
        from yd_platform.demo.portal_state import DEMO_PASSWORD

        return account, DEMO_PASSWORD
    raise PermanentError(f"no credentials for {platform} account {account}: set {user_var} and {pw_var}")
