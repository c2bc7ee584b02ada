"""Deterministic sample data of the demo back-ends, per shop and day.

Two kinds, as on the real back-ends:

- report files (`report_xlsx`): the xlsx a back-end exports (Pinduoduo KPI, Tmall
  self-made report, JD inventory, ERP exports), headed by each catalog column's first
  alias;
- JSON list items in the back-ends' own shapes (Pinduoduo reviews and quality, Tmall
  after-sales list, reviews, conversations and messages). These shapes are written
  here from the reference notes, not derived from the catalog's `field`s, so the
  collectors' parsing is tested against an independent picture of the answers.

The same inputs always give the same data.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from yd_platform.catalog import ColumnSpec, DatasetSpec

ZONE = ZoneInfo("Asia/Shanghai")


def _rng(*parts: object) -> random.Random:
    seed = int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")
    return random.Random(seed)


def _value(col: ColumnSpec, rng: random.Random, i: int, shop: str, day: date):
    if col.key:
        return f"{shop}-{col.name}-{day:%Y%m%d}-{i:05d}"
    if col.type == "int":
        return rng.randint(1, 5) if col.name == "score" else rng.randint(0, 500)
    if col.type == "float":
        if "rate" in col.name:
            return round(rng.uniform(0.01, 0.6), 4)
        return round(rng.uniform(1, 5000), 2)
    if col.type == "date":
        return day.isoformat()
    if col.type == "datetime":
        moment = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(0, 86399))
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if col.type == "bool":
        return rng.random() < 0.5
    return f"{col.name}_{rng.randint(1, 40):02d}"


def header(ds: DatasetSpec) -> list[str]:
    """The back-end's header row: the first alias of each column (or its name)."""
    return [c.aliases[0] if c.aliases else c.name for c in ds.columns]


def report_rows(ds: DatasetSpec, shop: str, period_key: str, rows: int | None = None) -> list[list]:
    """Rows of one shop's report file for one period (same inputs, same rows)."""
    rng = _rng(ds.platform, ds.code, shop, period_key)
    try:
        day = date.fromisoformat(period_key)
    except ValueError:
        day = date.fromisoformat(f"{period_key}-01")
    count = rows if rows is not None else rng.randint(20, 60)
    return [[_value(c, rng, i, shop, day) for c in ds.columns] for i in range(count)]


def report_xlsx(ds: DatasetSpec, shop: str, period_key: str, rows: int | None = None) -> bytes:
    """The report as an .xlsx file, as the back-end would serve it."""
    import io

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(header(ds))
    for row in report_rows(ds, shop, period_key, rows):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _ms(day: date, rng: random.Random, latest: int = 86399) -> int:
    moment = datetime.combine(day, datetime.min.time(), ZONE) + timedelta(seconds=rng.randint(0, latest))
    return int(moment.timestamp() * 1000)


# -- Pinduoduo ----------------------------------------------------------------------
def pdd_reviews(account: str, day: date) -> list[dict]:
    """The day's 1-3 star reviews as /saturn/reviews/list items (2-3 pages of 40)."""
    rng = _rng("pdd-reviews", account, day)
    items = []
    for i in range(rng.randint(41, 110)):
        goods = rng.randint(100000, 999999)
        items.append({
            "descScore": rng.randint(1, 3), "comment": f"商品与描述不符 {i}",
            "orderSn": f"{day:%y%m%d}-{rng.randint(10**14, 10**15 - 1)}",
            # a goods name that starts like a formula must stay text in the xlsx
            "name": "=热销款 T恤" if i == 0 else f"夏季新款 {goods % 97}",
            "goodsId": goods, "goodsInfoUrl": f"https://mobile.yangkeduo.com/goods.html?goods_id={goods}",
            "pictures": [{"url": f"https://img.pddpic.com/review/{goods}-{k}.jpeg"} for k in range(rng.randint(0, 3))],
            "reviewId": rng.randint(10**9, 10**10), "createTime": _ms(day, rng) // 1000,
        })
    return items


def pdd_quality(account: str, day: date) -> list[dict]:
    """The goods list of the quality experience page (a snapshot, 2-3 pages of 40)."""
    rng = _rng("pdd-quality", account, day)
    return [{
        "goods_id": 500000 + i, "goods_name": f"商品 {i}", "img_url": f"https://img.pddpic.com/goods/{i}.jpeg",
        "rank_percent": f"前{rng.randint(1, 99)}%", "abnormal_order_num": rng.randint(0, 30),
        "abnormal_order_ratio": round(rng.uniform(0, 0.08), 4), "right_status": rng.choice(["已获得", "未获得"]),
        "quality_level": rng.choice(["优秀", "良好", "一般"]),
        "quality_help_rate_last30_days": round(rng.uniform(0, 0.05), 4),
        "goods_rating_rank": f"前{rng.randint(1, 99)}%", "repeat_purchase_ratio": round(rng.uniform(0, 0.5), 4),
    } for i in range(rng.randint(41, 100))]


# -- Tmall --------------------------------------------------------------------------
def _metric(value) -> dict:
    return {"value": value, "cycleCrc": None}


def tm_aftersale(account: str, day: date) -> dict:
    """The 售后解决分析 list: totals, averages and one row per agent (2-3 pages of 10)."""
    rng = _rng("tm-aftersale", account, day)
    agents = [{"psnNickName": _metric(f"客服{i:02d}"), "aftSaleRplyUv": _metric(rng.randint(0, 80)),
               "fstUnsolvUv": _metric(rng.randint(0, 10)), "fcr72Rate": _metric(round(rng.uniform(0.5, 1), 4))}
              for i in range(rng.randint(11, 27))]
    total = sum(a["aftSaleRplyUv"]["value"] for a in agents)
    unsolved = sum(a["fstUnsolvUv"]["value"] for a in agents)
    return {
        "sumResult": {"aftSaleRplyUv": _metric(total), "fstUnsolvUv": _metric(unsolved)},
        "avgResult": {"aftSaleRplyUv": _metric(round(total / len(agents), 2)),
                      "fstUnsolvUv": _metric(round(unsolved / len(agents), 2)),
                      "fcr72Rate": _metric(round(sum(a["fcr72Rate"]["value"] for a in agents) / len(agents), 4))},
        "data": agents,
    }


def tm_reviews(account: str, day: date) -> list[dict]:
    """Negative reviews as mtop.rm.sellercenter.list.data.pc `dataSource` items (2-3 pages of 20)."""
    rng = _rng("tm-reviews", account, day)
    items = []
    for i in range(rng.randint(21, 55)):
        item_id = rng.randint(10**11, 10**12)
        append = {"feedId": str(rng.randint(10**12, 10**13)), "content": "追评：还是不好用", "date": _ms(day, rng)} \
            if i % 4 == 0 else {}
        items.append({
            "rateContent": {
                "mainRate": {"feedId": str(10**13 + i), "content": f"质量一般 {i}", "date": _ms(day, rng),
                             "mediaList": [{"uiType": "image", "thumbnail": f"//img.alicdn.com/rate/{item_id}-{k}.jpg"}
                                           for k in range(rng.randint(0, 2))],
                             "expression": [{"content": "失望"}]},
                "appendRate": append},
            "itemInfo": {"itemId": str(item_id), "title": f"天猫商品 {item_id % 1000}",
                         "link": f"https://detail.tmall.com/item.htm?id={item_id}"},
            "userInfo": {"userName": f"t**{i}", "userStar": rng.choice(["1", "2", "3"]), "isForeigner": "false"},
            "orderInfo": {"orderId": str(rng.randint(10**17, 10**18))},
            "emotionType": {"status": "negative", "appendRateStatus": "negative" if append else ""},
            "operator": {"dataSource": [{"params": {"feedbackID": str(rng.randint(10**8, 10**9))}}]},
        })
    return items


def tm_conversations(account: str, day: date) -> list[dict]:
    """The day's conversations as conversation.list `result` items."""
    rng = _rng("tm-conversations", account, day)
    out = []
    for i in range(rng.randint(3, 7)):
        created = _ms(day, rng, latest=80000)  # the whole chat falls on the day
        out.append({"bizType": "11001", "cid": {"appCid": f"{account}-{day:%Y%m%d}-{i}", "domain": "cntaobao"},
                    "userID": {"appUid": str(2200000000 + i)}, "displayName": f"买家{i % 5:02d}",
                    "createTime": created, "modifyTime": created + 60000})
    return out


def tm_messages(account: str, day: date, conversation: dict, agent: str) -> list[dict]:
    """One conversation's messages of the day, oldest first (several cursor pages)."""
    rng = _rng("tm-messages", account, day, conversation["cid"]["appCid"])
    start = conversation["createTime"]
    customer = conversation["displayName"]
    out = []
    for i in range(rng.randint(3, 9)):
        mine = i % 2 == 1
        out.append({"sendTime": start + i * 45000, "msgType": 1,
                    "content": json.dumps({"text": f"{'您好，请问有什么可以帮您' if mine else '在吗'} ({i})"},
                                          ensure_ascii=False),
                    "senderNick": agent if mine else customer, "receiverNick": customer if mine else agent})
    return out
