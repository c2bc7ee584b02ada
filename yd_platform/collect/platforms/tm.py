"""Tmall: 生意参谋 (sycm.taobao.com) and the Qianniu mtop H5 API (h5api.m.taobao.com).

Login is automated as the old cookie job did it: the password form on
login.taobao.com (`#fm-login-id`, `#fm-login-password`), credentials from
YD_CRED_TM_<ACCOUNT>_USER / _PASSWORD; a slider or SMS prompt stops the run.

Flows per dataset `report.flow`:

- `async_excel` (kpi_self): GET /csp/api/user/customize/async-excel with dates as
  `YYYYMMDD`, `dateType=day`, `dateRange=cz`, the shop's numeric `reportTemplateId`
  (shop `backend.template_id`) and `bizCode=selfMadeReport`; `data` is the task id.
  Then /csp/api/file/task-list.json (`code` 200, `data.result[]`) until the task says
  下载完成, /csp/api/file/url?id= (`data` is the link), and the link without cookies.
- `cst_list` (kpi_official): GET /csp/api/aftsale/cst/list.json, every page (the old
  crawler read page 1 only, i.e. 10 agents), written as 汇总, 平均值, then the agents.
- `mtop_reviews` (badscore): signed mtop.rm.sellercenter.list.data.pc, every page (the
  old crawler read the first 20 reviews only).
- `mtop_chat` (chat): signed JSONP conversation.list, every page, then each
  conversation's message.list following `nextCursor` while `hasMore` (the old crawler
  read one page of each), one row per customer.

Expiry signals: sycm answers an HTML login page where JSON belongs (async-excel, task
list) or `code` 5810 (the after-sales list); mtop says FAIL_SYS_SESSION_EXPIRED. mtop
calls are signed with the `_m_h5_tk` cookie, which the first call's token failure sets.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from yd_platform.collect.errors import PermanentError, SessionExpired
from yd_platform.collect.framework import CollectJob, Collector
from yd_platform.collect.platforms.answers import (
    AnswerShapeError,
    all_pages,
    dig,
    dig_list,
    items_report,
    shop_backend,
    shop_name,
    xlsx_bytes,
)

SYCM = "sycm.taobao.com"
H5 = "h5api.m.taobao.com"
MYSELLER = "https://myseller.taobao.com"
APP_KEY = "12574478"
SESSION_EXPIRED_CODE = 5810
DONE_MESSAGE = "下载完成"
SYCM_HEADERS = {"accept": "application/json, text/plain, */*", "bx-v": "2.5.31",
                "referer": f"https://{SYCM}/qos/service/self_made_report"}
PERFORMANCE = "/qos/service/frame/customer/performance/new"
TOKEN_FAILURES = ("FAIL_SYS_TOKEN_EMPTY", "FAIL_SYS_TOKEN_EXOIRED", "FAIL_SYS_TOKEN_EXPIRED",
                  "FAIL_SYS_ILLEGAL_ACCESS")
JSONP_RE = re.compile(r"^\s*[\w$.]+\((.*)\)\s*;?\s*$", re.S)


def mtop_sign(token: str, t: str, data: str) -> str:
    """The H5 signature: MD5 hex of `token&t&appKey&data`."""
    return hashlib.md5(f"{token}&{t}&{APP_KEY}&{data}".encode()).hexdigest()


def ymd(day) -> str:
    return day.strftime("%Y%m%d")


class TmallCollector(Collector):
    platform = "tm"
    host = SYCM
    home_path = "qos/service/self_made_report"
    login_host = "login.taobao.com"
    login_path = "member/login.jhtml"
    login_form = ("#fm-login-id", "#fm-login-password", "#login-form button[type=submit]")
    password_login = True
    html_means_expired = True

    def check_body(self, body, url):
        code = body.get("code") if isinstance(body, dict) else None
        if code == SESSION_EXPIRED_CODE:
            raise SessionExpired(f"tm session expired (code {code} for {url})")
        if code not in (0, 200, None):
            raise PermanentError(f"tm {url}: code {code}: {body.get('message') or body.get('msg')}")

    def download_report(self, api, job: CollectJob, page=None) -> bytes:
        flow = job.ds.report.get("flow")
        flows = {"async_excel": self.async_excel, "cst_list": self.cst_list,
                 "mtop_reviews": self.mtop_reviews, "mtop_chat": self.mtop_chat}
        if flow not in flows:
            raise PermanentError(f"{job.ds.slug}: no tm back-end flow {flow!r} (report.flow: {', '.join(flows)})")
        return flows[flow](api, job, page)

    # -- sycm ------------------------------------------------------------------
    def async_excel(self, api, job: CollectJob, page) -> bytes:
        template = shop_backend(job, "template_id")["template_id"]
        day = ymd(job.period.start)
        body = self.get_json(api, "csp/api/user/customize/async-excel", headers=SYCM_HEADERS, params={
            "startDate": day, "endDate": ymd(job.period.end), "dateType": "day", "dateRange": "cz",
            "reportTemplateId": str(template), "bizCode": "selfMadeReport"})
        task = dig(body, "data", f"{job.label}: async-excel")
        if not isinstance(task, int):
            raise AnswerShapeError(f"{job.label}: async-excel field 'data' is {task!r}, not the task id")

        def done() -> bool:
            listing = self.get_json(api, "csp/api/file/task-list.json", headers=SYCM_HEADERS, params={
                "pageNo": "1", "pageSize": "10", "bizCode": "selfMadeReport"})
            tasks = dig_list(listing, "data.result", f"{job.label}: task-list")
            mine = next((t for t in tasks if isinstance(t, dict) and t.get("id") == task), None)
            if mine is None:
                raise PermanentError(f"{job.label}: export task {task} is not in the tm task list")
            return dig(mine, "message", f"{job.label}: task-list item") == DONE_MESSAGE

        self.wait_for(job, done, f"export task {task}")
        link = dig(self.get_json(api, "csp/api/file/url", headers=SYCM_HEADERS, params={"id": str(task)}),
                   "data", f"{job.label}: file/url")
        if not isinstance(link, str) or not link:
            raise AnswerShapeError(f"{job.label}: file/url field 'data' is {link!r}, not the file link")
        return self.fetch_file(api, link)

    def cst_list(self, api, job: CollectJob, page) -> bytes:
        size = int(job.ds.report.get("page_size", 10))
        where = f"{job.label}: aftsale/cst/list.json"
        headers = {**SYCM_HEADERS, "accept": "*/*", "referer": f"https://{SYCM}{PERFORMANCE}",
                   "sycm-referer": PERFORMANCE}
        summary: list = []

        def fetch(number: int):
            body = self.get_json(api, "csp/api/aftsale/cst/list.json", headers=headers, params={
                "dateRange": "cz", "startDate": ymd(job.period.start), "endDate": ymd(job.period.end),
                "dateType": "day", "excludeDates": "", "orderBy": "aftSaleRplyUv", "order": "desc",
                "page": str(number), "pageSize": str(size), "wwGroup": "", "accountId": "", "qnGroupId": ""})
            if number == 1:
                for label, at in (("汇总", "data.sumResult"), ("平均值", "data.avgResult")):
                    row = dig(body, at, where)
                    if row:
                        summary.append({**row, "psnNickName": {"value": label}})
            return dig_list(body, "data.data", where), None

        agents = all_pages(fetch, size, float(job.ds.report.get("page_pause_seconds", 0.3)), where)
        context = {"date": job.period.start.isoformat(), "shop_name": shop_name(job)}
        return items_report(job.ds, summary + agents, context, where)

    # -- mtop ------------------------------------------------------------------
    def mtop(self, api, page, job: CollectJob, name: str, data: dict, jsonp: bool = False) -> dict:
        """One signed mtop call; a token failure (the answer sets a fresh `_m_h5_tk`) is
        signed again once."""
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        where = f"{job.label}: {name}"
        for attempt in (1, 2):
            token = self._h5_token(page, name)
            t = str(int(time.time() * 1000))
            params = {"jsv": "2.6.2" if jsonp else "2.6.1", "appKey": APP_KEY, "t": t,
                      "sign": mtop_sign(token, t, text), "api": name, "v": "1.0"}
            params.update({"type": "jsonp", "dataType": "jsonp", "callback": f"mtopjsonp{attempt}"} if jsonp
                          else {"syncCookieMode": "true", "type": "originaljson", "dataType": "json"})
            resp = self.call(api, f"h5/{name}/1.0/", method="POST", params=params, form={"data": text}, host=H5,
                             headers={"origin": MYSELLER, "referer": f"{MYSELLER}/home.htm/comment-manage/list"})
            body = self._mtop_body(resp.text(), jsonp, where)
            ret = str((dig_list(body, "ret", where) or [""])[0])
            if ret.startswith("SUCCESS"):
                return body
            if ret.startswith("FAIL_SYS_SESSION_EXPIRED"):
                raise SessionExpired(f"tm session expired ({ret} for {name})")
            if not (attempt == 1 and ret.startswith(TOKEN_FAILURES)):
                raise PermanentError(f"{where}: {ret}")
        raise AssertionError("unreachable")

    def _h5_token(self, page, name: str) -> str:
        url = self.url(f"h5/{name}/1.0/", H5)
        cookie = next((c["value"] for c in page.context.cookies([url]) if c["name"] == "_m_h5_tk"), "")
        return cookie.split("_", 1)[0]

    @staticmethod
    def _mtop_body(text: str, jsonp: bool, where: str) -> dict:
        if jsonp:
            match = JSONP_RE.match(text)
            if not match:
                raise AnswerShapeError(f"{where}: not a JSONP answer: {text[:120]!r}")
            text = match.group(1)
        try:
            body = json.loads(text)
        except ValueError:
            raise AnswerShapeError(f"{where}: answer is not JSON: {text[:120]!r}") from None
        if not isinstance(body, dict):
            raise AnswerShapeError(f"{where}: answer is a {type(body).__name__}, not an object")
        return body

    def mtop_reviews(self, api, job: CollectJob, page) -> bytes:
        size = int(job.ds.report.get("page_size", 20))
        name = "mtop.rm.sellercenter.list.data.pc"
        where = f"{job.label}: {name}"
        day = ymd(job.period.start)

        def fetch(number: int):
            inner = {"pageType": "rateWait4PC", "pagination": {"current": number, "pageSize": size},
                     "emotion": 13, "dateRange": [day, ymd(job.period.end)]}
            body = self.mtop(api, page, job, name, {"jsonBody": json.dumps(inner, ensure_ascii=False)})
            total = dig(body, "data.data.pagination.total", where, default=None)
            return dig_list(body, "data.data.dataSource", where), int(total) if total is not None else None

        items = all_pages(fetch, size, float(job.ds.report.get("page_pause_seconds", 0.3)), where)
        context = {"date": job.period.start.isoformat(), "shop_name": shop_name(job)}
        return items_report(job.ds, items, context, where)

    def mtop_chat(self, api, job: CollectJob, page) -> bytes:
        report = job.ds.report
        size = int(report.get("page_size", 100))
        nick = shop_backend(job, "user_nick")["user_nick"]
        name = "mtop.taobao.wireless.amp2.paas.conversation.list"
        where = f"{job.label}: {name}"

        def fetch(number: int):
            body = self.mtop(api, page, job, name, {"beginDate": ymd(job.period.start), "endDate": ymd(job.period.end),
                                                     "pageSize": size, "pageIndex": number}, jsonp=True)
            data = dig(body, "data", where)
            return (dig_list(data, "result", where) if data else []), None

        conversations = all_pages(fetch, size, 0.0, where)
        zone = ZoneInfo(job.ds.timezone)
        start = datetime.combine(job.period.start, datetime.min.time(), zone)
        end_ms = int((start + timedelta(days=len(job.period.days()))).timestamp() * 1000)
        customers: dict[str, list[tuple[int, str, str]]] = {}
        for i, conv in enumerate(conversations):
            if i:
                time.sleep(float(report.get("conversation_pause_seconds", 0.4)))
            customer = str(dig(conv, "displayName", f"{where} item"))
            messages = self._messages(api, page, job, nick, conv, int(start.timestamp() * 1000), end_ms)
            customers.setdefault(customer, []).extend(messages)
        rows = [self._chat_row(customer, sorted(msgs), zone) for customer, msgs in customers.items()]
        return xlsx_bytes(["客户", "聊天记录", "消息数", "开始时间", "接待客服"], rows)

    def _messages(self, api, page, job, nick: str, conv: dict, cursor: int, end_ms: int) -> list:
        name = "mtop.taobao.wireless.amp2.im.paas.message.list"
        where = f"{job.label}: {name}"
        out = []
        while True:
            body = self.mtop(api, page, job, name, {
                "userNick": nick, "cid": str(dig(conv, "cid.appCid", f"{where} conversation")),
                "userId": str(dig(conv, "userID.appUid", f"{where} conversation")), "cursor": str(cursor),
                "forward": "true", "count": str(job.ds.report.get("message_count", 100)),
                "needRecalledContent": "true"}, jsonp=True)
            batch = dig_list(body, "data.userMessages", where)
            for msg in batch:
                sent = int(dig(msg, "sendTime", f"{where} message"))
                if sent < end_ms:
                    sender = msg.get("senderNick") or (msg.get("extMap") or {}).get("sender_nick") or ""
                    out.append((sent, str(sender), _message_text(msg.get("content"))))
            more = dig(body, "data.hasMore", where, default=False)
            next_cursor = dig(body, "data.nextCursor", where, default=None)
            if not batch or str(more).lower() != "true" or next_cursor in (None, "", cursor) \
                    or int(next_cursor) >= end_ms:
                return out
            cursor = int(next_cursor)

    @staticmethod
    def _chat_row(customer: str, messages: list, zone) -> list:
        def at(ms: int) -> str:
            return datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M:%S")

        lines = "\n".join(f"[{at(ms)}] {sender}: {text}" for ms, sender, text in messages)
        agents = [s for _, s, _ in messages if s and s != customer]
        return [customer, lines, len(messages), at(messages[0][0]) if messages else None,
                agents[0] if agents else None]


def _message_text(content) -> str:
    """Message content is a JSON string with `text`; other kinds keep their raw form."""
    if isinstance(content, str):
        try:
            parsed = json.loads(content)
        except ValueError:
            return content
        if isinstance(parsed, dict) and "text" in parsed:
            return str(parsed["text"])
    return "" if content is None else str(content)
