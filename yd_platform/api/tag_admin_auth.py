"""Who is calling the tag page's endpoints, for the audit of tag changes.

| variable     | meaning                                                              |
|--------------|----------------------------------------------------------------------|
| YD_API_KEYS  | personal keys, `name:key` pairs separated by commas, e.g.            |
|              | `alice:k3y-a,bob:k3y-b`; the audit records the key holder's name     |
| YD_API_KEY   | the service key of the whole API; it opens the page too, and the     |
|              | audit then records `YD_API_KEY` as the actor (no person is known)    |

Both are sent in the `X-API-Key` header, never in a URL. The names come from the server's
settings, not from the caller, so an audit row cannot be signed with someone else's name.
With neither variable set the API serves loopback only (see `settings.safe_host`) and the
actor is `local`. Personal keys open only the tag page's calls (`/api/v1/tags/admin/...`);
the rest of the API keeps the one service key.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from yd_platform.api.settings import API_KEY_HEADER
from yd_platform.deployment import env

NAMED_KEYS_VARIABLE = "YD_API_KEYS"
SHARED_KEY_ACTOR = "YD_API_KEY"
LOCAL_ACTOR = "local"
NAME_LENGTH = 100

api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                              description=f"a personal key from {NAMED_KEYS_VARIABLE}, or the key in YD_API_KEY")


class NamedKeysError(ValueError):
    """YD_API_KEYS is malformed; the message names the entry (never a key)."""


@lru_cache(maxsize=8)
def parse_named_keys(text: str) -> tuple[tuple[str, str], ...]:
    """`name:key,name:key` -> ((key, name), ...). The name is everything before the first
    colon; a key may hold colons but no comma. Empty entries are skipped."""
    found: dict[str, str] = {}
    for i, entry in enumerate(text.split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, key = entry.partition(":")
        name, key = name.strip(), key.strip()
        if not sep or not name or not key:
            raise NamedKeysError(f"{NAMED_KEYS_VARIABLE}: entry {i} is not name:key (write e.g. alice:s3cret)")
        if len(name) > NAME_LENGTH:
            raise NamedKeysError(f"{NAMED_KEYS_VARIABLE}: entry {i}: the name is longer than {NAME_LENGTH} characters")
        if key in found:
            raise NamedKeysError(f"{NAMED_KEYS_VARIABLE}: entry {i} ({name}) has the same key as {found[key]}")
        found[key] = name
    return tuple(found.items())


def named_keys() -> tuple[tuple[str, str], ...]:
    return parse_named_keys(env(NAMED_KEYS_VARIABLE) or "")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def require_actor(request: Request, key: str | None = Security(api_key_header)) -> str:
    """The name the audit records for this caller; 401 for a missing or wrong key."""
    try:
        personal = named_keys()
    except NamedKeysError as exc:
        raise HTTPException(503, str(exc)) from None
    shared = request.app.state.settings.api_key
    if not personal and not shared:
        return LOCAL_ACTOR
    if key:
        # every key is compared, so the time taken does not tell which one nearly matched
        matches = [name for candidate, name in personal if _same(key, candidate)]
        if shared and _same(key, shared):
            matches.append(SHARED_KEY_ACTOR)
        if matches:
            return matches[0]
    raise HTTPException(401, f"missing or wrong {API_KEY_HEADER} header",
                        headers={"WWW-Authenticate": API_KEY_HEADER})
