"""Checks that a downloaded (or hand-dropped) file really is the report.

A back-end that is busy answers with an HTML page (or a JSON error) and status 200; a
cut connection leaves half a zip. All must fail here, before anything is stored as the
raw partition.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

from yd_platform.catalog import DatasetSpec
from yd_platform.collect.errors import BadReportFile, PermanentError
from yd_platform.reports.errors import BadShopFile
from yd_platform.reports.headers import alias_map
from yd_platform.reports.reader import open_report
from yd_platform.reports.shop_table import checked_header

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script")


@dataclass(frozen=True)
class VerifiedReport:
    ext: str
    rows: int
    header: list[str]
    header_row: int = 1


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


def verify_report(data: bytes, ds: DatasetSpec, name: str = "report") -> VerifiedReport:
    """The file's type, data-row count and header; `BadReportFile` names what is wrong.

    The header is found by the merge's own routine (a title row above it is fine), so a
    report passes here exactly when the merge can read its columns.
    """
    ext = sniff_ext(data, name)
    if ext == "xlsx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
        except zipfile.BadZipFile as exc:
            raise BadReportFile(f"{name}: truncated or corrupt xlsx ({exc})") from None
        if bad:
            raise BadReportFile(f"{name}: corrupt xlsx member {bad}")
    try:
        sheet = open_report(data, name, set(alias_map(ds)), ext=ext)
    except BadShopFile as exc:
        raise BadReportFile(f"{name}: unreadable {ext} ({exc.problem})") from None
    if sheet.blank:
        raise BadReportFile(f"{name}: no header row")
    try:
        checked_header(ds, sheet)
    except BadShopFile as exc:
        raise PermanentError(str(exc)) from None
    return VerifiedReport(ext, len(sheet.rows), sheet.header.texts, sheet.header.row)
