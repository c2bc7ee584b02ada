"""Pinduoduo merchant back-end (mms.pinduoduo.com), per dataset `report.flow`:

- `review_list` (badscore): POST /saturn/reviews/list, the day's 1-3 star reviews in
  unix seconds, every page of `page_size` (the total comes with each page);
- `quality_list` (quality): POST /api/price/mariana/quality_experience/goods_list, a
  snapshot without dates, every page;
- `kpi_download` (kpi_days/weekly/monthly): one GET of /chats/csReportDetail/download
  with the period's unix-second bounds; `result` is the report's download link,
  fetched at once without cookies.

The lists are written to xlsx by the collector (`answers.items_report`). No shop
parameter: the shop is the account of the session. There is no automated login (the
old crawlers used a cookie pasted by hand): `yd-platform login pdd <account>`.
Expired sessions answer `success: false` with `error_code` 43001.
"""

from __future__ import annotations

import math

from yd_platform.collect.errors import PermanentError, SessionExpired
from yd_platform.collect.framework import CollectJob, Collector, unix_bounds
from yd_platform.collect.platforms.answers import all_pages, dig, dig_int, dig_list, items_report

HOST = "mms.pinduoduo.com"
ORIGIN = f"https://{HOST}"
SESSION_GONE = 43001
REFERERS = {
    "review_list": f"{ORIGIN}/goods/evaluation/index?msfrom=mms_globalsearch",
    "quality_list": f"{ORIGIN}/mms-marketing-mixin/quality-experience?msfrom=mms_globalsearch",
    "kpi_download": f"{ORIGIN}/mms-chat/overview/merchant",
}


class PddCollector(Collector):
    platform = "pdd"
    host = HOST
    home_path = "home/"
    login_path = "login/"

    def check_body(self, body, url):
        if not isinstance(body, dict) or body.get("success") is not False:
            return
        code = body.get("error_code", body.get("errorCode"))
        message = body.get("error_msg") or body.get("errorMsg")
        if code == SESSION_GONE:
            raise SessionExpired(f"pdd session expired (error_code {code} for {url}: {message})")
        raise PermanentError(f"pdd {url}: error_code {code}: {message}")

    def headers(self, flow: str, json_body: bool) -> dict[str, str]:
        headers = {"referer": REFERERS[flow], "anti-content": ""}
        if json_body:
            headers.update({"origin": ORIGIN, "content-type": "application/json", "etag": ""})
        return headers

    def download_report(self, api, job: CollectJob, page=None) -> bytes:
        flow = job.ds.report.get("flow")
        if flow == "kpi_download":
            return self.kpi_download(api, job)
        if flow == "review_list":
            return self.review_list(api, job)
        if flow == "quality_list":
            return self.quality_list(api, job)
        raise PermanentError(f"{job.ds.slug}: no pdd back-end flow {flow!r} "
                             "(report.flow: review_list, quality_list or kpi_download)")

    def kpi_download(self, api, job: CollectJob) -> bytes:
        start, end = unix_bounds(job.period, job.ds.timezone)
        path = f"chats/csReportDetail/download?starttime={start}&endtime={end}&csRemoveRefundSalesAmountGray=true&"
        body = self.get_json(api, path, headers=self.headers("kpi_download", json_body=False))
        link = dig(body, "result", f"{job.label}: csReportDetail/download")
        if not isinstance(link, str) or not link:
            raise PermanentError(f"{job.label}: csReportDetail/download gave no download link "
                                 f"(result {link!r}: {body.get('error_msg') or '无下载链接'})")
        return self.fetch_file(api, link)

    def _list(self, api, job: CollectJob, path: str, body_for, items_at: str, total_at: str) -> list:
        flow = job.ds.report["flow"]
        size = int(job.ds.report.get("page_size", 40))
        where = f"{job.label}: {path}"

        def fetch(page: int):
            body = self.get_json(api, path, method="POST", data=body_for(page, size),
                                 headers=self.headers(flow, json_body=True))
            return dig_list(body, items_at, where), dig_int(body, total_at, where)

        items = all_pages(fetch, size, float(job.ds.report.get("page_pause_seconds", 0.5)), where)
        self.log.info(f"{job.label}: {len(items)} rows in {max(1, math.ceil(len(items) / size))} pages")
        return items

    def review_list(self, api, job: CollectJob) -> bytes:
        start, end = unix_bounds(job.period, job.ds.timezone)
        items = self._list(api, job, "saturn/reviews/list", lambda page, size: {
            "startTime": start, "endTime": end, "pageNo": page, "pageSize": size,
            "descScore": ["1", "2", "3"], "mainReviewContentStatus": "1", "orderSn": "",
        }, "result.data", "result.totalRows")
        return items_report(job.ds, items, {"date": job.period.start.isoformat()}, job.label)

    def quality_list(self, api, job: CollectJob) -> bytes:
        items = self._list(api, job, "api/price/mariana/quality_experience/goods_list", lambda page, size: {
            "sort_field": 1, "sort_type": "ASC", "page_size": size, "page_no": page,
        }, "result.goods_list", "result.total")
        return items_report(job.ds, items, {"date": job.period.start.isoformat()}, job.label)
