"""Per-account state on disk: saved browser sessions, the account lock, platform slots.

Sessions are Playwright storage states under YD_HOME/sessions (owner-only files, folder
0700); they hold cookies, so they are never logged. The lock files under YD_HOME/locks
make sure one account is driven by one collection at a time on this machine, and that
a platform never has more collections at once than its slots (`max_concurrent_runs`
in the catalog), whether the collections run in threads of one process or in separate
run processes (the production instance also limits runs per `yd/account` tag).
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
def _hold_one(paths: list[Path], wait_seconds: float, busy: str) -> Iterator[Path]:
    """Hold the first free lock file of `paths`; after `wait_seconds` fail as transient."""
    fds = [os.open(p, os.O_RDWR | os.O_CREAT, 0o600) for p in paths]
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            held = None
            for fd, path in zip(fds, paths):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = fd, path
                    break
                except BlockingIOError:
                    continue
            if held:
                break
            if time.monotonic() >= deadline:
                raise TransientError(f"{busy} (waited {wait_seconds:.0f}s for {paths[0].parent})")
            time.sleep(0.2)
        try:
            yield held[1]
        finally:
            fcntl.flock(held[0], fcntl.LOCK_UN)
    finally:
        for fd in fds:
            os.close(fd)


@contextmanager
def account_lock(platform: str, account: str, wait_seconds: float) -> Iterator[Path]:
    """Hold the account's lock; waits up to `wait_seconds`, then fails as transient."""
    path = _private_dir(yd_home() / "locks") / f"{_safe(platform)}__{_safe(account)}.lock"
    with _hold_one([path], wait_seconds, f"{platform} account {account} is busy with another collection") as held:
        yield held


@contextmanager
def platform_slot(platform: str, slots: int, wait_seconds: float) -> Iterator[Path | None]:
    """Hold one of the platform's `slots` collection slots (0: no limit).

    Back-ends throttle or flag a merchant's many parallel sessions; the slot count is
    the platform's `max_concurrent_runs` in the catalog.
    """
    if slots <= 0:
        yield None
        return
    folder = _private_dir(yd_home() / "locks")
    paths = [folder / f"{_safe(platform)}.slot{i}.lock" for i in range(slots)]
    with _hold_one(paths, wait_seconds, f"all {slots} {platform} collection slots are busy") as held:
        yield held
