"""Streaming writer of the merged Excel file.

Cell-by-cell Python writers (openpyxl, xlsxwriter) manage ~100k cells/s, which makes a
5-million-row partition a ten-minute job. Here each column of an arrow table is turned
into its SpreadsheetML fragments with pyarrow compute, rows are joined in C++, and the
XML goes straight into the zip entry of the sheet: rows reach the disk as they come and
memory stays flat.

An xlsx sheet holds at most 1,048,576 rows; a partition bigger than that continues on
sheets named `<name> (2)`, `<name> (3)`, ... each with the header row repeated.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_TEXT = 32_767
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
# Characters XML 1.0 forbids (controls other than tab/newline/return, U+FFFE, U+FFFF; lone
# surrogates cannot occur in valid UTF-8). One of them makes the whole workbook unreadable,
# so each becomes U+FFFD in the Excel file; the parquet keeps the text as it came.
XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"
XML_REPLACEMENT = "\ufffd"
TEXT_SPECIAL = r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"
DAY_MS = 86_400_000
EXCEL_EPOCH_OFFSET_DAYS = 25569  # 1899-12-30 .. 1970-01-01
SLICE_ROWS = 50_000
STYLE_DATE, STYLE_DATETIME, STYLE_HEADER = 1, 2, 3

SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
              'state="frozen"/></sheetView></sheetViews><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"
STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
          '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
          '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
          '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
          '<fills count="2"><fill><patternFill patternType="none"/></fill>'
          '<fill><patternFill patternType="gray125"/></fill></fills>'
          '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
          '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
          '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
          '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
          '</styleSheet>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
             'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')


def sheet_title(base: str, number: int) -> str:
    base = SHEET_NAME_BAD.sub("_", base).strip() or "data"
    suffix = "" if number == 1 else f" ({number})"
    return base[: 31 - len(suffix)] + suffix


def _wrap(values: pa.Array, head: str, tail: str) -> pa.Array:
    """`head + value + tail` per row; a null becomes an empty cell."""
    return pc.fill_null(pc.binary_join_element_wise(head, values, tail, ""), "<c/>")


def _text_cells(column: pa.Array) -> pa.Array:
    text = column
    if len(text) and (pc.max(pc.binary_length(text)).as_py() or 0) > XLSX_MAX_TEXT:
        text = pc.utf8_slice_codeunits(text, 0, XLSX_MAX_TEXT)
    if pc.any(pc.match_substring_regex(text, TEXT_SPECIAL)).as_py():
        text = pc.replace_substring_regex(text, XML_ILLEGAL, XML_REPLACEMENT)
        for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
            text = pc.replace_substring(text, raw, entity)
    return _wrap(text, '<c t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>")


def _serial_text(column: pa.Array) -> pa.Array:
    """Excel serial day numbers of timestamps, as text with 8 decimals (integer arithmetic)."""
    millis = pc.cast(pc.cast(column, pa.timestamp("ms", tz=column.type.tz)), pa.int64())
    since = pc.add(millis, EXCEL_EPOCH_OFFSET_DAYS * DAY_MS)
    if (pc.min(since).as_py() or 0) < 0:  # before 1899-12-30: Excel has no such day anyway
        serial = pc.add(pc.divide(pc.cast(millis, pa.float64()), float(DAY_MS)), float(EXCEL_EPOCH_OFFSET_DAYS))
        return pc.cast(pc.round(serial, 8), pa.string())
    days = pc.divide(since, DAY_MS)
    fraction = pc.divide(pc.add(pc.multiply(pc.subtract(since, pc.multiply(days, DAY_MS)), 10**8), DAY_MS // 2),
                         DAY_MS)
    return pc.binary_join_element_wise(pc.cast(days, pa.string()),
                                       pc.utf8_lpad(pc.cast(fraction, pa.string()), 8, "0"), ".")


def column_cells(column: pa.Array) -> pa.Array | str:
    """The `<c>` elements of one column, one string per row (one string for a column
    holding the same value in every row, such as the shop or the period)."""
    if len(column) > 1 and not column.null_count and pc.all(pc.equal(column, column[0])).as_py():
        return column_cells(column.slice(0, 1))[0].as_py()
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _text_cells(column)
    if pa.types.is_boolean(kind):
        return _wrap(pc.cast(pc.cast(column, pa.int8()), pa.string()), '<c t="b"><v>', "</v></c>")
    if pa.types.is_integer(kind):
        return _wrap(pc.cast(column, pa.string()), "<c><v>", "</v></c>")
    if pa.types.is_floating(kind):
        finite = pc.if_else(pc.is_finite(column), column, pa.scalar(None, kind))
        return _wrap(pc.cast(finite, pa.string()), "<c><v>", "</v></c>")
    if pa.types.is_date(kind):
        days = pc.add(pc.cast(pc.cast(column, pa.date32()), pa.int32()), EXCEL_EPOCH_OFFSET_DAYS)
        return _wrap(pc.cast(days, pa.string()), f'<c s="{STYLE_DATE}"><v>', "</v></c>")
    if pa.types.is_timestamp(kind):
        return _wrap(_serial_text(column), f'<c s="{STYLE_DATETIME}"><v>', "</v></c>")
    return column_cells(pc.cast(column, pa.string()))


def rows_xml(table: pa.Table) -> memoryview:
    """`<row>...</row>` for every row of `table`, concatenated (a view on Arrow's buffer)."""
    cells = [column_cells(table.column(i).combine_chunks()) for i in range(table.num_columns)]
    rows = pc.binary_join_element_wise("<row>", *cells, "</row>", "")
    if isinstance(rows, pa.Scalar):  # every column holds one value
        rows = pa.array([rows.as_py()] * table.num_rows, pa.string())
    width = np.int64 if pa.types.is_large_string(rows.type) else np.int32
    offsets = np.frombuffer(rows.buffers()[1], dtype=width)[rows.offset: rows.offset + len(rows) + 1]
    return memoryview(rows.buffers()[2])[offsets[0]: offsets[-1]]


class ExcelSink:
    """Append arrow tables; one sheet per `max_rows` rows (header included)."""

    def __init__(self, path: str | Path, sheet_name: str, headers: list[str], max_rows: int = XLSX_MAX_ROWS):
        if max_rows < 2:
            raise ValueError("max_rows must leave room for the header and one row")
        self.path = Path(path)
        self.sheet_name = sheet_name
        self.header_xml = "<row>" + "".join(
            f'<c t="inlineStr" s="{STYLE_HEADER}"><is><t>{escape(h)}</t></is></c>' for h in headers) + "</row>"
        self.data_rows_per_sheet = max_rows - 1
        self.zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.sheets: list[str] = []
        self.rows = 0
        self._entry = None
        self._in_sheet = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._end_sheet()
        self.sheets.append(sheet_title(self.sheet_name, len(self.sheets) + 1))
        self._entry = self.zip.open(f"xl/worksheets/sheet{len(self.sheets)}.xml", "w", force_zip64=True)
        self._entry.write((SHEET_HEAD + self.header_xml).encode())
        self._in_sheet = 0

    def _end_sheet(self) -> None:
        if self._entry is not None:
            self._entry.write(SHEET_TAIL.encode())
            self._entry.close()
            self._entry = None

    def append(self, table: pa.Table) -> None:
        start = 0
        while start < table.num_rows:
            if self._in_sheet >= self.data_rows_per_sheet:
                self._new_sheet()
            take = min(SLICE_ROWS, table.num_rows - start, self.data_rows_per_sheet - self._in_sheet)
            self._entry.write(rows_xml(table.slice(start, take)))
            self._in_sheet += take
            self.rows += take
            start += take

    def close(self) -> None:
        self._end_sheet()
        n = len(self.sheets)
        sheets = "".join(f'<sheet name="{escape(t, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, t in enumerate(self.sheets, 1))
        self.zip.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f"<sheets>{sheets}</sheets></workbook>"))
        rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
        rels += (f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 'relationships/styles" Target="styles.xml"/>')
        self.zip.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>"))
        self.zip.writestr("xl/styles.xml", STYLES)
        self.zip.writestr("_rels/.rels", ROOT_RELS)
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
        self.zip.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>"))
        self.zip.close()

    def discard(self) -> None:
        """Drop the half-written workbook of a merge that failed."""
        try:
            if self._entry is not None:
                self._entry.close()
            self.zip.close()
        except Exception:  # noqa: BLE001, S110 - best effort on a failure path
            pass
        self.path.unlink(missing_ok=True)
