"""Metabase (`incentives_metabase`): run a saved question (card) with parameters and get
its rows, over Metabase's REST API.

Authentication is an API key (`X-API-KEY`) when one is set, else a session from
`POST /api/session` with user and password (`X-Metabase-Session`), renewed once when it
expires. Secrets come from environment variables (`dg.EnvVar`) and are never logged.

`YD_METABASE_URL` names the Metabase (production requires it, with
`YD_METABASE_API_KEY` or `YD_METABASE_USER` / `YD_METABASE_PASSWORD`); `demo`, or unset
in the embedded deployment, means the incentives' demo source (an empty `url`).
"""

from __future__ import annotations

import json

import dagster as dg
import requests
from pydantic import PrivateAttr

from yd_platform.deployment import DEMO, Variables
from yd_platform.resources.variables import env_field, from_environment

URL_VARIABLE = "YD_METABASE_URL"
API_KEY_VARIABLE = "YD_METABASE_API_KEY"
USER_VARIABLE = "YD_METABASE_USER"
PASSWORD_VARIABLE = "YD_METABASE_PASSWORD"
CHECK_TIMEOUT_SECONDS = 5


class MetabaseError(RuntimeError):
    """Metabase refused or failed a request; the message names the card, never a secret."""


class MetabaseResource(dg.ConfigurableResource):
    """Metabase at `url` (`YD_METABASE_URL`); an empty url means the demo source."""

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


    def check(self) -> str:
        """Metabase answers and accepts the key or login (nothing to reach for the demo
        source). Says which; raises MetabaseError naming the problem."""
        if not self.enabled:
            return "demo source (no Metabase)"
        try:
            resp = requests.get(f"{self._base()}/api/user/current", headers=self._headers(),
                                timeout=CHECK_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise MetabaseError(f"Metabase at {self._base()}: unreachable ({exc.__class__.__name__})") from None
        if resp.status_code in (401, 403):
            raise MetabaseError(f"Metabase at {self._base()} refused the key or login (HTTP {resp.status_code})")
        if resp.status_code != 200:
            raise MetabaseError(f"Metabase at {self._base()}: HTTP {resp.status_code}")
        return f"Metabase {self._base()}"


def metabase_for(variables: Variables) -> MetabaseResource:
    """Embedded: the demo source unless YD_METABASE_URL is set. Production: YD_METABASE_URL
    is required (`demo` chooses the demo source), and with a URL an API key or a login."""
    url = variables.require(URL_VARIABLE, "Metabase of the incentives: its URL, or `demo` for the demo source")
    if url in ("", DEMO):
        return MetabaseResource()
    if variables.production and not variables.is_set(API_KEY_VARIABLE) \
            and not (variables.is_set(USER_VARIABLE) and variables.is_set(PASSWORD_VARIABLE)):
        variables.record_missing(f"{API_KEY_VARIABLE} (or {USER_VARIABLE} and {PASSWORD_VARIABLE})",
                                 "Metabase of the incentives: its API key, or a user's login")
    return MetabaseResource(url=dg.EnvVar(URL_VARIABLE), api_key=env_field(variables, API_KEY_VARIABLE),
                            username=env_field(variables, USER_VARIABLE),
                            password=env_field(variables, PASSWORD_VARIABLE))


def metabase_from_env(deployment: str | None = None) -> MetabaseResource:
    """The deployment's Metabase with its settings read now (commands, tests)."""
    return from_environment(metabase_for, deployment)


def _json_or_none(resp: requests.Response):
    """The decoded JSON body, or None when the body is not JSON (a proxy's HTML error page)."""
    try:
        return resp.json()
    except ValueError:
        return None


def template_parameter(name: str, value: str, kind: str = "category") -> dict:
    """A card parameter bound to the native query's template tag `name`."""
    return {"type": kind, "target": ["variable", ["template-tag", name]], "value": value}
