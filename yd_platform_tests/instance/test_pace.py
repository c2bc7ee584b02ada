"""The back-ends' pace (`instance/pace.py`): reservations in the instance's storage keep
every request of a platform `60 / requests_per_minute` seconds apart, whichever thread,
process or machine sends it; on the embedded SQLite instance and on MariaDB storage.

The two-process tests assert on the request times the demo portal recorded, not on how
long the test took.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest
import yaml

from yd_platform.catalog.loader import CatalogError, parse_catalog
from yd_platform.demo.portal import DemoPortal
from yd_platform.instance.pace import next_moment, platform_pace, reserve
from yd_platform.instance.pools import DagsterInternalsChanged
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS

REPO = Path(__file__).resolve().parents[2]
KPI_CALL = "chats/csReportDetail/download"


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.slow)])
def storage(request, tmp_path) -> dict:
    """The `storage:` of a real instance: SQLite files in a folder, or a MariaDB database."""
    if request.param == "sqlite":
        return {"sqlite": {"base_dir": str(tmp_path / "storage")}}
    return {"mysql": {"mysql_url": request.getfixturevalue("mysql_url")}}


@pytest.fixture
def instance_home(tmp_path, storage) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump({"telemetry": {"enabled": False}, "storage": storage}),
                                       encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)):  # creates the schema before the processes start
        pass
    return home


def test_reservations_from_many_threads_are_one_interval_apart(instance_home):
    with dg.DagsterInstance.from_config(str(instance_home)) as instance:
        with ThreadPoolExecutor(8) as pool:
            moments = sorted(pool.map(lambda _: reserve(instance, "pdd", 0.25), range(40)))
        gaps = [b - a for a, b in zip(moments, moments[1:])]
        assert min(gaps) == pytest.approx(0.25, abs=1e-6) and max(gaps) == pytest.approx(0.25, abs=1e-6)
        assert next_moment(instance, "pdd") == pytest.approx(moments[-1] + 0.25, abs=1e-6)
        assert next_moment(instance, "tm") is None  # one pace per back-end


def test_a_pace_waits_for_its_moment(instance):
    pace = platform_pace(instance, "jd", 600)
    assert pace.interval == pytest.approx(0.1)
    waits = [pace.wait() for _ in range(4)]
    assert waits[0] == 0.0 and sum(waits) > 0  # the first goes at once, the others wait their turn
    assert platform_pace(instance, "dw", 0) is None  # no pace set: no waiting, no storage


def test_the_catalog_sets_a_pace_per_back_end_and_refuses_a_negative_one(catalog):
    paces = {code: p.requests_per_minute for code, p in catalog.platforms.items()}
    assert all(paces[code] > 0 for code in ("pdd", "tm", "jd", "erp")) and paces["dw"] == 0
    text = (REPO / "yd_platform" / "config" / "platforms.yaml").read_text(encoding="utf-8")
    broken = text.replace("    requests_per_minute: 120\n", "    requests_per_minute: -5\n", 1)
    with pytest.raises(CatalogError, match=r"platforms.yaml: platform 'pdd', field 'requests_per_minute': .*"
                                           r"greater than or equal to 0"):
        parse_catalog(broken)


def test_a_storage_without_the_calls_it_relies_on_is_named(instance, monkeypatch):
    monkeypatch.setattr(type(instance.run_storage), "connect", None)  # as if an upgrade removed it
    with pytest.raises(DagsterInternalsChanged, match=r"SqliteRunStorage.connect \(gone"):
        reserve(instance, "pdd", 1.0)


# -- two processes, one pace ------------------------------------------------------------

SENDER = textwrap.dedent("""
    import sys, time, urllib.request
    from pathlib import Path
    import dagster as dg
    from yd_platform.instance.pace import platform_pace

    home, portal, who, count, per_minute, gate = sys.argv[1:]
    with dg.DagsterInstance.from_config(home) as instance:
        pace = platform_pace(instance, "pdd", int(per_minute))
        Path(gate, who).touch()  # ready; start once the other sender is ready too
        while len(list(Path(gate).iterdir())) < 2:
            time.sleep(0.05)
        for _ in range(int(count)):
            pace.wait()
            request = urllib.request.Request(
                f"{portal}/pdd/mms.pinduoduo.com/chats/csReportDetail/download"
                "?starttime=1759248000&endtime=1759334399&csRemoveRefundSalesAmountGray=true",
                headers={"x-requested-with": who})
            urllib.request.urlopen(request, timeout=120).read()
""")


@pytest.mark.slow
def test_two_processes_sharing_one_pace_never_send_faster_than_it(instance_home, catalog, tmp_path):
    per_minute, count = 20, 4  # a request every 3 s, from either process
    interval = 60 / per_minute
    gate = tmp_path / "gate"
    gate.mkdir()
    with DemoPortal(catalog=catalog, secret=b"pace-test") as portal:
        senders = [subprocess.Popen([sys.executable, "-c", SENDER, str(instance_home), portal.url, who, str(count),
                                     str(per_minute), str(gate)], cwd=REPO)
                   for who in ("first", "second")]
        for sender in senders:
            assert sender.wait(EVENT_DEADLINE_SECONDS) == 0
        calls = sorted(portal.requests(platform="pdd", path=KPI_CALL), key=lambda r: r["start"])

    senders_seen = [r["headers"]["x-requested-with"] for r in calls]
    assert sorted(senders_seen) == ["first"] * count + ["second"] * count
    assert len(set(senders_seen[:count + 1])) == 2  # the two processes took turns, not one after the other
    starts = [r["start"] for r in calls]
    # Each request went at its reserved moment or later, so two requests k places apart are
    # at least k-1 intervals apart even if the earlier one was late by up to an interval
    # (a loaded machine); two paces that did not share their state would send pairs at once.
    for i, early in enumerate(starts):
        for j in range(i + 1, len(starts)):
            assert starts[j] - early >= (j - i - 1) * interval, (i, j, [round(s - starts[0], 2) for s in starts])
    assert starts[-1] - starts[0] >= (len(starts) - 2) * interval
