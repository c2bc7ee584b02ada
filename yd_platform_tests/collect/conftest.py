"""One demo portal for the collector tests; each test gets a fresh YD_HOME (sessions,
object store) and a portal with its switches and counters reset."""

from __future__ import annotations

import pytest

from yd_platform.demo.portal import DemoPortal
from yd_platform.demo.portal_state import Faults


@pytest.fixture(scope="session")
def portal(catalog):
    with DemoPortal(catalog=catalog, secret=b"test-portal-secret") as p:
        yield p


@pytest.fixture
def demo(yd_home, portal, monkeypatch):
    portal.state.reset()
    portal.state.faults = Faults(generation_seconds=0.2)
    monkeypatch.setenv("YD_PORTAL_URL", portal.url)
    monkeypatch.setenv("YD_PORTAL_DEMO", "1")
    monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "2")
    monkeypatch.setenv("YD_COLLECT_BACKOFF_SECONDS", "0.1")
    return portal
