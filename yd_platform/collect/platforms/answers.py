"""Reading the back-ends' JSON answers, paging through lists, writing our own reports.

Several "reports" are really paged JSON list APIs (Pinduoduo reviews and quality, the
Tmall after-sales list, reviews and chats); their collectors read every page and
write the rows to an xlsx with stable headers: each catalog column's first alias,
its value taken from the item at the column's `field`. A back-end that changed its
answer fails with `AnswerShapeError` naming the field that is gone, instead of a
KeyError deep inside a flow.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from yd_platform.catalog import ColumnSpec, DatasetSpec, load_catalog
from yd_platform.collect.errors import PermanentError

MISSING = object()


class AnswerShapeError(PermanentError):
    """The back-end's answer no longer has the shape the flow reads."""


def dig(body: Any, path: str, where: str, default: Any = MISSING) -> Any:
    """The value at dotted `path` of `body`; missing: `default`, else `AnswerShapeError`."""
    current = body
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
            continue
        if default is not MISSING:
            return default
        found = sorted(map(str, current))[:15] if isinstance(current, Mapping) else type(current).__name__
        raise AnswerShapeError(f"{where}: the answer has no field '{path}' (no '{part}'; found {found}); "
                               "the back-end changed its answer")
    return current


def dig_list(body: Any, path: str, where: str) -> list:
    value = dig(body, path, where)
    if value is None:
        return []
    if not isinstance(value, list):
        raise AnswerShapeError(f"{where}: field '{path}' is a {type(value).__name__}, not a list; "
                               "the back-end changed its answer")
    return value


def dig_int(body: Any, path: str, where: str) -> int:
    value = dig(body, path, where)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnswerShapeError(f"{where}: field '{path}' is {value!r}, not a number; "
                               "the back-end changed its answer") from None


def all_pages(fetch: Callable[[int], tuple[list, int | None]], page_size: int, pause_seconds: float,
              where: str, max_pages: int = 500) -> list:
    """Every item of a paged list. `fetch(page)` (1-based) returns the page's items and the
    total when the answer states one; without a total a short page is the last one."""
    items: list = []
    page = 1
    while True:
        got, total = fetch(page)
        items.extend(got)
        last = (len(items) >= total or not got) if total is not None else len(got) < page_size
        if last:
            return items
        if page >= max_pages:
            raise PermanentError(f"{where}: more than {max_pages} pages of {page_size}; stopped")
        page += 1
        time.sleep(pause_seconds)


def shop_backend(job, *names: str) -> dict[str, Any]:
    """The shop's back-end settings (`backend:` of its catalog record) that the flow needs."""
    platform = load_catalog().platforms.get(job.ds.platform)
    shop = next((s for s in platform.shops if s.id == job.shop), None) if platform else None
    backend = dict(shop.backend) if shop else {}
    missing = [n for n in names if backend.get(n) in (None, "")]
    if missing:
        raise PermanentError(f"{job.label}: shop {job.shop} has no back-end setting {missing} "
                             f"(set it under the shop's `backend:` in platforms.yaml, platform {job.ds.platform})")
    return backend


def shop_name(job) -> str:
    platform = load_catalog().platforms.get(job.ds.platform)
    shop = next((s for s in platform.shops if s.id == job.shop), None) if platform else None
    return shop.name if shop else job.shop


def written_columns(ds: DatasetSpec) -> list[ColumnSpec]:
    """The columns the collector writes: those with a `field`."""
    return [c for c in ds.columns if c.field]


def header_of(col: ColumnSpec) -> str:
    return col.aliases[0] if col.aliases else col.name


def field_value(item: Any, field: str, context: Mapping[str, Any], tz: str) -> Any:
    """The value a column takes from one list item.

    `a.b` walks objects, `a[].b` joins the `b` of every element of list `a` with
    newlines, `@name` is a value of the collection (`@date`, `@shop_name`) and a
    `|ms` suffix turns epoch milliseconds into local time.
    """
    path, _, transform = field.partition("|")
    if path.startswith("@"):
        return context[path[1:]]
    head, sep, rest = path.partition("[].")
    value = dig(item, head, "item", default=None)
    if sep:
        value = "\n".join(str(dig(v, rest, "item", default="")) for v in value or [] if v is not None) or None
    if transform == "ms" and value not in (None, ""):
        value = datetime.fromtimestamp(int(value) / 1000, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
    return value


def rows_from_items(ds: DatasetSpec, items: list, context: Mapping[str, Any], where: str) -> list[list]:
    """One row per item in the order of `written_columns`; an item without a required
    column's field means the answer changed shape."""
    columns = written_columns(ds)
    rows = []
    for item in items:
        row = []
        for col in columns:
            if col.required and not col.field.startswith("@"):
                dig(item, col.field.partition("|")[0].partition("[]")[0], f"{where} item")
            row.append(field_value(item, col.field, context, ds.timezone))
        rows.append(row)
    return rows


def xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    """A one-sheet xlsx (Sheet1, header in row 1), the layout the merge reads. Text
    starting with `=` stays text (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(header)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(value)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def items_report(ds: DatasetSpec, items: list, context: Mapping[str, Any], where: str) -> bytes:
    """The list items as the dataset's xlsx (headers: the written columns' first aliases)."""
    return xlsx_bytes([header_of(c) for c in written_columns(ds)], rows_from_items(ds, items, context, where))
