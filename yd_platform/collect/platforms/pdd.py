"""Pinduoduo merchant back-end: the download call with unix-second bounds returns a
link that works once the report is generated.

`report:` parameters are passed as they are (e.g. `page`, `filter`, `granularity`).
"""

from __future__ import annotations

from yd_platform.collect.errors import PermanentError
from yd_platform.collect.framework import Collector, CollectJob, unix_bounds


class PddCollector(Collector):
    platform = "pdd"

    def check_body(self, body, url):
        if isinstance(body, dict) and body.get("success") is False:
            raise PermanentError(f"pdd {url}: {body.get('errorMsg')}")

    def request_report(self, api, job: CollectJob) -> dict:
        start, end = unix_bounds(job.period, job.ds.timezone)
        params = {**{k: str(v) for k, v in job.ds.report.items()},
                  "starttime": str(start), "endtime": str(end), "shop": job.shop}
        result = self.get_json(api, "chats/csReportDetail/download", params=params)["result"]
        return {"task": result["taskId"], "url": result["downloadUrl"]}

    def report_ready(self, api, job: CollectJob, handle: dict) -> str | None:
        status = self.get_json(api, "chats/csReportDetail/status", params={"taskId": handle["task"]})
        return handle["url"] if status["result"]["ready"] else None
