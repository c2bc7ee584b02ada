"""Demo Tmall: the login.taobao.com password form, 生意参谋 (sycm.taobao.com) and the
mtop H5 gateway (h5api.m.taobao.com).

- async-excel takes `YYYYMMDD` dates, `dateType=day`, `dateRange=cz`,
  `bizCode=selfMadeReport` and the shop's own numeric `reportTemplateId` (its
  catalog `backend.template_id`); `data` is the task id. The task list answers
  `code` 200 with `data.result[]` (newest first, paged), file/url gives the link.
- aftsale/cst/list.json pages its agents by `page` / `pageSize`.
- mtop calls must be signed with the `_m_h5_tk` cookie, which the first unsigned call
  sets along with FAIL_SYS_TOKEN_EMPTY; chat answers are JSONP when asked.

Expired sessions: sycm answers its login page (HTML) on async-excel, task list and
file url, `code` 5810 on the after-sales list; mtop FAIL_SYS_SESSION_EXPIRED.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from yd_platform.demo.backend import Backend, ymd_day
from yd_platform.demo.data import tm_aftersale, tm_conversations, tm_messages, tm_reviews
from yd_platform.demo.http import Exchange, PortalError, Reply, html_reply, json_reply

SYCM = "sycm.taobao.com"
H5 = "h5api.m.taobao.com"
APP_KEY = "12574478"
REVIEWS = "mtop.rm.sellercenter.list.data.pc"
CONVERSATIONS = "mtop.taobao.wireless.amp2.paas.conversation.list"
MESSAGES = "mtop.taobao.wireless.amp2.im.paas.message.list"
REPORT_PARAMS = ("startDate", "endDate", "dateType", "dateRange", "reportTemplateId", "bizCode")


def _code(code: int, message: str) -> Reply:
    return json_reply({"code": code, "message": message, "data": None})


class TmBackend(Backend):
    platform = "tm"
    title = "生意参谋"
    session_cookie = "cookie2"
    extra_cookies = ("_tb_token_", "unb", "sgcookie", "uc1", "csg", "skt", "t")
    login_host = "login.taobao.com"
    login_path = "member/login.jhtml"
    taobao_login = True
    home = (SYCM, "qos/service/self_made_report")
    file_host = "sycm-export.oss-cn-zhangjiakou.aliyuncs.com"

    def routes(self):
        return {
            ("GET", SYCM, "csp/api/user/customize/async-excel"): self.async_excel,
            ("GET", SYCM, "csp/api/file/task-list.json"): self.task_list,
            ("GET", SYCM, "csp/api/file/url"): self.file_url,
            ("GET", SYCM, "csp/api/aftsale/cst/list.json"): self.aftersale,
            ("POST", H5, f"h5/{REVIEWS}/1.0/"): self.mtop(self.reviews),
            ("POST", H5, f"h5/{CONVERSATIONS}/1.0/"): self.mtop(self.conversations),
            ("POST", H5, f"h5/{MESSAGES}/1.0/"): self.mtop(self.messages),
        }

    def expired(self, ex: Exchange) -> Reply:
        if ex.host == H5:
            return self._mtop_answer(ex, ["FAIL_SYS_SESSION_EXPIRED::Session过期"], {})
        if ex.path == "csp/api/aftsale/cst/list.json":
            return _code(5810, "未登录或登录已过期")
        return html_reply(self.login_page(None))  # sycm's answer: its login page, status 200

    # -- sycm ---------------------------------------------------------------------
    def async_excel(self, ex: Exchange) -> Reply:
        start, end, date_type, date_range, template, biz = ex.need(ex.query, *REPORT_PARAMS)
        first, last = ymd_day(start, "startDate"), ymd_day(end, "endDate")
        if (date_type, date_range, biz) != ("day", "cz", "selfMadeReport"):
            return _code(400, f"参数错误 dateType={date_type} dateRange={date_range} bizCode={biz}")
        if str(template) != str(self.shop_of(ex.account).backend.get("template_id")):
            return _code(404, f"报表模板不存在: {template}")
        task = self.new_task(ex.account, self.dataset("async_excel"), first, last,
                             name=f"自制报表_{template}_{start}")
        return json_reply({"code": 0, "message": "操作成功", "data": task.id})

    def task_list(self, ex: Exchange) -> Reply:
        number, size, biz = ex.need(ex.query, "pageNo", "pageSize", "bizCode")
        tasks = self.state.account_tasks("tm", ex.account) if biz == "selfMadeReport" else []
        page = tasks[(int(number) - 1) * int(size): int(number) * int(size)]
        return json_reply({"code": 200, "message": "success", "data": {"total": len(tasks), "result": [
            {"id": t.id, "fileName": f"{t.name}.xlsx", "bizCode": biz, "status": 2 if t.ready() else 1,
             "message": "下载完成" if t.ready() else "文件生成中", "gmtCreate": int(t.created * 1000)}
            for t in page]}})

    def file_url(self, ex: Exchange) -> Reply:
        [task_id] = ex.need(ex.query, "id")
        task = self.state.task("tm", ex.account, task_id)
        if task is None or not task.ready():
            return _code(404, "文件不存在")
        return json_reply({"code": 0, "message": "操作成功", "data": self.file_link(ex, task)})

    def aftersale(self, ex: Exchange) -> Reply:
        names = ("dateRange", "startDate", "endDate", "dateType", "excludeDates", "orderBy", "order",
                 "page", "pageSize", "wwGroup", "accountId", "qnGroupId")
        values = dict(zip(names, ex.need(ex.query, *names)))
        day = ymd_day(values["startDate"], "startDate")
        ymd_day(values["endDate"], "endDate")
        data = tm_aftersale(ex.account, day)
        number, size = int(values["page"]), int(values["pageSize"])
        return json_reply({"code": 0, "message": "操作成功", "data": {
            "sumResult": data["sumResult"], "avgResult": data["avgResult"], "recordCount": len(data["data"]),
            "data": data["data"][(number - 1) * size: number * size]}})

    # -- mtop -----------------------------------------------------------------------
    def _mtop_answer(self, ex: Exchange, ret: list[str], data, headers=None) -> Reply:
        callback = ex.query.get("callback") if ex.query.get("type") == "jsonp" else None
        return json_reply({"api": ex.query.get("api"), "v": ex.query.get("v"), "ret": ret, "data": data},
                          headers=headers, jsonp=callback)

    def mtop(self, handler):
        """A signed H5 call: no `_m_h5_tk` yet -> a token failure that sets one; a bad
        signature -> FAIL_SYS_ILLEGAL_ACCESS; else the handler's `data`."""
        def call(ex: Exchange) -> Reply:
            text = ex.form().get("data")
            if text is None:
                raise PortalError(400, "mtop: the form has no data field")
            token_cookie = ex.cookies.get("_m_h5_tk", "")
            if not token_cookie:
                token = f"{secrets.token_hex(16)}_{int(time.time() * 1000) + 3600_000}"
                cookie = [f"_m_h5_tk={token}; Path=/tm", f"_m_h5_tk_enc={secrets.token_hex(16)}; Path=/tm"]
                return self._mtop_answer(ex, ["FAIL_SYS_TOKEN_EMPTY::令牌为空"], {}, {"Set-Cookie": cookie})
            expected = hashlib.md5(f"{token_cookie.split('_')[0]}&{ex.query.get('t')}&{APP_KEY}&{text}".encode())
            if ex.query.get("appKey") != APP_KEY or ex.query.get("sign") != expected.hexdigest():
                return self._mtop_answer(ex, ["FAIL_SYS_ILLEGAL_ACCESS::非法请求"], {})
            return self._mtop_answer(ex, ["SUCCESS::调用成功"], handler(ex, json.loads(text)))
        return call

    def reviews(self, ex: Exchange, data: dict) -> dict:
        inner = json.loads(ex.need(data, "jsonBody")[0])
        page, days = ex.need(inner, "pagination", "dateRange")
        first = ymd_day(days[0], "dateRange")
        items = tm_reviews(ex.account, first)
        number, size = int(page["current"]), int(page["pageSize"])
        return {"data": {"dataSource": items[(number - 1) * size: number * size],
                         "pagination": {"current": number, "pageSize": size, "total": len(items)}}}

    def conversations(self, ex: Exchange, data: dict) -> dict:
        begin, end, size, index = ex.need(data, "beginDate", "endDate", "pageSize", "pageIndex")
        items = tm_conversations(ex.account, ymd_day(begin, "beginDate"))
        ymd_day(end, "endDate")
        page = items[(int(index) - 1) * int(size): int(index) * int(size)]
        return {"result": page} if page else {}

    def messages(self, ex: Exchange, data: dict) -> dict:
        nick, cid, _user, cursor, _forward, count = ex.need(data, "userNick", "cid", "userId", "cursor", "forward",
                                                          "count")
        shop = self.shop_of(ex.account)
        if nick != shop.backend.get("user_nick"):
            raise PortalError(400, f"unknown userNick {nick!r}")
        conversation = next((c for day in {self._day_of(cid)} for c in tm_conversations(ex.account, day)
                             if c["cid"]["appCid"] == cid), None)
        if conversation is None:
            return {"userMessages": [], "hasMore": "false"}
        later = [m for m in tm_messages(ex.account, self._day_of(cid), conversation, nick)
                 if m["sendTime"] >= int(cursor)]
        batch = later[: int(count)]
        more = len(later) > len(batch)
        return {"userMessages": batch, "hasMore": "true" if more else "false",
                "nextCursor": str(batch[-1]["sendTime"] + 1) if more else None}

    @staticmethod
    def _day_of(cid: str):
        from datetime import datetime

        try:
            return datetime.strptime(cid.rsplit("-", 2)[-2], "%Y%m%d").date()
        except (ValueError, IndexError):
            raise PortalError(400, f"unknown conversation {cid!r}") from None
