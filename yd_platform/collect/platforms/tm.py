"""Tmall (生意参谋): async Excel task, task-list polling, then the file URL.

`report:` parameters: `template_id` (reportTemplateId), `biz_code` (default selfMadeReport).
"""

from __future__ import annotations

from yd_platform.collect.errors import PermanentError, SessionExpired
from yd_platform.collect.framework import Collector, CollectJob

SESSION_EXPIRED_CODE = 5810
DONE_MESSAGE = "下载完成"


class TmallCollector(Collector):
    platform = "tm"

    def check_body(self, body, url):
        code = body.get("code") if isinstance(body, dict) else None
        if code == SESSION_EXPIRED_CODE:
            raise SessionExpired(f"tm session expired (code {code} for {url})")
        if code not in (0, None):
            raise PermanentError(f"tm {url}: code {code}: {body.get('message')}")

    def request_report(self, api, job: CollectJob) -> dict:
        report = job.ds.report
        if "template_id" not in report:
            raise PermanentError(f"{job.ds.slug}: report needs 'template_id' for the tm collector")
        biz = report.get("biz_code", "selfMadeReport")
        body = self.get_json(api, "csp/api/user/customize/async-excel", params={
            "reportTemplateId": report["template_id"], "bizCode": biz, "shop": job.shop,
            "startDate": job.period.start.isoformat(), "endDate": job.period.end.isoformat(),
        })
        return {"task": body["data"]["taskId"], "biz": biz}

    def report_ready(self, api, job: CollectJob, handle: dict) -> str | None:
        tasks = self.get_json(api, "csp/api/file/task-list.json", params={"bizCode": handle["biz"]})["data"]
        mine = next((t for t in tasks if t.get("id") == handle["task"]), None)
        if mine is None:
            raise PermanentError(f"{job.label}: task {handle['task']} vanished from the tm task list")
        if mine.get("message") != DONE_MESSAGE:
            return None
        return self.get_json(api, "csp/api/file/url", params={"id": handle["task"]})["data"]["url"]
