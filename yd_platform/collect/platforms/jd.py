"""JD report centre: POST a report request, poll "my reports", download when done.

`report:` parameters: `report_type`.
"""

from __future__ import annotations

from yd_platform.collect.errors import PermanentError
from yd_platform.collect.framework import Collector, CollectJob


class JdCollector(Collector):
    platform = "jd"

    def check_body(self, body, url):
        if isinstance(body, dict) and body.get("success") is False:
            raise PermanentError(f"jd {url}: {body.get('errorMsg')}")

    def request_report(self, api, job: CollectJob) -> dict:
        if "report_type" not in job.ds.report:
            raise PermanentError(f"{job.ds.slug}: report needs 'report_type' for the jd collector")
        body = self.get_json(api, "reportCenter/api/create", method="POST", data={
            "reportType": job.ds.report["report_type"], "shop": job.shop,
            "startDate": job.period.start.isoformat(), "endDate": job.period.end.isoformat(),
        })
        return {"report": body["reportId"]}

    def report_ready(self, api, job: CollectJob, handle: dict) -> str | None:
        reports = self.get_json(api, "reportCenter/api/myReports")["reports"]
        mine = next((r for r in reports if r.get("reportId") == handle["report"]), None)
        if mine is None:
            raise PermanentError(f"{job.label}: report {handle['report']} is not in 'my reports'")
        return mine.get("downloadUrl") if mine.get("status") == "DONE" else None
