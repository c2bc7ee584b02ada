"""Demo Pinduoduo (mms.pinduoduo.com): review and quality lists paged by the request,
the KPI download GET whose `result` is the link itself; `success: false` with
`error_code` 43001 for an expired session."""

from __future__ import annotations

from datetime import datetime

from yd_platform.demo.backend import ZONE, Backend, unix_day
from yd_platform.demo.data import pdd_quality, pdd_reviews
from yd_platform.demo.http import Exchange, PortalError, Reply, json_reply

MMS = "mms.pinduoduo.com"


def _page(items: list, number, size) -> list:
    try:
        number, size = int(number), int(size)
    except (TypeError, ValueError):
        raise PortalError(400, "page number and size must be numbers") from None
    return items[(number - 1) * size: number * size]


def _ok(result) -> Reply:
    return json_reply({"success": True, "errorCode": 1000000, "error_msg": None, "result": result})


class PddBackend(Backend):
    platform = "pdd"
    title = "拼多多商家后台"
    session_cookie = "PASS_ID"
    extra_cookies = ("api_uid", "_nano_fp", "rckk", "JSESSIONID")
    login_host = MMS
    login_path = "login/"
    home = (MMS, "home/")
    file_host = "chat-report.pddpic.com"

    def routes(self):
        return {
            ("POST", MMS, "saturn/reviews/list"): self.reviews,
            ("POST", MMS, "api/price/mariana/quality_experience/goods_list"): self.quality,
            ("GET", MMS, "chats/csReportDetail/download"): self.kpi_download,
        }

    def expired(self, ex: Exchange) -> Reply:
        return json_reply({"success": False, "error_code": 43001, "error_msg": "会话已过期"})

    def reviews(self, ex: Exchange) -> Reply:
        body = ex.json() or {}
        start, end, number, size = ex.need(body, "startTime", "endTime", "pageNo", "pageSize")
        if unix_day(start) != unix_day(end):
            raise PortalError(400, "startTime and endTime must be one day")
        items = pdd_reviews(ex.account, unix_day(start))
        return _ok({"totalRows": len(items), "data": _page(items, number, size)})

    def quality(self, ex: Exchange) -> Reply:
        body = ex.json() or {}
        number, size = ex.need(body, "page_no", "page_size")
        items = pdd_quality(ex.account, self.today())
        return _ok({"total": len(items), "goods_list": _page(items, number, size)})

    def kpi_download(self, ex: Exchange) -> Reply:
        start, end, _ = ex.need(ex.query, "starttime", "endtime", "csRemoveRefundSalesAmountGray")
        first, last = unix_day(start), unix_day(end)
        if last < first:
            return json_reply({"success": False, "error_code": 1000, "error_msg": "时间范围错误", "result": None})
        ds = self.dataset("kpi_download", (last - first).days + 1)
        task = self.new_task(ex.account, ds, first, last, ready_now=True)
        return _ok(self.file_link(ex, task))

    @staticmethod
    def today():
        return datetime.now(ZONE).date()
