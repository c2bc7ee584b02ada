"""State of the demo merchant portal: signed sessions, report tasks, error switches.

Session tokens are HMAC-signed with a secret kept under YD_HOME (owner-only), so a
session saved by one run is still valid after the portal restarts or when another
process starts its own portal: collectors really reuse their saved sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from yd_platform.settings import yd_home

DEMO_PASSWORD = "yd-demo"
"""The password the demo portal accepts for every account (the demo has no real users)."""

ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass
class Faults:
    """Error injection switches; tests and operators flip them to rehearse failures."""

    captcha: bool = False          # the login form demands a captcha (a human is needed)
    fail_5xx: int = 0              # the next N report API calls answer 503
    slow_seconds: float = 0.0      # every report API call waits this long first
    truncate: bool = False         # downloads stop half-way
    html_error: bool = False       # downloads return an HTML error page with status 200
    generation_seconds: float = 0.4  # how long a requested report takes to be ready
    session_seconds: float = 0.0   # > 0: sessions expire this long after login (saved ones too)

    def update(self, values: dict) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault switch {name!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            setattr(self, name, type(current)(value))


@dataclass
class ReportTask:
    id: str
    platform: str
    account: str
    shop: str
    dataset: str
    period_key: str
    created: float
    ready_at: float
    downloaded: float | None = None

    def ready(self) -> bool:
        return time.time() >= self.ready_at


@dataclass
class PortalState:
    secret: bytes
    demo_password: str = DEMO_PASSWORD
    session_ttl_seconds: float = 12 * 3600
    faults: Faults = field(default_factory=Faults)
    logins: Counter = field(default_factory=Counter)
    activity: list[dict] = field(default_factory=list)
    tasks: dict[str, ReportTask] = field(default_factory=dict)
    not_before: float = 0.0
    captchas: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- sessions -----------------------------------------------------------
    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()[:40]

    def issue_token(self, platform: str, account: str) -> str:
        payload = f"{platform}.{account}.{time.time():.3f}"
        return f"{payload}.{self._sign(payload)}"

    def account_for(self, platform: str, token: str | None) -> str | None:
        """The account a valid session token belongs to, or None (expired, forged, other platform)."""
        if not token or token.count(".") < 3:
            return None
        payload, _, sig = token.rpartition(".")
        if not hmac.compare_digest(sig, self._sign(payload)):
            return None
        tok_platform, account, issued = payload.split(".", 2)
        try:
            issued_at = float(issued)
        except ValueError:
            return None
        if tok_platform != platform or issued_at < self.not_before:
            return None
        if time.time() - issued_at > (self.faults.session_seconds or self.session_ttl_seconds):
            return None
        return account

    def expire_sessions(self) -> None:
        """Every session issued so far stops working (as when the back-end logs everyone out)."""
        self.not_before = time.time() + 0.001

    def record_login(self, platform: str, account: str) -> None:
        with self.lock:
            self.logins[f"{platform}:{account}"] += 1

    # -- captcha ----------------------------------------------------------------
    def new_captcha(self) -> str:
        """A code shown as an image on the login page: a human reads it, collectors stop."""
        code = f"{secrets.randbelow(10_000):04d}"
        with self.lock:
            if len(self.captchas) > 1000:
                self.captchas.clear()
            self.captchas.add(code)
        return code

    def pass_captcha(self, code: str) -> bool:
        with self.lock:
            if code and code in self.captchas:
                self.captchas.discard(code)
                return True
        return False

    # -- report tasks -------------------------------------------------------
    def new_task(self, platform: str, account: str, shop: str, dataset: str, period_key: str) -> ReportTask:
        now = time.time()
        task = ReportTask(secrets.token_hex(8), platform, account, shop, dataset, period_key,
                          now, now + self.faults.generation_seconds)
        with self.lock:
            self.tasks[task.id] = task
        return task

    def task(self, platform: str, account: str, task_id: str) -> ReportTask | None:
        task = self.tasks.get(task_id)
        return task if task and task.platform == platform and task.account == account else None

    def finish_task(self, task: ReportTask) -> None:
        """Record the account's activity interval: report requested -> file downloaded."""
        task.downloaded = time.time()
        with self.lock:
            self.activity.append({"platform": task.platform, "account": task.account, "shop": task.shop,
                                  "dataset": task.dataset, "start": task.created, "end": task.downloaded})

    def take_5xx(self) -> bool:
        with self.lock:
            if self.faults.fail_5xx > 0:
                self.faults.fail_5xx -= 1
                return True
        return False

    def stats(self) -> dict:
        with self.lock:
            return {"logins": dict(self.logins), "activity": list(self.activity), "faults": asdict(self.faults)}

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.logins.clear()
            self.activity.clear()
            self.tasks.clear()
            self.captchas.clear()
            self.not_before = 0.0


def portal_secret(path: Path | None = None) -> bytes:
    """The signing secret, created once per YD_HOME with owner-only permissions."""
    path = path or yd_home() / "portal" / "secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
