"""A web page cannot drive the API through the operator's browser: a DNS-rebinding `Host`
is refused for reads and triggers, a cross-site change is refused, with the header
named, with or without a key and with nothing launched; same-origin pages, listed hosts
and callers that send no browser headers still work (real API, webserver and daemon)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from yd_platform.resources.dagster_webserver import RunLauncher
from yd_platform_tests.api.conftest import LISTED_HOST, ApiStack
from yd_platform_tests.processes import log_tail

pytestmark = pytest.mark.slow
PLAIN = "check_task_delay_alerts"
TRIGGER = f"/api/v1/scheduler/jobs/{PLAIN}/trigger"


@pytest.fixture(params=["keyless_api", "api_stack"])
def api(request) -> ApiStack:
    """The service without a key (loopback only) and the one with a key (sent every time)."""
    return request.getfixturevalue(request.param)


def _port(api: ApiStack) -> int:
    return urlsplit(api.api_url).port


def test_rebinding_host_is_refused_for_reads_and_triggers(api: ApiStack):
    for path in ("/api/v1/tags/available", "/health", "/docs"):
        response = api.get(path, headers={"Host": f"evil.example:{_port(api)}"})
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["header"] == "Host" and "evil.example" in body["error"] and "YD_API_ALLOWED_HOSTS" in body["error"]
    before = api.run_ids(PLAIN)
    response = api.post(TRIGGER, headers={"Host": "evil.example"})
    assert response.status_code == 400 and response.json()["header"] == "Host"
    assert api.run_ids(PLAIN) == before


@pytest.mark.parametrize("headers, named", [
    ({"Origin": "http://evil.example"}, "Origin"),
    ({"Origin": "null"}, "Origin"),
    ({"Origin": "http://127.0.0.1:3000"}, "Origin"),   # another site on this machine, e.g. another UI
    ({"Referer": "http://evil.example/page.html"}, "Referer"),
    ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
])
def test_cross_site_trigger_is_refused_and_launches_nothing(api: ApiStack, headers, named):
    before = api.run_ids(PLAIN)
    response = api.post(TRIGGER, headers=headers)          # body-less, as a page's form or fetch sends it
    assert response.status_code == 403, response.text
    assert response.json()["header"] == named and named in response.json()["error"]
    assert api.run_ids(PLAIN) == before


def test_cross_site_tag_trigger_as_a_form_post_is_refused(api: ApiStack, seeded):
    before = api.run_ids()
    # a page can send a JSON text as text/plain without asking the API first
    response = api.post("/api/v1/tags/trigger", headers={"Origin": "https://evil.example",
                                                         "Content-Type": "text/plain"})
    assert response.status_code == 403
    plain = requests.post(f"{api.api_url}/api/v1/tags/trigger", data='{"tag_ids": [1]}', timeout=60,
                          headers={**({"X-API-Key": api.key} if api.key else {}), "Content-Type": "text/plain"})
    assert plain.status_code == 415 and plain.json()["field"] == "Content-Type"
    assert api.run_ids() == before


def test_loopback_names_and_listed_hosts_are_served(keyless_api: ApiStack, seeded):
    port = _port(keyless_api)
    for host in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.1:{port}", LISTED_HOST, f"{LISTED_HOST}:443"):
        response = keyless_api.get("/api/v1/tags/available", headers={"Host": host})
        assert response.status_code == 200, (host, response.text)
    # a page served under a listed name may change things: the request reaches the route
    response = keyless_api.post("/api/v1/scheduler/jobs/no_such_service/trigger",
                                headers={"Host": LISTED_HOST, "Origin": f"https://{LISTED_HOST}"})
    assert response.status_code == 404
    # localhost and 127.0.0.1 on the same port are the same service
    response = keyless_api.post("/api/v1/scheduler/jobs/no_such_service/trigger",
                                headers={"Host": f"localhost:{port}", "Origin": f"http://127.0.0.1:{port}"})
    assert response.status_code == 404


def test_same_origin_page_with_a_key_still_triggers(api_stack: ApiStack):
    before = api_stack.run_ids(PLAIN)
    response = api_stack.post(TRIGGER, headers={"Origin": api_stack.api_url, "Sec-Fetch-Site": "same-origin",
                                                "Referer": f"{api_stack.api_url}/tags/admin"})
    assert response.status_code == 200, response.text
    run_id = response.json()["data"]["run_id"]
    assert api_stack.run_ids(PLAIN) == before | {run_id}
    assert RunLauncher(api_stack.dagster_url).wait(run_id, timeout=600).success, log_tail(api_stack.logs)
    # a wrong key is still 401 even from the same origin
    assert api_stack.post(TRIGGER, key="not-the-key", headers={"Origin": api_stack.api_url}).status_code == 401
