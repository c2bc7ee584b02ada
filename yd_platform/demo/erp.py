"""Demo ERP 聚水潭 (erp321): the item export on api.erp321.com is created with the
shop's company ids (`owner_co_id`, `authorize_co_id`), answers `{code 0, data: task
id}` and reports `progress` 0..100 and a cookie-free `url` on GetExportData; the BOM
page exports through its menu as a browser download. Logged-out calls are redirected
to the login page."""

from __future__ import annotations

from datetime import datetime

from yd_platform.demo.backend import ZONE, Backend
from yd_platform.demo.http import Exchange, PortalError, Reply, html_reply, json_reply

WWW = "www.erp321.com"
API = "api.erp321.com"
EXPORT = "erp/webapi/ItemApi/Export/"
BOM_PAGE = "app/item/item_sku/bom/item_sku.aspx"
BOM_FILE = "app/item/item_sku/bom/export.aspx"


class ErpBackend(Backend):
    platform = "erp"
    title = "聚水潭ERP"
    session_cookie = "u_sso_token"
    extra_cookies = ("u_id", "u_co_id", "u_name")
    login_host = WWW
    login_path = "login.aspx"
    home = (WWW, "epaas")
    file_host = "jst-export.oss-cn-hangzhou.aliyuncs.com"

    def pages(self):
        return {self.home: self.home_page, (WWW, BOM_PAGE): self.bom_page}

    def routes(self):
        return {
            ("POST", API, EXPORT + "ItemSkuAndInventory"): self.create_export,
            ("POST", API, EXPORT + "GetExportData"): self.export_data,
            ("GET", WWW, BOM_FILE): self.bom_file,
        }

    def _company(self, ex: Exchange) -> Reply | None:
        owner, authorize = ex.need(ex.query, "owner_co_id", "authorize_co_id")
        backend = self.shop_of(ex.account).backend
        if (owner, authorize) != (str(backend.get("owner_co_id")), str(backend.get("authorize_co_id"))):
            return json_reply({"code": 1002, "msg": f"无权访问公司 {owner}", "data": None})
        return None

    def create_export(self, ex: Exchange) -> Reply:
        refused = self._company(ex)
        if refused:
            return refused
        body = ex.json() or {}
        _ip, uid, coid, data = ex.need(body, "ip", "uid", "coid", "data")
        condition = (data or {}).get("searchCondition") or {}
        if not condition.get("queryFlds") or str(coid) != ex.query["owner_co_id"] or not uid:
            return json_reply({"code": 1001, "msg": "参数错误", "data": None})
        today = datetime.now(ZONE).date()
        task = self.new_task(ex.account, self.dataset("item_export"), today, today, name="商品及库存")
        return json_reply({"code": 0, "msg": None, "data": task.id})

    def export_data(self, ex: Exchange) -> Reply:
        refused = self._company(ex)
        if refused:
            return refused
        [task_id] = ex.need(ex.json() or {}, "data")
        task = self.state.task("erp", ex.account, task_id)
        if task is None:
            return json_reply({"code": 1003, "msg": "导出任务不存在", "data": None})
        done = task.progress() == 100
        return json_reply({"code": 0, "msg": None, "data": {
            "progress": task.progress(), "url": self.file_link(ex, task) if done else None}})

    def bom_page(self, ex: Exchange) -> Reply:
        return html_reply(self.page(
            f"<button id='BomOpration_Btn' onclick=\"document.getElementById('bom-menu').hidden=false\">BOM操作</button>"
            f"<ul id='bom-menu' hidden><li><a href='/{self.platform}/{WWW}/{BOM_FILE}'>BOM导出</a></li></ul>",
            "BOM管理"))

    def bom_file(self, ex: Exchange) -> Reply:
        today = datetime.now(ZONE).date()
        task = self.new_task(ex.account, self.dataset("bom_export"), today, today, name="BOM表", ready_now=True)
        if not task.ready():
            raise PortalError(409, "export not ready")
        return self.send_report(task)
