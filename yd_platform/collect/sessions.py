"""Per-account state on disk: saved browser sessions and the account lock.

Sessions are Playwright storage states under YD_HOME/sessions (owner-only files, folder
0700); they hold cookies, so they are never logged. The lock file under YD_HOME/locks
makes sure one account is driven by one collection at a time on this machine, whether
the collections run in threads of one process or in separate run processes (the
production instance also limits runs per `yd/account` tag).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yd_platform.collect.errors import TransientError
from yd_platform.settings import yd_home


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def session_file(platform: str, account: str) -> Path:
    return _private_dir(yd_home() / "sessions" / _safe(platform)) / f"{_safe(account)}.json"


def load_session(platform: str, account: str) -> dict | None:
    path = session_file(platform, account)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        path.unlink(missing_ok=True)  # a damaged file only means one more login
        return None


def save_session(platform: str, account: str, state: dict) -> Path:
    """Write atomically with mode 0600 (never readable by other users, even briefly)."""
    path = session_file(platform, account)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def forget_session(platform: str, account: str) -> None:
    session_file(platform, account).unlink(missing_ok=True)


@contextmanager
def account_lock(platform: str, account: str, wait_seconds: float) -> Iterator[Path]:
    """Hold the account's lock; waits up to `wait_seconds`, then fails as transient."""
    path = _private_dir(yd_home() / "locks") / f"{_safe(platform)}__{_safe(account)}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TransientError(
                        f"{platform} account {account} is busy with another collection "
                        f"(waited {wait_seconds:.0f}s for {path})"
                    ) from None
                time.sleep(0.2)
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
