"""The collector resource starts Chromium as a downloading run starts, so the launch
overlaps the run's wait for its platform's pool; runs that read without a browser, or
file a dropped report, start none."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest

from yd_platform.catalog import load_catalog
from yd_platform.datasets.keys import LANDING_TAG, merged_key, raw_key
from yd_platform.resources import chromium
from yd_platform.resources.merchant_backends import CollectorResource, downloads_through_chromium


def _dataset(platform: str, code: str):
    return next(ds for ds in load_catalog().datasets() if (ds.platform, ds.code) == (platform, code))


def _run(*keys: dg.AssetKey, tags: dict[str, str] | None = None) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()),
                         asset_selection=frozenset(keys), tags=tags or {})


def test_only_runs_downloading_through_chromium_start_it():
    badscore, warehouse = _dataset("pdd", "badscore"), _dataset("dw", "user_basic_info")
    assert downloads_through_chromium(_run(raw_key(badscore)))
    assert downloads_through_chromium(_run(raw_key(warehouse), raw_key(badscore)))
    assert not downloads_through_chromium(_run(raw_key(warehouse)))  # an SQL copy
    assert not downloads_through_chromium(_run(merged_key(badscore)))  # no download at all
    assert not downloads_through_chromium(_run(raw_key(badscore), tags={LANDING_TAG: "landing/pdd/x.xlsx"}))
    assert not downloads_through_chromium(None)  # a sensor's or a command's resources


@pytest.mark.slow
def test_a_downloading_run_finds_its_browser_launched():
    """In a real run of a downloading dataset's raw key, Chromium is up on the worker the
    step's first browser session borrows before the step asks for it."""
    chromium.shutdown_browsers()  # no worker and no browser left from earlier tests

    def launched_here():
        browser = getattr(chromium._local, "browser", None)
        return browser is not None and browser.is_connected()

    @dg.asset(key=raw_key(_dataset("pdd", "badscore")), required_resource_keys={"collector"})
    def probe(context):
        return chromium.in_browser_thread(launched_here)

    result = dg.materialize([probe], resources={"collector": CollectorResource()})
    assert not result.dagster_run.asset_selection  # found in the run's plan, as for a job's run
    assert result.output_for_node("pdd__badscore__badscore_raw") is True
