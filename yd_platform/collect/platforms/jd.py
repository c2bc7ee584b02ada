"""JD brand back-end (ppzh.jd.com): the supply-chain inventory report.

Flow `supply_chain_report`:

1. open supplyChainPro.html (a logged-out session lands on the passport login page);
2. POST zhgateway.jd.com/.../downloadERPSupplyChainProData.ajax?uuid=<uuid4> with the
   day as `YYYY-MM-DD` (all brands, realtime); the answer `{status "0", msg
   "success", content.taskName}` carries no id;
3. open myReport.html and poll getReportList.ajax (`message` "success",
   `content.data[]`, newest first) until the newest report named `taskName` has
   status "2" and a `downloadLink` (the old crawler took `data[0]` whatever its name);
4. GET the link without cookies.

No shop id: the logged-in account decides the shop. No automated login: sessions
come from `yd-platform login jd <account>`; an expired one is redirected to the login
page.
"""

from __future__ import annotations

import time
import uuid

from yd_platform.collect.errors import PermanentError
from yd_platform.collect.framework import CollectJob, Collector
from yd_platform.collect.platforms.answers import dig, dig_list

PPZH = "ppzh.jd.com"
GATEWAY = "zhgateway.jd.com"
SUPPLY_PAGE = "scbrandweb/brand/view/supplyReport/supplyChainPro.html"
REPORT_PAGE = "brand/reportCenter/myReport.html"
READY = "2"


def poll_uuid() -> str:
    """getReportList's cache buster: 32 hex digits, '-', the last 11 digits of the ms clock."""
    return f"{uuid.uuid4().hex}-{str(int(time.time() * 1000))[-11:]}"


class JdCollector(Collector):
    platform = "jd"
    host = PPZH
    home_path = SUPPLY_PAGE
    login_host = "passport.jd.com"
    login_path = "new/login.aspx"

    def download_report(self, api, job: CollectJob, page=None) -> bytes:
        if job.ds.report.get("flow") != "supply_chain_report":
            raise PermanentError(f"{job.ds.slug}: no jd back-end flow {job.ds.report.get('flow')!r} "
                                 "(report.flow: supply_chain_report)")
        day = job.period.start.isoformat()
        supply = f"https://{PPZH}/{SUPPLY_PAGE}"
        where = f"{job.label}: downloadERPSupplyChainProData"
        created = self.get_json(
            api, f"inventoryajax/reportCenter/recommendReport/downloadERPSupplyChainProData.ajax?uuid={uuid.uuid4()}",
            method="POST", host=GATEWAY,
            headers={"content-type": "application/json;charset=UTF-8", "origin": f"https://{PPZH}",
                     "referer": supply, "x-requested-with": "XMLHttpRequest", "user-mup": "1", "user-mnp": ""},
            data={"isRdc": "0", "brandId": "all", "firstCategoryId": "", "secondCategoryId": "",
                  "thirdCategoryId": "all", "date": day, "startDate": day, "endDate": day, "skuId": "",
                  "skuStatusCd": "", "dataType": "realtime", "id": 2, "excludeEmpty": "0"})
        if str(dig(created, "status", where)) != "0":
            raise PermanentError(f"{where}: status {created.get('status')!r}: {created.get('msg')}")
        task_name = dig(created, "content.taskName", where)
        if page is not None:
            self.goto(page, self.url(REPORT_PAGE))

        def link() -> str | None:
            listing = self.get_json(api, f"brand/reportCenter/myReport/getReportList.ajax?uuid={poll_uuid()}",
                                    headers={"referer": f"https://{PPZH}/{REPORT_PAGE}", "p-pin": "",
                                             "x-requested-with": "XMLHttpRequest", "user-mup": "1", "user-mnp": ""})
            at = f"{job.label}: getReportList"
            if dig(listing, "message", at) != "success":
                raise PermanentError(f"{at}: message {listing.get('message')!r}")
            mine = next((r for r in dig_list(listing, "content.data", at)
                         if isinstance(r, dict) and r.get("reportName") == task_name), None)
            if mine is None:
                raise PermanentError(f"{at}: no report named {task_name!r} in the report list")
            if str(dig(mine, "status", at)) != READY:
                return None
            url = dig(mine, "downloadLink", at)
            if not url:
                raise PermanentError(f"{at}: report {task_name!r} is done but has no downloadLink")
            return url

        return self.fetch_file(api, self.wait_for(job, link, f"report {task_name}"))
