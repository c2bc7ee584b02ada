from datetime import date

import pytest

from yd_platform.catalog import Cadence
from yd_platform.catalog.periods import (
    period_for_tick,
    period_from_key,
    period_from_label,
    period_from_span,
    ticks_on,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("platform", "dataset", "tick", "key", "label"),
    [
        # daily offsets
        ("pdd", "quality", "2025-10-02", "2025-10-02", "2025-10-02"),
        ("pdd", "badscore", "2025-10-02", "2025-10-01", "2025-10-01"),
        ("pdd", "kpi_days", "2025-10-02", "2025-09-29", "2025-09-29"),
        ("tm", "kpi_self", "2025-10-02", "2025-09-28", "2025-09-28"),
        # month ends and year change
        ("pdd", "badscore", "2025-03-01", "2025-02-28", "2025-02-28"),
        ("pdd", "badscore", "2026-01-01", "2025-12-31", "2025-12-31"),
        ("pdd", "kpi_days", "2026-01-02", "2025-12-30", "2025-12-30"),
        ("tm", "kpi_official", "2025-05-03", "2025-04-29", "2025-04-29"),
        # leap day
        ("pdd", "badscore", "2024-03-01", "2024-02-29", "2024-02-29"),
        ("pdd", "kpi_days", "2024-03-03", "2024-02-29", "2024-02-29"),
        ("tm", "kpi_self", "2024-03-04", "2024-02-29", "2024-02-29"),
        # weekly T-9..T-3 on Saturdays
        ("pdd", "kpi_weekly", "2025-10-04", "2025-09-25", "2025-09-25_2025-10-01"),
        ("tm", "kpi_weekly", "2026-01-03", "2025-12-25", "2025-12-25_2025-12-31"),
        ("pdd", "kpi_weekly", "2024-03-09", "2024-02-29", "2024-02-29_2024-03-06"),
        # monthly: last month
        ("pdd", "kpi_monthly", "2025-10-03", "2025-09", "2025-09"),
        ("tm", "kpi_monthly", "2026-01-03", "2025-12", "2025-12"),
        ("pdd", "kpi_monthly", "2024-03-03", "2024-02", "2024-02"),
    ],
)
def test_period_for_tick(catalog, platform, dataset, tick, key, label):
    period = period_for_tick(catalog.dataset(platform, dataset), D(tick))
    assert (period.key, period.label) == (key, label)


def test_month_and_week_bounds():
    feb = period_from_key(Cadence.monthly, "2024-02")
    assert (feb.start, feb.end) == (D("2024-02-01"), D("2024-02-29"))
    dec = period_from_key(Cadence.monthly, "2025-12")
    assert dec.end == D("2025-12-31")
    week = period_from_label(Cadence.weekly, "2025-09-25_2025-10-01")
    assert week.key == "2025-09-25" and len(week.days()) == 7
    with pytest.raises(ValueError, match="not a 7-day window"):
        period_from_label(Cadence.weekly, "2025-09-25_2025-10-02")
    with pytest.raises(ValueError, match="not a monthly partition key"):
        period_from_key(Cadence.monthly, "2025-13")


def test_span_is_first_and_last_day_and_parses_back():
    feb = period_from_key(Cadence.monthly, "2024-02")
    assert feb.span == "2024-02-01_2024-02-29"
    assert period_from_span(Cadence.monthly, feb.span) == feb
    assert period_from_span(Cadence.weekly, "2025-09-25_2025-10-01").key == "2025-09-25"
    for cadence, span in ((Cadence.monthly, "2024-02-01_2024-02-28"), (Cadence.monthly, "2024-02-02_2024-03-01"),
                          (Cadence.weekly, "2025-09-25_2025-09-30"), (Cadence.weekly, "2025-09-25"),
                          (Cadence.weekly, "2025-9-25_2025-10-1"), (Cadence.weekly, "_")):
        with pytest.raises(ValueError, match=f"'{span}' is not a {cadence.value} period"):
            period_from_span(cadence, span)


@pytest.mark.parametrize(
    ("platform", "dataset", "day", "times"),
    [
        ("erp", "goodscount", "2025-10-02", ["07:00"]),
        ("erp", "goodsbom", "2025-10-02", ["07:00"]),
        ("jd", "store_inventory", "2025-10-02", ["07:30"]),
        ("pdd", "quality", "2025-10-02", ["08:00"]),
        ("pdd", "badscore", "2025-10-02", ["08:30"]),
        ("pdd", "kpi_days", "2025-10-02", ["11:00"]),
        ("pdd", "kpi_weekly", "2025-10-04", ["12:00"]),  # Saturday
        ("pdd", "kpi_weekly", "2025-10-03", []),
        ("pdd", "kpi_monthly", "2025-10-03", ["12:30"]),
        ("pdd", "kpi_monthly", "2025-10-04", []),
    ],
)
def test_schedule_times_follow_the_seeds(catalog, platform, dataset, day, times):
    ticks = ticks_on(catalog.dataset(platform, dataset), D(day))
    assert [t.strftime("%H:%M") for t in ticks] == times
    assert all(str(t.tzinfo) == "Asia/Shanghai" for t in ticks)
