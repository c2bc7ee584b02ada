"""Metabase REST client: run a saved question (card) with parameters and get its rows.

Authentication is an API key (`X-API-KEY`) when one is set, else a session from
`POST /api/session` with user and password (`X-Metabase-Session`), renewed once when it
expires. Secrets come from environment variables (`dg.EnvVar`) and are never logged.
"""

from __future__ import annotations

import json

import dagster as dg
import requests
from pydantic import PrivateAttr


class MetabaseError(RuntimeError):
    """Metabase refused or failed a request; the message names the card, never a secret."""


class MetabaseResource(dg.ConfigurableResource):
    """Metabase at `url` (`YD_METABASE_URL`); empty url means the embedded demo source."""

    url: str = ""
    api_key: str = ""
    username: str = ""
    password: str = ""
    timeout_seconds: float = 120.0

    _session: str | None = PrivateAttr(default=None)

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def _base(self) -> str:
        return self.url.rstrip("/")

    def _login(self) -> str:
        if not (self.username and self.password):
            raise MetabaseError("Metabase needs YD_METABASE_API_KEY or YD_METABASE_USER/YD_METABASE_PASSWORD")
        resp = requests.post(f"{self._base()}/api/session", timeout=self.timeout_seconds,
                             json={"username": self.username, "password": self.password})
        body = _json_or_none(resp)
        if resp.status_code != 200 or "id" not in (body if body is not None else {}):
            raise MetabaseError(f"Metabase login at {self._base()} failed: HTTP {resp.status_code}")
        return body["id"]

    def _headers(self, renew: bool = False) -> dict[str, str]:
        if self.api_key:
            return {"X-API-KEY": self.api_key}
        if renew or self._session is None:
            self._session = self._login()
        return {"X-Metabase-Session": self._session}

    def query_card(self, card_id: int, parameters: list[dict] | None = None) -> list[dict]:
        """Rows of card `card_id` as dicts keyed by column display name."""
        url = f"{self._base()}/api/card/{card_id}/query/json"
        data = {"parameters": json.dumps(parameters or [], ensure_ascii=False)}
        for attempt in (1, 2):
            try:
                resp = requests.post(url, data=data, headers=self._headers(renew=attempt == 2),
                                     timeout=self.timeout_seconds)
            except requests.RequestException as exc:
                raise MetabaseError(f"Metabase card {card_id}: unreachable ({exc.__class__.__name__})") from None
            if resp.status_code == 401 and not self.api_key and attempt == 1:
                continue
            break
        if resp.status_code not in (200, 202):
            raise MetabaseError(f"Metabase card {card_id}: HTTP {resp.status_code}")
        body = _json_or_none(resp)
        if isinstance(body, dict) and body.get("error"):
            raise MetabaseError(f"Metabase card {card_id}: query failed: {str(body['error'])[:300]}")
        if not isinstance(body, list):
            raise MetabaseError(f"Metabase card {card_id}: expected a JSON list of rows")
        return body


def _json_or_none(resp: requests.Response):
    """The decoded JSON body, or None when the body is not JSON (a proxy's HTML error page)."""
    try:
        return resp.json()
    except ValueError:
        return None


def template_parameter(name: str, value: str, kind: str = "category") -> dict:
    """A card parameter bound to the native query's template tag `name`."""
    return {"type": kind, "target": ["variable", ["template-tag", name]], "value": value}
