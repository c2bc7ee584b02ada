"""Reading report files and knowing what the demo back-ends hold, in collector tests."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from python_calamine import CalamineWorkbook

from yd_platform.catalog.periods import Period
from yd_platform.demo import data


def read_rows(data_bytes: bytes) -> list[list]:
    """The first sheet's rows, as the merge reads them."""
    return CalamineWorkbook.from_filelike(io.BytesIO(data_bytes)).get_sheet_by_index(0).to_python()


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def expected_rows(job) -> int:
    """The rows the demo back-end holds for the job's account and period (snapshots: today)."""
    ds, day, account = job.ds, job.period.start, job.account
    lists = {
        ("pdd", "badscore"): lambda: len(data.pdd_reviews(account, day)),
        ("pdd", "quality"): lambda: len(data.pdd_quality(account, today())),
        ("tm", "kpi_official"): lambda: 2 + len(data.tm_aftersale(account, day)["data"]),
        ("tm", "badscore"): lambda: len(data.tm_reviews(account, day)),
        ("tm", "chat"): lambda: len({c["displayName"] for c in data.tm_conversations(account, day)}),
    }
    if (ds.platform, ds.code) in lists:
        return lists[(ds.platform, ds.code)]()
    key = Period(today(), today(), ds.cadence).key if ds.platform == "erp" else job.period.key
    return len(data.report_rows(ds, job.shop, key))
