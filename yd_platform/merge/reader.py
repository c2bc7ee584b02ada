"""Read one shop's raw report file (xlsx/xls/xlsb/ods through python-calamine, or csv)
into a header and an iterator of numbered data rows.

Only one file is open at a time and rows are handed out lazily, so the merge's memory
is bounded by the largest single shop file, not by the partition.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from yd_platform.merge.errors import BadShopFile

CALAMINE_EXTS = {"xlsx", "xlsm", "xls", "xlsb", "ods"}
ZIP_EXTS = {"xlsx", "xlsm", "ods"}
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HEADER_SCAN_ROWS = 20


@dataclass
class RawSheet:
    """A readable shop file: where its header is and the data rows below it.

    `rows` yields (excel_row_number, cells); numbers are 1-based as Excel shows them.
    """

    file: str
    sheet: str
    header_row: int
    header: list[str]
    rows: Iterator[tuple[int, list]]

    @property
    def blank(self) -> bool:
        """A sheet without a single cell: back-ends export this on days without data."""
        return not self.header


def cell_text(value) -> str:
    """A header cell as text, without the stray spaces/newlines exports carry."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\ufeff", "").replace("\u3000", " ").replace("\n", "").strip()


def _is_blank(row: list) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def open_raw_file(path: str | Path, name: str, known_headers: set[str]) -> RawSheet:
    """Open `path` (named `name` in messages) and locate its header row.

    The header is the first of the top rows that holds a known header; if none does, the
    first non-blank row (so a missing-column error shows what the file has instead).
    A 0-byte file is an error; a sheet without any cell is a report with no rows.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise BadShopFile(name, "empty file (0 bytes)")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in CALAMINE_EXTS:
        sheet, numbered = _calamine_rows(path, name, ext)
    elif ext in ("csv", "txt"):
        sheet, numbered = "csv", _csv_rows(path, name)
    else:
        raise BadShopFile(name, f"unsupported file type {ext!r} (expected xlsx, xls or csv)")

    scanned: list[tuple[int, list]] = []
    header_at: tuple[int, list] | None = None
    for number, cells in numbered:
        if _is_blank(cells):
            continue
        scanned.append((number, cells))
        if any(cell_text(c) in known_headers for c in cells):
            header_at = (number, cells)
            break
        if len(scanned) >= HEADER_SCAN_ROWS:
            break
    if not scanned:
        return RawSheet(name, sheet, 0, [], iter(()))
    if header_at is None:
        header_at = scanned[0]
        # the rows scanned past the first are data rows of an unusable file; they are
        # not needed because the missing-column error stops the file anyway
    number, cells = header_at
    return RawSheet(name, sheet, number, [cell_text(c) for c in cells],
                    (item for item in numbered if not _is_blank(item[1])))


def _calamine_rows(path: Path, name: str, ext: str) -> tuple[str, Iterator[tuple[int, list]]]:
    from python_calamine import CalamineWorkbook

    with path.open("rb") as fh:
        head = fh.read(8)
    if ext in ZIP_EXTS and not zipfile.is_zipfile(path):
        raise BadShopFile(name, f"corrupt {ext} file: not a zip archive (starts with {head!r}); "
                                "the download was cut off or is not a spreadsheet")
    if ext == "xls" and not head.startswith(XLS_MAGIC):
        raise BadShopFile(name, f"corrupt xls file (starts with {head!r})")
    try:
        book = CalamineWorkbook.from_path(str(path))
        if not book.sheet_names:
            raise BadShopFile(name, "empty file: the workbook has no sheets")
        sheet = book.get_sheet_by_index(0)
    except BadShopFile:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises several exception types
        raise BadShopFile(name, f"corrupt {ext} file: {exc.__class__.__name__}: {exc}") from None
    first_row = (sheet.start or (0, 0))[0] + 1

    def numbered() -> Iterator[tuple[int, list]]:
        try:
            for offset, cells in enumerate(sheet.iter_rows()):
                yield first_row + offset, cells
        except Exception as exc:  # noqa: BLE001
            raise BadShopFile(name, f"corrupt {ext} file: {exc}", sheet=sheet.name) from None

    return sheet.name, numbered()


def _csv_encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            return "gb18030"


def _csv_rows(path: Path, name: str) -> Iterator[tuple[int, list]]:
    encoding = _csv_encoding(path)

    def numbered() -> Iterator[tuple[int, list]]:
        try:
            with path.open(encoding=encoding, newline="") as fh:
                for number, cells in enumerate(csv.reader(fh), start=1):
                    yield number, cells
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BadShopFile(name, f"unreadable csv ({exc})", sheet="csv") from None

    return numbered()
