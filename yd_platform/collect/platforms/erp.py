"""ERP 聚水潭 (erp321): snapshots of goods and stock, and of the bill of materials.

Flows per dataset `report.flow`:

- `item_export` (goodscount): POST api.erp321.com/.../Export/ItemSkuAndInventory with
  the shop's `owner_co_id` / `authorize_co_id` in the query and its operator `uid`,
  the field list `report.query_fields`; `{code 0, data: <task id>}`. Then
  GetExportData until `data.progress` is 100 with a `data.url`; the url without
  cookies. No date parameter: the export is the state of now.
- `bom_export` (goodsbom): the BOM page's menu `BomOpration_Btn` -> `BOM导出`, the file
  arrives as a browser download.

Sessions come from `yd-platform login erp <account>` (no automated login); an expired
one is redirected to the login page.
"""

from __future__ import annotations

import time

from yd_platform.collect.errors import PermanentError, SessionExpired, TransientError
from yd_platform.collect.framework import CollectJob, Collector
from yd_platform.collect.platforms.answers import AnswerShapeError, dig, shop_backend

WWW = "www.erp321.com"
API = "api.erp321.com"
BOM_PAGE = "app/item/item_sku/bom/item_sku.aspx?_c=jst-epaas"
DONE = 100


class ErpCollector(Collector):
    platform = "erp"
    host = WWW
    home_path = "epaas"
    login_path = "login.aspx"

    def check_body(self, body, url):
        if isinstance(body, dict) and body.get("code") not in (0, None):
            raise PermanentError(f"erp {url}: code {body.get('code')}: {body.get('msg') or body.get('message')}")

    def download_report(self, api, job: CollectJob, page=None) -> bytes:
        flow = job.ds.report.get("flow")
        if flow == "item_export":
            return self.item_export(api, job)
        if flow == "bom_export":
            return self.bom_export(page, job)
        raise PermanentError(f"{job.ds.slug}: no erp back-end flow {flow!r} (report.flow: item_export or bom_export)")

    def item_export(self, api, job: CollectJob) -> bytes:
        shop = shop_backend(job, "owner_co_id", "authorize_co_id", "uid")
        fields = job.ds.report.get("query_fields") or []
        if not fields:
            raise PermanentError(f"{job.ds.slug}: report.query_fields (the export's field keys) is empty")
        query = f"owner_co_id={shop['owner_co_id']}&authorize_co_id={shop['authorize_co_id']}"
        headers = {"content-type": "application/json; charset=utf-8", "origin": "https://src.erp321.com", "gwfp": ""}
        where = f"{job.label}: ItemSkuAndInventory"
        created = self.get_json(api, f"erp/webapi/ItemApi/Export/ItemSkuAndInventory?{query}", method="POST",
                                host=API, headers=headers, data={
                                    "ip": "", "uid": str(shop["uid"]), "coid": str(shop["owner_co_id"]),
                                    "isOtherStore": False,
                                    "data": {"type": 3, "filterType": 2, "searchCondition": {
                                        "enabled": "1", "sku_type": 1, "orderBy": "", "queryFlds": list(fields)}}})
        task = dig(created, "data", where)
        if not isinstance(task, int):
            raise AnswerShapeError(f"{where}: field 'data' is {task!r}, not the task id")

        def url() -> str | None:
            at = f"{job.label}: GetExportData"
            polled = self.get_json(api, f"erp/webapi/ItemApi/Export/GetExportData?{query}", method="POST",
                                   host=API, headers=headers,
                                   data={"ip": "", "uid": "", "coid": str(shop["owner_co_id"]), "data": task})
            progress = dig(polled, "data.progress", at)
            link = dig(polled, "data.url", at, default=None)
            return link if progress == DONE and link else None

        return self.fetch_file(api, self.wait_for(job, url, f"export task {task}"))

    def bom_export(self, page, job: CollectJob) -> bytes:
        """Click the export; the file arrives as a download, unless the session has
        expired and the click lands on the login page instead."""
        from playwright.sync_api import Error as PlaywrightError

        self.goto(page, self.url(BOM_PAGE))
        if self.on_login_page(page):
            raise SessionExpired("erp session expired: the BOM page was sent to the login page")
        downloads: list = []

        def on_download(download) -> None:
            downloads.append(download)

        page.on("download", on_download)  # the page serves a whole batch: removed below
        try:
            page.click("#BomOpration_Btn")
            page.get_by_text("BOM导出", exact=True).click()
            deadline = time.monotonic() + self.settings.report_wait_seconds
            while not downloads:
                if self.on_login_page(page):
                    raise SessionExpired("erp session expired: the BOM export was sent to the login page")
                if time.monotonic() > deadline:
                    raise TransientError(f"{job.label}: BOM export did not start within "
                                         f"{self.settings.report_wait_seconds:.0f}s")
                page.wait_for_timeout(250)  # lets Playwright deliver the download event
            path = downloads[0].path()
        except PlaywrightError as exc:
            raise TransientError(f"{job.label}: BOM export did not download: {str(exc).splitlines()[0]}") from None
        finally:
            page.remove_listener("download", on_download)
        with open(path, "rb") as fh:
            return fh.read()
