"""`yd-platform portal` as its own process (what `yd-platform up` starts), and saved
sessions that stay valid when the portal restarts."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import date

import pytest

from yd_platform.catalog.periods import period_for_tick
from yd_platform.collect.embedded import start_portal_process
from yd_platform.collect.framework import CollectJob
from yd_platform.collect.platforms import collector_class
from yd_platform.resources.merchant_backends import collector_from_env
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS, stop

pytestmark = pytest.mark.slow


def _stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_admin/stats", timeout=60) as resp:
        return json.loads(resp.read())


def _collect_once(catalog) -> None:
    ds = catalog.dataset("erp", "goodscount")
    job = CollectJob(ds, period_for_tick(ds, date(2025, 10, 2)), "erp_main", "erp_acc_01")
    collector_class("erp")(collector_from_env()).collect(job)


def test_session_survives_a_portal_restart(yd_home, monkeypatch, catalog):
    for name in [n for n in os.environ if n.startswith("YD_PORTAL")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("YD_PORTAL_URL", raising=False)
    monkeypatch.delenv("YD_PORTAL_DEMO", raising=False)

    logins = []
    for _ in range(2):
        proc = start_portal_process(timeout=EVENT_DEADLINE_SECONDS)
        try:
            url = os.environ["YD_PORTAL_URL"]
            assert os.environ["YD_PORTAL_DEMO"] == "1"
            _collect_once(catalog)
            logins.append(_stats(url)["logins"])
        finally:
            stop(proc)
            del os.environ["YD_PORTAL_URL"]
    assert logins == [{"erp:erp_acc_01": 1}, {}]  # the second portal accepted the saved session
