from pathlib import Path

import pytest
import yaml

from yd_platform.catalog import Cadence, CatalogError, load_catalog
from yd_platform.catalog.loader import DEFAULT_CATALOG, parse_catalog

SEED_DATASETS = {
    "pdd": {"badscore": ("daily", -1), "quality": ("daily", 0), "kpi_days": ("daily", -3),
            "chat": ("daily", -1), "kpi_weekly": ("weekly", (-9, -3)),
            "kpi_monthly": ("monthly", "last_month")},
    "tm": {"badscore": ("daily", -1), "chat": ("daily", -1), "kpi_self": ("daily", -4),
           "kpi_official": ("daily", -4), "kpi_weekly": ("weekly", (-9, -3)),
           "kpi_monthly": ("monthly", "last_month")},
    "jd": {"store_inventory": ("daily", -1)},
    "dw": {"user_basic_info": ("daily", 0), "user_asset_summary": ("daily", 0),
           "user_activity_summary": ("daily", 0)},
    "erp": {"goodscount": ("daily", -1), "goodsbom": ("daily", -1)},
}


def test_shipped_catalog_has_the_seed_datasets(catalog):
    got = {
        p: {d: (ds.cadence.value, ds.offset if ds.cadence is Cadence.daily else ds.range)
            for d, ds in plat.datasets.items()}
        for p, plat in catalog.platforms.items()
    }
    assert got == SEED_DATASETS


def test_paths_and_tables_follow_the_old_naming(catalog):
    ds = catalog.dataset("pdd", "kpi_days")
    assert ds.object_path == "ods/pdd/pdd_kpi_days"
    assert ds.table == "minio.warehouse.ods.pdd.pdd_kpi_days"
    assert ds.collector == "pdd"
    assert catalog.dataset("tm", "kpi_weekly").weekly_start_weekday == 4  # Thursday


def _base() -> dict:
    return yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))


def _broken(mutate) -> str:
    raw = _base()
    mutate(raw)
    return yaml.safe_dump(raw, allow_unicode=True)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["platforms"]["pdd"]["datasets"]["badscore"].update(cadence="hourly"),
         ["platform 'pdd'", "dataset 'badscore'", "field 'cadence'", "'daily', 'weekly' or 'monthly'"]),
        (lambda r: r["platforms"]["pdd"]["datasets"]["chat"].pop("offset"),
         ["platform 'pdd'", "dataset 'chat'", "field 'offset'", "daily datasets need 'offset'"]),
        (lambda r: r["platforms"]["tm"]["datasets"]["chat"].update(cron="61 8 * * *"),
         ["platform 'tm'", "dataset 'chat'", "field 'cron'", "invalid cron expression '61 8 * * *'"]),
        (lambda r: r["platforms"]["jd"]["datasets"]["store_inventory"].update(collector="taobao"),
         ["platform 'jd'", "dataset 'store_inventory'", "field 'collector'", "unknown collector 'taobao'"]),
        (lambda r: r["platforms"]["pdd"]["datasets"]["kpi_weekly"].update(range=[-9, -1]),
         ["platform 'pdd'", "dataset 'kpi_weekly'", "field 'range'", "spans 7 days"]),
        (lambda r: r["platforms"]["pdd"]["datasets"]["kpi_monthly"].pop("range"),
         ["dataset 'kpi_monthly'", "field 'range'", "last_month"]),
        (lambda r: r["platforms"]["erp"]["datasets"]["goodscount"].update(cadense="daily"),
         ["platform 'erp'", "dataset 'goodscount'", "field 'cadense'", "Extra inputs"]),
        (lambda r: r["platforms"]["pdd"]["shops"].append({"id": "bad|id", "name": "x"}),
         ["platform 'pdd'", "field 'id'", "may only contain"]),
    ],
    ids=["unknown-cadence", "missing-offset", "bad-cron", "unknown-collector", "weekly-span",
         "monthly-range", "unknown-field", "bad-shop-id"],
)
def test_config_mistakes_name_file_platform_dataset_field(mutate, expected):
    with pytest.raises(CatalogError) as err:
        parse_catalog(_broken(mutate), source="platforms.yaml")
    message = str(err.value)
    assert message.startswith("platforms.yaml: ")
    for part in expected:
        assert part in message, message


def test_duplicate_dataset_is_refused(tmp_path: Path):
    text = DEFAULT_CATALOG.read_text(encoding="utf-8").replace(
        "      quality:\n", "      badscore:\n", 1
    )
    path = tmp_path / "platforms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    message = str(err.value)
    assert str(path.resolve()) in message
    assert "platform 'pdd'" in message
    assert "duplicate dataset 'badscore'" in message and "line" in message


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(CatalogError, match="catalog file not found"):
        load_catalog(tmp_path / "nope.yaml")
