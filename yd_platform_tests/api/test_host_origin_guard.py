"""The host and origin rules on their own (the live refusals are in test_cross_site.py)."""

from __future__ import annotations

import pytest
from fastapi.datastructures import Headers

from yd_platform.api.host_origin_guard import AllowedHosts, check_request

ALLOWED = AllowedHosts("0.0.0.0", ("api.example.com", "*.corp.example", "10.0.0.5:8000"))


def _answer(method: str, **headers: str):
    refusal = check_request(method, Headers({k.replace("_", "-"): v for k, v in headers.items()}), ALLOWED)
    return None if refusal is None else refusal.status_code


@pytest.mark.parametrize("host, allowed", [
    ("localhost:8000", True), ("127.0.0.1", True), ("[::1]:8000", True), ("LOCALHOST.:8000", True),
    ("api.example.com", True), ("a.corp.example:9000", True), ("10.0.0.5:8000", True),
    ("evil.example", False), ("localhost.evil.example", False), ("corp.example", False),
    ("10.0.0.5:9000", False), ("0.0.0.0:8000", False), ("", False), ("user@localhost", False),
    ("localhost:http", False),
])
def test_host_names(host, allowed):
    assert _answer("GET", host=host) == (None if allowed else 400)


@pytest.mark.parametrize("headers, status", [
    ({}, None),                                                          # curl, a back-end service
    ({"origin": "http://localhost:8000"}, None),
    ({"origin": "http://127.0.0.1:8000", "sec_fetch_site": "same-origin"}, None),
    ({"referer": "http://localhost:8000/tags/admin"}, None),
    ({"origin": "https://api.example.com"}, None),                       # listed host
    ({"origin": "http://localhost:3000"}, 403),                          # another port is another site
    ({"origin": "http://evil.example"}, 403),
    ({"origin": "null"}, 403),
    ({"origin": "file://"}, 403),
    ({"referer": "http://evil.example/x"}, 403),
    ({"sec_fetch_site": "cross-site"}, 403),
    ({"origin": "http://localhost:8000", "referer": "http://evil.example/"}, None),   # the Origin decides
])
def test_changes_from_other_sites(headers, status):
    assert _answer("POST", host="localhost:8000", **headers) == status
    assert _answer("GET", host="localhost:8000", **headers) is None      # reads are not changes


def test_host_without_port_takes_default_port_origins():
    assert _answer("POST", host="api.example.com", origin="https://api.example.com") is None
    assert _answer("DELETE", host="localhost", origin="http://localhost") is None
    assert _answer("PUT", host="localhost", origin="http://localhost:8000") == 403


def test_a_bad_listed_host_is_named():
    with pytest.raises(ValueError, match="YD_API_ALLOWED_HOSTS: 'http://x'"):
        AllowedHosts("127.0.0.1", ("http://x",))
    assert AllowedHosts("10.1.2.3", ()).host_allowed("10.1.2.3", 1234)
    assert AllowedHosts("127.0.0.1", ("*",)).host_allowed("anything.example", None)
