"""The dashboard page in real headless Chromium, served by `yd-platform dashboard` over a
data folder the incentive assets wrote: it loads, a filter changes the numbers, and a
screenshot is kept under .tmp-artifacts/dashboard/ (or $YD_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from yd_platform_tests.artifacts import artifacts_folder
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS, free_port, start_group, stop_group, wait_http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dashboard_url(seeded_home, tmp_path_factory):
    home, _ = seeded_home
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YD_")}
    env.update({"YD_HOME": str(home), "HOME": str(tmp_path_factory.mktemp("streamlit_home"))})
    cli = Path(sys.executable).with_name("yd-platform")
    proc = start_group([str(cli), "dashboard", "--port", str(port)], env,
                       tmp_path_factory.mktemp("dashboard_log") / "dashboard.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_group(proc)


@pytest.fixture(scope="module")
def page(chromium_browser, dashboard_url):
    context = chromium_browser.new_context(viewport={"width": 1500, "height": 2400}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(EVENT_DEADLINE_SECONDS * 1000)
    tab.goto(dashboard_url)
    yield tab
    context.close()


def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option).click()


# Streamlit marks what a rerun is about to replace `data-stale="true"` and shows its status
# widget while the script runs; vega-embed draws each chart into a canvas or an svg.
DRAWN = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')
    && [...document.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]')]
       .every(chart => chart.querySelector('canvas, svg'))"""


def wait_until_drawn(page) -> None:
    """Wait until the script's last run is on the page and every chart is drawn."""
    page.wait_for_function(DRAWN)


def test_page_loads_with_every_section(page):
    page.get_by_role("heading", name="销售激励看板").wait_for()
    page.locator('[data-testid="stMetric"]', has_text="签约单数").wait_for()
    assert _metric(page, "签约单数") == "108"
    for heading in ("业绩与奖励排行", "奖励通知", "SLA 违规趋势"):
        page.get_by_role("heading", name=heading).wait_for()
    page.locator('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]').first.wait_for()
    assert int(_metric(page, "通知已发送")) > 0 and int(_metric(page, "通知待发送")) > 0
    wait_until_drawn(page)
    page.screenshot(path=str(artifacts_folder("dashboard") / "dashboard_all.png"), full_page=True)


def test_city_filter_changes_the_numbers(page):
    page.locator('[data-testid="stMetric"]', has_text="签约单数").wait_for()
    before = (_metric(page, "签约单数"), _metric(page, "通知已发送"))
    _choose(page, "城市", "上海 (SH)")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
                 .some(m => m.innerText.includes('签约单数') && m.innerText.includes('36'))""")
    wait_until_drawn(page)  # the rerun's last element replaced, not only its first metric
    after = (_metric(page, "签约单数"), _metric(page, "通知已发送"))
    assert before == ("108", before[1]) and after == ("36", "0")
    assert int(_metric(page, "通知待发送")) > 0
    shot = artifacts_folder("dashboard") / "dashboard_shanghai.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG")
