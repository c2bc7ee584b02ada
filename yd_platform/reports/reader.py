"""Read one shop's report file (xlsx/xls/xlsb/ods through fastexcel, or csv) into its
header row and Arrow columns of the data rows below it.

Finding the header needs only the top rows: for xlsx they are streamed from the sheet's
XML (and the shared strings up to the last one they use), so the sheet is parsed once,
by fastexcel (calamine in Rust), straight into Arrow. Each data row keeps its Excel row
number so every later error can point at the cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yd_platform.reports.errors import BadShopFile
from yd_platform.reports.headers import HEADER_SCAN_ROWS, HeaderRow, Row, find_header

CALAMINE_EXTS = {"xlsx", "xlsm", "xls", "xlsb", "ods"}
ZIP_EXTS = {"xlsx", "xlsm", "ods"}
XLSX_EXTS = {"xlsx", "xlsm"}
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

Source = Path | bytes

# fastexcel logs a warning for every all-empty column it reads as text; that is expected here.
logging.getLogger("fastexcel").setLevel(logging.ERROR)


@dataclass
class ShopSheet:
    """A readable shop file: its header and the non-blank data rows below it.

    `columns` maps a 0-based column index to that column's cells; `rows` holds the
    1-based Excel row number of each data row. `header` is None for a sheet without a
    single cell (back-ends export that on days without data).
    """

    file: str
    sheet: str
    header: HeaderRow | None
    columns: dict[int, pa.Array] = field(default_factory=dict)
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def blank(self) -> bool:
        return self.header is None

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where `mask` is true."""
        if mask.all():
            return
        arrow_mask = pa.array(mask)
        self.columns = {i: pc.filter(a, arrow_mask) for i, a in self.columns.items()}
        self.rows = self.rows[mask]


def file_ext(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def open_report(source: Source, name: str, known_headers: set[str], ext: str | None = None) -> ShopSheet:
    """Open `source` (a path, or the file's bytes; named `name` in messages), find its
    header and read the data rows below it. Raises BadShopFile."""
    data_len = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    if data_len == 0:
        raise BadShopFile(name, "empty file (0 bytes)")
    ext = ext or file_ext(name)
    if ext in CALAMINE_EXTS:
        sheet = _read_workbook(source, name, ext, known_headers)
    elif ext in ("csv", "txt"):
        sheet = _read_csv(source, name, known_headers)
    else:
        raise BadShopFile(name, f"unsupported file type {ext!r} (expected xlsx, xls or csv)")
    sheet.keep(non_blank_rows(sheet.columns, len(sheet.rows)))
    return sheet


def non_blank_rows(columns: dict[int, pa.Array], n: int) -> np.ndarray:
    """Mask of rows with at least one cell (empty and whitespace-only cells arrive as null)."""
    filled = np.zeros(n, dtype=bool)
    for array in columns.values():
        if array.null_count < len(array):
            filled |= pc.is_valid(array).to_numpy(zero_copy_only=False)
    return filled


def _head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:8]
    with Path(source).open("rb") as fh:
        return fh.read(8)


def _read_workbook(source: Source, name: str, ext: str, known: set[str]) -> ShopSheet:
    import fastexcel

    head = _head(source)
    zipped = zipfile.is_zipfile(io.BytesIO(source) if isinstance(source, bytes) else source)
    if ext in ZIP_EXTS and not zipped:
        raise BadShopFile(name, f"corrupt {ext} file: not a zip archive (starts with {head!r}); "
                                "the download was cut off or is not a spreadsheet")
    if ext == "xls" and not head.startswith(XLS_MAGIC):
        raise BadShopFile(name, f"corrupt xls file (starts with {head!r})")
    try:
        reader = fastexcel.read_excel(source if isinstance(source, bytes) else str(source))
        if not reader.sheet_names:
            raise BadShopFile(name, "empty file: the workbook has no sheets")
        sheet_name = reader.sheet_names[0]
        top = _xlsx_top_rows(source) if ext in XLSX_EXTS else None
        if top is None:
            top = _fastexcel_top_rows(reader)
        header = find_header(top, known)
        if header is None:
            return ShopSheet(name, sheet_name, None)
        try:
            loaded = reader.load_sheet(0, header_row=None, skip_rows=header.row, schema_sample_rows=None,
                                       dtype_coercion="coerce", whitespace_as_null=True)
        except fastexcel.InvalidParametersError:  # nothing below the header
            return ShopSheet(name, sheet_name, header)
        batch = loaded.to_arrow()
        index = [c.absolute_index for c in loaded.selected_columns]
    except BadShopFile:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine, zip and XML errors alike mean a corrupt file
        raise BadShopFile(name, f"corrupt {ext} file: {exc.__class__.__name__}: {_first_line(exc)}") from None
    columns = {index[i]: batch.column(i) for i in range(batch.num_columns)}
    return ShopSheet(name, sheet_name, header, columns,
                     header.row + 1 + np.arange(batch.num_rows, dtype=np.int64))


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


def _fastexcel_top_rows(reader) -> list[Row]:
    """The top rows as text through fastexcel (xls, xlsb, ods: a second read of a rarer format)."""
    sheet = reader.load_sheet(0, header_row=None, skip_rows=0, n_rows=HEADER_SCAN_ROWS * 3, dtypes="string")
    batch = sheet.to_arrow()
    index = [c.absolute_index for c in sheet.available_columns()]
    values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
    return [(r + 1, {index[c]: values[c][r] for c in range(len(values)) if values[c][r] is not None})
            for r in range(batch.num_rows)]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column_index(ref: str) -> int:
    index = 0
    for ch in ref:
        if not ch.isalpha():
            break
        index = index * 26 + ord(ch.upper()) - 64
    return index - 1


def _xlsx_parts(zf: zipfile.ZipFile) -> tuple[str, str | None]:
    """Paths of the first sheet's XML and of the shared strings, through the workbook's rels."""
    sheet_id = None
    with zf.open("xl/workbook.xml") as fh:
        for _, elem in ET.iterparse(fh):
            if _local(elem.tag) == "sheet":
                sheet_id = next((v for k, v in elem.attrib.items() if _local(k) == "id"), None)
                break
    targets: dict[str, tuple[str, str]] = {}
    with zf.open("xl/_rels/workbook.xml.rels") as fh:
        for _, elem in ET.iterparse(fh):
            if _local(elem.tag) == "Relationship":
                target = elem.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                targets[elem.get("Id", "")] = (elem.get("Type", "").rsplit("/", 1)[-1], target)
    sheet = targets.get(sheet_id, ("worksheet", "xl/worksheets/sheet1.xml"))[1]
    shared = next((t for kind, t in targets.values() if kind == "sharedStrings"), None)
    return sheet, shared


def _xlsx_top_rows(source: Source) -> list[Row] | None:
    """The first rows holding a value, streamed from the sheet XML without reading the rest;
    None when the XML is not strictly well-formed (calamine, more lenient, reads those)."""
    try:
        return _xlsx_stream_top_rows(source)
    except (ET.ParseError, KeyError, ValueError):
        return None


def _xlsx_stream_top_rows(source: Source) -> list[Row]:
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
        sheet_part, shared_part = _xlsx_parts(zf)
        rows: list[Row] = []
        shared_refs: list[tuple[dict, int, int]] = []
        with zf.open(sheet_part) as fh:
            for _, elem in ET.iterparse(fh):
                if _local(elem.tag) != "row":
                    continue
                number = int(elem.get("r") or (rows[-1][0] + 1 if rows else 1))
                cells: dict[int, object] = {}
                filled = False
                for position, cell in enumerate(elem):
                    ref = cell.get("r")
                    column = _column_index(ref) if ref else position
                    value = _xlsx_value(cell)
                    if isinstance(value, tuple):
                        shared_refs.append((cells, column, value[1]))
                    elif value is not None:
                        cells[column] = value
                    filled = filled or value is not None
                elem.clear()
                if filled:
                    rows.append((number, cells))
                if len(rows) >= HEADER_SCAN_ROWS * 3:
                    break
        if shared_refs and shared_part:
            strings = _shared_strings(zf, shared_part, max(i for _, _, i in shared_refs))
            for cells, column, i in shared_refs:
                if i < len(strings):
                    cells[column] = strings[i]
    return [(number, dict(sorted(cells.items()))) for number, cells in rows]


def _xlsx_value(cell: ET.Element):
    kind = cell.get("t", "n")
    texts = [e.text or "" for e in cell.iter() if _local(e.tag) == "t"]
    raw = next((e.text for e in cell if _local(e.tag) == "v"), None)
    if kind == "inlineStr":
        return "".join(texts)
    if raw is None or kind == "e":
        return None
    if kind == "s":
        return ("shared", int(raw))
    if kind in ("str", "d"):
        return raw
    if kind == "b":
        return raw == "1"
    try:
        return float(raw)
    except ValueError:
        return raw


def _shared_strings(zf: zipfile.ZipFile, part: str, last: int) -> list[str]:
    """Shared strings 0..last (the rest of a large table is never parsed)."""
    out: list[str] = []
    with zf.open(part) as fh:
        for _, elem in ET.iterparse(fh):
            if _local(elem.tag) != "si":
                continue
            out.append("".join(e.text or "" for e in elem.iter()
                               if _local(e.tag) == "t" and not _in_phonetic(elem, e)))
            elem.clear()
            if len(out) > last:
                break
    return out


def _in_phonetic(si: ET.Element, t: ET.Element) -> bool:
    return any(_local(p.tag) == "rPh" and t in list(p) for p in si)


def _csv_encoding(data: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        decoder.decode(data, final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def _read_csv(source: Source, name: str, known: set[str]) -> ShopSheet:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        text = data.decode(_csv_encoding(data))
        records = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadShopFile(name, f"unreadable csv ({exc})", sheet="csv") from None
    top = [(n, {i: v for i, v in enumerate(row) if v != ""}) for n, row in records[: HEADER_SCAN_ROWS * 3]]
    header = find_header(top, known)
    if header is None:
        return ShopSheet(name, "csv", None)
    body = [(n, row) for n, row in records if n > header.row]
    width = max((len(row) for _, row in body), default=0)
    columns = {i: pa.array([row[i] if i < len(row) and row[i].strip() else None for _, row in body], pa.string())
               for i in range(width)}
    return ShopSheet(name, "csv", header, columns, np.array([n for n, _ in body], dtype=np.int64))
