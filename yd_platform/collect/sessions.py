"""Saved browser sessions of the merchant accounts.

Sessions are Playwright storage states under YD_HOME/sessions (owner-only files, folder
0700); they hold cookies, so they are never logged. Who may drive an account's session
at a time is not decided here: that is the account's Dagster pool
(`yd_platform.instance.pools`), which holds across threads, processes and machines.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from yd_platform.deployment import yd_home


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
