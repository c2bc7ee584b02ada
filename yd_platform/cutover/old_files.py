"""The old machines' folders of merged workbooks and shop files, per dataset.

The old crawlers kept each shop's download as `<archive>/<period>/<shop name>.xlsx` and
the merge of a period as `<merged folder>/<name with the period>.xlsx` on the Windows
machine that ran them (`D:/pdd/...` for Pinduoduo, `D:/yingdao/<tm|jd|erp>/...` for
the others); only the merge's parquet reached the object store. Copied into one folder
as `pdd/`, `tm/`, `jd/`, `erp/`, they are found here by the old folder names:

| dataset | shop files | merged workbooks |
|---|---|---|
| pdd badscore | pdd/评价文件存档 | pdd/合并文件/评价文件存档 (`<date>.xlsx`) |
| pdd quality | pdd/产品质量体验存档 (`<shop>产品质量数据.xlsx`) | pdd/合并文件/产品质量体验存档 |
| pdd kpi_days | pdd/客服绩效文件存档 | pdd/合并文件/客服绩效文件存档 (`客服绩效合并_<date>.xlsx`) |
| pdd kpi_weekly, kpi_monthly | pdd/客服绩效文件存档周度, 月度 | pdd/合并文件/客服绩效文件存档周度, 月度 (`<first>_<last>.xlsx`) |
| tm badscore, chat, kpi_self, kpi_official | tm/天猫差评数据, 天猫客服聊天记录, 天猫客服绩效自制报表, 天猫客服绩效解决分析报表 | the same under tm/合并文件/ |
| jd store_inventory | jd/库存表 | jd/合并表格 |
| erp goodscount, goodsbom | erp/商品及库存管理, erp/bom表 | erp/合并表格/商品及库存管理, erp/合并表格/bom表 |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.partitions import ods_partition_of_value

# (platform, dataset) -> (folder of shop files by period, folder of merged workbooks)
OLD_FOLDERS: dict[tuple[str, str], tuple[str, str]] = {
    ("pdd", "badscore"): ("pdd/评价文件存档", "pdd/合并文件/评价文件存档"),
    ("pdd", "quality"): ("pdd/产品质量体验存档", "pdd/合并文件/产品质量体验存档"),
    ("pdd", "kpi_days"): ("pdd/客服绩效文件存档", "pdd/合并文件/客服绩效文件存档"),
    ("pdd", "kpi_weekly"): ("pdd/客服绩效文件存档周度", "pdd/合并文件/客服绩效文件存档周度"),
    ("pdd", "kpi_monthly"): ("pdd/客服绩效文件存档月度", "pdd/合并文件/客服绩效文件存档月度"),
    ("tm", "badscore"): ("tm/天猫差评数据", "tm/合并文件/天猫差评数据"),
    ("tm", "chat"): ("tm/天猫客服聊天记录", "tm/合并文件/天猫客服聊天记录"),
    ("tm", "kpi_self"): ("tm/天猫客服绩效自制报表", "tm/合并文件/天猫客服绩效自制报表"),
    ("tm", "kpi_official"): ("tm/天猫客服绩效解决分析报表", "tm/合并文件/天猫客服绩效解决分析报表"),
    ("jd", "store_inventory"): ("jd/库存表", "jd/合并表格"),
    ("erp", "goodscount"): ("erp/商品及库存管理", "erp/合并表格/商品及库存管理"),
    ("erp", "goodsbom"): ("erp/bom表", "erp/合并表格/bom表"),
}
EXCEL_EXTS = {".xlsx", ".xls", ".xlsm"}
PERIOD_IN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}(?:_\d{4}-\d{2}-\d{2})?")
# names the old merge skipped in a period folder: its own output left behind
MERGE_OUTPUT_NAMES = re.compile(r"^\d{4}-\d{2}-\d{2}(_\d{4}-\d{2}-\d{2})?\.xlsx?$|合并|^merged|_merged\.xlsx?$", re.I)


@dataclass(frozen=True)
class OldFile:
    ds: DatasetSpec
    partition: str
    path: Path
    kind: Literal["merged workbook", "shop file"]
    shop: str = ""  # the shop's name (file name without extension), for shop files


@dataclass(frozen=True)
class Refusal:
    where: str
    reason: str


def _partition(ds: DatasetSpec, text: str) -> str | None:
    """The partition key of the last period spelled in `text`, None without one."""
    found = PERIOD_IN_NAME.findall(text)
    return ods_partition_of_value(ds, found[-1]) if found else None


def _no_period(ds: DatasetSpec, path: Path) -> Refusal:
    return Refusal(str(path), f"no period of {ds.platform}/{ds.code} ({ds.cadence.value}) in the name")


def scan_old_files(root: Path, datasets: list[DatasetSpec]) -> tuple[list[OldFile], list[Refusal]]:
    """Merged workbooks and shop files of `datasets` under `root`, and the files there
    that name no period of their dataset."""
    files: list[OldFile] = []
    refused: list[Refusal] = []
    for ds in datasets:
        shop_folder, merged_folder = OLD_FOLDERS.get((ds.platform, ds.code), (None, None))
        if merged_folder and (root / merged_folder).is_dir():
            for path in sorted((root / merged_folder).iterdir()):
                if not path.is_file() or path.suffix.lower() not in EXCEL_EXTS or path.name.startswith(("~$", ".")):
                    continue
                key = _partition(ds, path.stem)
                if key is None:
                    refused.append(_no_period(ds, path))
                else:
                    files.append(OldFile(ds, key, path, "merged workbook"))
        if shop_folder and (root / shop_folder).is_dir():
            for folder in sorted(p for p in (root / shop_folder).iterdir() if p.is_dir()):
                key = _partition(ds, folder.name) if PERIOD_IN_NAME.fullmatch(folder.name) else None
                if key is None:
                    refused.append(_no_period(ds, folder))
                    continue
                for path in sorted(folder.iterdir()):
                    if (path.is_file() and path.suffix.lower() in EXCEL_EXTS and not path.name.startswith(("~$", "."))
                            and not MERGE_OUTPUT_NAMES.search(path.name)):
                        files.append(OldFile(ds, key, path, "shop file", path.stem))
    return files, refused
