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

from yd_platform.deployment import yd_home

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
    expire_api: int = 0            # the next N API calls get the back-end's expired-session answer
    rename_field: str = ""         # JSON answers carry this field as `<name>_v2` (a changed answer shape)
    bad_reports: list = field(default_factory=list)  # `<period key>|<shop>`: these reports arrive as an error page

    def update(self, values: dict) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault switch {name!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            setattr(self, name, type(current)(value))


@dataclass
class ReportTask:
    """An export the back-end generates in the background (Tmall, JD, ERP)."""

    id: int
    platform: str
    account: str
    shop: str
    dataset: str
    period_key: str
    created: float
    ready_at: float
    name: str = ""
    downloaded: float | None = None

    def ready(self) -> bool:
        return time.time() >= self.ready_at

    def progress(self) -> int:
        """Percent done, as the ERP's GetExportData reports it."""
        span = self.ready_at - self.created
        return 100 if self.ready() or span <= 0 else min(99, int((time.time() - self.created) / span * 100))


@dataclass
class PortalState:
    secret: bytes
    demo_password: str = DEMO_PASSWORD
    session_ttl_seconds: float = 12 * 3600
    faults: Faults = field(default_factory=Faults)
    logins: Counter = field(default_factory=Counter)
    activity: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    tasks: dict[int, ReportTask] = field(default_factory=dict)
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
    def new_task(self, platform: str, account: str, shop: str, dataset: str, period_key: str,
                 name: str = "") -> ReportTask:
        now = time.time()
        with self.lock:
            task_id = 4_100_000 + len(self.tasks) + secrets.randbelow(1000) * 10_000
            while task_id in self.tasks:
                task_id += 1
            task = ReportTask(task_id, platform, account, shop, dataset, period_key,
                              now, now + self.faults.generation_seconds, name)
            self.tasks[task.id] = task
        return task

    def task(self, platform: str, account: str | None, task_id) -> ReportTask | None:
        """The platform's task by id (string or number); `account` None: any account's
        (signed download links carry no session)."""
        try:
            task = self.tasks.get(int(task_id))
        except (TypeError, ValueError):
            return None
        if task and task.platform == platform and account in (None, task.account):
            return task
        return None

    def account_tasks(self, platform: str, account: str) -> list[ReportTask]:
        """The account's tasks, newest first (the back-ends' task and report lists)."""
        with self.lock:
            mine = [t for t in self.tasks.values() if t.platform == platform and t.account == account]
        return sorted(mine, key=lambda t: (t.created, t.id), reverse=True)

    def finish_task(self, task: ReportTask) -> None:
        task.downloaded = time.time()

    def record_request(self, entry: dict) -> None:
        """What a back-end API received (tests assert the parameters) and when it was
        busy with it (`start`, `end`: an account's collections must not overlap)."""
        with self.lock:
            self.requests.append(entry)
            if entry.get("account"):
                self.activity.append({k: entry[k] for k in ("platform", "account", "host", "path", "start", "end")})

    def take_expiry(self) -> bool:
        with self.lock:
            if self.faults.expire_api > 0:
                self.faults.expire_api -= 1
                return True
        return False

    def take_5xx(self) -> bool:
        with self.lock:
            if self.faults.fail_5xx > 0:
                self.faults.fail_5xx -= 1
                return True
        return False

    def stats(self) -> dict:
        with self.lock:
            return {"logins": dict(self.logins), "activity": list(self.activity), "faults": asdict(self.faults),
                    "requests": list(self.requests)}

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.logins.clear()
            self.activity.clear()
            self.requests.clear()
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
