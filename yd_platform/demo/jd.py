"""Demo JD brand back-end: the supply-chain report is created on zhgateway.jd.com (the
answer names the task, no id), listed newest first on ppzh.jd.com's report list
(status "1" generating, "2" done, with a cookie-free `downloadLink`). The list also
holds a newer report of another kind, as a shared account's list does, so taking the
first entry blindly would download the wrong file. Logged-out calls are redirected to
passport.jd.com's login page."""

from __future__ import annotations

from datetime import date

from yd_platform.demo.backend import Backend
from yd_platform.demo.http import Exchange, PortalError, Reply, json_reply

PPZH = "ppzh.jd.com"
GATEWAY = "zhgateway.jd.com"
CREATE = "inventoryajax/reportCenter/recommendReport/downloadERPSupplyChainProData.ajax"
FIELDS = ("isRdc", "brandId", "firstCategoryId", "secondCategoryId", "thirdCategoryId", "date", "startDate",
          "endDate", "skuId", "skuStatusCd", "dataType", "id", "excludeEmpty")


def task_name(day: date, layout: str = "纵版") -> str:
    return f"默认{layout}-{day:%Y%m%d}-全部-全部-RDC-{layout}-实时"


class JdBackend(Backend):
    platform = "jd"
    title = "京东商智"
    session_cookie = "thor"
    extra_cookies = ("pin", "unick", "__jda")
    login_host = "passport.jd.com"
    login_path = "new/login.aspx"
    home = (PPZH, "scbrandweb/brand/view/supplyReport/supplyChainPro.html")
    file_host = "jd-report.s3.cn-north-1.jdcloud-oss.com"

    def pages(self):
        return {self.home: self.home_page, (PPZH, "brand/reportCenter/myReport.html"): self.home_page}

    def routes(self):
        return {
            ("POST", GATEWAY, CREATE): self.create,
            ("GET", PPZH, "brand/reportCenter/myReport/getReportList.ajax"): self.report_list,
        }

    def create(self, ex: Exchange) -> Reply:
        ex.need(ex.query, "uuid")
        body = ex.json() or {}
        values = dict(zip(FIELDS, ex.need(body, *FIELDS)))
        try:
            day = date.fromisoformat(values["date"])
        except (TypeError, ValueError):
            raise PortalError(400, f"date must be YYYY-MM-DD, got {values['date']!r}") from None
        if values["startDate"] != values["date"] or values["endDate"] != values["date"]:
            return json_reply({"status": "1", "msg": "日期参数不一致", "content": None})
        ds = self.dataset("supply_chain_report")
        self.new_task(ex.account, ds, day, day, name=task_name(day))
        decoy = self.new_task(ex.account, ds, day, day, name=task_name(day, "横版"), ready_now=True)
        decoy.created += 0.001  # someone else's export, newer than ours
        return json_reply({"status": "0", "msg": "success", "content": {"taskName": task_name(day)}})

    def report_list(self, ex: Exchange) -> Reply:
        ex.need(ex.query, "uuid")
        reports = [{"reportName": t.name, "status": "2" if t.ready() else "1",
                    "createTime": int(t.created * 1000),
                    "downloadLink": self.file_link(ex, t) if t.ready() else ""}
                   for t in self.state.account_tasks("jd", ex.account)]
        return json_reply({"message": "success", "content": {"data": reports[:20], "total": len(reports)}})
