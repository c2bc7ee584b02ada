"""Checks that a downloaded (or hand-dropped) file really is the report.

A back-end that is busy answers with an HTML page (or a JSON error) and status 200; a
cut connection leaves half a zip. All must fail here, before anything is stored as the
raw partition.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass

from yd_platform.catalog import DatasetSpec
from yd_platform.collect.errors import BadReportFile, PermanentError

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script")


@dataclass(frozen=True)
class VerifiedReport:
    ext: str
    rows: int
    header: list[str]


def looks_like_html(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return any(head.startswith(m) for m in HTML_MARKERS) or b"<html" in head


def looks_like_json(data: bytes) -> bool:
    """A whole JSON document (an API's error answer), not a CSV that starts with a bracket."""
    if data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        return False
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


def sniff_ext(data: bytes, name: str = "report") -> str:
    if not data:
        raise BadReportFile(f"{name}: empty file")
    if looks_like_html(data):
        raise BadReportFile(f"{name}: an HTML page, not a report (the back-end answered with an error page)",
                            body=data)
    if looks_like_json(data):
        raise BadReportFile(f"{name}: a JSON answer, not a report: {data[:200].decode('utf-8', 'replace')}",
                            body=data)
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if data.startswith(XLS_MAGIC):
        return "xls"
    try:
        data[:4096].decode("utf-8-sig")
        return "csv"
    except UnicodeDecodeError:
        try:
            data[:4096].decode("gb18030")
            return "csv"
        except UnicodeDecodeError:
            raise BadReportFile(f"{name}: neither xlsx, xls nor csv (starts with {data[:8]!r})") from None


def _sheet_rows(data: bytes, ext: str, name: str) -> list[list]:
    if ext == "xlsx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
        except zipfile.BadZipFile as exc:
            raise BadReportFile(f"{name}: truncated or corrupt xlsx ({exc})") from None
        if bad:
            raise BadReportFile(f"{name}: corrupt xlsx member {bad}")
    if ext in ("xlsx", "xls"):
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            return book.get_sheet_by_index(0).to_python(skip_empty_area=True)
        except Exception as exc:  # noqa: BLE001 - calamine raises several types
            raise BadReportFile(f"{name}: unreadable {ext} ({exc.__class__.__name__}: {exc})") from None
    text = data.decode("utf-8-sig") if _utf8(data) else data.decode("gb18030")
    return [row for row in csv.reader(io.StringIO(text)) if row]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8-sig")
        return True
    except UnicodeDecodeError:
        return False


def verify_report(data: bytes, ds: DatasetSpec, name: str = "report") -> VerifiedReport:
    """The file's type, data-row count and header; `BadReportFile` names what is wrong."""
    ext = sniff_ext(data, name)
    rows = _sheet_rows(data, ext, name)
    if not rows:
        raise BadReportFile(f"{name}: no header row")
    header = [str(c).strip() for c in rows[0]]
    known = {alias: c.name for c in ds.columns for alias in [c.name, *c.aliases]}
    found = {known[h] for h in header if h in known}
    missing = [c.aliases[0] if c.aliases else c.name for c in ds.columns if c.required and c.name not in found]
    if ds.columns and not found:
        raise PermanentError(f"{name}: header {header[:8]} has none of the {ds.slug} columns")
    if missing:
        raise PermanentError(f"{name}: header misses required columns {missing} (got {header[:12]})")
    return VerifiedReport(ext, len(rows) - 1, header)
